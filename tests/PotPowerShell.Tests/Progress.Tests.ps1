# Progress: each long cmdlet reports its stage through Write-Progress while it works and completes every bar it
# opened when it ends, so a console never keeps a stale bar. The records are read from the Progress stream of a
# runspace that runs the cmdlet on the sample.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'UxHelpers.psm1') -Force
    $script:sampleDir = Get-PotSamplePath
    $script:engine = Join-Path $TestDrive 'engine.yml'
    @"
metrics:
  - type: accuracy
  - type: cosine_similarity
    reference: fp32
dataset:
  data_source: $(Join-Path $sampleDir 'validation')
"@ | Set-Content $engine
}

Describe 'Progress of <Command>' -ForEach @(
    @{
        Command = 'Invoke-DefaultQuantization'
        Parameters = { @{ ModelPath = (Join-Path $sampleDir 'digits.onnx'); CalibrationDataPath = (Join-Path $sampleDir 'calibration'); StatSubsetSize = 64; OutputPath = (Join-Path $TestDrive 'dq.onnx'); WarningAction = 'SilentlyContinue'; Precision = 'AllInt8' } }
        # The top bar names the stage; calibration is a child bar counting items. AllInt8: with every layer float
        # (which -Precision Fastest may choose for the tiny sample) there is no bias correction to show.
        Stages = @('Preparing the model', 'Calibrating', 'Fast bias correction', 'Writing the quantized model', 'Timing the output against the FP32 model')
        Child = 'Calibration'
    }
    @{
        Command = 'Invoke-AccuracyAwareQuantization'
        Parameters = { @{ ModelPath = (Join-Path $sampleDir 'digits.onnx'); CalibrationDataPath = (Join-Path $sampleDir 'calibration'); EnginePath = $engine; MaximalDrop = 0.00001; RankingSubsetSize = 50; OutputPath = (Join-Path $TestDrive 'aaq.onnx'); WarningAction = 'SilentlyContinue'; Precision = 'AllInt8' } }
        Stages = @('Calibrating', 'Evaluating the FP32 model', 'Evaluating the fully quantized model', 'Ranking: reverting *', 'Iteration 1: reverting *', 'Writing the model')
        Child = 'Evaluating model'
    }
    @{
        Command = 'Get-LayerRanking'
        Parameters = { @{ ModelPath = (Join-Path $sampleDir 'digits.onnx'); CalibrationDataPath = (Join-Path $sampleDir 'calibration'); EnginePath = $engine; RankingSubsetSize = 50; Precision = 'AllInt8' } }
        Stages = @('Calibrating', 'Evaluating the FP32 model', 'Ranking: reverting *')
        Child = 'Evaluating model'
    }
    @{
        Command = 'Measure-PotModel'
        Parameters = { @{ ModelPath = (Join-Path $sampleDir 'digits.onnx'); DataPath = (Join-Path $sampleDir 'validation') } }
        Stages = @('Loading the model', 'Batch 1 of *')
        Child = $null
    }
) {
    BeforeAll {
        $run = Invoke-PotCommand -Command $Command -Parameters (& $Parameters)
        $records = $run.Progress
        $top = @($records | Where-Object ParentActivityId -lt 0)
    }

    It 'succeeds' {
        $run.Terminating | Should -BeNullOrEmpty
        $run.Errors | Should -BeNullOrEmpty
        $run.Output | Should -Not -BeNullOrEmpty
    }

    It 'reports each stage with an activity and a status' {
        $working = @($records | Where-Object RecordType -eq 'Processing')
        $working | Should -Not -BeNullOrEmpty
        $working | Where-Object { -not $_.Activity -or -not $_.StatusDescription } | Should -BeNullOrEmpty
        $working | Where-Object { $_.PercentComplete -lt -1 -or $_.PercentComplete -gt 100 } | Should -BeNullOrEmpty
        foreach ($stage in $Stages) {
            @($top | Where-Object StatusDescription -like $stage) | Should -Not -BeNullOrEmpty -Because "the stage '$stage' is shown"
        }
    }

    It 'counts the items or batches of its long stages up to 100 percent' {
        # A child bar under the stage's bar, or (Measure-PotModel, one stage) the top bar itself.
        $counting = if ($Child) { @($records | Where-Object { $_.Activity -eq $Child -and $_.RecordType -eq 'Processing' }) }
        else { @($top | Where-Object StatusDescription -like 'Batch *') }
        $counting | Should -Not -BeNullOrEmpty
        $counting | Where-Object PercentComplete -lt 0 | Should -BeNullOrEmpty
        ($counting | Where-Object PercentComplete -eq 100) | Should -Not -BeNullOrEmpty
        if ($Child) {
            $parents = @($top | ForEach-Object ActivityId | Sort-Object -Unique)
            $counting | Where-Object ParentActivityId -notin $parents | Should -BeNullOrEmpty
        }
    }

    It 'completes every bar it opened, children first, with its activity' {
        $ids = @($records | ForEach-Object ActivityId | Sort-Object -Unique)
        foreach ($id in $ids) {
            $last = @($records | Where-Object ActivityId -eq $id)[-1]
            $last.RecordType | Should -Be 'Completed' -Because "bar $id must be closed"
            $opened = @($records | Where-Object { $_.ActivityId -eq $id -and $_.RecordType -eq 'Processing' })[-1]
            $last.Activity | Should -Be $opened.Activity
            $last.ParentActivityId | Should -Be $opened.ParentActivityId
        }
        $completed = @($records | Where-Object RecordType -eq 'Completed' | ForEach-Object ActivityId)
        $completed | Should -Be @($completed | Sort-Object -Descending)
        # Nothing is reported after the bars are closed.
        $records[-1].RecordType | Should -Be 'Completed'
        @($records | Select-Object -Last $completed.Count | Where-Object RecordType -ne 'Completed') | Should -BeNullOrEmpty
    }
}
