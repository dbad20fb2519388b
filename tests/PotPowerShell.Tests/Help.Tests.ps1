# Keeps the help honest: every exported cmdlet (found from the module itself, so cmdlets added later are covered)
# has a markdown page whose parameters are exactly the cmdlet's, and Get-Help shows real content built from it.
# Also tests build/ConvertTo-MamlHelp.ps1 itself.

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-PotModulePath) 'PotPowerShell.psd1') -Force
    $script:cmdletNames = @(Get-Command -Module PotPowerShell -CommandType Cmdlet | ForEach-Object Name | Sort-Object)
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:moduleDir = Get-PotModulePath
    Import-Module (Join-Path $moduleDir 'PotPowerShell.psd1') -Force
    $script:repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:docsDir = Join-Path $repoRoot 'docs/en-US'
    $script:converter = Join-Path $repoRoot 'build/ConvertTo-MamlHelp.ps1'
    $script:commonParameters = [System.Management.Automation.Cmdlet]::CommonParameters

    # The pages as the converter reads them: name, parameter sets, parameters with one yaml block per set group.
    $script:pages = @{}
    foreach ($page in (& $converter -DocsPath $docsDir -OutputPath (Join-Path $TestDrive 'help') -PassThru 6>$null)) { $pages[$page.Name] = $page }

    # The names a markdown 'Type:' may use for a .NET type: short or full name, for nullable types also the inner type.
    function Get-TypeNames([Type] $Type) {
        $names = [Collections.Generic.List[string]]::new()
        $inner = if ($Type.IsArray) { $Type.GetElementType() } else { $Type }
        $suffix = if ($Type.IsArray) { '[]' } else { '' }
        $underlying = [Nullable]::GetUnderlyingType($inner)
        foreach ($t in @($inner, $underlying) | Where-Object { $_ }) {
            $names.Add($t.Name + $suffix); $names.Add($t.FullName + $suffix)
        }
        return $names
    }

    function Get-HelpText($Node) { (@($Node) | ForEach-Object { if ($_ -is [string]) { $_ } else { $_.Text } }) -join "`n" }

    # The real parameters of a cmdlet, without the common parameters (-Verbose, -ErrorAction...) and those hidden with
    # DontShow (pipeline plumbing a user never types, which PowerShell leaves out of the syntax and completion too).
    function Get-RealParameters([string] $Name) {
        (Get-Command $Name).Parameters.Values | Where-Object { $_.Name -notin $commonParameters -and -not ($_.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.DontShow }) } | Sort-Object Name
    }
}

