# The README's main job (build.ps1 -Task Demo runs samples/Invoke-Demo.ps1): it runs to the end on the shipped sample
# and writes what it says, both quantized models and the report.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
}

Describe 'The demo on the shipped sample' {
    It 'quantizes the sample twice, compares both with FP32 and writes the report' {
        $demo = Join-Path $PSScriptRoot '../../samples/Invoke-Demo.ps1'
        $out = Join-Path $TestDrive 'demo'
        $printed = Invoke-InChildPwsh "& '$demo' -ModulePath '$(Get-PotModulePath)' -OutputFolder '$out'; exit [int](-not `$?)" | Out-String
        $LASTEXITCODE | Should -Be 0 -Because $printed
        'digits.int8.onnx', 'digits.allint8.onnx', 'digits-report.html' | ForEach-Object { Join-Path $out $_ | Should -Exist }
        $printed | Should -Match 'digits\.allint8\.onnx\s+accuracy@top1'
        $printed | Should -Match "Report: .*digits-report\.html"
        Get-Content (Join-Path $out 'digits-report.html') -Raw | Should -Match 'digits\.allint8\.onnx'
    }
}
