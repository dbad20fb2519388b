# Builds small ONNX models with real-world warts at test time, through the module's own GraphBuilder, so that no model
# binary is committed. The core assembly lives in the module's private load context, where [type] literals cannot
# reach it: its types are found by name through the test support module (Get-PotCoreType). Import PotPowerShell first.

Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1')
Import-PotTestSupport

# Attributes for GraphBuilder.Node: a hashtable becomes (string Name, object Value)[] (int -> long, double -> float).
function ConvertTo-Attributes {
    param([System.Collections.IDictionary] $Attributes)
    $list = [System.Collections.Generic.List[System.ValueTuple[string, object]]]::new()
    if ($Attributes) {
        foreach ($key in @($Attributes.Keys | Sort-Object)) {
            $value = $Attributes[$key]
            # (not a switch: it would enumerate an array value)
            $converted = if ($value -is [int]) { [long]$value }
            elseif ($value -is [double]) { [float]$value }
            elseif ($value -is [object[]] -and $value[0] -is [double]) { , [float[]]$value }
            elseif ($value -is [object[]]) { , [long[]]$value }
            else { , $value }
            $list.Add([System.ValueTuple[string, object]]::new($key, $converted))
        }
    }
    , $list.ToArray()
}

# A small wrapper over GraphBuilder: New-WartGraph, then Add-WartNode/Add-WartWeight, then Save-WartModel.
function New-WartGraph {
    param([string] $Name = 'wart', [long] $Opset = 13)
    $type = Get-PotCoreType 'PotPowerShell.Core.Onnx.GraphBuilder'
    [pscustomobject]@{ Builder = $type::new($Name, $Opset); Opset = $Opset; Random = [Random]::new(7) }
}

function Add-WartInput {
    param($Graph, [string] $Name, [object[]] $Dims, [string] $ElementType = 'Float')
    $dataType = Get-PotCoreType 'Onnx.TensorProto+Types+DataType'
    $null = $Graph.Builder.Input($Name, [Enum]::Parse($dataType, $ElementType), [object[]]$Dims)
}

function Add-WartOutput {
    param($Graph, [string] $Name, [object[]] $Dims)
    $dataType = Get-PotCoreType 'Onnx.TensorProto+Types+DataType'
    $Graph.Builder.Output($Name, [Enum]::Parse($dataType, 'Float'), [object[]]$Dims)
}

# Seeded random float weights in [-Scale, Scale]; -Constant stores them in a Constant node instead of an initializer.
function Add-WartWeight {
    param($Graph, [string] $Name, [long[]] $Dims, [float] $Scale = 0.5, [float[]] $Values, [switch] $Constant)
    $count = 1
    foreach ($d in $Dims) { $count *= $d }
    if (-not $PSBoundParameters.ContainsKey('Values')) {
        $Values = [float[]]::new($count)
        for ($i = 0; $i -lt $count; $i++) { $Values[$i] = [float](($Graph.Random.NextDouble() * 2 - 1) * $Scale) }
    }
    if ($Constant) { $Graph.Builder.Constant($Name, [float[]]$Values, [long[]]$Dims) }
    else { $Graph.Builder.Initializer($Name, [float[]]$Values, [long[]]$Dims) }
}

function Add-WartInt64 {
    param($Graph, [string] $Name, [long[]] $Values)
    $Graph.Builder.Initializer($Name, [long[]]$Values, [long[]]@($Values.Length))
}

# Adds a node and returns its output name (or names, with -Outputs n).
function Add-WartNode {
    param($Graph, [string] $OpType, [string[]] $Inputs, [string] $Name, [hashtable] $Attributes, [int] $Outputs = 1)
    $attrs = ConvertTo-Attributes $Attributes
    if ($Outputs -eq 1) { return $Graph.Builder.Node($OpType, [string[]]$Inputs, $Name, $attrs) }
    , $Graph.Builder.NodeMulti($OpType, [string[]]$Inputs, $Outputs, $Name, $attrs)
}

# Renames a tensor (a node output and its readers), e.g. to give the graph output a readable name.
function Rename-WartTensor {
    param($Graph, [string] $From, [string] $To)
    foreach ($node in $Graph.Builder.Graph.Node) {
        for ($i = 0; $i -lt $node.Input.Count; $i++) { if ($node.Input[$i] -eq $From) { $node.Input[$i] = $To } }
        for ($i = 0; $i -lt $node.Output.Count; $i++) { if ($node.Output[$i] -eq $From) { $node.Output[$i] = $To } }
    }
}

function Save-WartModel {
    param($Graph, [string] $Path, [long] $IrVersion = 7)
    $model = $Graph.Builder.Build($IrVersion, 'PotPowerShell.Tests')
    (Get-PotCoreType 'PotPowerShell.Core.Onnx.OnnxModelFile')::Save($model, $Path, [Threading.CancellationToken]::None)
    $Path
}

