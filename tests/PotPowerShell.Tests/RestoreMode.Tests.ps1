# Invoke-AccuracyAwareQuantization -RestoreMode / restore_mode (NNCF's RestoreMode) on the digits sample, as users
# call it. Whether a reverted Gemm may take its dynamic form depends on the layer timings of this CPU, so the tests run
# with a timing cache of their own and set its dynamic-form entries: the choice then follows the cache, as it must.
# Whether it does take it depends on the target: the dynamic form quantizes activations too, from each batch's range.
# Calibrated on the sample's calibration inputs scaled by a quarter, the static ranges clip the validation inputs, the
# search reverts every layer (the Gemms' static forms cost 1e-4 of cosine similarity each), and the Gemms' dynamic
# forms cost a few 1e-6: far within the limit of 1e-4 on any CPU.
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

    Import-PotTestSupport
    $script:shifted = Join-Path $TestDrive 'shifted'
    $null = New-Item -ItemType Directory $shifted
    $inputs = (Get-PotCoreType 'PotPowerShell.Core.Data.NpyReader')::ReadFile((Join-Path $calibration 'input.npy'))
    $quarter = [float[]] @($inputs.ToFloats() | ForEach-Object { $_ / 4 })
    (Get-PotSupportType 'NpyWriter')::Save((Join-Path $shifted 'input.npy'), $quarter, $inputs.Shape, '<f4')
    $script:shiftedRun = @{ ModelPath = $model; CalibrationDataPath = $shifted; EnginePath = (Join-Path $sampleDir 'engine.yml'); MaximalDrop = 0.0001
        Precision = 'AllInt8'; WarningAction = 'SilentlyContinue'; SkipLatencyCheck = $true }

    function Get-OpCount([string] $Path, [string] $OpType) {
        [int] ((Import-PotModel $Path).OpTypes | Where-Object OpType -eq $OpType | Measure-Object -Property Count -Sum).Sum
    }
}

AfterAll {
    $env:POTPOWERSHELL_CACHE_HOME = $savedCacheHome
}

