<#
.SYNOPSIS
    Writes the digits validation set as 8x8 grey PNG images plus an ImageNet-style annotation file, the data of the
    Accuracy Checker configuration samples/digits/accuracy-checker.yml.
.DESCRIPTION
    validation/input.npy holds x = p / 8 - 1 for the 17 grey levels p = 0..16 of scikit-learn's digits. Each image stores
    v = 15 * p (0..240), so the configuration's normalization (v - 120) / 120 gives back exactly the model's input, and
    the images evaluate like the .npy data. Run once from the repository root:
        dotnet pwsh samples/digits/New-ValidationImages.ps1
#>
[CmdletBinding()]
param([string] $Folder = (Join-Path $PSScriptRoot 'validation'))

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

function Read-Npy([string] $Path) {
    $bytes = [IO.File]::ReadAllBytes($Path)
    $headerLength = [BitConverter]::ToUInt16($bytes, 8)
    $header = [Text.Encoding]::ASCII.GetString($bytes, 10, $headerLength)
    [pscustomobject]@{ Header = $header; Data = $bytes; Offset = 10 + $headerLength }
}

# PNG chunks carry a CRC-32 (ISO 3309) of their type and data.
$crcTable = [uint32[]]::new(256)
for ($n = 0; $n -lt 256; $n++) {
    [uint32] $c = $n
    for ($k = 0; $k -lt 8; $k++) { $c = if ($c -band 1) { 0xEDB88320u -bxor ($c -shr 1) } else { $c -shr 1 } }
    $crcTable[$n] = $c
}
function Get-Crc([byte[]] $Bytes) {
    [uint32] $c = [uint32]::MaxValue
    foreach ($b in $Bytes) { $c = $crcTable[($c -bxor $b) -band 0xFF] -bxor ($c -shr 8) }
    return $c -bxor [uint32]::MaxValue
}
function Write-Chunk([IO.Stream] $Stream, [string] $Type, [byte[]] $Data) {
    $typeAndData = [Text.Encoding]::ASCII.GetBytes($Type) + $Data
    $length = [BitConverter]::GetBytes([uint32] $Data.Length); [Array]::Reverse($length)
    $crc = [BitConverter]::GetBytes([uint32] (Get-Crc $typeAndData)); [Array]::Reverse($crc)
    $Stream.Write($length, 0, 4); $Stream.Write($typeAndData, 0, $typeAndData.Length); $Stream.Write($crc, 0, 4)
}
function Write-GreyPng([string] $Path, [byte[,]] $Pixels) {
    $height = $Pixels.GetLength(0); $width = $Pixels.GetLength(1)
    $raw = [IO.MemoryStream]::new()
    for ($y = 0; $y -lt $height; $y++) {
        $raw.WriteByte(0)   # filter: none
        for ($x = 0; $x -lt $width; $x++) { $raw.WriteByte($Pixels[$y, $x]) }
    }
    $packed = [IO.MemoryStream]::new()
    $zlib = [IO.Compression.ZLibStream]::new($packed, [IO.Compression.CompressionLevel]::SmallestSize, $true)
    $zlib.Write($raw.ToArray(), 0, [int] $raw.Length); $zlib.Dispose()
    $ihdr = [IO.MemoryStream]::new()
    foreach ($v in $width, $height) { $b = [BitConverter]::GetBytes([uint32] $v); [Array]::Reverse($b); $ihdr.Write($b, 0, 4) }
    $ihdr.Write([byte[]] (8, 0, 0, 0, 0), 0, 5)   # 8-bit grey, deflate, no filter method, no interlace
    $file = [IO.File]::Create($Path)
    try {
        $file.Write([byte[]] (137, 80, 78, 71, 13, 10, 26, 10), 0, 8)
        Write-Chunk $file 'IHDR' $ihdr.ToArray()
        Write-Chunk $file 'IDAT' $packed.ToArray()
        Write-Chunk $file 'IEND' ([byte[]] @())
    }
    finally { $file.Dispose() }
}

$inputs = Read-Npy (Join-Path $Folder 'input.npy')
$labels = Read-Npy (Join-Path $Folder 'labels.npy')
if ($inputs.Header -notmatch "'descr': '<f4'.*'shape': \((\d+), 1, 8, 8\)") { throw "Unexpected input.npy header: $($inputs.Header)" }
$count = [int] $Matches[1]
if ($labels.Header -notmatch "'descr': '<i8'") { throw "Unexpected labels.npy header: $($labels.Header)" }

$imageFolder = Join-Path $Folder 'images'
$null = New-Item -ItemType Directory -Force $imageFolder
$lines = [Collections.Generic.List[string]]::new()
for ($i = 0; $i -lt $count; $i++) {
    $pixels = [byte[,]]::new(8, 8)
    for ($j = 0; $j -lt 64; $j++) {
        $x = [BitConverter]::ToSingle($inputs.Data, $inputs.Offset + 4 * (64 * $i + $j))
        $level = [Math]::Round(($x + 1) * 8)
        if ([Math]::Abs($level / 8 - 1 - $x) -gt 1e-6 -or $level -lt 0 -or $level -gt 16) { throw "Item $i value $x is not one of the 17 grey levels." }
        $pixels[[Math]::Floor($j / 8), ($j % 8)] = [byte] (15 * $level)
    }
    $name = 'digit_{0:D3}.png' -f $i
    Write-GreyPng (Join-Path $imageFolder $name) $pixels
    $lines.Add("$name $([BitConverter]::ToInt64($labels.Data, $labels.Offset + 8 * $i))")
}
[IO.File]::WriteAllLines((Join-Path $imageFolder 'val.txt'), $lines)
"Wrote $count images and val.txt to $imageFolder"
