BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:moduleDir = Get-PotModulePath
    Import-Module (Join-Path $moduleDir 'PotPowerShell.psd1') -Force
    $script:digits = Get-PotSamplePath
    $script:model = Join-Path $digits 'digits.onnx'
    $script:acConfig = Join-Path $digits 'accuracy-checker.yml'
}

Describe 'Accuracy Checker configurations' {
    It 'evaluates the sample images exactly as the sample .npy data' {
        # The images hold 15 * grey level; the configuration's normalization gives back the .npy values.
        $fromImages = Measure-PotModel -Path $model -EnginePath $acConfig -WarningVariable warnings
        $fromNpy = Measure-PotModel -Path $model -DataPath (Join-Path $digits 'validation') -PerSample
        $fromImages.ItemCount | Should -Be 400
        $fromImages.Values['accuracy@top1'] | Should -Be $fromNpy.Values['accuracy@top1']
        $fromImages.Values['accuracy@top3'] | Should -BeGreaterOrEqual $fromImages.Values['accuracy@top1']
        $warnings | Should -BeNullOrEmpty
    }

    It 'drives DefaultQuantization as the engine.config of a POT configuration' {
        $folder = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'pot')
        $config = Join-Path $folder 'pot.json'
        @{
            model = @{ model_name = 'digits'; model = $model }
            engine = @{ config = $acConfig }
            compression = @{ algorithms = @(@{ name = 'DefaultQuantization'; params = @{ preset = 'performance'; stat_subset_size = 100 } }) }
        } | ConvertTo-Json -Depth 6 | Set-Content $config
        $result = Import-PotConfig $config | Invoke-DefaultQuantization -OutputPath (Join-Path $folder 'digits.int8.onnx')
        $result.OutputPath | Should -Exist
        $int8 = Measure-PotModel -Path $result.OutputPath -EnginePath $acConfig
        $int8.Values['accuracy@top1'] | Should -BeGreaterThan 0.97
    }

    It 'reads one sub-folder per class with cls_dataset_folder, numbering the folders in sorted order' {
        # The sample images sorted into folders 0 to 9 by their val.txt label: the same items, the same accuracy.
        $images = Join-Path $digits 'validation/images'
        $classes = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'classes')
        foreach ($line in Get-Content (Join-Path $images 'val.txt')) {
            $file, $label = $line -split ' '
            $folder = Join-Path $classes $label
            if (-not (Test-Path $folder)) { $null = New-Item -ItemType Directory -Path $folder }
            Copy-Item (Join-Path $images $file) $folder
        }
        $classPath = $classes.FullName -replace '\\', '/'
        $text = (Get-Content $acConfig -Raw) -replace 'data_source: validation/images', "data_source: $classPath" `
            -replace 'converter: imagenet', 'converter: cls_dataset_folder' -replace 'annotation_file: validation/images/val.txt', "data_dir: $classPath"
        $copy = Join-Path $TestDrive 'classes.yml'
        Set-Content -Path $copy -Value $text
        $fromFolders = Measure-PotModel -Path $model -EnginePath $copy -WarningVariable warnings
        $fromNpy = Measure-PotModel -Path $model -DataPath (Join-Path $digits 'validation')
        (Get-ChildItem $classes -Directory).Count | Should -Be 10
        $fromFolders.ItemCount | Should -Be 400
        $fromFolders.Values['accuracy@top1'] | Should -Be $fromNpy.Values['accuracy@top1']
        $warnings | Should -BeNullOrEmpty
    }

    It 'warns about launcher keys it reads without effect, naming them' {
        # A copy elsewhere, with the sample's relative paths made absolute.
        $images = Join-Path $digits 'validation/images'
        $text = (Get-Content $acConfig -Raw) -replace 'framework: onnx_runtime', "framework: dlsdk`n        device: CPU" `
            -replace 'validation/images', ($images -replace '\\', '/')
        $copy = Join-Path $TestDrive 'device.yml'
        Set-Content -Path $copy -Value $text
        $null = Measure-PotModel -Path $model -EnginePath $copy -WarningVariable warnings -WarningAction SilentlyContinue
        $warnings.Message | Should -Contain 'models[0].launchers[0]: device is read and ignored: the model runs on ONNX Runtime''s CPU provider.'
    }

    It 'refuses what it cannot map, naming the key and what is supported' {
        $text = (Get-Content $acConfig -Raw) -replace 'converter: imagenet', 'converter: cityscapes'
        $copy = Join-Path $TestDrive 'cityscapes.yml'
        Set-Content -Path $copy -Value $text
        $err = { Measure-PotModel -Path $model -EnginePath $copy -ErrorAction Stop } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'EngineInvalid,*'
        $err.Exception.Message | Should -Match 'models\[0\]\.datasets\[0\]\.annotation_conversion\.converter \(line \d+\): ''cityscapes'' is not supported: imagenet, cls_dataset_folder, [a-z0-9_, ]*mscoco_detection, voc_detection, [a-z0-9_, ]* are'
    }

    It 'reads the engine written in place in a POT configuration, as POT''s specification shows it' {
        # engine: name, launchers and datasets of the sample's Accuracy Checker model entry, without models: or config:.
        $ac = Get-Content $acConfig -Raw
        $entry = ($ac -split "`n" | Where-Object { $_ -match '^    ' } | ForEach-Object { $_.Substring(4) }) -join "`n"
        $entry = $entry -replace 'validation/images', ((Join-Path $digits 'validation/images') -replace '\\', '/')
        $folder = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'inline')
        $config = Join-Path $folder 'pot.yml'
        $indented = ($entry -split "`n" | ForEach-Object { "  $_" }) -join "`n"
        Set-Content $config ("model:`n  model_name: digits`n  model: $($model -replace '\\', '/')`nengine:`n  type: accuracy_checker`n$indented`n" +
            "compression:`n  algorithms:`n    - name: DefaultQuantization`n      params: {preset: performance, stat_subset_size: 100}`n")
        $pot = Import-PotConfig $config
        $fromFile = Measure-PotModel -Path $model -EnginePath $acConfig
        $inPlace = Measure-PotModel -Path $model -Config $pot -WarningVariable warnings
        $inPlace.ItemCount | Should -Be 400
        $inPlace.Values['accuracy@top1'] | Should -Be $fromFile.Values['accuracy@top1']
        $warnings | Should -BeNullOrEmpty
        $result = $pot | Invoke-DefaultQuantization -OutputPath (Join-Path $folder 'digits.int8.onnx')
        (Measure-PotModel -Path $result.OutputPath -Config $pot).Values['accuracy@top1'] | Should -BeGreaterThan 0.97
    }

    It 'takes a dataset named by Open Model Zoo''s layout from its definitions, with the data in DATA_DIR' {
        # models/digits/accuracy-check.yml names the dataset; data/dataset_definitions.yml defines it relative to DATA_DIR.
        $root = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'omz')
        $null = New-Item -ItemType Directory -Path (Join-Path $root 'data'), (Join-Path $root 'models/digits')
        Set-Content (Join-Path $root 'data/dataset_definitions.yml') @'
