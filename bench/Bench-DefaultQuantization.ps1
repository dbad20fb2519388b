<#
.SYNOPSIS
    DefaultQuantization benchmark: INT8 vs FP32 latency (1 intra-op thread, interleaved runs, medians) and calibration
    time vs plain FP32 inference over the same items, on the digits sample, ResNet18 (from NuGet) and a
    transformer-style MatMul stack built in code. Prints the ratios. Not a test: the machine may be noisy.
.PARAMETER ModulePath
    The published module folder (out/PotPowerShell).
.PARAMETER Runs
    Timed latency runs per model (after warm-up), alternating between the two models.
.PARAMETER Rounds
    Calibration and the plain FP32 pass are each timed this many times, alternately; the fastest of each counts.
#>
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [int] $Runs = 60,
    [int] $Rounds = 3,
    [string] $WorkFolder = (Join-Path ([IO.Path]::GetTempPath()) 'pot-bench')
)
$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
Import-Module (Join-Path $ModulePath 'PotPowerShell.psd1')
$root = Split-Path -Parent $PSScriptRoot
$sample = Join-Path $root 'samples/digits'
New-Item -ItemType Directory -Force $WorkFolder | Out-Null

# The core lives in the module's private load context: reach its benchmark helpers by reflection.
$null = Import-PotModel -Path (Join-Path $sample 'digits.onnx')
$core = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'PotPowerShell.Core' }
function Get-CoreType([string] $Name) { $core.GetType("PotPowerShell.Core.$Name", $true) }
$synthetic = Get-CoreType 'Onnx.SyntheticModels'
$npy = Get-CoreType 'Data.NpyWriter'
$dataset = Get-CoreType 'Data.NpyDataset'
$bench = Get-CoreType 'Runtime.LatencyBenchmark'
function Invoke-Static($Type, [string] $Method, [object[]] $Arguments) {
    $candidates = $Type.GetMethods() | Where-Object { $_.Name -eq $Method -and $_.GetParameters().Count -eq $Arguments.Count }
    # Unwrap PowerShell's PSObject wrappers: reflection needs the plain values.
    $plain = [object[]]::new($Arguments.Count)
    for ($i = 0; $i -lt $Arguments.Count; $i++) {
        # No 'if' expression here: its output would unroll an array argument.
        $plain[$i] = $Arguments[$i]
        if ($plain[$i] -is [psobject]) { $plain[$i] = $plain[$i].PSObject.BaseObject }
    }
    return @($candidates)[0].Invoke($null, $plain)
}

# ResNet18 (opset 8) comes from NuGet through a restore-only project; it is never committed.
& dotnet restore (Join-Path $PSScriptRoot 'models/models.csproj') --nologo -v quiet | Out-Host
if ($LASTEXITCODE -ne 0) { throw 'Restoring bench/models/models.csproj failed.' }
$nuget = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
$resnet = Join-Path $nuget 'microsoft.ml.dnnimagefeaturizer.resnet18/0.23.1/tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx'

# Calibration data: image-like items for ResNet18 (input 'Input247'), normal values for the transformer (input 'x').
$resnetData = Join-Path $WorkFolder 'resnet18-calibration'
if (-not (Test-Path (Join-Path $resnetData 'Input247.npy'))) {
    $images = Invoke-Static $synthetic 'ImageLikeData' @(64, 3, 224, 224, 5)
    Invoke-Static $npy 'Write' @((Join-Path $resnetData 'Input247.npy'), $images) | Out-Null
}
$transformer = Join-Path $WorkFolder 'transformer.onnx'
Invoke-Static $synthetic 'SaveTransformerStack' @($transformer, 4, 256, 4, 64, 1024, 1) | Out-Null
$transformerData = Join-Path $WorkFolder 'transformer-calibration'
$itemShape = [long[]] @(64, 256)
Invoke-Static $npy 'Write' @((Join-Path $transformerData 'x.npy'), (Invoke-Static $synthetic 'NormalData' @(64, $itemShape, 9))) | Out-Null

$cases = @(
    @{ Name = 'digits (sample), 1 item'; Model = (Join-Path $sample 'digits.onnx'); Data = (Join-Path $sample 'calibration'); Batch = 32; Latency = 1; Target = 1.0 }
    @{ Name = 'digits (sample), 64 items'; Model = (Join-Path $sample 'digits.onnx'); Data = (Join-Path $sample 'calibration'); Batch = 32; Latency = 64; Target = 1.0 }
    @{ Name = 'ResNet18'; Model = $resnet; Data = $resnetData; Batch = 1; Latency = 1; Target = 1.8 }
    @{ Name = 'transformer stack'; Model = $transformer; Data = $transformerData; Batch = 8; Latency = 1; Target = 1.3 }
)
$rows = foreach ($case in $cases) {
    Write-Host "== $($case.Name)"
    $out = Join-Path $WorkFolder ("{0}.int8.onnx" -f ((Split-Path -LeafBase $case.Model) -replace '\W', ''))
    $data = Invoke-Static $dataset 'Open' @($case.Data)
    # Calibration (inside the quantization) and a plain FP32 pass over the same items, same batching and threads,
    # both including their session creation; alternated, fastest of each.
    $calibration = [double]::MaxValue; $plain = [double]::MaxValue
    for ($round = 0; $round -lt $Rounds; $round++) {
        $result = Invoke-DefaultQuantization -ModelPath $case.Model -CalibrationDataPath $case.Data -StatBatchSize $case.Batch -OutputPath $out -Force
        $calibration = [math]::Min($calibration, $result.CalibrationTime.TotalSeconds)
        $pass = Invoke-Static $bench 'InferenceTime' @($case.Model, $data, $result.StatSubsetSize, $result.StatBatchSize, 0)
        $plain = [math]::Min($plain, $pass.TotalSeconds)
    }
    Write-Host ("   {0} of {1} layers INT8, {2} INT8 kernels: {3}" -f $result.QuantizedLayerCount, $result.LayerCount, $result.FusedLayerCount, (($result.FusedKernels | ForEach-Object ToString) -join ', '))
    $latency = Invoke-Static $bench 'Compare' @($case.Model, $out, $data, $case.Latency, $Runs, 5, 1)
    [pscustomobject]@{
        Model           = $case.Name
        'FP32 ms'       = [math]::Round($latency.MedianMsA, 3)
        'INT8 ms'       = [math]::Round($latency.MedianMsB, 3)
        Speedup         = [math]::Round($latency.Speedup, 2)
        'Best-run x'    = [math]::Round($latency.MinMsA / $latency.MinMsB, 2)
        Target          = $case.Target
        'Calibration s' = [math]::Round($calibration, 2)
        'FP32 pass s'   = [math]::Round($plain, 2)
        'Calib/FP32'    = [math]::Round($calibration / $plain, 2)
        Items           = $result.StatSubsetSize
        Fused           = "$($result.FusedLayerCount)/$($result.QuantizedLayerCount)"
    }
}
$rows | Format-Table -AutoSize | Out-String -Width 200 | Write-Host
foreach ($r in $rows) {
    $verdict = if ($r.Speedup -ge $r.Target) { 'meets' } else { 'MISSES' }
    Write-Host ("{0}: INT8 is {1:N2}x FP32 ({2} the {3}x target); calibration takes {4:N2}x a plain FP32 pass (target <= 1.3)" -f $r.Model, $r.Speedup, $verdict, $r.Target, $r.'Calib/FP32')
}
