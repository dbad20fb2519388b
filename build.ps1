<#
.SYNOPSIS
    Builds, documents, tests, demonstrates and benchmarks the PotPowerShell module.
.DESCRIPTION
    Run it through the repository's local PowerShell tool, on a machine that has only the .NET SDK:
        dotnet tool restore
        dotnet pwsh ./build.ps1 -Task Test
    Tasks:
        Build  publishes the module folder out/PotPowerShell (native ONNX Runtime for linux-x64, linux-arm64, win-x64, osx-arm64)
        Docs   turns docs/en-US/*.md (PlatyPS format) into MAML help in out/PotPowerShell/en-US
        Test   Build + Docs, then the xunit suite and the Pester suite; the last line is 'N passed, N failed, N skipped'
        Demo   Build + Docs, then quantizes the sample model shipped in samples/digits and prints the result
        Bench  Build, then runs every bench/*.ps1 script
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Docs', 'Test', 'Demo', 'Bench')]
    [string[]] $Task = @('Build'),
    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$root = $PSScriptRoot
$moduleDir = Join-Path $root 'out/PotPowerShell'
$resultsDir = Join-Path $root 'out/test-results'

# No telemetry from the SDK, PowerShell or ONNX Runtime, and plain output for CI logs.
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_NOLOGO = '1'
$env:POWERSHELL_TELEMETRY_OPTOUT = '1'
$env:POWERSHELL_UPDATECHECK = 'Off'
$env:ORT_DISABLE_TELEMETRY = '1'
$env:NO_COLOR = '1'

function Invoke-Native {
    param([Parameter(Mandatory)][string] $File, [string[]] $Arguments = @())
    Write-Host "> $File $($Arguments -join ' ')"
    & $File @Arguments
    if ($LASTEXITCODE -ne 0) { throw "'$File $($Arguments -join ' ')' failed with exit code $LASTEXITCODE." }
}

# Runs a script in a fresh PowerShell process: a loaded module cannot be unloaded, so the build session never imports it.
function Invoke-ChildPwsh {
    param([Parameter(Mandatory)][string] $Script, [string[]] $Arguments = @())
    Push-Location $root
    try {
        & dotnet pwsh -NoProfile -NonInteractive -File $Script @Arguments | Out-Host
        return $LASTEXITCODE
    }
    finally { Pop-Location }
}

function Invoke-Build {
    if (Test-Path $moduleDir) { Remove-Item -Recurse -Force $moduleDir }
    Invoke-Native dotnet @('publish', (Join-Path $root 'src/PotPowerShell/PotPowerShell.csproj'), '-c', $Configuration, '-o', $moduleDir, '--nologo', '-v', 'quiet')
    # Test and bench helpers (never shipped): bench/*.ps1 and the Pester helpers load them from out/PotPowerShell.TestSupport.
    $support = Join-Path $root 'tests/PotPowerShell.TestSupport'
    Invoke-Native dotnet @('build', (Join-Path $support 'PotPowerShell.TestSupport.csproj'), '-c', $Configuration, '--nologo', '-v', 'quiet')
    $supportDir = New-Item -ItemType Directory -Force (Join-Path $root 'out/PotPowerShell.TestSupport')
    Copy-Item (Join-Path $support "bin/$Configuration/net8.0/PotPowerShell.TestSupport.*") $supportDir -Exclude '*.deps.json'
}

function Invoke-Docs {
    & (Join-Path $root 'build/ConvertTo-MamlHelp.ps1') -DocsPath (Join-Path $root 'docs/en-US') -OutputPath (Join-Path $moduleDir 'en-US')
}

function Invoke-Test {
    if (Test-Path $resultsDir) { Remove-Item -Recurse -Force $resultsDir }
    Invoke-Native dotnet @('restore', (Join-Path $root 'build/tools/tools.csproj'), '--nologo', '-v', 'quiet')
    & dotnet test (Join-Path $root 'tests/PotPowerShell.Core.Tests/PotPowerShell.Core.Tests.csproj') -c $Configuration --nologo `
        --logger 'trx;LogFileName=core.trx' --logger 'console;verbosity=minimal' --results-directory $resultsDir
    $xunitExit = $LASTEXITCODE
    $pesterExit = Invoke-ChildPwsh (Join-Path $root 'build/run-pester.ps1') @('-ModulePath', $moduleDir, '-TrxPath', (Join-Path $resultsDir 'core.trx'))
    if ($xunitExit -ne 0 -or $pesterExit -ne 0) { exit 1 }
}

function Invoke-Demo {
    $exit = Invoke-ChildPwsh (Join-Path $root 'samples/Invoke-Demo.ps1') @('-ModulePath', $moduleDir)
    if ($exit -ne 0) { exit $exit }
}

function Invoke-Bench {
    foreach ($script in Get-ChildItem (Join-Path $root 'bench') -Filter '*.ps1' | Sort-Object Name) {
        Write-Host "== $($script.Name)"
        # The fuzz campaign builds its own runner against the core; the others run the built module.
        $arguments = @()
        if ((Get-Command $script.FullName).Parameters.ContainsKey('ModulePath')) { $arguments = @('-ModulePath', $moduleDir) }
        $exit = Invoke-ChildPwsh $script.FullName $arguments
        if ($exit -ne 0) { throw "Benchmark $($script.Name) failed with exit code $exit." }
    }
}

$needsBuild = $Task | Where-Object { $_ -in 'Build', 'Docs', 'Test', 'Demo', 'Bench' }
if ($needsBuild) { Invoke-Build }
if ($Task | Where-Object { $_ -in 'Docs', 'Test', 'Demo' }) { Invoke-Docs }
if ('Demo' -in $Task) { Invoke-Demo }
if ('Bench' -in $Task) { Invoke-Bench }
if ('Test' -in $Task) { Invoke-Test }
