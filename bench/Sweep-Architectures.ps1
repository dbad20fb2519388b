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
    segmentation; an LSTM, a bidirectional GRU, a transformer encoder over token ids, a GPT-style causal decoder (a -inf
    attention mask, a head tied to the token embedding), a small vision transformer (patches, a class token), a Conv1d audio net with group
    and instance norms, a small U-Net (ConvTranspose, Resize, DepthToSpace), an attention block (Einsum, MatMuls of two
    activations); a model with two inputs and two outputs; MobileNet v2 at opset 11 and with external data; MobileNet
    v3 with a fixed batch of 1; LR-ASPP with a dynamic height and width, on folders of PNG images of six sizes; a
    uint8 NHWC image input; scripted control flow (a Linear inside an If branch); two transformer blocks of ONNX
    Runtime's contrib ops (com.microsoft Attention, SkipLayerNormalization, FastGelu, as its transformer optimizer
    writes them; built directly with onnx.helper).

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
.PARAMETER Half
    Every model as its FP16 export (float16 weights, inputs and outputs), compared against that export.
.PARAMETER Smoke
    The digits sample only, without Python (tests/PotPowerShell.Tests/Bench.Tests.ps1).
.NOTES
    2026-12-07, forty-eighth session: two architectures added, causal_lm (GPT-style: token and position embeddings, causal
    self-attention with a float mask of -inf above the diagonal, GELU MLPs, a head tied to the token embedding; opset 14)
    and vit (8 x 8 patches by a strided Conv, a class token, two pre-norm encoder layers; opset 14). One run of the two
    (build d52013b): causal_lm 9/13 layers INT8, 39.13 dB, all INT8 38.31 dB, AccuracyAware met with 1 of 9 reverted; vit
    0/14 (every candidate with INT8 layers slower on this CPU at 64 features), all INT8 32.67 dB, AccuracyAware met with
    4 of 14 reverted from all INT8; neither failing. The mask's -inf reaches only the Softmax, which stays float.
    2026-12-07, forty-third session (build 95b5817: Accuracy Checker forms, yolo_v5, metrics without a value refused as
    AccuracyAware baselines; nothing in quantization changed), on a fresh machine and cost cache: 30 models, none
    failing, every AccuracyAware row met (the layers kept float by -Precision Fastest follow this machine's timings).
    2026-12-07, forty-first session (build 3e87c90: items of a few shapes evaluated in batches of one shape,
    src/PotPowerShell.Core/Evaluation/ShapeGroups.cs): 30 models, none failing; every row's layers, self-check,
    all-INT8 self-check and AccuracyAware result equal to the fortieth session's final run. lraspp_images_of_any_size
    (PNG images of six sizes, left at their sizes) ran its AccuracyAware search in 12.2 s against 19.6 s.
    2026-12-07, fortieth session (build ce69f83: layer weights computed from stored tensors folded, the backward pass's
    smallest-increase order; src/PotPowerShell.Core/Onnx/ComputedWeights.cs, Quantization/AccuracyAware/BackwardPass.cs):
    30 models, none failing; every row's layers, self-check, all-INT8 self-check and AccuracyAware result equal to the
    thirty-ninth session's final run (none of these models computes a weight; a torch weight_norm model exported without
    constant folding went from "nothing to quantize" to 3 of 3 layers INT8 at 50.18 dB, as its folded export).
    2026-12-07, thirty-ninth session (build f02e599: items of one axis more than the model input batch on its axis,
    model-local functions inlined, .npz items; src/PotPowerShell.Core/Runtime/ModelInputBinder.cs, SessionRunner.cs,
    src/PotPowerShell.Core/Onnx/FunctionInlining.cs): 30 models, none failing; every row's layers, self-check, all-INT8
    self-check and AccuracyAware result equal to the thirty-eighth session's final run.
    2026-12-07, thirty-eighth session: calibration gives a batch's tensors to their statistics on the calibration's
    threads (src/PotPowerShell.Core/Calibration/ActivationCollector.cs, Feed; they took about a third of its time on
    one thread, while ONNX Runtime's threads waited). Invoke-DefaultQuantization on six of these models (their
    calibration folders, 100 items), the build before (fcba0b7) and after in turns, two rounds, quiet; second round,
    calibration seconds (and whole run): densenet121 7.64 -> 7.33 (11.6 -> 11.7), convnext_tiny 9.28 -> 8.18
    (14.7 -> 13.7), swin_t 11.82 -> 11.04 (35.7 -> 32.6; its SmoothQuant check calibrates again: 18.6 -> 16.7),
    efficientnet_b0 4.71 -> 3.94 (6.1 -> 5.2), mobilenet_v2 2.11 -> 1.60 (3.0 -> 2.3), lraspp 2.77 -> 2.05
    (4.2 -> 3.3). Every output model the same bytes (MD5) in all four runs.
    Weight quantization then walked a tensor's channels with a 64-bit division per weight
    (src/PotPowerShell.Core/Quantization/Emission/QuantMath.cs, ChannelCursor, now): the build before and after, in
    turns, two rounds, emission (and bias correction, which emits once) seconds: MiniLM (bench/models, preset mixed)
    0.20-0.22 -> 0.12-0.18 (0.29-0.30 -> 0.22-0.32), swin_t 0.54-0.56 -> 0.33-0.36 (0.46-0.47 -> 0.28-0.29),
    convnext_tiny 0.45-0.46 -> 0.20-0.24 (0.43-0.48 -> 0.21-0.23); the same bytes.
    The sweep on the final build (7192e72), one run on the thirty-seventh session's cost cache: 30 models, none failing;
    every all-INT8 row's self-check and layers equal to that session's final run, and the default rows as its table.

    2026-12-07, thirty-seventh session (the precision choice keeps, of whole-model candidates within 3 % of the fastest,
    the one with the fewest INT8 layers; src/PotPowerShell.Core/Quantization/Precision/PrecisionCandidates.cs, Choose).
    Why 3 %: in the thirty-sixth session's sweeps, each of which timed the candidates afresh, the same candidates'
    medians relative to each other moved by a median 2.9 % between the quiet final runs on ONNX Runtime 1.31.1 and
    1.32.0 (90th percentile 22 %; the fastest candidate changed on 4 of 30 models), and by 3.0 % between the loaded and
    the quiet run on 1.32.0 (5 of 30 changed). One run of the new build on that session's final
    cost cache, so every candidate's median is the same as in its final run and only the rule differs. Six rows changed
    (INT8 layers, SQNR against FP32 on the validation items, speed-up of the latency check; before -> after):

      audio         3/4  53.50 dB 0.91  ->  2/4  67.53 dB 0.90   (estimate 0.092 ms, best 2 of it 0.094)
      contrib_ops   4/6  37.28 dB 1.02  ->  0/6  float    1.23   (0.097 ms both: the tiny model's speed-up is noise)
      encoder      13/13 38.59 dB 1.11  -> 10/13 43.65 dB 1.08   (all INT8 0.149 ms, best 6 of the estimate 0.153)
      lraspp       47/66 51.13 dB 1.17  -> 36/66 51.13 dB 1.14   (9.314 ms, 9.446)
      mobilenet_v3 42/54 32.06 dB 1.03  -> 32/54 32.06 dB 1.07   (1.761 ms, 1.807; fixed batch: its own timings, 42/54)
      swin_t       77/77 32.73 dB 1.60  -> 76/77 33.12 dB 1.53   (48.836 ms, 48.910)

    No row lost SQNR; the speed-ups moved within the latency check's run-to-run spread (1.02-1.23 on models whose
    candidates were timed equal). AccuracyAware starts from the same choice: encoder 1/13 -> 2/10, swin_t 4/77 -> 3/76.
    30 models, none failing; the other 24 rows' layers and SQNRs as before.

    2026-12-06, thirty-sixth session (ONNX Runtime 1.31.1 -> 1.32.0; a busy moment no longer decides the precision
    choice): the build 5df705f, one run with a layer-cost cache measured afresh for 1.32.0 (the first, at 7a167b5's
    predecessor 069c43e, ran while other work loaded the machine). 30 models, none failing; every row's all-INT8 SQNR and
    every all-INT8 layer count equal to the thirty-fifth session's final run, so the quantization itself is unchanged.
    Rows whose timed precision choice differs (fresh timings): audio 3/4, convnext_tiny 59/59, lraspp 47/66,
    lraspp_images_of_any_size 47/66, mobilenet_v3_small 42/54 (and fixed batch), regnet_y 79/86, swin_t 77/77,
    uint8_nhwc_input 0/3. In the loaded run the encoder had come out 0/13 (all float): its candidates were timed at 0.24
    to 0.28 ms, where quiet they take 0.15 to 0.18 ms and the 12-INT8-layer estimate is fastest; such disturbed timings
    are now timed again and never cached (src/PotPowerShell.Core/Runtime/InterleavedRounds.cs, Disturbed); here 13/13.

    2026-12-06, thirty-fourth session (the Signal search ranks again before a group predicted after single steps): the
    build 27be567, one run on the same machine and cost cache as the thirty-third session's final run: 30 models, none
    failing, every row's layers, SQNR, cosine and AccuracyAware result equal to that run's (no AccuracyAware report logs
    the new ranking: no model here predicts a group after single steps).

    2026-12-06, thirty-third session (AccuracyAwareQuantization smooths transformers; DefaultQuantization's output
    checks share one FP32 reference): the build before (47bf78e) and the final one (a793a55), one run each, one after
    the other on a fresh machine (its own layer-cost cache, so some precision choices differ from the tables below:
    encoder 13/13, lraspp 53/66, regnet_y 78/86, swin_t 76/77). 30 models, none failing, and every row's layers, SQNRs
    and AccuracyAware results equal between the two builds (encoder 1/13, swin_t 3/76, contrib_ops 2/4, attention
    1/4*); about 20 minutes each.

    2026-12-06, thirty-second session: every model as its FP16 export (-Half: HalfModels, float16 weights, constants,
    inputs and outputs; build e4bd017 and after), which DefaultQuantization refused before (NothingToQuantize). The
    first run ended the process at the transformer encoder: ONNX Runtime 1.31.1 crashes (a segmentation fault) creating
    an ORT_ENABLE_ALL session of a float16 Transpose before a MatMul, as the module did to time or evaluate the
    original; such sessions now get ORT_ENABLE_EXTENDED (src/PotPowerShell.Core/Runtime/OrtSessions.cs). The second run:
    29 of 30 models through every cmdlet; the layers INT8 are the FP32 sweep's (below) and so are most AccuracyAware
    results (swin_t 4/77, regnet_y 2/74, squeezenet 2/26, contrib_ops 2/4; densenet121 8/121 against 9); speed-ups are
    against the FP16 original now. Where rows differ, the random weights are why: mobilenet_v2's outputs are about 1e-9
    in FP32, below float16's smallest value, so its export (and mobilenet_v3, efficientnet_b0) outputs zeros (200 dB, no
    AccuracyAware run), and mnasnet's partly (16.9 dB, 9 reverted, against 34.5 dB and 4). The U-Net failed with
    ModelNotLoadable naming its calibration folder: the export had made the Resize's scales (a Constant) float16, which
    ONNX Runtime refuses in the original, at the latency check, whose timer named every model after its data; the timer
    now names the model (ModelInput.Sources), and HalfModels leaves Resize's scales float as converters do. Again on
    both: encoder 10/13, 44.25 dB, AccuracyAware 3/10; unet 1/5, 58.68 dB, 1/1.

    2026-12-06, thirtieth session: the whole sweep with the Signal search's group steps (build 80ce61f, 30 models,
    while another run shared the machine): none failing, every model's layers, SQNRs and AccuracyAware reverts as in the
    table below (densenet121 9/121, efficientnet_b0 9/80, mobilenet_v2 5/51, swin_t 4/77 ...); speed-ups move with
    the noise. Again with the session's final rule (87ffe41: first groups of half the prediction): none failing, every
    model's AccuracyAware result (met, reverted layers) as in that run.

    2026-12-06, twenty-ninth session: a model that mixes the items of a batch (control_flow's If tests the sum of the
    whole batch) is now evaluated one item at a time by Invoke-AccuracyAwareQuantization when no batch size is given, with
    a warning, and its FP32 baseline evaluated again that way: control_flow meets its target with its one INT8 layer
    reverted (AaqMet True 1/1* below, False 0/1* before). One run of this script, build 716ae18, 29 models, none failing;
    the same layers, SQNRs and AccuracyAware reverts as the run below on every other model (speed-ups move with the
    machine's noise):

    Model                          Layers  SqnrDb Cosine   Speedup AllInt8SqnrDb AllInt8Speedup AaqMet AaqReverted
    control_flow                   0/2     200.00 1.000000    1.01         40.17           0.90   True 1/1*

    A new model, contrib_ops (two transformer blocks of com.microsoft Attention, SkipLayerNormalization and FastGelu, as
    ONNX Runtime's transformer optimizer writes them), failed on that build:
      contrib_ops: Invoke-DefaultQuantization: NothingToQuantize ... has no layer that DefaultQuantization quantizes
    Each MatMul reads the output of a contrib op, whose type no rule gave, so none was taken for a float layer
    (src/PotPowerShell.Core/Onnx/GraphIndex.cs: such a tensor now takes the type of the layer's float weight). The
    Attention ops' packed weights stay float with a warning (RuntimeFusedLayers). On build 3af7bcf:

    contrib_ops                    4/6      37.28 0.999904    1.02         36.93           0.90   True 2/4

    The whole sweep again at the end of the session (build 6dccf7d, 30 models, 27 minutes): none failing, and every
    model's layers, SQNRs and AccuracyAware reverts as in the runs above (speed-ups within the machine's noise).

    2026-12-06, twenty-eighth session. The runs found five faults, each fixed with a test that fails without its fix:
    - An attention block whose weighted layers were all faster in float kept its two MatMuls of activations INT8
      behind a warning that every layer stayed float, and came out 0.82x as fast as FP32: the all-float candidate of
      the precision choice now makes them float too (src/PotPowerShell.Core/Quantization/Precision/PrecisionCandidates.cs).
    - A model with external data failed at DefaultQuantization's last step (ModelNotLoadable, naming the calibration
      folder): the latency check read the FP32 file's bytes, and ONNX Runtime resolves no external data from bytes.
    - LR-ASPP with a dynamic height and width on images of six sizes: evaluations failed with EngineBatchShapeMismatch,
      also at batch_size 1 (its own advice), as every batch was given the first item's shape
      (src/PotPowerShell.Core/Runtime/SessionRunner.cs). Such a folder also became valid -CalibrationDataPath (it was
      DatasetEmpty).
    - A Gemm inside an If branch was left out of the layer list without a word; it stays float with a warning that
      names it, and an AccuracyAware result now carries every warning of its quantization.
    - The same If tests the sum of the whole batch, so an item's outputs depend on its batch-mates, and a decided-early
      evaluation (items in another order, so other batches) rolled back the revert of its only INT8 layer, which gives
      the FP32 model. The run now warns that the model mixes the items of a batch and advises -EvaluationBatchSize 1,
      with which it meets the target (src/PotPowerShell.Core/Evaluation/BatchSizeProbe.cs); control_flow's AaqMet
      below is that run without the advice.
    On the twenty-seventh session's build two of them show as failures:
      lraspp_images_of_any_size: Invoke-DefaultQuantization: DatasetEmpty ... holds no input arrays
      mobilenet_v2_external_data: Invoke-DefaultQuantization: ModelNotLoadable ... cannot load '.../calibration'

    One run of this script, build cf18ee3, 29 models, none failing (25 minutes, Swin-T 337 s of them: two calibrations,
    as SmoothQuant calibrates the smoothed model again, and several self-checks of a 28M-parameter model). Speed-ups are
    Compare-PotModel's 20 interleaved runs on a noisy 2-core machine: a few tenths either way is noise (batched_weight's
    default is the FP32 model itself, at 1.65; mnasnet's default measured 1.16, 1.31 and 1.26 in three runs). Where the
    default keeps every layer float, all INT8 is slower or within noise, except uint8_nhwc_input (1.36 here, 1.00
    and 1.15 in two runs of 300 interleaved rounds):

    Model                          Layers  SqnrDb Cosine   Speedup AllInt8SqnrDb AllInt8Speedup AaqMet AaqReverted
    attention                      0/4     200.00 1.000000    1.01         40.42           0.63   True 1/4*
    audio                          3/4      53.50 0.999998    1.22         53.81           1.08   True 1/3
    batched_weight                 0/1     200.00 1.000000    1.65         38.18           0.82   True 1/1*
    control_flow                   0/2     200.00 1.000000    1.02         40.17           0.92  False 0/1*
    conv3d                         0/3     200.00 1.000000    0.89         41.97           0.13   True 2/3*
    convnext_tiny                  40/59    29.22 0.999382    2.21         28.26           2.16   True 2/40
    densenet121                    121/121  33.54 0.999780    1.92         33.54           1.83   True 9/121
    efficientnet_b0                80/82    24.73 0.997857    1.36         24.19           1.15   True 9/80
    encoder                        12/13    42.63 0.999943    1.00         38.59           1.02   True 3/12
    gemm_alpha_beta                0/1     200.00 1.000000    1.00         40.80           0.61   True 1/1*
    grouped_deconvolution          0/3     200.00 1.000000    1.03         35.13           0.71   True 2/3*
    gru                            0/1     200.00 1.000000    1.01         42.74           0.99   True 1/1*
    lraspp                         40/66    51.13 0.999996    1.20         51.11           1.17   True 1/40
    lraspp_images_of_any_size      55/66    31.96 0.999681    1.14         31.06           1.24   True 4/55
    lstm                           0/1     200.00 1.000000    1.00         44.66           0.98   True 1/1*
    mnasnet                        49/53    34.53 0.999855    1.24         35.01           1.24   True 4/49
    mobilenet_v2                   51/53    33.59 0.999794    1.93         33.48           1.85   True 5/51
    mobilenet_v2_external_data     51/53    33.59 0.999794    2.01         33.48           1.69   True 5/51
    mobilenet_v2_opset11           51/53    33.59 0.999794    1.89         33.48           1.79   True 5/51
    mobilenet_v3_small             30/54    32.10 0.999677    1.00         30.53           0.68   True 3/30
    mobilenet_v3_small_fixed_batch 30/54    32.10 0.999677    1.05         30.53           0.77   True 3/30
    regnet_y                       74/86    37.93 0.999920    1.37         37.87           1.41   True 2/74
    shufflenet_v2                  0/57    200.00 1.000000    1.02        100.25           0.92   True 8/57*
    squeezenet                     26/26    39.01 0.999936    1.61         39.01           1.66   True 2/26
    swin_t                         77/77    32.73 0.999688    1.72         32.73           1.59   True 4/77
    tied_weights                   0/3     200.00 1.000000    1.00         37.38           0.65   True 2/3*
    two_inputs                     0/4     200.00 1.000000    1.00         45.05           0.94   True 1/4*
    uint8_nhwc_input               0/3     200.00 1.000000    1.02         50.04           1.36   True 2/3*
    unet                           1/5      58.99 0.999999    1.03         37.80           0.90   True 1/1

#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [string[]] $Model,
    [string] $WorkFolder = (Join-Path ([IO.Path]::GetTempPath()) 'pot-bench-sweep'),
    [string] $Python = 'python3',
    [switch] $Half,
    [switch] $Smoke,
    [string] $SupportPath = (Join-Path (Split-Path $ModulePath) 'PotPowerShell.TestSupport')
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

if ($Half) {
    # Every model as its FP16 export (tests/PotPowerShell.TestSupport/HalfModels.cs), quantized and compared against it.
    Import-Module (Join-Path (Resolve-Path $SupportPath).Path 'PotPowerShell.TestSupport.psm1')
    $halves = Get-PotSupportType 'HalfModels'
    New-Item -ItemType Directory -Force (Join-Path $WorkFolder 'fp16') | Out-Null
    foreach ($entry in $folders) {
        $path = Join-Path $WorkFolder "fp16/$($entry.Name).onnx"
        $halves::Save($entry.Model, $path, $false)
        $entry.Model = $path
    }
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
