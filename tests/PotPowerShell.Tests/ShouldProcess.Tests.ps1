# Every cmdlet that writes files honours -WhatIf and -Confirm (nothing is written unless the user says yes), never
# overwrites without -Force (an existing file is an error and stays as it was), and overwrites with -Force.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'UxHelpers.psm1') -Force
    Import-Module (Join-Path (Get-PotModulePath) 'PotPowerShell.psd1') -Force
    $script:sampleDir = Get-PotSamplePath
    $script:calibration = Join-Path $sampleDir 'calibration'
    $script:model = Join-Path $TestDrive 'digits.onnx'
    Copy-Item (Join-Path $sampleDir 'digits.onnx') $model
    $script:engine = Join-Path $TestDrive 'engine.yml'
    "metrics:`n  - type: accuracy`ndataset:`n  data_source: $(Join-Path $sampleDir 'validation')`n" | Set-Content $engine
    $script:config = Import-PotConfig -Path (& {
            $path = Join-Path $TestDrive 'config.json'
            @{ model = @{ model_name = 'digits'; model = $model }; engine = @{ config = $engine }
                compression = @{ algorithms = @(@{ name = 'DefaultQuantization'; params = @{ preset = 'mixed'; stat_subset_size = 16 } }) } } |
                ConvertTo-Json -Depth 5 | Set-Content $path
            $path
        })
    $script:quantized = Invoke-DefaultQuantization $model $calibration -StatSubsetSize 16 -OutputPath (Join-Path $TestDrive 'quantized.onnx')
}

Describe 'Cmdlets that write files' {
    It 'are exactly the ones with -Force, and all support -WhatIf and -Confirm' {
        $writers = @(Get-Command -Module PotPowerShell | Where-Object { $_.Parameters.ContainsKey('Force') } | ForEach-Object Name | Sort-Object)
        $writers | Should -Be @('Export-PotConfig', 'Export-PotReport', 'Invoke-AccuracyAwareQuantization', 'Invoke-DefaultQuantization')
        foreach ($name in $writers) {
            (Get-Command $name).Parameters.Keys | Should -Contain 'WhatIf'
            (Get-Command $name).Parameters.Keys | Should -Contain 'Confirm'
        }
        $readers = @(Get-Command -Module PotPowerShell | Where-Object Name -notin $writers)
        $readers | Where-Object { $_.Parameters.ContainsKey('WhatIf') } | Should -BeNullOrEmpty -Because 'a cmdlet that writes nothing has nothing to confirm'
    }
}

Describe '<Command> <Case>' -ForEach @(
    @{
        Command = 'Invoke-DefaultQuantization'
        Case = 'with paths'
        # The files one run writes, and the parameters that make it write them into $out.
        Files = @('model.onnx', 'model.report.json')
        Parameters = { param($out) @{ ModelPath = $model; CalibrationDataPath = $calibration; StatSubsetSize = 16; OutputPath = (Join-Path $out 'model.onnx') } }
    }
    @{
        Command = 'Invoke-DefaultQuantization'
        Case = 'with a configuration'
        Files = @('model.onnx', 'model.report.json')
        Parameters = { param($out) @{ Config = $config; OutputPath = (Join-Path $out 'model.onnx') } }
    }
    @{
        Command = 'Invoke-AccuracyAwareQuantization'
        Case = ''
        Files = @('model.onnx', 'model.report.json')
        Parameters = { param($out) @{ ModelPath = $model; CalibrationDataPath = $calibration; EnginePath = $engine; MaximalDrop = 0.01; OutputPath = (Join-Path $out 'model.onnx') } }
    }
    @{
        Command = 'Export-PotConfig'
        Case = ''
        Files = @('model.json')
        Parameters = { param($out) @{ InputObject = $config; Path = (Join-Path $out 'model.json') } }
    }
    @{
        Command = 'Export-PotReport'
        Case = ''
        Files = @('report.html')
        Parameters = { param($out) @{ InputObject = $quantized; Path = (Join-Path $out 'report.html') } }
    }
) {
    BeforeEach {
        $out = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        New-Item -ItemType Directory $out | Out-Null
        $parameters = & $Parameters $out
    }

    It 'writes nothing with -WhatIf' {
        $result = & $Command @parameters -WhatIf
        $result | Should -BeNullOrEmpty
        @(Get-ChildItem -Force $out) | Should -BeNullOrEmpty
    }

    It 'writes nothing when the user answers No to -Confirm, and names the file in the prompt' {
        $answering = New-PotAnsweringHost -Answer No
        $run = Invoke-PotCommand -Command $Command -Parameters ($parameters + @{ Confirm = $true }) -UserHost $answering
        $run.Terminating | Should -BeNullOrEmpty
        $run.Errors | Should -BeNullOrEmpty
        $run.Output | Should -BeNullOrEmpty
        @(Get-ChildItem -Force $out) | Should -BeNullOrEmpty
        $answering.Answerer.Prompts | Should -HaveCount 1
        $answering.Answerer.Prompts[0] | Should -BeLike "*$(Join-Path $out $Files[0])*"
    }

    It 'writes when the user answers Yes to -Confirm' {
        $answering = New-PotAnsweringHost -Answer Yes
        $confirmed = $parameters + @{ Confirm = $true }
        # Export-PotConfig and Export-PotReport output what they wrote only with -PassThru.
        if ($Command -in 'Export-PotConfig', 'Export-PotReport') { $confirmed.PassThru = $true }
        $run = Invoke-PotCommand -Command $Command -Parameters $confirmed -UserHost $answering
        $run.Terminating | Should -BeNullOrEmpty
        $run.Errors | Should -BeNullOrEmpty
        $run.Output | Should -HaveCount 1
        @(Get-ChildItem -Force $out | ForEach-Object Name | Sort-Object) | Should -Be @($Files | Sort-Object)
    }

    It 'refuses to overwrite an existing file without -Force and leaves it as it was' {
        foreach ($file in $Files) { "old $file" | Set-Content (Join-Path $out $file) }
        $result = & $Command @parameters -ErrorVariable failures -ErrorAction SilentlyContinue
        $result | Should -BeNullOrEmpty
        $failures | Should -HaveCount 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'OutputExists,*'
        foreach ($file in $Files) { Get-Content (Join-Path $out $file) | Should -Be "old $file" }
        @(Get-ChildItem -Force $out) | Should -HaveCount $Files.Count -Because 'no temporary file is left either'
    }

    It 'overwrites with -Force' {
        foreach ($file in $Files) { "old $file" | Set-Content (Join-Path $out $file) }
        $null = & $Command @parameters -Force
        foreach ($file in $Files) { Get-Content -Raw (Join-Path $out $file) | Should -Not -Be "old $file`n" }
        (Get-Item (Join-Path $out $Files[0])).Length | Should -BeGreaterThan 100
        @(Get-ChildItem -Force $out) | Should -HaveCount $Files.Count
    }

    It 'with -WhatIf says what it would do to which file' {
        $answering = New-PotAnsweringHost -Answer No
        $run = Invoke-PotCommand -Command $Command -Parameters ($parameters + @{ WhatIf = $true }) -UserHost $answering
        $run.Output | Should -BeNullOrEmpty
        $answering.Answerer.Prompts | Should -BeNullOrEmpty
        @($answering.Answerer.Lines | Where-Object { $_ -like "What if:*$(Join-Path $out $Files[0])*" }) | Should -HaveCount 1
        @(Get-ChildItem -Force $out) | Should -BeNullOrEmpty
    }
}
