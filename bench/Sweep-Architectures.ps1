<#
.SYNOPSIS
    Robustness sweep: the cmdlets on many architectures a user may bring, with seeded random weights. A row per model;
    the script fails when any cmdlet fails on any model.
.DESCRIPTION
    The benchmarks score trained models (Bench-Quality.ps1, Bench-AccuracyAware.ps1); there are few of them. This
    sweep asks the other question: does every path work on graphs we have not seen? Models come from
    bench/architectures/make_models.py (torch 1.13's exporter, Debian's python3-torch, python3-torchvision and
    python3-onnx: 'apt-get install python3-torch python3-torchvision python3-onnx'; never committed): torchvision's
    MobileNet v2/v3, EfficientNet, ShuffleNet, SqueezeNet, MnasNet, RegNet, DenseNet, ConvNeXt, Swin and LR-ASPP
    segmentation; an LSTM, a bidirectional GRU, a transformer encoder over token ids, a Conv1d audio net with group
    and instance norms, a small U-Net (ConvTranspose, Resize, DepthToSpace), an attention block (Einsum, MatMuls of two
    activations); a model with two inputs and two outputs; MobileNet v2 at opset 11 and with external data; MobileNet
    v3 with a fixed batch of 1; LR-ASPP with a dynamic height and width, on folders of PNG images of six sizes; a
    uint8 NHWC image input; scripted control flow (a Linear inside an If branch).

    For each model, on 100 random calibration items and 100 other random items (40 and 40 images for the one on
    images):
      default   Invoke-DefaultQuantization as a user calls it; Compare-PotModel against FP32 (cosine similarity of
                the first output, speed-up of interleaved runs at batch 1)
      all INT8  the same with -Precision AllInt8
      AAQ       Invoke-AccuracyAwareQuantization with a cosine-similarity drop of half the default's, so that it
                reverts layers; where the default keeps every layer float, with -Precision AllInt8 and half the drop
                of all INT8 (its reverted count is marked *)
    Random weights say nothing about accuracy on real data; the SQNR column only shows that nothing is broken (a
    random network's outputs can also be constant, which gives 200 dB).
.PARAMETER ModulePath
    The module folder (out/PotPowerShell).
.PARAMETER Model
    Names from bench/architectures/make_models.py; all by default.
.PARAMETER Smoke
    The digits sample only, without Python (tests/PotPowerShell.Tests/Bench.Tests.ps1).
.NOTES
    2026-12-06, the first sweep (21 models) found two faults, both fixed with a test:
    - An attention block whose weighted layers were all faster in float kept its two MatMuls of activations INT8
      behind a warning that every layer stayed float, and came out 0.82x as fast as FP32: the all-float candidate of
      the precision choice now makes them float too (src/PotPowerShell.Core/Quantization/Precision/PrecisionCandidates.cs).
    - A model with external data failed at DefaultQuantization's last step (ModelNotLoadable, naming the calibration
      folder): the latency check read the FP32 file's bytes, and ONNX Runtime resolves no external data from bytes.
    A later run added LR-ASPP with a dynamic height and width on PNG images of six sizes, and found a third fault,
    fixed with a test: an evaluation failed with EngineBatchShapeMismatch, also at batch_size 1 (its own advice),
    because every batch was given the first item's shape (src/PotPowerShell.Core/Runtime/SessionRunner.cs). Such a
    folder also became valid -CalibrationDataPath (it was DatasetEmpty). On the twenty-seventh session's build:
      lraspp_images_of_any_size: Invoke-DefaultQuantization: DatasetEmpty ... holds no input arrays
      mobilenet_v2_external_data: Invoke-DefaultQuantization: ModelNotLoadable ... cannot load '.../calibration'
    and now (build f75b293):
      attention                  0/4    200.00 1.000000    0.99         40.42           0.67
      lraspp_images_of_any_size  55/66   31.96 0.999681    1.33         31.06           1.06 True   4/55
      mobilenet_v2_external_data 51/53   33.59 0.999794    1.93         33.48           1.77 True   5/51

    The uint8 input and the If were added next: a Gemm inside the If branch was left out of the layer list without a
    word; it now stays float with a warning that names it, and an AccuracyAware result carries every warning of its
    quantization (only the precision choice's reached it). Both rows (build 7a01ef7; tiny models, so their
    speed-ups are noise):
      control_flow     0/2    200.00 1.000000    1.01         40.17           0.91
      uint8_nhwc_input 0/3    200.00 1.000000    0.99         50.04           1.19

    With AAQ run on all INT8 where the default keeps every layer float, the If model showed a fifth: its If tests the
    sum of the whole batch, so an item's outputs depend on its batch-mates, and a decided-early evaluation (items in
    another order, so other batches) rolled back the revert of its only INT8 layer, which gives the FP32 model. The run
    now warns that the model mixes the items of a batch and advises -EvaluationBatchSize 1, with which it meets the
    target (src/PotPowerShell.Core/Evaluation/BatchSizeProbe.cs).

    After the first two fixes, one run of this script (build 9a0c0aa, 15 minutes; speed-ups from Compare-PotModel's 20
    interleaved runs on a noisy 2-core machine, so a tenth either way is noise: mnasnet's default measured 1.16, then
    1.31 and 1.26 with 300 runs, all INT8 1.35, then 1.25 and 1.36):

    Model                          Layers  SqnrDb Cosine   Speedup AllInt8SqnrDb AllInt8Speedup AaqMet AaqReverted
    attention                      0/4     200.00 1.000000    1.01         40.42           0.75
    audio                          3/4      53.50 0.999998    1.31         53.81           1.05 True   1/3
    convnext_tiny                  40/59    29.22 0.999382    2.04         28.26           2.04 True   2/40
    densenet121                    121/121  33.54 0.999780    1.88         33.54           1.86 True   9/121
    efficientnet_b0                80/82    24.73 0.997857    1.29         24.19           1.30 True   9/80
    encoder                        12/13    42.63 0.999943    1.04         38.59           0.89 True   3/12
    gru                            0/1     200.00 1.000000    0.99         42.74           1.00
    lraspp                         40/66    51.13 0.999996    1.03         51.11           1.08 True   1/40
    lstm                           0/1     200.00 1.000000    1.01         44.66           0.98
    mnasnet                        49/53    34.53 0.999855    1.16         35.01           1.35 True   4/49
    mobilenet_v2                   51/53    33.59 0.999794    1.86         33.48           1.82 True   5/51
    mobilenet_v2_external_data     51/53    33.59 0.999794    1.83         33.48           1.78 True   5/51
    mobilenet_v2_opset11           51/53    33.59 0.999794    1.88         33.48           1.76 True   5/51
    mobilenet_v3_small             30/54    32.10 0.999677    1.12         30.53           0.79 True   3/30
    mobilenet_v3_small_fixed_batch 30/54    32.10 0.999677    1.03         30.53           0.79 True   3/30
    regnet_y                       74/86    37.93 0.999920    1.51         37.87           1.43 True   2/74
    shufflenet_v2                  0/57    200.00 1.000000    1.02        100.25           0.97
    squeezenet                     26/26    39.01 0.999936    1.92         39.01           1.98 True   2/26
    swin_t                         77/77    32.73 0.999688    1.68         32.73           1.64 True   4/77
    two_inputs                     0/4     200.00 1.000000    1.01         45.05           0.70
    unet                           1/5      58.99 0.999999    0.88         37.80           0.85 True   1/1

    Where the default keeps every layer float (attention, gru, lstm, shufflenet_v2, two_inputs) all INT8 is slower
    (0.70-1.00), so AAQ has nothing to revert and is skipped. swin_t took 336 s in all: two calibrations (SmoothQuant
    calibrates the smoothed model again) and several self-checks of a 28M-parameter model on two cores.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [string[]] $Model,
    [string] $WorkFolder = (Join-Path ([IO.Path]::GetTempPath()) 'pot-bench-sweep'),
    [string] $Python = 'python3',
    [switch] $Smoke
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
Import-Module (Join-Path (Resolve-Path $ModulePath).Path 'PotPowerShell.psd1')
New-Item -ItemType Directory -Force $WorkFolder | Out-Null

