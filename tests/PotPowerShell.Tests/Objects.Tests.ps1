# Results are objects a user can work with: each cmdlet declares what it outputs, each result type prints its key
# fields through its format views (no raw type names), and Select-Object, ConvertTo-Json and Export-Csv handle every
# result without exceptions or cycles. One run of each cmdlet on the sample is shared by all tests.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-PotModulePath) 'PotPowerShell.psd1') -Force
    $sampleDir = Get-PotSamplePath
    $calibration = Join-Path $sampleDir 'calibration'
    $work = Join-Path $TestDrive 'objects'
    New-Item -ItemType Directory $work | Out-Null
    $model = Join-Path $work 'digits.onnx'
    Copy-Item (Join-Path $sampleDir 'digits.onnx') $model
    $engine = Join-Path $work 'engine.yml'
    "metrics:`n  - type: accuracy`n  - type: cosine_similarity`n    reference: fp32`ndataset:`n  data_source: $(Join-Path $sampleDir 'validation')`n" | Set-Content $engine
    $configPath = Join-Path $work 'config.json'
    @{ model = @{ model_name = 'digits'; model = $model }; engine = @{ config = $engine }
        compression = @{ algorithms = @(@{ name = 'DefaultQuantization'; params = @{ preset = 'mixed' } }) } } |
        ConvertTo-Json -Depth 5 | Set-Content $configPath

    $potModel = Import-PotModel -Path $model
    $config = Import-PotConfig -Path $configPath
    $exported = $config | Export-PotConfig -Path (Join-Path $work 'exported.yml') -PassThru
    $quantization = Invoke-DefaultQuantization $model $calibration -StatSubsetSize 32 -Precision AllInt8
    $evaluation = Measure-PotModel $model -EnginePath $engine -ReferenceModelPath $model -PerSample -Latency -WarmupRuns 1
    # A drop so small that the fully quantized sample (cosine about 0.99999) misses it and layers are reverted.
    $accuracyAware = Invoke-AccuracyAwareQuantization $model $calibration $engine -MaximalDrop 0.000005 -RankingSubsetSize 50 -Precision AllInt8 -WarningAction SilentlyContinue
    $ranking = @(Get-LayerRanking -ModelPath $model -CalibrationDataPath $calibration -EnginePath $engine -RankingSubsetSize 50 -Precision AllInt8)
    $comparison = $quantization | Compare-PotModel -DataPath (Join-Path $sampleDir 'validation') -LatencyRuns 5
    $report = $quantization, $comparison | Export-PotReport (Join-Path $work 'report.html') -PassThru

    # What each cmdlet output, by cmdlet.
    $script:outputs = @{
        'Import-PotModel'                  = @($potModel)
        'Import-PotConfig'                 = @($config)
        'Export-PotConfig'                 = @($exported)
        'Invoke-DefaultQuantization'       = @($quantization)
        'Measure-PotModel'                 = @($evaluation)
        'Invoke-AccuracyAwareQuantization' = @($accuracyAware)
        'Get-LayerRanking'                 = $ranking
        'Compare-PotModel'                 = @($comparison)
        'Export-PotReport'                 = @($report)
    }
    # One object of every type a user gets, a key property, and the text its default view must show (labels and values).
    $script:samples = [ordered]@{
        PotModel              = @{ Object = $potModel; Key = 'Path'; Shows = @('Path', $model, 'Opset', '13', 'Inputs', 'input: float[batch,1,8,8]', 'QuantizableLayerCount', '5') }
        PotConfig             = @{ Object = $config; Key = 'Path'; Shows = @('Path', $configPath, 'Model', 'digits', 'Compression', 'DefaultQuantization') }
        QuantizationResult    = @{ Object = $quantization; Key = 'OutputPath'; Shows = @('OutputPath', $quantization.OutputPath, 'Preset', 'Performance', 'Layers', '5 of 5 INT8', 'Precision', 'AllInt8', 'StatSubsetSize', '32 items') }
        QuantizedLayerInfo    = @{ Object = $quantization.Layers[1]; Key = 'Node'; Shows = @('Node', '/conv2/Conv', 'Precision', 'INT8', 'InputScale') }
        ModelEvaluation       = @{ Object = $evaluation; Key = 'ModelPath'; Shows = @('ModelPath', 'digits.onnx', 'ItemCount', '400', 'accuracy@top1=0.99') }
        ModelEvaluationSample = @{ Object = $evaluation.PerSample[0]; Key = 'Index'; Shows = @('Index', 'Annotation', 'Prediction', 'accuracy@top1') }
        AccuracyAwareResult   = @{ Object = $accuracyAware; Key = 'OutputPath'; Shows = @('Met', 'True', 'Metrics', 'cosine_similarity: FP32 1', 'RevertedLayers', 'OutputPath', $accuracyAware.OutputPath) }
        AccuracyAwareMetric   = @{ Object = $accuracyAware.Metrics[0]; Key = 'Name'; Shows = @('Name', 'accuracy@top1', 'Baseline', 'Drop') }
        AccuracyAwareIteration = @{ Object = $accuracyAware.Iterations[0]; Key = 'Layer'; Shows = @('Stage', 'Search', 'Layer', 'DropAfter') }
        RevertedLayer         = @{ Object = $accuracyAware.RevertedLayers[0]; Key = 'Layer'; Shows = @('Layer', $accuracyAware.RevertedLayers[0].Layer, 'Score') }
        LayerRank             = @{ Object = $ranking[0]; Key = 'Layer'; Shows = @('Rank', 'Layer', $ranking[0].Layer, 'Score', 'MetricDeltas') }
        ModelComparison       = @{ Object = $comparison; Key = 'Name'; Shows = @('Name', 'digits.int8.onnx', 'Metric', 'accuracy@top1', 'Drop', 'Speedup', 'SizeRatio') }
    }
}

