<#
.SYNOPSIS
    Turns PlatyPS-format markdown (docs/en-US) into PowerShell help: a MAML file for the cmdlets and
    about_*.help.txt files for the about topics.
.DESCRIPTION
    PlatyPS cannot be installed on the build machines, so this script reads the same markdown that PlatyPS
    (schema 2.0.0) reads and writes what New-ExternalHelp would write:

      <Cmdlet>.md   -> one command:command element in the MAML file named by the page's 'external help file'
                       front-matter key (PotPowerShell.dll-Help.xml)
      about_*.md    -> about_*.help.txt (plain text, the format Get-Help about_* prints)

    A malformed page stops the build with 'ConvertTo-MamlHelp: <file>:<line>: <what is wrong>'; every problem in
    every page is reported before the script fails. The output is deterministic: pages in ordinal name order, LF
    line endings, UTF-8 without BOM, no time stamps.
.PARAMETER DocsPath
    The folder with the markdown pages (docs/en-US).
.PARAMETER OutputPath
    The folder the help files are written to (out/PotPowerShell/en-US). It is created when missing.
.PARAMETER PassThru
    Also returns the parsed cmdlet pages (name, synopsis, parameter sets, parameters with their yaml blocks);
    the help tests compare them with the real cmdlets.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string] $DocsPath,
    [Parameter(Mandatory)][string] $OutputPath,
    [switch] $PassThru
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$script:MamlNs = 'http://schemas.microsoft.com/maml/2004/10'
$script:CommandNs = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$script:DevNs = 'http://schemas.microsoft.com/maml/dev/2004/10'
$script:MsHelpNs = 'http://msdn.microsoft.com/mshelp'
$script:Utf8 = [Text.UTF8Encoding]::new($false)

# The sections of a cmdlet page, in PlatyPS order; the first five are required.
$script:CmdletSections = @('SYNOPSIS', 'SYNTAX', 'DESCRIPTION', 'EXAMPLES', 'PARAMETERS', 'INPUTS', 'OUTPUTS', 'NOTES', 'RELATED LINKS')
$script:RequiredCmdletSections = @('SYNOPSIS', 'SYNTAX', 'DESCRIPTION', 'EXAMPLES', 'PARAMETERS')
# The keys of a parameter's yaml block; the first six are required (PlatyPS always writes them).
$script:YamlKeys = @('Type', 'Parameter Sets', 'Required', 'Position', 'Accept pipeline input', 'Accept wildcard characters',
    'Aliases', 'Accepted values', 'Default value', 'Dynamic')
$script:RequiredYamlKeys = $script:YamlKeys[0..5]

#region Errors

# Every problem is a DocsError carrying file and line; the main loop collects them and fails once at the end.
class DocsError : Exception {
    DocsError([string] $file, [int] $line, [string] $message) : base("ConvertTo-MamlHelp: ${file}:${line}: $message") {}
}

function Fail([string] $File, [int] $Line, [string] $Message) {
    throw [DocsError]::new($File, $Line, $Message)
}

#endregion

#region Markdown reading

# A source line with its 1-based number, so every error can point at the page.
function Read-Lines([string] $Path) {
    $text = [IO.File]::ReadAllText($Path, $script:Utf8).TrimStart([char]0xFEFF)
    $raw = $text -split "`r?`n"
    $lines = [Collections.Generic.List[object]]::new()
    for ($i = 0; $i -lt $raw.Count; $i++) { $lines.Add([pscustomobject]@{ No = $i + 1; Text = $raw[$i].TrimEnd() }) }
    return , $lines
}

# Splits off the front matter (--- key: value ---); returns the keys and the index of the first body line.
function Read-FrontMatter($Lines, [string] $File, [bool] $Required) {
    $keys = [ordered]@{}
    if ($Lines.Count -eq 0 -or $Lines[0].Text -ne '---') {
        if ($Required) { Fail $File 1 "the page must start with front matter ('---', 'external help file: ...', 'Module Name: ...', 'schema: 2.0.0', '---')." }
        return @{ Keys = $keys; Next = 0 }
    }
    for ($i = 1; $i -lt $Lines.Count; $i++) {
        $t = $Lines[$i].Text
        if ($t -eq '---') { return @{ Keys = $keys; Next = $i + 1 } }
        if ($t -match '^\s*$') { continue }
        if ($t -notmatch '^([^:]+):\s*(.*)$') { Fail $File $Lines[$i].No "front matter line '$t' is not 'key: value'." }
        $keys[$Matches[1].Trim()] = $Matches[2].Trim()
    }
    Fail $File 1 "the front matter opened on line 1 is never closed with '---'."
}