if ($Smoke) {
    $sample = Join-Path (Split-Path -Parent $PSScriptRoot) 'samples/digits'
    $folders = @(@{ Name = 'digits'; Model = (Join-Path $sample 'digits.onnx'); Calibration = (Join-Path $sample 'calibration'); Validation = (Join-Path $sample 'validation') })
}
else {
    # '-Model a,b' through pwsh -File arrives as one string.
    $Model = @($Model | ForEach-Object { $_ -split ',' } | Where-Object { $_ })
    $env:PYTHONWARNINGS = 'ignore'   # the exporter's warnings about torch's own graphs
    $models = Join-Path $WorkFolder 'models'
    & $Python (Join-Path $PSScriptRoot 'architectures/make_models.py') $models @Model | Out-Host
    if ($LASTEXITCODE -ne 0) { throw "bench/architectures/make_models.py failed (exit code $LASTEXITCODE, its output is above); it needs Debian's python3-torch, python3-torchvision and python3-onnx." }
    $made = Get-ChildItem $models -Directory | Where-Object { -not $Model -or $_.Name -in $Model } | Sort-Object Name
    $folders = @($made | ForEach-Object { @{ Name = $_.Name; Model = (Join-Path $_.FullName 'model.onnx'); Calibration = (Join-Path $_.FullName 'calibration'); Validation = (Join-Path $_.FullName 'validation') } })
}

