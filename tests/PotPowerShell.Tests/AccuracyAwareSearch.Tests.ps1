# Invoke-AccuracyAwareQuantization's search as users call it: parallel sessions, cost up front, and the warnings a
# runbook needs.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-PotModulePath) 'PotPowerShell.psd1') -Force
    $script:sampleDir = Get-PotSamplePath
    $script:calibration = Join-Path $sampleDir 'calibration'
    $script:similarity = Join-Path $TestDrive 'similarity.yml'
    "metrics:`n  - type: cosine_similarity`n    reference: fp32`ndataset:`n  data_source: $(Join-Path $sampleDir 'validation')`n" | Set-Content $similarity
    # INT8 is as good as FP32 on the sample's top-1 accuracy: reverting any layer changes nothing.
    $script:accuracy = Join-Path $TestDrive 'accuracy.yml'
    "metrics:`n  - type: accuracy`ndataset:`n  data_source: $(Join-Path $sampleDir 'validation')`n" | Set-Content $accuracy
}

Describe 'Invoke-AccuracyAwareQuantization search' {
    # Every layer INT8 (-Precision AllInt8) where a test needs layers to revert: which of the sample's tiny layers are
    # faster in float is this machine's timing (its layer-cost cache), not what the search is tested for.
    BeforeEach {
        $script:work = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        New-Item -ItemType Directory $work | Out-Null
        $script:model = Join-Path $work 'digits.onnx'
        Copy-Item (Join-Path $sampleDir 'digits.onnx') $model
    }

    It 'writes the same model and report with one and with three evaluation sessions' {
        # One intra-op thread per session in both runs: ONNX Runtime's float kernels may round differently with another
        # thread count, and what is compared here is the sessions side by side, not ORT's threading.
        $oneThread = Join-Path $work 'one-thread.yml'
        "threads: 1`n" + (Get-Content $similarity -Raw) | Set-Content $oneThread
        $one = Invoke-AccuracyAwareQuantization $model $calibration $oneThread -MaximalDrop 0.00001 -EvaluationWorkers 1 -Precision AllInt8 -OutputPath (Join-Path $work 'one.onnx')
        $three = Invoke-AccuracyAwareQuantization $model $calibration $oneThread -MaximalDrop 0.00001 -EvaluationWorkers 3 -Precision AllInt8 -OutputPath (Join-Path $work 'three.onnx')
        $one.EvaluationWorkers | Should -Be 1
        $three.EvaluationWorkers | Should -Be 3
        (Get-FileHash $three.OutputPath).Hash | Should -Be (Get-FileHash $one.OutputPath).Hash
        $three.Log | Should -Be $one.Log
        $one.RevertedLayerCount | Should -BeGreaterThan 0
    }

    It 'writes the same model, log and counts whether the evaluation batch size is measured or given' {
        $measured = Invoke-AccuracyAwareQuantization $model $calibration $similarity -MaximalDrop 0.00001 -Precision AllInt8 -OutputPath (Join-Path $work 'measured.onnx') -Verbose 4>&1
        $verbose = @($measured | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message
        $measured = $measured | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        $given = Invoke-AccuracyAwareQuantization $model $calibration $similarity -MaximalDrop 0.00001 -EvaluationBatchSize 3 -Precision AllInt8 -OutputPath (Join-Path $work 'given.onnx')
        $given.EvaluationBatchSize | Should -Be 3
        $measured.EvaluationBatchSize | Should -BeIn 16, 8, 4, 2
        # Automatic workers: two where the machine allows two threads.
        $measured.EvaluationWorkers | Should -Be ([Math]::Min(2, [Environment]::ProcessorCount))
        $verbose | Should -Contain ($verbose | Where-Object { $_ -like "Evaluation batch size $($measured.EvaluationBatchSize), measured on 16 items by $($measured.EvaluationWorkers) worker*: 16 -> * ms per item, 8 -> * ms per item, 4 -> * ms per item, 2 -> * ms per item." })
        (Get-FileHash $given.OutputPath).Hash | Should -Be (Get-FileHash $measured.OutputPath).Hash
        $given.Log | Should -Be $measured.Log
        $given.Inferences | Should -Be $measured.Inferences
        $measured.RevertedLayerCount | Should -BeGreaterThan 0
    }

    It 'writes the same model, log and counts whether candidates run from stored activations or whole' {
        $reused = Invoke-AccuracyAwareQuantization $model $calibration $similarity -MaximalDrop 0.00001 -Precision AllInt8 -OutputPath (Join-Path $work 'reused.onnx') -Verbose 4>&1
        $verbose = @($reused | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message
        $reused = $reused | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        $whole = Invoke-AccuracyAwareQuantization $model $calibration $similarity -MaximalDrop 0.00001 -ReuseActivations:$false -Precision AllInt8 -OutputPath (Join-Path $work 'whole.onnx') -Verbose 4>&1
        $wholeVerbose = @($whole | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message
        $whole = $whole | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        $verbose | Where-Object { $_ -match "^Evaluations run from stored activations: [1-9]\d* of $($reused.Evaluations), each on average [\d.]+ % of the model's nodes; the stores held at most [\d.]+ of [\d.]+ MB; captures reused [\d.]+ MB that dropped stores had held\.$" } | Should -Not -BeNullOrEmpty
        $wholeVerbose | Where-Object { $_ -like 'Evaluations run from stored activations*' } | Should -BeNullOrEmpty
        (Get-FileHash $whole.OutputPath).Hash | Should -Be (Get-FileHash $reused.OutputPath).Hash
        $whole.Log | Should -Be $reused.Log
        $whole.Inferences | Should -Be $reused.Inferences
        $reused.RevertedLayerCount | Should -BeGreaterThan 0
    }

    It 'warns when no INT8 layer is left, even though the target is met' {
        $r = Invoke-AccuracyAwareQuantization $model $calibration $similarity -MaximalDrop 0 -Precision AllInt8 -OutputPath (Join-Path $work 'float.onnx') -WarningVariable warnings -WarningAction SilentlyContinue
        $r.Met | Should -BeTrue
        $r.RevertedLayerCount | Should -Be $r.QuantizedLayerCount
        $warnings.Message | Should -Contain "No INT8 layer is left: all $($r.QuantizedLayerCount) quantized layers were reverted to float, so '$($r.OutputPath)' runs as the FP32 model does. Raise -MaximalDrop, or check the metric and the validation data."
    }

    It 'reverts in one step the layers the Signal ranking predicts the target needs, and says why' {
        # Cosine similarity with a limit only a few layers' reverts meet: the scores of three or more layers are needed,
        # so the first step reverts the first half of them together.
        $r = Invoke-AccuracyAwareQuantization $model $calibration $similarity -MaximalDrop 0.000001 -Precision AllInt8 -OutputPath (Join-Path $work 'groups.onnx') -WarningAction SilentlyContinue
        $r.Met | Should -BeTrue
        $first = $r.Iterations[0]
        $first.Stage | Should -Be 'Search'
        $first.Action | Should -Be 'Reverted'
        $first.RevertedCount | Should -BeGreaterOrEqual 2
        @($first.Layer -split ', ').Count | Should -Be $first.RevertedCount
        $first.DropAfter | Should -BeLessThan $first.DropBefore
        $r.Log | Where-Object { $_ -like "  The ranking's scores of $($first.Layer) add up to *; the drop is * above the limit." } | Should -Not -BeNullOrEmpty
        # Every layer of the group is one of the result's float layers, picked in that iteration.
        $picked = $r.RevertedLayers | Where-Object Iteration -eq 1
        @($picked.Layer | Sort-Object) | Should -Be @($first.Layer -split ', ' | Sort-Object)
    }

    It 'says what the run will cost with -WhatIf, without running it' {
        $module = Join-Path (Get-PotModulePath) 'PotPowerShell.psd1'
        # -WhatIf writes to the host, so the run goes to a child process whose output is read.
        $out = Invoke-InChildPwsh "Import-Module '$module'; Invoke-AccuracyAwareQuantization '$model' '$calibration' '$similarity' -WhatIf" | Out-String
        $out | Should -Match 'planned: 5 layers, \d+ validation items: baseline \d+ inferences, each ranking \d+ \(5 layers on \d+ items\), each search step up to \d+; worst case'
        (Get-ChildItem $work).Name | Should -Be @('digits.onnx')
    }

    It 'logs the plan, and the time it will take on the verbose stream, before the search' {
        $verbose = Invoke-AccuracyAwareQuantization $model $calibration $similarity -MaximalDrop 0.00001 -Precision AllInt8 -OutputPath (Join-Path $work 'plan.onnx') -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ($verbose.Message | Where-Object { $_ -like 'Plan: *' }) | Should -Match '^Plan: 5 layers, 400 validation items: baseline 800 inferences, each ranking 300 \(5 layers on 50 items\)'
        ($verbose.Message | Where-Object { $_ -like 'Time estimate at *' }) | Should -Match 'baseline 800 inferences \(about [\d.]+ (s|min|h)\)'
    }
}

Describe 'Invoke-AccuracyAwareQuantization -CheckpointPath' {
    It 'resumes after the process running it is killed, and writes the bytes of an uninterrupted run' {
        $work = Join-Path $TestDrive 'resume'
        New-Item -ItemType Directory $work | Out-Null
        $model = Join-Path $work 'digits.onnx'
        Copy-Item (Join-Path $sampleDir 'digits.onnx') $model
        $checkpoint = Join-Path $work 'run.checkpoint'
        $output = Join-Path $work 'resumed.onnx'
        # POT-style ranking evaluates every layer on every ranking: a run long enough to be killed in the middle.
        $common = "-MaximalDrop 0.000002 -RankingMethod Metric -Precision AllInt8 -Seed 3"
        $module = Join-Path (Get-PotModulePath) 'PotPowerShell.psd1'
        $script = "Import-Module '$module'; Invoke-AccuracyAwareQuantization '$model' '$calibration' '$similarity' $common -OutputPath '$output' -CheckpointPath '$checkpoint'"
        $pwsh = [Environment]::ProcessPath
        [string[]] $arguments = if ((Split-Path -Leaf $pwsh) -like 'dotnet*') { @((Join-Path $PSHOME 'pwsh.dll')) } else { @() }
        $arguments += '-NoProfile', '-NonInteractive', '-EncodedCommand', [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($script))
        $child = Start-Process -FilePath $pwsh -ArgumentList $arguments -PassThru -RedirectStandardOutput (Join-Path $work 'child.out') -RedirectStandardError (Join-Path $work 'child.err')
        try {
            # Kill it once a few evaluations are on disk (the first ones are the baseline and the fully quantized model).
            $deadline = [DateTime]::UtcNow.AddMinutes(5)
            while (-not $child.HasExited -and [DateTime]::UtcNow -lt $deadline -and -not ((Test-Path $checkpoint) -and (Get-Item $checkpoint).Length -gt 20000)) { Start-Sleep -Milliseconds 20 }
            $child.HasExited | Should -BeFalse -Because 'the child run should still be searching when its checkpoint has grown'
            $child.Kill($true)
            $child.WaitForExit()
        }
        finally { if (-not $child.HasExited) { $child.Kill($true) } }
        Test-Path $checkpoint | Should -BeTrue
        Test-Path $output | Should -BeFalse

        $resumed = Invoke-Expression "Invoke-AccuracyAwareQuantization '$model' '$calibration' '$similarity' $common -OutputPath '$output' -CheckpointPath '$checkpoint'"
        $whole = Invoke-Expression "Invoke-AccuracyAwareQuantization '$model' '$calibration' '$similarity' $common -OutputPath '$(Join-Path $work 'whole.onnx')'"
        $resumed.ResumedEvaluations | Should -BeGreaterThan 1
        $whole.ResumedEvaluations | Should -Be 0
        (Get-FileHash $resumed.OutputPath).Hash | Should -Be (Get-FileHash $whole.OutputPath).Hash
        $resumed.Log | Should -Be $whole.Log
        $resumed.Evaluations | Should -Be $whole.Evaluations
        $whole.RevertedLayerCount | Should -BeGreaterThan 0
        Test-Path $checkpoint | Should -BeFalse -Because 'a finished run has nothing to resume'
    }
}

Describe 'Ranking in shards' {
    It 'takes the deserialized rankings of Start-Job shards and writes the model a measured ranking gives' {
        $work = Join-Path $TestDrive 'shards'
        New-Item -ItemType Directory $work | Out-Null
        $model = Join-Path $work 'digits.onnx'
        Copy-Item (Join-Path $sampleDir 'digits.onnx') $model
        $module = Join-Path (Get-PotModulePath) 'PotPowerShell.psd1'
        $rank = {
            param([string] $Module, [string] $Model, [string] $Calibration, [string] $Engine, [string[]] $Shard)
            Import-Module $Module
            Get-LayerRanking $Engine $Model $Calibration -Precision AllInt8 -Layer $Shard
        }
        $shards = @(@('/conv1/Conv', '/fc2/Gemm'), @('/conv2/Conv', '/conv3/Conv', '/fc1/Gemm'))
        $jobs = foreach ($shard in $shards) { Start-Job -ScriptBlock $rank -ArgumentList $module, $model, $calibration, $similarity, $shard }
        $ranking = $jobs | Receive-Job -Wait -AutoRemoveJob
        $ranking | Should -HaveCount 5
        $ranking[0].PSObject.TypeNames[0] | Should -Be 'Deserialized.PotPowerShell.Core.Results.LayerRank'

        $whole = Get-LayerRanking $similarity $model $calibration -Precision AllInt8
        ($ranking | Sort-Object { - $_.Score }, Layer | ForEach-Object { '{0}={1:R}' -f $_.Layer, $_.Score }) |
            Should -Be ($whole | ForEach-Object { '{0}={1:R}' -f $_.Layer, $_.Score })

        $given = Invoke-AccuracyAwareQuantization $model $calibration $similarity -MaximalDrop 0.000002 -Precision AllInt8 -Ranking $ranking -OutputPath (Join-Path $work 'given.onnx')
        $measured = Invoke-AccuracyAwareQuantization $model $calibration $similarity -MaximalDrop 0.000002 -Precision AllInt8 -OutputPath (Join-Path $work 'measured.onnx')
        (Get-FileHash $given.OutputPath).Hash | Should -Be (Get-FileHash $measured.OutputPath).Hash
        # A limit the fully quantized sample misses (its drop is about 1e-5), so the search has to rank.
        $given.RankingEvaluations | Should -Be 0
        $measured.RankingEvaluations | Should -BeGreaterThan 0
        $given.Log | Should -Contain ($given.Log | Where-Object { $_ -like 'Ranking 1 (given, 5 of 5 layers ranked)*' })
    }

    It 'refuses a layer the model does not quantize, by name' {
        $model = Join-Path $TestDrive 'unknown.onnx'
        Copy-Item (Join-Path $sampleDir 'digits.onnx') $model
        { Get-LayerRanking $similarity $model $calibration -Layer '/conv9/Conv' -ErrorAction Stop } | Should -Throw -ErrorId 'LayerUnknown*'
        # Invoke-AccuracyAwareQuantization's order (model, calibration, engine) is named, not read as an engine.
        $e = { Get-LayerRanking $model $calibration $similarity -ErrorAction Stop } | Should -Throw -ErrorId 'ArgumentOrder*' -PassThru
        $e.Exception.Message | Should -BeLike "*Get-LayerRanking <engine.yml> <model.onnx> <calibration>*"
        $bogus = [pscustomobject]@{ Layer = '/fc9/Gemm'; Score = 1.0 }
        { Invoke-AccuracyAwareQuantization $model $calibration $similarity -Ranking $bogus -OutputPath (Join-Path $TestDrive 'unknown.aaq.onnx') -ErrorAction Stop } |
            Should -Throw -ErrorId 'RankingLayerUnknown*'
    }

    It "says which order it takes when given Invoke-AccuracyAwareQuantization's (model, calibration, engine)" {
        $model = Join-Path $sampleDir 'digits.onnx'
        $e = { Get-LayerRanking $model $calibration $similarity -ErrorAction Stop } | Should -Throw -ErrorId 'ArgumentOrder*' -PassThru
        $e.Exception.Message | Should -BeLike "*Get-LayerRanking <engine.yml> <model.onnx> <calibration>*"
        # Named, any order binds.
        Get-LayerRanking -CalibrationDataPath $calibration -ModelPath $model -EnginePath $similarity -Top 1 | Should -HaveCount 1
    }
}

Describe 'Get-LayerRanking warnings' {
    It 'warns when every layer scores the same' {
        $model = Join-Path $TestDrive 'rank.onnx'
        Copy-Item (Join-Path $sampleDir 'digits.onnx') $model
        $ranks = Get-LayerRanking -ModelPath $model -CalibrationDataPath $calibration -EnginePath $accuracy -Method Metric -WarningVariable warnings -WarningAction SilentlyContinue
        ($ranks.Score | Sort-Object -Unique) | Should -HaveCount 1
        $warnings.Message | Should -BeLike 'Every layer scored * on the * ranking items, so the order is by name only*'
        # Every rank carries what its run warned about (Export-PotReport lists it).
        foreach ($rank in $ranks) { $rank.Warnings | Should -Be @($warnings.Message) }
    }
}