# Groups lines into blocks: Code (fenced), Yaml (fenced yaml), List, Table and Para. Headings are not expected here.
function Get-Blocks($Lines, [string] $File) {
    $blocks = [Collections.Generic.List[object]]::new()
    $i = 0
    while ($i -lt $Lines.Count) {
        $line = $Lines[$i]
        $t = $line.Text
        if ($t -match '^\s*$') { $i++; continue }
        if ($t -match '^\s*(```+|~~~+)\s*([\w+-]*)\s*$') {
            $fence = $Matches[1]; $lang = $Matches[2]
            $body = [Collections.Generic.List[string]]::new()
            $j = $i + 1
            while ($j -lt $Lines.Count -and $Lines[$j].Text.Trim() -ne $fence) { $body.Add($Lines[$j].Text); $j++ }
            if ($j -ge $Lines.Count) { Fail $File $line.No "the code block opened here is never closed with '$fence'." }
            $kind = if ($lang -eq 'yaml') { 'Yaml' } else { 'Code' }
            $blocks.Add([pscustomobject]@{ Kind = $kind; Line = $line.No; Lines = $body.ToArray(); Lang = $lang })
            $i = $j + 1
            continue
        }
        $kind = if ($t -match '^\s*([-*+]|\d+[.)])\s') { 'List' } elseif ($t -match '^\s*\|') { 'Table' } else { 'Para' }
        $body = [Collections.Generic.List[string]]::new()
        $j = $i
        while ($j -lt $Lines.Count -and $Lines[$j].Text -notmatch '^\s*$' -and $Lines[$j].Text -notmatch '^\s*(```|~~~)') {
            $body.Add($Lines[$j].Text); $j++
        }
        $blocks.Add([pscustomobject]@{ Kind = $kind; Line = $line.No; Lines = $body.ToArray(); Lang = '' })
        $i = $j
    }
    return $blocks.ToArray()
}

# Markdown inline syntax that reads badly in a console: links become 'text (url)', emphasis markers go.
function ConvertFrom-Inline([string] $Text) {
    $t = [regex]::Replace($Text, '\[([^\]]+)\]\(([^)\s]*)\)', { param($m) if ($m.Groups[2].Value -eq '' -or $m.Groups[2].Value -eq $m.Groups[1].Value) { $m.Groups[1].Value } else { "$($m.Groups[1].Value) ($($m.Groups[2].Value))" } })
    $t = $t -replace '\*\*([^*]+)\*\*', '$1' -replace '(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])', '$1'
    return ($t -replace '\\([\\`*_{}\[\]()#+\-.!<>|])', '$1')
}

# The items of a markdown list, one string each: a line starting with a marker starts an item (nested items keep
# their indentation), other lines continue the item above.
function Join-ListItems([string[]] $Lines) {
    $items = [Collections.Generic.List[string]]::new()
    foreach ($l in $Lines) {
        if ($l -match '^\s*([-*+]|\d+[.)])\s' -or $items.Count -eq 0) { $items.Add($l.TrimEnd()) }
        else { $items[$items.Count - 1] += ' ' + $l.Trim() }
    }
    return $items.ToArray()
}

# One paragraph string per block: prose is unwrapped onto one line (Get-Help wraps it to the console), each list item
# becomes one line, tables and code keep their lines.
function ConvertTo-Paragraphs($Blocks) {
    foreach ($b in $Blocks) {
        switch ($b.Kind) {
            'Para' { ConvertFrom-Inline (($b.Lines | ForEach-Object { $_.Trim() }) -join ' ') }
            'Code' { ($b.Lines -join "`n") }
            'List' { (Join-ListItems $b.Lines | ForEach-Object { ConvertFrom-Inline $_ }) -join "`n" }
            default { ConvertFrom-Inline (($b.Lines | ForEach-Object { $_.TrimEnd() }) -join "`n") }
        }
    }
}

# Checks the whole page before it is split into sections: every code fence is closed, and no PlatyPS template text
# ({{ Fill ... }}) was left in.
function Assert-PageText($Lines, [string] $File) {
    $openedAt = $null
    foreach ($l in $Lines) {
        if ($l.Text -match '^\s*(```|~~~)') { $openedAt = if ($null -eq $openedAt) { $l } else { $null }; continue }
        if ($null -eq $openedAt -and $l.Text -match '\{\{.*\}\}') { Fail $File $l.No "template placeholder '$($Matches[0])' was never filled in." }
    }
    if ($null -ne $openedAt) { Fail $File $openedAt.No "the code block opened here is never closed." }
}

# Splits lines at headings of one level (outside code fences). Returns the text before the first heading
# ('Lead') and one entry per heading with its title, line number and the lines under it.
function Split-Headings($Lines, [int] $Level) {
    $prefix = '#' * $Level
    $lead = [Collections.Generic.List[object]]::new()
    $parts = [Collections.Generic.List[object]]::new()
    $current = $null
    $inCode = $false
    foreach ($l in $Lines) {
        if ($l.Text -match '^\s*(```|~~~)') { $inCode = -not $inCode }
        if (-not $inCode -and $l.Text -match "^$prefix\s+(.+?)\s*#*\s*$" -and $l.Text -notmatch "^$prefix#") {
            $current = [pscustomobject]@{ Title = $Matches[1].Trim(); Line = $l.No; Lines = [Collections.Generic.List[object]]::new() }
            $parts.Add($current)
            continue
        }
        if ($null -eq $current) { $lead.Add($l) } else { $current.Lines.Add($l) }
    }
    return [pscustomobject]@{ Lead = $lead; Parts = $parts }
}

function Test-Blank($Lines) { return -not ($Lines | Where-Object { $_.Text -notmatch '^\s*$' }) }

#endregion

#region Cmdlet pages

function Read-Bool([string] $Value, [string] $Key, [string] $File, [int] $Line) {
    switch -Regex ($Value) {
        '^(?i)true$' { return $true }
        '^(?i)false$' { return $false }
    }
    Fail $File $Line "'${Key}: $Value' must be True or False."
}

