# Loads PotPowerShell.TestSupport.dll (next to this file) for bench/*.ps1 and the Pester helpers. The module keeps its
# core in a private load context (src/PotPowerShell/Infrastructure/PotLoadContext.cs), where [type] literals cannot
# reach: this assembly is loaded into that same context, so it shares the module's core, and its types (and the
# core's) are returned by name. Call their members as usual: (Get-PotSupportType SyntheticModels)::NormalData(...).
# Import the PotPowerShell module first.

$script:support = $null

function Get-PotSupportAssembly {
    if ($script:support) { return $script:support }
    # Resolving the core by name goes through the module's resolver, which loads it into the module's context.
    $core = [Runtime.Loader.AssemblyLoadContext]::Default.LoadFromAssemblyName([Reflection.AssemblyName]::new('PotPowerShell.Core'))
    $context = [Runtime.Loader.AssemblyLoadContext]::GetLoadContext($core)
    $path = Join-Path $PSScriptRoot 'PotPowerShell.TestSupport.dll'
    $script:support = $context.Assemblies | Where-Object { $_.GetName().Name -eq 'PotPowerShell.TestSupport' } | Select-Object -First 1
    if (-not $script:support) { $script:support = $context.LoadFromAssemblyPath($path) }
    $script:support
}

# A type of the test support assembly ('SyntheticModels', 'NpyWriter', 'LatencyBenchmark', ...).
function Get-PotSupportType {
    param([Parameter(Mandatory)][string] $Name)
    (Get-PotSupportAssembly).GetType("PotPowerShell.TestSupport.$Name", $true)
}

# A type of the module's core by its full name ('PotPowerShell.Core.Data.NpyDataset', 'Onnx.TensorProto', ...).
function Get-PotCoreType {
    param([Parameter(Mandatory)][string] $Name)
    $core = [Runtime.Loader.AssemblyLoadContext]::Default.LoadFromAssemblyName([Reflection.AssemblyName]::new('PotPowerShell.Core'))
    $core.GetType($Name, $true)
}

Export-ModuleMember -Function Get-PotSupportAssembly, Get-PotSupportType, Get-PotCoreType