# .npy writer (format 1.0, little-endian, C order), as numpy.save writes: float32 or int64.
function Write-WartNpy {
    param([string] $Path, [Array] $Values, [long[]] $Shape)
    $descr = if ($Values -is [long[]]) { '<i8' } else { '<f4' }
    $dims = if ($Shape.Length -eq 1) { "$($Shape[0])," } else { $Shape -join ', ' }
    $header = "{'descr': '$descr', 'fortran_order': False, 'shape': ($dims), }"
    $header += ' ' * ((64 - (10 + $header.Length + 1) % 64) % 64) + "`n"
    $stream = [IO.File]::Create($Path)
    try {
        $stream.Write([byte[]](0x93, 78, 85, 77, 80, 89, 1, 0), 0, 8)
        $stream.Write([BitConverter]::GetBytes([uint16]$header.Length), 0, 2)
        $ascii = [Text.Encoding]::ASCII.GetBytes($header)
        $stream.Write($ascii, 0, $ascii.Length)
        $bytes = [byte[]]::new($Values.Length * $(if ($descr -eq '<i8') { 8 } else { 4 }))
        [Buffer]::BlockCopy($Values, 0, $bytes, 0, $bytes.Length)
        $stream.Write($bytes, 0, $bytes.Length)
    }
    finally { $stream.Dispose() }
    $Path
}

# A 24-bit BMP of Width x Height whose pixels are a function of their position and the seed (rows bottom-up, each
# padded to 4 bytes, blue green red).
function Write-WartBmp {
    param([string] $Path, [int] $Width, [int] $Height, [int] $Seed)
    $row = [int]([Math]::Ceiling($Width * 3 / 4) * 4)
    $bytes = [byte[]]::new(54 + $row * $Height)
    $header = [IO.BinaryWriter]::new([IO.MemoryStream]::new($bytes))
    $header.Write([byte[]](66, 77)); $header.Write([int]$bytes.Length); $header.Write([int]0); $header.Write([int]54)
    $header.Write([int]40); $header.Write([int]$Width); $header.Write([int]$Height); $header.Write([int16]1); $header.Write([int16]24)
    $header.Write([int]0); $header.Write([int]($row * $Height)); $header.Write([int]2835); $header.Write([int]2835); $header.Write([int]0); $header.Write([int]0)
    for ($y = 0; $y -lt $Height; $y++) {
        for ($x = 0; $x -lt $Width * 3; $x++) { $bytes[54 + $y * $row + $x] = [byte](($x * 37 + $y * 11 + $Seed * 53) % 256) }
    }
    [IO.File]::WriteAllBytes($Path, $bytes)
    $Path
}

function New-WartFloats {
    param([int] $Seed, [long] $Count, [float] $Scale = 1)
    $random = [Random]::new($Seed)
    $values = [float[]]::new($Count)
    for ($i = 0; $i -lt $Count; $i++) { $values[$i] = [float](($random.NextDouble() * 2 - 1) * $Scale) }
    , $values
}

# An .npz archive of the given .npy files (each entry named after its file).
function New-WartNpz {
    param([string] $Path, [string[]] $NpyFiles)
    Add-Type -AssemblyName System.IO.Compression.FileSystem
    $zip = [IO.Compression.ZipFile]::Open($Path, [IO.Compression.ZipArchiveMode]::Create)
    try { foreach ($f in $NpyFiles) { $null = [IO.Compression.ZipFileExtensions]::CreateEntryFromFile($zip, $f, (Split-Path -Leaf $f)) } }
    finally { $zip.Dispose() }
    $Path
}

# Every output of a model for every item of a data path (npy folder or .npz), through Measure-PotModel and a
# scriptblock metric that keeps the raw values: a list of hashtables output name -> float[].
function Get-WartOutputs {
    param([string] $ModelPath, [string] $DataPath)
    $captured = [System.Collections.Generic.List[hashtable]]::new()
    $null = Measure-PotModel -ModelPath $ModelPath -DataPath $DataPath -MetricName capture -WarningAction SilentlyContinue -Metric {
        param($Outputs)
        $copy = @{}
        foreach ($k in $Outputs.Keys) { $copy[$k] = [float[]]$Outputs[$k] }
        $captured.Add($copy)
        0
    }.GetNewClosure()
    , $captured
}

# The largest |int8 - fp32| over all items and outputs, relative to the largest |fp32| of that output. NaN if any
# INT8 value is not finite.
function Get-WartRelativeError {
    param($Expected, $Actual)
    $worst = 0.0
    for ($i = 0; $i -lt $Expected.Count; $i++) {
        foreach ($name in $Expected[$i].Keys) {
            $e = $Expected[$i][$name]; $a = $Actual[$i][$name]
            $scale = 1e-6; $err = 0.0
            for ($j = 0; $j -lt $e.Length; $j++) {
                if (-not [float]::IsFinite($a[$j])) { return [double]::NaN }
                $scale = [Math]::Max($scale, [Math]::Abs($e[$j]))
                $err = [Math]::Max($err, [Math]::Abs($e[$j] - $a[$j]))
            }
            $worst = [Math]::Max($worst, $err / $scale)
        }
    }
    $worst
}

Export-ModuleMember -Function New-WartGraph, Add-WartInput, Add-WartOutput, Add-WartWeight, Add-WartInt64, Add-WartNode,
    Rename-WartTensor, Save-WartModel, Write-WartNpy, Write-WartBmp, New-WartFloats, New-WartNpz, Get-WartOutputs, Get-WartRelativeError
