<#
.SYNOPSIS
    The main job on the shipped sample: quantize samples/digits/digits.onnx and print the result.
#>
param([Parameter(Mandatory)][string] $ModulePath)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $ModulePath 'PotPowerShell.psd1')
$sample = Join-Path $PSScriptRoot 'digits'
Import-PotModel -Path (Join-Path $sample 'digits.onnx') | Format-List
