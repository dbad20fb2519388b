# The error rule (ARCHITECTURE.md, "Errors"; about_PotPowerShell): an engine or data file named by a parameter serves
# every input of the command, so when it does not exist the command stops before the first input (a terminating
# error, which -ErrorAction SilentlyContinue does not hide). The same file named by a piped configuration belongs to
# that input only: the error is written and the command goes on with the next input.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-PotModulePath) 'PotPowerShell.psd1') -Force
    $script:sampleDir = Get-PotSamplePath
    $script:work = Join-Path $TestDrive 'rule'
    New-Item -ItemType Directory $work | Out-Null
    $script:model = Join-Path $work 'digits.onnx'
    Copy-Item (Join-Path $sampleDir 'digits.onnx') $model
    $script:calibration = Join-Path $sampleDir 'calibration'
    $script:validation = Join-Path $sampleDir 'validation'
    $script:engine = Join-Path $work 'engine.yml'
    "metrics:`n  - type: accuracy`ndataset:`n  data_source: $validation`n" | Set-Content $engine
    $script:noEngine = Join-Path $work 'missing.yml'
    $script:noData = Join-Path $work 'missing-data'
    # Two configurations of the digits model: one whose engine file is gone by the time it runs (Import-PotConfig
    # checks that it exists), one that works.
    $script:doomed = Join-Path $work 'doomed.yml'
    Copy-Item $engine $doomed
    function New-Config([string] $Name, [string] $EngineFile, [string] $Algorithm = 'DefaultQuantization') {
        $path = Join-Path $work "$Name.json"
        @{ model = @{ model_name = $Name; model = $model }; engine = @{ config = $EngineFile }
            compression = @{ algorithms = @(@{ name = $Algorithm; params = @{ preset = 'performance'; stat_subset_size = 16 } }) } } |
            ConvertTo-Json -Depth 5 | Set-Content $path
        Import-PotConfig $path
    }
    $script:broken = New-Config 'broken' $doomed
    $script:working = New-Config 'working' $engine
    $script:brokenAaq = New-Config 'brokenaaq' $doomed 'AccuracyAwareQuantization'
    Remove-Item $doomed

    function Get-CommandName([string] $Cmdlet) { "PotPowerShell.Commands.$($Cmdlet)Command" }
}

Describe 'A missing file named by a parameter stops <Cmdlet>: <Case>' -ForEach @(
    @{ Cmdlet = 'InvokeDefaultQuantization'; Case = 'calibration data'; Id = 'CalibrationDataNotFound'
        Script = { $model, $model | Invoke-DefaultQuantization -CalibrationDataPath $noData -OutputPath (Join-Path $work 'dq.onnx') -ErrorAction SilentlyContinue } }
    @{ Cmdlet = 'InvokeAccuracyAwareQuantization'; Case = 'calibration data'; Id = 'CalibrationDataNotFound'
        Script = { Invoke-AccuracyAwareQuantization $model $noData $engine -ErrorAction SilentlyContinue } }
    @{ Cmdlet = 'InvokeAccuracyAwareQuantization'; Case = 'engine'; Id = 'EngineNotFound'
        Script = { Invoke-AccuracyAwareQuantization $model $calibration $noEngine -ErrorAction SilentlyContinue } }
    @{ Cmdlet = 'GetLayerRanking'; Case = 'calibration data'; Id = 'CalibrationDataNotFound'
        Script = { Get-LayerRanking -ModelPath $model -CalibrationDataPath $noData -EnginePath $engine -ErrorAction SilentlyContinue } }
    @{ Cmdlet = 'GetLayerRanking'; Case = 'engine'; Id = 'EngineNotFound'
        Script = { Get-LayerRanking -ModelPath $model -CalibrationDataPath $calibration -EnginePath $noEngine -ErrorAction SilentlyContinue } }
    @{ Cmdlet = 'MeasurePotModel'; Case = 'data'; Id = 'DataPathNotFound'
        Script = { Measure-PotModel $model, $model -DataPath $noData -ErrorAction SilentlyContinue } }
    @{ Cmdlet = 'MeasurePotModel'; Case = 'engine'; Id = 'EngineNotFound'
        Script = { Measure-PotModel $model, $model -EnginePath $noEngine -ErrorAction SilentlyContinue } }
    @{ Cmdlet = 'ComparePotModel'; Case = 'data'; Id = 'DataPathNotFound'
        Script = { Compare-PotModel $model -ReferencePath $model -DataPath $noData -ErrorAction SilentlyContinue } }
    @{ Cmdlet = 'ComparePotModel'; Case = 'engine'; Id = 'EngineNotFound'
        Script = { Compare-PotModel $model -ReferencePath $model -EnginePath $noEngine -ErrorAction SilentlyContinue } }
    @{ Cmdlet = 'ComparePotModel'; Case = 'reference'; Id = 'ModelNotFound'
        Script = { $model, $model | Compare-PotModel -ReferencePath (Join-Path $work 'missing.onnx') -DataPath $validation -ErrorAction SilentlyContinue } }
) {
    It 'throws <Id> although errors are silenced, and writes nothing' {
        $before = (Get-ChildItem $work).Name
        { & $Script } | Should -Throw -ErrorId "$Id,$(Get-CommandName $Cmdlet)"
        (Get-ChildItem $work).Name | Should -Be $before
    }
}