# One ```yaml block of a parameter: PlatyPS writes one per group of parameter sets with the same attributes.
function Read-ParameterYaml($Block, [string] $Param, [string] $File) {
    $values = @{}
    $n = $Block.Line
    foreach ($t in $Block.Lines) {
        $n++
        if ($t -match '^\s*$') { continue }
        if ($t -notmatch '^([^:]+):\s*(.*)$') { Fail $File $n "yaml line '$t' of parameter -$Param is not 'Key: value'." }
        $key = $Matches[1].Trim(); $value = $Matches[2].Trim()
        if ($key -notin $script:YamlKeys) { Fail $File $n "unknown key '$key' in the yaml block of -$Param (expected one of: $($script:YamlKeys -join ', '))." }
        if ($values.ContainsKey($key)) { Fail $File $n "key '$key' appears twice in the yaml block of -$Param." }
        $values[$key] = $value
    }
    foreach ($key in $script:RequiredYamlKeys) {
        if (-not $values.ContainsKey($key) -or $values[$key] -eq '') { Fail $File $Block.Line "the yaml block of -$Param has no '$key'." }
    }
    $position = $values['Position']
    if ($position -notmatch '^(\d+|(?i)named)$') { Fail $File $Block.Line "'Position: $position' of -$Param must be a number or Named." }
    $pipeline = $values['Accept pipeline input']
    if ($pipeline -notmatch '^(?i)(false|true\s*\(\s*(ByValue|ByPropertyName)(\s*,\s*(ByValue|ByPropertyName))?\s*\))$') {
        Fail $File $Block.Line "'Accept pipeline input: $pipeline' of -$Param must be False or True (ByValue), True (ByPropertyName) or True (ByPropertyName, ByValue)."
    }
    $sets = @($values['Parameter Sets'] -split ',' | ForEach-Object { $_.Trim() } | Where-Object { $_ })
    $aliases = @(if ($values['Aliases'] -and $values['Aliases'] -ne 'None') { $values['Aliases'] -split ',' | ForEach-Object { $_.Trim() } | Where-Object { $_ } })
    $accepted = @(if ($values['Accepted values']) { $values['Accepted values'] -split ',' | ForEach-Object { $_.Trim() } | Where-Object { $_ } })
    return [pscustomobject]@{
        Line                   = $Block.Line
        Type                   = $values['Type']
        ParameterSets          = $sets
        Aliases                = [string[]] $aliases
        AcceptedValues         = [string[]] $accepted
        Required               = Read-Bool $values['Required'] 'Required' $File $Block.Line
        Position               = if ($position -match '^\d+$') { $position } else { 'Named' }
        DefaultValue           = if ($values['Default value']) { $values['Default value'] } else { 'None' }
        PipelineByValue        = $pipeline -match 'ByValue'
        PipelineByPropertyName = $pipeline -match 'ByPropertyName'
        Globbing               = Read-Bool $values['Accept wildcard characters'] 'Accept wildcard characters' $File $Block.Line
    }
}

function Read-Parameter($Part, [string] $File) {
    if ($Part.Title -notmatch '^-(\w+)$') { Fail $File $Part.Line "parameter heading '### $($Part.Title)' must be '### -Name'." }
    $name = $Matches[1]
    $blocks = @(Get-Blocks $Part.Lines $File)
    $description = [Collections.Generic.List[object]]::new()
    $yaml = [Collections.Generic.List[object]]::new()
    foreach ($b in $blocks) {
        if ($b.Kind -eq 'Yaml') { $yaml.Add((Read-ParameterYaml $b $name $File)); continue }
        if ($yaml.Count -gt 0) { Fail $File $b.Line "text after the yaml block of -${name}: the description goes between '### -$name' and the yaml block." }
        $description.Add($b)
    }
    if ($yaml.Count -eq 0) { Fail $File $Part.Line "parameter -$name has no ``````yaml block (Type, Parameter Sets, Aliases, Required, Position, Default value, Accept pipeline input, Accept wildcard characters)." }
    if ($description.Count -eq 0) { Fail $File $Part.Line "parameter -$name has no description." }
    $seen = @{}
    foreach ($y in $yaml) {
        foreach ($s in $y.ParameterSets) {
            if ($seen.ContainsKey($s)) { Fail $File $y.Line "parameter set '$s' of -$name is described by two yaml blocks." }
            $seen[$s] = $true
        }
    }
    $types = @($yaml | ForEach-Object Type | Select-Object -Unique)
    if ($types.Count -gt 1) { Fail $File $yaml[1].Line "the yaml blocks of -$name give different types ($($types -join ', '))." }
    return [pscustomobject]@{
        Name        = $name
        Line        = $Part.Line
        Description = @(ConvertTo-Paragraphs $description)
        Type        = $types[0]
        Aliases     = $yaml[0].Aliases
        Blocks      = $yaml.ToArray()
    }
}

# The yaml block that describes a parameter in one parameter set, or $null when the parameter is not in it.
function Get-BlockForSet($Parameter, [string] $Set) {
    foreach ($b in $Parameter.Blocks) { if ($b.ParameterSets -contains $Set) { return $b } }
    foreach ($b in $Parameter.Blocks) { if ($b.ParameterSets -contains '(All)') { return $b } }
    return $null
}

