<#
.SYNOPSIS
    Measures what a user waits for before the module's first result: Import-Module plus the first cmdlet call
    (Import-PotModel on the sample), in fresh PowerShell processes.
.DESCRIPTION
    Each measurement starts a new pwsh process, because a module cannot be unloaded and .NET keeps JIT-compiled
    code per process: a second import in the same session would cost nothing and tell nothing.

    Two kinds of process run side by side, alternating, so that noise from other work on the machine hits both:
      bare    pwsh -NoProfile -Command 'exit'                                   (PowerShell's own start-up)
      module  pwsh -NoProfile -Command 'Import-Module ...; Import-PotModel ...' (start-up + import + first call)
    The module's cost is module - bare. 'Cold' is the first pair (fresh after a build: files not yet in the OS cache,
    nothing shared with an earlier process); 'warm' is the median of the following -Runs pairs. The module process
    also times Import-Module and the first call itself with a stopwatch, which is reported as a cross-check, and both
    processes report their CPU time: the difference is the module's CPU cost, which other work on a shared machine
    disturbs far less than wall-clock times.

    Target: under 1 s warm for Import-Module plus the first call.
.PARAMETER ModulePath
    The module folder (out/PotPowerShell).
.PARAMETER Runs
    How many warm pairs to run after the cold one (the median is reported).
.PARAMETER ModelPath
    The model the first call reads; the sample by default.
.PARAMETER Smoke
    One warm pair only, to show the script still runs (tests/PotPowerShell.Tests/Bench.Tests.ps1). Its numbers mean nothing.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string] $ModulePath,
    [ValidateRange(1, 100)][int] $Runs = 7,
    [string] $ModelPath = (Join-Path $PSScriptRoot '../samples/digits/digits.onnx'),
    [switch] $Smoke
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
if ($Smoke) { $Runs = 1 }

$manifest = (Resolve-Path (Join-Path $ModulePath 'PotPowerShell.psd1')).Path
$model = (Resolve-Path $ModelPath).Path
# The tool 'dotnet pwsh' runs as 'dotnet <PSHOME>/pwsh.dll'; start children the same way, without the tool lookup.
$exe = [Environment]::ProcessPath
[string[]] $prefix = if ((Split-Path -Leaf $exe) -like 'dotnet*') { @((Join-Path $PSHOME 'pwsh.dll')) } else { @() }

$env:POWERSHELL_TELEMETRY_OPTOUT = '1'
$env:POWERSHELL_UPDATECHECK = 'Off'
$env:ORT_DISABLE_TELEMETRY = '1'

