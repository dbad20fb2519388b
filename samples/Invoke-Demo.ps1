<#
.SYNOPSIS
    The main job on the shipped sample: quantize samples/digits/digits.onnx with its calibration set and print the result.
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

$result = Import-PotModel -Path (Join-Path $sample 'digits.onnx') |
    Invoke-DefaultQuantization -CalibrationDataPath (Join-Path $sample 'calibration') `
        -OutputPath (Join-Path $OutputFolder 'digits.int8.onnx') -Force
$result | Format-List
$result.Layers | Format-Table -AutoSize | Out-String -Width 200
