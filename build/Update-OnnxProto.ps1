<#
.SYNOPSIS
    Regenerates src/PotPowerShell.Core/Onnx/Generated/Onnx.cs (the protobuf classes of onnx.proto) with the pinned protoc.
.DESCRIPTION
    build/onnx.fds is the compiled FileDescriptorSet of onnx.proto, so no .proto file or include path is needed. protoc
    comes from NuGet's Google.Protobuf.Tools, restored by build/protoc/protoc.csproj at the version of Google.Protobuf
    pinned in Directory.Packages.props (checked here: the generated code must match the runtime library).
        dotnet pwsh ./build/Update-OnnxProto.ps1          # writes Onnx.cs
        dotnet pwsh ./build/Update-OnnxProto.ps1 -Check   # exits 1 when Onnx.cs is not what protoc generates
.PARAMETER Check
    Compare instead of writing.
#>
param([switch] $Check)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$root = Split-Path -Parent $PSScriptRoot
$project = Join-Path $PSScriptRoot 'protoc/protoc.csproj'
$target = Join-Path $root 'src/PotPowerShell.Core/Onnx/Generated/Onnx.cs'

$pinned = ([xml](Get-Content -Raw (Join-Path $root 'Directory.Packages.props'))).Project.ItemGroup.PackageVersion |
    Where-Object Include -eq 'Google.Protobuf' | ForEach-Object Version
$tools = ([xml](Get-Content -Raw $project)).Project.ItemGroup.PackageDownload | Where-Object Include -eq 'Google.Protobuf.Tools' | ForEach-Object Version
if ($tools -ne "[$pinned]") { throw "build/protoc/protoc.csproj downloads Google.Protobuf.Tools $tools, but Directory.Packages.props pins Google.Protobuf ${pinned}: make them the same." }

& dotnet restore $project --nologo -v quiet
if ($LASTEXITCODE -ne 0) { throw "Restoring $project failed." }
$nuget = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
$arch = [Runtime.InteropServices.RuntimeInformation]::OSArchitecture
$platform = if ($IsWindows) { 'windows_x64' } elseif ($IsMacOS) { 'macosx_x64' } elseif ($arch -eq 'Arm64') { 'linux_aarch64' } else { 'linux_x64' }
$protoc = Join-Path $nuget "google.protobuf.tools/$pinned/tools/$platform/protoc$(if ($IsWindows) { '.exe' })"
# NuGet does not keep the executable bit.
if (-not $IsWindows) { & chmod +x $protoc }

$out = Join-Path ([IO.Path]::GetTempPath()) "pot-protoc-$PID"
New-Item -ItemType Directory -Force $out | Out-Null
try {
    & $protoc "--descriptor_set_in=$(Join-Path $PSScriptRoot 'onnx.fds')" "--csharp_out=$out" onnx.proto
    if ($LASTEXITCODE -ne 0) { throw "protoc failed with exit code $LASTEXITCODE." }
    $generated = Join-Path $out 'Onnx.cs'
    if ($Check) {
        $same = [IO.File]::ReadAllBytes($generated).Length -eq [IO.File]::ReadAllBytes($target).Length -and
            (Get-FileHash $generated).Hash -eq (Get-FileHash $target).Hash
        if (-not $same) { Write-Host "$target is not what protoc $pinned generates from build/onnx.fds: run build/Update-OnnxProto.ps1."; exit 1 }
        Write-Host "$target is up to date (protoc $pinned)."
    }
    else {
        Copy-Item $generated $target -Force
        Write-Host "Wrote $target (protoc $pinned)."
    }
}
finally { Remove-Item -Recurse -Force $out }
