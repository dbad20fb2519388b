<#
.SYNOPSIS
    A longer fuzz campaign over the module's file readers: executions and findings per reader.
.DESCRIPTION
    Builds and runs bench/FuzzReaders, which compiles the test suite's seeded mutation fuzzer
    (tests/PotPowerShell.Core.Tests/Fuzz/ReaderFuzzer.cs) against the core: the ONNX loader (as Import-PotModel reads
    a model, external data included), .npy files (read whole and item by item), .npz archives (read into memory and
    unpacked), POT configs in JSON and YAML (with their inline engines), engine files, AccuracyAwareQuantization
    checkpoints (read, appended to, read again), box annotation files and images (PNG, JPEG and BMP, decoded as an image folder reads them;
    twenty-ninth session: a 19-byte JPEG hung the decoder, now refused before it) and segmentation masks (palette and
    grey PNGs, as an engine's masks: folder reads them; thirty-sixth session: 338,065 executions in 120 s, -Seed 3, no
    finding; thirty-seventh, palette and colour PNGs also read by Pascal VOC's class colours: 286,729 in 120 s, -Seed 1,
    no finding) and Accuracy Checker's dataset meta files (segmentation_colors; thirty-seventh session: 191,310 in 90 s,
    no finding). Thirty-eighth session, every target: -Seed 11 -Seconds 1200, 1,713,870 executions, and -Seed 12
    -Seconds 1500, 3,358,527, no finding. Thirty-ninth session, the ONNX loader with a seed of model-local functions
    (Import-PotModel inlines them): -Seed 13 -Target onnx -Seconds 420, 595,995 executions; then .npz archives also read
    as the one item of a folder of .npz items, with the ONNX loader: -Seed 14 -Target npz,onnx -Seconds 240, 382,628;
    then every target, -Seed 15 -Seconds 900, 2,270,213; no finding. Fortieth session, the ONNX loader also looking
    for layer weights and biases computed from stored tensors (ComputedWeights.Find, with a weight-normalized seed):
    -Seed 16 -Target onnx -Seconds 300, 453,232 executions, and -Seed 17 -Seconds 240 (biases too), 329,676; no
    finding. Forty-fourth session, engine files with the corpus's Accuracy Checker and native detection seeds (yolo_v2,
    yolox, nanodet, yolo_v3_onnx, class_agnostic, other_inputs, camvid, cast_to_int, map's and coco_orig_precision's
    keys): -Seed 44 -Target engine,config-yaml -Seconds 300, 502,697 executions, no finding. Forty-fifth session, box
    annotation files as their own target (annotation: the same bytes read as WIDER FACE's text, a COCO file, a VOC file
    and CVAT's XML; each loads or refuses with its own error): its first campaign (-Seed 45 -Target annotation,engine
    -Seconds 300, 237,709 executions) found a COCO iscrowd beyond 32 bits (a FormatException) at once, and strings that
    are not UTF-8 (JSON parses them; reading them threw InvalidOperationException), both now AnnotationInvalid; then
    -Seed 46 -Target annotation -Seconds 240, 181,984 executions, -Seed 47 (CVAT added), 134,097, and -Seed 48 -Target
    engine,annotation -Seconds 400 (filter, clip_boxes and wider seeds), 319,620, and -Seed 49 -Target
    engine,config-yaml,annotation -Seconds 420 (prior_boxes, the ssd forms, CVAT seeds), 369,576, and -Seed 50 -Target
    engine,config-yaml -Seconds 300 (a yolo_v5 seed), 540,670: no finding. Forty-sixth session: every target, -Seed 51
    -Seconds 900, 1,585,433 executions; then image retrieval lists in the annotation target (the same bytes as gallery and
    query lists) with re-identification seeds for engine files (reid_layout, reid_gallery, the reid adapter, cmc,
    reid_map, Accuracy Checker's market1501_reid and image_retrieval): -Seed 52 -Target annotation,engine,config-yaml
    -Seconds 300, 249,693; then CTC beam search seeds (native and Accuracy Checker's beam_search_decoder): -Seed 53
    -Target engine,config-yaml -Seconds 240, 518,776; then every target, -Seed 54 -Seconds 1200, 3,083,817; no finding.
    Forty-seventh session: SQuAD files and WordPiece vocabularies in the annotation target (the same bytes as both):
    -Seed 55 -Target annotation,engine,config-yaml -Seconds 420 found JSON strings whose escapes are no UTF-16 text (a
    lone surrogate) in a context and in a question's id (InvalidOperationException when read), now AnnotationInvalid
    (both in the corpus); then -Seed 56 -Target annotation -Seconds 300, 198,006 executions, and with SQuAD engine seeds
    (native and Accuracy Checker's BERT form) -Seed 57 -Target engine -Seconds 240, 503,002; with squad_emb's reading
    in the annotation target, -Seed 58 -Target annotation -Seconds 180 (the machine shared), 63,187; no finding.
    Forty-eighth session: CoNLL files (every sentence made) and CoNLL labels files in the annotation target, CoNLL engine
    seeds (native and Accuracy Checker's bert-base-ner form): -Seed 59 -Target annotation,engine -Seconds 300, 72,944
    and 359,918 executions, no finding; then every target, -Seed 60 -Seconds 900, 1,944,830 executions, no finding.
    Each reader gets an equal
    share of -Seconds; the seeds are generated in code plus the committed corpus
    (tests/PotPowerShell.Core.Tests/Fuzz/FuzzCorpus/<target>/). The contract is that every input loads or fails with a
    PotException carrying an error id within -BudgetSeconds; anything else is a finding, written with its input to
    -Findings (out/fuzz-findings by default). Once fixed, copy a finding into the corpus as a regression case (the test
    suite replays the corpus on every run). The same -Seed gives the same inputs. Exits 1 when there are findings.
    -Smoke runs three seconds in all (the test suite's smoke run, tests/PotPowerShell.Tests/Bench.Tests.ps1).
.EXAMPLE
    ./bench/Fuzz-Readers.ps1 -Seconds 600 -Seed 7
#>
param(
    [double] $Seconds = 300,
    [switch] $Smoke,
    [int] $Seed = 1,
    [string[]] $Target = @('onnx', 'npy', 'npz', 'config-json', 'config-yaml', 'engine', 'checkpoint', 'image', 'mask', 'meta', 'annotation'),
    [double] $BudgetSeconds = 10,
    [string] $Findings = (Join-Path $PSScriptRoot '../out/fuzz-findings')
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
if ($Smoke) { $Seconds = 3 }
$project = Join-Path $PSScriptRoot 'FuzzReaders'
dotnet build $project -c Release --nologo -v quiet
if ($LASTEXITCODE -ne 0) { throw "Building $project failed." }
$exe = Join-Path $project 'bin/Release/net10.0/FuzzReaders.dll'
dotnet $exe --seconds $Seconds --seed $Seed --targets ($Target -join ',') --budget-seconds $BudgetSeconds --findings $Findings
exit $LASTEXITCODE
