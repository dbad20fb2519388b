BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:moduleDir = Get-PotModulePath
    Import-Module (Join-Path $moduleDir 'PotPowerShell.psd1') -Force
    $script:digits = Get-PotSamplePath
    $script:model = Join-Path $digits 'digits.onnx'
    $script:validation = Join-Path $digits 'validation'

    # Labels read straight from the .npy bytes (format 1.0, little-endian int64), not through the module.
    function Read-NpyInt64 {
        param([string] $Path)
        $bytes = [IO.File]::ReadAllBytes($Path)
        $headerLength = [BitConverter]::ToUInt16($bytes, 8)
        $header = [Text.Encoding]::ASCII.GetString($bytes, 10, $headerLength)
        if ($header -notmatch "'descr': '<i8'") { throw "unexpected dtype in $Path" }
        $offset = 10 + $headerLength
        $count = ($bytes.Length - $offset) / 8
        , [long[]](0..($count - 1) | ForEach-Object { [BitConverter]::ToInt64($bytes, $offset + 8 * $_) })
    }

    # Ranks with ties to the lower index, as a stable descending sort would.
    function Get-Rank {
        param([float[]] $Scores, [int] $Class)
        $rank = 0
        for ($i = 0; $i -lt $Scores.Length; $i++) {
            if ($Scores[$i] -gt $Scores[$Class] -or ($Scores[$i] -eq $Scores[$Class] -and $i -lt $Class)) { $rank++ }
        }
        $rank
    }

    $script:labels = Read-NpyInt64 (Join-Path $validation 'labels.npy')

    # Raw logits per item, captured by a scriptblock metric (the module's own metrics are not involved).
    $script:logits = [Collections.Generic.List[float[]]]::new()
    $null = Measure-PotModel -Path $model -DataPath $validation -MetricName capture -Metric {
        param($Outputs, $Annotation, $Sample)
        $script:logits.Add($Outputs['logits'])
        0
    }
}