function Measure-Output([hashtable] $Entry, [string] $Path, [string] $Engine) {
    $c = Compare-PotModel -Path $Path -ReferencePath $Entry.Model -EnginePath $Engine -LatencyRuns 20
    [pscustomobject]@{ Cosine = $c.Value; Drop = $c.Drop; Speedup = $c.Speedup; Layers = "$($c.Int8LayerCount)/$($c.Int8LayerCount + $c.FloatLayerCount)" }
}

$rows = foreach ($entry in $folders) {
    $out = Join-Path $WorkFolder "out/$($entry.Name)"
    New-Item -ItemType Directory -Force $out | Out-Null
    $engine = Join-Path $out 'engine.yml'
    "metrics:`n  - type: cosine_similarity`n    reference: fp32`ndataset:`n  data_source: '$($entry.Validation)'" | Set-Content $engine
    $row = [ordered]@{ Model = $entry.Name; Layers = ''; SqnrDb = ''; Cosine = ''; Speedup = ''; AllInt8SqnrDb = ''; AllInt8Speedup = ''; AaqMet = ''; AaqReverted = ''; Seconds = ''; Error = '' }
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $step = 'Invoke-DefaultQuantization'
    try {
        $q = Invoke-DefaultQuantization -ModelPath $entry.Model -CalibrationDataPath $entry.Calibration -OutputPath (Join-Path $out 'default.onnx') -Force -WarningAction SilentlyContinue
        $step = 'Compare-PotModel'
        $m = Measure-Output $entry $q.OutputPath $engine
        $row.Layers = $m.Layers; $row.SqnrDb = $q.Check.SqnrDb; $row.Cosine = $m.Cosine.ToString("0.000000", [Globalization.CultureInfo]::InvariantCulture); $row.Speedup = [math]::Round($m.Speedup, 2)
        $step = 'Invoke-DefaultQuantization -Precision AllInt8'
        $all = Invoke-DefaultQuantization -ModelPath $entry.Model -CalibrationDataPath $entry.Calibration -OutputPath (Join-Path $out 'all-int8.onnx') -Precision AllInt8 -Force -WarningAction SilentlyContinue
        $step = 'Compare-PotModel (all INT8)'
        $allInt8 = Measure-Output $entry $all.OutputPath $engine
        $row.AllInt8SqnrDb = $all.Check.SqnrDb; $row.AllInt8Speedup = [math]::Round($allInt8.Speedup, 2)
        # Half the drop, so that it reverts layers; where the default keeps every layer float, on all INT8 (marked *).
        $aaqPrecision, $drop = if ($q.QuantizedLayerCount -gt 0) { 'Fastest', $m.Drop } else { 'AllInt8', $allInt8.Drop }
        if ($drop -gt 0) {
            $step = "Invoke-AccuracyAwareQuantization -Precision $aaqPrecision"
            $a = Invoke-AccuracyAwareQuantization -ModelPath $entry.Model -CalibrationDataPath $entry.Calibration -EnginePath $engine -MaximalDrop ($drop / 2) -Precision $aaqPrecision -OutputPath (Join-Path $out 'aaq.onnx') -Force -WarningAction SilentlyContinue
            $row.AaqMet = $a.Met; $row.AaqReverted = "$($a.RevertedLayerCount)/$($a.QuantizedLayerCount)$(if ($aaqPrecision -eq 'AllInt8') { '*' })"
        }
    }
    catch { $row.Error = "${step}: $($_.FullyQualifiedErrorId): $($_.Exception.Message)" }
    $row.Seconds = [math]::Round($watch.Elapsed.TotalSeconds, 1)
    [pscustomobject]$row
}

$rows | Select-Object -ExcludeProperty Error | Format-Table -AutoSize | Out-String -Width 240 | Write-Host
$failed = @($rows | Where-Object Error)
foreach ($row in $failed) { Write-Host "$($row.Model): $($row.Error)" }
Write-Host ("{0} models, {1} with a failing cmdlet." -f @($rows).Count, $failed.Count)
if ($failed.Count -gt 0) { exit 1 }