Describe 'Help for <_>' -ForEach $cmdletNames {
    BeforeAll {
        $name = $_
        $page = $pages[$name]
        $help = Get-Help $name -Full
        $command = Get-Command $name
    }

    It 'has a page docs/en-US/<_>.md' {
        Join-Path $docsDir "$name.md" | Should -Exist
        $page | Should -Not -BeNullOrEmpty -Because 'the converter must have read the page'
    }

    It 'has a synopsis written in the page, not the syntax PowerShell generates without help' {
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis.Trim() | Should -Not -Match "^$([regex]::Escape($name))(\s|$)"
        $help.Synopsis.Trim() | Should -Be $page.Synopsis
    }

    It 'has a description' {
        (Get-HelpText $help.description).Trim() | Should -Not -BeNullOrEmpty
    }

    It 'has at least one example with code' {
        $examples = @($help.examples.example | Where-Object { "$($_.code)".Trim() })
        $examples.Count | Should -BeGreaterThan 0
    }

    It 'describes every parameter the cmdlet declares' {
        $undocumented = foreach ($p in (Get-RealParameters $name)) {
            $entry = $help.parameters.parameter | Where-Object name -eq $p.Name
            if (-not $entry -or -not (Get-HelpText $entry.description).Trim()) { $p.Name }
        }
        $undocumented | Should -BeNullOrEmpty -Because 'Get-Help -Full must show a description for each parameter'
    }

    It 'documents exactly the real parameters in markdown (no stale, no missing)' {
        $real = @(Get-RealParameters $name | ForEach-Object Name)
        $documented = @($page.Parameters | ForEach-Object Name)
        $missing = @($real | Where-Object { $_ -notin $documented })
        $stale = @($documented | Where-Object { $_ -notin $real })
        "missing: $($missing -join ', '); stale: $($stale -join ', ')" | Should -Be 'missing: ; stale: '
    }

    It 'has the real parameter sets in its SYNTAX section' {
        $realSets = @($command.ParameterSets | ForEach-Object Name | Sort-Object)
        @($page.ParameterSets | ForEach-Object Name | Sort-Object) | Should -Be $realSets
        if ($realSets.Count -gt 1) {
            ($page.ParameterSets | Where-Object IsDefault).Name | Should -Be $command.DefaultParameterSet -Because 'the default set is marked (Default)'
        }
    }

    It 'gives each parameter its real type, aliases, accepted values and wildcard support' {
        $wrong = foreach ($p in (Get-RealParameters $name)) {
            $doc = $page.Parameters | Where-Object Name -eq $p.Name
            if (-not $doc) { continue }
            if ($doc.Type -notin (Get-TypeNames $p.ParameterType)) { "-$($p.Name): Type '$($doc.Type)', real $($p.ParameterType.Name)" }
            $realAliases = @($p.Aliases | Sort-Object) -join ', '
            $docAliases = @($doc.Aliases | Sort-Object) -join ', '
            if ($realAliases -ne $docAliases) { "-$($p.Name): Aliases '$docAliases', real '$realAliases'" }
            $globbing = [bool]($p.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] })
            # A ValidateSet or an enum: the page lists the same values, so the syntax shows them ({Json | Yaml}).
            $validateSet = $p.Attributes | Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] } | Select-Object -First 1
            $element = if ($p.ParameterType.IsArray) { $p.ParameterType.GetElementType() } else { $p.ParameterType }
            $element = if ([Nullable]::GetUnderlyingType($element)) { [Nullable]::GetUnderlyingType($element) } else { $element }
            $values = if ($validateSet) { $validateSet.ValidValues } elseif ($element.IsEnum) { [Enum]::GetNames($element) } else { @() }
            $realValues = @($values | Sort-Object -Unique) -join ', '
            foreach ($b in $doc.Blocks) {
                if ($b.Globbing -ne $globbing) { "-$($p.Name): Accept wildcard characters $($b.Globbing), real $globbing" }
                $docValues = @($b.AcceptedValues | Sort-Object -Unique) -join ', '
                if ($docValues -ne $realValues) { "-$($p.Name): Accepted values '$docValues', real '$realValues'" }
            }
        }
        $wrong | Should -BeNullOrEmpty
    }

    It 'gives each parameter its real Required, Position and pipeline input in every parameter set' {
        $wrong = foreach ($set in $command.ParameterSets) {
            $pageSet = $page.ParameterSets | Where-Object Name -eq $set.Name
            foreach ($p in ($set.Parameters | Where-Object { $_.Name -notin $commonParameters })) {
                $doc = $page.Parameters | Where-Object Name -eq $p.Name
                if (-not $doc) { continue }
                $block = @($doc.Blocks | Where-Object { $_.ParameterSets -contains $set.Name }) + @($doc.Blocks | Where-Object { $_.ParameterSets -contains '(All)' }) | Select-Object -First 1
                if (-not $block) { "-$($p.Name) is in set '$($set.Name)' but its yaml 'Parameter Sets' do not say so"; continue }
                $position = if ($p.Position -ge 0) { "$($p.Position)" } else { 'Named' }
                if ($block.Required -ne $p.IsMandatory) { "-$($p.Name) [$($set.Name)]: Required $($block.Required), real $($p.IsMandatory)" }
                if ($block.Position -ne $position) { "-$($p.Name) [$($set.Name)]: Position $($block.Position), real $position" }
                if ($block.PipelineByValue -ne $p.ValueFromPipeline) { "-$($p.Name) [$($set.Name)]: pipeline ByValue $($block.PipelineByValue), real $($p.ValueFromPipeline)" }
                if ($block.PipelineByPropertyName -ne $p.ValueFromPipelineByPropertyName) { "-$($p.Name) [$($set.Name)]: pipeline ByPropertyName $($block.PipelineByPropertyName), real $($p.ValueFromPipelineByPropertyName)" }
                if ($pageSet -and $p.Name -notin $pageSet.Order) { "-$($p.Name) is missing from the syntax line of '$($set.Name)'" }
            }
            # Documented as belonging to this set but really not in it.
            foreach ($doc in $page.Parameters) {
                $named = $doc.Blocks | Where-Object { $_.ParameterSets -contains $set.Name }
                if ($named -and $doc.Name -notin $set.Parameters.Name) { "-$($doc.Name) is documented in set '$($set.Name)' but is not in it" }
            }
        }
        $wrong | Should -BeNullOrEmpty
    }
}

