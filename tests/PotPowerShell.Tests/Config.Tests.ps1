BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-PotModulePath) 'PotPowerShell.psd1') -Force
    $script:sampleDir = Get-PotSamplePath
    $script:cmd = 'PotPowerShell.Commands.ImportPotConfigCommand'
    $script:exportCmd = 'PotPowerShell.Commands.ExportPotConfigCommand'

    # A config next to the sample model, written as a user would (relative paths, comments).
    function New-TestConfig {
        param([string] $Name, [string] $Params = '{}', [string] $Extra = '')
        $dir = Join-Path $TestDrive 'cfg'
        New-Item -ItemType Directory -Force $dir | Out-Null
        Copy-Item (Join-Path $sampleDir 'digits.onnx') (Join-Path $dir 'digits.onnx') -Force
        New-Item -ItemType Directory -Force (Join-Path $dir 'calibration') | Out-Null
        $path = Join-Path $dir $Name
        @"
// digits, simplified engine
{
    "model": { "model_name": "digits", "model": "digits.onnx" $Extra },
    "engine": { "type": "simplified", "data_source": "calibration" },
    "compression": {
        "target_device": "CPU",
        "algorithms": [ { "name": "AccuracyAwareQuantization", "params": $Params }, ]
    }
}
"@ | Set-Content -LiteralPath $path
        return $path
    }
}