# The '##' sections of a page by upper-case title; unknown, repeated or missing required sections are errors.
function Read-Sections($Title, [string] $File) {
    $sections = @{}
    $split = Split-Headings $Title.Lines 2
    if (-not (Test-Blank $split.Lead)) { Fail $File $split.Lead[0].No "text before '## SYNOPSIS': every part of a page belongs to a '##' section." }
    foreach ($s in $split.Parts) {
        $key = $s.Title.ToUpperInvariant()
        if ($key -notin $script:CmdletSections) { Fail $File $s.Line "unknown section '## $($s.Title)' (expected: $($script:CmdletSections -join ', '))." }
        if ($sections.ContainsKey($key)) { Fail $File $s.Line "section '## $key' appears twice." }
        $sections[$key] = $s
    }
    foreach ($key in $script:RequiredCmdletSections) {
        if ($sections.ContainsKey($key)) { continue }
        # Point at the section that should have followed it.
        $after = $split.Parts | Where-Object { $script:CmdletSections.IndexOf($_.Title.ToUpperInvariant()) -gt $script:CmdletSections.IndexOf($key) } | Select-Object -First 1
        Fail $File $(if ($after) { $after.Line } else { $Title.Line }) "the page has no '## $key' section."
    }
    return $sections
}

# SYNTAX: '### <SetName>' or '### <SetName> (Default)', each with one code block whose -Name tokens give the order
# of the parameters in that set's syntax line.
function Read-SyntaxSets($Section, [string] $File) {
    $syntax = Split-Headings $Section.Lines 3
    if ($syntax.Parts.Count -eq 0) { Fail $File $Section.Line "'## SYNTAX' has no '### <ParameterSetName>' block." }
    $sets = foreach ($p in $syntax.Parts) {
        if ($p.Title -notmatch '^(\S+?)(\s+\(Default\))?$') { Fail $File $p.Line "syntax heading '### $($p.Title)' must be '### <ParameterSetName>' or '### <ParameterSetName> (Default)'." }
        $setName = $Matches[1]; $isDefault = [bool]$Matches[2]
        $code = @(@(Get-Blocks $p.Lines $File) | Where-Object Kind -eq 'Code')
        if ($code.Count -ne 1) { Fail $File $p.Line "syntax block '### $setName' needs exactly one code block with the syntax line." }
        $order = @([regex]::Matches(($code[0].Lines -join ' '), '(?<![\w-])-(\w+)') | ForEach-Object { $_.Groups[1].Value } | Where-Object { $_ -ne 'CommonParameters' })
        [pscustomobject]@{ Name = $setName; IsDefault = $isDefault; Line = $p.Line; Order = $order }
    }
    $sets = @($sets)
    $dupSet = $sets | Group-Object Name | Where-Object Count -gt 1 | Select-Object -First 1
    if ($dupSet) { Fail $File $Section.Line "parameter set '$($dupSet.Name)' appears twice in '## SYNTAX'." }
    return $sets
}

# The syntax lines and the yaml 'Parameter Sets' must tell the same story, or Get-Help would show a syntax that
# contradicts the parameter descriptions.
function Assert-SyntaxMatchesParameters($Sets, $Parameters, [string] $File) {
    $setNames = @($Sets | ForEach-Object Name)
    foreach ($param in $Parameters) {
        foreach ($b in $param.Blocks) {
            foreach ($s in $b.ParameterSets) {
                if ($s -ne '(All)' -and $s -notin $setNames) { Fail $File $b.Line "-$($param.Name) names parameter set '$s', which '## SYNTAX' does not have ($($setNames -join ', '))." }
            }
        }
    }
    foreach ($set in $Sets) {
        foreach ($n in $set.Order) {
            $param = $Parameters | Where-Object Name -eq $n
            if (-not $param) { Fail $File $set.Line "the syntax of '$($set.Name)' names -$n, which '## PARAMETERS' does not document." }
            if (-not (Get-BlockForSet $param $set.Name)) { Fail $File $set.Line "the syntax of '$($set.Name)' names -$n, but its yaml 'Parameter Sets' do not include '$($set.Name)'." }
        }
        foreach ($param in $Parameters) {
            if ((Get-BlockForSet $param $set.Name) -and $param.Name -notin $set.Order) {
                Fail $File $set.Line "-$($param.Name) belongs to parameter set '$($set.Name)' but is missing from its syntax block."
            }
        }
    }
}

# PARAMETERS: '### -Name' entries; '### CommonParameters' is PlatyPS's fixed note and carries nothing.
function Read-Parameters($Section, [string] $File) {
    $parameters = [Collections.Generic.List[object]]::new()
    foreach ($p in (Split-Headings $Section.Lines 3).Parts) {
        if ($p.Title -eq 'CommonParameters') { continue }
        $param = Read-Parameter $p $File
        if ($parameters | Where-Object Name -eq $param.Name) { Fail $File $p.Line "parameter -$($param.Name) is documented twice." }
        $parameters.Add($param)
    }
    return $parameters.ToArray()
}

# EXAMPLES: '### Example N: title', code block(s) (joined into the example's code), then remarks.
function Read-Examples($Section, [string] $File) {
    $parts = (Split-Headings $Section.Lines 3).Parts
    if ($parts.Count -eq 0) { Fail $File $Section.Line "'## EXAMPLES' has no '### Example 1: <title>'." }
    foreach ($e in $parts) {
        $blocks = @(Get-Blocks $e.Lines $File)
        $code = @($blocks | Where-Object Kind -eq 'Code')
        if ($code.Count -eq 0) { Fail $File $e.Line "example '$($e.Title)' has no code block." }
        [pscustomobject]@{
            Title   = $e.Title
            Code    = ($code | ForEach-Object { $_.Lines -join "`n" }) -join "`n`n"
            Remarks = @(ConvertTo-Paragraphs @($blocks | Where-Object Kind -ne 'Code'))
        }
    }
}

