<#
.SYNOPSIS
    The main job on the shipped sample: quantize samples/digits/digits.onnx with its calibration set, print the result,
    and compare the INT8 model with the FP32 model on the validation set: accuracy, speed-up and size.
.PARAMETER ModulePath
    The published module folder (out/PotPowerShell).
.PARAMETER OutputFolder
    Where the quantized model goes (default: out/demo next to the module folder).
#>
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [string] $OutputFolder = (Join-Path (Split-Path -Parent (Resolve-Path $ModulePath)) 'demo')
)
$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
Import-Module (Join-Path $ModulePath 'PotPowerShell.psd1')
$sample = Join-Path $PSScriptRoot 'digits'

$calibration = Join-Path $sample 'calibration'
# The default keeps float the layers ONNX Runtime runs faster in float on this CPU; on this tiny model (tens of
# microseconds per item) that can be every layer. AllInt8 quantizes every layer (POT's semantics): smaller, and slower
# here. Both are made and compared.
$result = Import-PotModel -Path (Join-Path $sample 'digits.onnx') |
    Invoke-DefaultQuantization -CalibrationDataPath $calibration -OutputPath (Join-Path $OutputFolder 'digits.int8.onnx') -Force
$result | Format-List
$result.Layers | Format-Table -AutoSize | Out-String -Width 200
$allInt8 = Invoke-DefaultQuantization (Join-Path $sample 'digits.onnx') $calibration -Precision AllInt8 `
    -OutputPath (Join-Path $OutputFolder 'digits.allint8.onnx') -Force -WarningAction SilentlyContinue

# FP32 against both on the held-out validation set: accuracy drop with its 95 % interval, speed-up (timed interleaved
# on this machine), file size and layer counts.
$comparison = Compare-PotModel -ReferencePath (Join-Path $sample 'digits.onnx') -Path $result.OutputPath, $allInt8.OutputPath `
    -DataPath (Join-Path $sample 'validation')
$comparison | Format-Table Name, Metric, ReferenceValue, Value, Drop, DropLower95, DropUpper95, TopOneAgreement,
    ReferenceLatencyP50Ms, LatencyP50Ms, Speedup, SizeRatio, Int8LayerCount, FloatLayerCount -AutoSize | Out-String -Width 250

# The same as one self-contained HTML page with plots (open it in a browser).
$report = Join-Path $OutputFolder 'digits-report.html'
@($result) + $comparison | Export-PotReport $report -Force
"Report: $report"