Describe 'A missing file named by a piped configuration is an error of that input only' {
    It 'Invoke-DefaultQuantization writes EngineNotFound and quantizes the next configuration' {
        $err = $null
        $results = @($broken, $working | Invoke-DefaultQuantization -ErrorVariable err -ErrorAction SilentlyContinue -WarningAction SilentlyContinue)
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be "EngineNotFound,$(Get-CommandName 'InvokeDefaultQuantization')"
        $results.Count | Should -Be 1
        $results[0].OutputPath | Should -Be (Join-Path $work 'working.int8.onnx')
    }

    It 'Measure-PotModel writes EngineNotFound and measures the next configuration' {
        $err = $null
        $results = @($broken, $working | Measure-PotModel -ErrorVariable err -ErrorAction SilentlyContinue)
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be "EngineNotFound,$(Get-CommandName 'MeasurePotModel')"
        $results.Count | Should -Be 1
    }

    It 'Compare-PotModel writes ModelNotFound for a piped result whose FP32 model is gone and compares the next' {
        $err = $null
        $inputs = [pscustomobject] @{ OutputPath = $model; ModelPath = (Join-Path $work 'gone.onnx') },
            [pscustomobject] @{ OutputPath = $model; ModelPath = $model }
        $results = @($inputs | Compare-PotModel -DataPath $validation -LatencyRuns 2 -WarmupRuns 0 -ErrorVariable err -ErrorAction SilentlyContinue -WarningAction SilentlyContinue)
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be "ModelNotFound,$(Get-CommandName 'ComparePotModel')"
        $results.Count | Should -Be 1
    }

    It 'Measure-PotModel writes ModelNotFound for a piped result whose FP32 model is gone and measures the next' {
        # Only cosine similarity to FP32, so each piped result's ModelPath is read as its reference.
        $similarity = Join-Path $work 'similarity.yml'
        "metrics:`n  - type: cosine_similarity`n    reference: fp32`ndataset:`n  data_source: $validation`n" | Set-Content $similarity
        $lost = Join-Path $work 'lost.onnx'
        Copy-Item $model $lost
        $orphan = Invoke-DefaultQuantization $lost $calibration -StatSubsetSize 8 -OutputPath (Join-Path $work 'orphan.int8.onnx') -WarningAction SilentlyContinue
        $kept = Invoke-DefaultQuantization $model $calibration -StatSubsetSize 8 -OutputPath (Join-Path $work 'kept.int8.onnx') -WarningAction SilentlyContinue
        Remove-Item $lost
        $err = $null
        # A terminating error would throw here and fail the test.
        $results = @($orphan, $kept | Measure-PotModel -EnginePath $similarity -ErrorVariable err -ErrorAction SilentlyContinue)
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be "ModelNotFound,$(Get-CommandName 'MeasurePotModel')"
        $err[0].TargetObject | Should -Be $lost
        $err[0].Exception.Message | Should -BeLike "*$lost*"
        $results.Count | Should -Be 1
        $results[0].ModelPath | Should -Be $kept.OutputPath
        $results[0].'cosine_similarity' | Should -BeGreaterThan 0.9
    }

    It '<Command> writes EngineNotFound without stopping' -ForEach @(
        @{ Command = 'Invoke-AccuracyAwareQuantization'; Cmdlet = 'InvokeAccuracyAwareQuantization'; Config = { $brokenAaq } }
        @{ Command = 'Get-LayerRanking'; Cmdlet = 'GetLayerRanking'; Config = { $broken } }
    ) {
        $err = $null
        # A terminating error would throw here and fail the test.
        $null = & $Config | & $Command -CalibrationDataPath $calibration -ErrorVariable err -ErrorAction SilentlyContinue
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be "EngineNotFound,$(Get-CommandName $Cmdlet)"
    }
}