# INPUTS / OUTPUTS: '### TypeName' followed by a description.
function Read-TypeSection($Section, [string] $File) {
    if ($null -eq $Section) { return }
    $ts = Split-Headings $Section.Lines 3
    if (-not (Test-Blank $ts.Lead)) { Fail $File $Section.Line "'## $($Section.Title)' lists types as '### TypeName' followed by a description." }
    foreach ($t in $ts.Parts) { [pscustomobject]@{ Type = $t.Title; Description = @(ConvertTo-Paragraphs (Get-Blocks $t.Lines $File)) } }
}

# RELATED LINKS: '[text](uri)' lines; the online version from the front matter comes first (Get-Help -Online uses it).
function Read-RelatedLinks($Section, [string] $OnlineVersion, [string] $File) {
    if ($OnlineVersion) { [pscustomobject]@{ Text = 'Online Version:'; Uri = $OnlineVersion } }
    if ($null -eq $Section) { return }
    foreach ($l in $Section.Lines) {
        $t = $l.Text.Trim() -replace '^[-*+]\s+', ''
        if (-not $t) { continue }
        if ($t -notmatch '^\[([^\]]+)\]\(([^)]*)\)$') { Fail $File $l.No "related link '$t' must be '[text](uri)' (the uri may be empty)." }
        [pscustomobject]@{ Text = $Matches[1]; Uri = $Matches[2] }
    }
}

function Read-CmdletPage([string] $Path) {
    $file = Split-Path -Leaf $Path
    $lines = Read-Lines $Path
    $front = Read-FrontMatter $lines $file $true
    foreach ($key in 'external help file', 'Module Name', 'schema') {
        if (-not $front.Keys.Contains($key) -or -not $front.Keys[$key]) { Fail $file 1 "the front matter has no '$key'." }
    }
    if ($front.Keys['schema'] -ne '2.0.0') { Fail $file 1 "'schema: $($front.Keys['schema'])' is not supported; PlatyPS schema 2.0.0 is." }
    $body = @($lines | Select-Object -Skip $front.Next)
    Assert-PageText $body $file

    $top = Split-Headings $body 1
    if ($top.Parts.Count -ne 1) {
        $at = if ($top.Parts.Count -gt 1) { $top.Parts[1].Line } else { $front.Next + 1 }
        Fail $file $at "a cmdlet page has exactly one '# <Cmdlet-Name>' title."
    }
    $title = $top.Parts[0]
    $name = $title.Title
    $expected = [IO.Path]::GetFileNameWithoutExtension($file)
    if ($name -ne $expected) { Fail $file $title.Line "the title '# $name' does not match the file name '$expected'." }
    if ($name -notmatch '^(\w+)-(\w+)$') { Fail $file $title.Line "'$name' is not a Verb-Noun cmdlet name." }
    $verb = $Matches[1]; $noun = $Matches[2]

    $sections = Read-Sections $title $file
    $synopsis = @(ConvertTo-Paragraphs (Get-Blocks $sections['SYNOPSIS'].Lines $file)) -join ' '
    if (-not $synopsis.Trim()) { Fail $file $sections['SYNOPSIS'].Line "'## SYNOPSIS' is empty." }
    $description = @(ConvertTo-Paragraphs (Get-Blocks $sections['DESCRIPTION'].Lines $file))
    if ($description.Count -eq 0) { Fail $file $sections['DESCRIPTION'].Line "'## DESCRIPTION' is empty." }
    $sets = Read-SyntaxSets $sections['SYNTAX'] $file
    $parameters = @(Read-Parameters $sections['PARAMETERS'] $file)
    Assert-SyntaxMatchesParameters $sets $parameters $file

    return [pscustomobject]@{
        Name          = $name
        Verb          = $verb
        Noun          = $noun
        File          = $file
        HelpFile      = $front.Keys['external help file']
        Synopsis      = $synopsis
        Description   = $description
        ParameterSets = $sets
        Parameters    = $parameters
        Examples      = @(Read-Examples $sections['EXAMPLES'] $file)
        Inputs        = @(Read-TypeSection $sections['INPUTS'] $file)
        Outputs       = @(Read-TypeSection $sections['OUTPUTS'] $file)
        Notes         = @(if ($sections.ContainsKey('NOTES')) { ConvertTo-Paragraphs (Get-Blocks $sections['NOTES'].Lines $file) })
        Links         = @(Read-RelatedLinks $sections['RELATED LINKS'] $front.Keys['online version'] $file)
    }
}

#endregion

#region MAML writing

function Write-Paras([Xml.XmlWriter] $W, [string[]] $Paragraphs) {
    $W.WriteStartElement('maml', 'description', $script:MamlNs)
    if (-not $Paragraphs -or $Paragraphs.Count -eq 0) { $W.WriteElementString('maml', 'para', $script:MamlNs, '') }
    foreach ($p in $Paragraphs) { $W.WriteElementString('maml', 'para', $script:MamlNs, $p) }
    $W.WriteEndElement()
}