Describe 'About topic <_>' -ForEach @(Get-ChildItem (Join-Path $PSScriptRoot '../../docs/en-US') -Filter 'about_*.md' | ForEach-Object BaseName | Sort-Object) {
    It 'is found by Get-Help with its short description' {
        $source = Get-Content -Raw (Join-Path $docsDir "$_.md")
        # The first words of the SHORT DESCRIPTION, as they appear once the converter has wrapped them.
        $words = ([regex]::Match($source, '(?ms)^## SHORT DESCRIPTION\s*\n(.+?)(\n\s*\n|\n#)').Groups[1].Value -split '\s+' | Where-Object { $_ }) | Select-Object -First 6
        $words | Should -Not -BeNullOrEmpty
        $text = (Get-Help $_ -ErrorAction Stop | Out-String) -replace '\s+', ' '
        $expected = ($words -join ' ') -replace '[`*]', ''
        $text | Should -Match ([regex]::Escape($expected))
    }
}

Describe 'about_PotPowerShell' {
    BeforeAll {
        $aboutSource = Get-Content -Raw (Join-Path $docsDir 'about_PotPowerShell.md')
    }

    It 'is found by Get-Help' {
        $text = Get-Help about_PotPowerShell -ErrorAction Stop | Out-String
        $text | Should -Match 'SHORT DESCRIPTION'
        $text | Should -Match 'AccuracyAwareQuantization'
        Join-Path $moduleDir 'en-US/about_PotPowerShell.help.txt' | Should -Exist
    }

    It 'names every exported cmdlet' {
        $unnamed = @(Get-Command -Module PotPowerShell -CommandType Cmdlet | ForEach-Object Name | Where-Object { $aboutSource -notmatch "\b$([regex]::Escape($_))\b" })
        $unnamed | Should -BeNullOrEmpty
    }

    It 'lists every error id the source code raises in its error table' {
        # Ids are the first argument of PotException(...) / new(...) before a PotErrorCategory, either a literal or a
        # string constant (ConfigErrors.NotFound), and the id of ErrorRecord(..., "Id", ErrorCategory...) in cmdlets.
        $sources = @(Get-ChildItem (Join-Path $repoRoot 'src') -Recurse -Filter *.cs | Where-Object FullName -notmatch '[\\/](obj|bin|Generated)[\\/]' | ForEach-Object { Get-Content -Raw $_.FullName })
        $constants = @{}
        foreach ($code in $sources) {
            foreach ($m in [regex]::Matches($code, 'const\s+string\s+(\w+)\s*=\s*"(\w+)"\s*;')) { $constants[$m.Groups[1].Value] = $m.Groups[2].Value }
        }
        $ids = foreach ($code in $sources) {
            foreach ($m in [regex]::Matches($code, '\(\s*(?:"([A-Za-z]\w+)"|([A-Za-z][\w.]*))\s*,\s*(?:[\w.]*\.)?PotErrorCategory\.')) {
                if ($m.Groups[1].Success) { $m.Groups[1].Value }
                elseif ($constants.ContainsKey(($m.Groups[2].Value -split '\.')[-1])) { $constants[($m.Groups[2].Value -split '\.')[-1]] }
            }
            [regex]::Matches($code, '"([A-Za-z]\w+)"\s*,\s*ErrorCategory\.') | ForEach-Object { $_.Groups[1].Value }
        }
        $ids = @($ids | Sort-Object -Unique)
        $ids | Should -Not -BeNullOrEmpty
        $tableIds = [regex]::Matches($aboutSource, '(?m)^\|\s*`?(\w+)`?\s*\|') | ForEach-Object { $_.Groups[1].Value }
        (@($ids | Where-Object { $_ -notin $tableIds }) -join ', ') | Should -BeNullOrEmpty -Because 'each error id needs a row in an error table of docs/en-US/about_PotPowerShell.md'
    }
}

