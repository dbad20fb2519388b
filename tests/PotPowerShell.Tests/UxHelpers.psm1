# Helpers for the tests of how the cmdlets behave for a PowerShell user: a model whose quantization lasts seconds
# (to press Ctrl+C in), commands run in their own runspace (to stop them and read their progress), and a host that
# answers -Confirm prompts.

using namespace System.Collections.ObjectModel
using namespace System.Management.Automation
using namespace System.Management.Automation.Host

Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1')

# Builds, in $Path, a transformer-style MatMul stack (made in code by the test support's SyntheticModels) with normal random
# data: data/x.npy ($Items items, for calibration and evaluation), calibration/x.npy ($CalibrationItems items) and
# engine.yml (cosine similarity to the FP32 model on data/, no labels needed). Each item costs tens of milliseconds,
# so quantizing or evaluating all of them takes seconds.
function New-PotSlowWork {
    param(
        [Parameter(Mandatory)][string] $Path,
        [int] $Layers = 2,
        [int] $Items = 300,
        [int] $CalibrationItems = 16
    )
    Import-Module (Join-Path (Get-PotModulePath) 'PotPowerShell.psd1')
    Import-PotTestSupport
    $synthetic = Get-PotSupportType 'SyntheticModels'
    $npy = Get-PotSupportType 'NpyWriter'
    $itemShape = [long[]] @(64, 256)

    New-Item -ItemType Directory -Force (Join-Path $Path 'data'), (Join-Path $Path 'calibration') | Out-Null
    [string] $model = Join-Path $Path 'slow.onnx'
    $synthetic::SaveTransformerStack($model, $Layers, 256, 4, 64, 1024, 1)
    $npy::Write((Join-Path $Path 'data/x.npy'), $synthetic::NormalData($Items, $itemShape, 9))
    $npy::Write((Join-Path $Path 'calibration/x.npy'), $synthetic::NormalData($CalibrationItems, $itemShape, 11))
    $engine = Join-Path $Path 'engine.yml'
    "metrics:`n  - type: cosine_similarity`n    reference: fp32`ndataset:`n  data_source: data`n" | Set-Content -LiteralPath $engine
    [pscustomobject]@{
        Model       = $model
        Data        = Join-Path $Path 'data'
        Calibration = Join-Path $Path 'calibration'
        Engine      = $engine
    }
}

# Starts one command of the module in a runspace of its own and returns at once. The result's PowerShell holds the
# streams (Progress, Error) and can be stopped, as Ctrl+C stops a command in the console.
function Start-PotCommand {
    param(
        [Parameter(Mandatory)][string] $Command,
        [Parameter(Mandatory)][hashtable] $Parameters,
        [PSHost] $UserHost
    )
    $state = [initialsessionstate]::CreateDefault2()
    $state.ImportPSModule((Join-Path (Get-PotModulePath) 'PotPowerShell.psd1'))
    $runspace = if ($UserHost) { [runspacefactory]::CreateRunspace($UserHost, $state) } else { [runspacefactory]::CreateRunspace($state) }
    $runspace.Open()
    $ps = [powershell]::Create()
    $ps.Runspace = $runspace
    $null = $ps.AddCommand($Command).AddParameters($Parameters)
    [pscustomobject]@{ PowerShell = $ps; Handle = $ps.BeginInvoke(); Runspace = $runspace }
}

# Runs one command of the module in a runspace of its own to its end: its output, errors, progress records and the
# exception of a terminating error.
function Invoke-PotCommand {
    param(
        [Parameter(Mandatory)][string] $Command,
        [Parameter(Mandatory)][hashtable] $Parameters,
        [PSHost] $UserHost
    )
    $run = Start-PotCommand -Command $Command -Parameters $Parameters -UserHost $UserHost
    try {
        $output = @()
        $terminating = $null
        try { $output = @($run.PowerShell.EndInvoke($run.Handle)) }
        catch { $terminating = $_.Exception.InnerException }
        [pscustomobject]@{
            Output      = $output
            Errors      = @($run.PowerShell.Streams.Error)
            Progress    = @($run.PowerShell.Streams.Progress)
            Terminating = $terminating
        }
    }
    finally { Stop-PotCommand $run }
}