Describe 'Import-PotConfig' {
    It 'reads a JSON config with comments into a typed PotConfig' {
        $c = Import-PotConfig -Path (New-TestConfig 'a.json' '{ "maximal_drop": 0.02 }')
        $c.PSObject.TypeNames[0] | Should -Be 'PotPowerShell.Core.Config.PotConfig'
        $c.Model.ModelName | Should -Be 'digits'
        $c.Model.ModelPath | Should -Be (Join-Path $TestDrive 'cfg/digits.onnx')
        $c.Engine.Kind | Should -Be 'Simplified'
        $c.Compression.TargetDevice | Should -Be 'Cpu'
        $c.Compression.Algorithms[0].Params.MaximalDrop | Should -Be 0.02
        $c.Compression.Algorithms[0].Params.MetricSubsetRatio | Should -Be 0.5
        $c.ToAccuracyAwareOptions().MaximalDrop | Should -Be 0.02
    }

    It 'expands wildcards in -Path' {
        New-TestConfig 'w1.json' | Out-Null
        New-TestConfig 'w2.json' | Out-Null
        $configs = Import-PotConfig -Path (Join-Path $TestDrive 'cfg/w*.json')
        $configs.Count | Should -Be 2
        ($configs.Path | ForEach-Object { Split-Path -Leaf $_ }) | Should -Be @('w1.json', 'w2.json')
    }

    It 'takes files and strings from the pipeline, one PotConfig per file' {
        $a = New-TestConfig 'p1.json'
        $b = New-TestConfig 'p2.json'
        @(Get-Item $a, $b | Import-PotConfig).Count | Should -Be 2
        @($a, $b | Import-PotConfig).Count | Should -Be 2
    }

    It 'takes -LiteralPath without expanding wildcards' {
        $odd = New-TestConfig 'odd[1].json'
        (Import-PotConfig -LiteralPath $odd).Path | Should -Be $odd
    }

    It 'reads YAML configs' {
        $path = Join-Path $TestDrive 'cfg/y.yml'
        "model:`n  model: digits.onnx`nengine:`n  type: simplified`n  data_source: calibration`ncompression:`n  algorithms:`n    - name: DefaultQuantization`n      params: { preset: mixed }`n" |
            Set-Content $path
        New-TestConfig 'unused.json' | Out-Null
        $c = Import-PotConfig $path
        $c.Compression.Algorithms[0].Params.Preset | Should -Be 'Mixed'
        $c.Model.ModelName | Should -Be 'digits'
    }

    It 'reports ConfigInvalid with the key path, the value and the fix' {
        $bad = New-TestConfig 'bad.json' '{ "maximal_drop": -0.5, "metric_subset_ratio": 2 }'
        { Import-PotConfig -Path $bad -ErrorAction Stop } | Should -Throw -ErrorId "ConfigInvalid,$cmd"
        Import-PotConfig -Path $bad -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs.Count | Should -Be 1
        $errs[0].TargetObject | Should -Be $bad
        $errs[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $errs[0].ToString() | Should -Match ([regex]::Escape('compression.algorithms[0].params.maximal_drop = -0.5'))
        $errs[0].ToString() | Should -Match '>= 0'
        $errs[0].ToString() | Should -Match ([regex]::Escape('compression.algorithms[0].params.metric_subset_ratio = 2'))
        $problems = $errs[0].Exception.Data['ConfigProblems']
        $problems.KeyPath | Should -Be @('compression.algorithms[0].params.maximal_drop', 'compression.algorithms[0].params.metric_subset_ratio')
        $problems[0].Value | Should -Be '-0.5'
    }

    It 'suggests the key that was meant' {
        $bad = New-TestConfig 'typo.json' '{ "maximal_dorp": 0.01 }'
        Import-PotConfig -Path $bad -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].ToString() | Should -Match "maximal_dorp.*Did you mean 'maximal_drop'\?"
    }

    It 'goes on with the next file after a bad one' {
        $bad = New-TestConfig 'bad2.json' '{ "drop_type": "sideways" }'
        $good = New-TestConfig 'good.json'
        $result = Import-PotConfig -Path $bad, $good -ErrorVariable errs -ErrorAction SilentlyContinue
        @($result).Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be "ConfigInvalid,$cmd"
    }

    It 'reports missing files, syntax errors and unknown extensions with their own ids' {
        { Import-PotConfig -LiteralPath (Join-Path $TestDrive 'none.json') -ErrorAction Stop } | Should -Throw -ErrorId "ConfigNotFound,$cmd"
        $broken = Join-Path $TestDrive 'broken.json'
        '{ "model": ' | Set-Content $broken
        { Import-PotConfig -LiteralPath $broken -ErrorAction Stop } | Should -Throw -ErrorId "ConfigSyntaxError,$cmd"
        $txt = Join-Path $TestDrive 'c.txt'
        '{}' | Set-Content $txt
        { Import-PotConfig -LiteralPath $txt -ErrorAction Stop } | Should -Throw -ErrorId "ConfigFormatUnsupported,$cmd"
    }

    It 'warns that model.weights has no meaning for ONNX' {
        $path = New-TestConfig 'weights.json' -Extra ', "weights": "digits.bin"'
        $c = Import-PotConfig -Path $path -WarningVariable warnings -WarningAction SilentlyContinue
        $c | Should -Not -BeNullOrEmpty
        $warnings.Count | Should -Be 1
        "$($warnings[0])" | Should -Match 'model\.weights'
        $c.Warnings.Count | Should -Be 1
    }

    It 'accepts "weights": "" without a warning' {
        $c = Import-PotConfig -Path (New-TestConfig 'noweights.json' -Extra ', "weights": ""') -WarningVariable warnings -WarningAction SilentlyContinue
        $c.Model.WeightsPath | Should -BeNullOrEmpty
        $warnings | Should -BeNullOrEmpty
    }

    It 'warns that annotation_conf_threshold has no effect without annotation_free, and takes both' {
        $c = Import-PotConfig -Path (New-TestConfig 'conf.json' '{ "annotation_conf_threshold": 0.7 }') -WarningVariable warnings -WarningAction SilentlyContinue
        $c | Should -Not -BeNullOrEmpty
        "$warnings" | Should -Match 'annotation_conf_threshold: has no effect'
        $free = Import-PotConfig -Path (New-TestConfig 'free.json' '{ "annotation_free": true, "annotation_conf_threshold": 0.7 }') -WarningVariable warnings -WarningAction SilentlyContinue
        $warnings | Should -BeNullOrEmpty
        $free.Compression.Algorithms[0].Params.AnnotationFree | Should -BeTrue
        $free.Compression.Algorithms[0].Params.AnnotationConfThreshold | Should -Be 0.7
    }

    It 'has a list view with the model, engine and algorithms' {
        $text = Import-PotConfig -Path (New-TestConfig 'view.json') | Out-String
        $text | Should -Match 'Model\s*:\s*digits: .*digits\.onnx'
        $text | Should -Match 'Engine\s*:\s*Simplified: .*calibration'
        $text | Should -Match 'Compression\s*:\s*target device CPU, model type None: AccuracyAwareQuantization \(preset Performance, maximal_drop 0\.01 Absolute\)'
    }
}