Describe 'ConvertTo-MamlHelp' {
    BeforeAll {
        # A complete page with two parameter sets, a switch, an enum and a ShouldProcess parameter.
        $script:goodPage = @'
---
external help file: Test.dll-Help.xml
Module Name: Test
online version: https://example.org/Get-Thing
schema: 2.0.0
---

# Get-Thing

## SYNOPSIS
Gets things.

## SYNTAX

### ByName (Default)
```
Get-Thing [-Name] <String> [-Mode <String>] [-Force] [-WhatIf] [<CommonParameters>]
```

### ById
```
Get-Thing -Id <Int32> [-Force] [-WhatIf] [<CommonParameters>]
```

## DESCRIPTION
Gets things
by name or id.

Second paragraph.

## EXAMPLES

### Example 1: Get one thing
```powershell
Get-Thing -Name a
```

Gets the thing called a.

## PARAMETERS

### -Force
Overwrites.

```yaml
Type: SwitchParameter
Parameter Sets: (All)
Aliases:

Required: False
Position: Named
Default value: False
Accept pipeline input: False
Accept wildcard characters: False
```

### -Id
The id.

```yaml
Type: Int32
Parameter Sets: ById
Aliases:

Required: True
Position: Named
Default value: None
Accept pipeline input: True (ByPropertyName)
Accept wildcard characters: False
```

### -Mode
The mode.

```yaml
Type: String
Parameter Sets: ByName
Aliases:
Accepted values: Fast, Slow

Required: False
Position: Named
Default value: Fast
Accept pipeline input: False
Accept wildcard characters: False
```

### -Name
The name.

```yaml
Type: String
Parameter Sets: ByName
Aliases: N

Required: True
Position: 0
Default value: None
Accept pipeline input: True (ByValue)
Accept wildcard characters: True
```

### -WhatIf
Shows what would happen.

```yaml
Type: SwitchParameter
Parameter Sets: (All)
Aliases: wi

Required: False
Position: Named
Default value: None
Accept pipeline input: False
Accept wildcard characters: False
```

### CommonParameters
This cmdlet supports the common parameters.

## INPUTS

### System.String

## OUTPUTS

### Test.Thing
A thing.

## NOTES
None.

## RELATED LINKS

[about_Test]()
'@
        $script:goodAbout = @'
# about_Test

## SHORT DESCRIPTION
A test topic.

## LONG DESCRIPTION
Text that is long enough to be wrapped by the converter because it goes on and on past the eightieth column of the console.

- an item
'@

        # Writes the given pages into a fresh folder and runs the converter; returns the output folder.
        function Invoke-Converter([hashtable] $Files) {
            $dir = Join-Path $TestDrive ([guid]::NewGuid().ToString('n'))
            $null = New-Item -ItemType Directory (Join-Path $dir 'docs')
            foreach ($k in $Files.Keys) { [IO.File]::WriteAllText((Join-Path $dir "docs/$k"), $Files[$k]) }
            & $converter -DocsPath (Join-Path $dir 'docs') -OutputPath (Join-Path $dir 'out') 6>$null
            return Join-Path $dir 'out'
        }

        # The converter's error for a page, as text ('' when it succeeded).
        function Get-ConverterError([hashtable] $Files) {
            try { $null = Invoke-Converter $Files; return '' } catch { return $_.Exception.Message }
        }

        function Edit-Page([string] $Find, [string] $Replace) {
            $i = $goodPage.IndexOf($Find)
            if ($i -lt 0) { throw "test setup: '$Find' is not in the page" }
            return $goodPage.Substring(0, $i) + $Replace + $goodPage.Substring($i + $Find.Length)
        }

        # 1-based line of the first occurrence of a text in a page.
        function Get-LineOf([string] $Text, [string] $Find) { ($Text.Substring(0, $Text.IndexOf($Find)) -split "`n").Count }
    }

    It 'writes MAML with a syntax item per parameter set, parameter attributes, examples and links' {
        $out = Invoke-Converter @{ 'Get-Thing.md' = $goodPage; 'about_Test.md' = $goodAbout }
        [xml] $xml = Get-Content -Raw (Join-Path $out 'Test.dll-Help.xml')
        $ns = [Xml.XmlNamespaceManager]::new($xml.NameTable)
        $ns.AddNamespace('command', 'http://schemas.microsoft.com/maml/dev/command/2004/10')
        $ns.AddNamespace('maml', 'http://schemas.microsoft.com/maml/2004/10')
        $ns.AddNamespace('dev', 'http://schemas.microsoft.com/maml/dev/2004/10')
        $cmd = $xml.SelectSingleNode('//command:command', $ns)
        $cmd.SelectSingleNode('command:details/command:name', $ns).InnerText | Should -Be 'Get-Thing'
        $cmd.SelectSingleNode('command:details/maml:description/maml:para', $ns).InnerText | Should -Be 'Gets things.'
        @($cmd.SelectNodes('maml:description/maml:para', $ns).InnerText) | Should -Be @('Gets things by name or id.', 'Second paragraph.')
        $items = $cmd.SelectNodes('command:syntax/command:syntaxItem', $ns)
        $items.Count | Should -Be 2
        @($items[0].SelectNodes('command:parameter/maml:name', $ns).InnerText) | Should -Be @('Name', 'Mode', 'Force', 'WhatIf')
        @($items[1].SelectNodes('command:parameter/maml:name', $ns).InnerText) | Should -Be @('Id', 'Force', 'WhatIf')
        $name = $cmd.SelectSingleNode("command:parameters/command:parameter[maml:name='Name']", $ns)
        $name.required | Should -Be 'true'
        $name.position | Should -Be '0'
        $name.globbing | Should -Be 'true'
        $name.pipelineInput | Should -Be 'True (ByValue)'
        $name.aliases | Should -Be 'N'
        $mode = $cmd.SelectSingleNode("command:parameters/command:parameter[maml:name='Mode']", $ns)
        @($mode.SelectNodes('command:parameterValueGroup/command:parameterValue', $ns).InnerText) | Should -Be @('Fast', 'Slow')
        $mode.SelectSingleNode('dev:defaultValue', $ns).InnerText | Should -Be 'Fast'
        # A switch shows no value in the syntax.
        $items[0].SelectSingleNode("command:parameter[maml:name='Force']/command:parameterValue", $ns) | Should -BeNullOrEmpty
        $cmd.SelectSingleNode('command:examples/command:example/dev:code', $ns).InnerText | Should -Be 'Get-Thing -Name a'
        $cmd.SelectSingleNode('command:examples/command:example/maml:title', $ns).InnerText | Should -Match 'Example 1: Get one thing'
        $cmd.SelectSingleNode('command:returnValues/command:returnValue/dev:type/maml:name', $ns).InnerText | Should -Be 'Test.Thing'
        $cmd.SelectSingleNode('command:inputTypes/command:inputType/dev:type/maml:name', $ns).InnerText | Should -Be 'System.String'
        @($cmd.SelectNodes('command:relatedLinks/maml:navigationLink/maml:uri', $ns).InnerText) | Should -Be @('https://example.org/Get-Thing', '')
        $about = Get-Content -Raw (Join-Path $out 'about_Test.help.txt')
        $about | Should -Match '^TOPIC\n    about_Test\n\nSHORT DESCRIPTION\n    A test topic\.'
        ($about -split "`n" | Measure-Object -Property Length -Maximum).Maximum | Should -BeLessOrEqual 80
    }

    It 'writes the same bytes every time' {
        $a = Invoke-Converter @{ 'Get-Thing.md' = $goodPage; 'about_Test.md' = $goodAbout }
        $b = Invoke-Converter @{ 'about_Test.md' = $goodAbout; 'Get-Thing.md' = $goodPage }
        (Get-FileHash (Join-Path $a 'Test.dll-Help.xml')).Hash | Should -Be (Get-FileHash (Join-Path $b 'Test.dll-Help.xml')).Hash
        (Get-FileHash (Join-Path $a 'about_Test.help.txt')).Hash | Should -Be (Get-FileHash (Join-Path $b 'about_Test.help.txt')).Hash
    }

    It 'names the file and line of a missing SYNOPSIS' {
        $page = Edit-Page "## SYNOPSIS`nGets things.`n`n" ''
        $line = Get-LineOf $page '## SYNTAX'
        Get-ConverterError @{ 'Get-Thing.md' = $page } | Should -BeLike "*Get-Thing.md:${line}: the page has no '## SYNOPSIS' section.*"
    }

    It 'names the file and line of a parameter without a yaml block' {
        $page = Edit-Page "### -Id`nThe id.`n`n``````yaml" "### -Id`nThe id.`n`n``````text"
        $line = Get-LineOf $page '### -Id'
        Get-ConverterError @{ 'Get-Thing.md' = $page } | Should -Match ([regex]::Escape("Get-Thing.md:${line}: parameter -Id has no ``````yaml block"))
    }

    It 'rejects a yaml block without a required key' {
        $page = Edit-Page "Required: True`nPosition: 0" 'Position: 0'
        Get-ConverterError @{ 'Get-Thing.md' = $page } | Should -BeLike "*Get-Thing.md:*: the yaml block of -Name has no 'Required'.*"
    }

    It 'rejects a parameter that is in the syntax but not documented' {
        $page = Edit-Page '[-Mode <String>]' '[-Mode <String>] [-Colour <String>]'
        Get-ConverterError @{ 'Get-Thing.md' = $page } | Should -BeLike "*Get-Thing.md:*: the syntax of 'ByName' names -Colour, which '## PARAMETERS' does not document.*"
    }

    It 'rejects an unfilled PlatyPS placeholder' {
        $page = Edit-Page 'Gets the thing called a.' '{{ Add example description here }}'
        $line = Get-LineOf $page '{{ Add'
        Get-ConverterError @{ 'Get-Thing.md' = $page } | Should -BeLike "*Get-Thing.md:${line}: template placeholder*"
    }

    It 'rejects an example without code and a code block that is never closed' {
        Get-ConverterError @{ 'Get-Thing.md' = (Edit-Page "``````powershell`nGet-Thing -Name a`n```````n" '') } |
            Should -BeLike "*Get-Thing.md:*: example 'Example 1: Get one thing' has no code block.*"
        $page = $goodPage.TrimEnd() + "`n`n``````powershell`nnever closed`n"
        $line = Get-LineOf $page "``````powershell`nnever"
        Get-ConverterError @{ 'Get-Thing.md' = $page } | Should -BeLike "*Get-Thing.md:${line}: the code block opened here is never closed*"
    }

    It 'rejects a title that does not match the file name' {
        Get-ConverterError @{ 'Get-Other.md' = $goodPage } | Should -BeLike "*Get-Other.md:*: the title '# Get-Thing' does not match the file name 'Get-Other'.*"
    }

    It 'rejects an about topic without a SHORT DESCRIPTION' {
        $about = $goodAbout.Replace("## SHORT DESCRIPTION`nA test topic.`n`n", '')
        Get-ConverterError @{ 'Get-Thing.md' = $goodPage; 'about_Test.md' = $about } | Should -BeLike "*about_Test.md:1: the about topic has no '## SHORT DESCRIPTION' section.*"
    }

    It 'reports the problems of every page before failing' {
        $bad1 = Edit-Page "## SYNOPSIS`nGets things.`n`n" ''
        $message = Get-ConverterError @{ 'Get-Thing.md' = $bad1; 'Get-Other.md' = $goodPage }
        $message | Should -BeLike '*Get-Other.md:*'
        $message | Should -BeLike '*Get-Thing.md:*'
    }
}

