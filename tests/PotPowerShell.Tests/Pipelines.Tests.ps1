# Pipelines a user writes: several models from Get-ChildItem through Import-PotModel into Invoke-DefaultQuantization,
# and quantization results into Measure-PotModel, which measures the model the result wrote.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-PotModulePath) 'PotPowerShell.psd1') -Force
    $script:sampleDir = Get-PotSamplePath
    $script:calibration = Join-Path $sampleDir 'calibration'
    $script:validation = Join-Path $sampleDir 'validation'
    $script:engine = Join-Path $TestDrive 'engine.yml'
    "metrics:`n  - type: accuracy`n  - type: cosine_similarity`n    reference: fp32`ndataset:`n  data_source: $validation`n" | Set-Content $engine

    # Two models in one folder, quantized once by the pipeline under test; later tests reuse the results.
    $script:models = Join-Path $TestDrive 'models'
    New-Item -ItemType Directory $models | Out-Null
    Copy-Item (Join-Path $sampleDir 'digits.onnx') (Join-Path $models 'a.onnx')
    Copy-Item (Join-Path $sampleDir 'digits.onnx') (Join-Path $models 'b.onnx')
    Push-Location $models
    try { $script:quantized = @(Get-ChildItem *.onnx | Import-PotModel | Invoke-DefaultQuantization -CalibrationDataPath $calibration -StatSubsetSize 32) }
    finally { Pop-Location }
}

Describe 'Get-ChildItem *.onnx | Import-PotModel | Invoke-DefaultQuantization' {
    It 'quantizes each model next to itself' {
        $quantized | Should -HaveCount 2
        $quantized.ModelPath | Should -Be @((Join-Path $models 'a.onnx'), (Join-Path $models 'b.onnx'))
        $quantized.OutputPath | Should -Be @((Join-Path $models 'a.int8.onnx'), (Join-Path $models 'b.int8.onnx'))
        foreach ($r in $quantized) { (Import-PotModel -LiteralPath $r.OutputPath).IsQuantized | Should -BeTrue }
    }

    It 'refuses the quantized models when run again over the folder, and keeps the float ones with their outputs' {
        $again = @(Get-ChildItem (Join-Path $models '*.onnx') | Import-PotModel |
                Invoke-DefaultQuantization -CalibrationDataPath $calibration -StatSubsetSize 8 -ErrorVariable failures -ErrorAction SilentlyContinue)
        $again | Should -BeNullOrEmpty
        @($failures | ForEach-Object { ($_.FullyQualifiedErrorId -split ',')[0] } | Sort-Object) |
            Should -Be @('ModelAlreadyQuantized', 'ModelAlreadyQuantized', 'OutputExists', 'OutputExists')
        @(Get-ChildItem (Join-Path $models '*.int8.int8.onnx')) | Should -BeNullOrEmpty
    }

    It 'quantizes only the float models when filtered on IsQuantized' {
        $float = @(Get-ChildItem (Join-Path $models '*.onnx') | Import-PotModel | Where-Object { -not $_.IsQuantized })
        $float.Path | Should -Be @((Join-Path $models 'a.onnx'), (Join-Path $models 'b.onnx'))
        $results = @($float | Invoke-DefaultQuantization -CalibrationDataPath $calibration -StatSubsetSize 32 -Force -ErrorVariable failures)
        $failures | Should -BeNullOrEmpty
        $results.OutputPath | Should -Be $quantized.OutputPath
    }

    It 'takes files straight from Get-ChildItem' {
        $out = Join-Path $TestDrive 'files'
        New-Item -ItemType Directory $out | Out-Null
        Copy-Item (Join-Path $models 'a.onnx'), (Join-Path $models 'b.onnx') $out
        $results = @(Get-ChildItem (Join-Path $out '*.onnx') | Invoke-DefaultQuantization -CalibrationDataPath $calibration -StatSubsetSize 8)
        $results.OutputPath | Should -Be @((Join-Path $out 'a.int8.onnx'), (Join-Path $out 'b.int8.onnx'))
    }

    It 'does not let several piped models overwrite one -OutputPath, even with -Force' {
        $one = Join-Path $TestDrive 'one.int8.onnx'
        $results = @(Get-ChildItem (Join-Path $models '?.onnx') | Invoke-DefaultQuantization -CalibrationDataPath $calibration -StatSubsetSize 8 -OutputPath $one -Force -ErrorVariable failures -ErrorAction SilentlyContinue)
        $results | Should -HaveCount 1
        $results[0].ModelPath | Should -Be (Join-Path $models 'a.onnx')
        $failures | Should -HaveCount 1
        $failures[0].FullyQualifiedErrorId | Should -Be 'OutputWrittenTwice,PotPowerShell.Commands.InvokeDefaultQuantizationCommand'
        $failures[0].TargetObject | Should -Be $one
    }
}