function Write-Parameter([Xml.XmlWriter] $W, $Parameter, $Block, [bool] $ForSyntax) {
    $isSwitch = $Parameter.Type -match '^(System\.Management\.Automation\.)?SwitchParameter$'
    $W.WriteStartElement('command', 'parameter', $script:CommandNs)
    $W.WriteAttributeString('required', $Block.Required.ToString().ToLowerInvariant())
    $W.WriteAttributeString('variableLength', ($Parameter.Type -match '\[\]$').ToString().ToLowerInvariant())
    $W.WriteAttributeString('globbing', $Block.Globbing.ToString().ToLowerInvariant())
    $pipeline = if ($Block.PipelineByValue -and $Block.PipelineByPropertyName) { 'True (ByPropertyName, ByValue)' }
    elseif ($Block.PipelineByValue) { 'True (ByValue)' } elseif ($Block.PipelineByPropertyName) { 'True (ByPropertyName)' } else { 'False' }
    $W.WriteAttributeString('pipelineInput', $pipeline)
    $W.WriteAttributeString('position', $Block.Position.ToLowerInvariant())
    $W.WriteAttributeString('aliases', $(if ($Parameter.Aliases.Count) { $Parameter.Aliases -join ', ' } else { 'none' }))
    $W.WriteElementString('maml', 'name', $script:MamlNs, $Parameter.Name)
    Write-Paras $W $Parameter.Description
    if ($Block.AcceptedValues.Count -gt 0) {
        $W.WriteStartElement('command', 'parameterValueGroup', $script:CommandNs)
        foreach ($v in $Block.AcceptedValues) {
            $W.WriteStartElement('command', 'parameterValue', $script:CommandNs)
            $W.WriteAttributeString('required', 'false')
            $W.WriteAttributeString('command', 'variableLength', $script:CommandNs, 'false')
            $W.WriteString($v)
            $W.WriteEndElement()
        }
        $W.WriteEndElement()
    }
    # A switch takes no value: the syntax shows [-Force], not [-Force <SwitchParameter>].
    if (-not ($ForSyntax -and $isSwitch)) {
        $W.WriteStartElement('command', 'parameterValue', $script:CommandNs)
        $W.WriteAttributeString('required', (-not $isSwitch).ToString().ToLowerInvariant())
        $W.WriteAttributeString('variableLength', 'false')
        $W.WriteString($Parameter.Type)
        $W.WriteEndElement()
    }
    $W.WriteStartElement('dev', 'type', $script:DevNs)
    $W.WriteElementString('maml', 'name', $script:MamlNs, $Parameter.Type)
    $W.WriteElementString('maml', 'uri', $script:MamlNs, '')
    $W.WriteEndElement()
    $W.WriteElementString('dev', 'defaultValue', $script:DevNs, $Block.DefaultValue)
    $W.WriteEndElement()
}

function Write-TypeList([Xml.XmlWriter] $W, [string] $ListName, [string] $ItemName, $Types) {
    $W.WriteStartElement('command', $ListName, $script:CommandNs)
    foreach ($t in $Types) {
        $W.WriteStartElement('command', $ItemName, $script:CommandNs)
        $W.WriteStartElement('dev', 'type', $script:DevNs)
        $W.WriteElementString('maml', 'name', $script:MamlNs, $t.Type)
        $W.WriteEndElement()
        Write-Paras $W $t.Description
        $W.WriteEndElement()
    }
    $W.WriteEndElement()
}

function Write-Command([Xml.XmlWriter] $W, $Page) {
    $W.WriteStartElement('command', 'command', $script:CommandNs)
    $W.WriteAttributeString('xmlns', 'maml', $null, $script:MamlNs)
    $W.WriteAttributeString('xmlns', 'command', $null, $script:CommandNs)
    $W.WriteAttributeString('xmlns', 'dev', $null, $script:DevNs)
    $W.WriteAttributeString('xmlns', 'MSHelp', $null, $script:MsHelpNs)

    $W.WriteStartElement('command', 'details', $script:CommandNs)
    $W.WriteElementString('command', 'name', $script:CommandNs, $Page.Name)
    $W.WriteElementString('command', 'verb', $script:CommandNs, $Page.Verb)
    $W.WriteElementString('command', 'noun', $script:CommandNs, $Page.Noun)
    Write-Paras $W @($Page.Synopsis)
    $W.WriteEndElement()

    Write-Paras $W $Page.Description

    # One syntax item per parameter set, default set first, parameters in the order of the page's syntax line.
    $W.WriteStartElement('command', 'syntax', $script:CommandNs)
    $orderedSets = @($Page.ParameterSets | Where-Object IsDefault) + @($Page.ParameterSets | Where-Object { -not $_.IsDefault })
    foreach ($set in $orderedSets) {
        $W.WriteStartElement('command', 'syntaxItem', $script:CommandNs)
        $W.WriteElementString('maml', 'name', $script:MamlNs, $Page.Name)
        foreach ($n in $set.Order) {
            $param = $Page.Parameters | Where-Object Name -eq $n
            Write-Parameter $W $param (Get-BlockForSet $param $set.Name) $true
        }
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'parameters', $script:CommandNs)
    foreach ($param in $Page.Parameters) { Write-Parameter $W $param $param.Blocks[0] $false }
    $W.WriteEndElement()

    Write-TypeList $W 'inputTypes' 'inputType' $Page.Inputs
    Write-TypeList $W 'returnValues' 'returnValue' $Page.Outputs

    $W.WriteStartElement('maml', 'alertSet', $script:MamlNs)
    $W.WriteStartElement('maml', 'alert', $script:MamlNs)
    foreach ($p in $Page.Notes) { $W.WriteElementString('maml', 'para', $script:MamlNs, $p) }
    $W.WriteEndElement()
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'examples', $script:CommandNs)
    foreach ($e in $Page.Examples) {
        $W.WriteStartElement('command', 'example', $script:CommandNs)
        # Dashes frame the title as in PowerShell's own help, keeping the line within an 80-column console (4 columns of indent).
        $dashes = '-' * [Math]::Max(3, [Math]::Min(26, [Math]::Floor((70 - $e.Title.Length) / 2)))
        $W.WriteElementString('maml', 'title', $script:MamlNs, "$dashes $($e.Title) $dashes")
        $W.WriteElementString('dev', 'code', $script:DevNs, $e.Code)
        $W.WriteStartElement('dev', 'remarks', $script:DevNs)
        foreach ($p in $e.Remarks) { $W.WriteElementString('maml', 'para', $script:MamlNs, $p) }
        # An empty last paragraph puts a blank line between this example and the next title.
        $W.WriteElementString('maml', 'para', $script:MamlNs, '')
        $W.WriteEndElement()
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteStartElement('command', 'relatedLinks', $script:CommandNs)
    foreach ($l in $Page.Links) {
        $W.WriteStartElement('maml', 'navigationLink', $script:MamlNs)
        $W.WriteElementString('maml', 'linkText', $script:MamlNs, $l.Text)
        $W.WriteElementString('maml', 'uri', $script:MamlNs, $l.Uri)
        $W.WriteEndElement()
    }
    $W.WriteEndElement()

    $W.WriteEndElement()
}

