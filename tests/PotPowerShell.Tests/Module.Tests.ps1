BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:moduleDir = Get-PotModulePath
    Import-Module (Join-Path $moduleDir 'PotPowerShell.psd1') -Force
    $script:sample = Join-Path (Get-PotSamplePath) 'digits.onnx'
}

Describe 'Module manifest and loading' {
    It 'exports exactly the cmdlets the manifest lists' {
        $manifest = Import-PowerShellDataFile (Join-Path $moduleDir 'PotPowerShell.psd1')
        $exported = (Get-Module PotPowerShell).ExportedCmdlets.Keys | Sort-Object
        $exported | Should -Be ($manifest.CmdletsToExport | Sort-Object)
    }

    It 'keeps only the cmdlet assembly in the module root' {
        (Get-ChildItem $moduleDir -Filter *.dll).Name | Should -Be @('PotPowerShell.dll')
        Join-Path $moduleDir 'Dependencies/PotPowerShell.Core.dll' | Should -Exist
    }

    It 'loads the core and its dependencies into a private load context' {
        $null = Import-PotModel -Path $sample
        $core = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'PotPowerShell.Core' }
        [Runtime.Loader.AssemblyLoadContext]::GetLoadContext($core).Name | Should -Be 'PotPowerShell'
    }

    It 'loads the native ONNX Runtime from the module''s runtimes folder' -Skip:(-not $IsLinux) {
        $null = Import-PotModel -Path $sample
        $maps = Get-Content "/proc/$PID/maps" | Where-Object { $_ -match 'libonnxruntime\.so' }
        $maps | Should -Not -BeNullOrEmpty
        $maps | ForEach-Object { ($_ -split '\s+')[-1] } | Select-Object -Unique |
            Should -Be (Join-Path $moduleDir 'Dependencies/runtimes/linux-x64/native/libonnxruntime.so')
    }

    It 'works when another module loaded an older YamlDotNet first' {
        # YamlDotNet 16.3.0's assembly in the default context, then our module: our YAML parsing must still work.
        $yaml16 = Join-Path ([IO.Path]::GetTempPath()) 'pot-yaml16'
        $nuget = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
        $dll = Join-Path $nuget 'yamldotnet/16.3.0/lib/net8.0/YamlDotNet.dll'
        if (-not (Test-Path $dll)) { Set-ItResult -Skipped -Because 'YamlDotNet 16.3.0 is not restored'; return }
        $config = Join-Path $TestDrive 'c.yml'
        "model:`n  model_name: m`n  model: $sample`nengine:`n  type: simplified`n  data_source: .`ncompression:`n  algorithms:`n    - name: DefaultQuantization`n" | Set-Content $config
        $out = Invoke-InChildPwsh @"
Add-Type -Path '$dll'
Import-Module '$(Join-Path $moduleDir 'PotPowerShell.psd1')'
`$c = Import-PotConfig -Path '$config'
'yaml:' + (([AppDomain]::CurrentDomain.GetAssemblies() | ? { `$_.GetName().Name -eq 'YamlDotNet' } | % { `$_.GetName().Version.Major } | Sort-Object) -join ',')
'model:' + `$c.Model.ModelName
"@
        $out | Should -Contain 'yaml:16,18'
        $out | Should -Contain 'model:m'
    }

    It 'names the platform and path when the native library is missing' {
        $copy = Join-Path $TestDrive 'broken'
        Copy-Item $moduleDir $copy -Recurse
        Remove-Item -Recurse (Join-Path $copy 'Dependencies/runtimes')
        $out = Invoke-InChildPwsh @"
Import-Module '$(Join-Path $copy 'PotPowerShell.psd1')'
try { Import-PotModel -Path '$sample' -ErrorAction Stop } catch { 'id:' + `$_.FullyQualifiedErrorId; 'msg:' + `$_.Exception.Message }
"@
        $out | Should -Contain 'id:OnnxRuntimeLoadFailed,PotPowerShell.Commands.ImportPotModelCommand'
        ($out | Where-Object { "$_" -like 'msg:*' }) | Should -Match 'linux-x64|win-x64|osx-arm64|linux-arm64'
        ($out | Where-Object { "$_" -like 'msg:*' }) | Should -Match ([regex]::Escape('runtimes'))
    }
}

Describe 'Import-PotModel' {
    It 'describes the sample model' {
        $m = Import-PotModel -Path $sample
        $m.PSObject.TypeNames[0] | Should -Be 'PotPowerShell.Core.Results.PotModel'
        $m.Opset | Should -Be 13
        $m.Inputs[0].Name | Should -Be 'input'
        $m.Inputs[0].Shape[0] | Should -Be 'batch'
        $m.Outputs[0].Name | Should -Be 'logits'
        $m.QuantizableLayerCount | Should -Be 5
        ($m.OpTypes | Where-Object OpType -eq 'Conv').Count | Should -Be 3
        $m.WeightStorage | Should -Be 'Initializers'
    }

    It 'takes files from the pipeline and expands wildcards' {
        Copy-Item $sample (Join-Path $TestDrive 'a.onnx')
        Copy-Item $sample (Join-Path $TestDrive 'b.onnx')
        (Get-ChildItem $TestDrive -Filter *.onnx | Import-PotModel).Count | Should -Be 2
        (Import-PotModel -Path (Join-Path $TestDrive '*.onnx')).Count | Should -Be 2
    }

    It 'takes -LiteralPath without expanding wildcards' {
        $odd = Join-Path $TestDrive 'odd[1].onnx'
        Copy-Item -LiteralPath $sample -Destination $odd
        (Import-PotModel -LiteralPath $odd).Name | Should -Not -BeNullOrEmpty
    }

    It 'reports a missing file with ModelNotFound' {
        { Import-PotModel -Path (Join-Path $TestDrive 'none.onnx') -ErrorAction Stop } |
            Should -Throw -ErrorId 'ModelNotFound,PotPowerShell.Commands.ImportPotModelCommand'
    }

    It 'reports a corrupt file with ModelCorrupt and goes on with the next file' {
        $bad = Join-Path $TestDrive 'bad.onnx'
        'not a model' | Set-Content $bad
        $result = Import-PotModel -Path $bad, $sample -ErrorVariable errs -ErrorAction SilentlyContinue
        $errs[0].FullyQualifiedErrorId | Should -Be 'ModelCorrupt,PotPowerShell.Commands.ImportPotModelCommand'
        $errs[0].TargetObject | Should -Be $bad
        @($result).Count | Should -Be 1
    }

    It 'has a list view with the model summary' {
        $text = Import-PotModel -Path $sample | Out-String
        $text | Should -Match 'QuantizableLayerCount\s*:\s*5'
        $text | Should -Match 'input: float\[batch,1,8,8\]'
    }
}
