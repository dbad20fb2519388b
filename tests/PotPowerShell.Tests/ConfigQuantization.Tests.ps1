BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-PotModulePath) 'PotPowerShell.psd1') -Force
    $script:sampleDir = Get-PotSamplePath
    $script:cmd = 'PotPowerShell.Commands.InvokeDefaultQuantizationCommand'
    $script:measureCmd = 'PotPowerShell.Commands.MeasurePotModelCommand'

    # A folder with the sample model, its calibration data and the validation data, as a user lays it out.
    function New-ConfigFolder {
        $dir = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        New-Item -ItemType Directory $dir | Out-Null
        Copy-Item (Join-Path $sampleDir 'digits.onnx') $dir
        Copy-Item (Join-Path $sampleDir 'calibration') $dir -Recurse
        Copy-Item (Join-Path $sampleDir 'validation') $dir -Recurse
        $dir
    }

    # A JSON config with comments and trailing commas; $Engine and $Params are JSON fragments.
    function New-JsonConfig {
        param(
            [string] $Dir,
            [string] $Engine = '"type": "simplified", "data_source": "calibration"',
            [string] $Params = '"preset": "mixed", "stat_subset_size": 48, "precision": "all_int8"',
            [string] $Compression = '',
            [string] $ModelName = 'digits-cfg'
        )
        $path = Join-Path $Dir 'pot.json'
        @"
/* POT config for the digits sample */
{
    "model": { "model_name": "$ModelName", "model": "digits.onnx", },   // relative to this file
    "engine": { $Engine },
    "compression": {
        "target_device": "CPU",
        $Compression
        "algorithms": [
            { "name": "DefaultQuantization", "params": { $Params, } },
        ],
    },
}
"@ | Set-Content -LiteralPath $path
        $path
    }
}