datasets:
  - name: digits_validation
    data_source: validation/images
    annotation_conversion:
      converter: imagenet
      annotation_file: validation/images/val.txt
    metrics:
      - {name: accuracy@top1, type: accuracy, top_k: 1}
      - {name: accuracy@top3, type: accuracy, top_k: 3}
'@
        $configPath = Join-Path $root 'models/digits/accuracy-check.yml'
        Set-Content $configPath @'
models:
  - name: digits
    launchers:
      - framework: onnx_runtime
        adapter: classification
    datasets:
      - name: digits_validation
        preprocessing:
          - type: bgr_to_gray
          - {type: normalization, mean: 120, std: 120}
global_definitions: ../../data/dataset_definitions.yml
'@
        $fromFile = Measure-PotModel -Path $model -EnginePath $acConfig
        $old = $env:DATA_DIR
        try {
            $env:DATA_DIR = $digits
            $named = Measure-PotModel -Path $model -EnginePath $configPath -WarningVariable warnings
            $named.ItemCount | Should -Be 400
            $named.Values.Keys | Sort-Object | Should -Be @('accuracy@top1', 'accuracy@top3')
            $named.Values['accuracy@top1'] | Should -Be $fromFile.Values['accuracy@top1']
            $warnings | Should -BeNullOrEmpty
            $env:DATA_DIR = $null
            $err = { Measure-PotModel -Path $model -EnginePath $configPath -ErrorAction Stop } | Should -Throw -PassThru
            $err.Exception.Message | Should -BeLike "*data_source, annotation_conversion, metrics come from the dataset 'digits_validation' of '*dataset_definitions.yml' (line 2)*set DATA_DIR*"
        } finally { $env:DATA_DIR = $old }
    }
}
