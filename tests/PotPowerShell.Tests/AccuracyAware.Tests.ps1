BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-PotModulePath) 'PotPowerShell.psd1') -Force
    $script:sampleDir = Get-PotSamplePath
    $script:calibration = Join-Path $sampleDir 'calibration'
    $script:aaq = 'PotPowerShell.Commands.InvokeAccuracyAwareQuantizationCommand'
    $script:rank = 'PotPowerShell.Commands.GetLayerRankingCommand'
    # Top-1 accuracy barely moves on the digits sample (INT8 is as good as FP32), so the engine also measures how close
    # the logits stay to FP32: a strict maximal_drop on that similarity is missed by DefaultQuantization.
    $script:engine = Join-Path $TestDrive 'engine.yml'
    @"
metrics:
  - type: accuracy
  - type: cosine_similarity
    reference: fp32
dataset:
  data_source: $(Join-Path $sampleDir 'validation')
"@ | Set-Content $engine
    # (Auto ranges and equalization, the defaults, leave a fully quantized cosine drop near 1e-5 on the sample.)
    $script:strict = 0.00001
    # Every layer starts INT8, so that what the search reverts does not depend on which layers are faster in float on
    # the machine running the tests (-Precision Fastest, the default, is covered in DefaultQuantization.Tests.ps1).
    $script:PSDefaultParameterValues = @{ 'Invoke-AccuracyAwareQuantization:Precision' = 'AllInt8'; 'Get-LayerRanking:Precision' = 'AllInt8' }
}

