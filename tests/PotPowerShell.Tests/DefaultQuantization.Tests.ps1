BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-PotModulePath) 'PotPowerShell.psd1') -Force
    $script:sampleDir = Get-PotSamplePath
    $script:calibration = Join-Path $sampleDir 'calibration'
    $script:cmd = 'PotPowerShell.Commands.InvokeDefaultQuantizationCommand'
}

Describe 'Invoke-DefaultQuantization' {
    BeforeEach {
        $script:work = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        New-Item -ItemType Directory $work | Out-Null
        $script:model = Join-Path $work 'digits.onnx'
        Copy-Item (Join-Path $sampleDir 'digits.onnx') $model
    }

    It 'quantizes a PotModel from the pipeline next to the model by default' {
        $result = Import-PotModel -Path $model | Invoke-DefaultQuantization -CalibrationDataPath $calibration -StatSubsetSize 64
        $result.PSObject.TypeNames[0] | Should -Be 'PotPowerShell.Core.Results.QuantizationResult'
        $result.OutputPath | Should -Be (Join-Path $work 'digits.int8.onnx')
        $result.OutputPath | Should -Exist
        (Import-PotModel -Path $result.OutputPath).IsQuantized | Should -BeTrue
    }

    It 'calibrates on a folder of images as the simplified engine of a POT config does' {
        # POT's 'pot -q default --engine simplified --data-source images/' in one parameter.
        $images = Join-Path $sampleDir 'validation/images'
        $direct = Invoke-DefaultQuantization $model $images -Precision AllInt8 -SkipLatencyCheck -OutputPath (Join-Path $work 'direct.onnx')
        $direct.StatSubsetSize | Should -Be @(Get-ChildItem $images -Filter *.png).Count
        "model:`n  model_name: digits`n  model: $model`nengine:`n  type: simplified`n  data_source: $images`ncompression:`n  algorithms:`n    - name: DefaultQuantization`n" |
            Set-Content (Join-Path $work 'pot.yml')
        $configured = Import-PotConfig (Join-Path $work 'pot.yml') | Invoke-DefaultQuantization -Precision AllInt8 -SkipLatencyCheck -OutputPath (Join-Path $work 'config.onnx')
        (Get-FileHash $direct.OutputPath).Hash | Should -Be (Get-FileHash $configured.OutputPath).Hash
    }

    It 'takes files from Get-ChildItem' {
        $result = Get-Item $model | Invoke-DefaultQuantization -CalibrationDataPath $calibration -StatSubsetSize 32 -OutputPath (Join-Path $work 'q.onnx')
        $result.OutputPath | Should -Be (Join-Path $work 'q.onnx')
    }

    It 'reports what it did' {
        $result = Invoke-DefaultQuantization $model $calibration -Preset Accuracy -StatSubsetSize 100 -StatBatchSize 20 -Seed 3 -ShuffleData -Precision AllInt8
        $result.Preset | Should -Be 'Accuracy'
        $result.EffectivePreset | Should -Be 'Mixed'
        $result.SymmetricWeights | Should -BeTrue
        $result.SymmetricActivations | Should -BeFalse
        $result.StatSubsetSize | Should -Be 100
        # -StatBatchSize is a floor: the sample's small items share larger automatic batches.
        $result.StatBatchSize | Should -BeGreaterOrEqual 20
        $result.Seed | Should -Be 3
        $result.LayerCount | Should -Be 5
        $result.QuantizedLayerCount | Should -Be 5
        $result.FusedLayerCount | Should -Be 5
        $result.Precision | Should -Be 'AllInt8'
        $result.Types | Should -BeIn @('U8S8', 'U8S7', 'S8S8')
        $result.TypesReason | Should -Not -BeNullOrEmpty
        # The ONNX Runtime the module ships: the version pinned for the build.
        $pinned = ([xml](Get-Content (Join-Path $PSScriptRoot '../../Directory.Packages.props') -Raw)).Project.ItemGroup.PackageVersion |
            Where-Object Include -EQ 'Microsoft.ML.OnnxRuntime'
        $result.OnnxRuntimeVersion | Should -Be $pinned.Version
        $result.CpuFeatures | Should -Not -BeNullOrEmpty
        $result.CalibrationTime | Should -BeOfType [TimeSpan]
        $result.Layers.Count | Should -Be 5
        $conv1 = $result.Layers | Where-Object Node -eq '/conv1/Conv'
        $conv1.Precision | Should -Be 'INT8'
        $conv = $result.Layers | Where-Object Node -eq '/conv2/Conv'
        $conv.Precision | Should -Be 'INT8'
        $conv.InputScale | Should -BeGreaterThan 0
        $conv.WeightScaleCount | Should -BeGreaterThan 1
        # auto by default, judged by the self-check against POT's mean min/max; the result says which won.
        $result.ActivationEstimator | Should -BeIn @('Auto', 'MeanMinMax')
        $result.ActivationEstimatorReason | Should -Match '^(auto|POT''s mean min/max): self-check [\d.]+ dB with auto ranges'
        $conv.Estimator | Should -Be $result.ActivationEstimator
        $conv.ReasonCode | Should -Be 'Quantized'
        $result.ModelType | Should -Be 'none'
        $result.SmoothQuant | Should -BeLike 'not applied: not a transformer model*'
        $result.EqualizedPairs.Count | Should -BeGreaterThan 0
    }

    It 'keeps ignored layers and op types in float' {
        $result = Invoke-DefaultQuantization $model $calibration -StatSubsetSize 32 -IgnoredScope '/fc2/Gemm' -IgnoredOpType 'Conv:kernel_shape=[3,3]' -Precision AllInt8
        ($result.Layers | Where-Object Precision -eq 'Float').Node | Should -Be @('/conv1/Conv', '/conv2/Conv', '/conv3/Conv', '/fc2/Gemm')
        ($result.Layers | Where-Object Precision -eq 'INT8').Node | Should -Be @('/fc1/Gemm')
        ($result.Layers | Where-Object Node -eq '/fc2/Gemm').Reason | Should -Be 'ignored scope'
        ($result.Layers | Where-Object Node -eq '/fc2/Gemm').ReasonCode | Should -Be 'IgnoredScope'
        # fc1's Relu feeds the float fc2: written as Max, so ONNX Runtime still runs fc1 as QGemm (a Relu would make it a float FusedGemm).
        $result.FusedKernels.Kernel | Should -Be @('QGemm')
        $result.FusedLayerCount | Should -Be 1
    }

    It 'folds Mul and Add by constants into the Conv that reads them and writes a spelled-out hard-swish as x * HardSigmoid(x)' {
        Import-PotTestSupport
        $synthetic = Get-PotSupportType 'SyntheticModels'
        $paddle = Join-Path $work 'paddle.onnx'
        (Get-PotCoreType 'PotPowerShell.Core.Onnx.OnnxModelFile')::Save($synthetic::AffineHardSwishConvs(4, 16, 3), $paddle)
        $data = Join-Path $work 'paddle-calibration'
        (Get-PotSupportType 'NpyWriter')::Write((Join-Path $data 'x.npy'), $synthetic::NormalData(16, [long[]] @(16, 16, 16), 4))
        $result = Invoke-DefaultQuantization $paddle $data -Precision AllInt8 -SkipLatencyCheck
        ($result.FusedKernels | Where-Object Kernel -eq 'QLinearConv').Count | Should -Be 4
        $ops = @{}
        (Import-PotModel $result.OutputPath).OpTypes | ForEach-Object { $ops[$_.OpType] = $_.Count }
        # Four hard-swishes; the Mul/Add pairs before the two 1 x 1 Convs folded, those after each Conv, before the padded
        # 3 x 3 Conv and at the output left.
        $ops['HardSigmoid'] | Should -Be 4
        $ops.ContainsKey('Clip') | Should -BeFalse
        $ops.ContainsKey('Div') | Should -BeFalse
        $ops['Add'] | Should -Be 6
        $ops['Mul'] | Should -Be 10
        $result.Check.Passed | Should -BeTrue
    }

    It 'keeps an ignored non-weighted op in float, by name, pattern or type' {
        $all = Invoke-DefaultQuantization $model $calibration -StatSubsetSize 16 -Precision AllInt8 -SkipLatencyCheck -OutputPath (Join-Path $work 'all.onnx')
        $all.FusedKernels.Kernel | Should -Contain 'QLinearAdd'
        foreach ($scope in @(@{ IgnoredScope = '/Add' }, @{ IgnoredScope = '/^.Add$/' }, @{ IgnoredOpType = 'Add' })) {
            $result = Invoke-DefaultQuantization $model $calibration -StatSubsetSize 16 -Precision AllInt8 -SkipLatencyCheck -OutputPath (Join-Path $work 'noadd.onnx') -Force @scope
            $result.FusedKernels.Kernel | Should -Not -Contain 'QLinearAdd'
            $result.QuantizedLayerCount | Should -Be $all.QuantizedLayerCount
        }
    }

    It 'refuses NaN calibration data by default and skips it with -SkipNonFiniteValues' {
        $bytes = [IO.File]::ReadAllBytes((Join-Path $calibration 'input.npy'))
        $data = 10 + [BitConverter]::ToUInt16($bytes, 8)
        [BitConverter]::GetBytes([float]::NaN).CopyTo($bytes, $data + 4 * (64 * 3 + 5))
        $bad = Join-Path $work 'nan'
        New-Item -ItemType Directory $bad | Out-Null
        [IO.File]::WriteAllBytes((Join-Path $bad 'input.npy'), $bytes)
        { Invoke-DefaultQuantization $model $bad -StatSubsetSize 16 -OutputPath (Join-Path $work 'nan.onnx') -ErrorAction Stop } |
            Should -Throw -ErrorId "NonFiniteCalibrationData,$cmd" -ExpectedMessage "*item 3 *model input 'input'*"
        Join-Path $work 'nan.onnx' | Should -Not -Exist
        $result = Invoke-DefaultQuantization $model $bad -StatSubsetSize 16 -OutputPath (Join-Path $work 'nan.onnx') -SkipNonFiniteValues -WarningVariable warnings -WarningAction SilentlyContinue
        $result.OutputPath | Should -Exist
        "$warnings" | Should -Match "skipped \d+ non-finite values"
        $result.Layers | Where-Object InputMax -ne $null | ForEach-Object { [float]::IsFinite($_.InputMax) | Should -BeTrue }
    }

    It 'warns when an ignored op type matches no node' {
        $result = Invoke-DefaultQuantization $model $calibration -StatSubsetSize 16 -IgnoredOpType 'Conv:group=2' -Precision AllInt8 -SkipLatencyCheck -WarningVariable warnings -WarningAction SilentlyContinue
        $result.QuantizedLayerCount | Should -Be 5
        $warnings | Should -HaveCount 1
        "$($warnings[0])" | Should -Match "group=2"
    }

    It 'names the closest nodes when an ignored name matches nothing' {
        { Invoke-DefaultQuantization $model $calibration -IgnoredScope '/conv1/Con' -ErrorAction Stop } |
            Should -Throw -ErrorId "IgnoredScopeNotFound,$cmd" -ExpectedMessage "*'/conv1/Conv'*"
    }

    It 'writes nothing with -WhatIf' {
        $result = Invoke-DefaultQuantization $model $calibration -WhatIf
        $result | Should -BeNullOrEmpty
        Join-Path $work 'digits.int8.onnx' | Should -Not -Exist
        (Get-ChildItem $work).Name | Should -Be @('digits.onnx')
    }

    It 'refuses to overwrite without -Force and overwrites with it' {
        $out = Join-Path $work 'exists.onnx'
        'old' | Set-Content $out
        { Invoke-DefaultQuantization $model $calibration -OutputPath $out -ErrorAction Stop } |
            Should -Throw -ErrorId "OutputExists,$cmd"
        Get-Content $out | Should -Be 'old'
        $null = Invoke-DefaultQuantization $model $calibration -OutputPath $out -StatSubsetSize 16 -Force
        (Get-Item $out).Length | Should -BeGreaterThan 1000
    }

    It 'reports missing calibration data, and stops: it would fail for every model (the error rule)' {
        $err = { Invoke-DefaultQuantization $model (Join-Path $work 'nothing') -ErrorAction SilentlyContinue } |
            Should -Throw -ErrorId "CalibrationDataNotFound,$cmd" -PassThru
        $err.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        (Get-ChildItem $work).Name | Should -Be @('digits.onnx')
    }

    It 'reports calibration data without the model input' {
        $bad = Join-Path $work 'bad'
        New-Item -ItemType Directory $bad | Out-Null
        Copy-Item (Join-Path $calibration 'input.npy') (Join-Path $bad 'a.npy')
        Copy-Item (Join-Path $calibration 'input.npy') (Join-Path $bad 'b.npy')
        { Invoke-DefaultQuantization $model $bad -ErrorAction Stop } | Should -Throw -ErrorId "DataInputMissing,$cmd"
    }

    It 'rejects an unknown preset' {
        { Invoke-DefaultQuantization $model $calibration -Preset Fast -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError,PotPowerShell.Commands.InvokeDefaultQuantizationCommand'
    }

    It 'has a list view for the result and a table view for its layers' {
        $result = Invoke-DefaultQuantization $model $calibration -StatSubsetSize 16 -Precision AllInt8 -BatchSize 4
        $text = $result | Out-String
        $text | Should -Match 'Layers\s*:\s*5 of 5 INT8, 5 run as INT8 kernels'
        $text | Should -Match 'FusedKernels\s*:\s*.*QLinearConv=3'
        $text | Should -Match 'Precision\s*:\s*AllInt8'
        $text | Should -Match 'Speedup\s*:\s*p50 [0-9.]+ ms vs FP32 [0-9.]+ ms: [0-9.]+x \(batch 4, one thread\)'
        $text | Should -Match 'TotalTime\s*:\s*prepare'
        $table = $result.Layers | Out-String -Width 250
        $table | Should -Match 'Node\s+OpType\s+Precision\s+InputMin\s+InputMax'
        $table | Should -Match '/conv1/Conv\s+Conv\s+INT8'
        $table | Should -Match '/conv2/Conv\s+Conv\s+INT8'
    }

    It 'takes -ModelType and lets it beat the config''s model_type' {
        $config = Join-Path $work 'transformer.json'
        "{ ""model"": { ""model_name"": ""d"", ""model"": ""$($model.Replace('\', '/'))"" }, ""engine"": { ""type"": ""simplified"", ""data_source"": ""$($calibration.Replace('\', '/'))"" },
           ""compression"": { ""model_type"": ""transformer"", ""algorithms"": [ { ""name"": ""DefaultQuantization"", ""params"": { ""stat_subset_size"": 16 } } ] } }" | Set-Content $config
        $fromConfig = Import-PotConfig $config | Invoke-DefaultQuantization -OutputPath (Join-Path $work 't1.onnx')
        $fromConfig.Options.ModelType | Should -Be 'transformer'
        # SmoothQuant runs on transformer models: tried with the default alpha, kept or not by the self-check.
        $fromConfig.SmoothQuant | Should -Match '^(applied|not applied): default alpha 0\.8'
        $typed = Import-PotConfig $config | Invoke-DefaultQuantization -ModelType None -OutputPath (Join-Path $work 't2.onnx')
        $typed.Options.ModelType | Should -Be 'none'
        $typed.ModelType | Should -Be 'none'
        $typed.SmoothQuant | Should -BeLike 'not applied: not a transformer model*'
        $plain = Invoke-DefaultQuantization $model $calibration -StatSubsetSize 16 -ModelType Transformer -OutputPath (Join-Path $work 't3.onnx')
        $plain.Options.ModelType | Should -Be 'transformer'
        { Invoke-DefaultQuantization $model $calibration -ModelType Bert -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError,PotPowerShell.Commands.InvokeDefaultQuantizationCommand'
    }

    It 'keeps float the layers that are faster in float on this CPU, says why, and proves the speed-up in the result' {
        $result = Invoke-DefaultQuantization $model $calibration -StatSubsetSize 16 -Precision Fastest -OutputPath (Join-Path $work 'v.onnx') -Verbose -WarningAction SilentlyContinue 4>&1 |
            ForEach-Object -Begin { $script:verbose = @() } -Process { if ($_ -is [System.Management.Automation.VerboseRecord]) { $script:verbose += $_ } else { $_ } }
        $result.Precision | Should -Be 'Fastest'
        $result.BatchSize | Should -Be 1
        $result.LatencyCachePath | Should -Exist
        # Every timed layer carries its figures; every float one says why, with them, and is named on the verbose stream.
        $result.Layers | ForEach-Object { $_.Int8Ms | Should -Not -BeNullOrEmpty; $_.FloatMs | Should -Not -BeNullOrEmpty }
        $float = @($result.Layers | Where-Object Precision -eq 'Float')
        # Faster in float, or within 3 % of the fastest and more accurate in float (a busy machine can time them so).
        $float | ForEach-Object { $_.Reason | Should -Match '^(faster in float|as fast in float and more accurate): .* ms .* on this CPU \(batch 1' }
        @($verbose.Message -match "^Kept '.*' float, (faster in float|as fast in float and more accurate).*-Precision AllInt8 quantizes it too\.$").Count | Should -Be $float.Count
        @($result.PrecisionCandidates | Where-Object Chosen).Count | Should -Be 1
        # The proof: both models timed side by side.
        $result.Fp32LatencyMs | Should -BeGreaterThan 0
        $result.LatencyMs | Should -BeGreaterThan 0
        $result.Speedup | Should -Be ([math]::Round($result.Fp32LatencyMs / $result.LatencyMs, 3)) -Because 'the ratio of the medians'
        # A slower output warns when it has INT8 layers (with none it runs as the FP32 model does); the band around 1
        # is left out because Speedup is rounded to three digits and the warning reads the exact ratio.
        $int8 = @($result.Layers | Where-Object Precision -eq 'INT8').Count
        $warned = @($result.Warnings -match 'not faster than the FP32 model').Count -gt 0
        if ($int8 -gt 0 -and $result.Speedup -lt 0.999) { $warned | Should -BeTrue }
        if ($int8 -eq 0 -or $result.Speedup -gt 1.001) { $warned | Should -BeFalse }

        $skipped = Invoke-DefaultQuantization $model $calibration -StatSubsetSize 16 -OutputPath (Join-Path $work 's.onnx') -SkipLatencyCheck -BatchSize 8
        $skipped.Speedup | Should -BeNullOrEmpty
        $skipped.BatchSize | Should -Be 8
    }

    It 'takes the deprecated -QuantizeStemConvolutions as -Precision AllInt8 with a warning, and keeps every layer INT8 for a GPU target' {
        $all = Invoke-DefaultQuantization $model $calibration -StatSubsetSize 16 -QuantizeStemConvolutions -SkipLatencyCheck -OutputPath (Join-Path $work 'all.onnx') -WarningVariable warnings -WarningAction SilentlyContinue
        "$warnings" | Should -Match 'QuantizeStemConvolutions is deprecated.*-Precision AllInt8'
        $all.Precision | Should -Be 'AllInt8'
        $all.QuantizedLayerCount | Should -Be 5
        $all.FusedLayerCount | Should -Be 5
        ($all.FusedKernels | Where-Object Kernel -eq 'QLinearConv').Count | Should -Be 3
        # Other targets keep POT's semantics: every layer INT8.
        $gpu = Invoke-DefaultQuantization $model $calibration -StatSubsetSize 16 -TargetDevice GPU -SkipLatencyCheck -OutputPath (Join-Path $work 'gpu.onnx')
        $gpu.Precision | Should -Be 'AllInt8'
        $gpu.QuantizedLayerCount | Should -Be 5
        { Invoke-DefaultQuantization $model $calibration -Precision Int4 -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError,PotPowerShell.Commands.InvokeDefaultQuantizationCommand'
    }
}
