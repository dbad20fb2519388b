# Shared by every Pester file: where the built module and the sample live, and a way to run code in a fresh process.

function Get-PotModulePath {
    if ($env:POTPOWERSHELL_MODULE) { return $env:POTPOWERSHELL_MODULE }
    return (Resolve-Path (Join-Path $PSScriptRoot '../../out/PotPowerShell')).Path
}

# Imports the test support module (tests/PotPowerShell.TestSupport, built by build.ps1 -Task Build beside the module)
# into the caller's session: Get-PotSupportType and Get-PotCoreType. Import PotPowerShell first.
function Import-PotTestSupport {
    Import-Module (Join-Path (Split-Path (Get-PotModulePath)) 'PotPowerShell.TestSupport/PotPowerShell.TestSupport.psm1') -Global
}

function Get-PotSamplePath {
    param([string] $Name = 'digits')
    return (Resolve-Path (Join-Path $PSScriptRoot "../../samples/$Name")).Path
}

# Runs a script block in a child pwsh and returns its output lines: for tests that need a clean session
# (assembly isolation, a broken module folder).
function Invoke-InChildPwsh {
    param([Parameter(Mandatory)][string] $Script)
    $pwsh = [Environment]::ProcessPath
    [string[]] $arguments = if ((Split-Path -Leaf $pwsh) -like 'dotnet*') { @((Join-Path $PSHOME 'pwsh.dll')) } else { @() }
    $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($Script))
    & $pwsh @arguments -NoProfile -NonInteractive -EncodedCommand $encoded 2>&1
}

Export-ModuleMember -Function Get-PotModulePath, Get-PotSamplePath, Import-PotTestSupport, Invoke-InChildPwsh
