# Export-PotReport as users call it, and its page in a real headless browser (Debian's chromium, installed here when
# missing on Linux as root, as on a clean CI machine): it renders, every plot has a visible, drawn SVG, the page loads
# nothing from outside and logs nothing to the console. The screenshot is kept in out/test-results.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-PotModulePath) 'PotPowerShell.psd1') -Force
    $script:repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:digits = Get-PotSamplePath
    $script:fp32 = Join-Path $digits 'digits.onnx'
    $script:calibration = Join-Path $digits 'calibration'
    $script:validation = Join-Path $digits 'validation'
    $script:engine = Join-Path $TestDrive 'engine.yml'
    @"
metrics:
  - type: accuracy
  - type: cosine_similarity
    reference: fp32
dataset:
  data_source: '$validation'
"@ | Set-Content $engine

    # An ignored op type the model lacks: a warning every run gives, which the report must list.
    $script:q = Invoke-DefaultQuantization $fp32 $calibration -OutputPath (Join-Path $TestDrive 'digits.int8.onnx') -IgnoredOpType 'LSTM' -WarningAction SilentlyContinue
    $script:comparison = $q | Compare-PotModel -DataPath $validation -LatencyRuns 10
    $script:ranking = @($q | Get-LayerRanking -EnginePath $engine -RankingSubsetSize 100)
    $script:aaq = Invoke-AccuracyAwareQuantization $fp32 $calibration $engine -MaximalDrop 0.00001 -Precision AllInt8 -RankingSubsetSize 100 -OutputPath (Join-Path $TestDrive 'digits.aaq.onnx')
    $script:evaluation = Measure-PotModel $q.OutputPath -DataPath $validation -Latency
    $script:all = @($q, $comparison, $aaq, $evaluation) + $ranking
    $script:page = Join-Path $TestDrive 'report.html'
    $all | Export-PotReport $page
    $script:html = Get-Content $page -Raw

    # Debian's chromium: the browser the project tests with. Installed when missing on Linux as root (a clean CI machine).
    function Get-Chromium {
        $found = Get-Command chromium, chromium-browser -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
        if ($found) { return $found.Source }
        if ($IsLinux -and (& id -u) -eq '0' -and (Get-Command apt-get -ErrorAction SilentlyContinue)) {
            & apt-get update -qq *> $null
            & apt-get install -y -qq chromium *> $null
            $found = Get-Command chromium -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
            if ($found) { return $found.Source }
        }
        return $null
    }

    # Runs headless chromium on a file and returns its standard output and error.
    function Invoke-Chromium {
        param([string] $Browser, [string[]] $Arguments, [string] $File)
        $profile = Join-Path ([IO.Path]::GetTempPath()) ('pot-chromium-' + [guid]::NewGuid().ToString('N'))
        New-Item -ItemType Directory $profile | Out-Null
        try {
            $stderr = Join-Path $profile 'stderr.txt'
            $common = @('--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run',
                "--user-data-dir=$profile", '--enable-logging=stderr', '--v=0')
            $url = [Uri]::new($File, [UriKind]::Absolute).AbsoluteUri
            $out = & $Browser @common @Arguments $url 2> $stderr
            [pscustomobject]@{ Output = ($out -join "`n"); Errors = (Get-Content $stderr -Raw); ExitCode = $LASTEXITCODE }
        }
        finally { Remove-Item -Recurse -Force $profile -ErrorAction SilentlyContinue }
    }
}