Describe 'Measure-PotModel' {
    It 'captured one logit vector of 10 classes per validation item' {
        $logits.Count | Should -Be $labels.Count
        $logits[0].Length | Should -Be 10
    }

    It 'reports the top-1 accuracy computed independently from the raw logits' {
        $correct = 0
        for ($i = 0; $i -lt $labels.Count; $i++) { if ((Get-Rank $logits[$i] $labels[$i]) -eq 0) { $correct++ } }
        $expected = $correct / $labels.Count
        $r = Measure-PotModel -Path $model -DataPath $validation -PerSample
        $r.PSObject.TypeNames[0] | Should -Be 'PotPowerShell.ModelEvaluation'
        $r.ItemCount | Should -Be $labels.Count
        $r.Values.'accuracy@top1' | Should -Be $expected
        # The per-sample values agree item by item with the independent argmax.
        $r.PerSample.Count | Should -Be $labels.Count
        $expectedPerItem = for ($i = 0; $i -lt $labels.Count; $i++) { [double]((Get-Rank $logits[$i] $labels[$i]) -eq 0) }
        $r.PerSample.'accuracy@top1' | Should -Be $expectedPerItem
        $r.PerSample.Annotation | Should -Be $labels
        $r.PerSample.Index | Should -Be (0..($labels.Count - 1))
        ($r.PerSample | Measure-Object -Property 'accuracy@top1' -Average).Average | Should -Be $expected
    }

    It 'scores an item whose outputs are NaN as a miss, and warns' {
        $dirty = Join-Path $TestDrive 'nan-validation'
        New-Item -ItemType Directory $dirty | Out-Null
        Copy-Item (Join-Path $validation 'labels.npy') $dirty
        $bytes = [IO.File]::ReadAllBytes((Join-Path $validation 'input.npy'))
        $data = 10 + [BitConverter]::ToUInt16($bytes, 8)
        # Item 2 of [N,1,8,8]: a NaN input makes every logit NaN.
        [BitConverter]::GetBytes([float]::NaN).CopyTo($bytes, $data + 4 * (64 * 2 + 10))
        [IO.File]::WriteAllBytes((Join-Path $dirty 'input.npy'), $bytes)
        $r = Measure-PotModel -Path $model -DataPath $dirty -PerSample -WarningVariable warnings -WarningAction SilentlyContinue
        $r.PerSample[2].'accuracy@top1' | Should -Be 0
        "$warnings" | Should -BeLike "*NaN or Inf outputs on 1 items (first item 2)*"
        $clean = Measure-PotModel -Path $model -DataPath $validation -PerSample
        $others = 0..($labels.Count - 1) | Where-Object { $_ -ne 2 }
        $r.PerSample[$others].'accuracy@top1' | Should -Be $clean.PerSample[$others].'accuracy@top1'
    }

    It 'scores a model that ends in ArgMax by the class it outputs, and quantizes it against its labels' {
        # The sample ending in ArgMax: its only output is each item's class (int64), not class scores.
        Import-PotTestSupport
        $folder = New-Item (Join-Path $TestDrive 'label') -ItemType Directory -Force
        $labelModel = Join-Path $folder 'digits-label.onnx'
        (Get-PotSupportType 'LabelModels')::Write($model, $labelModel, 0)
        $correct = 0
        for ($i = 0; $i -lt $labels.Count; $i++) { if ((Get-Rank $logits[$i] $labels[$i]) -eq 0) { $correct++ } }
        $r = Measure-PotModel -Path $labelModel -DataPath $validation -PerSample
        $r.Values.'accuracy@top1' | Should -Be ($correct / $labels.Count)
        $r.PerSample.'accuracy@top1' | Should -Be @(for ($i = 0; $i -lt $labels.Count; $i++) { [double]((Get-Rank $logits[$i] $labels[$i]) -eq 0) })
        $top3 = Join-Path $folder 'top3.yml'
        "dataset:`n  data_source: '$validation'`nmetrics:`n  - {type: accuracy, top_k: 3}`n" | Set-Content $top3
        { Measure-PotModel -Path $labelModel -EnginePath $top3 -ErrorAction Stop } | Should -Throw -ErrorId 'MetricNeedsClassScores,*'
        $aaq = Invoke-AccuracyAwareQuantization $labelModel (Join-Path $digits 'calibration') $validation -MaximalDrop 0.01 -Precision AllInt8 `
            -OutputPath (Join-Path $folder 'digits-label.int8.onnx') -WarningAction SilentlyContinue
        $aaq.Met | Should -BeTrue
        $aaq.Metrics[0].Name | Should -Be 'accuracy@top1'
        $aaq.Metrics[0].Baseline | Should -Be ($correct / $labels.Count)
        (Measure-PotModel -Path (Join-Path $folder 'digits-label.int8.onnx') -DataPath $validation).Values.'accuracy@top1' | Should -Be $aaq.Metrics[0].Final
    }

    It 'runs an engine YAML file with top-k, F1 and a .ps1 script metric' {
        $scriptPath = Join-Path $TestDrive 'margin.ps1'
        'param($Outputs, $Annotation) $l = $Outputs.logits; [double]($l[[int]$Annotation] - ($l | Measure-Object -Maximum).Maximum)' | Set-Content $scriptPath
        $engine = Join-Path $TestDrive 'engine.yml'
        @"
batch_size: 7
metrics:
  - type: accuracy
    top_k: 3
  - name: macro_f1
    type: f1
  - name: margin
    type: script
    path: margin.ps1
dataset:
  data_source: '$validation'
"@ | Set-Content $engine
        $r = Measure-PotModel -Path $model -EnginePath $engine
        $r.BatchSize | Should -Be 7
        $r.Inferences | Should -Be ([math]::Ceiling($labels.Count / 7))
        ($r.Metrics | ForEach-Object Name) | Should -Be @('accuracy@top3', 'macro_f1', 'margin')

        $top3 = 0; $margin = 0.0
        $tp = @{}; $fp = @{}; $fn = @{}
        for ($i = 0; $i -lt $labels.Count; $i++) {
            $l = $logits[$i]; $y = [int]$labels[$i]
            if ((Get-Rank $l $y) -lt 3) { $top3++ }
            $margin += $l[$y] - ($l | Measure-Object -Maximum).Maximum
            $p = 0; for ($k = 1; $k -lt $l.Length; $k++) { if ($l[$k] -gt $l[$p]) { $p = $k } }
            if ($p -eq $y) { $tp[$y]++ } else { $fp[$p]++; $fn[$y]++ }
        }
        $classes = @($tp.Keys) + @($fp.Keys) + @($fn.Keys) | Sort-Object -Unique
        $f1 = ($classes | ForEach-Object {
                $t = [double]$tp[$_]; $prec = if ($t + $fp[$_]) { $t / ($t + $fp[$_]) } else { 0 }; $rec = if ($t + $fn[$_]) { $t / ($t + $fn[$_]) } else { 0 }
                if ($prec + $rec) { 2 * $prec * $rec / ($prec + $rec) } else { 0 }
            } | Measure-Object -Average).Average
        $r.Values.'accuracy@top3' | Should -Be ($top3 / $labels.Count)
        $r.Values.macro_f1 | Should -BeGreaterThan ($f1 - 1e-12)
        $r.Values.macro_f1 | Should -BeLessThan ($f1 + 1e-12)
        [math]::Abs($r.Values.margin - $margin / $labels.Count) | Should -BeLessThan 1e-5
    }

    It 'evaluates a scriptblock metric with its name and direction' {
        $r = Measure-PotModel -Path $model -DataPath $validation -MetricName first_logit -MetricDirection HigherWorse -Metric {
            param($Outputs, $Annotation, $Sample) $Outputs.logits[0]
        } -PerSample
        $m = $r.Metrics | Where-Object Name -eq 'first_logit'
        "$($m.Direction)" | Should -Be 'HigherWorse'
        $expected = ($logits | ForEach-Object { [double]$_[0] } | Measure-Object -Average).Average
        [math]::Abs($m.Value - $expected) | Should -BeLessThan 1e-5
        [math]::Abs($r.PerSample[5].first_logit - $logits[5][0]) | Should -BeLessThan 1e-6
    }

    It 'takes models from the pipeline by path, file and Import-PotModel' {
        Copy-Item $model (Join-Path $TestDrive 'a.onnx')
        Copy-Item $model (Join-Path $TestDrive 'b.onnx')
        $results = Get-ChildItem $TestDrive -Filter *.onnx | Measure-PotModel -DataPath $validation
        $results.Count | Should -Be 2
        ($results | ForEach-Object { Split-Path -Leaf $_.ModelPath }) | Should -Be @('a.onnx', 'b.onnx')
        $results[0].Values.'accuracy@top1' | Should -Be $results[1].Values.'accuracy@top1'
        (Import-PotModel -Path $model | Measure-PotModel -DataPath $validation).ModelPath | Should -Be $model
        ($model | Measure-PotModel -DataPath $validation).ItemCount | Should -Be $labels.Count
        # A quantization result names its source as ModelPath and the written model as OutputPath: the latter is measured.
        $quantized = Join-Path $TestDrive 'q.onnx'
        Copy-Item $model $quantized
        $result = [pscustomobject]@{ ModelPath = (Join-Path $TestDrive 'missing-source.onnx'); OutputPath = $quantized }
        ($result | Measure-PotModel -DataPath $validation -ErrorAction Stop).ModelPath | Should -Be $quantized
        # -ModelPath still works as a parameter name.
        (Measure-PotModel -ModelPath $model -DataPath $validation).ModelPath | Should -Be $model
    }

    It 'measures latency after warm-up with settable threads' {
        $r = Measure-PotModel -Path $model -DataPath $validation -Latency -Threads 1 -BatchSize 50 -WarmupRuns 2
        $r.Threads | Should -Be 1
        $r.Latency.Runs | Should -Be 8
        $r.Latency.WarmupRuns | Should -Be 2
        $r.Latency.BatchP50Ms | Should -BeGreaterThan 0
        $r.Latency.BatchP90Ms | Should -BeGreaterOrEqual $r.Latency.BatchP50Ms
        $r.Latency.ItemP50Ms | Should -BeLessOrEqual $r.Latency.BatchP50Ms
        (Measure-PotModel -Path $model -DataPath $validation).Latency | Should -BeNullOrEmpty
    }

    It 'compares with the FP32 model by cosine similarity' {
        $engine = Join-Path $TestDrive 'cos.yml'
        "metrics:`n  - type: cosine_similarity`ndataset:`n  data_source: '$validation'`n" | Set-Content $engine
        { Measure-PotModel -Path $model -EnginePath $engine -ErrorAction Stop } |
            Should -Throw -ErrorId 'ReferenceModelRequired,PotPowerShell.Commands.MeasurePotModelCommand'
        $r = Measure-PotModel -Path $model -EnginePath $engine -ReferenceModelPath $model
        $r.Values.cosine_similarity | Should -BeGreaterThan 0.999999
    }

    It 'shows a table with the metrics and a list view' {
        $r = Measure-PotModel -Path $model -DataPath $validation -Latency
        $table = $r | Out-String
        $table | Should -Match 'digits\.onnx'
        $table | Should -Match 'accuracy@top1='
        $list = $r | Format-List | Out-String
        $list | Should -Match 'accuracy@top1 = [0-9.]+ \(higher-better\)'
        $list | Should -Match 'batch mean'
    }

    It 'reads engine YAML when another module loaded an older YamlDotNet first' {
        $nuget = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
        $dll = Join-Path $nuget 'yamldotnet/16.3.0/lib/net8.0/YamlDotNet.dll'
        if (-not (Test-Path $dll)) { Set-ItResult -Skipped -Because 'YamlDotNet 16.3.0 is not restored'; return }
        $engine = Join-Path $TestDrive 'yaml16.yml'
        "metrics:`n  - type: accuracy`n    top_k: 2`ndataset:`n  data_source: '$validation'`n" | Set-Content $engine
        $out = Invoke-InChildPwsh @"
Add-Type -Path '$dll'
Import-Module '$(Join-Path $moduleDir 'PotPowerShell.psd1')'
`$r = Measure-PotModel -Path '$model' -EnginePath '$engine'
'yaml:' + (([AppDomain]::CurrentDomain.GetAssemblies() | ? { `$_.GetName().Name -eq 'YamlDotNet' } | % { `$_.GetName().Version.Major } | Sort-Object) -join ',')
'metric:' + `$r.Metrics[0].Name
"@
        $out | Should -Contain 'yaml:16,18'
        $out | Should -Contain 'metric:accuracy@top2'
    }

    It 'warns when the data has no labels and no metric is given' {
        $unlabelled = Join-Path $TestDrive 'unlabelled'
        New-Item -ItemType Directory $unlabelled | Out-Null
        Copy-Item (Join-Path $validation 'input.npy') $unlabelled
        $r = Measure-PotModel -Path $model -DataPath $unlabelled -WarningVariable warnings -WarningAction SilentlyContinue
        $r.Metrics.Count | Should -Be 0
        $r.ItemCount | Should -Be $labels.Count
        $warnings | Should -Not -BeNullOrEmpty
    }
}

