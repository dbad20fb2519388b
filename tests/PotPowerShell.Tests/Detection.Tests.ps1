BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:moduleDir = Get-PotModulePath
    Import-Module (Join-Path $moduleDir 'PotPowerShell.psd1') -Force
    $script:shapes = Get-PotSamplePath -Name shapes
    $script:model = Join-Path $shapes 'shapes.onnx'
    $script:acConfig = Join-Path $shapes 'accuracy-checker.yml'

    # VOC mAP with 11-point interpolation, written here from the definition, independently of the module: per class,
    # every detection by score against every object of its image; the best-overlapping object, if it overlaps by 0.5
    # or more (boxes x2 - x1 + 1 pixels wide) and is still free, makes it right.
    $script:vocMap11 = {
        param($Samples)
        $iou = {
            param($a, $b)
            $w = [math]::Min($a.X2, $b.X2) - [math]::Max($a.X1, $b.X1) + 1
            $h = [math]::Min($a.Y2, $b.Y2) - [math]::Max($a.Y1, $b.Y1) + 1
            if ($w -le 0 -or $h -le 0) { return 0.0 }
            $w * $h / (($a.X2 - $a.X1 + 1) * ($a.Y2 - $a.Y1 + 1) + ($b.X2 - $b.X1 + 1) * ($b.Y2 - $b.Y1 + 1) - $w * $h)
        }
        $classes = @($Samples | ForEach-Object { $_.Annotation.Boxes.Label } | Sort-Object -Unique)
        $aps = foreach ($c in $classes) {
            $objects = @($Samples | ForEach-Object { $_.Annotation.Boxes | Where-Object Label -eq $c }).Count
            $detections = [System.Collections.Generic.List[object]]::new()
            for ($i = 0; $i -lt $Samples.Count; $i++) {
                $k = 0
                foreach ($d in $Samples[$i].Prediction) {
                    if ($d.Label -eq $c) { $detections.Add([pscustomobject]@{ Image = $i; Order = $k; D = $d }) }
                    $k++
                }
            }
            $taken = @{}
            $right = 0; $n = 0
            $points = [System.Collections.Generic.List[object]]::new()
            foreach ($x in ($detections | Sort-Object @{ Expression = { $_.D.Score }; Descending = $true }, Image, Order)) {
                $boxes = @($Samples[$x.Image].Annotation.Boxes)
                $best = -1; $bestIou = -1.0
                for ($g = 0; $g -lt $boxes.Count; $g++) {
                    if ($boxes[$g].Label -ne $c) { continue }
                    $o = & $iou $x.D $boxes[$g]
                    if ($o -gt $bestIou) { $bestIou = $o; $best = $g }
                }
                $n++
                if ($best -ge 0 -and $bestIou -ge 0.5 -and -not $taken["$($x.Image)/$best"]) { $taken["$($x.Image)/$best"] = $true; $right++ }
                $points.Add([pscustomobject]@{ Recall = $right / $objects; Precision = $right / $n })
            }
            $sum = 0.0
            foreach ($t in 0..10) {
                $at = @($points | Where-Object Recall -ge ($t / 10) | ForEach-Object Precision)
                if ($at.Count) { $sum += ($at | Measure-Object -Maximum).Maximum }
            }
            $sum / 11
        }
        ($aps | Measure-Object -Average).Average
    }
}

