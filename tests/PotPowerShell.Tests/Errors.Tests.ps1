# Every error a user is likely to meet: a stable id (FullyQualifiedErrorId 'Id,PotPowerShell.Commands.XCommand'), the
# right ErrorCategory, the file, key or node concerned as TargetObject, and a message that says what to do.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-PotModulePath) 'PotPowerShell.psd1') -Force
    $script:sampleDir = Get-PotSamplePath
    $script:calibration = Join-Path $sampleDir 'calibration'
    $script:validation = Join-Path $sampleDir 'validation'
    $script:work = Join-Path $TestDrive 'errors'
    New-Item -ItemType Directory $work | Out-Null
    $script:model = Join-Path $work 'digits.onnx'
    Copy-Item (Join-Path $sampleDir 'digits.onnx') $model
    $script:nowhere = Join-Path $work 'nowhere'
    # A file that is not ONNX, with the .onnx extension.
    $script:notOnnx = Join-Path $work 'notes.onnx'
    'These are notes, not a model.' | Set-Content $notOnnx
    # Calibration data whose arrays are named after no model input (the model's input is 'input').
    $script:wrongData = Join-Path $work 'wrong-data'
    New-Item -ItemType Directory $wrongData | Out-Null
    Copy-Item (Join-Path $calibration 'input.npy') (Join-Path $wrongData 'image.npy')
    Copy-Item (Join-Path $calibration 'input.npy') (Join-Path $wrongData 'mask.npy')
    # An engine whose data has no labels and that defines no metric.
    $script:unlabelled = Join-Path $work 'unlabelled.yml'
    "dataset:`n  data_source: $calibration`n" | Set-Content $unlabelled
    $script:engine = Join-Path $work 'engine.yml'
    "metrics:`n  - type: accuracy`ndataset:`n  data_source: $validation`n" | Set-Content $engine
    # An existing output file of each writing cmdlet, and a file where a folder is expected.
    $script:existing = Join-Path $work 'existing.onnx'
    'old' | Set-Content $existing
    $script:existingReport = Join-Path $work 'fresh.report.json'
    '{}' | Set-Content $existingReport
    $script:existingConfig = Join-Path $work 'existing.json'
    '{}' | Set-Content $existingConfig
    $script:config = Join-Path $work 'config.json'
    @{ model = @{ model_name = 'digits'; model = $model }; engine = @{ config = $engine }
        compression = @{ algorithms = @(@{ name = 'DefaultQuantization'; params = @{ preset = 'performance' } }) } } |
        ConvertTo-Json -Depth 5 | Set-Content $config
    # A quantized model: quantizing it again is refused.
    $script:quantized = (Invoke-DefaultQuantization $model $calibration -StatSubsetSize 16 -OutputPath (Join-Path $work 'quantized.onnx')).OutputPath

    # Runs $Script with errors made terminating and returns the first error record.
    function Get-PotError([scriptblock] $Script) {
        $ErrorActionPreference = 'Stop'
        try { $null = & $Script } catch { return $_ }
        throw 'The command wrote no error.'
    }
}

