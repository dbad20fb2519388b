# The cmdlets compose like PowerShell's own: paths bind from the pipeline, -Path takes arrays and wildcards, table
# columns are property names, results survive Export-Csv, ConvertTo-Json and a remoting round trip, a piped
# quantization result is its own FP32 reference, and -IgnoredScope/-IgnoredOpType complete from the model.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:modulePath = Join-Path (Get-PotModulePath) 'PotPowerShell.psd1'
    Import-Module $modulePath -Force
    $sampleDir = Get-PotSamplePath
    $script:calibration = Join-Path $sampleDir 'calibration'
    $script:validation = Join-Path $sampleDir 'validation'
    $script:work = Join-Path $TestDrive 'compose'
    New-Item -ItemType Directory (Join-Path $work 'models') | Out-Null
    $script:model = Join-Path $work 'digits.onnx'
    Copy-Item (Join-Path $sampleDir 'digits.onnx') $model
    Copy-Item $model (Join-Path $work 'models/a.onnx')
    Copy-Item $model (Join-Path $work 'models/b.onnx')
    # Only cosine similarity to FP32: the metric that needs a reference model.
    $script:similarity = Join-Path $work 'similarity.yml'
    "metrics:`n  - type: cosine_similarity`n    reference: fp32`ndataset:`n  data_source: $validation`n" | Set-Content $similarity
    $script:engine = Join-Path $work 'engine.yml'
    "metrics:`n  - type: accuracy`ndataset:`n  data_source: $validation`n" | Set-Content $engine
    $script:quantized = Invoke-DefaultQuantization $model $calibration -StatSubsetSize 32
}

Describe 'Paths from the pipeline' {
    It 'binds a path string to Invoke-DefaultQuantization' {
        $r = (Join-Path $work 'models/a.onnx') | Invoke-DefaultQuantization -CalibrationDataPath $calibration -StatSubsetSize 8 -OutputPath (Join-Path $work 'piped.int8.onnx') -ErrorAction Stop
        $r.ModelPath | Should -Be (Join-Path $work 'models/a.onnx')
        $r.OutputPath | Should -Be (Join-Path $work 'piped.int8.onnx')
    }

    It 'binds a path string to Invoke-AccuracyAwareQuantization' {
        # -WhatIf stops before the work; a path that did not bind would be an InputObjectNotBound error.
        { $model | Invoke-AccuracyAwareQuantization -CalibrationDataPath $calibration -EnginePath $engine -WhatIf -ErrorAction Stop } | Should -Not -Throw
        Join-Path $work 'digits.aaq.onnx' | Should -Not -Exist
    }

    It 'binds a positional and a piped model to Get-LayerRanking, the engine first as with a piped result' {
        $positional = @(Get-LayerRanking $engine $model $calibration -RankingSubsetSize 20 -Top 2)
        $piped = @($model | Get-LayerRanking -EnginePath $engine -CalibrationDataPath $calibration -RankingSubsetSize 20 -Top 2)
        $positional | Should -HaveCount 2
        $piped.Layer | Should -Be $positional.Layer
        @(Import-PotModel $model | Get-LayerRanking $engine -CalibrationDataPath $calibration -RankingSubsetSize 20 -Top 1) | Should -HaveCount 1
    }
}

Describe 'Measure-PotModel -Path and -LiteralPath' {
    It 'expands wildcards' {
        $r = @(Measure-PotModel (Join-Path $work 'models/*.onnx') -DataPath $validation)
        $r.ModelPath | Should -Be @((Join-Path $work 'models/a.onnx'), (Join-Path $work 'models/b.onnx'))
    }

    It 'takes several paths, and reports a pattern that matches nothing without stopping' {
        $r = @(Measure-PotModel -Path (Join-Path $work 'models/a.onnx'), (Join-Path $work 'none/*.onnx'), $model -DataPath $validation -ErrorVariable errs -ErrorAction SilentlyContinue)
        $r.ModelPath | Should -Be @((Join-Path $work 'models/a.onnx'), $model)
        $errs.FullyQualifiedErrorId | Should -BeLike 'PathNotFound,*'
    }

    It 'takes a name with brackets literally with -LiteralPath and from Get-ChildItem' {
        $odd = Join-Path $work 'odd[1].onnx'
        Copy-Item -LiteralPath $model -Destination $odd
        (Measure-PotModel -LiteralPath $odd -DataPath $validation).ModelPath | Should -Be $odd
        (Get-Item -LiteralPath $odd | Measure-PotModel -DataPath $validation).ModelPath | Should -Be $odd
        (Measure-PotModel -PSPath $odd -DataPath $validation).ModelPath | Should -Be $odd
    }

    It 'measures the quantized model of a piped result with its FP32 model as the reference' {
        $piped = $quantized | Measure-PotModel -EnginePath $similarity -ErrorAction Stop
        $given = Measure-PotModel -LiteralPath $quantized.OutputPath -EnginePath $similarity -ReferenceModelPath $model
        $piped.ModelPath | Should -Be $quantized.OutputPath
        $piped.'cosine_similarity' | Should -Be $given.'cosine_similarity'
        $piped.'cosine_similarity' | Should -BeLessThan 1
        # The FP32 model compared with itself.
        ($model | Measure-PotModel -EnginePath $similarity -ReferenceModelPath $model).'cosine_similarity' | Should -BeGreaterThan 0.999999
    }

    It 'says what to pass when a metric needs the FP32 model and none was given' {
        $e = { Measure-PotModel -LiteralPath $quantized.OutputPath -EnginePath $similarity -ErrorAction Stop } | Should -Throw -ErrorId 'ReferenceModelRequired,*' -PassThru
        $e.Exception.Message | Should -BeLike '*-ReferenceModelPath*pipe the result of Invoke-DefaultQuantization*'
        $e.Exception.Message | Should -Not -BeLike '*EvaluatorOptions*'
    }
}