Describe 'The shapes detector from its Accuracy Checker configuration' {
    It 'measures VOC and COCO average precision over the whole set, as an independent computation does' {
        $r = Measure-PotModel -Path $model -EnginePath $acConfig -PerSample -Metric $vocMap11 -MetricName 'map_by_hand' -MetricLevel Dataset -WarningVariable warnings
        $warnings | Should -BeNullOrEmpty
        $r.ItemCount | Should -Be 200
        $r.Values['map'] | Should -BeGreaterThan 0.5
        # COCO averages stricter overlaps: lower than VOC's at 0.5.
        $r.Values['coco_precision'] | Should -BeLessThan $r.Values['map']
        $r.Values['coco_precision'] | Should -BeGreaterThan 0.3
        [math]::Abs($r.Values['map_by_hand'] - $r.Values['map']) | Should -BeLessThan 1e-9
        # Dataset-level metrics have no per-item values.
        [double]::IsNaN($r.PerSample[0].map) | Should -BeTrue
        $r.PerSample[0].Prediction[0].Score | Should -BeGreaterOrEqual 0.05
    }

    It 'quantizes with DefaultQuantization and AccuracyAwareQuantization, holding mAP' {
        $folder = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'shapes')
        $fp32 = (Measure-PotModel -Path $model -EnginePath $acConfig).Values['map']

        $dq = Join-Path $folder 'dq.json'
        @{
            model = @{ model_name = 'shapes'; model = $model }
            engine = @{ config = $acConfig }
            compression = @{ algorithms = @(@{ name = 'DefaultQuantization'; params = @{ preset = 'performance'; stat_subset_size = 64 } }) }
        } | ConvertTo-Json -Depth 6 | Set-Content $dq
        $int8 = Import-PotConfig $dq | Invoke-DefaultQuantization -OutputPath (Join-Path $folder 'shapes.int8.onnx') -Precision AllInt8
        $int8.QuantizedLayerCount | Should -Be 6
        $dqMap = (Measure-PotModel -Path $int8.OutputPath -EnginePath $acConfig).Values['map']
        $dqMap | Should -BeGreaterThan ($fp32 - 0.05)
        # Compare-PotModel computes both average precisions again on each resample of the 200 images, from each image's
        # detections as matched to its boxes: an interval around the drop.
        $c = Compare-PotModel -Path $int8.OutputPath -ReferencePath $model -EnginePath $acConfig -LatencyRuns 0 -BootstrapSamples 500
        $c.Metric | Should -Be 'map'
        $c.Drop | Should -Be ($fp32 - $dqMap)
        $c.DropLower95 | Should -BeLessOrEqual $c.Drop
        $c.DropUpper95 | Should -BeGreaterOrEqual $c.Drop
        $c.'coco_precision.DropLower95' | Should -BeLessOrEqual $c.'coco_precision.DropUpper95'
        [double]::IsNaN($c.'coco_precision.DropLower95') | Should -BeFalse

        # The sample's maximal_drop (0.005) holds fully quantized; a tighter one makes the search rank layers by mAP
        # on whole-subset evaluations and revert some. POT's DefaultQuantization underneath (mean min/max ranges, its
        # bias-correction threshold, no equalization): our defaults quantize this model without any mAP drop.
        $potConfig = Join-Path $folder 'aaq-pot.yml'
        ((Get-Content (Join-Path $shapes 'aaq.yml') -Raw) -replace 'model: shapes\.onnx', "model: '$(Join-Path $shapes 'shapes.onnx')'" `
            -replace 'config: accuracy-checker\.yml', "config: '$(Join-Path $shapes 'accuracy-checker.yml')'" `
            -replace '(?m)^        maximal_drop: 0\.005', "        maximal_drop: 0.005`n        threshold: 2.0`n        equalization: none`n        activations:`n          range_estimator:`n            preset: default") |
            Set-Content $potConfig
        $aaq = Import-PotConfig $potConfig |
            Invoke-AccuracyAwareQuantization -OutputPath (Join-Path $folder 'shapes.aaq.onnx') -Precision AllInt8 -MaximalDrop 0.001 -Verbose 4>&1
        $log = @($aaq | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
        $aaq = $aaq | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        $log | Should -Contain 'Metric map has no per-item values: the ranking subset holds the 50 items with the largest output error.'
        # The result's RankingMethod (Signal) is the search's; the ranks are scored by map itself, and the log says so.
        $log | Should -Contain 'Ranking: Signal (ranking_method auto): map is not a mean of bounded per-item values; it has no per-item values, so layers are scored by map itself on the ranking subset (ranks with Method Metric).'
        $metric = $aaq.Metrics | Where-Object Name -eq 'map'
        $metric.Baseline | Should -Be $fp32
        $metric.FullyQuantizedDrop | Should -BeGreaterThan 0.001
        $aaq.Met | Should -BeTrue
        $aaq.RevertedLayers.Count | Should -BeGreaterOrEqual 1
        $metric.Drop | Should -BeLessOrEqual 0.001
        (Measure-PotModel -Path $aaq.OutputPath -EnginePath $acConfig).Values['map'] | Should -Be $metric.Final
    }

    It 'scores a quantized detector against the FP32 detections of unlabelled images, and annotation_free does so' {
        $folder = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'shapes-fp32')
        # The sample's images without their annotations, read as its Accuracy Checker configuration reads them.
        $engine = Join-Path $folder 'unlabelled.yml'
        @"
adapter: {type: yolo_v8, conf_threshold: 0.05}
metrics:
  - {name: map, type: map, reference: fp32, integral: 11point}
dataset:
  data_source: '$(Join-Path $shapes 'validation/images')'
  channels: 1
  preprocessing: [{type: scale, value: 0.00392156862745098}]
"@ | Set-Content $engine
        (Measure-PotModel -Path $model -EnginePath $engine -ReferenceModelPath $model).Values['map'] | Should -Be 1
        $int8 = Invoke-DefaultQuantization $model (Join-Path $shapes 'calibration') -OutputPath (Join-Path $folder 'shapes.int8.onnx') -Precision AllInt8 -SkipLatencyCheck
        $agreement = (Measure-PotModel -Path $int8.OutputPath -EnginePath $engine -ReferenceModelPath $model).Values['map']
        $agreement | Should -BeLessOrEqual 1
        $agreement | Should -BeGreaterThan 0.9

        # annotation_free: the configuration's map and coco_precision compare with the FP32 detections instead of the
        # annotations, and nothing watches top-1 agreement (a classifier's).
        $config = Join-Path $folder 'aaq-free.yml'
        ((Get-Content (Join-Path $shapes 'aaq.yml') -Raw) -replace 'model: shapes\.onnx', "model: '$model'" `
            -replace 'config: accuracy-checker\.yml', "config: '$acConfig'" `
            -replace '(?m)^        maximal_drop: 0\.005', "        maximal_drop: 0.005`n        annotation_free: true") | Set-Content $config
        $aaq = Import-PotConfig $config | Invoke-AccuracyAwareQuantization -OutputPath (Join-Path $folder 'shapes.free.onnx') -Precision AllInt8 -SkipLatencyCheck -WarningVariable warnings -WarningAction SilentlyContinue
        @($aaq.Metrics.Name) | Should -Be @('map')
        $free = $aaq.Metrics | Where-Object Name -eq 'map'
        $free.Baseline | Should -Be 1
        # Fully quantized, some FP32 boxes move or go: the search reverts layers for them.
        $free.FullyQuantizedDrop | Should -BeGreaterThan 0.005
        $aaq.RevertedLayers.Count | Should -BeGreaterOrEqual 1
        $aaq.Met | Should -BeTrue
        @($warnings | Where-Object { "$_" -eq 'annotation_free: map, coco_precision compare with the FP32 model''s detections (those scored at least 0.6, annotation_conf_threshold), class maps, answers or token classes instead of annotations.' }) | Should -HaveCount 1

        # annotation_free on the unlabelled images with map written as for annotations: loaded and turned, not refused.
        $plain = Join-Path $folder 'unlabelled-plain.yml'
        (Get-Content $engine -Raw) -replace 'reference: fp32, ', '' | Set-Content $plain
        { Measure-PotModel -Path $model -EnginePath $plain } | Should -Throw "*compares with annotations, but dataset 'dataset0' has none*"
        $pot = Join-Path $folder 'aaq-unlabelled.yml'
        "model: {model_name: shapes, model: '$model'}`nengine: {config: '$plain'}`ncompression:`n  algorithms:`n    - name: AccuracyAwareQuantization`n      params: {preset: performance, stat_subset_size: 64, maximal_drop: 0.005, annotation_free: true}" | Set-Content $pot
        $unlabelled = Import-PotConfig $pot | Invoke-AccuracyAwareQuantization -CalibrationDataPath (Join-Path $shapes 'calibration') -OutputPath (Join-Path $folder 'shapes.unlabelled.onnx') -Precision AllInt8 -SkipLatencyCheck -WarningAction SilentlyContinue
        ($unlabelled.Metrics | Where-Object Name -eq 'map').Baseline | Should -Be 1
        $unlabelled.Met | Should -BeTrue
    }

    It 'says why a detection metric has no value, and AccuracyAware refuses a baseline without one' {
        # No FP32 detection of the sample scores 1: at reference_confidence 1 there is no object to find.
        $folder = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'shapes-none')
        $engine = Join-Path $folder 'none.yml'
        @"