Describe 'Export-PotConfig' {
    BeforeAll {
        $script:config = Import-PotConfig -Path (New-TestConfig 'src.json' '{ "maximal_drop": 0.005, "metrics": [ { "name": "accuracy", "baseline_value": 0.99 } ], "time_limit": "2h" }')
    }

    It 'round-trips through <Format> to an equal config' -TestCases @(@{ Format = 'Json'; Ext = 'json' }, @{ Format = 'Yaml'; Ext = 'yml' }) {
        $out = Join-Path $TestDrive "cfg/rt.$Ext"
        $config | Export-PotConfig -Path $out -Format $Format
        $back = Import-PotConfig -LiteralPath $out
        $back.Equals($config) | Should -BeTrue
        $back.Path | Should -Be $out
        $back.Compression.Algorithms[0].Params.TimeLimit | Should -Be ([timespan]::FromHours(2))
    }

    It 'writes model paths relative to the new file when they lie under its folder' {
        $out = Join-Path $TestDrive 'cfg/rel.json'
        $config | Export-PotConfig -Path $out
        (Get-Content -Raw $out | ConvertFrom-Json).model.model | Should -Be 'digits.onnx'
        $far = Join-Path $TestDrive 'elsewhere/abs.json'
        $config | Export-PotConfig -Path $far
        (Get-Content -Raw $far | ConvertFrom-Json).model.model | Should -Be (Join-Path $TestDrive 'cfg/digits.onnx')
        (Import-PotConfig $far).Equals($config) | Should -BeTrue
    }

    It 'writes nothing with -WhatIf' {
        $out = Join-Path $TestDrive 'whatif.json'
        $config | Export-PotConfig -Path $out -WhatIf
        $out | Should -Not -Exist
    }

    It 'refuses to overwrite without -Force (OutputExists) and overwrites with it' {
        $out = Join-Path $TestDrive 'exists.json'
        'keep' | Set-Content $out
        { $config | Export-PotConfig -Path $out -ErrorAction Stop } | Should -Throw -ErrorId "OutputExists,$exportCmd"
        Get-Content $out | Should -Be 'keep'
        $config | Export-PotConfig -Path $out -Force
        (Import-PotConfig $out).Equals($config) | Should -BeTrue
    }

    It 'returns the config at its new path with -PassThru' {
        $out = Join-Path $TestDrive 'passthru.yml'
        $r = $config | Export-PotConfig -Path $out -PassThru
        $r.PSObject.TypeNames[0] | Should -Be 'PotPowerShell.Core.Config.PotConfig'
        $r.Path | Should -Be $out
        $r.Equals($config) | Should -BeTrue
        $config | Export-PotConfig -Path (Join-Path $TestDrive 'quiet.yml') | Should -BeNullOrEmpty
    }

    It 'refuses a format that does not match the extension' {
        { $config | Export-PotConfig -Path (Join-Path $TestDrive 'x.json') -Format Yaml -ErrorAction Stop } |
            Should -Throw -ErrorId "ConfigFormatMismatch,$exportCmd"
        $config | Export-PotConfig -Path (Join-Path $TestDrive 'noext') -Format Yaml
        Join-Path $TestDrive 'noext.yml' | Should -Exist
    }

    It 'does not write two piped configs into one file' {
        $out = Join-Path $TestDrive 'twice.json'
        $config, $config | Export-PotConfig -Path $out -Force -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].FullyQualifiedErrorId | Should -Be "OutputWrittenTwice,$exportCmd"
        $out | Should -Exist
    }
}

Describe 'about_PotPowerShell_Config examples' {
    It 'loads the example configs of the about topic' {
        $about = Get-Content -Raw (Join-Path $PSScriptRoot '../../docs/en-US/about_PotPowerShell_Config.md')
        $examples = [regex]::Matches(($about -split '### Example')[1], '(?s)```\r?\n(.*?)```') | ForEach-Object { $_.Groups[1].Value }
        $examples.Count | Should -Be 2
        $dir = Join-Path $TestDrive 'about'
        New-Item -ItemType Directory -Force (Join-Path $dir 'calibration') | Out-Null
        Copy-Item (Join-Path $sampleDir 'digits.onnx') $dir
        '# engine' | Set-Content (Join-Path $dir 'engine.yml')
        Set-Content (Join-Path $dir 'aaq.json') $examples[0]
        Set-Content (Join-Path $dir 'dq.yml') $examples[1]
        $env:MODELS = $dir
        try {
            $aaq = Import-PotConfig (Join-Path $dir 'aaq.json')
            $dq = Import-PotConfig (Join-Path $dir 'dq.yml')
        }
        finally { Remove-Item Env:MODELS }
        $aaq.ToAccuracyAwareOptions().TimeLimit | Should -Be ([timespan]::FromMinutes(30))
        $dq.Compression.Algorithms[0].Params.Ignored.Scope | Should -Be '/^head\./'
        $dq.ToDefaultQuantizationOptions().ActivationRange.Kind | Should -Be 'Quantile'
    }
}
