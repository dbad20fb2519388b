# Ctrl+C: each long cmdlet, started in a runspace of its own, is stopped once it is working. It must stop promptly
# (within one batch; the bound here is generous for a loaded machine), end as a stopped pipeline rather than with an
# error, and leave no output or temporary file behind.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'UxHelpers.psm1') -Force
    Import-Module (Join-Path (Get-PotModulePath) 'PotPowerShell.psd1') -Force
    # A model and data that take seconds to quantize and to evaluate.
    $script:slow = New-PotSlowWork -Path (Join-Path $TestDrive 'slow')
}

Describe 'Ctrl+C on <Command>' -ForEach @(
    @{
        Command = 'Invoke-DefaultQuantization'
        # Calibration over 300 items has begun.
        Working = { $_.Activity -eq 'Calibration' }
        Parameters = { param($out) @{ ModelPath = $slow.Model; CalibrationDataPath = $slow.Data; OutputPath = (Join-Path $out 'slow.int8.onnx') } }
    }
    @{
        Command = 'Invoke-AccuracyAwareQuantization'
        # DefaultQuantization is done and the accuracy-aware stages (FP32 reference, evaluations) have begun.
        Working = { $_.Activity -eq 'Accuracy-aware quantization' }
        Parameters = { param($out) @{ ModelPath = $slow.Model; CalibrationDataPath = $slow.Calibration; EnginePath = $slow.Engine; MaximalDrop = 0.000001; OutputPath = (Join-Path $out 'slow.aaq.onnx') } }
    }
    @{
        Command = 'Measure-PotModel'
        # At least one batch has been evaluated.
        Working = { $_.StatusDescription -like 'Batch *' }
        Parameters = { param($out) @{ ModelPath = $slow.Model; DataPath = $slow.Data; WarningAction = 'SilentlyContinue' } }
    }
    @{
        Command = 'Get-LayerRanking'
        Working = { $_.Activity -eq 'Accuracy-aware quantization' }
        Parameters = { param($out) @{ ModelPath = $slow.Model; CalibrationDataPath = $slow.Calibration; EnginePath = $slow.Engine } }
    }
) {
    BeforeAll {
        # The folder the command writes to, and would leave a partial or temporary file in.
        $out = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        New-Item -ItemType Directory $out | Out-Null
        $dataFiles = @(Get-ChildItem -Recurse -Force (Join-Path $TestDrive 'slow') | ForEach-Object FullName | Sort-Object)

        $run = Start-PotCommand -Command $Command -Parameters (& $Parameters $out)
        $working = Wait-PotProgress -Run $run -Condition $Working
        $wasRunning = -not $run.Handle.IsCompleted
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $run.PowerShell.Stop()
        $stopTime = $watch.Elapsed
        $state = $run.PowerShell.InvocationStateInfo
        $endError = $null
        try { $null = $run.PowerShell.EndInvoke($run.Handle) } catch { $endError = $_.Exception.InnerException }
        $errors = @($run.PowerShell.Streams.Error)
        Stop-PotCommand $run
    }

    It 'was working when stopped' {
        $working | Should -Not -BeNullOrEmpty -Because 'the command must report progress before it is stopped'
        $wasRunning | Should -BeTrue -Because 'the work must last longer than it takes to press Ctrl+C'
    }

    It 'stops promptly' {
        $stopTime.TotalSeconds | Should -BeLessThan 15
    }

    It 'ends as a stopped pipeline, not with an error' {
        $state.State | Should -Be 'Stopped'
        $state.Reason | Should -BeOfType ([System.Management.Automation.PipelineStoppedException])
        $endError | Should -BeOfType ([System.Management.Automation.PipelineStoppedException])
        $errors | Should -BeNullOrEmpty
    }

    It 'leaves no output or temporary file' {
        @(Get-ChildItem -Recurse -Force $out) | Should -BeNullOrEmpty
        @(Get-ChildItem -Recurse -Force (Join-Path $TestDrive 'slow') | ForEach-Object FullName | Sort-Object) | Should -Be $dataFiles
    }
}
