# Models with real-world warts, built at test time with the core's GraphBuilder (WartModels.psm1), go through the
# cmdlets end to end: Import-PotModel -> Invoke-DefaultQuantization -> INT8 kernel counts, and the INT8 model's outputs
# against the FP32 model's (both run by ONNX Runtime through Measure-PotModel). The core's xunit tests (Warts/) cover
# more cases; these check the same paths through PowerShell.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-PotModulePath) 'PotPowerShell.psd1') -Force
    Import-Module (Join-Path $PSScriptRoot 'WartModels.psm1') -Force
    $script:cmd = 'PotPowerShell.Commands.InvokeDefaultQuantizationCommand'
    $script:importCmd = 'PotPowerShell.Commands.ImportPotModelCommand'
    $script:dir = Join-Path $TestDrive 'warts'
    New-Item -ItemType Directory $dir | Out-Null

    # Calibration data: 32 items of [3, 8, 8] in [-1, 1].
    $script:images = Join-Path $dir 'images'
    New-Item -ItemType Directory $images | Out-Null
    $null = Write-WartNpy (Join-Path $images 'x.npy') (New-WartFloats 1 (32 * 192)) @(32, 3, 8, 8)

    # Min/max ranges: the test items are calibration items, so INT8 errors come from rounding, not from clipping.
    $script:configPath = Join-Path $dir 'minmax.json'
    $sampleModel = (Join-Path (Get-PotSamplePath) 'digits.onnx').Replace('\', '/')
    @"
// The settings every wart model is quantized with; the model and data come from the command line. Every layer is
// INT8 (precision all_int8), so that every weighted layer is checked as an INT8 kernel.
{
    "model": { "model_name": "wart", "model": "$sampleModel" },
    "engine": { "type": "simplified", "data_source": "images" },
    "compression": { "algorithms": [ { "name": "DefaultQuantization", "params": {
        "preset": "mixed", "stat_batch_size": 8, "precision": "all_int8",
        "activations": { "range_estimator": { "min": { "aggregator": "min" }, "max": { "aggregator": "max" } } } } } ] }
}
"@ | Set-Content $configPath
    $script:minmax = Import-PotConfig $configPath

    function Invoke-Wart {
        param([string] $Model, [string] $Data, [string] $Name)
        Import-PotModel $Model | Invoke-DefaultQuantization -Config $minmax -CalibrationDataPath $Data -OutputPath (Join-Path $dir "$Name.int8.onnx") -Force
    }

    # ids [batch, seq] (int64) -> Gather from a [50, 6] table (times weights [batch, seq, 1] with -Weighted) -> MatMul
    # 6 -> 4: sentences of any length.
    function Save-SentenceModel {
        param([string] $Name, [switch] $Weighted)
        $g = New-WartGraph $Name
        Add-WartInput $g 'ids' @('batch', 'seq') -ElementType Int64
        $embedded = Add-WartNode $g Gather @((Add-WartWeight $g table @(50, 6)), 'ids') embed
        if ($Weighted) {
            Add-WartInput $g 'weights' @('batch', 'seq', 1)
            $embedded = Add-WartNode $g Mul @($embedded, 'weights') weigh
        }
        $y = Add-WartNode $g MatMul @($embedded, (Add-WartWeight $g w @(6, 4))) proj
        Rename-WartTensor $g $y 'y'
        Add-WartOutput $g 'y' @('batch', 'seq', 4)
        Save-WartModel $g (Join-Path $dir "$Name.onnx")
    }

    function Get-Error {
        param([string] $Model, [string] $Quantized, [string] $Data)
        $fp32 = Get-WartOutputs $Model $Data
        $int8 = Get-WartOutputs $Quantized $Data
        # Every item was run by both models (an empty capture would compare nothing).
        $fp32.Count | Should -BeGreaterThan 20
        $int8.Count | Should -Be $fp32.Count
        $e = Get-WartRelativeError $fp32 $int8
        Write-Host "    relative error of '$(Split-Path -Leaf $Quantized)': $e"
        $e
    }
}

