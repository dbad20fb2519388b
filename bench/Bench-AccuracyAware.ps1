<#
.SYNOPSIS
    AccuracyAwareQuantization benchmark: what ranking costs with -RankingMethod Metric (POT: revert each layer and
    evaluate) against OutputError (one instrumented pass, the metric confirms the top layers), for the same target,
    and the INT8/FP32 latency of the model each run returns. Not a test: the machine may be noisy.
.DESCRIPTION
    Cases:
    - the digits sample (5 layers), engine: top-1 accuracy and cosine similarity of the logits to FP32, with a strict
      maximal_drop of 5e-5 on the similarity that DefaultQuantization misses;
    - a 4-block transformer-style MatMul stack built in code (32 layers), engine: cosine similarity to FP32 on 100
      items; maximal_drop is -TransformerTarget times DefaultQuantization's own drop, so several layers must be reverted.
    Each case runs Metric ranking and OutputError ranking confirming 1 and -ConfirmTopLayers layers.
    Latency: 1 intra-op thread, batch 1, interleaved runs, medians.
.PARAMETER ModulePath
    The published module folder (out/PotPowerShell).
.PARAMETER Runs
    Timed latency runs per model (after warm-up).
.PARAMETER ConfirmTopLayers
    Layers the metric confirms with OutputError ranking.
.PARAMETER TransformerTarget
    The transformer's maximal_drop as a fraction of DefaultQuantization's drop.
.PARAMETER Smoke
    Seconds instead of minutes, to show the script still runs (tests/PotPowerShell.Tests/Bench.Tests.ps1): 3 latency
    runs and a one-block transformer on few items. Its numbers mean nothing.
.PARAMETER SupportPath
    The built test support folder (out/PotPowerShell.TestSupport, made by build.ps1 -Task Build).
#>
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [int] $Runs = 60,
    [int] $ConfirmTopLayers = 3,
    [double] $TransformerTarget = 0.5,
    [string] $WorkFolder = (Join-Path ([IO.Path]::GetTempPath()) 'pot-bench-aaq'),
    [switch] $Smoke,
    [string] $SupportPath = (Join-Path (Split-Path $ModulePath) 'PotPowerShell.TestSupport')
)
$ErrorActionPreference = 'Stop'
$ModulePath = (Resolve-Path $ModulePath).Path
$SupportPath = (Resolve-Path $SupportPath).Path
$shape = @{ Layers = 4; Hidden = 128; Sequence = 32; Calibration = 64; Validation = 100 }
if ($Smoke) {
    $Runs = 3
    $shape = @{ Layers = 1; Hidden = 32; Sequence = 8; Calibration = 8; Validation = 10 }
}
Import-Module (Join-Path $ModulePath 'PotPowerShell.psd1')
$root = Split-Path -Parent $PSScriptRoot
$sample = Join-Path $root 'samples/digits'
if (Test-Path $WorkFolder) { Remove-Item -Recurse -Force $WorkFolder }
New-Item -ItemType Directory -Force $WorkFolder | Out-Null

# Models, data and timing helpers come from the test support assembly (never shipped), loaded beside the module's core.
Import-Module (Join-Path $SupportPath 'PotPowerShell.TestSupport.psm1')
$synthetic = Get-PotSupportType 'SyntheticModels'
$npy = Get-PotSupportType 'NpyWriter'
$latency = Get-PotSupportType 'LatencyBenchmark'
$dataset = Get-PotCoreType 'PotPowerShell.Core.Data.NpyDataset'

# Digits: the sample's own data; the engine adds cosine similarity to FP32 to top-1 accuracy.
$digitsEngine = Join-Path $WorkFolder 'digits-engine.yml'
"metrics:`n  - type: accuracy`n  - type: cosine_similarity`n    reference: fp32`ndataset:`n  data_source: $(Join-Path $sample 'validation')`n" | Set-Content $digitsEngine

# Transformer stack: 4 blocks, hidden 128, 4 heads, sequence 32, feed-forward 512; normal inputs.
$transformer = Join-Path $WorkFolder 'transformer.onnx'
$synthetic::SaveTransformerStack($transformer, $shape.Layers, $shape.Hidden, 4, $shape.Sequence, 4 * $shape.Hidden, 1)
$itemShape = [long[]] @($shape.Sequence, $shape.Hidden)
$npy::Write((Join-Path $WorkFolder 'transformer-calibration/x.npy'), $synthetic::NormalData($shape.Calibration, $itemShape, 9))
$npy::Write((Join-Path $WorkFolder 'transformer-validation/x.npy'), $synthetic::NormalData($shape.Validation, $itemShape, 10))
$transformerEngine = Join-Path $WorkFolder 'transformer-engine.yml'
"metrics:`n  - type: cosine_similarity`n    reference: fp32`ndataset:`n  data_source: $(Join-Path $WorkFolder 'transformer-validation')`n" | Set-Content $transformerEngine