adapter: {type: yolo_v8, conf_threshold: 0.05}
metrics:
  - {name: map, type: map, reference: fp32, reference_confidence: 1}
dataset:
  data_source: '$(Join-Path $shapes 'validation/images')'
  channels: 1
  preprocessing: [{type: scale, value: 0.00392156862745098}]
"@ | Set-Content $engine
        $r = Measure-PotModel -Path $model -EnginePath $engine -ReferenceModelPath $model -WarningVariable warnings -WarningAction SilentlyContinue
        [double]::IsNaN($r.Values['map']) | Should -BeTrue
        "$warnings" | Should -BeLike "*map has no value (NaN): none of the FP32 model's detections on the 200 items reaches reference_confidence 1, so there is no object to find.*"
        $pot = Join-Path $folder 'aaq.yml'
        "model: {model_name: shapes, model: '$model'}`nengine: {config: '$engine'}`ncompression:`n  algorithms:`n    - name: AccuracyAwareQuantization`n      params: {preset: performance, stat_subset_size: 64, maximal_drop: 0.005}" | Set-Content $pot
        $err = { Import-PotConfig $pot | Invoke-AccuracyAwareQuantization -CalibrationDataPath (Join-Path $shapes 'calibration') -OutputPath (Join-Path $folder 'none.onnx') -SkipLatencyCheck -ErrorAction Stop } |
            Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'BaselineNoValue,*'
        $err.Exception.Message | Should -BeLike 'On the FP32 model, map has no value (NaN): none of the FP32 model*AccuracyAwareQuantization measures drops from that baseline, so it has nothing to go by.'
    }
}

