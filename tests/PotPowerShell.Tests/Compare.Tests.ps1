# Compare-PotModel as users call it: a piped quantization result, paths, several metrics, and the object's shape in
# Export-Csv, ConvertTo-Json and the table view. Expected values come from Measure-PotModel and the files themselves.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-PotModulePath) 'PotPowerShell.psd1') -Force
    $script:digits = Get-PotSamplePath
    $script:fp32 = Join-Path $digits 'digits.onnx'
    $script:validation = Join-Path $digits 'validation'
    $script:q = Invoke-DefaultQuantization $fp32 (Join-Path $digits 'calibration') -OutputPath (Join-Path $TestDrive 'digits.int8.onnx')
    $script:c = $q | Compare-PotModel -DataPath $validation -LatencyRuns 10
    $script:engine = Join-Path $TestDrive 'engine.yml'
    @"
metrics:
  - type: accuracy
  - type: cosine_similarity
    reference: fp32
  - name: macro_f1
    type: f1
dataset:
  data_source: '$validation'
"@ | Set-Content $engine
}

Describe 'Compare-PotModel' {
    It 'compares a piped quantization result with its own FP32 model' {
        @($c).Count | Should -Be 1
        $c.PSObject.TypeNames[0] | Should -Be 'PotPowerShell.ModelComparison'
        $c.ReferencePath | Should -Be $q.ModelPath
        $c.ModelPath | Should -Be $q.OutputPath
        $c.Name | Should -Be 'digits.int8.onnx'
        $c.ItemCount | Should -Be 400
    }

    It 'reports the values Measure-PotModel measures for each model, and their drop' {
        $reference = Measure-PotModel -Path $fp32 -DataPath $validation -PerSample
        $candidate = Measure-PotModel -Path $q.OutputPath -DataPath $validation -PerSample
        $c.Metric | Should -Be 'accuracy@top1'
        $c.ReferenceValue | Should -Be $reference.Values.'accuracy@top1'
        $c.Value | Should -Be $candidate.Values.'accuracy@top1'
        $c.Drop | Should -BeExactly ($c.ReferenceValue - $c.Value)
        $c.RelativeDrop | Should -BeExactly ($c.Drop / $c.ReferenceValue)
        # Top-1 agreement from the per-sample predictions of both models.
        $same = 0
        for ($i = 0; $i -lt 400; $i++) { if ($reference.PerSample[$i].Prediction -eq $candidate.PerSample[$i].Prediction) { $same++ } }
        $c.TopOneAgreement | Should -Be ($same / 400)
    }

    It 'gives a bootstrap interval on the grid of the items around the drop, the same for the same seed' {
        $c.DropLower95 | Should -BeLessOrEqual $c.Drop
        $c.DropUpper95 | Should -BeGreaterOrEqual $c.Drop
        # A mean over 400 items of per-item drops in {-1, 0, 1} is a multiple of 1/400.
        foreach ($bound in $c.DropLower95, $c.DropUpper95) { [math]::Abs($bound * 400 - [math]::Round($bound * 400)) | Should -BeLessThan 1e-9 }
        $again = Compare-PotModel $q.OutputPath -ReferencePath $fp32 -DataPath $validation -LatencyRuns 0
        ($again.DropLower95, $again.DropUpper95) | Should -Be ($c.DropLower95, $c.DropUpper95)
        $again.BootstrapSamples | Should -Be 2000
    }

    It 'reports file sizes, layer counts and latencies consistently' {
        $c.ReferenceFileSize | Should -Be (Get-Item $fp32).Length
        $c.FileSize | Should -Be (Get-Item $q.OutputPath).Length
        $c.SizeRatio | Should -Be ($c.ReferenceFileSize / $c.FileSize)
        $c.Int8LayerCount | Should -Be $q.QuantizedLayerCount
        ($c.Int8LayerCount + $c.FloatLayerCount) | Should -Be $q.LayerCount
        $c.ReferenceFloatLayerCount | Should -Be $q.LayerCount
        $c.LatencyRuns | Should -Be 10
        $c.LatencyP50Ms | Should -BeGreaterThan 0
        $c.ReferenceLatencyP50Ms | Should -BeGreaterThan 0
        $c.LatencyP90Ms | Should -BeGreaterOrEqual $c.LatencyP50Ms
        $c.Speedup | Should -Be ($c.ReferenceLatencyP50Ms / $c.LatencyP50Ms)
    }

    It 'compares on unlabelled data by cosine similarity to the reference model''s outputs' {
        $unlabelled = Join-Path $digits 'calibration'
        $r = Compare-PotModel $q.OutputPath -ReferencePath $fp32 -DataPath $unlabelled -LatencyRuns 0 -WarningVariable warnings
        $warnings | Should -BeNullOrEmpty
        $r.Metric | Should -Be 'cosine_similarity'
        $r.ReferenceValue | Should -BeGreaterThan 0.999999
        $r.Value | Should -BeLessThan $r.ReferenceValue
        $r.Drop | Should -BeExactly ($r.ReferenceValue - $r.Value)
        # What Measure-PotModel gives with that metric written in an engine.
        $cosine = Join-Path $TestDrive 'cosine.yml'
        "metrics:`n  - type: cosine_similarity`n    reference: fp32`ndataset:`n  data_source: $unlabelled" | Set-Content $cosine
        (Measure-PotModel $q.OutputPath -EnginePath $cosine -ReferenceModelPath $fp32).Values.cosine_similarity | Should -Be $r.Value
    }

    It 'compares a model that outputs only classes on unlabelled data by agreement with the reference''s classes' {
        # The sample ending in ArgMax (int64 classes), against the same with class 0 favoured: the cosine of two class
        # numbers would say nothing, the share of items whose class is the reference's does.
        Import-PotTestSupport
        $folder = New-Item (Join-Path $TestDrive 'classes') -ItemType Directory -Force
        $labels = Join-Path $folder 'labels-only.onnx'
        $favoured = Join-Path $folder 'favoured.onnx'
        (Get-PotSupportType 'LabelModels')::Write($fp32, $labels, 0)
        (Get-PotSupportType 'LabelModels')::Write($fp32, $favoured, 20)
        $r = Compare-PotModel $favoured -ReferencePath $labels -DataPath (Join-Path $digits 'calibration') -LatencyRuns 0
        $r.Metric | Should -Be 'fp32_agreement'
        $r.ReferenceValue | Should -Be 1
        $r.Value | Should -BeLessThan 1
        $r.Value | Should -BeGreaterThan 0.5
        # The same share from the models' predictions, counted apart from the metric.
        $r.TopOneAgreement | Should -Be $r.Value
    }

    It 'compares on a folder of images as POT''s simplified engine reads them, and Measure-PotModel measures there' {
        # The sample's validation images (8x8 grey PNGs): BGR, pixel values as they are, one channel for the model's one.
        $images = Join-Path $TestDrive 'images'
        New-Item -ItemType Directory $images | Out-Null
        Get-ChildItem (Join-Path $validation 'images') -Filter '*.png' | Select-Object -First 24 | Copy-Item -Destination $images
        $r = Compare-PotModel $q.OutputPath -ReferencePath $fp32 -DataPath $images -LatencyRuns 0
        $r.ItemCount | Should -Be 24
        $r.Metric | Should -Be 'cosine_similarity'
        $r.Value | Should -BeLessThan $r.ReferenceValue
        # The images store v = 120 (x + 1) of the .npy items x (samples/digits/New-ValidationImages.ps1), fed as they are:
        # those values as an array give the same comparison.
        $bytes = [IO.File]::ReadAllBytes((Join-Path $validation 'input.npy'))
        $offset = 10 + [BitConverter]::ToUInt16($bytes, 8)
        $v = [float[]]::new(24 * 64)
        for ($i = 0; $i -lt $v.Length; $i++) { $v[$i] = [float](120 * ([BitConverter]::ToSingle($bytes, $offset + 4 * $i) + 1)) }
        $array = Join-Path $TestDrive 'image-values'
        New-Item -ItemType Directory $array | Out-Null
        Import-PotTestSupport
        (Get-PotSupportType 'NpyWriter')::Save((Join-Path $array 'input.npy'), $v, [long[]] @(24, 1, 8, 8), '<f4')
        $byArray = Compare-PotModel $q.OutputPath -ReferencePath $fp32 -DataPath $array -LatencyRuns 0
        [Math]::Abs($r.Value - $byArray.Value) | Should -BeLessThan 1e-12
        $m = Measure-PotModel $q.OutputPath -DataPath $images -WarningVariable warnings -WarningAction SilentlyContinue
        $m.ItemCount | Should -Be 24
        @($warnings | Where-Object { "$_" -like "*defines no metrics and its data has no labels*" }) | Should -HaveCount 1
    }

    It 'skips the latency with -LatencyRuns 0' {
        $r = Compare-PotModel $q.OutputPath -ReferencePath $fp32 -DataPath $validation -LatencyRuns 0
        $r.LatencyRuns | Should -Be 0
        $r.Speedup | Should -BeNullOrEmpty
        $r.LatencyP50Ms | Should -BeNullOrEmpty
    }

    It 'has only flat properties, written as values by Export-Csv and ConvertTo-Json' {
        $csv = Join-Path $TestDrive 'c.csv'
        $c | Export-Csv $csv
        $row = Import-Csv $csv
        $row.PSObject.Properties.Name | Should -Be $c.PSObject.Properties.Name
        (Get-Content $csv -Raw) | Should -Not -Match 'System\.|PotPowerShell\.Core'
        [double]$row.Drop | Should -Be $c.Drop
        [long]$row.FileSize | Should -Be $c.FileSize
        $json = $c | ConvertTo-Json | ConvertFrom-Json -AsHashtable
        foreach ($value in $json.Values) { ($null -eq $value -or $value -is [ValueType] -or $value -is [string]) | Should -BeTrue }
        $json.Metric | Should -Be 'accuracy@top1'
        $json.Int8LayerCount | Should -Be $c.Int8LayerCount
    }

    It 'labels its table columns with property names' {
        $lines = ($c | Format-Table | Out-String -Width 400) -split "`n" | Where-Object { $_.Trim() }
        $labels = $lines[0].Trim() -split '\s+'
        $labels.Count | Should -BeGreaterThan 5
        foreach ($label in $labels) { $c.PSObject.Properties.Name | Should -Contain $label }
    }

    It 'compares every metric of an engine, the further ones as flat properties' {
        $r = Compare-PotModel $q.OutputPath -ReferencePath $fp32 -EnginePath $engine -LatencyRuns 0
        $r.Metric | Should -Be 'accuracy@top1'
        # cosine_similarity compares with the reference model: 1 for the reference itself.
        $r.'cosine_similarity.ReferenceValue' | Should -Be 1
        $r.'cosine_similarity.Value' | Should -BeLessThan 1
        $r.'cosine_similarity.Drop' | Should -Be (1 - $r.'cosine_similarity.Value')
        $r.'cosine_similarity.DropLower95' | Should -BeLessOrEqual $r.'cosine_similarity.Drop'
        # F1 over the confusion matrix is not a mean of per-item values: its interval comes from the matrix counted again
        # on each resample.
        $measured = Measure-PotModel $q.OutputPath -EnginePath $engine -ReferenceModelPath $fp32
        $r.'macro_f1.Value' | Should -Be $measured.Values.macro_f1
        [double]::IsNaN($r.'macro_f1.DropLower95') | Should -BeFalse
        $r.'macro_f1.DropLower95' | Should -BeLessOrEqual $r.'macro_f1.DropUpper95'
        [double]($r | ConvertTo-Csv | ConvertFrom-Csv).'cosine_similarity.Value' | Should -Be $r.'cosine_similarity.Value'
    }

    It 'resolves wildcards to one comparison per file and binds piped files' {
        Copy-Item $q.OutputPath (Join-Path $TestDrive 'copy.int8.onnx')
        $r = @(Compare-PotModel (Join-Path $TestDrive '*.int8.onnx') -ReferencePath $fp32 -DataPath $validation -LatencyRuns 0)
        $r.Name | Sort-Object | Should -Be @('copy.int8.onnx', 'digits.int8.onnx')
        $r[0].Value | Should -Be $r[1].Value
        $piped = @(Get-ChildItem (Join-Path $TestDrive '*.int8.onnx') | Compare-PotModel -ReferencePath $fp32 -DataPath $validation -LatencyRuns 0)
        $piped.Count | Should -Be 2
        Compare-PotModel (Join-Path $TestDrive 'none*.onnx') -ReferencePath $fp32 -DataPath $validation -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'PathNotFound*'
    }
}
