# The readers' resource limits as users meet them: a small hostile file gives a clear, non-terminating error with its
# own id (docs/en-US/about_PotPowerShell.md, Limits), and the pipeline goes on with the next input.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-PotModulePath) 'PotPowerShell.psd1') -Force
    $script:sampleDir = Get-PotSamplePath
    $script:work = Join-Path $TestDrive 'limits'
    New-Item -ItemType Directory $work | Out-Null
    Copy-Item (Join-Path $sampleDir 'digits.onnx') (Join-Path $work 'digits.onnx')
    'dataset:' | Set-Content (Join-Path $work 'engine.yml')
    $script:head = "model:`n  model_name: m`n  model: digits.onnx`nengine:`n  config: engine.yml`ncompression:`n  algorithms:`n    - name: DefaultQuantization`n"
    $script:good = Join-Path $work 'good.yml'
    $head | Set-Content $good
}

Describe 'Import-PotConfig limits' {
    It 'refuses a 1 KB alias bomb with ConfigTooLarge and goes on with the next config' {
        $bomb = [Text.StringBuilder]::new($head)
        [void]$bomb.Append("a0: &a0 [x, x, x, x, x, x, x, x, x, x]`n")
        foreach ($i in 1..9) { [void]$bomb.Append("a${i}: &a$i [$((1..10 | ForEach-Object { "*a$($i - 1)" }) -join ', ')]`n") }
        $path = Join-Path $work 'bomb.yml'
        $bomb.ToString() | Set-Content $path
        (Get-Item $path).Length | Should -BeLessThan 1024
        $configs = @($path, $good | Import-PotConfig -ErrorVariable errs -ErrorAction SilentlyContinue)
        $configs.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'ConfigTooLarge,PotPowerShell.Commands.ImportPotConfigCommand'
        $errs[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $errs[0].Exception.Message | Should -BeLike "*bomb.yml*1,000,000*"
    }

    It 'refuses 30,000 levels of nesting with ConfigTooDeep instead of a stack overflow' {
        $path = Join-Path $work 'deep.yml'
        ($head + 'extra: ' + ('[' * 30000) + (']' * 30000)) | Set-Content $path
        Import-PotConfig $path -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].FullyQualifiedErrorId | Should -Be 'ConfigTooDeep,PotPowerShell.Commands.ImportPotConfigCommand'
        $errs[0].Exception.Message | Should -BeLike '*128*'
    }

    It 'refuses threads: 100000 in a POT config' {
        $path = Join-Path $work 'threads.yml'
        ($head + "      params:`n        threads: 100000`n") | Set-Content $path
        Import-PotConfig $path -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].FullyQualifiedErrorId | Should -Be 'ConfigInvalid,PotPowerShell.Commands.ImportPotConfigCommand'
        $errs[0].Exception.Message | Should -BeLike '*params.threads*between 0 and 1024*'
    }
}

Describe 'Import-PotModel external data' {
    It 'refuses weights outside the model folder and goes on with the next model' {
        $pre = New-Item -ItemType Directory (Join-Path $work 'models/pre') -Force
        New-Item -ItemType Directory (Join-Path $work 'models/pre_secret') -Force | Out-Null
        [IO.File]::WriteAllBytes((Join-Path $work 'models/pre_secret/w.bin'), [byte[]]::new(4096))
        # The sample model with its first initializer moved to external data at ../pre_secret/w.bin (core types by name:
        # the module keeps its core in a private load context).
        Import-PotTestSupport
        $modelType = Get-PotCoreType 'Onnx.ModelProto'
        $model = $modelType::Parser.ParseFrom([IO.File]::ReadAllBytes((Join-Path $work 'digits.onnx')))
        $t = $model.Graph.Initializer[0]
        $byteString = $t.GetType().GetProperty('RawData').PropertyType
        $t.RawData = $byteString::Empty
        foreach ($kv in @(('location', '../pre_secret/w.bin'), ('offset', '0'))) {
            $entry = (Get-PotCoreType 'Onnx.StringStringEntryProto')::new()
            $entry.Key = $kv[0]
            $entry.Value = $kv[1]
            $t.ExternalData.Add($entry)
        }
        $t.DataLocation = 1 # TensorProto.DataLocation.External
        $bad = Join-Path $pre 'm.onnx'
        [IO.File]::WriteAllBytes($bad, $byteString.Assembly.GetType('Google.Protobuf.MessageExtensions')::ToByteArray($model))
        $models = @($bad, (Join-Path $work 'digits.onnx') | Import-PotModel -ErrorVariable errs -ErrorAction SilentlyContinue)
        $models.Count | Should -Be 1
        $errs[0].FullyQualifiedErrorId | Should -Be 'ExternalDataOutsideModel,PotPowerShell.Commands.ImportPotModelCommand'
        $errs[0].Exception.Message | Should -BeLike '*pre_secret*'
    }
}