Describe 'Error <Id> from <Cmdlet>: <Case>' -ForEach @(
    @{ Case = 'calibration data that does not exist'; Cmdlet = 'InvokeDefaultQuantization'; Id = 'CalibrationDataNotFound'; Category = 'ObjectNotFound'
        Script = { Invoke-DefaultQuantization $model $nowhere }; Target = { $nowhere }; Hint = '*Give a folder of .npy files*' }
    @{ Case = 'calibration data that does not exist'; Cmdlet = 'InvokeAccuracyAwareQuantization'; Id = 'CalibrationDataNotFound'; Category = 'ObjectNotFound'
        Script = { Invoke-AccuracyAwareQuantization $model $nowhere $engine }; Target = { $nowhere }; Hint = '*Give a folder of .npy files*' }
    @{ Case = 'calibration data without an array for a model input'; Cmdlet = 'InvokeDefaultQuantization'; Id = 'DataInputMissing'; Category = 'InvalidData'
        Script = { Invoke-DefaultQuantization $model $wrongData }; Target = { $wrongData }; Hint = "*'image', 'mask'*Name each array after the model input it feeds (e.g. 'input.npy'*" }
    @{ Case = 'evaluation data without an array for a model input'; Cmdlet = 'MeasurePotModel'; Id = 'DataInputMissing'; Category = 'InvalidData'
        Script = { Measure-PotModel $model -DataPath $wrongData -WarningAction SilentlyContinue }; Target = { $wrongData }; Hint = "*'image', 'mask'*Name each array after the model input it feeds (e.g. 'input.npy'*" }
    @{ Case = 'a file that is not ONNX'; Cmdlet = 'ImportPotModel'; Id = 'ModelCorrupt'; Category = 'InvalidData'
        Script = { Import-PotModel $notOnnx }; Target = { $notOnnx }; Hint = '*not a readable ONNX model*Check that the file is a complete .onnx file*' }
    @{ Case = 'a file that is not ONNX'; Cmdlet = 'InvokeDefaultQuantization'; Id = 'ModelCorrupt'; Category = 'InvalidData'
        Script = { Invoke-DefaultQuantization $notOnnx $calibration }; Target = { $notOnnx }; Hint = '*Check that the file is a complete .onnx file*' }
    @{ Case = 'a file that is not ONNX'; Cmdlet = 'InvokeAccuracyAwareQuantization'; Id = 'ModelCorrupt'; Category = 'InvalidData'
        Script = { Invoke-AccuracyAwareQuantization $notOnnx $calibration $engine }; Target = { $notOnnx }; Hint = '*Check that the file is a complete .onnx file*' }
    @{ Case = 'a file that is not ONNX'; Cmdlet = 'MeasurePotModel'; Id = 'ModelCorrupt'; Category = 'InvalidData'
        Script = { Measure-PotModel $notOnnx -DataPath $validation }; Target = { $notOnnx }; Hint = '*Check that the file is a complete .onnx file*' }
    @{ Case = 'a model that does not exist'; Cmdlet = 'InvokeDefaultQuantization'; Id = 'ModelNotFound'; Category = 'ObjectNotFound'
        Script = { Invoke-DefaultQuantization (Join-Path $work 'missing.onnx') $calibration }; Target = { Join-Path $work 'missing.onnx' }; Hint = '*Check the path*' }
    @{ Case = 'a wildcard that matches nothing'; Cmdlet = 'ImportPotModel'; Id = 'PathNotFound'; Category = 'ObjectNotFound'
        Script = { Import-PotModel (Join-Path $work 'zz*.onnx') }; Target = { Join-Path $work 'zz*.onnx' }; Hint = '*Check the path*-LiteralPath*' }
    @{ Case = 'an ignored-scope node that does not exist'; Cmdlet = 'InvokeDefaultQuantization'; Id = 'IgnoredScopeNotFound'; Category = 'ObjectNotFound'
        Script = { Invoke-DefaultQuantization $model $calibration -IgnoredScope '/conv2/Convv' -OutputPath (Join-Path $work 'scope.onnx') }
        Target = { '/conv2/Convv' }; Hint = "*Closest node names: '/conv2/Conv'*Give exact node names*" }
    @{ Case = 'an ignored-scope pattern that does not parse'; Cmdlet = 'InvokeDefaultQuantization'; Id = 'IgnoredScopeInvalidPattern'; Category = 'InvalidArgument'
        Script = { Invoke-DefaultQuantization $model $calibration -IgnoredScope '/conv(' -OutputPath (Join-Path $work 'scope.onnx') }
        Target = { '/conv(' }; Hint = '*Fix the pattern*' }
    @{ Case = 'an ignored op type that is not Type:attribute=value'; Cmdlet = 'InvokeDefaultQuantization'; Id = 'IgnoredOperationInvalid'; Category = 'InvalidArgument'
        Script = { Invoke-DefaultQuantization $model $calibration -IgnoredOpType 'Conv:group' -OutputPath (Join-Path $work 'scope.onnx') }
        Target = { 'Conv:group' }; Hint = "*Write 'Type' or 'Type:attribute=value*" }
    @{ Case = 'an ignored scope that covers every layer'; Cmdlet = 'InvokeDefaultQuantization'; Id = 'NothingToQuantize'; Category = 'InvalidArgument'
        Script = { Invoke-DefaultQuantization $model $calibration -IgnoredOpType Conv, Gemm -OutputPath (Join-Path $work 'scope.onnx') }
        Target = { $model }; Hint = '*Remove entries from the ignored scope*' }
    @{ Case = 'a model that is already quantized'; Cmdlet = 'InvokeDefaultQuantization'; Id = 'ModelAlreadyQuantized'; Category = 'InvalidArgument'
        Script = { Invoke-DefaultQuantization $quantized $calibration -OutputPath (Join-Path $work 'twice.onnx') }
        Target = { $quantized }; Hint = '*QuantizeLinear*Give the float (FP32) model*' }
    @{ Case = 'an engine without labels or metrics'; Cmdlet = 'InvokeAccuracyAwareQuantization'; Id = 'EngineHasNoAnnotations'; Category = 'InvalidArgument'
        Script = { Invoke-AccuracyAwareQuantization $model $calibration $unlabelled }; Target = { $unlabelled }; Hint = 'AccuracyAwareQuantization needs*Give an engine file with labels*' }
    @{ Case = 'an engine without labels or metrics'; Cmdlet = 'GetLayerRanking'; Id = 'EngineHasNoAnnotations'; Category = 'InvalidArgument'
        Script = { Get-LayerRanking -ModelPath $model -CalibrationDataPath $calibration -EnginePath $unlabelled }; Target = { $unlabelled }; Hint = 'Layer ranking needs*Give an engine file with labels*' }
    @{ Case = 'an engine file that does not exist'; Cmdlet = 'InvokeAccuracyAwareQuantization'; Id = 'EngineNotFound'; Category = 'ObjectNotFound'
        Script = { Invoke-AccuracyAwareQuantization $model $calibration (Join-Path $work 'missing.yml') }; Target = { Join-Path $work 'missing.yml' }; Hint = '*Check -EnginePath*' }
    @{ Case = 'an existing output model'; Cmdlet = 'InvokeDefaultQuantization'; Id = 'OutputExists'; Category = 'ResourceExists'
        Script = { Invoke-DefaultQuantization $model $calibration -OutputPath $existing }; Target = { $existing }; Hint = '*Use -Force to overwrite it, or choose another -OutputPath*' }
    @{ Case = 'an existing output model'; Cmdlet = 'InvokeAccuracyAwareQuantization'; Id = 'OutputExists'; Category = 'ResourceExists'
        Script = { Invoke-AccuracyAwareQuantization $model $calibration $engine -OutputPath $existing }; Target = { $existing }; Hint = '*Use -Force to overwrite it, or choose another -OutputPath*' }
    @{ Case = 'an existing report'; Cmdlet = 'InvokeAccuracyAwareQuantization'; Id = 'OutputExists'; Category = 'ResourceExists'
        Script = { Invoke-AccuracyAwareQuantization $model $calibration $engine -OutputPath (Join-Path $work 'fresh.onnx') }; Target = { $existingReport }; Hint = '*Use -Force*' }
    @{ Case = 'an existing configuration file'; Cmdlet = 'ExportPotConfig'; Id = 'OutputExists'; Category = 'ResourceExists'
        Script = { Import-PotConfig $config | Export-PotConfig -Path $existingConfig }; Target = { $existingConfig }; Hint = '*Use -Force to overwrite it, or choose another -Path*' }
    @{ Case = 'an output path that is a folder'; Cmdlet = 'InvokeDefaultQuantization'; Id = 'OutputIsFolder'; Category = 'InvalidArgument'
        Script = { Invoke-DefaultQuantization $model $calibration -OutputPath $work -Force }; Target = { $work }; Hint = '*is a folder*Give -OutputPath the path of a file*' }
    @{ Case = 'an output path that is the input model'; Cmdlet = 'InvokeDefaultQuantization'; Id = 'OutputIsInput'; Category = 'InvalidArgument'
        Script = { Invoke-DefaultQuantization $model $calibration -OutputPath $model -Force }; Target = { $model }; Hint = '*Choose another -OutputPath*' }
    @{ Case = 'an accuracy-aware output path that is the input model'; Cmdlet = 'InvokeAccuracyAwareQuantization'; Id = 'OutputIsInput'; Category = 'InvalidArgument'
        Script = { Invoke-AccuracyAwareQuantization $model $calibration $engine -OutputPath $model -Force }; Target = { $model }; Hint = '*Choose another -OutputPath*' }
    @{ Case = 'an output folder that cannot be created'; Cmdlet = 'InvokeDefaultQuantization'; Id = 'OutputWriteFailed'; Category = 'WriteError'
        Script = { Invoke-DefaultQuantization $model $calibration -StatSubsetSize 8 -OutputPath (Join-Path $existing 'model.onnx') }
        Target = { Join-Path $existing 'model.onnx' }; Hint = '*Could not write the model*choose another output path*' }
    @{ Case = 'a -TimeLimit given as a bare number'; Cmdlet = 'InvokeAccuracyAwareQuantization'; Id = 'InvalidTimeLimit'; Category = 'InvalidArgument'
        Script = { Invoke-AccuracyAwareQuantization $model $calibration $engine -TimeLimit 600 }; Target = { [TimeSpan] 600 }; Hint = "*Write it as a time span, e.g. '00:10:00'*" }
) {
    BeforeAll {
        $err = Get-PotError $Script
    }

    It 'has the stable id' {
        $err.FullyQualifiedErrorId | Should -Be "$Id,PotPowerShell.Commands.$($Cmdlet)Command"
    }

    It 'has the category <Category>' {
        "$($err.CategoryInfo.Category)" | Should -Be $Category
    }

    It 'names the file, node or value concerned' {
        $err.TargetObject | Should -Be (& $Target)
    }

    It 'says what to do' {
        $err.Exception.Message | Should -BeLike $Hint
        # The console shows ErrorDetails when it is set: it must be the same helpful text.
        if ($err.ErrorDetails) { $err.ErrorDetails.Message | Should -Be $err.Exception.Message }
    }
}