function Write-MamlFile([string] $Path, $Pages) {
    $settings = [Xml.XmlWriterSettings]@{ Indent = $true; IndentChars = '  '; NewLineChars = "`n"; NewLineHandling = 'Replace'; Encoding = $script:Utf8 }
    $stream = [IO.MemoryStream]::new()
    $w = [Xml.XmlWriter]::Create($stream, $settings)
    try {
        $w.WriteStartDocument()
        $w.WriteStartElement('helpItems', 'http://msh')
        $w.WriteAttributeString('schema', 'maml')
        foreach ($page in $Pages) { Write-Command $w $page }
        $w.WriteEndElement()
        $w.WriteEndDocument()
    }
    finally { $w.Dispose() }
    [IO.File]::WriteAllBytes($Path, $stream.ToArray() + [byte[]](10))
}

#endregion

#region About topics

# Wraps prose to the console width, indenting every line (and list continuation lines) as asked.
function Format-Wrapped([string] $Text, [int] $Indent, [int] $HangingIndent = 0, [int] $Width = 80) {
    $out = [Collections.Generic.List[string]]::new()
    $line = ''
    $pad = ' ' * $Indent
    foreach ($word in ($Text -split '\s+' | Where-Object { $_ })) {
        if ($line -and ($pad.Length + $line.Length + 1 + $word.Length) -gt $Width) {
            $out.Add($pad + $line)
            $pad = ' ' * ($Indent + $HangingIndent)
            $line = $word
        }
        else { $line = if ($line) { "$line $word" } else { $word } }
    }
    if ($line) { $out.Add($pad + $line) }
    return $out.ToArray()
}

# A markdown table re-aligned to its widest cells; when that is wider than the console, one record per row
# ('Header: value' lines) instead, so nothing wraps mid-cell.
function Format-AboutTable([string[]] $Lines) {
    $rows = foreach ($l in $Lines) {
        if ($l -match '^\s*\|?(\s*:?-{3,}:?\s*\|?)+\s*$') { continue }
        , @($l.Trim().Trim('|') -split '(?<!\\)\|' | ForEach-Object { ConvertFrom-Inline $_.Trim() })
    }
    $rows = @($rows)
    $header = $rows[0]
    $widths = for ($c = 0; $c -lt $header.Count; $c++) { ($rows | ForEach-Object { if ($c -lt $_.Count) { $_[$c].Length } else { 0 } } | Measure-Object -Maximum).Maximum }
    $total = 4 + ($widths | Measure-Object -Sum).Sum + 2 * ($header.Count - 1)
    if ($total -le 80) {
        for ($r = 0; $r -lt $rows.Count; $r++) {
            $cells = for ($c = 0; $c -lt $header.Count; $c++) { $v = if ($c -lt $rows[$r].Count) { $rows[$r][$c] } else { '' }; $v.PadRight($widths[$c]) }
            ('    ' + ($cells -join '  ')).TrimEnd()
            if ($r -eq 0) { '    ' + (($widths | ForEach-Object { '-' * $_ }) -join '  ') }
        }
        return
    }
    for ($r = 1; $r -lt $rows.Count; $r++) {
        Format-Wrapped "$($header[0]): $($rows[$r][0])" 4 2
        for ($c = 1; $c -lt $header.Count; $c++) {
            if ($c -lt $rows[$r].Count -and $rows[$r][$c]) { Format-Wrapped "$($header[$c]): $($rows[$r][$c])" 6 2 }
        }
        if ($r -lt $rows.Count - 1) { '' }
    }
}