Describe 'Invoke-AccuracyAwareQuantization' {
    BeforeEach {
        $script:work = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        New-Item -ItemType Directory $work | Out-Null
        $script:model = Join-Path $work 'digits.onnx'
        Copy-Item (Join-Path $sampleDir 'digits.onnx') $model
    }

    It 'reverts the top-ranked layer until a strict maximal_drop holds, and reports it' {
        $r = Invoke-AccuracyAwareQuantization $model $calibration $engine -MaximalDrop $strict -RankingSubsetSize 100 -Precision AllInt8
        $r.PSObject.TypeNames[0] | Should -Be 'PotPowerShell.Core.Results.AccuracyAwareResult'
        $similarity = $r.Metrics | Where-Object Name -eq 'cosine_similarity'
        $similarity.FullyQuantizedDrop | Should -BeGreaterThan $strict
        $similarity.Drop | Should -BeLessOrEqual $strict
        $r.Met | Should -BeTrue
        $r.Reason | Should -BeLike 'Target met*'
        $r.Metrics.Name | Should -Be @('accuracy@top1', 'cosine_similarity')
        $r.Precision | Should -Be 'AllInt8'
        $r.QuantizedLayerCount | Should -Be 5
        $r.FasterInFloatLayers | Should -BeNullOrEmpty
        # The proof: the returned model timed against FP32 at the end.
        $r.BatchSize | Should -Be 1
        $r.Speedup | Should -Be ([math]::Round($r.Fp32LatencyMs / $r.LatencyMs, 3))
        $r.RevertedLayers.Count | Should -BeGreaterOrEqual 1
        $r.RevertedLayers.Count | Should -BeLessThan $r.QuantizedLayerCount
        # The first layer reverted is the top of an independent Get-LayerRanking of the same quantization.
        $top = Get-LayerRanking -ModelPath $model -CalibrationDataPath $calibration -EnginePath $engine -RankingSubsetSize 100 -Top 1 -Precision AllInt8
        $r.RevertedLayers[0].Layer | Should -Be $top.Layer
        ($r.Iterations | Where-Object Stage -eq 'Search')[0].Layer | Should -Be $top.Layer
        $r.Evaluations | Should -BeGreaterThan 2
        $r.Inferences | Should -BeGreaterThan $r.RankingInferences
        $r.RankingMethod | Should -Be 'Signal'
        $r.RankTrials | Should -BeGreaterThan 0
        $r.RankPrecision | Should -BeGreaterThan 0
        $r.EvaluationWorkers | Should -BeGreaterThan 0
        $r.Seed | Should -Be 0
        $r.StageTimes.Stage | Should -Contain 'DefaultQuantization'
        $r.StageTimes.Stage | Should -Contain 'Ranking'
        $r.FinalMetrics['cosine_similarity'] | Should -Be $similarity.Final
        $r.OutputPath | Should -Be (Join-Path $work 'digits.aaq.onnx')
        $r.OutputPath | Should -Exist
        $r.ReportPath | Should -Be (Join-Path $work 'digits.aaq.report.json')
        $report = Get-Content $r.ReportPath -Raw | ConvertFrom-Json
        $report.met | Should -BeTrue
        $report.reverted_layers.layer | Should -Be $r.RevertedLayers.Layer
        (Import-PotModel -Path $r.OutputPath).IsQuantized | Should -BeTrue
    }

    It 'writes the per-iteration log to the verbose stream' {
        $verbose = Invoke-AccuracyAwareQuantization $model $calibration $engine -MaximalDrop $strict -RankingSubsetSize 50 -Verbose 4>&1 |
            Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message
        $verbose | Should -Contain 'FP32 baseline on 400 items: accuracy@top1 0.99, cosine_similarity 1.'
        $verbose | Where-Object { $_ -like 'Iteration 1: reverted *' } | Should -HaveCount 1
        $verbose | Where-Object { $_ -like 'Target met with *' } | Should -HaveCount 1
    }

    It 'holds a token table once for the sessions of every candidate, and says so in the verbose stream' {
        Import-PotTestSupport
        $synthetic = Get-PotSupportType 'SyntheticModels'
        $embedding = Join-Path $work 'embedding.onnx'
        $synthetic::SaveEmbeddingClassifier($embedding)
        $synthetic::SaveTokenIds((Join-Path $work 'ids'), 40, 1)
        $synthetic::SaveTokenIds((Join-Path $work 'ids-calibration'), 40, 2)
        $similarity = Join-Path $work 'similarity.yml'
        "metrics:`n  - type: cosine_similarity`n    reference: fp32`ndataset:`n  data_source: $(Join-Path $work 'ids')`n" | Set-Content $similarity
        # A limit only FP32 meets: every layer is ranked and reverted.
        $verbose = Invoke-AccuracyAwareQuantization $embedding (Join-Path $work 'ids-calibration') $similarity -MaximalDrop 1e-9 -OutputPath (Join-Path $work 'shared.onnx') -Verbose -WarningAction SilentlyContinue 4>&1
        $r = $verbose | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        $lines = $verbose | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message
        $lines | Where-Object { $_ -like "Initializers shared by every candidate's ONNX Runtime session instead of loaded with each (1.04858 MB): lookup tables token_table; quantized weights 0." } | Should -HaveCount 1
        $r.Evaluations | Should -BeGreaterThan 3
        # Measure-PotModel loads the written model whole, with its table: the figure the search's evaluation gave it.
        $measured = $r | Measure-PotModel -EnginePath $similarity
        [math]::Abs($measured.Values.cosine_similarity - $r.FinalMetrics['cosine_similarity']) | Should -BeLessThan 1e-9
    }

    It 'gives the same model bytes and report for the same inputs and seed' {
        $a = Invoke-AccuracyAwareQuantization $model $calibration $engine -MaximalDrop $strict -RankingSubsetSize 50 -Seed 4 -OutputPath (Join-Path $work 'a.onnx')
        $b = Invoke-AccuracyAwareQuantization $model $calibration $engine -MaximalDrop $strict -RankingSubsetSize 50 -Seed 4 -OutputPath (Join-Path $work 'b.onnx')
        (Get-FileHash $a.OutputPath).Hash | Should -Be (Get-FileHash $b.OutputPath).Hash
        $ja = Get-Content $a.ReportPath -Raw | ConvertFrom-Json
        $jb = Get-Content $b.ReportPath -Raw | ConvertFrom-Json
        $ja.output = $jb.output = $null
        ($ja | ConvertTo-Json -Depth 5) | Should -Be ($jb | ConvertTo-Json -Depth 5)
        $a.Seed | Should -Be 4
    }

    It 'ranks by output error on request and says what the ranking cost' {
        $r = Invoke-AccuracyAwareQuantization $model $calibration $engine -MaximalDrop $strict -RankingSubsetSize 100 -RankingMethod OutputError -ConfirmTopLayers 1
        $r.Met | Should -BeTrue
        $r.RankingMethod | Should -Be 'OutputError'
        # One instrumented pass (FP32 + INT8 on 100 items) and 2 subset evaluations (reference + 1 confirmed layer).
        $r.RankingInferences | Should -Be (2 * 100 + 2 * 100)
    }

    It 'chooses Metric ranking for a 0/1 metric (on every item when it fits the subset) and Signal ranking for a continuous one, and says why' {
        # ranking_method auto (the default): top-1 accuracy leaves most of the 400 items at 1, cosine similarity none.
        $accuracy = Join-Path $work 'accuracy.yml'
        "metrics:`n  - type: accuracy`ndataset:`n  data_source: $((Join-Path $sampleDir 'validation').Replace('\', '/'))`n" | Set-Content $accuracy
        $r = Invoke-AccuracyAwareQuantization $model $calibration $accuracy -MaximalDrop 0.001 -RankingSubsetSize 400 -OutputPath (Join-Path $work 'auto.onnx') -WarningAction SilentlyContinue
        $r.RankingMethod | Should -Be 'Metric'
        $r.Log | Where-Object { $_ -like 'Ranking: Metric on every item, decided early (ranking_method auto): the fully quantized model scores 3?? of 400 items at accuracy@top1''s best value (1).' } | Should -HaveCount 1
        # Without -RankingSubsetSize the ranking subset is 300: Metric ranks the 300 hardest items, as POT does.
        $subset = Invoke-AccuracyAwareQuantization $model $calibration $accuracy -MaximalDrop 0.001 -OutputPath (Join-Path $work 'subset.onnx') -WarningAction SilentlyContinue
        $subset.RankingMethod | Should -Be 'Metric'
        $subset.Log | Where-Object { $_ -like 'Ranking: Metric on the 300 items the current model gets most wrong, as POT ranks (ranking_method auto): *' } | Should -HaveCount 1
        $cosine = Invoke-AccuracyAwareQuantization $model $calibration $engine -MaximalDrop $strict -RankingSubsetSize 400 -OutputPath (Join-Path $work 'cosine.onnx') -WarningAction SilentlyContinue
        $cosine.RankingMethod | Should -Be 'Signal'
        $cosine.Log | Where-Object { $_ -like 'Ranking: Signal (ranking_method auto): the fully quantized model scores * of 400 items at cosine_similarity''s best value (1), too few*' } | Should -HaveCount 1
        $cosine.Met | Should -BeTrue
    }

    It 'writes the best model and a report with Met false when the target is missed' {
        $r = Invoke-AccuracyAwareQuantization $model $calibration $engine -MaximalDrop $strict -MaxIterations 0 -WarningVariable warnings -WarningAction SilentlyContinue
        $r.Met | Should -BeFalse
        $r.Reason | Should -BeLike 'Target missed: Reached max_iter_num (0 iterations)*'
        $r.RevertedLayers | Should -BeNullOrEmpty
        "$($warnings[0])" | Should -Be $r.Reason
        $r.OutputPath | Should -Exist
        (Get-Content $r.ReportPath -Raw | ConvertFrom-Json).met | Should -BeFalse
    }

    It 'stops on -MaxEvaluations and returns the best model so far' {
        $r = Invoke-AccuracyAwareQuantization $model $calibration $engine -MaximalDrop $strict -RankingSubsetSize 50 -MaxEvaluations 4 -WarningAction SilentlyContinue
        $r.Met | Should -BeFalse
        $r.Reason | Should -BeLike '*MaxEvaluations (4) reached*'
        $r.Evaluations | Should -Be 4
        $r.OutputPath | Should -Exist
    }

    It 'writes nothing with -WhatIf' {
        $r = Invoke-AccuracyAwareQuantization $model $calibration $engine -MaximalDrop $strict -WhatIf
        $r | Should -BeNullOrEmpty
        (Get-ChildItem $work).Name | Should -Be @('digits.onnx')
    }

    It 'refuses to overwrite without -Force' {
        $out = Join-Path $work 'out.onnx'
        Set-Content $out 'keep me'
        { Invoke-AccuracyAwareQuantization $model $calibration $engine -OutputPath $out -ErrorAction Stop } |
            Should -Throw -ErrorId "OutputExists,$aaq"
        Get-Content $out | Should -Be 'keep me'
        $r = Invoke-AccuracyAwareQuantization $model $calibration $engine -OutputPath $out -Force
        $r.OutputPath | Should -Be $out
        (Import-PotModel -Path $out).IsQuantized | Should -BeTrue
    }

    It 'refuses to overwrite an existing report without -Force' {
        Set-Content (Join-Path $work 'out.report.json') '{}'
        { Invoke-AccuracyAwareQuantization $model $calibration $engine -OutputPath (Join-Path $work 'out.onnx') -ErrorAction Stop } |
            Should -Throw -ErrorId "OutputExists,$aaq"
        Join-Path $work 'out.onnx' | Should -Not -Exist
    }

    It 'takes a PotConfig from the pipeline, and parameters override it' {
        $config = Join-Path $work 'aaq.json'
        @{
            model       = @{ model_name = 'digits'; model = $model }
            engine      = @{ config = $engine }
            compression = @{ algorithms = @(@{ name = 'AccuracyAwareQuantization'; params = @{ maximal_drop = 0.5; ranking_subset_size = 60; stat_subset_size = 100 } }) }
        } | ConvertTo-Json -Depth 6 | Set-Content $config
        $loose = Import-PotConfig -Path $config | Invoke-AccuracyAwareQuantization -OutputPath (Join-Path $work 'loose.onnx')
        $loose.MaximalDrop | Should -Be 0.5
        $loose.Met | Should -BeTrue
        $loose.RevertedLayers | Should -BeNullOrEmpty
        $tight = Import-PotConfig -Path $config | Invoke-AccuracyAwareQuantization -MaximalDrop $strict -OutputPath (Join-Path $work 'tight.onnx')
        $tight.MaximalDrop | Should -Be $strict
        $tight.RevertedLayers.Count | Should -BeGreaterOrEqual 1
        # -CalibrationDataPath with a piped config replaces the engine's data for calibration (the config still gives
        # the model): calibration data without the model's input is refused as such.
        $calibrated = Import-PotConfig -Path $config | Invoke-AccuracyAwareQuantization -CalibrationDataPath $calibration -OutputPath (Join-Path $work 'own.onnx')
        $calibrated.ModelPath | Should -Be $model
        $calibrated.Met | Should -BeTrue
        $bad = Join-Path $work 'bad-calibration'
        New-Item -ItemType Directory $bad | Out-Null
        Copy-Item (Join-Path $calibration 'input.npy') (Join-Path $bad 'a.npy')
        Copy-Item (Join-Path $calibration 'input.npy') (Join-Path $bad 'b.npy')
        { Import-PotConfig -Path $config | Invoke-AccuracyAwareQuantization -CalibrationDataPath $bad -OutputPath (Join-Path $work 'bad.onnx') -ErrorAction Stop } |
            Should -Throw -ErrorId "DataInputMissing,$aaq"
    }

    It 'runs convert_to_mixed_preset and tune_hyperparams from a config' {
        $config = Join-Path $work 'tuned.json'
        @{
            model       = @{ model_name = 'digits'; model = $model }
            engine      = @{ config = $engine }
            compression = @{ algorithms = @(@{ name = 'AccuracyAwareQuantization'; params = @{
                            maximal_drop = $strict; convert_to_mixed_preset = $true; tune_hyperparams = $true; ranking_subset_size = 60; stat_subset_size = 100 } }) }
        } | ConvertTo-Json -Depth 6 | Set-Content $config
        $r = Import-PotConfig -Path $config | Invoke-AccuracyAwareQuantization -OutputPath (Join-Path $work 'tuned.onnx')
        $r.Met | Should -BeTrue
        $r.Preset | Should -Be 'Mixed'
        $r.StageTimes.Stage | Should -Contain 'MixedPreset'
        $r.StageTimes.Stage | Should -Contain 'Tuning'
        $r.Log | Where-Object { $_ -like 'Mixed preset: *' } | Should -HaveCount 1
        $r.Log | Where-Object { $_ -like '  activation range *: score *' } | Should -Not -BeNullOrEmpty
        # One calibration pass measured what the mixed preset and every tuning candidate needed.
        $r.CalibrationPasses | Should -Be 1
        (Get-Content $r.ReportPath -Raw | ConvertFrom-Json).calibration_passes | Should -Be 1
    }

    It 'takes what a config says as typed parameters: -ConvertToMixedPreset, -TuneHyperparams, -IgnoredScope, -TargetDevice, -ModelType' {
        $config = Join-Path $work 'typed.json'
        @{
            model       = @{ model_name = 'digits'; model = $model }
            engine      = @{ config = $engine }
            compression = @{ algorithms = @(@{ name = 'AccuracyAwareQuantization'; params = @{
                            maximal_drop = $strict; convert_to_mixed_preset = $true; tune_hyperparams = $true; ranking_subset_size = 60 } }) }
        } | ConvertTo-Json -Depth 6 | Set-Content $config
        $fromConfig = Import-PotConfig -Path $config | Invoke-AccuracyAwareQuantization -CalibrationDataPath $calibration -OutputPath (Join-Path $work 'config.onnx')
        $typed = Invoke-AccuracyAwareQuantization $model $calibration $engine -MaximalDrop $strict -ConvertToMixedPreset -TuneHyperparams -RankingSubsetSize 60 -OutputPath (Join-Path $work 'typed.onnx')
        $typed.StageTimes.Stage | Should -Contain 'MixedPreset'
        $typed.StageTimes.Stage | Should -Contain 'Tuning'
        (Get-FileHash $typed.OutputPath).Hash | Should -Be (Get-FileHash $fromConfig.OutputPath).Hash
        $typed.Log | Should -Be $fromConfig.Log

        $ignored = Invoke-AccuracyAwareQuantization $model $calibration $engine -MaximalDrop $strict -IgnoredScope '/fc2/Gemm' -IgnoredOpType MaxPool -TargetDevice CPU -ModelType Transformer -OutputPath (Join-Path $work 'ignored.onnx')
        $ignored.QuantizedLayerCount | Should -Be ($typed.QuantizedLayerCount - 1)
        $ignored.RevertedLayers.Layer | Should -Not -Contain '/fc2/Gemm'
    }

    It 'takes a PotModel or a file from the pipeline' {
        $a = Import-PotModel -Path $model | Invoke-AccuracyAwareQuantization -CalibrationDataPath $calibration -EnginePath $engine -OutputPath (Join-Path $work 'a.onnx')
        $a.ModelPath | Should -Be $model
        $b = Get-Item $model | Invoke-AccuracyAwareQuantization -CalibrationDataPath $calibration -EnginePath $engine -OutputPath (Join-Path $work 'b.onnx')
        $b.ModelPath | Should -Be $model
    }

    It 'quantizes an FP16 export as the FP32 model it widens to, keeping its float16 inputs and outputs' {
        Import-PotTestSupport
        $half = Join-Path $work 'digits16.onnx'
        (Get-PotSupportType 'HalfModels')::Save($model, $half, $false)
        (Import-PotModel $half).Inputs.ElementType | Should -Be 'float16'
        $dq = Invoke-DefaultQuantization $half $calibration -Precision AllInt8 -SkipLatencyCheck -OutputPath (Join-Path $work 'dq16.onnx') -WarningVariable warnings -WarningAction SilentlyContinue
        $warnings | Should -Match 'is a 16-bit float model: it is quantized as the FP32 model its weights widen to'
        $dq.QuantizedLayerCount | Should -Be 5
        $dq.FusedLayerCount | Should -Be 5
        $dq.Check.Outputs.Count | Should -Be 1
        $dq.Check.Passed | Should -BeTrue
        $int8 = Import-PotModel $dq.OutputPath
        @($int8.Inputs.ElementType) + @($int8.Outputs.ElementType) | Should -Be @('float16', 'float16')
        # The search runs on it as on the FP32 model, against the FP16 export as the reference.
        $r = Invoke-AccuracyAwareQuantization $half $calibration $engine -Precision AllInt8 -MaximalDrop $strict -RankingSubsetSize 100 -OutputPath (Join-Path $work 'aaq16.onnx') -WarningAction SilentlyContinue
        $r.Met | Should -BeTrue
        $r.RevertedLayers.Count | Should -BeGreaterOrEqual 1
        ($r.Metrics | Where-Object Name -eq 'cosine_similarity').FullyQuantizedDrop | Should -BeGreaterThan $strict
        $comparison = Compare-PotModel $r.OutputPath -ReferencePath $half -EnginePath $engine
        ($comparison | Where-Object Metric -eq 'cosine_similarity').Drop | Should -BeLessOrEqual $strict
    }

    It 'refuses an engine without metrics' {
        $simple = Join-Path $work 'simple.yml'
        "type: simplified`ndata_source: $calibration`n" | Set-Content $simple
        { Invoke-AccuracyAwareQuantization $model $calibration $simple -ErrorAction Stop } | Should -Throw -ErrorId "EngineHasNoAnnotations,$aaq"
        (Get-ChildItem $work).Name | Should -Be @('digits.onnx', 'simple.yml')
    }

    It 'refuses a time limit given as a bare number' {
        { Invoke-AccuracyAwareQuantization $model $calibration $engine -TimeLimit 600 -ErrorAction Stop } | Should -Throw -ErrorId "InvalidTimeLimit,$aaq"
    }

    It 'evaluates an engine with a .ps1 script metric' {
        $scriptPath = Join-Path $work 'margin.ps1'
        'param($Outputs, $Annotation) $l = $Outputs.logits; [double]($l[[int]$Annotation] - ($l | Measure-Object -Maximum).Maximum)' | Set-Content $scriptPath
        $scripted = Join-Path $work 'scripted.yml'
        @"
metrics:
  - name: margin
    type: script
    path: margin.ps1
dataset:
  data_source: $(Join-Path $sampleDir 'validation')
"@ | Set-Content $scripted
        $r = Invoke-AccuracyAwareQuantization $model $calibration $scripted -MaximalDrop 0.5
        $r.Metrics.Name | Should -Be @('margin')
        $fp32 = (Measure-PotModel -Path $model -EnginePath $scripted).Values.margin
        $int8 = (Measure-PotModel -Path $r.OutputPath -EnginePath $scripted).Values.margin
        $fp32 | Should -BeLessThan 0 # wrong items have a negative margin
        [math]::Abs($r.Metrics[0].Baseline - $fp32) | Should -BeLessThan 1e-6
        [math]::Abs($r.Metrics[0].Final - $int8) | Should -BeLessThan 1e-6
        $ranks = Get-LayerRanking -ModelPath $model -CalibrationDataPath $calibration -EnginePath $scripted -RankingSubsetSize 20 -Top 1
        $ranks.MetricDeltas.Keys | Should -Be @('margin')
    }

    It 'writes the fully quantized model with -DumpIntermediateModel, honouring -WhatIf and -Force' {
        $out = Join-Path $work 'out.onnx'
        $dump = Join-Path $work 'out.int8-full.onnx'
        Invoke-AccuracyAwareQuantization $model $calibration $engine -OutputPath $out -DumpIntermediateModel -WhatIf | Should -BeNullOrEmpty
        (Get-ChildItem $work).Name | Should -Be @('digits.onnx')
        Set-Content $dump 'keep me'
        { Invoke-AccuracyAwareQuantization $model $calibration $engine -OutputPath $out -DumpIntermediateModel -ErrorAction Stop } |
            Should -Throw -ErrorId "OutputExists,$aaq"
        Get-Content $dump | Should -Be 'keep me'
        $out | Should -Not -Exist
        $r = Invoke-AccuracyAwareQuantization $model $calibration $engine -OutputPath $out -DumpIntermediateModel -Force
        $r.IntermediateModels | Should -Be @($dump)
        (Import-PotModel -Path $dump).IsQuantized | Should -BeTrue
        (Get-Content $r.ReportPath -Raw | ConvertFrom-Json).intermediate_models | Should -Be @($dump)
        $plain = Invoke-AccuracyAwareQuantization $model $calibration $engine -OutputPath (Join-Path $work 'plain.onnx')
        $plain.IntermediateModels | Should -BeNullOrEmpty
        Join-Path $work 'plain.int8-full.onnx' | Should -Not -Exist
    }

    It 'writes the fully quantized model when the config sets compression.dump_intermediate_model' {
        $config = Join-Path $work 'dump.json'
        @{
            model       = @{ model_name = 'digits'; model = $model }
            engine      = @{ config = $engine }
            compression = @{ dump_intermediate_model = $true; algorithms = @(@{ name = 'AccuracyAwareQuantization'; params = @{ stat_subset_size = 100 } }) }
        } | ConvertTo-Json -Depth 6 | Set-Content $config
        $r = Import-PotConfig -Path $config | Invoke-AccuracyAwareQuantization -OutputPath (Join-Path $work 'c.onnx')
        $r.IntermediateModels | Should -Be @(Join-Path $work 'c.int8-full.onnx')
        $r.IntermediateModels[0] | Should -Exist
        $off = Import-PotConfig -Path $config | Invoke-AccuracyAwareQuantization -OutputPath (Join-Path $work 'd.onnx') -DumpIntermediateModel:$false
        $off.IntermediateModels | Should -BeNullOrEmpty
    }

    It 'formats its result as a list' {
        $text = Invoke-AccuracyAwareQuantization $model $calibration $engine -MaximalDrop $strict -RankingSubsetSize 50 | Out-String
        $text | Should -Match 'RevertedLayers\s*:\s*\d of 5'
        $text | Should -Match 'cosine_similarity: FP32 1'
    }
}