Describe 'Quantization results | Measure-PotModel' {
    It 'measures the model Invoke-DefaultQuantization wrote, not the float model it read' {
        $evaluations = @($quantized | Measure-PotModel -DataPath $validation)
        $evaluations | Should -HaveCount 2
        $evaluations.ModelPath | Should -Be $quantized.OutputPath
        $direct = Measure-PotModel -ModelPath $quantized[0].OutputPath -DataPath $validation
        $evaluations[0].Values.'accuracy@top1' | Should -Be $direct.Values.'accuracy@top1'
    }

    It 'measures in one pipeline with the quantization' {
        $out = Join-Path $TestDrive 'one-pipeline.onnx'
        $evaluation = Invoke-DefaultQuantization (Join-Path $models 'a.onnx') $calibration -StatSubsetSize 16 -OutputPath $out |
            Measure-PotModel -EnginePath $engine -ReferenceModelPath (Join-Path $models 'a.onnx')
        $evaluation.ModelPath | Should -Be $out
        # Against its FP32 model a quantized model's outputs differ a little: the float model itself would give exactly 1.
        $evaluation.Values.'cosine_similarity' | Should -BeLessThan 1
        $evaluation.Values.'cosine_similarity' | Should -BeGreaterThan 0.99
    }

    It 'measures the model Invoke-AccuracyAwareQuantization wrote' {
        $out = Join-Path $TestDrive 'aaq.onnx'
        $result = Invoke-AccuracyAwareQuantization (Join-Path $models 'a.onnx') $calibration $engine -MaximalDrop 0.01 -OutputPath $out
        $evaluation = $result | Measure-PotModel -DataPath $validation
        $evaluation.ModelPath | Should -Be $out
    }

    It 'measures each piped object by its own path: results, files, models and strings' {
        $a = Join-Path $models 'a.onnx'
        $evaluations = @($quantized[0], (Get-Item $a), (Import-PotModel $a), $quantized[1].OutputPath | Measure-PotModel -DataPath $validation)
        $evaluations.ModelPath | Should -Be @($quantized[0].OutputPath, $a, $a, $quantized[1].OutputPath)
    }
}

Describe 'Paths' {
    It 'resolves relative and PowerShell drive paths against the current PowerShell location, not the process folder' {
        $folder = Join-Path $TestDrive 'drive'
        New-Item -ItemType Directory $folder | Out-Null
        Copy-Item (Join-Path $models 'a.onnx') $folder
        Copy-Item -Recurse $calibration (Join-Path $folder 'calibration')
        $null = New-PSDrive -Name PotUx -PSProvider FileSystem -Root $folder
        Push-Location PotUx:\
        try {
            $result = Invoke-DefaultQuantization a.onnx calibration -OutputPath out/a.int8.onnx -StatSubsetSize 8
            $result.ModelPath | Should -Be (Join-Path $folder 'a.onnx')
            $result.OutputPath | Should -Be (Join-Path $folder 'out/a.int8.onnx')
            (Measure-PotModel PotUx:/out/a.int8.onnx -DataPath $validation).ModelPath | Should -Be $result.OutputPath
        }
        finally {
            Pop-Location
            Remove-PSDrive PotUx
        }
    }
}

Describe 'Bad inputs in a pipeline' {
    It 'reports each bad model and still returns the good one after them' {
        $dir = Join-Path $TestDrive 'mixed'
        New-Item -ItemType Directory $dir | Out-Null
        $good = Join-Path $dir 'good.onnx'
        Copy-Item (Join-Path $sampleDir 'digits.onnx') $good
        $bytes = [IO.File]::ReadAllBytes($good)
        [IO.File]::WriteAllBytes((Join-Path $dir 'bad1.onnx'), $bytes[0..999])
        [IO.File]::WriteAllBytes((Join-Path $dir 'bad2.onnx'), [byte[]](1..200 | ForEach-Object { 0xFF }))
        $models = @((Join-Path $dir 'bad1.onnx'), (Join-Path $dir 'bad2.onnx'), $good | Import-PotModel -ErrorVariable errors -ErrorAction SilentlyContinue)
        $models.Path | Should -Be @($good)
        $errors | Should -HaveCount 2
        $errors | ForEach-Object { $_.FullyQualifiedErrorId | Should -BeLike 'ModelCorrupt,*' }
    }

    It 'turns an unanticipated .NET exception into an error id and goes on' -Skip:(-not $IsLinux) {
        # Reading /proc/self/mem from offset 0 fails with EIO: an IOException no reader maps itself.
        $good = Join-Path $TestDrive 'mixed/good.onnx'
        $models = @('/proc/self/mem', $good | Import-PotModel -ErrorVariable errors -ErrorAction SilentlyContinue)
        $models.Path | Should -Be @($good)
        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'FileAccessFailed,PotPowerShell.Commands.ImportPotModelCommand'
        "$($errors[0].CategoryInfo.Category)" | Should -Be 'ReadError'
    }
}