Describe 'Real-world warts through the cmdlets' {
    It 'upgrades an opset-9 model with Constant-node weights and old-form ops, and runs every layer as INT8' {
        $g = New-WartGraph 'opset9' 9
        Add-WartInput $g 'x' @('batch', 3, 8, 8)
        $c1 = Add-WartNode $g Conv @('x', (Add-WartWeight $g w1 @(8, 3, 3, 3) -Constant), (Add-WartWeight $g b1 @(8) -Scale 0.1 -Constant)) conv1 @{ pads = @(1, 1, 1, 1) }
        $r1 = Add-WartNode $g Relu @($c1) relu1
        $clip = Add-WartNode $g Clip @($r1) clip1 @{ min = 0.0; max = 6.0 }
        $up = Add-WartNode $g Upsample @($clip, (Add-WartWeight $g scales @(4) -Values @(1, 1, 2, 2) -Constant)) up @{ mode = 'nearest' }
        $c2 = Add-WartNode $g Conv @($up, (Add-WartWeight $g w2 @(8, 8, 3, 3) -Scale 0.3 -Constant), (Add-WartWeight $g b2 @(8) -Scale 0.1 -Constant)) conv2 @{ pads = @(1, 1, 1, 1); strides = @(2, 2) }
        $halves = Add-WartNode $g Split @($c2) split @{ axis = 1; split = @(4, 4) } -Outputs 2
        $sum = Add-WartNode $g Add @($halves[0], $halves[1]) add
        $pool = Add-WartNode $g GlobalAveragePool @($sum) pool
        $squeezed = Add-WartNode $g Squeeze @($pool) squeeze @{ axes = @(2, 3) }
        $fc = Add-WartNode $g Gemm @($squeezed, (Add-WartWeight $g w3 @(4, 10) -Constant), (Add-WartWeight $g b3 @(10) -Scale 0.1 -Constant)) fc
        $unsqueezed = Add-WartNode $g Unsqueeze @($fc) unsqueeze @{ axes = @(1) }
        $grouped = Add-WartNode $g Reshape @($unsqueezed, (Add-WartInt64 $g group_shape @(0, 2, 5))) reshape
        # Axis 1 of a rank-3 tensor: before opset 13, the softmax runs over all 10 values.
        $softmax = Add-WartNode $g Softmax @($grouped) softmax @{ axis = 1 }
        Rename-WartTensor $g $softmax 'probabilities'
        Add-WartOutput $g 'probabilities' @('batch', 2, 5)
        $model = Save-WartModel $g (Join-Path $dir 'opset9.onnx')

        $info = Import-PotModel $model
        $info.Opset | Should -Be 9
        $info.ConstantNodeCount | Should -Be 7   # every weight; only Reshape's shape is an initializer
        $result = Invoke-Wart $model $images 'opset9'
        $result.SourceOpset | Should -Be 9
        $result.Opset | Should -Be 13
        $result.LayerCount | Should -Be 3
        $result.FusedLayerCount | Should -Be 3
        ($result.Layers | Where-Object Node -eq 'conv1').WeightScaleCount | Should -Be 8
        Get-Error $model $result.OutputPath $images | Should -BeLessThan 0.05
    }

    It 'keeps dynamic height and width dynamic, and calibrates a static batch-1 model item by item' {
        foreach ($case in @(@{ Name = 'dynamic_hw'; Dims = @('batch', 3, 'height', 'width'); Batch = 8 }, @{ Name = 'static1'; Dims = @(1, 3, 8, 8); Batch = 1 })) {
            $g = New-WartGraph $case.Name
            Add-WartInput $g 'x' $case.Dims
            $c1 = Add-WartNode $g Conv @('x', (Add-WartWeight $g w1 @(8, 3, 3, 3)), (Add-WartWeight $g b1 @(8) -Scale 0.1)) conv1 @{ pads = @(1, 1, 1, 1) }
            $r1 = Add-WartNode $g Relu @($c1) relu1
            $c2 = Add-WartNode $g Conv @($r1, (Add-WartWeight $g w2 @(8, 8, 3, 3) -Scale 0.3), (Add-WartWeight $g b2 @(8) -Scale 0.1)) conv2 @{ pads = @(1, 1, 1, 1) }
            $r2 = Add-WartNode $g Relu @($c2) relu2
            $pool = Add-WartNode $g GlobalAveragePool @($r2) pool
            $flat = Add-WartNode $g Flatten @($pool) flatten
            $fc = Add-WartNode $g Gemm @($flat, (Add-WartWeight $g fw @(10, 8)), (Add-WartWeight $g fb @(10) -Scale 0.1)) fc @{ transB = 1 }
            Rename-WartTensor $g $fc 'logits'
            Add-WartOutput $g 'logits' @($case.Dims[0], 10)
            $model = Save-WartModel $g (Join-Path $dir "$($case.Name).onnx")

            $result = Invoke-Wart $model $images $case.Name
            if ($case.Batch -eq 1) { $result.StatBatchSize | Should -Be 1 -Because $case.Name }
            else { $result.StatBatchSize | Should -BeGreaterOrEqual $case.Batch -Because $case.Name }
            $result.StatSubsetSize | Should -Be 32
            $result.FusedLayerCount | Should -Be 3 -Because $case.Name
            (Import-PotModel $result.OutputPath).Inputs[0].Shape | Should -Be ([string[]]$case.Dims)
            Get-Error $model $result.OutputPath $images | Should -BeLessThan 0.05 -Because $case.Name
        }
    }

    It 'feeds a float image, an int64 index and a float mask by name from an .npz, and names a missing input' {
        $g = New-WartGraph 'multi'
        Add-WartInput $g 'image' @('batch', 3, 8, 8)
        Add-WartInput $g 'index' @('batch') -ElementType Int64
        Add-WartInput $g 'mask' @('batch', 8)
        $c = Add-WartNode $g Conv @('image', (Add-WartWeight $g w @(8, 3, 3, 3)), (Add-WartWeight $g b @(8) -Scale 0.1)) conv @{ pads = @(1, 1, 1, 1) }
        $r = Add-WartNode $g Relu @($c) relu
        $pool = Add-WartNode $g GlobalAveragePool @($r) pool
        $flat = Add-WartNode $g Flatten @($pool) flatten
        $embedding = Add-WartNode $g Gather @((Add-WartWeight $g embedding @(10, 8)), 'index') embed @{ axis = 0 }
        $sum = Add-WartNode $g Add @($flat, $embedding) add
        $masked = Add-WartNode $g Mul @($sum, 'mask') mask_mul
        $fc = Add-WartNode $g Gemm @($masked, (Add-WartWeight $g fw @(4, 8)), (Add-WartWeight $g fb @(4) -Scale 0.1)) fc @{ transB = 1 }
        Rename-WartTensor $g $fc 'scores'
        Add-WartOutput $g 'scores' @('batch', 4)
        $model = Save-WartModel $g (Join-Path $dir 'multi.onnx')

        $parts = Join-Path $dir 'multi-parts'
        New-Item -ItemType Directory $parts | Out-Null
        $image = Write-WartNpy (Join-Path $parts 'image.npy') (New-WartFloats 2 (24 * 192)) @(24, 3, 8, 8)
        $index = Write-WartNpy (Join-Path $parts 'index.npy') ([long[]](0..23 | ForEach-Object { ($_ * 7) % 10 })) @(24)
        $mask = Write-WartNpy (Join-Path $parts 'mask.npy') ([float[]](0..191 | ForEach-Object { [float](($_ % 3) -ne 0) })) @(24, 8)
        $npz = New-WartNpz (Join-Path $dir 'multi.npz') @($image, $index, $mask)

        (Import-PotModel $model).Inputs.ElementType | Should -Be @('float', 'int64', 'float')
        $result = Invoke-Wart $model $npz 'multi'
        $result.CalibrationDataPath | Should -Be $npz
        $result.LayerCount | Should -Be 2
        $result.FusedLayerCount | Should -Be 2
        Get-Error $model $result.OutputPath $npz | Should -BeLessThan 0.05

        $partial = New-WartNpz (Join-Path $dir 'no-mask.npz') @($image, $index)
        $err = $null
        Import-PotModel $model | Invoke-DefaultQuantization -Config $minmax -CalibrationDataPath $partial -OutputPath (Join-Path $dir 'no-mask.int8.onnx') -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be "DataInputMissing,$cmd"
        "$($err[0])" | Should -BeLike "*'mask'*"
        "$($err[0])" | Should -BeLike "*$partial*"
        Join-Path $dir 'no-mask.int8.onnx' | Should -Not -Exist
    }

    It 'gives zero and near-zero weight channels finite scales and no NaN' {
        $g = New-WartGraph 'zeros'
        Add-WartInput $g 'x' @('batch', 3, 8, 8)
        $values = [float[]](New-WartFloats 5 (6 * 27) 0.5)
        for ($i = 0; $i -lt 27; $i++) {
            $values[$i] = 0                                   # channel 0: all zero (its bias alone remains)
            $values[27 + $i] = $values[27 + $i] * 1e-30       # channel 1: near zero
            $values[54 + $i] = [float]1e-41 * (1 - 2 * ($i % 2))  # channel 2: subnormal
        }
        $c = Add-WartNode $g Conv @('x', (Add-WartWeight $g w @(6, 3, 3, 3) -Values $values), (Add-WartWeight $g b @(6) -Values @(0.5, 0, 0.1, -0.2, 0.3, 0))) conv @{ pads = @(1, 1, 1, 1) }
        $r = Add-WartNode $g Relu @($c) relu
        $pool = Add-WartNode $g GlobalAveragePool @($r) pool
        $flat = Add-WartNode $g Flatten @($pool) flatten
        $fc = Add-WartNode $g Gemm @($flat, (Add-WartWeight $g fw @(6, 5) -Values ([float[]]::new(30))), (Add-WartWeight $g fb @(5) -Scale 0.1)) fc
        $head = Add-WartNode $g Gemm @($flat, (Add-WartWeight $g hw @(6, 4)), (Add-WartWeight $g hb @(4) -Scale 0.1)) head
        Rename-WartTensor $g $fc 'constant'
        Rename-WartTensor $g $head 'features'
        Add-WartOutput $g 'constant' @('batch', 5)
        Add-WartOutput $g 'features' @('batch', 4)
        $model = Save-WartModel $g (Join-Path $dir 'zeros.onnx')

        $result = Invoke-Wart $model $images 'zeros'
        $result.QuantizedLayerCount | Should -Be 3
        foreach ($layer in $result.Layers) {
            $layer.WeightScaleMin | Should -BeGreaterThan 0 -Because $layer.Node
            [float]::IsFinite($layer.WeightScaleMax) | Should -BeTrue -Because $layer.Node
            [float]::IsFinite($layer.InputScale) | Should -BeTrue -Because $layer.Node
        }
        Get-Error $model $result.OutputPath $images | Should -BeLessThan 0.05   # NaN would fail here too
    }

    It 'counts a layer inside an If branch apart, and keeps it float with a warning that names it' {
        # x [batch, 3, 8, 8] -> Conv "outer" -> If (1 > 0): then MatMul "inner" of the Conv's output, else Relu.
        $g = New-WartGraph 'layer_in_if'
        Add-WartInput $g 'x' @('batch', 3, 8, 8)
        $outer = Add-WartNode $g Conv @('x', (Add-WartWeight $g w @(4, 3, 3, 3))) outer @{ pads = @(1, 1, 1, 1) }
        $condition = Add-WartNode $g Greater @((Add-WartWeight $g one @(1) -Values @(1)), (Add-WartWeight $g zero @(1) -Values @(0))) condition
        $branches = foreach ($op in 'MatMul', 'Relu') {
            $branch = New-WartGraph "$op-branch"
            $inputs = if ($op -eq 'MatMul') { @($outer, (Add-WartWeight $g inner_w @(8, 8))) } else { @($outer) }
            $out = Add-WartNode $branch $op $inputs $(if ($op -eq 'MatMul') { 'inner' } else { 'else_relu' })
            Add-WartOutput $branch $out @('batch', 4, 8, 8)
            $branch.Builder.Graph
        }
        $y = Add-WartNode $g If @($condition) choice @{ then_branch = $branches[0]; else_branch = $branches[1] }
        Rename-WartTensor $g $y 'y'
        Add-WartOutput $g 'y' @('batch', 4, 8, 8)
        $model = Save-WartModel $g (Join-Path $dir 'layer_in_if.onnx')

        $summary = Import-PotModel $model
        $summary.QuantizableLayerCount | Should -Be 1
        $summary.SubgraphLayerCount | Should -Be 1
        ($summary | Out-String) | Should -Match 'SubgraphLayerCount\s+: 1'
        (Import-PotModel (Join-Path (Get-PotSamplePath) 'digits.onnx') | Out-String) | Should -Not -Match 'SubgraphLayerCount'

        $result = $summary | Invoke-DefaultQuantization -Config $minmax -CalibrationDataPath $images -OutputPath (Join-Path $dir 'layer_in_if.int8.onnx') -Force -WarningVariable warnings -WarningAction SilentlyContinue
        $result.QuantizedLayerCount | Should -Be 1
        @($warnings | Where-Object { "$_" -like "*has 1 Conv, ConvTranspose, MatMul or Gemm layer(s) inside control-flow subgraphs (If, Loop, Scan; the first is 'inner' in 'choice')*" }).Count | Should -Be 1
    }

    It 'refuses what cannot be quantized, naming the op, node or input' {
        # Opset 6: Add still had legacy broadcasting.
        $g = New-WartGraph 'opset6' 6
        Add-WartInput $g 'x' @('batch', 3, 8, 8)
        $c = Add-WartNode $g Conv @('x', (Add-WartWeight $g w @(4, 3, 3, 3))) conv
        Add-WartOutput $g (Add-WartNode $g Add @($c, (Add-WartWeight $g b @(4))) bias_add @{ broadcast = 1; axis = 1 }) @()
        $old = Save-WartModel $g (Join-Path $dir 'opset6.onnx') -IrVersion 3
        { Invoke-DefaultQuantization $old $images -OutputPath (Join-Path $dir 'o6.onnx') -ErrorAction Stop } |
            Should -Throw -ErrorId "OpsetUnsupported,$cmd" -ExpectedMessage "*op Add (node 'bias_add')*"

        # An op ONNX Runtime does not know: Import-PotModel already refuses it, with ORT's message naming the node.
        $g = New-WartGraph 'unknown'
        Add-WartInput $g 'x' @('batch', 3, 8, 8)
        Add-WartOutput $g (Add-WartNode $g FancyActivation @('x') my_fancy_node) @()
        $unknown = Save-WartModel $g (Join-Path $dir 'unknown.onnx')
        { Import-PotModel $unknown -ErrorAction Stop } | Should -Throw -ErrorId "ModelNotLoadable,$importCmd" -ExpectedMessage '*my_fancy_node*FancyActivation*'

        # A fixed batch of 4 cannot take calibration items one at a time.
        $g = New-WartGraph 'static4'
        Add-WartInput $g 'x' @(4, 3, 8, 8)
        Add-WartOutput $g (Add-WartNode $g Conv @('x', (Add-WartWeight $g w @(4, 3, 3, 3))) conv) @()
        $static4 = Save-WartModel $g (Join-Path $dir 'static4.onnx')
        { Invoke-DefaultQuantization $static4 $images -OutputPath (Join-Path $dir 's4.onnx') -ErrorAction Stop } |
            Should -Throw -ErrorId "CalibrationInputShape,$cmd" -ExpectedMessage '*fixed batch of 4*'
        @(Get-ChildItem $dir -Filter '*.onnx' | Where-Object Name -in 'o6.onnx', 's4.onnx') | Should -BeNullOrEmpty
    }

    It 'quantizes, evaluates and reverts a model with a dynamic height and width on images of several sizes' {
        # x [batch, 3, h, w] -> Conv -> GlobalAveragePool -> Flatten: any image size, and images are not resized to it.
        $g = New-WartGraph 'dynamic_size'
        Add-WartInput $g 'x' @('batch', 3, 'h', 'w')
        $c = Add-WartNode $g Conv @('x', (Add-WartWeight $g w @(8, 3, 3, 3)), (Add-WartWeight $g b @(8) -Scale 0.1)) conv @{ pads = @(1, 1, 1, 1) }
        $flat = Add-WartNode $g Flatten @((Add-WartNode $g GlobalAveragePool @($c) pool)) flatten
        Rename-WartTensor $g $flat 'features'
        Add-WartOutput $g 'features' @('batch', 8)
        $model = Save-WartModel $g (Join-Path $dir 'dynamic_size.onnx')
        $sized = Join-Path $dir 'sized'
        New-Item -ItemType Directory $sized | Out-Null
        foreach ($i in 0..11) { $null = Write-WartBmp (Join-Path $sized "$i.bmp") (6 + 3 * ($i % 3)) (5 + 2 * ($i % 3)) $i }
        $engine = Join-Path $dir 'sized.yml'
        "metrics:`n  - type: cosine_similarity`n    reference: fp32`ndataset:`n  data_source: $sized" | Set-Content $engine

        $q = Invoke-DefaultQuantization $model $sized -OutputPath (Join-Path $dir 'dynamic_size.int8.onnx') -Precision AllInt8 -SkipLatencyCheck
        $q.QuantizedLayerCount | Should -Be 1
        # Three sizes among twelve images: a batch of each size.
        $m = Measure-PotModel $q.OutputPath -EnginePath $engine -ReferenceModelPath $model -WarningVariable warnings -WarningAction SilentlyContinue
        $m.BatchSize | Should -Be 32
        $m.Inferences | Should -Be 3
        @($warnings | Where-Object { "$_" -like '*one item per inference*' }) | Should -HaveCount 0
        # Images of their own sizes are not grouped (batches of one image would run with a copy of it): they run one per
        # inference from the start, and the warning names an item whose size differs from the first one's.
        $distinct = Join-Path $dir 'distinct'
        New-Item -ItemType Directory $distinct | Out-Null
        foreach ($i in 0..3) { $null = Write-WartBmp (Join-Path $distinct "$i.bmp") (6 + 3 * $i) (5 + 2 * ($i % 2)) $i }
        $d = Measure-PotModel $q.OutputPath -DataPath $distinct -ReferenceModelPath $model -WarningVariable warnings -WarningAction SilentlyContinue
        $d.BatchSize | Should -Be 1
        $d.Inferences | Should -Be 4
        @($warnings | Where-Object { "$_" -like '*one item per inference: Item 1 has the shape `[1,3,7,9`] but item 0 `[1,3,5,6`]: items of different sizes cannot share a batch, and the first 4 items all differ in size.*' }) | Should -HaveCount 1
        $a = Invoke-AccuracyAwareQuantization $model $sized $engine -MaximalDrop 0 -Precision AllInt8 -SkipLatencyCheck -OutputPath (Join-Path $dir 'dynamic_size.aaq.onnx') -WarningAction SilentlyContinue
        $a.RevertedLayerCount | Should -Be 1
        $a.Met | Should -BeTrue
    }

    It 'evaluates a model that mixes the items of a batch one item at a time, with a warning, as -EvaluationBatchSize 1 does' {
        # x [batch, 8] minus half its mean over the batch, then MatMul: an item's outputs depend on its batch-mates.
        $g = New-WartGraph 'batch_mixing'
        Add-WartInput $g 'x' @('batch', 8)
        $mean = Add-WartNode $g ReduceMean @('x') batch_mean @{ axes = @(0); keepdims = 1 }
        $half = Add-WartNode $g Mul @($mean, (Add-WartWeight $g half @(1) -Values @(0.5))) half_mean
        $y = Add-WartNode $g MatMul @((Add-WartNode $g Sub @('x', $half) centre), (Add-WartWeight $g w @(8, 3))) fc
        Rename-WartTensor $g $y 'y'
        Add-WartOutput $g 'y' @('batch', 3)
        $model = Save-WartModel $g (Join-Path $dir 'batch_mixing.onnx')
        $mixing = Join-Path $dir 'mixing'
        New-Item -ItemType Directory $mixing | Out-Null
        $null = Write-WartNpy (Join-Path $mixing 'x.npy') (New-WartFloats 3 (40 * 8)) @(40, 8)
        $engine = Join-Path $dir 'mixing.yml'
        "metrics:`n  - type: cosine_similarity`n    reference: fp32`ndataset:`n  data_source: $mixing" | Set-Content $engine

        $common = @{ MaximalDrop = 1e-9; Precision = 'AllInt8'; SkipLatencyCheck = $true; Force = $true }
        $auto = Invoke-AccuracyAwareQuantization $model $mixing $engine @common -OutputPath (Join-Path $dir 'mixing.auto.onnx') -WarningVariable warnings -WarningAction SilentlyContinue
        $one = Invoke-AccuracyAwareQuantization $model $mixing $engine @common -OutputPath (Join-Path $dir 'mixing.one.onnx') -EvaluationBatchSize 1
        $auto.EvaluationBatchSize | Should -Be 1
        @($warnings | Where-Object { "$_" -like "An item's outputs change with the other items of its batch*So every evaluation runs one item at a time*" }) | Should -HaveCount 1
        $auto.Metrics[0].FullyQuantized | Should -BeLessThan 1
        $auto.Metrics[0].FullyQuantized | Should -Be $one.Metrics[0].FullyQuantized
        (Get-FileHash $auto.OutputPath).Hash | Should -Be (Get-FileHash $one.OutputPath).Hash
    }

    It 'quantizes the layers inside model-local functions, named by their calls, as Import-PotModel lists them' {
        # block1, block2: calls of ConvAct (Conv, LeakyRelu); head: a call of Head, which calls ConvAct, then MatMul.
        Import-PotTestSupport
        $model = Join-Path $dir 'blocks.onnx'
        (Get-PotSupportType 'FunctionModels')::Write($model)
        $summary = Import-PotModel $model
        $summary.QuantizableLayerCount | Should -Be 4
        ($summary.Nodes | Where-Object Quantizable | ForEach-Object Name) -join ',' | Should -Be 'block1/Conv,block2/Conv,head/ConvAct/Conv,head/MatMul'

        $result = $summary | Invoke-DefaultQuantization -Config $minmax -CalibrationDataPath $images -IgnoredScope 'block2/Conv' -OutputPath (Join-Path $dir 'blocks.int8.onnx') -Force
        ($result.Layers | ForEach-Object { '{0} {1}' -f $_.Node, $_.Precision }) -join ',' | Should -Be 'block1/Conv INT8,block2/Conv Float,head/ConvAct/Conv INT8,head/MatMul INT8'
        # Rounding in three INT8 layers of random weights; a body wired wrongly would be off by the outputs' own size.
        Get-Error $model $result.OutputPath $images | Should -BeLessThan 0.1
    }

    It 'quantizes layers whose weights the model computes from stored tensors (weight normalization without constant folding)' {
        # conv: v / ReduceL2(v) * g; head: MatMul by Transpose(m * 0.5). Both were left float ("nothing to quantize").
        Import-PotTestSupport
        $model = Join-Path $dir 'weight-norm.onnx'
        (Get-PotSupportType 'ComputedWeightModels')::Write($model)
        $summary = Import-PotModel $model
        $summary.QuantizableLayerCount | Should -Be 2

        $result = $summary | Invoke-DefaultQuantization -Config $minmax -CalibrationDataPath $images -OutputPath (Join-Path $dir 'weight-norm.int8.onnx') -Force
        ($result.Layers | ForEach-Object { '{0} {1}' -f $_.Node, $_.Precision }) -join ',' | Should -Be 'conv INT8,head INT8'
        $quantized = Import-PotModel $result.OutputPath
        $quantized.OpTypes.Keys | Should -Not -Contain 'ReduceL2'
        Get-Error $model $result.OutputPath $images | Should -BeLessThan 0.1
    }

    It 'calibrates on a folder of one .npy file per item, sentences of several lengths' {
        $model = Save-SentenceModel 'sentences'
        $items = Join-Path $dir 'sentence-items'
        New-Item -ItemType Directory $items | Out-Null
        foreach ($n in 0..5) { $null = Write-WartNpy (Join-Path $items ('{0:00}.npy' -f $n)) ([long[]] @(0..(2 + $n) | ForEach-Object { ($_ * 7 + $n) % 50 })) @(3 + $n) }

        $q = Invoke-DefaultQuantization $model $items -OutputPath (Join-Path $dir 'sentences.int8.onnx') -Precision AllInt8 -SkipLatencyCheck -Force
        $q.QuantizedLayerCount | Should -Be 1
        $q.StatSubsetSize | Should -Be 6
    }

    It 'calibrates and measures on a folder of .npz items, a model with two inputs and items of several lengths labelled in themselves' {
        Import-PotTestSupport
        $model = Save-SentenceModel 'weighted' -Weighted
        $items = Join-Path $dir 'weighted-items'
        New-Item -ItemType Directory $items | Out-Null
        $tensor = Get-PotCoreType 'PotPowerShell.Core.Data.TensorData'
        $kind = Get-PotCoreType 'PotPowerShell.Core.Data.TensorElementKind'
        $dictionary = [Collections.Generic.Dictionary`2].MakeGenericType([string], $tensor)
        foreach ($n in 0..5) {
            $length = 3 + $n
            $arrays = [Activator]::CreateInstance($dictionary)
            $ids = [long[]] @(0..($length - 1) | ForEach-Object { ($_ * 7 + $n) % 50 })
            $arrays['ids'] = $tensor::new($kind::Int64, [long[]] @($length), $ids)
            $arrays['weights'] = $tensor::FromFloats([float[]] @(0..($length - 1) | ForEach-Object { 0.5 + $_ % 3 }), [long[]] @($length, 1))
            $arrays['labels'] = $tensor::FromFloats([float[]]::new($length * 4), [long[]] @($length, 4))
            (Get-PotSupportType 'NpyWriter')::SaveNpz((Join-Path $items ('{0:00}.npz' -f $n)), $arrays)
        }

        $q = Invoke-DefaultQuantization $model $items -OutputPath (Join-Path $dir 'weighted.int8.onnx') -Precision AllInt8 -SkipLatencyCheck -Force
        $q.QuantizedLayerCount | Should -Be 1
        $q.StatSubsetSize | Should -Be 6
        # Each item's labels are its own 'labels' array (zeros): the mean squared error is the mean squared output.
        $engine = Join-Path $dir 'weighted-engine.yml'
        "metrics:`n  - type: mse`ndataset:`n  data_source: weighted-items`n" | Set-Content $engine
        $m = Measure-PotModel $model -EnginePath $engine -PerSample
        $m.ItemCount | Should -Be 6
        $m.Metrics[0].Name | Should -Be 'mse'
        @($m.PerSample).Count | Should -Be 6
        $m.Metrics[0].Value | Should -BeGreaterThan 0
    }

    It 'measures and compares on a -DataPath folder of one .npy file per item of one length, as on one array of the same items' {
        # The digits sample's input is [batch, 1, 8, 8]: items of [1, 8, 8], a rank below it, one file each, and items of
        # [1, 1, 8, 8], saved from a batch of one. The files' first axes are all 1, so only the model tells them from
        # arrays of one item per input.
        $model = Join-Path (Get-PotSamplePath) 'digits.onnx'
        $items = Join-Path $dir 'digit-items'
        $array = Join-Path $dir 'digit-array'
        $batched = Join-Path $dir 'digit-batched-items'
        New-Item -ItemType Directory $items, $array, $batched | Out-Null
        $values = New-WartFloats 7 (12 * 64) 8
        foreach ($n in 0..11) {
            $null = Write-WartNpy (Join-Path $items ('{0:000}.npy' -f $n)) ([float[]] $values[(64 * $n)..(64 * $n + 63)]) @(1, 8, 8)
            $null = Write-WartNpy (Join-Path $batched ('{0:000}.npy' -f $n)) ([float[]] $values[(64 * $n)..(64 * $n + 63)]) @(1, 1, 8, 8)
        }
        $null = Write-WartNpy (Join-Path $array 'input.npy') $values @(12, 1, 8, 8)
        $labels = [long[]] @(0..11 | ForEach-Object { ($_ * 3) % 10 })
        foreach ($folder in $items, $array, $batched) { $null = Write-WartNpy (Join-Path $folder 'labels.npy') $labels @(12) }

        $byItem = Measure-PotModel $model -DataPath $items -PerSample
        $byArray = Measure-PotModel $model -DataPath $array -PerSample
        $byItem.ItemCount | Should -Be 12
        $byItem.Metrics[0].Name | Should -Be 'accuracy@top1'
        $byItem.Metrics[0].Value | Should -Be $byArray.Metrics[0].Value
        ($byItem.PerSample | ForEach-Object Prediction) -join ',' | Should -Be (($byArray.PerSample | ForEach-Object Prediction) -join ',')
        $byBatched = Measure-PotModel $model -DataPath $batched -PerSample
        $byBatched.ItemCount | Should -Be 12
        ($byBatched.PerSample | ForEach-Object Prediction) -join ',' | Should -Be (($byArray.PerSample | ForEach-Object Prediction) -join ',')

        # Unlabelled, Compare-PotModel scores the cosine similarity to the reference on the same items either way.
        Remove-Item (Join-Path $items 'labels.npy'), (Join-Path $array 'labels.npy')
        $int8 = (Invoke-DefaultQuantization $model (Join-Path (Get-PotSamplePath) 'calibration') -OutputPath (Join-Path $dir 'digits.items.int8.onnx') -SkipLatencyCheck -Force).OutputPath
        $c = Compare-PotModel $int8 -ReferencePath $model -DataPath $items -LatencyRuns 0
        $c.ItemCount | Should -Be 12
        $c.Metric | Should -Be 'cosine_similarity'
        $c.Value | Should -BeLessThan 1
        $c.Value | Should -Be (Compare-PotModel $int8 -ReferencePath $model -DataPath $array -LatencyRuns 0).Value
    }

    It 'scores an item whose reference output is NaN at the worst value for another model, and warns about the reference' {
        # Reference: Sqrt(x) then MatMul, NaN on item 2 (a negative feature); the measured model takes Relu first.
        $models = foreach ($relu in $false, $true) {
            $g = New-WartGraph $(if ($relu) { 'finite' } else { 'nan' })
            Add-WartInput $g 'x' @('batch', 4)
            $root = Add-WartNode $g Sqrt @($(if ($relu) { Add-WartNode $g Relu @('x') relu } else { 'x' })) root
            $y = Add-WartNode $g MatMul @($root, (Add-WartWeight $g w @(4, 3))) fc
            Rename-WartTensor $g $y 'y'
            Add-WartOutput $g 'y' @('batch', 3)
            Save-WartModel $g (Join-Path $dir "$(if ($relu) { 'finite' } else { 'nan' }).onnx")
        }
        $items = Join-Path $dir 'nan-reference'
        New-Item -ItemType Directory $items | Out-Null
        $x = [float[]] @(0..23 | ForEach-Object { 0.5 + $_ % 5 })
        $x[2 * 4 + 1] = -1
        $null = Write-WartNpy (Join-Path $items 'x.npy') $x @(6, 4)
        $engine = Join-Path $dir 'nan-reference.yml'
        "metrics:`n  - type: cosine_similarity`n    reference: fp32`ndataset:`n  data_source: $items" | Set-Content $engine

        $m = Measure-PotModel $models[1] -EnginePath $engine -ReferenceModelPath $models[0] -WarningVariable warnings -WarningAction SilentlyContinue
        $m.Metrics[0].Value | Should -BeLessThan (4.0 / 6 + 1e-6)   # items 0, 1, 3, 4, 5 at 1, item 2 at -1
        $m.Metrics[0].Value | Should -BeGreaterThan (4.0 / 6 - 1e-6)
        @($warnings | Where-Object { "$_" -like "The reference model '*nan.onnx' gave NaN or Inf outputs on 1 items (first item 2)*" }) | Should -HaveCount 1
        $c = Compare-PotModel $models[1] -ReferencePath $models[0] -DataPath $items -LatencyRuns 3 -WarningVariable compared -WarningAction SilentlyContinue
        $c.Value | Should -BeLessThan (4.0 / 6 + 1e-6)
        @($compared | Where-Object { "$_" -like "The reference model '*nan.onnx' gave NaN or Inf outputs on 1 items (first item 2)*" }) | Should -HaveCount 1
    }

    It 'evaluates a model that hard-codes batch 1 behind a dynamic batch axis item by item, with a warning' {
        # x [batch, 3, 8, 8] -> Conv -> Reshape to [1, -1] -> Gemm: one item runs, a batch of several fails in the Gemm.
        $g = New-WartGraph 'reshape_batch_1'
        Add-WartInput $g 'x' @('batch', 3, 8, 8)
        $c = Add-WartNode $g Conv @('x', (Add-WartWeight $g w @(4, 3, 3, 3)), (Add-WartWeight $g b @(4) -Scale 0.1)) conv @{ pads = @(1, 1, 1, 1) }
        $r = Add-WartNode $g Reshape @($c, (Add-WartInt64 $g shape @(1, -1))) reshape
        $fc = Add-WartNode $g Gemm @($r, (Add-WartWeight $g fw @(256, 5)), (Add-WartWeight $g fb @(5))) fc
        Rename-WartTensor $g $fc 'logits'
        Add-WartOutput $g 'logits' @(1, 5)
        $model = Save-WartModel $g (Join-Path $dir 'reshape_batch_1.onnx')
        $metric = { param($Outputs) [double]$Outputs.logits[0] }

        $batched = Measure-PotModel -Path $model -DataPath $images -BatchSize 4 -Metric $metric -MetricName first -WarningVariable warnings -WarningAction SilentlyContinue
        $batched.BatchSize | Should -Be 1
        $batched.Inferences | Should -Be 32
        @($warnings | Where-Object { "$_" -like '*could not run although its batch axis is dynamic*one item per inference: ONNX Runtime failed to run*on a batch of 4 items*' }) | Should -HaveCount 1
        $single = Measure-PotModel -Path $model -DataPath $images -BatchSize 1 -Metric $metric -MetricName first -WarningVariable quiet -WarningAction SilentlyContinue
        @($quiet | Where-Object { "$_" -like '*one item per inference*' }) | Should -HaveCount 0
        $batched.Values.first | Should -Be $single.Values.first
    }

    It 'quantizes, measures and compares a model that takes one image without a batch axis, one item per inference' {
        # x [3, 8, 8], one image as torchvision's detection models take it: its fixed 3 was read as a batch of 3, and
        # Measure-PotModel and Compare-PotModel failed (EngineBatchShapeMismatch).
        $g = New-WartGraph 'one_image'
        Add-WartInput $g 'x' @(3, 8, 8)
        $batch = Add-WartNode $g Unsqueeze @('x', (Add-WartInt64 $g axes @(0))) unsqueeze
        $c = Add-WartNode $g Conv @($batch, (Add-WartWeight $g w @(4, 3, 3, 3)), (Add-WartWeight $g b @(4) -Scale 0.1)) conv @{ pads = @(1, 1, 1, 1) }
        $fc = Add-WartNode $g Gemm @((Add-WartNode $g Flatten @($c) flatten), (Add-WartWeight $g fw @(256, 5)), (Add-WartWeight $g fb @(5))) fc
        Rename-WartTensor $g $fc 'logits'
        Add-WartOutput $g 'logits' @(1, 5)
        $model = Save-WartModel $g (Join-Path $dir 'one_image.onnx')

        $q = Invoke-DefaultQuantization $model $images -OutputPath (Join-Path $dir 'one_image.int8.onnx') -Precision AllInt8 -SkipLatencyCheck
        $q.QuantizedLayerCount | Should -Be 2
        $engine = Join-Path $dir 'one_image.yml'
        "metrics:`n  - type: cosine_similarity`n    reference: fp32`ndataset:`n  data_source: $images" | Set-Content $engine
        $m = Measure-PotModel $q.OutputPath -EnginePath $engine -ReferenceModelPath $model -BatchSize 4 -WarningVariable warnings -WarningAction SilentlyContinue
        $m.BatchSize | Should -Be 1
        $m.Inferences | Should -Be 32
        $warnings | Should -HaveCount 0
        $m.Values.cosine_similarity | Should -BeGreaterThan 0.99
        $cmp = Compare-PotModel $q.OutputPath -ReferencePath $model -DataPath $images -LatencyRuns 0
        $cmp.ItemCount | Should -Be 32
        $cmp.Value | Should -Be $m.Values.cosine_similarity
    }
}
