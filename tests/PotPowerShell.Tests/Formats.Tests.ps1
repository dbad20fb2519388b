# The format views the manifest lists are the ones the published module ships, each is valid, and each selects a
# type that really exists in the engine (a misspelt type name would silently never be used).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:moduleDir = Get-PotModulePath
    Import-Module (Join-Path $moduleDir 'PotPowerShell.psd1') -Force
    $script:manifest = Import-PowerShellDataFile (Join-Path $moduleDir 'PotPowerShell.psd1')
    $script:listed = @($manifest.FormatsToProcess | ForEach-Object { $_ -replace '\\', '/' })
    # Paths relative to the module folder, with forward slashes, of every format file shipped.
    $script:shipped = @(Get-ChildItem $moduleDir -Recurse -File -Filter '*.Format.ps1xml' |
            ForEach-Object { [IO.Path]::GetRelativePath($moduleDir, $_.FullName) -replace '\\', '/' })
}

Describe 'Format views' {
    It 'lists at least one format file in the manifest' {
        $listed.Count | Should -BeGreaterThan 0
    }

    It 'ships every format file the manifest lists' {
        @($listed | Where-Object { -not (Test-Path -LiteralPath (Join-Path $moduleDir $_) -PathType Leaf) }) | Should -BeNullOrEmpty
    }

    It 'lists every format file it ships' {
        @($shipped | Where-Object { $_ -notin $listed }) | Should -BeNullOrEmpty -Because 'a format file missing from FormatsToProcess in PotPowerShell.psd1 is never loaded'
    }

    It 'ships only valid format XML with at least one view' {
        $invalid = foreach ($f in $listed) {
            $path = Join-Path $moduleDir $f
            if (-not (Test-Path -LiteralPath $path)) { continue }
            try {
                [xml] $xml = Get-Content -Raw -LiteralPath $path
                if ($xml.DocumentElement.Name -ne 'Configuration') { "${f}: the root element is '$($xml.DocumentElement.Name)', not 'Configuration'" }
                elseif (-not $xml.SelectNodes('/Configuration/ViewDefinitions/View').Count) { "${f}: no /Configuration/ViewDefinitions/View" }
            }
            catch { "${f}: $($_.Exception.Message)" }
        }
        $invalid | Should -BeNullOrEmpty
    }

    It 'selects types that exist in the module''s assemblies' {
        # The core loads into a private context; the type is looked up in the assemblies of that context too.
        $null = Import-PotModel -Path (Join-Path (Get-PotSamplePath) 'digits.onnx')
        $assemblies = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -like 'PotPowerShell*' }
        $unknown = foreach ($f in $listed) {
            [xml] $xml = Get-Content -Raw -LiteralPath (Join-Path $moduleDir $f)
            foreach ($typeName in $xml.SelectNodes('//ViewSelectedBy/TypeName').InnerText) {
                if (-not ($assemblies | ForEach-Object { $_.GetType($typeName.Trim()) } | Where-Object { $_ })) { "${f}: $typeName" }
            }
        }
        $unknown | Should -BeNullOrEmpty
    }

    It 'has the views loaded in the session' {
        $names = @(Get-FormatData -PowerShellVersion $PSVersionTable.PSVersion | ForEach-Object TypeNames)
        foreach ($f in $listed) {
            [xml] $xml = Get-Content -Raw -LiteralPath (Join-Path $moduleDir $f)
            foreach ($typeName in $xml.SelectNodes('//ViewSelectedBy/TypeName').InnerText) { $names | Should -Contain $typeName.Trim() }
        }
    }
}