Describe 'Measure-PotModel errors' {
    It 'reports an invalid engine with every problem and its key path' {
        $engine = Join-Path $TestDrive 'bad.yml'
        "batch_size: 0`ndataset:`n  data_source: '$validation'`n  colour: RGB`nmetrics:`n  - type: acuracy`n" | Set-Content $engine
        $err = $null
        try { Measure-PotModel -Path $model -EnginePath $engine -ErrorAction Stop } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -Be 'EngineInvalid,PotPowerShell.Commands.MeasurePotModelCommand'
        $err.Exception.Message | Should -Match 'batch_size \(line 1\)'
        $err.Exception.Message | Should -Match 'dataset\.colour \(line 4\)'
        $err.Exception.Message | Should -Match "Did you mean 'accuracy'"
    }

    It 'reports a missing engine file and a missing data path' {
        { Measure-PotModel -Path $model -EnginePath (Join-Path $TestDrive 'none.yml') -ErrorAction Stop } |
            Should -Throw -ErrorId 'EngineNotFound,PotPowerShell.Commands.MeasurePotModelCommand'
        { Measure-PotModel -Path $model -DataPath (Join-Path $TestDrive 'none') -ErrorAction Stop } |
            Should -Throw -ErrorId 'DataPathNotFound,PotPowerShell.Commands.MeasurePotModelCommand'
    }

    It 'reports a missing model and goes on with the next one' {
        $missing = Join-Path $TestDrive 'none.onnx'
        $results = $missing, $model | Measure-PotModel -DataPath $validation -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].FullyQualifiedErrorId | Should -Be 'ModelNotFound,PotPowerShell.Commands.MeasurePotModelCommand'
        $errs[0].TargetObject | Should -Be $missing
        @($results).Count | Should -Be 1
    }

    It 'reports a failing scriptblock metric with the item' {
        $err = $null
        try { Measure-PotModel -Path $model -DataPath $validation -Metric { param($o, $a, $s) if ($s.Index -eq 3) { throw 'bad sample' }; 1 } -ErrorAction Stop } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -Be 'MetricScriptFailed,PotPowerShell.Commands.MeasurePotModelCommand'
        $err.Exception.Message | Should -Match 'item 3'
        $err.Exception.Message | Should -Match 'bad sample'
    }

    It 'reports a scriptblock metric that returns no number' {
        { Measure-PotModel -Path $model -DataPath $validation -Metric { 'text' } -ErrorAction Stop } |
            Should -Throw -ErrorId 'MetricScriptResultInvalid,PotPowerShell.Commands.MeasurePotModelCommand'
        { Measure-PotModel -Path $model -DataPath $validation -Metric { 1, 2 } -ErrorAction Stop } |
            Should -Throw -ErrorId 'MetricScriptResultInvalid,PotPowerShell.Commands.MeasurePotModelCommand'
    }

    It 'reports data that does not fit the model' {
        $odd = Join-Path $TestDrive 'odd'
        New-Item -ItemType Directory $odd | Out-Null
        # A float32 array of shape (2, 3) written by hand: header padded to 64 bytes.
        $header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
        $header = $header + (' ' * ((64 - (10 + $header.Length + 1) % 64) % 64)) + "`n"
        $bytes = [byte[]](0x93) + [Text.Encoding]::ASCII.GetBytes('NUMPY') + [byte[]](1, 0) + [BitConverter]::GetBytes([uint16]$header.Length) +
            [Text.Encoding]::ASCII.GetBytes($header) + [byte[]]::new(24)
        [IO.File]::WriteAllBytes((Join-Path $odd 'input.npy'), $bytes)
        { Measure-PotModel -Path $model -DataPath $odd -WarningAction SilentlyContinue -ErrorAction Stop } |
            Should -Throw -ErrorId 'EngineShapeMismatch,PotPowerShell.Commands.MeasurePotModelCommand'
    }
}