Describe 'Format views' {
    It 'labels every column and list item with a property of the type it shows' {
        # So that Select-Object <label> returns what the column shows. The core loads into a private context.
        $null = Import-PotModel -Path $model
        $assemblies = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -like 'PotPowerShell*' }
        $wrong = foreach ($file in Get-ChildItem (Join-Path (Get-PotModulePath) 'Formats') -Filter *.ps1xml) {
            [xml] $xml = Get-Content -Raw -LiteralPath $file.FullName
            foreach ($view in $xml.SelectNodes('//View')) {
                $typeName = $view.ViewSelectedBy.TypeName
                $type = $assemblies | ForEach-Object { $_.GetType($typeName) } | Where-Object { $_ } | Select-Object -First 1
                if (-not $type) { "$($view.Name): type $typeName not found"; continue }
                $properties = @($type.GetProperties() | ForEach-Object Name)
                $headers = @($view.SelectNodes('.//TableColumnHeader'))
                $items = @($view.SelectNodes('.//TableColumnItem'))
                $labels = for ($i = 0; $i -lt $headers.Count; $i++) { if ($headers[$i].Label) { $headers[$i].Label } else { $items[$i].PropertyName } }
                $labels += foreach ($item in $view.SelectNodes('.//ListItem')) { if ($item.Label) { $item.Label } else { $item.PropertyName } }
                foreach ($label in $labels) { if ($label -notin $properties) { "$($view.Name): '$label' is not a property of $typeName" } }
            }
        }
        $wrong | Should -BeNullOrEmpty
    }
}

Describe 'Measure-PotModel results as data' {
    BeforeAll {
        $script:measured = Measure-PotModel $model -EnginePath $engine -Latency -WarmupRuns 1
    }

    It 'has one property per metric, holding its value' {
        $measured.'accuracy@top1' | Should -BeOfType [double]
        $measured.'accuracy@top1' | Should -Be $measured.Values.'accuracy@top1'
        ($measured | Select-Object 'accuracy@top1').'accuracy@top1' | Should -Be $measured.Metrics[0].Value
        $measured.LatencyP50Ms | Should -Be $measured.Latency.ItemP50Ms
    }

    It 'exports to CSV with values, not type names' {
        $csv = Join-Path $work 'measured.csv'
        $measured | Export-Csv -LiteralPath $csv
        $row = Import-Csv -LiteralPath $csv
        [double] $row.'accuracy@top1' | Should -Be $measured.'accuracy@top1'
        [double] $row.LatencyP50Ms | Should -Be $measured.LatencyP50Ms
        $row.Metrics | Should -Be "accuracy@top1=$($measured.'accuracy@top1'.ToString('R', [cultureinfo]::InvariantCulture))"
        (Get-Content -Raw -LiteralPath $csv) | Should -Not -Match 'System\.|PotPowerShell\.|Generic'
    }

    It 'converts to JSON with the metric as a number' {
        $back = $measured | ConvertTo-Json -WarningAction SilentlyContinue | ConvertFrom-Json
        $back.'accuracy@top1' | Should -Be $measured.'accuracy@top1'
        $back.Latency.ItemP50Ms | Should -Be $measured.Latency.ItemP50Ms
    }

    It 'keeps its metrics as numbers through a remoting-style round trip (Start-Job)' {
        $remote = Start-Job -ScriptBlock {
            param($module, $model, $engine)
            Import-Module $module
            Measure-PotModel $model -EnginePath $engine -Latency -WarmupRuns 1
        } -ArgumentList $modulePath, $model, $engine | Receive-Job -Wait -AutoRemoveJob
        $remote.PSObject.TypeNames | Should -Contain 'Deserialized.PotPowerShell.ModelEvaluation'
        $remote.'accuracy@top1' | Should -BeOfType [double]
        $remote.'accuracy@top1' | Should -Be $measured.'accuracy@top1'
        $remote.LatencyP50Ms | Should -BeOfType [double]
        $remote.ItemCount | Should -Be $measured.ItemCount
        $remote.ModelPath | Should -Be $model
    }
}