# Waits until a progress record of the running command satisfies $Condition ($_ is the record). Returns that record,
# or $null when the command ended or $TimeoutSeconds passed first.
function Wait-PotProgress {
    param(
        [Parameter(Mandatory)] $Run,
        [Parameter(Mandatory)][scriptblock] $Condition,
        [int] $TimeoutSeconds = 120
    )
    $progress = $Run.PowerShell.Streams.Progress
    $seen = 0
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while ([DateTime]::UtcNow -lt $deadline) {
        # Read by index: the command's thread keeps adding records meanwhile.
        for ($count = $progress.Count; $seen -lt $count; $seen++) {
            $record = $progress[$seen]
            if ($record | Where-Object $Condition) { return $record }
        }
        if ($Run.Handle.IsCompleted) { return $null }
        Start-Sleep -Milliseconds 25
    }
    return $null
}

function Stop-PotCommand {
    param([Parameter(Mandatory)] $Run)
    if (-not $Run.Handle.IsCompleted) { $Run.PowerShell.Stop() }
    $Run.PowerShell.Dispose()
    $Run.Runspace.Dispose()
}

# A host whose user interface answers every choice prompt (ShouldProcess's -Confirm) with $Answer ('Yes', 'No') and
# records the prompts and the lines written to it (-WhatIf's 'What if:' lines). It runs on the command's own thread, so it must not need this runspace.
[NoRunspaceAffinity()]
class PotAnsweringUI : PSHostUserInterface {
    [string] $Answer
    [Collections.Generic.List[string]] $Prompts = [Collections.Generic.List[string]]::new()
    [Collections.Generic.List[string]] $Lines = [Collections.Generic.List[string]]::new()

    PotAnsweringUI([string] $answer) { $this.Answer = $answer }

    [PSHostRawUserInterface] get_RawUI() { return $null }

    [int] PromptForChoice([string] $caption, [string] $message, [Collection[ChoiceDescription]] $choices, [int] $defaultChoice) {
        $this.Prompts.Add($message)
        for ($i = 0; $i -lt $choices.Count; $i++) {
            if ($choices[$i].Label.Replace('&', '') -eq $this.Answer) { return $i }
        }
        throw "The prompt offers no choice '$($this.Answer)'."
    }

    [Collections.Generic.Dictionary[string, psobject]] Prompt([string] $caption, [string] $message, [Collection[FieldDescription]] $descriptions) { throw 'Not supported.' }
    [pscredential] PromptForCredential([string] $caption, [string] $message, [string] $userName, [string] $targetName) { throw 'Not supported.' }
    [pscredential] PromptForCredential([string] $caption, [string] $message, [string] $userName, [string] $targetName, [PSCredentialTypes] $types, [PSCredentialUIOptions] $options) { throw 'Not supported.' }
    [string] ReadLine() { return '' }
    [securestring] ReadLineAsSecureString() { return [securestring]::new() }
    [void] Write([string] $value) { }
    [void] Write([ConsoleColor] $foreground, [ConsoleColor] $background, [string] $value) { }
    [void] WriteLine([string] $value) { $this.Lines.Add($value) }
    [void] WriteErrorLine([string] $value) { }
    [void] WriteDebugLine([string] $value) { }
    [void] WriteProgress([long] $sourceId, [ProgressRecord] $record) { }
    [void] WriteVerboseLine([string] $value) { }
    [void] WriteWarningLine([string] $value) { }
}

[NoRunspaceAffinity()]
class PotAnsweringHost : PSHost {
    hidden [PotAnsweringUI] $Answerer
    hidden [guid] $Id = [guid]::NewGuid()

    PotAnsweringHost([string] $answer) { $this.Answerer = [PotAnsweringUI]::new($answer) }

    [string] get_Name() { return 'PotAnsweringHost' }
    [version] get_Version() { return [version] '1.0' }
    [guid] get_InstanceId() { return $this.Id }
    [PSHostUserInterface] get_UI() { return $this.Answerer }
    [Globalization.CultureInfo] get_CurrentCulture() { return [Globalization.CultureInfo]::InvariantCulture }
    [Globalization.CultureInfo] get_CurrentUICulture() { return [Globalization.CultureInfo]::InvariantCulture }
    [void] SetShouldExit([int] $exitCode) { }
    [void] EnterNestedPrompt() { throw 'Not supported.' }
    [void] ExitNestedPrompt() { throw 'Not supported.' }
    [void] NotifyBeginApplication() { }
    [void] NotifyEndApplication() { }
}

# A host that answers every -Confirm prompt with $Answer; its Answerer.Prompts lists the prompts shown.
function New-PotAnsweringHost {
    param([Parameter(Mandatory)][ValidateSet('Yes', 'No')][string] $Answer)
    [PotAnsweringHost]::new($Answer)
}

Export-ModuleMember -Function New-PotSlowWork, Start-PotCommand, Invoke-PotCommand, Wait-PotProgress, Stop-PotCommand, New-PotAnsweringHost