Describe 'A letterboxed detector' {
    BeforeAll {
        # TestSupport's LetterboxCase: a 200x100 image resized to 64x32 and padded to 64x64, and a model whose one box is
        # the image's object in input coordinates.
        Import-PotTestSupport
        $script:letterbox = Join-Path $TestDrive 'letterbox'
        (Get-PotSupportType 'LetterboxCase')::WriteDetection($letterbox)
    }

    It 'has its boxes taken back through the padding and the resize, where the objects are' {
        $r = Measure-PotModel -ModelPath (Join-Path $letterbox 'detector.onnx') -EnginePath (Join-Path $letterbox 'engine.yml')
        $r.voc | Should -Be 1
    }
}

Describe 'A detector fed the image size beside the image' {
    BeforeAll {
        # TestSupport's ImageSizeCase: ONNX Model Zoo's YOLOv3 in small (the image and its [height, width], boxes in the
        # image's pixels selected by the model's NonMaxSuppression), 16 images of 24x12, an engine that names the size.
        Import-PotTestSupport
        $script:sized = Join-Path $TestDrive 'sized'
        (Get-PotSupportType 'ImageSizeCase')::Write($sized)
    }

    It 'finds its own detections, in batches, and quantizes from a POT configuration' {
        $fp32 = Join-Path $sized 'detector.onnx'
        $self = Measure-PotModel -ModelPath $fp32 -EnginePath (Join-Path $sized 'engine.yml') -ReferenceModelPath $fp32 -BatchSize 4 -WarningVariable warnings
        $self.map | Should -Be 1
        $self.Inferences | Should -Be 4
        $warnings | Should -BeNullOrEmpty
        $r = Import-PotConfig (Join-Path $sized 'pot.yml') | Invoke-AccuracyAwareQuantization -OutputPath (Join-Path $sized 'int8.onnx') -SkipLatencyCheck
        $r.Met | Should -BeTrue
        $r.QuantizedLayerCount | Should -BeGreaterThan 0
        (Compare-PotModel -Path (Join-Path $sized 'int8.onnx') -ReferencePath $fp32 -EnginePath (Join-Path $sized 'engine.yml')).Metric | Should -Be 'map'
    }

    It 'says how to name the size when calibrated from the images alone' {
        $err = { Invoke-DefaultQuantization -ModelPath (Join-Path $sized 'detector.onnx') -CalibrationDataPath (Join-Path $sized 'val') -OutputPath (Join-Path $sized 'none.onnx') -ErrorAction Stop } |
            Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -BeLike 'DataInputMissing,*'
        $err.Exception.Message | Should -BeLike "*other_inputs: {image_shape: image_size}*Import-PotConfig*"
    }
}