Describe 'Nodes and their completion' {
    It 'lists every node with its name, op type and whether it is a quantizable layer' {
        $m = Import-PotModel $model
        $m.Nodes | Should -HaveCount $m.NodeCount
        @($m.Nodes | Where-Object Quantizable) | Should -HaveCount $m.QuantizableLayerCount
        ($m.Nodes | Where-Object Name -eq '/fc2/Gemm').OpType | Should -Be 'Gemm'
        @($m.Nodes | Where-Object Quantizable | ForEach-Object Name) | Should -Be @('/conv1/Conv', '/conv2/Conv', '/conv3/Conv', '/fc1/Gemm', '/fc2/Gemm')
    }

    It 'names unnamed nodes as quantization does, so the names fit -IgnoredScope' {
        $core = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'PotPowerShell.Core' }
        $file = $core.GetType('PotPowerShell.Core.Onnx.OnnxModelFile', $true)
        $proto = $file::Load([string] $model)
        foreach ($node in $proto.Graph.Node) { $node.Name = '' }
        $unnamed = Join-Path $work 'unnamed.onnx'
        $file::Save($proto, [string] $unnamed, [Threading.CancellationToken]::None, $true)
        $nodes = (Import-PotModel $unnamed).Nodes
        $nodes[0].Name | Should -Be 'Conv_0'
        $r = Invoke-DefaultQuantization $unnamed $calibration -StatSubsetSize 8 -IgnoredScope $nodes[-1].Name -ErrorAction Stop
        $r.IgnoredNodes | Should -Be @($nodes[-1].Name)
    }

    It 'completes -IgnoredScope with the node names of -ModelPath' {
        Push-Location $work
        try {
            $line = 'Invoke-DefaultQuantization -ModelPath ./digits.onnx -CalibrationDataPath ./calibration -IgnoredScope /fc'
            $completions = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches
            @($completions.CompletionText) | Should -Be @('/fc1/Gemm', '/fc2/Gemm')
        }
        finally { Pop-Location }
    }

    It 'completes -IgnoredOpType with the op types of the model of -Config' {
        $config = Join-Path $work 'dq.json'
        @{ model = @{ model_name = 'digits'; model = $model }; engine = @{ type = 'simplified'; data_source = $calibration }
            compression = @{ algorithms = @(@{ name = 'DefaultQuantization' }) } } | ConvertTo-Json -Depth 5 | Set-Content $config
        $line = "Invoke-DefaultQuantization -Config '$config' -IgnoredOpType "
        @((TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText) |
            Should -Be @('Add', 'Conv', 'Flatten', 'Gemm', 'MaxPool', 'Relu')
        # A config in a variable, as completion sees it at the prompt.
        $global:potComposeConfig = Import-PotConfig $config
        try {
            $line = 'Invoke-DefaultQuantization -Config $potComposeConfig -IgnoredScope /conv'
            @((TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText) |
                Should -Be @('/conv1/Conv', '/conv2/Conv', '/conv3/Conv')
        }
        finally { Remove-Variable -Scope Global potComposeConfig }
    }
}

Describe 'README walkthrough' {
    It 'runs twice from a repository root, as the README says' {
        # The PowerShell blocks of 'Using the module' after the one that imports the module (already imported here).
        $readme = (Get-Content -Raw (Join-Path $PSScriptRoot '../../README.md')) -replace "`r`n", "`n"
        $section = [regex]::Match($readme, '(?ms)^## Using the module\s*\n(.*?)(?=^## )').Groups[1].Value
        $blocks = @([regex]::Matches($section, '(?ms)^```powershell\s*\n(.*?)^```') | ForEach-Object { $_.Groups[1].Value } | Where-Object { $_ -notmatch 'Import-Module' })
        $blocks.Count | Should -BeGreaterOrEqual 2
        Import-Module (Join-Path $PSScriptRoot 'HelpExamples.psm1') -Force
        $root = Join-Path $TestDrive 'readme'
        New-Item -ItemType Directory (Join-Path $root 'samples') | Out-Null
        Copy-Item -LiteralPath (Get-PotSamplePath) -Destination (Join-Path $root 'samples/digits') -Recurse
        Push-Location -LiteralPath $root
        try {
            foreach ($run in 1, 2) {
                $text = Invoke-PotExample ($blocks -join "`n")
                $text | Should -Match 'accuracy@top1' -Because "run $run measures the models"
                $text | Should -Match '/fc2/Gemm|/conv\d/Conv|/fc1/Gemm' -Because "run $run ranks the layers"
            }
        }
        finally { Pop-Location }
        Join-Path $root 'digits.aaq.onnx' | Should -Exist
    }
}

Describe 'Package metadata' {
    It 'ships the MIT license the manifest names, and a project address' {
        $repo = Join-Path $PSScriptRoot '../..'
        (Get-Content -TotalCount 1 (Join-Path $repo 'LICENSE')) | Should -Be 'MIT License'
        $manifest = Import-PowerShellDataFile (Join-Path $repo 'PotPowerShell.psd1')
        $manifest.Copyright | Should -Match 'MIT'
        [uri] $manifest.PrivateData.PSData.ProjectUri | Should -Not -BeNullOrEmpty
        ([uri] $manifest.PrivateData.PSData.ProjectUri).Scheme | Should -Be 'https'
    }
}
