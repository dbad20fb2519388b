# The JSON reports next to quantized models: Invoke-DefaultQuantization writes one like Invoke-AccuracyAwareQuantization,
# both with enums as names and times as seconds.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-PotModulePath) 'PotPowerShell.psd1') -Force
    $script:digits = Get-PotSamplePath
    $script:fp32 = Join-Path $digits 'digits.onnx'
    $script:calibration = Join-Path $digits 'calibration'
}

Describe 'Invoke-DefaultQuantization report' {
    It 'writes a .report.json next to the model with the result, enums as names and times in seconds' {
        $output = Join-Path $TestDrive 'd.int8.onnx'
        $r = Invoke-DefaultQuantization $fp32 $calibration -OutputPath $output
        $r.ReportPath | Should -Be (Join-Path $TestDrive 'd.int8.report.json')
        $text = Get-Content $r.ReportPath -Raw
        $report = $text | ConvertFrom-Json
        $report.output_path | Should -Be $r.OutputPath
        $report.model_path | Should -Be $r.ModelPath
        $report.preset | Should -BeExactly 'Performance'
        $report.types | Should -BeExactly $r.Types.ToString()
        $report.options.target_device | Should -BeExactly 'Any'
        $report.total_time | Should -BeOfType [double]
        $report.total_time | Should -Be $r.TotalTime.TotalSeconds
        $report.calibration_time | Should -Be $r.CalibrationTime.TotalSeconds
        foreach ($stage in 'prepare', 'precision', 'calibration', 'bias_correction', 'emit', 'check', 'latency_check', 'save') {
            $report."$($stage)_time" | Should -BeOfType [double] -Because "every stage's time is in the report ($stage)"
        }
        $report.check_time | Should -Be $r.CheckTime.TotalSeconds
        $report.quantized_layer_count | Should -Be $r.QuantizedLayerCount
        $report.layers.node | Should -Be $r.Layers.Node
        $report.layers.precision | Should -BeExactly @($r.Layers.Precision | ForEach-Object ToString) -Because 'enums are written as names'
        # No TimeSpan objects (Ticks, Days ...) anywhere.
        $text | Should -Not -Match '"ticks"|"Ticks"|"days"'
        Get-ChildItem $TestDrive -Filter '*.tmp' -Force | Should -BeNullOrEmpty
    }

    It 'does not overwrite a report without -Force, and does with it' {
        $output = Join-Path $TestDrive 'e.int8.onnx'
        $report = Join-Path $TestDrive 'e.int8.report.json'
        Set-Content $report 'keep'
        Invoke-DefaultQuantization $fp32 $calibration -OutputPath $output -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -BeLike 'OutputExists*'
        Get-Content $report | Should -Be 'keep'
        $output | Should -Not -Exist
        Invoke-DefaultQuantization $fp32 $calibration -OutputPath $output -Force | Out-Null
        (Get-Content $report -Raw | ConvertFrom-Json).output_path | Should -Be $output
    }

    It 'writes nothing with -WhatIf' {
        Invoke-DefaultQuantization $fp32 $calibration -OutputPath (Join-Path $TestDrive 'w.int8.onnx') -WhatIf
        Join-Path $TestDrive 'w.int8.report.json' | Should -Not -Exist
    }
}