Describe 'A parameter value outside its set' {
    It '<Command> -<Parameter> <Value> names the values it accepts' -ForEach @(
        @{ Command = 'Invoke-DefaultQuantization'; Parameter = 'Preset'; Value = 'Fast'; Accepted = 'Performance,Mixed,Accuracy' }
        @{ Command = 'Invoke-DefaultQuantization'; Parameter = 'TargetDevice'; Value = 'TPU'; Accepted = 'Any,CPU,GPU,NPU' }
        @{ Command = 'Invoke-AccuracyAwareQuantization'; Parameter = 'DropType'; Value = 'Percent'; Accepted = 'Absolute,Relative' }
        @{ Command = 'Get-LayerRanking'; Parameter = 'Method'; Value = 'Random'; Accepted = 'Signal,Metric,OutputError' }
        @{ Command = 'Export-PotConfig'; Parameter = 'Format'; Value = 'Xml'; Accepted = 'Json,Yaml' }
    ) {
        $parameters = @{ $Parameter = $Value }
        $err = Get-PotError { & $Command @parameters }
        $err.FullyQualifiedErrorId | Should -BeLike "ParameterArgumentValidationError,*"
        "$($err.CategoryInfo.Category)" | Should -Be 'InvalidData'
        $err.Exception.Message | Should -BeLike "*'$Parameter'*`"$Value`"*`"$Accepted`"*"
        # Checked when the arguments bind, before any file is read or written.
        @(Get-ChildItem $work -Filter '*.int8.onnx') | Should -BeNullOrEmpty
    }
}

