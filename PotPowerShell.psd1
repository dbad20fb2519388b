@{
    RootModule           = 'PotPowerShell.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '9c5e2b7a-3f41-4d8e-a6b2-1e7c0d4f8a93'
    Author               = 'PotPowerShell contributors'
    CompanyName          = 'PotPowerShell'
    Copyright            = '(c) PotPowerShell contributors. MIT License.'
    Description          = 'INT8 post-training quantization of ONNX models on ONNX Runtime: DefaultQuantization and AccuracyAwareQuantization in the manner of OpenVINO POT.'
    PowerShellVersion    = '7.4'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @(
        'Formats/PotModel.Format.ps1xml'
        'Formats/PotConfig.Format.ps1xml'
        'Formats/QuantizationResult.Format.ps1xml'
        'Formats/QuantizedLayerInfo.Format.ps1xml'
        'Formats/ModelEvaluation.Format.ps1xml'
        'Formats/AccuracyAwareResult.Format.ps1xml'
        'Formats/LayerRank.Format.ps1xml'
        'Formats/ModelComparison.Format.ps1xml'
    )
    CmdletsToExport      = @(
        'Import-PotModel'
        'Import-PotConfig'
        'Export-PotConfig'
        'Invoke-DefaultQuantization'
        'Measure-PotModel'
        'Invoke-AccuracyAwareQuantization'
        'Get-LayerRanking'
        'Compare-PotModel'
        'Export-PotReport'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('ONNX', 'ONNXRuntime', 'Quantization', 'INT8', 'POT', 'PSEdition_Core', 'Windows', 'Linux', 'MacOS')
            LicenseUri = 'https://opensource.org/licenses/MIT'
            ProjectUri = 'https://github.com/PotPowerShell/PotPowerShell'
        }
    }
}
