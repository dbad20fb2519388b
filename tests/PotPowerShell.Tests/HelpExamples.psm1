# The examples of the help pages as code a test can run: their code, the output the page shows, and the shape of an
# output (its list labels and table columns), which is what a run must reproduce; the values differ by machine.

# Every example of docs/en-US/*.md: '### ' headings under '## EXAMPLES', their ```powershell blocks (the code, run as
# one script) and ```output blocks (what the page says it prints).
function Get-PotHelpExample {
    param([Parameter(Mandatory)][string] $DocsPath)
    foreach ($file in Get-ChildItem -LiteralPath $DocsPath -Filter *.md | Sort-Object Name) {
        $text = (Get-Content -Raw -LiteralPath $file.FullName) -replace "`r`n", "`n"
        $section = [regex]::Match($text, '(?ms)^## EXAMPLES\s*\n(.*?)(?=^## |\z)').Groups[1].Value
        foreach ($part in [regex]::Split($section, '(?m)^### ') | Where-Object { $_.Trim() }) {
            $title = ($part -split "`n", 2)[0].Trim()
            $blocks = [regex]::Matches($part, '(?ms)^```(\w+)\s*\n(.*?)^```')
            # A hashtable, so that Pester names each test after its Page and Title.
            @{
                Page   = $file.BaseName
                Title  = $title
                Code   = (@($blocks | Where-Object { $_.Groups[1].Value -eq 'powershell' } | ForEach-Object { $_.Groups[2].Value }) -join "`n")
                Output = (@($blocks | Where-Object { $_.Groups[1].Value -eq 'output' } | ForEach-Object { $_.Groups[2].Value }) -join "`n")
            }
        }
    }
}

# The shape of a formatted output: the column names of each table header (the line above a '---- ----' line) and the
# label of each list line ('Label : value'), in order. An output without either is described by its line count.
function Get-PotOutputShape {
    param([AllowEmptyString()][string] $Text)
    $lines = @(($Text -replace "`r`n", "`n") -split "`n" | ForEach-Object { $_ -replace '\x1b\[[0-9;]*m', '' } | ForEach-Object TrimEnd)
    $shape = for ($i = 0; $i -lt $lines.Count; $i++) {
        if ($i + 1 -lt $lines.Count -and $lines[$i].Trim() -and $lines[$i + 1] -match '^\s*-+(\s+-+)*\s*$') { 'table: ' + ($lines[$i].Trim() -split '\s+' -join ' ') }
        elseif ($lines[$i] -match '^([A-Za-z_][\w@.]*)\s*:(\s|$)') { $Matches[1] }
    }
    if ($shape) { return @($shape) }
    return @("$(@($lines | Where-Object { $_.Trim() }).Count) lines")
}

# Runs example code as a user pasting it would, in the current location; errors it does not handle stop it. Returns
# what it printed (its output formatted as the console shows it, without colours).
function Invoke-PotExample {
    param([Parameter(Mandatory)][string] $Code)
    $ErrorActionPreference = 'Stop'
    $ProgressPreference = 'SilentlyContinue'
    $rendering = $PSStyle.OutputRendering
    $PSStyle.OutputRendering = 'PlainText'
    try { return (& ([scriptblock]::Create($Code)) 3>$null 4>$null 6>$null | Out-String -Width 300) }
    finally { $PSStyle.OutputRendering = $rendering }
}

Export-ModuleMember -Function Get-PotHelpExample, Get-PotOutputShape, Invoke-PotExample