Describe 'Errors do not lose work' {
    It 'writes nothing when quantization fails' {
        $before = @(Get-ChildItem -Force $work | ForEach-Object Name | Sort-Object)
        $null = Invoke-DefaultQuantization $model $wrongData -OutputPath (Join-Path $work 'never.onnx') -ErrorAction SilentlyContinue
        $null = Invoke-DefaultQuantization $model $calibration -IgnoredScope '/nothing' -OutputPath (Join-Path $work 'never.onnx') -ErrorAction SilentlyContinue
        @(Get-ChildItem -Force $work | ForEach-Object Name | Sort-Object) | Should -Be $before
    }

    It 'goes on with the next piped model after an error' {
        $out = Join-Path $TestDrive 'next'
        New-Item -ItemType Directory $out | Out-Null
        Copy-Item $notOnnx (Join-Path $out 'a.onnx')
        Copy-Item $model (Join-Path $out 'b.onnx')
        $results = Get-ChildItem (Join-Path $out '*.onnx') | Invoke-DefaultQuantization -CalibrationDataPath $calibration -StatSubsetSize 8 -ErrorVariable failures -ErrorAction SilentlyContinue
        @($failures).Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'ModelCorrupt,*'
        @($results).Count | Should -Be 1
        $results.OutputPath | Should -Be (Join-Path $out 'b.int8.onnx')
    }
}

Describe 'Output paths that name no regular file' {
    It 'refuses -OutputPath ending in a separator without creating the folder' {
        $err = Get-PotError { Invoke-DefaultQuantization $model $calibration -StatSubsetSize 8 -OutputPath ((Join-Path $work 'newdir') + '/') }
        $err.FullyQualifiedErrorId | Should -Be 'OutputIsFolder,PotPowerShell.Commands.InvokeDefaultQuantizationCommand'
        $err.Exception.Message | Should -BeLike '*ends with a directory separator*'
        Join-Path $work 'newdir' | Should -Not -Exist
    }

    It 'refuses Export-PotConfig -Path <folder> instead of writing <folder>.json' {
        $folder = Join-Path $work 'configs'
        New-Item -ItemType Directory $folder | Out-Null
        $err = Get-PotError { Import-PotConfig $config | Export-PotConfig -Path $folder }
        $err.FullyQualifiedErrorId | Should -Be 'OutputIsFolder,PotPowerShell.Commands.ExportPotConfigCommand'
        "$folder.json" | Should -Not -Exist
    }

    It 'replaces only regular files, even with -Force' {
        $real = Join-Path $work 'real.onnx'
        'keep' | Set-Content $real
        $link = Join-Path $work 'link.onnx'
        New-Item -ItemType SymbolicLink -Path $link -Target $real | Out-Null
        $err = Get-PotError { Invoke-DefaultQuantization $model $calibration -StatSubsetSize 8 -OutputPath $link -Force }
        $err.FullyQualifiedErrorId | Should -Be 'OutputNotRegularFile,PotPowerShell.Commands.InvokeDefaultQuantizationCommand'
        "$($err.CategoryInfo.Category)" | Should -Be 'InvalidArgument'
        (Get-Item $link).LinkTarget | Should -Be $real
        Get-Content $real | Should -Be 'keep'
    }
}