$moduleScript = @"
`$sw = [Diagnostics.Stopwatch]::StartNew()
Import-Module '$($manifest.Replace("'", "''"))'
`$import = `$sw.Elapsed.TotalMilliseconds
`$null = Import-PotModel -LiteralPath '$($model.Replace("'", "''"))'
`$first = `$sw.Elapsed.TotalMilliseconds - `$import
'timing {0:F0} {1:F0}' -f `$import, `$first
'cpu {0:F0}' -f [Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime.TotalMilliseconds
"@
# Start-up alone; it reports its CPU time the same way.
$bareScript = "'cpu {0:F0}' -f [Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime.TotalMilliseconds"


# Runs one child process; returns its wall-clock milliseconds and its output lines.
function Invoke-Child([string] $Script) {
    $psi = [Diagnostics.ProcessStartInfo]::new($exe)
    foreach ($a in $prefix + @('-NoProfile', '-NonInteractive', '-Command', $Script)) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.UseShellExecute = $false
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $p = [Diagnostics.Process]::Start($psi)
    $stdout = $p.StandardOutput.ReadToEndAsync()
    $stderr = $p.StandardError.ReadToEndAsync()
    $p.WaitForExit()
    $elapsed = $sw.Elapsed.TotalMilliseconds
    if ($p.ExitCode -ne 0) { throw "The child pwsh failed with exit code $($p.ExitCode): $($stderr.Result)$($stdout.Result)" }
    return [pscustomobject]@{ Ms = $elapsed; Output = $stdout.Result }
}

function Get-Median([double[]] $Values) {
    $sorted = @($Values | Sort-Object)
    $n = $sorted.Count
    if ($n % 2) { return $sorted[($n - 1) / 2] }
    return ($sorted[$n / 2 - 1] + $sorted[$n / 2]) / 2
}

$rows = for ($i = 0; $i -le $Runs; $i++) {
    # Alternate which one goes first, so neither always benefits from the other warming the caches.
    if ($i % 2 -eq 0) { $bare = Invoke-Child $bareScript; $mod = Invoke-Child $moduleScript }
    else { $mod = Invoke-Child $moduleScript; $bare = Invoke-Child $bareScript }
    if ($mod.Output -notmatch 'timing (\d+) (\d+)') { throw "The module child printed no timing: $($mod.Output)" }
    $import = [double]$Matches[1]; $first = [double]$Matches[2]
    $modCpu = [double]([regex]::Match($mod.Output, 'cpu (\d+)').Groups[1].Value)
    $bareCpu = [double]([regex]::Match($bare.Output, 'cpu (\d+)').Groups[1].Value)
    [pscustomobject]@{ Run = $i; BareMs = $bare.Ms; ModuleMs = $mod.Ms; ImportMs = $import; FirstCallMs = $first; CpuCostMs = $modCpu - $bareCpu }
}

$cold = $rows[0]
$warm = @($rows | Select-Object -Skip 1)
$warmBare = Get-Median ($warm.BareMs)
$warmModule = Get-Median ($warm.ModuleMs)
$warmCost = Get-Median ($warm | ForEach-Object { $_.ModuleMs - $_.BareMs })
$warmImport = Get-Median ($warm.ImportMs)
$warmFirst = Get-Median ($warm.FirstCallMs)
# CPU time (user + system) hardly depends on what else the machine runs, unlike wall-clock time.
$warmCpu = Get-Median ($warm.CpuCostMs)
# The minimum is the least disturbed run: on a shared machine it is the better estimate of the module's own cost.
$bestCost = ($warm | ForEach-Object { $_.ModuleMs - $_.BareMs } | Measure-Object -Minimum).Minimum
$bestInside = ($warm | ForEach-Object { $_.ImportMs + $_.FirstCallMs } | Measure-Object -Minimum).Minimum

Write-Host ("Import-Module PotPowerShell + first Import-PotModel, fresh pwsh {0} per run ({1}, {2} cores)" -f $PSVersionTable.PSVersion, [Runtime.InteropServices.RuntimeInformation]::OSDescription, [Environment]::ProcessorCount)
Write-Host ''
$format = '{0,-20} {1,12} {2,12} {3,12} {4,12} {5,12}'
Write-Host ($format -f '', 'bare pwsh', 'with module', 'module cost', 'in: import', 'in: 1st call')
Write-Host ($format -f 'cold (first run)', "$([int]$cold.BareMs) ms", "$([int]$cold.ModuleMs) ms", "$([int]($cold.ModuleMs - $cold.BareMs)) ms", "$([int]$cold.ImportMs) ms", "$([int]$cold.FirstCallMs) ms")
Write-Host ($format -f "warm (median of $Runs)", "$([int]$warmBare) ms", "$([int]$warmModule) ms", "$([int]$warmCost) ms", "$([int]$warmImport) ms", "$([int]$warmFirst) ms")
Write-Host ($format -f "warm (best of $Runs)", '', '', "$([int]$bestCost) ms", '', "$([int]$bestInside) ms in all")
Write-Host ''
Write-Host ("'module cost' = with module - bare pwsh, measured side by side; 'in:' columns are stopwatch times inside the module process.")
Write-Host ("CPU time of import + first call (module process - bare process, user + system, median): cold {0:F0} ms, warm {1:F0} ms." -f $cold.CpuCostMs, $warmCpu)
$verdict = if ($warmCost -lt 1000) { 'meets' } else { 'misses' }
Write-Host ("Warm Import-Module + first call: {0:F0} ms (median; {1:F0} ms inside the process), which {2} the 1 s target." -f $warmCost, ($warmImport + $warmFirst), $verdict)
$load = if ($IsLinux -and (Test-Path /proc/loadavg)) { (Get-Content /proc/loadavg).Split(' ')[0] } else { $null }
if ($load) { Write-Host "Load average during the run: $load (numbers from a busy machine overstate the cost)." }