Describe 'Export-PotReport' {
    It 'writes one self-contained HTML page: tables and one inline SVG per plot, nothing loaded from outside' {
        $html | Should -Match '^<!DOCTYPE html>'
        $html | Should -Not -Match '<script|<link|<img|<iframe|@import|@font-face|\bsrc\s*='
        $html | Should -Not -Match '(href|url)\s*[=(]\s*["'']?(https?:|//|file:)'
        # Plots: accuracy and latency FP32 vs INT8, activation ranges, AAQ iterations, layer sensitivity, evaluation.
        $figures = [regex]::Matches($html, '(?s)<figure class="plot" id="plot\d+">\s*<svg.*?</svg>')
        $figures.Count | Should -Be 6
        foreach ($title in 'Accuracy: FP32 vs INT8', 'Latency: FP32 vs INT8', 'Activation ranges: digits.int8.onnx', 'Accuracy-aware iterations: digits.aaq.onnx', 'Layer sensitivity') {
            $html | Should -Match ([regex]::Escape($title))
        }
        # Every id is unique on the page, though each SVG was drawn on its own.
        $ids = [regex]::Matches($html, '\bid="([^"]+)"') | ForEach-Object { $_.Groups[1].Value }
        ($ids | Group-Object | Where-Object Count -gt 1) | Should -BeNullOrEmpty
        # The summary carries the comparison's numbers and every ranked layer.
        $html | Should -Match ([regex]::Escape("<td>$($comparison.Name)</td><td>accuracy@top1</td>"))
        foreach ($layer in $ranking.Layer) { $html | Should -Match ([regex]::Escape("<td>$layer</td>")) }
    }

    It 'renders in headless chromium with every plot visible and drawn, and no console message' {
        $browser = Get-Chromium
        if (-not $browser) { Set-ItResult -Skipped -Because 'chromium is not installed and cannot be installed here (needs Linux, root and apt-get)'; return }
        # A copy of the page with a measuring script (the report itself has none): it writes each plot's rendered size,
        # its drawn elements and the resources the page fetched into the DOM, which --dump-dom prints after load.
        $probe = Join-Path $TestDrive 'probe.html'
        $script = @'
<script>
window.addEventListener('load', () => {
  const plots = [...document.querySelectorAll('figure.plot')].map(f => {
    const svg = f.querySelector('svg'); const r = svg.getBoundingClientRect(); const style = getComputedStyle(svg);
    return { id: f.id, width: r.width, height: r.height, visible: style.visibility === 'visible' && style.display !== 'none',
             drawn: svg.querySelectorAll('path, rect, text, line, polyline, circle').length };
  });
  const out = document.createElement('pre'); out.id = 'probe-result';
  out.textContent = JSON.stringify({ plots, resources: performance.getEntriesByType('resource').length, tables: document.querySelectorAll('table').length });
  document.body.appendChild(out);
});
</script>
'@
        Set-Content $probe ($html -replace '</body>', "$script</body>") -NoNewline
        $run = Invoke-Chromium $browser @('--dump-dom') $probe
        $match = [regex]::Match($run.Output, '<pre id="probe-result">(.*?)</pre>')
        $match.Success | Should -BeTrue -Because "chromium should print the DOM after load (stderr: $($run.Errors))"
        $result = [Net.WebUtility]::HtmlDecode($match.Groups[1].Value) | ConvertFrom-Json
        # FP32 vs INT8, default quantization, accuracy-aware, layer ranking, evaluation, warnings.
        $result.tables | Should -Be 6
        $result.resources | Should -Be 0
        $result.plots.Count | Should -Be 6
        foreach ($p in $result.plots) {
            $p.width | Should -BeGreaterThan 100 -Because "$($p.id) should be visible"
            $p.height | Should -BeGreaterThan 100 -Because "$($p.id) should be visible"
            $p.visible | Should -BeTrue
            $p.drawn | Should -BeGreaterThan 10 -Because "$($p.id) should draw axes, bars and labels"
        }
        # The report itself (without the probe) logs nothing: no failed resource, no error.
        $results = Join-Path $repoRoot 'out/test-results'
        New-Item -ItemType Directory -Force $results | Out-Null
        $shot = Join-Path $results 'Export-PotReport.png'
        Remove-Item $shot -ErrorAction SilentlyContinue
        $run = Invoke-Chromium $browser @('--window-size=1200,4000', "--screenshot=$shot") $page
        @($run.Errors -split "`n" | Where-Object { $_ -match 'CONSOLE' }) | Should -BeNullOrEmpty
        $shot | Should -Exist
        (Get-Item $shot).Length | Should -BeGreaterThan 10000
        $png = [IO.File]::ReadAllBytes($shot)
        [BitConverter]::ToString($png, 0, 4) | Should -Be '89-50-4E-47'
    }

    It 'writes the same summary as Markdown, chosen by the .md extension or -Format' {
        $md = Join-Path $TestDrive 'summary.md'
        $all | Export-PotReport $md
        $text = Get-Content $md -Raw
        $text | Should -Match '^# PotPowerShell report'
        $text | Should -Not -Match '<svg'
        foreach ($heading in 'FP32 vs INT8', 'Default quantization', 'Accuracy-aware quantization', 'Layer ranking', 'Evaluation') {
            $text | Should -Match "(?m)^## $([regex]::Escape($heading))$"
        }
        $text | Should -Match ([regex]::Escape("| $($comparison.Name) | accuracy@top1 |"))
        # The runs' warnings, which the console showed and a report read later must not hide.
        $text | Should -Match "(?m)^## Warnings$"
        $text | Should -Match ([regex]::Escape("| digits.onnx | Ignored operation type 'LSTM' does not occur in the model. |"))
        # The ranking's run (of the same quantization) warned too: its ranks carry that, and so does the report.
        $ranking[0].Warnings | Should -Be "Ignored operation type 'LSTM' does not occur in the model."
        $text | Should -Match ([regex]::Escape("| Layer ranking | Ignored operation type 'LSTM' does not occur in the model. |"))
        $html | Should -Match ([regex]::Escape("<td>Ignored operation type &#39;LSTM&#39; does not occur in the model.</td>"))
        $other = Join-Path $TestDrive 'summary.txt'
        $comparison | Export-PotReport $other -Format Markdown -Title 'CI summary'
        (Get-Content $other -TotalCount 1) | Should -Be '# CI summary'
    }

    It 'overwrites only with -Force, writes nothing with -WhatIf, and leaves no temporary file' {
        $target = Join-Path $TestDrive 'again.html'
        Set-Content $target 'keep'
        $comparison | Export-PotReport $target -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'OutputExists*'
        Get-Content $target | Should -Be 'keep'
        $comparison | Export-PotReport $target -Force -WhatIf
        Get-Content $target | Should -Be 'keep'
        $comparison | Export-PotReport $target -Force
        Get-Content $target -Raw | Should -Match '<svg'
        Get-ChildItem $TestDrive -Filter '*.tmp' -Force | Should -BeNullOrEmpty
    }

    It 'takes an array piped as one object, as `$result, $rankings | Export-PotReport` pipes it' {
        $flat = Join-Path $TestDrive 'flat.md'
        $nested = Join-Path $TestDrive 'nested.md'
        @($q) + $ranking | Export-PotReport $flat -Format Markdown
        $q, $ranking | Export-PotReport $nested -Format Markdown
        Get-Content $nested -Raw | Should -Be (Get-Content $flat -Raw)
    }

    It 'refuses input it does not know, and an empty pipeline' {
        $csv = $comparison | ConvertTo-Csv | ConvertFrom-Csv
        $target = Join-Path $TestDrive 'bad.html'
        $csv | Export-PotReport $target -ErrorVariable e -ErrorAction SilentlyContinue
        ($e.FullyQualifiedErrorId | Select-Object -First 1) | Should -BeLike 'ReportInputUnsupported*'
        ($e.FullyQualifiedErrorId | Select-Object -Last 1) | Should -BeLike 'ReportEmpty*'
        $target | Should -Not -Exist
    }
}