Describe 'Invoke-DefaultQuantization with a PotConfig' {
    It 'quantizes the config''s model with its engine data and options (JSON with comments)' {
        $dir = New-ConfigFolder
        $out = Join-Path $dir 'out.onnx'
        $result = Import-PotConfig (New-JsonConfig $dir) | Invoke-DefaultQuantization -OutputPath $out
        $result.OutputPath | Should -Be $out
        $result.ModelPath | Should -Be (Join-Path $dir 'digits.onnx')
        $result.CalibrationDataPath | Should -Be (Join-Path $dir 'calibration')
        $result.Preset | Should -Be 'Mixed'
        $result.SymmetricActivations | Should -BeFalse
        $result.StatSubsetSize | Should -Be 48
        $result.TargetDevice | Should -Be 'Cpu'
        # precision all_int8: every layer is an INT8 kernel.
        $result.QuantizedLayerCount | Should -Be 5
        $result.FusedLayerCount | Should -Be 5
        $result.IntermediateModels | Should -BeNullOrEmpty
        (Import-PotModel $out).IsQuantized | Should -BeTrue
    }

    It 'reads a YAML config and names the output after model_name by default' {
        $dir = New-ConfigFolder
        $path = Join-Path $dir 'pot.yml'
        @'
# digits, YAML
model:
  model_name: digits small
  model: digits.onnx
engine:
  type: simplified
  data_source: calibration/*.npy      # a file-name pattern
compression:
  algorithms:
    - name: DefaultQuantization
      params:
        preset: performance
        stat_subset_size: 32
        stat_batch_size: 8
        precision: all_int8    # PotPowerShell's key: every layer INT8, the 1-channel first conv too
'@ | Set-Content -LiteralPath $path
        $result = Import-PotConfig $path | Invoke-DefaultQuantization
        $result.OutputPath | Should -Be (Join-Path $dir 'digits small.int8.onnx')
        $result.OutputPath | Should -Exist
        $result.StatSubsetSize | Should -Be 32
        # stat_batch_size is a floor: small items share larger automatic batches.
        $result.StatBatchSize | Should -BeGreaterOrEqual 8
        $result.FusedLayerCount | Should -Be 5
        ($result.Layers | Where-Object Node -eq '/conv1/Conv').Precision | Should -Be 'INT8'
    }

    It 'lets parameters typed on the command line beat the config' {
        $dir = New-ConfigFolder
        $config = Import-PotConfig (New-JsonConfig $dir -Params '"preset": "mixed", "stat_subset_size": 48, "seed": 4')
        $result = $config | Invoke-DefaultQuantization -Preset Performance -StatSubsetSize 20 -OutputPath (Join-Path $dir 'o.onnx')
        $result.Preset | Should -Be 'Performance'
        # Performance on a CPU target: asymmetric activations (they cost nothing on ONNX Runtime's CPU kernels).
        $result.SymmetricActivations | Should -BeFalse
        $result.ActivationsReason | Should -Match 'preset performance on target device CPU'
        $result.StatSubsetSize | Should -Be 20
        $result.Seed | Should -Be 4   # not typed: the config's value stays
    }

    It 'writes nothing with -WhatIf' {
        $dir = New-ConfigFolder
        $before = @(Get-ChildItem $dir -Recurse).Count
        $result = Import-PotConfig (New-JsonConfig $dir -Compression '"dump_intermediate_model": true,') | Invoke-DefaultQuantization -WhatIf
        $result | Should -BeNullOrEmpty
        @(Get-ChildItem $dir -Recurse).Count | Should -Be ($before + 1)   # only the config itself
        Join-Path $dir 'digits-cfg.int8.onnx' | Should -Not -Exist
    }

    It 'writes the intermediate models with dump_intermediate_model' {
        $dir = New-ConfigFolder
        $out = Join-Path $dir 'q.onnx'
        $result = Import-PotConfig (New-JsonConfig $dir -Compression '"dump_intermediate_model": true,') | Invoke-DefaultQuantization -OutputPath $out
        $result.IntermediateModels | Should -Be @((Join-Path $dir 'q.prepared.onnx'), (Join-Path $dir 'q.minmax.onnx'))
        (Import-PotModel (Join-Path $dir 'q.prepared.onnx')).IsQuantized | Should -BeFalse
        (Import-PotModel (Join-Path $dir 'q.minmax.onnx')).IsQuantized | Should -BeTrue
        ($result | Out-String -Width 1000) | Should -Match 'IntermediateModels\s*:\s*.*q\.prepared\.onnx, .*q\.minmax\.onnx'
        # -DumpIntermediateModel:$false overrides the config, and an existing dump needs -Force.
        $again = Import-PotConfig (New-JsonConfig $dir -Compression '"dump_intermediate_model": true,') |
            Invoke-DefaultQuantization -OutputPath (Join-Path $dir 'r.onnx') -DumpIntermediateModel:$false
        $again.IntermediateModels | Should -BeNullOrEmpty
        Join-Path $dir 'r.prepared.onnx' | Should -Not -Exist
        'x' | Set-Content (Join-Path $dir 'q3.minmax.onnx')
        { Import-PotConfig (Join-Path $dir 'pot.json') | Invoke-DefaultQuantization -OutputPath (Join-Path $dir 'q3.onnx') -ErrorAction Stop } |
            Should -Throw -ErrorId "OutputExists,$cmd"
        Join-Path $dir 'q3.onnx' | Should -Not -Exist
    }

    It 'gives the first INT8 layer 7-bit weights with saturation_fix first_layer' {
        $dir = New-ConfigFolder
        $result = Import-PotConfig (New-JsonConfig $dir -Params '"stat_subset_size": 16, "saturation_fix": "first_layer", "precision": "all_int8"') -WarningVariable warnings |
            Invoke-DefaultQuantization -OutputPath (Join-Path $dir 'f.onnx')
        $warnings | Should -BeNullOrEmpty
        $result.Types | Should -Be 'U8S8'
        ($result.Layers | Where-Object Precision -eq 'INT8' | ForEach-Object { "$($_.Node)=$($_.WeightBits)" }) -join ' ' |
            Should -Be '/conv1/Conv=7 /conv2/Conv=8 /conv3/Conv=8 /fc1/Gemm=8 /fc2/Gemm=8'
    }

    It 'clips weights at a quantile with weights.range_estimator preset quantile' {
        $dir = New-ConfigFolder
        $estimator = '"weights": { "range_estimator": { "preset": "quantile", "max": { "outlier_prob": 0.01 } } }'
        $quantile = Import-PotConfig (New-JsonConfig $dir -Params """stat_subset_size"": 16, ""precision"": ""all_int8"", $estimator") | Invoke-DefaultQuantization -OutputPath (Join-Path $dir 'q.onnx')
        $minmax = Invoke-DefaultQuantization (Join-Path $dir 'digits.onnx') (Join-Path $dir 'calibration') -StatSubsetSize 16 -Precision AllInt8 -OutputPath (Join-Path $dir 'm.onnx')
        $quantile.Options.WeightOutlierProbability | Should -Be 0.01
        foreach ($node in '/conv2/Conv', '/fc1/Gemm') {
            ($quantile.Layers | Where-Object Node -eq $node).WeightScaleMax | Should -BeLessThan ($minmax.Layers | Where-Object Node -eq $node).WeightScaleMax
        }
    }

    It 'takes the median of the per-item ranges with aggregator median' {
        $dir = New-ConfigFolder
        $estimator = '"activations": { "range_estimator": { "max": { "type": "abs_max", "aggregator": "median" } } }'
        $median = Import-PotConfig (New-JsonConfig $dir -Params """stat_subset_size"": 64, ""precision"": ""all_int8"", $estimator") | Invoke-DefaultQuantization -OutputPath (Join-Path $dir 'm.onnx')
        $mean = Invoke-DefaultQuantization (Join-Path $dir 'digits.onnx') (Join-Path $dir 'calibration') -StatSubsetSize 64 -Precision AllInt8 -OutputPath (Join-Path $dir 'a.onnx')
        $median.ActivationEstimator | Should -Be 'MedianMinMax'
        $median.FusedLayerCount | Should -Be 5
        $layer = $median.Layers | Where-Object Node -eq '/fc1/Gemm'
        $layer.Estimator | Should -Be 'MedianMinMax'
        $layer.InputMax | Should -Not -Be ($mean.Layers | Where-Object Node -eq '/fc1/Gemm').InputMax
    }

    It 'calibrates on an .npz data source' {
        $dir = New-ConfigFolder
        Compress-Archive -Path (Join-Path $dir 'calibration/input.npy') -DestinationPath (Join-Path $dir 'calib.zip')
        Move-Item (Join-Path $dir 'calib.zip') (Join-Path $dir 'calib.npz')
        $result = Import-PotConfig (New-JsonConfig $dir -Engine '"type": "simplified", "data_source": "calib.npz"') |
            Invoke-DefaultQuantization -OutputPath (Join-Path $dir 'z.onnx') -StatSubsetSize 16
        $result.CalibrationDataPath | Should -Be (Join-Path $dir 'calib.npz')
        $result.FusedLayerCount | Should -Be 5
    }

    It 'calibrates on the data of an engine file' {
        $dir = New-ConfigFolder
        @'
dataset:
  data_source: validation
adapter: classification
metrics:
  - type: accuracy
'@ | Set-Content (Join-Path $dir 'engine.yml')
        $result = Import-PotConfig (New-JsonConfig $dir -Engine '"config": "engine.yml"') |
            Invoke-DefaultQuantization -OutputPath (Join-Path $dir 'e.onnx') -StatSubsetSize 16
        $result.CalibrationDataPath | Should -Be (Join-Path $dir 'engine.yml')
        $result.FusedLayerCount | Should -Be 5
    }

    It 'quantizes piped models with -Config, each named after its file' {
        $dir = New-ConfigFolder
        Copy-Item (Join-Path $dir 'digits.onnx') (Join-Path $dir 'other.onnx')
        $config = Import-PotConfig (New-JsonConfig $dir)
        $results = Get-Item (Join-Path $dir 'digits.onnx'), (Join-Path $dir 'other.onnx') | Invoke-DefaultQuantization -Config $config -StatSubsetSize 16
        $results.OutputPath | Should -Be @((Join-Path $dir 'digits.int8.onnx'), (Join-Path $dir 'other.int8.onnx'))
        $results.Preset | Should -Be @('Mixed', 'Mixed')
        # -CalibrationDataPath replaces the engine's data.
        $r = Invoke-DefaultQuantization -ModelPath (Join-Path $dir 'other.onnx') -Config $config -CalibrationDataPath (Join-Path $dir 'validation') -OutputPath (Join-Path $dir 'v.onnx') -StatSubsetSize 16
        $r.CalibrationDataPath | Should -Be (Join-Path $dir 'validation')
    }

    It 'still takes a PotModel from the pipeline with -CalibrationDataPath' {
        $dir = New-ConfigFolder
        $result = Import-PotModel (Join-Path $dir 'digits.onnx') | Invoke-DefaultQuantization -CalibrationDataPath (Join-Path $dir 'calibration') -StatSubsetSize 16
        $result.OutputPath | Should -Be (Join-Path $dir 'digits.int8.onnx')
    }

    It 'names the pattern when a data_source pattern matches nothing usable' {
        $dir = New-ConfigFolder
        'a' | Set-Content (Join-Path $dir 'calibration/notes.txt')
        { Import-PotConfig (New-JsonConfig $dir -Engine '"type": "simplified", "data_source": "calibration/*.txt"') |
            Invoke-DefaultQuantization -OutputPath (Join-Path $dir 'p.onnx') -ErrorAction Stop } |
            Should -Throw -ErrorId "EngineDataPatternInvalid,$cmd" -ExpectedMessage '*notes.txt*'
        Join-Path $dir 'p.onnx' | Should -Not -Exist
    }
    It 'resizes the images of a simplified engine to the model input, as POT does' {
        # The first 40 digits PNGs (8x8 grey) as they are, and scaled up three times (24x24, each pixel a 3x3 block).
        # Bilinear with half-pixel centres reads output pixel d of the 24x24 image at 3d + 1, the centre of its block,
        # so the resized images are exactly the originals and both folders must calibrate to the same ranges.
        $dir = New-ConfigFolder
        $small = New-Item -ItemType Directory (Join-Path $dir 'small')
        $large = New-Item -ItemType Directory (Join-Path $dir 'large')
        $crcTable = [uint32[]]::new(256)
        for ($n = 0; $n -lt 256; $n++) {
            [uint32] $c = $n
            for ($k = 0; $k -lt 8; $k++) { $c = if ($c -band 1) { 0xEDB88320u -bxor ($c -shr 1) } else { $c -shr 1 } }
            $crcTable[$n] = $c
        }
        function Get-Chunk([string] $Type, [byte[]] $Data) {
            $typeAndData = [Text.Encoding]::ASCII.GetBytes($Type) + $Data
            [uint32] $crc = [uint32]::MaxValue
            foreach ($b in $typeAndData) { $crc = $crcTable[($crc -bxor $b) -band 0xFF] -bxor ($crc -shr 8) }
            $length = [BitConverter]::GetBytes([uint32] $Data.Length); [Array]::Reverse($length)
            $crcBytes = [BitConverter]::GetBytes([uint32] ($crc -bxor [uint32]::MaxValue)); [Array]::Reverse($crcBytes)
            [byte[]] ($length + $typeAndData + $crcBytes)
        }
        $files = Get-ChildItem (Join-Path $sampleDir 'validation/images') -Filter '*.png' | Sort-Object Name | Select-Object -First 40
        foreach ($file in $files) {
            Copy-Item $file.FullName $small
            # The sample images are 8-bit grey, one IDAT chunk, filter 'none' on every row (samples/digits/New-ValidationImages.ps1).
            $bytes = [IO.File]::ReadAllBytes($file.FullName)
            $at = 8; $idat = $null
            while ($at -lt $bytes.Length) {
                $len = [int] (([uint32] $bytes[$at] -shl 24) -bor ($bytes[$at + 1] -shl 16) -bor ($bytes[$at + 2] -shl 8) -bor $bytes[$at + 3])
                if ([Text.Encoding]::ASCII.GetString($bytes, $at + 4, 4) -eq 'IDAT') { $idat = $bytes[($at + 8)..($at + 7 + $len)] }
                $at += 12 + $len
            }
            $raw = [IO.MemoryStream]::new()
            $inflate = [IO.Compression.ZLibStream]::new([IO.MemoryStream]::new([byte[]] $idat), [IO.Compression.CompressionMode]::Decompress)
            $inflate.CopyTo($raw); $inflate.Dispose()
            $rows = $raw.ToArray()
            $rows.Length | Should -Be (8 * 9)
            $scaled = [IO.MemoryStream]::new()
            for ($y = 0; $y -lt 24; $y++) {
                $scaled.WriteByte(0)
                $row = [Math]::Floor($y / 3)
                $rows[$row * 9] | Should -Be 0
                for ($x = 0; $x -lt 24; $x++) { $scaled.WriteByte($rows[$row * 9 + 1 + [Math]::Floor($x / 3)]) }
            }
            $packed = [IO.MemoryStream]::new()
            $deflate = [IO.Compression.ZLibStream]::new($packed, [IO.Compression.CompressionLevel]::Optimal, $true)
            $deflate.Write($scaled.ToArray(), 0, [int] $scaled.Length); $deflate.Dispose()
            $header = [byte[]] (0, 0, 0, 24, 0, 0, 0, 24, 8, 0, 0, 0, 0)
            [IO.File]::WriteAllBytes((Join-Path $large $file.Name),
                [byte[]] ([byte[]] (137, 80, 78, 71, 13, 10, 26, 10) + (Get-Chunk 'IHDR' $header) + (Get-Chunk 'IDAT' $packed.ToArray()) + (Get-Chunk 'IEND' ([byte[]] @()))))
        }
        $params = '"preset": "mixed", "stat_subset_size": 40, "precision": "all_int8"'
        $largeConfig = Import-PotConfig (New-JsonConfig $dir -Engine '"type": "simplified", "data_source": "large"' -Params $params)
        $fromLarge = $largeConfig | Invoke-DefaultQuantization -OutputPath (Join-Path $dir 'large.onnx')
        ($largeConfig | Measure-PotModel -WarningAction SilentlyContinue).ItemCount | Should -Be 40
        $fromSmall = Import-PotConfig (New-JsonConfig $dir -Engine '"type": "simplified", "data_source": "small"' -Params $params) |
            Invoke-DefaultQuantization -OutputPath (Join-Path $dir 'small.onnx')
        $fromLarge.FusedLayerCount | Should -Be 5
        $fromLarge.CalibrationDataPath | Should -Be (Join-Path $dir 'large')
        (Import-PotModel (Join-Path $dir 'large.onnx')).IsQuantized | Should -BeTrue
        $fromLarge.Layers.Count | Should -Be $fromSmall.Layers.Count
        $fromSmall.Layers[0].InputMax | Should -BeGreaterThan 0
        for ($i = 0; $i -lt $fromSmall.Layers.Count; $i++) {
            $fromLarge.Layers[$i].InputMin | Should -Be $fromSmall.Layers[$i].InputMin
            $fromLarge.Layers[$i].InputMax | Should -Be $fromSmall.Layers[$i].InputMax
        }
    }
}

Describe 'Measure-PotModel with a PotConfig' {
    BeforeAll {
        $script:mdir = New-ConfigFolder
        @'
dataset:
  data_source: validation
adapter: classification
metrics:
  - type: accuracy
'@ | Set-Content (Join-Path $mdir 'engine.yml')
        $script:mconfig = Import-PotConfig (New-JsonConfig $mdir -Engine '"config": "engine.yml"')
    }

    It 'evaluates the config''s model on its engine when the config is piped' {
        $fromConfig = $mconfig | Measure-PotModel
        $direct = Measure-PotModel -ModelPath (Join-Path $mdir 'digits.onnx') -EnginePath (Join-Path $mdir 'engine.yml')
        $fromConfig.ModelPath | Should -Be (Join-Path $mdir 'digits.onnx')
        $fromConfig.Values.'accuracy@top1' | Should -Be $direct.Values.'accuracy@top1'
        $fromConfig.Values.'accuracy@top1' | Should -BeGreaterThan 0.9
    }

    It 'evaluates piped models with -Config' {
        $q = $mconfig | Invoke-DefaultQuantization -OutputPath (Join-Path $mdir 'q.onnx') -StatSubsetSize 64
        $rows = (Join-Path $mdir 'digits.onnx'), $q.OutputPath | Measure-PotModel -Config $mconfig
        $rows.Count | Should -Be 2
        $rows[1].ModelPath | Should -Be $q.OutputPath
        ($rows[0].Values.'accuracy@top1' - $rows[1].Values.'accuracy@top1') | Should -BeLessOrEqual 0.01
    }

    It 'runs a simplified config without metrics, with a warning' {
        $simple = Import-PotConfig (New-JsonConfig $mdir)
        $r = $simple | Measure-PotModel -WarningVariable w -WarningAction SilentlyContinue
        $r.ItemCount | Should -Be 300
        "$w" | Should -Match 'no metrics'
    }

    It 'reports a model the image fit cannot read as that model''s error and fits the engine to the next (the fit rule)' {
        # 8x8 grey images feed the digits input only when fitted to it (one channel): unfitted they have three.
        $images = Import-PotConfig (New-JsonConfig $mdir -Engine '"type": "simplified", "data_source": "validation/images/*.png"')
        $missing = Join-Path $mdir 'missing.onnx'
        $err = $null
        $r = @(Measure-PotModel $missing, (Join-Path $mdir 'digits.onnx') -Config $images -ErrorVariable err -ErrorAction SilentlyContinue -WarningAction SilentlyContinue)
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be "ModelNotFound,$measureCmd"
        $err[0].TargetObject | Should -Be $missing
        $r.Count | Should -Be 1
        $r[0].ItemCount | Should -Be 400
    }
}