Describe 'Get-LayerRanking' {
    BeforeEach {
        $script:work = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        New-Item -ItemType Directory $work | Out-Null
        $script:model = Join-Path $work 'digits.onnx'
        Copy-Item (Join-Path $sampleDir 'digits.onnx') $model
    }

    It 'ranks the layers of a quantization result from the pipeline, best revert first' {
        $ranks = Invoke-DefaultQuantization $model $calibration -StatSubsetSize 100 -Precision AllInt8 | Get-LayerRanking -EnginePath $engine -RankingSubsetSize 80
        # The five INT8 layers (the result's options, -Precision AllInt8 included, are the quantization ranked).
        $ranks | Should -HaveCount 5
        $ranks[0].PSObject.TypeNames[0] | Should -Be 'PotPowerShell.Core.Results.LayerRank'
        # Not $ranks.Rank: an array has a Rank property of its own (its number of dimensions).
        $ranks | ForEach-Object Rank | Should -Be @(1, 2, 3, 4, 5)
        $ranks.Method | Sort-Object -Unique | Should -Be 'Signal'
        $scores = $ranks.Score
        $scores | Should -Be ($scores | Sort-Object -Descending)
        $ranks[0].MetricDeltas.Keys | Should -Be @('accuracy@top1', 'cosine_similarity')
        ($ranks | Where-Object OpType -eq 'Conv').Count | Should -Be 3
    }

    It 'emits only the top N with -Top' {
        $ranks = Get-LayerRanking -ModelPath $model -CalibrationDataPath $calibration -EnginePath $engine -RankingSubsetSize 80 -Top 2
        $ranks | Should -HaveCount 2
        $ranks | ForEach-Object Rank | Should -Be @(1, 2)
    }

    It 'scores every layer by output error with -Method OutputError and confirms the top ones' {
        $ranks = Get-LayerRanking -ModelPath $model -CalibrationDataPath $calibration -EnginePath $engine -RankingSubsetSize 80 -Method OutputError -ConfirmTopLayers 2 -Precision AllInt8 -Verbose 4>&1
        $verbose = $ranks | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        $ranks = $ranks | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        # Every layer INT8 (-Precision AllInt8): five.
        $n = @($ranks).Count
        $n | Should -Be 5
        $ranks.Method | Should -Be (@('Metric', 'Metric') + @('OutputError') * ($n - 2))
        $ranks | ForEach-Object { [double]::IsNaN($_.OutputError) | Should -BeFalse }
        $ranks[2].Score | Should -Be $ranks[2].OutputError
        $verbose.Message | Where-Object { $_ -like "Ranked $n layers on 80 items*3 evaluations, 400 inferences." } | Should -HaveCount 1
    }

    It 'feeds its layers back as the ignored scope of Invoke-DefaultQuantization' {
        $top = Get-LayerRanking -ModelPath $model -CalibrationDataPath $calibration -EnginePath $engine -RankingSubsetSize 80 -Top 2
        $result = Invoke-DefaultQuantization $model $calibration -StatSubsetSize 100 -IgnoredScope $top -Precision AllInt8 -OutputPath (Join-Path $work 'ignored.onnx')
        $result.IgnoredNodes | Sort-Object | Should -Be ($top.Layer | Sort-Object)
        ($result.Layers | Where-Object Precision -eq 'Float').Node | Sort-Object | Should -Be ($top.Layer | Sort-Object)
        $result.QuantizedLayerCount | Should -Be 3
    }

    It 'takes a PotConfig from the pipeline' {
        $config = Join-Path $work 'dq.json'
        @{
            model       = @{ model_name = 'digits'; model = $model }
            engine      = @{ config = $engine }
            compression = @{ algorithms = @(@{ name = 'DefaultQuantization'; params = @{ stat_subset_size = 100 } }) }
        } | ConvertTo-Json -Depth 6 | Set-Content $config
        $ranks = Import-PotConfig -Path $config | Get-LayerRanking -RankingSubsetSize 40 -Top 3
        $ranks | Should -HaveCount 3
        # -CalibrationDataPath replaces the engine's data as calibration data.
        $own = Import-PotConfig -Path $config | Get-LayerRanking -CalibrationDataPath $calibration -RankingSubsetSize 40 -Top 1
        $own | Should -HaveCount 1
    }

    It 'takes a folder of validation data as its engine, as Compare-PotModel takes -DataPath' {
        # Labelled (labels.npy): top-1 accuracy, as an engine file with that metric over the folder gives it.
        $validation = Join-Path $sampleDir 'validation'
        $accuracy = Join-Path $work 'accuracy.yml'
        "metrics:`n  - type: accuracy`ndataset:`n  data_source: $validation" | Set-Content $accuracy
        $byFolder = Invoke-AccuracyAwareQuantization $model $calibration $validation -MaximalDrop 0.01 -OutputPath (Join-Path $work 'folder.onnx') -WarningAction SilentlyContinue
        $byEngine = Invoke-AccuracyAwareQuantization $model $calibration $accuracy -MaximalDrop 0.01 -OutputPath (Join-Path $work 'engine.onnx') -WarningAction SilentlyContinue
        $byFolder.Metrics[0].Name | Should -Be 'accuracy@top1'
        $byFolder.Metrics[0].Baseline | Should -Be $byEngine.Metrics[0].Baseline
        (Get-FileHash $byFolder.OutputPath).Hash | Should -Be (Get-FileHash $byEngine.OutputPath).Hash
        # Unlabelled: cosine similarity to the FP32 model's outputs; ranked the same way.
        $ranks = @(Get-LayerRanking -ModelPath $model -CalibrationDataPath $calibration -EnginePath $calibration -RankingSubsetSize 40 -Top 2)
        $ranks | Should -HaveCount 2
        # Measure-PotModel's -EnginePath is a file; its folder goes to -DataPath, and the error says so.
        { Measure-PotModel $model -EnginePath $validation -ErrorAction Stop } | Should -Throw "*is a folder, not an engine file. Give it as -DataPath*"
    }

    It 'needs an engine with a quantization result' {
        $q = Invoke-DefaultQuantization $model $calibration -StatSubsetSize 50
        { $q | Get-LayerRanking -EnginePath (Join-Path $work 'missing.yml') -ErrorAction Stop } | Should -Throw -ErrorId "EngineNotFound,$rank"
    }

    It 'formats rankings as a table' {
        $text = Get-LayerRanking -ModelPath $model -CalibrationDataPath $calibration -EnginePath $engine -RankingSubsetSize 40 -Top 2 | Out-String
        $text | Should -Match 'Rank\s+Layer\s+OpType\s+Score\s+Method'
    }
}