Describe 'Invoke-AccuracyAwareQuantization -RestoreMode' {
    It 'times the reverted layers once and keeps INT8 weights where the dynamic form is faster and the target still holds' {
        # The first run measures (and fills the cache); then the dynamic forms are made faster than anything float.
        $null = Invoke-AccuracyAwareQuantization @shiftedRun -RestoreMode OnlyActivations -OutputPath (Join-Path $TestDrive 'first.onnx')
        Set-DynamicTiming 0
        $float = Invoke-AccuracyAwareQuantization @shiftedRun -OutputPath (Join-Path $TestDrive 'float.onnx')
        $r = Invoke-AccuracyAwareQuantization @shiftedRun -RestoreMode OnlyActivations -OutputPath (Join-Path $TestDrive 'dynamic.onnx')
        $r.RestoreMode | Should -Be 'OnlyActivations'
        $r.Met | Should -BeTrue
        # The search reverts what the default mode reverts; then both Gemms keep INT8 weights.
        ($r.RevertedLayers.Layer | Sort-Object) | Should -Be ($float.RevertedLayers.Layer | Sort-Object)
        $dynamic = @($r.RevertedLayers | Where-Object Precision -eq 'Dynamic')
        $dynamic.Layer | Sort-Object | Should -Be @('/fc1/Gemm', '/fc2/Gemm')
        @($r.RevertedLayers | Where-Object OpType -eq 'Conv').Precision | Sort-Object -Unique | Should -Be 'Float'
        $pass = @($r.Iterations | Where-Object Stage -eq 'Dynamic')
        $pass.Action | Sort-Object -Unique | Should -Be 'Dynamic'
        $pass | ForEach-Object { $_.DropAfter | Should -BeLessOrEqual 0.0001 }
        $r.Metrics | ForEach-Object { $_.Met | Should -BeTrue }
        $r.Reason | Should -BeLike '*2 of them keep INT8 weights*'
        # Each dynamic layer is its own DynamicQuantizeLinear + MatMulInteger in the written model.
        Get-OpCount $r.OutputPath 'DynamicQuantizeLinear' | Should -Be 2
        Get-OpCount $r.OutputPath 'MatMulInteger' | Should -Be 2
        Get-OpCount $float.OutputPath 'DynamicQuantizeLinear' | Should -Be 0
        # The report says the same.
        $report = Get-Content $r.ReportPath -Raw | ConvertFrom-Json
        $report.restore_mode | Should -Be 'only_activations'
        @($report.reverted_layers | Where-Object precision -eq 'Dynamic').layer | Sort-Object | Should -Be ($dynamic.Layer | Sort-Object)
    }

    It 'keeps a faster dynamic form float where it misses the target: the same bytes as the default' {
        # Calibrated on the sample's own inputs, the Gemms' dynamic forms cost about what their static forms do, which
        # a target of 3e-6 does not allow.
        Set-DynamicTiming 0
        $engine = Join-Path $sampleDir 'engine.yml'
        $only = Invoke-AccuracyAwareQuantization $model $calibration $engine @common -RestoreMode OnlyActivations -OutputPath (Join-Path $TestDrive 'missed.onnx')
        $default = Invoke-AccuracyAwareQuantization $model $calibration $engine @common -OutputPath (Join-Path $TestDrive 'default-missed.onnx')
        $pass = @($only.Iterations | Where-Object Stage -eq 'Dynamic')
        $pass.Count | Should -BeGreaterThan 0
        $pass.Action | Sort-Object -Unique | Should -Be 'KeptFloat'
        $only.RevertedLayers.Precision | Sort-Object -Unique | Should -Be 'Float'
        (Get-FileHash $only.OutputPath).Hash | Should -Be (Get-FileHash $default.OutputPath).Hash
    }

    It 'reverts to float where the cache says float is faster: the same bytes as the default' {
        # The shifted calibration, where faster dynamic forms are kept (above): slower ones are not even tried.
        Set-DynamicTiming 1000
        $only = Invoke-AccuracyAwareQuantization @shiftedRun -RestoreMode OnlyActivations -OutputPath (Join-Path $TestDrive 'slow.onnx')
        $default = Invoke-AccuracyAwareQuantization @shiftedRun -OutputPath (Join-Path $TestDrive 'default.onnx')
        $only.Iterations.Stage | Should -Not -Contain 'Dynamic'
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
        maximal_drop: 0.0001
        precision: all_int8
"@
        $base | Set-Content (Join-Path $TestDrive 'plain.yml')
        ($base + "`n        restore_mode: only_activations`n") | Set-Content (Join-Path $TestDrive 'restore.yml')
        $fromConfig = Import-PotConfig (Join-Path $TestDrive 'restore.yml') |
            Invoke-AccuracyAwareQuantization -CalibrationDataPath $shifted -SkipLatencyCheck -OutputPath (Join-Path $TestDrive 'config.onnx') -WarningAction SilentlyContinue
        $fromParameter = Import-PotConfig (Join-Path $TestDrive 'plain.yml') |
            Invoke-AccuracyAwareQuantization -CalibrationDataPath $shifted -SkipLatencyCheck -RestoreMode OnlyActivations -OutputPath (Join-Path $TestDrive 'parameter.onnx') -WarningAction SilentlyContinue
        $fromConfig.RestoreMode | Should -Be 'OnlyActivations'
        $fromParameter.RestoreMode | Should -Be 'OnlyActivations'
        @($fromConfig.RevertedLayers | Where-Object Precision -eq 'Dynamic').Count | Should -BeGreaterThan 0
        (Get-FileHash $fromParameter.OutputPath).Hash | Should -Be (Get-FileHash $fromConfig.OutputPath).Hash
        # The parameter beats the config.
        $overridden = Import-PotConfig (Join-Path $TestDrive 'restore.yml') |
            Invoke-AccuracyAwareQuantization -CalibrationDataPath $shifted -SkipLatencyCheck -RestoreMode ActivationsAndWeights -OutputPath (Join-Path $TestDrive 'overridden.onnx') -WarningAction SilentlyContinue
        $overridden.RestoreMode | Should -Be 'ActivationsAndWeights'
        $overridden.RevertedLayers.Precision | Sort-Object -Unique | Should -Be 'Float'
    }
}