$cases = @(
    @{ Name = 'digits'; Model = (Join-Path $sample 'digits.onnx'); Calibration = (Join-Path $sample 'calibration'); Engine = $digitsEngine; Validation = (Join-Path $sample 'validation'); Metric = 'cosine_similarity'; MaximalDrop = 0.00005 }
    @{ Name = 'transformer'; Model = $transformer; Calibration = (Join-Path $WorkFolder 'transformer-calibration'); Engine = $transformerEngine; Validation = (Join-Path $WorkFolder 'transformer-validation'); Metric = 'cosine_similarity'; MaximalDrop = $null }
)
$variants = @(
    @{ Ranking = 'Metric'; Confirm = 0 }
    @{ Ranking = 'OutputError'; Confirm = 1 }
    @{ Ranking = 'OutputError'; Confirm = $ConfirmTopLayers }
)
$rows = foreach ($case in $cases) {
    # DefaultQuantization alone (max_iter_num 0): its drop, and the latency of the fully quantized model.
    $dqModel = Join-Path $WorkFolder "$($case.Name).dq.onnx"
    $dq = Invoke-AccuracyAwareQuantization $case.Model $case.Calibration $case.Engine -MaxIterations 0 -OutputPath $dqModel -WarningAction SilentlyContinue
    $dqDrop = ($dq.Metrics | Where-Object Name -eq $case.Metric).FullyQuantizedDrop
    # Digits has a fixed strict limit; the transformer's is a fraction of DefaultQuantization's own drop.
    if ($null -eq $case.MaximalDrop) { $case.MaximalDrop = [math]::Round($dqDrop * $TransformerTarget, 8) }
    $data = $dataset::Open($case.Validation)
    $dqLatency = $latency::Compare($case.Model, $dqModel, $data, 1, $Runs, 5, 1)
    Write-Host ("== {0}: {1} layers; DefaultQuantization drop {2:G3} ({3}); its INT8 model runs at {4:N2}x the FP32 latency ({5:N3} vs {6:N3} ms); maximal_drop {7:G3}" -f `
            $case.Name, $dq.QuantizedLayerCount, $dqDrop, $case.Metric, ($dqLatency.MedianMsB / $dqLatency.MedianMsA), $dqLatency.MedianMsB, $dqLatency.MedianMsA, $case.MaximalDrop)
    foreach ($v in $variants) {
        $out = Join-Path $WorkFolder "$($case.Name).$($v.Ranking).$($v.Confirm).onnx"
        $extra = if ($v.Confirm -gt 0) { @{ ConfirmTopLayers = $v.Confirm } } else { @{} }
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $r = Invoke-AccuracyAwareQuantization $case.Model $case.Calibration $case.Engine -MaximalDrop $case.MaximalDrop -RankingMethod $v.Ranking @extra `
            -OutputPath $out -WarningAction SilentlyContinue
        $seconds = $watch.Elapsed.TotalSeconds
        $m = $r.Metrics | Where-Object Name -eq $case.Metric
        $l = $latency::Compare($case.Model, $out, $data, 1, $Runs, 5, 1)
        Write-Host ("   {0,-11} confirm {1}: float {2}" -f $v.Ranking, $v.Confirm, ($r.RevertedLayers.Layer -join ', '))
        [pscustomobject]@{
            Model         = $case.Name
            Ranking       = $v.Ranking
            Confirm       = if ($v.Confirm) { $v.Confirm } else { '-' }
            Met           = $r.Met
            Float         = "$($r.RevertedLayers.Count)/$($r.QuantizedLayerCount)"
            'Final drop'  = '{0:G3}' -f $m.Drop
            'Max drop'    = '{0:G3}' -f $m.MaxDrop
            Evals         = $r.Evaluations
            Inferences    = $r.Inferences
            Rankings      = $r.Rankings
            'Rank evals'  = $r.RankingEvaluations
            'Rank infer.' = $r.RankingInferences
            'Run s'       = [math]::Round($seconds, 1)
            'FP32 ms'     = [math]::Round($l.MedianMsA, 4)
            'Final ms'    = [math]::Round($l.MedianMsB, 4)
            'Final/FP32'  = [math]::Round($l.MedianMsB / $l.MedianMsA, 2)
            'DQ/FP32'     = [math]::Round($dqLatency.MedianMsB / $dqLatency.MedianMsA, 2)
        }
    }
    ($data -as [IDisposable]).Dispose()
}
$rows | Format-Table Model, Ranking, Confirm, Met, Float, 'Final drop', 'Max drop', Evals, Inferences, Rankings, 'Rank evals', 'Rank infer.', 'Run s' -AutoSize |
    Out-String -Width 200 | Write-Host
$rows | Format-Table Model, Ranking, Confirm, Float, 'FP32 ms', 'Final ms', 'Final/FP32', 'DQ/FP32' -AutoSize | Out-String -Width 200 | Write-Host
foreach ($group in $rows | Group-Object Model) {
    $metricRow = $group.Group | Where-Object Ranking -eq 'Metric'
    foreach ($errorRow in $group.Group | Where-Object Ranking -eq 'OutputError') {
        Write-Host ("{0}: OutputError (confirm {1}) spent {2} ranking inferences against {3} for Metric ({4:N1}x fewer), {5} layers in float against {6}, final drop {7} against {8}; the returned model runs at {9}x the FP32 latency (Metric's: {10}x, DefaultQuantization's: {11}x)." -f `
                $group.Name, $errorRow.Confirm, $errorRow.'Rank infer.', $metricRow.'Rank infer.', ($metricRow.'Rank infer.' / [math]::Max(1, $errorRow.'Rank infer.')),
                $errorRow.Float, $metricRow.Float, $errorRow.'Final drop', $metricRow.'Final drop', $errorRow.'Final/FP32', $metricRow.'Final/FP32', $metricRow.'DQ/FP32')
    }
}
