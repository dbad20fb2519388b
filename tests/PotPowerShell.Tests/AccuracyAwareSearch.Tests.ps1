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
        $one = Invoke-AccuracyAwareQuantization $model $calibration $oneThread -MaximalDrop 0.00001 -EvaluationWorkers 1 -OutputPath (Join-Path $work 'one.onnx')
        $three = Invoke-AccuracyAwareQuantization $model $calibration $oneThread -MaximalDrop 0.00001 -EvaluationWorkers 3 -OutputPath (Join-Path $work 'three.onnx')
        $one.EvaluationWorkers | Should -Be 1
        $three.EvaluationWorkers | Should -Be 3
        (Get-FileHash $three.OutputPath).Hash | Should -Be (Get-FileHash $one.OutputPath).Hash
        $three.Log | Should -Be $one.Log
        $one.RevertedLayerCount | Should -BeGreaterThan 0
    }

    It 'warns when no INT8 layer is left, even though the target is met' {
        $r = Invoke-AccuracyAwareQuantization $model $calibration $similarity -MaximalDrop 0 -OutputPath (Join-Path $work 'float.onnx') -WarningVariable warnings -WarningAction SilentlyContinue
        $r.Met | Should -BeTrue
        $r.RevertedLayerCount | Should -Be $r.QuantizedLayerCount
        $warnings.Message | Should -Contain "No INT8 layer is left: all $($r.QuantizedLayerCount) quantized layers were reverted to float, so '$($r.OutputPath)' runs as the FP32 model does. Raise -MaximalDrop, or check the metric and the validation data."
    }

    It 'says what the run will cost with -WhatIf, without running it' {
        $module = Join-Path (Get-PotModulePath) 'PotPowerShell.psd1'
        # -WhatIf writes to the host, so the run goes to a child process whose output is read.
        $out = Invoke-InChildPwsh "Import-Module '$module'; Invoke-AccuracyAwareQuantization '$model' '$calibration' '$similarity' -WhatIf" | Out-String
        $out | Should -Match 'planned: 5 layers, \d+ validation items: baseline \d+ inferences, each ranking \d+ \(5 layers on \d+ items\), each search step up to \d+; worst case'
        (Get-ChildItem $work).Name | Should -Be @('digits.onnx')
    }

    It 'logs the plan, and the time it will take on the verbose stream, before the search' {
        $verbose = Invoke-AccuracyAwareQuantization $model $calibration $similarity -MaximalDrop 0.00001 -OutputPath (Join-Path $work 'plan.onnx') -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ($verbose.Message | Where-Object { $_ -like 'Plan: *' }) | Should -Match '^Plan: 5 layers, 400 validation items: baseline 800 inferences, each ranking 600 \(5 layers on 100 items\)'
        ($verbose.Message | Where-Object { $_ -like 'Time estimate at *' }) | Should -Match 'baseline 800 inferences \(about [\d.]+ (s|min|h)\)'
    }
}

Describe 'Get-LayerRanking warnings' {
    It 'warns when every layer scores the same' {
        $model = Join-Path $TestDrive 'rank.onnx'
        Copy-Item (Join-Path $sampleDir 'digits.onnx') $model
        $ranks = Get-LayerRanking -ModelPath $model -CalibrationDataPath $calibration -EnginePath $accuracy -Method Metric -WarningVariable warnings -WarningAction SilentlyContinue
        ($ranks.Score | Sort-Object -Unique) | Should -HaveCount 1
        $warnings.Message | Should -BeLike 'Every layer scored * on the * ranking items, so the order is by name only*'
    }
}
