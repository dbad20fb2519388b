# Every bench script runs in its smoke mode (tiny settings, seconds) against the built module, each in a fresh pwsh as
# build.ps1 -Task Bench runs it, so a bench cannot break unnoticed. Benches are not tests: only that a script runs to its
# end and prints its verdict lines is checked here, never its numbers.

BeforeDiscovery {
    # Every script in bench/, the fuzz campaign (Fuzz-Readers.ps1) included.
    $script:benches = @(Get-ChildItem (Join-Path $PSScriptRoot '../../bench') -Filter '*.ps1' | Sort-Object Name |
            ForEach-Object { @{ Name = $_.Name; Path = $_.FullName } })
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:pwsh = [Environment]::ProcessPath
    [string[]] $script:prefix = if ((Split-Path -Leaf $pwsh) -like 'dotnet*') { @((Join-Path $PSHOME 'pwsh.dll')) } else { @() }
}

Describe 'bench/<Name> -Smoke' -ForEach $benches {
    It 'runs to its end' {
        $work = Join-Path $TestDrive ($Name -replace '\.ps1$')
        $parameters = (Get-Command $Path).Parameters
        $arguments = @('-Smoke')
        # Benches that run the built module get its path (the fuzz campaign builds its own runner against the core).
        if ($parameters.ContainsKey('ModulePath')) { $arguments += @('-ModulePath', (Get-PotModulePath)) }
        # Benches that make models and data write them to a folder of their own, and findings to the test drive.
        if ($parameters.ContainsKey('WorkFolder')) { $arguments += @('-WorkFolder', $work) }
        if ($parameters.ContainsKey('Findings')) { $arguments += @('-Findings', (Join-Path $work 'findings')) }
        $env:NO_COLOR = '1'
        $output = & $pwsh @prefix -NoProfile -NonInteractive -File $Path @arguments 2>&1 | Out-String
        $LASTEXITCODE | Should -Be 0 -Because $output
    }
}
