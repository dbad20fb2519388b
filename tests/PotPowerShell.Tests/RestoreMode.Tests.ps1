# Invoke-AccuracyAwareQuantization -RestoreMode / restore_mode (NNCF's RestoreMode) on the digits sample, as users
# call it. Whether a reverted Gemm takes its dynamic form depends on the layer timings of this CPU, so the tests run
# with a timing cache of their own and set its dynamic-form entries: the choice then follows the cache, as it must.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-PotModulePath) 'PotPowerShell.psd1') -Force
    $script:sampleDir = Get-PotSamplePath
    $script:calibration = Join-Path $sampleDir 'calibration'
    $script:savedCacheHome = $env:POTPOWERSHELL_CACHE_HOME
    $env:POTPOWERSHELL_CACHE_HOME = Join-Path $TestDrive 'cache'
    $script:cacheFile = Join-Path $env:POTPOWERSHELL_CACHE_HOME 'layer-costs.json'
    $script:model = Join-Path $TestDrive 'digits.onnx'
    Copy-Item (Join-Path $sampleDir 'digits.onnx') $model
    # A target only reverting layers meets (the fully quantized drop of cosine similarity is about 1e-5).
    $script:common = @{ MaximalDrop = 0.000003; Precision = 'AllInt8'; WarningAction = 'SilentlyContinue'; SkipLatencyCheck = $true }

    # Sets every dynamic-form timing in the cache to $Ms (the float timings stay as measured).
    function Set-DynamicTiming([double] $Ms) {
        $json = Get-Content $cacheFile -Raw | ConvertFrom-Json -AsHashtable
        $keys = @($json.costs.Keys | Where-Object { $_ -like 'dynamic|*' })
        $keys.Count | Should -BeGreaterThan 0 -Because 'a run with -RestoreMode OnlyActivations times the Gemms of the sample'
        foreach ($key in $keys) { $json.costs[$key] = $Ms }
        $json | ConvertTo-Json -Depth 5 | Set-Content $cacheFile
    }

    function Get-OpCount([string] $Path, [string] $OpType) {
        [int] ((Import-PotModel $Path).OpTypes | Where-Object OpType -eq $OpType | Measure-Object -Property Count -Sum).Sum
    }
}

AfterAll {
    $env:POTPOWERSHELL_CACHE_HOME = $savedCacheHome
}

Describe 'Invoke-AccuracyAwareQuantization -RestoreMode' {
    It 'times the reverted layers once and keeps INT8 weights where the cache says the dynamic form is faster' {
        # The first run measures (and fills the cache); then the dynamic forms are made faster than anything float.
        $null = Invoke-AccuracyAwareQuantization $model $calibration (Join-Path $sampleDir 'engine.yml') @common -RestoreMode OnlyActivations -OutputPath (Join-Path $TestDrive 'first.onnx')
        Set-DynamicTiming 0
        $r = Invoke-AccuracyAwareQuantization $model $calibration (Join-Path $sampleDir 'engine.yml') @common -RestoreMode OnlyActivations -OutputPath (Join-Path $TestDrive 'dynamic.onnx')
        $r.RestoreMode | Should -Be 'OnlyActivations'
        $dynamic = @($r.RevertedLayers | Where-Object Precision -eq 'Dynamic')
        $dynamic.Count | Should -BeGreaterThan 0
        $dynamic.OpType | Sort-Object -Unique | Should -Be 'Gemm'
        @($r.RevertedLayers | Where-Object OpType -eq 'Conv').Precision | Sort-Object -Unique | Should -BeIn @($null, 'Float')
        # Each dynamic layer is its own DynamicQuantizeLinear + MatMulInteger in the written model.
        Get-OpCount $r.OutputPath 'DynamicQuantizeLinear' | Should -Be $dynamic.Count
        Get-OpCount $r.OutputPath 'MatMulInteger' | Should -Be $dynamic.Count
        # The report says the same.
        $report = Get-Content $r.ReportPath -Raw | ConvertFrom-Json
        $report.restore_mode | Should -Be 'only_activations'
        @($report.reverted_layers | Where-Object precision -eq 'Dynamic').layer | Sort-Object | Should -Be ($dynamic.Layer | Sort-Object)
    }

    It 'reverts to float where the cache says float is faster: the same bytes as the default' {
        Set-DynamicTiming 1000
        $engine = Join-Path $sampleDir 'engine.yml'
        $only = Invoke-AccuracyAwareQuantization $model $calibration $engine @common -RestoreMode OnlyActivations -OutputPath (Join-Path $TestDrive 'slow.onnx')
        $default = Invoke-AccuracyAwareQuantization $model $calibration $engine @common -OutputPath (Join-Path $TestDrive 'default.onnx')
        $default.RestoreMode | Should -Be 'ActivationsAndWeights'
        $only.RevertedLayers.Precision | Sort-Object -Unique | Should -Be 'Float'
        (Get-FileHash $only.OutputPath).Hash | Should -Be (Get-FileHash $default.OutputPath).Hash
        Get-OpCount $only.OutputPath 'DynamicQuantizeLinear' | Should -Be 0
    }

    It 'binds restore_mode from a config and -RestoreMode to the same model bytes' {
        Set-DynamicTiming 0
        $base = @"
model: { model_name: digits, model: '$($model.Replace('\', '/'))' }
engine: { config: '$((Join-Path $sampleDir 'engine.yml').Replace('\', '/'))' }
compression:
  target_device: ANY
  algorithms:
    - name: AccuracyAwareQuantization
      params:
        maximal_drop: 0.000003
        precision: all_int8
"@
        $base | Set-Content (Join-Path $TestDrive 'plain.yml')
        ($base + "`n        restore_mode: only_activations`n") | Set-Content (Join-Path $TestDrive 'restore.yml')
        $fromConfig = Import-PotConfig (Join-Path $TestDrive 'restore.yml') |
            Invoke-AccuracyAwareQuantization -CalibrationDataPath $calibration -SkipLatencyCheck -OutputPath (Join-Path $TestDrive 'config.onnx') -WarningAction SilentlyContinue
        $fromParameter = Import-PotConfig (Join-Path $TestDrive 'plain.yml') |
            Invoke-AccuracyAwareQuantization -CalibrationDataPath $calibration -SkipLatencyCheck -RestoreMode OnlyActivations -OutputPath (Join-Path $TestDrive 'parameter.onnx') -WarningAction SilentlyContinue
        $fromConfig.RestoreMode | Should -Be 'OnlyActivations'
        $fromParameter.RestoreMode | Should -Be 'OnlyActivations'
        @($fromConfig.RevertedLayers | Where-Object Precision -eq 'Dynamic').Count | Should -BeGreaterThan 0
        (Get-FileHash $fromParameter.OutputPath).Hash | Should -Be (Get-FileHash $fromConfig.OutputPath).Hash
        # The parameter beats the config.
        $overridden = Import-PotConfig (Join-Path $TestDrive 'restore.yml') |
            Invoke-AccuracyAwareQuantization -CalibrationDataPath $calibration -SkipLatencyCheck -RestoreMode ActivationsAndWeights -OutputPath (Join-Path $TestDrive 'overridden.onnx') -WarningAction SilentlyContinue
        $overridden.RestoreMode | Should -Be 'ActivationsAndWeights'
        $overridden.RevertedLayers.Precision | Sort-Object -Unique | Should -Be 'Float'
    }
}
