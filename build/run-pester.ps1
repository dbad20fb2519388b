<#
.SYNOPSIS
    Runs the Pester suite against the published module and prints 'N passed, N failed, N skipped' over Pester and
    the xunit TRX files given, as its last line. Exits 1 on any failure.
#>
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [string[]] $TrxPath = @(),
    [string] $PesterVersion = '6.2.0',
    [string] $Path = (Join-Path $PSScriptRoot '../tests/PotPowerShell.Tests')
)
$ErrorActionPreference = 'Stop'
$nugetRoot = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
$pester = Join-Path $nugetRoot "pester/$PesterVersion/tools/Pester.psd1"
if (-not (Test-Path $pester)) { throw "Pester $PesterVersion is not restored: run 'dotnet restore build/tools/tools.csproj'." }
Import-Module $pester -Force

# The tests import the module from here, as a user would after installing it.
$env:POTPOWERSHELL_MODULE = (Resolve-Path $ModulePath).Path
# Layer timings of the latency-aware precision go to a cache of the test run's own, not the user's.
$env:POTPOWERSHELL_CACHE_HOME = Join-Path ([IO.Path]::GetTempPath()) "pot-pester-cache-$PID"
# Which layers -Precision Fastest keeps float depends on timings of this machine at this moment, so a test that
# counts INT8 layers would pass or fail with the load of a shared CI machine. The suite quantizes every layer unless a
# test names -Precision itself; the choice by timing is tested with fake timings in the xunit suite and by the tests
# that pass -Precision Fastest.
foreach ($cmdlet in 'Invoke-DefaultQuantization', 'Invoke-AccuracyAwareQuantization', 'Get-LayerRanking') {
    $global:PSDefaultParameterValues["${cmdlet}:Precision"] = 'AllInt8'
}

$config = New-PesterConfiguration
$config.Run.Path = $Path
$config.Run.PassThru = $true
$config.Run.Exit = $false
$config.Output.Verbosity = 'Detailed'
$config.Output.RenderMode = 'Plaintext'
# The JUnit report is written after the run (below): when Pester writes it itself, a failure message holding a
# control character (an ANSI colour code from a child pwsh) makes Invoke-Pester throw and lose every count.
$config.TestResult.Enabled = $false
try { $result = Invoke-Pester -Configuration $config }
finally { Remove-Item -LiteralPath $env:POTPOWERSHELL_CACHE_HOME -Recurse -Force -ErrorAction Ignore }
$junit = Join-Path (Split-Path $ModulePath) 'test-results/pester.xml'
try { Export-JUnitReport -Result $result -Path $junit }
catch { Write-Host "The JUnit report could not be written: $($_.Exception.Message)"; Remove-Item -LiteralPath $junit -ErrorAction Ignore }

$passed = $result.PassedCount
$failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
$skipped = $result.SkippedCount
foreach ($trx in $TrxPath) {
    if (-not (Test-Path $trx)) { Write-Host "xunit results '$trx' are missing: counted as one failure."; $failed++; continue }
    $counters = ([xml](Get-Content -Raw $trx)).TestRun.ResultSummary.Counters
    Write-Host "xunit $(Split-Path -Leaf $trx): passed=$($counters.passed) failed=$($counters.failed) skipped=$($counters.notExecuted)"
    $passed += [int]$counters.passed
    $failed += [int]$counters.failed + [int]$counters.error
    $skipped += [int]$counters.notExecuted
}
"{0} passed, {1} failed, {2} skipped" -f $passed, $failed, $skipped
exit ([int]($failed -gt 0))