function Format-AboutBlocks($Blocks) {
    foreach ($b in $Blocks) {
        switch ($b.Kind) {
            'Para' { Format-Wrapped (ConvertFrom-Inline (($b.Lines | ForEach-Object { $_.Trim() }) -join ' ')) 4; '' }
            'List' {
                foreach ($item in (Join-ListItems $b.Lines)) {
                    $m = [regex]::Match($item, '^(\s*)([-*+]|\d+[.)])\s+(.*)$')
                    if (-not $m.Success) { Format-Wrapped (ConvertFrom-Inline $item.Trim()) 4; continue }
                    $marker = if ($m.Groups[2].Value -in '-', '*', '+') { '-' } else { $m.Groups[2].Value }
                    $indent = 4 + [Math]::Min(8, $m.Groups[1].Value.Length)
                    Format-Wrapped ("$marker " + (ConvertFrom-Inline $m.Groups[3].Value)) $indent ($marker.Length + 1)
                }
                ''
            }
            'Table' { Format-AboutTable $b.Lines; '' }
            default { $b.Lines | ForEach-Object { if ($_) { '        ' + $_ } else { '' } }; '' }
        }
    }
}

function Convert-AboutPage([string] $Path) {
    $file = Split-Path -Leaf $Path
    $lines = Read-Lines $Path
    $front = Read-FrontMatter $lines $file $false
    $body = @($lines | Select-Object -Skip $front.Next)
    Assert-PageText $body $file
    $top = Split-Headings $body 1
    $expected = [IO.Path]::GetFileNameWithoutExtension($file)
    if ($top.Parts.Count -ne 1 -or $top.Parts[0].Title -ne $expected) {
        Fail $file $(if ($top.Parts.Count) { $top.Parts[0].Line } else { $front.Next + 1 }) "an about topic has exactly one title, '# $expected'."
    }
    $split = Split-Headings $top.Parts[0].Lines 2
    if (-not (Test-Blank $split.Lead)) { Fail $file $split.Lead[0].No "text before '## SHORT DESCRIPTION': every part of an about topic belongs to a '##' section." }
    $titles = @($split.Parts | ForEach-Object { $_.Title.ToUpperInvariant() })
    foreach ($required in 'SHORT DESCRIPTION', 'LONG DESCRIPTION') {
        if ($required -notin $titles) { Fail $file $top.Parts[0].Line "the about topic has no '## $required' section." }
    }
    if ($titles[0] -ne 'SHORT DESCRIPTION') { Fail $file $split.Parts[0].Line "'## SHORT DESCRIPTION' must be the first section (Get-Help shows it as the topic's synopsis)." }

    $out = [Collections.Generic.List[string]]::new()
    $out.Add('TOPIC'); $out.Add("    $expected"); $out.Add('')
    foreach ($s in $split.Parts) {
        $out.Add($s.Title.ToUpperInvariant())
        $sub = Split-Headings $s.Lines 3
        foreach ($l in (Format-AboutBlocks (Get-Blocks $sub.Lead $file))) { $out.Add($l) }
        foreach ($p in $sub.Parts) {
            $out.Add("  $($p.Title)")
            $out.Add("  " + ('-' * $p.Title.Length))
            foreach ($l in (Format-AboutBlocks (Get-Blocks $p.Lines $file))) { $out.Add($l) }
        }
        if ($out[$out.Count - 1] -ne '') { $out.Add('') }
    }
    while ($out.Count -and $out[$out.Count - 1] -eq '') { $out.RemoveAt($out.Count - 1) }
    return [pscustomobject]@{ Name = $expected; Text = ($out -join "`n") + "`n" }
}

#endregion

if (-not (Test-Path -LiteralPath $DocsPath -PathType Container)) { throw "ConvertTo-MamlHelp: the docs folder '$DocsPath' does not exist." }
# Ordinal order, so the output does not depend on the machine's culture.
[string[]] $pageNames = @(Get-ChildItem -LiteralPath $DocsPath -Filter '*.md' -File | ForEach-Object Name)
[Array]::Sort($pageNames, [StringComparer]::Ordinal)
$errors = [Collections.Generic.List[string]]::new()
$pages = [Collections.Generic.List[object]]::new()
$abouts = [Collections.Generic.List[object]]::new()
foreach ($name in $pageNames) {
    $full = Join-Path $DocsPath $name
    try {
        if ($name -like 'about_*') { $abouts.Add((Convert-AboutPage $full)) }
        else { $pages.Add((Read-CmdletPage $full)) }
    }
    catch [DocsError] { $errors.Add($_.Exception.Message) }
}
if ($errors.Count -gt 0) { throw ($errors -join [Environment]::NewLine) }
if ($pages.Count -eq 0) { throw "ConvertTo-MamlHelp: no cmdlet page (*.md other than about_*.md) in '$DocsPath'." }

$null = New-Item -ItemType Directory -Force -Path $OutputPath
foreach ($helpFile in @($pages | ForEach-Object HelpFile | Sort-Object -Unique -CaseSensitive)) {
    $group = @($pages | Where-Object HelpFile -ceq $helpFile)
    $target = Join-Path $OutputPath $helpFile
    Write-MamlFile $target $group
    Write-Host "Help: $($group.Count) cmdlet(s) -> $target"
}
foreach ($a in $abouts) {
    $target = Join-Path $OutputPath "$($a.Name).help.txt"
    [IO.File]::WriteAllText($target, $a.Text, $script:Utf8)
    Write-Host "Help: $($a.Name) -> $target"
}
if ($PassThru) { $pages }