Describe 'Output types' {
    It '<_> declares [OutputType] and emits objects of that type' -ForEach @(
        'Import-PotModel', 'Import-PotConfig', 'Export-PotConfig', 'Invoke-DefaultQuantization', 'Measure-PotModel',
        'Invoke-AccuracyAwareQuantization', 'Get-LayerRanking', 'Compare-PotModel', 'Export-PotReport') {
        $declared = @((Get-Command $_).OutputType.Name)
        $declared | Should -Not -BeNullOrEmpty
        $outputs[$_] | Should -Not -BeNullOrEmpty
        foreach ($o in $outputs[$_]) { $o.PSObject.TypeNames[0] | Should -BeIn $declared }
    }

    It 'writes records of PotPowerShell.Core.Results, or module views made of them' {
        # ARCHITECTURE.md: every result a cmdlet writes is a Results record or, for Measure-PotModel and Compare-PotModel,
        # a flat view of one made in the module; PotConfig is a configuration, and Export-PotReport writes a FileInfo.
        $elsewhere = foreach ($cmdlet in $outputs.Keys) {
            foreach ($o in $outputs[$cmdlet]) {
                $type = $o.PSObject.BaseObject.GetType()
                if ($type.FullName -in 'PotPowerShell.Core.Config.PotConfig', 'System.IO.FileInfo') { continue }
                if ($type.Namespace -ne 'PotPowerShell') {
                    if ($type.Namespace -ne 'PotPowerShell.Core.Results') { "${cmdlet}: $($type.FullName)" }
                    continue
                }
                # A module view: the core records its properties hold are Results records too.
                foreach ($p in $type.GetProperties()) {
                    foreach ($t in @($p.PropertyType) + $p.PropertyType.GetGenericArguments()) {
                        if ($t.Namespace -like 'PotPowerShell.Core*' -and $t.Namespace -ne 'PotPowerShell.Core.Results') { "${cmdlet}: $($type.Name).$($p.Name) is $($t.FullName)" }
                    }
                }
            }
        }
        $elsewhere | Should -BeNullOrEmpty
    }

    It 'covers every exported cmdlet' {
        @(Get-Command -Module PotPowerShell -CommandType Cmdlet | ForEach-Object Name | Where-Object { -not $outputs.ContainsKey($_) }) | Should -BeNullOrEmpty
    }
}