Describe 'The shapes detector scored as a face detector is, on WIDER FACE ground truth with filters' {
    BeforeAll {
        # The shapes validation set's squares written as WIDER FACE's ground truth (x y width height per object; the
        # images under event folders with .jpg names, as WIDER FACE names them: decoded by content), read by an
        # Accuracy Checker configuration as Open Model Zoo's face detectors are: its wider converter, filters on the
        # annotations (objects shorter than 9 pixels) and the detections (other classes).
        $script:wider = Join-Path $TestDrive 'wider'
        $coco = Get-Content -Raw (Join-Path $shapes 'validation/instances.json') | ConvertFrom-Json
        $square = ($coco.categories | Where-Object name -eq 'square').id
        $lines = [System.Collections.Generic.List[string]]::new()
        $script:truth = @{}
        foreach ($image in ($coco.images | Sort-Object id | Select-Object -First 80)) {
            $name = '0--Shapes/' + [IO.Path]::ChangeExtension($image.file_name, '.jpg')
            $target = Join-Path $wider "images/$name"
            $null = New-Item -ItemType Directory -Force -Path (Split-Path $target)
            Copy-Item (Join-Path $shapes "validation/images/$($image.file_name)") $target
            $boxes = @($coco.annotations | Where-Object { $_.image_id -eq $image.id -and $_.category_id -eq $square })
            $lines.Add($name); $lines.Add([string]$boxes.Count)
            foreach ($b in $boxes) { $lines.Add(('{0} {1} {2} {3} 0 0 0 0 0 0' -f $b.bbox[0], $b.bbox[1], $b.bbox[2], $b.bbox[3])) }
            if ($boxes.Count -eq 0) { $lines.Add('0 0 0 0 0 0 0 0 0 0') }
            $truth[$name] = $boxes
        }
        Set-Content -Path (Join-Path $wider 'wider_face_val_bbx_gt.txt') -Value $lines
        $script:widerConfig = Join-Path $wider 'accuracy-check.yml'
        Set-Content -Path $widerConfig -Value @'
models:
  - name: shapes-as-faces
    launchers:
      - framework: onnx_runtime
        adapter: {type: yolo_v8_detection, conf_threshold: 0.05}
    datasets:
      - name: wider
        data_source: images
        annotation_conversion:
          converter: wider
          annotation_file: wider_face_val_bbx_gt.txt
          label_start: 0
        preprocessing:
          - type: rgb_to_gray
          - {type: normalization, mean: 0, std: 255}
        postprocessing:
          - type: resize_prediction_boxes
          - {type: filter, apply_to: prediction, labels: [1, 2], remove_filtered: True}
          - {type: filter, apply_to: annotation, height_range: 9, is_empty: True, remove_filtered: True}
        metrics:
          - {type: map, include_boundaries: False}
'@
        # The same average precision by hand: squares of at least 9 pixels, detections of class 0 by score (image
        # order among equal scores), each right when its best-overlapping square overlaps by 0.5 or more and is free;
        # the area under the precision envelope.
        $script:apByHand = {
            param($Samples)
            $objects = 0
            $detections = [System.Collections.Generic.List[object]]::new()
            for ($i = 0; $i -lt $Samples.Count; $i++) {
                $objects += @($Samples[$i].Annotation.Boxes | Where-Object { $_.Y2 - $_.Y1 -ge 9 }).Count
                $k = 0
                foreach ($d in $Samples[$i].Prediction) { if ($d.Label -eq 0) { $detections.Add([pscustomobject]@{ Image = $i; Order = $k; D = $d }) }; $k++ }
            }
            $taken = @{}; $right = 0; $n = 0
            $points = [System.Collections.Generic.List[object]]::new()
            foreach ($x in ($detections | Sort-Object @{ Expression = { $_.D.Score }; Descending = $true }, Image, Order)) {
                $boxes = @($Samples[$x.Image].Annotation.Boxes | Where-Object { $_.Y2 - $_.Y1 -ge 9 })
                $best = -1; $bestIou = -1.0
                for ($g = 0; $g -lt $boxes.Count; $g++) {
                    $b = $boxes[$g]
                    $w = [math]::Min($x.D.X2, $b.X2) - [math]::Max($x.D.X1, $b.X1); $h = [math]::Min($x.D.Y2, $b.Y2) - [math]::Max($x.D.Y1, $b.Y1)
                    $o = if ($w -le 0 -or $h -le 0) { 0.0 } else { $w * $h / (($x.D.X2 - $x.D.X1) * ($x.D.Y2 - $x.D.Y1) + ($b.X2 - $b.X1) * ($b.Y2 - $b.Y1) - $w * $h) }
                    if ($o -gt $bestIou) { $bestIou = $o; $best = $g }
                }
                $n++
                if ($best -ge 0 -and $bestIou -ge 0.5 -and -not $taken["$($x.Image)/$best"]) { $taken["$($x.Image)/$best"] = $true; $right++ }
                $points.Add([pscustomobject]@{ Recall = $right / $objects; Precision = $right / $n })
            }
            $area = 0.0; $previous = 0.0
            for ($p = 0; $p -lt $points.Count; $p++) {
                $envelope = ($points[$p..($points.Count - 1)] | Measure-Object -Property Precision -Maximum).Maximum
                $area += ($points[$p].Recall - $previous) * $envelope
                $previous = $points[$p].Recall
            }
            $area
        }
    }

    It 'reads the faces, filters both sides and scores as an independent computation does' {
        $r = Measure-PotModel -Path $model -EnginePath $widerConfig -PerSample -Metric $apByHand -MetricName 'ap_by_hand' -MetricLevel Dataset -WarningVariable warnings
        $warnings | Should -BeNullOrEmpty
        $r.ItemCount | Should -Be 80
        # Every annotated square as written; the image's size taken from the image.
        $first = $r.PerSample[0]
        @($first.Annotation.Boxes).Count | Should -Be @($truth['0--Shapes/shapes_000.jpg']).Count
        $first.Annotation.ImageWidth | Should -Be 32
        # Only squares (class 0) are left of the detections.
        @($r.PerSample.Prediction | Where-Object Label -ne 0).Count | Should -Be 0
        $r.Values['map'] | Should -BeGreaterThan 0.5
        [math]::Abs($r.Values['ap_by_hand'] - $r.Values['map']) | Should -BeLessThan 1e-9
        # Without the annotation filter the short squares count: the value moves.
        $all = Join-Path $wider 'all.yml'
        (Get-Content -Raw $widerConfig) -replace '(?m)^.*apply_to: annotation.*\r?\n', '' | Set-Content $all
        (Measure-PotModel -Path $model -EnginePath $all).Values['map'] | Should -Not -Be $r.Values['map']
    }
}