# Every example of every page runs as written, in a fresh copy of samples/digits (whose files the examples use), twice:
# the second run proves it re-runnable (-Force where it writes). Output must have the shape the page shows: the same
# list labels and table columns in the same order (values differ by machine).
Describe 'Help example <Page>: <Title>' -ForEach @(& {
        Import-Module (Join-Path $PSScriptRoot 'HelpExamples.psm1') -Force
        Get-PotHelpExample -DocsPath (Join-Path $PSScriptRoot '../../docs/en-US')
    }) {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'HelpExamples.psm1') -Force
        $example = $_
    }

    It 'runs twice in a copy of the sample folder, printing what the page shows' {
        $example.Code.Trim() | Should -Not -BeNullOrEmpty -Because 'an example has a ```powershell block'
        $folder = Join-Path $TestDrive ([guid]::NewGuid().ToString('n'))
        Copy-Item -LiteralPath (Get-PotSamplePath) -Destination $folder -Recurse
        Push-Location -LiteralPath $folder
        try {
            $first = Invoke-PotExample $example.Code
            $second = Invoke-PotExample $example.Code
        }
        finally { Pop-Location }
        if ($example.Output.Trim()) {
            (Get-PotOutputShape $first) -join ' | ' | Should -Be ((Get-PotOutputShape $example.Output) -join ' | ')
        }
        (Get-PotOutputShape $second) -join ' | ' | Should -Be ((Get-PotOutputShape $first) -join ' | ')
    }
}

Describe 'Examples of <_>' -ForEach @(Get-ChildItem (Join-Path $PSScriptRoot '../../docs/en-US') -Filter '*-*.md' | ForEach-Object BaseName | Sort-Object) {
    It 'are numbered 1, 2, 3... once each' {
        $page = $_
        Import-Module (Join-Path $PSScriptRoot 'HelpExamples.psm1') -Force
        $titles = @(Get-PotHelpExample -DocsPath (Join-Path $PSScriptRoot '../../docs/en-US') | Where-Object { $_.Page -eq $page } | ForEach-Object { $_.Title })
        @($titles | ForEach-Object { [int]([regex]::Match($_, '^Example (\d+):').Groups[1].Value) }) | Should -Be @(1..$titles.Count)
    }
}