Describe '<_>' -ForEach @('PotModel', 'PotConfig', 'QuantizationResult', 'QuantizedLayerInfo', 'ModelEvaluation', 'ModelEvaluationSample',
    'AccuracyAwareResult', 'AccuracyAwareMetric', 'AccuracyAwareIteration', 'RevertedLayer', 'LayerRank', 'ModelComparison') {
    BeforeAll {
        $sample = $samples[$_]
        $object = $sample.Object
    }

    It 'prints its key fields in the default view' {
        $text = $object | Out-String -Width 250
        foreach ($field in $sample.Shows) { $text.Contains($field) | Should -BeTrue -Because "the view shows '$field':`n$text" }
    }

    It 'prints no raw type names in its default, list and table views' {
        foreach ($text in @(($object | Out-String -Width 250), ($object | Format-List | Out-String -Width 250), ($object | Format-Table | Out-String -Width 250), (@($object, $object) | Out-String -Width 250))) {
            $text | Should -Not -Match '(?m)System\.(Collections|Object|String\[\])|PotPowerShell\.Core\.|Generic\.List|@\{|(^|\s)\{'
        }
    }

    It 'works with Select-Object' {
        $selected = $object | Select-Object *
        @($selected.PSObject.Properties).Count | Should -BeGreaterThan 1
        ($selected | Out-String) | Should -Not -BeNullOrEmpty
        ($object | Select-Object -Property $sample.Key).($sample.Key) | Should -Be $object.($sample.Key)
    }

    It 'converts to JSON (depth 4) and back' {
        $json = $object | ConvertTo-Json -Depth 4 -WarningAction SilentlyContinue
        $json.Length | Should -BeLessThan 1MB -Because 'no cycle or runaway nesting'
        $back = $json | ConvertFrom-Json
        "$($back.($sample.Key))" | Should -Be "$($object.($sample.Key))"
    }

    It 'exports to CSV and back' {
        $csv = Join-Path $TestDrive "$_.csv"
        $object | Export-Csv -LiteralPath $csv
        $row = @(Import-Csv -LiteralPath $csv)
        $row | Should -HaveCount 1
        $row[0].($sample.Key) | Should -Be "$($object.($sample.Key))"
    }
}

Describe '<_>, a row of a table' -ForEach @('QuantizedLayerInfo', 'ModelEvaluationSample', 'AccuracyAwareMetric', 'AccuracyAwareIteration', 'RevertedLayer', 'LayerRank') {
    It 'exports every column to CSV as its value, never a type name' {
        $csv = Join-Path $TestDrive "$_-row.csv"
        $samples[$_].Object | Export-Csv -LiteralPath $csv
        $row = @(Import-Csv -LiteralPath $csv)[0]
        foreach ($column in $row.PSObject.Properties) {
            $column.Value | Should -Not -Match 'System\.|PotPowerShell\.|`\d\[' -Because "column $($column.Name) holds '$($column.Value)'"
        }
    }
}

Describe '<_>, a result of many parts' -ForEach @('PotModel', 'PotConfig', 'QuantizationResult', 'ModelEvaluation', 'AccuracyAwareResult', 'ModelComparison') {
    It 'exports every column to CSV as readable text, never a type name' {
        # Its lists and records (layers, warnings, the self-check, metrics) become text a spreadsheet shows: each item
        # in short, joined by '; '. Their rows go to CSV whole through the property itself ($r.Layers | Export-Csv).
        $csv = Join-Path $TestDrive "$_-whole.csv"
        $samples[$_].Object | Export-Csv -LiteralPath $csv
        $row = @(Import-Csv -LiteralPath $csv)[0]
        $typeNames = foreach ($column in $row.PSObject.Properties) {
            if ($column.Value -match 'System\.[A-Z]|PotPowerShell\.|`\d\[|\w+ \{ \w+ = ') { "$($column.Name): $($column.Value)" }
        }
        $typeNames | Should -BeNullOrEmpty
    }
}

Describe 'LayerRank.MetricDeltas' {
    It 'reads in CSV as each metric and its exact change, in engine order' {
        $rank = $samples.LayerRank.Object
        $csv = Join-Path $TestDrive 'deltas.csv'
        $rank | Export-Csv -LiteralPath $csv
        $expected = ($rank.MetricDeltas.GetEnumerator() | ForEach-Object { '{0}={1}' -f $_.Key, $_.Value.ToString('R', [cultureinfo]::InvariantCulture) }) -join '; '
        $expected | Should -Match '^accuracy@top1=[^;]+; cosine_similarity=\S+$'
        @(Import-Csv -LiteralPath $csv)[0].MetricDeltas | Should -Be $expected
    }
}
