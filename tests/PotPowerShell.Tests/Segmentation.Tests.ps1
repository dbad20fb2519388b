# Segmentation engines as users call them: Measure-PotModel and Compare-PotModel with the segmentation adapter and the
# confusion-matrix metrics. The case (TestSupport's SegmentationCase) passes class scores through; its expected values
# are counted by hand in tests/PotPowerShell.Core.Tests/Evaluation/SegmentationTests.cs.

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path (Get-PotModulePath) 'PotPowerShell.psd1') -Force
    Import-PotTestSupport
    (Get-PotSupportType 'SegmentationCase')::Write($TestDrive, $null, $null)
    $script:model = Join-Path $TestDrive 'segmenter.onnx'
    $script:engine = Join-Path $TestDrive 'engine.yml'
    @"
adapter: segmentation
metrics:
  - type: mean_iou
    ignore_label: 255
  - type: segmentation_accuracy
    ignore_label: 255
dataset:
  data_source: d
  labels: masks.npy
"@ | Set-Content $engine
}

Describe 'A segmentation engine' {
    It 'gives Measure-PotModel the mean IoU and pixel accuracy of the confusion matrix, as flat properties' {
        $r = Measure-PotModel -ModelPath $model -EnginePath $engine
        $r.ItemCount | Should -Be 2
        # IoU per class 2/3, 1/2, 1/2; 5 of 7 pixels right.
        [Math]::Abs($r.mean_iou - 5 / 9) | Should -BeLessThan 1e-12
        [Math]::Abs($r.segmentation_accuracy - 5 / 7) | Should -BeLessThan 1e-12
    }

    It 'compares a model with itself at no drop, every resample too' {
        $c = Compare-PotModel -Path $model -ReferencePath $model -EnginePath $engine -LatencyRuns 0
        $row = @($c | Where-Object Metric -eq 'mean_iou')[0]
        $row.Drop | Should -Be 0
        # The metric is counted again over each resample of the items, the same resample for both models.
        ($row.DropLower95, $row.DropUpper95) | Should -Be (0, 0)
    }

    It 'is refused with the classification adapter' {
        $wrong = Join-Path $TestDrive 'wrong.yml'
        (Get-Content -Raw $engine).Replace('adapter: segmentation', 'adapter: classification') | Set-Content $wrong
        { Measure-PotModel -ModelPath $model -EnginePath $wrong -ErrorAction Stop } | Should -Throw '*use adapter type segmentation*'
    }
}

Describe 'A segmentation engine over images with PNG masks' {
    BeforeAll {
        $script:folder = Join-Path $TestDrive 'streets'
        (Get-PotSupportType 'SegmentationCase')::WriteImages($folder)
        $script:imagesEngine = Join-Path $folder 'engine.yml'
        @"
adapter: segmentation
metrics:
  - type: mean_iou
    ignore_label: 255
dataset:
  data_source: images
  preprocessing:
    - type: normalization
      std: 255
  masks: masks
  image_postfix: _left.png
  mask_postfix: _labels.png
"@ | Set-Content $imagesEngine
    }

    It 'reads each image''s palette mask by name and scores the class maps at the masks'' size' {
        $r = Measure-PotModel -ModelPath (Join-Path $folder 'segmenter.onnx') -EnginePath $imagesEngine
        $r.ItemCount | Should -Be 2
        # Each pixel of the 4x1 class maps counts four times in the 8x2 masks: the .npy case's shares.
        [Math]::Abs($r.mean_iou - 5 / 9) | Should -BeLessThan 1e-12
    }

    It 'names the mask an image lacks' {
        Remove-Item (Join-Path $folder 'masks/street1_labels.png')
        { Measure-PotModel -ModelPath (Join-Path $folder 'segmenter.onnx') -EnginePath $imagesEngine -ErrorAction Stop } |
            Should -Throw "*'street1_left.png', whose mask would be 'street1_labels.png'*"
    }
}

Describe 'A Pascal VOC segmentation set through an Accuracy Checker configuration' {
    BeforeAll {
        # SegmentationCase's images and palette masks laid out as a VOC devkit; Accuracy Checker reads the masks as
        # colours, and its encode_segmentation_mask makes the border colour (item 1's last pixel) background.
        $script:voc = Join-Path $TestDrive 'voc'
        (Get-PotSupportType 'SegmentationCase')::WriteImages($voc)
        New-Item -ItemType Directory (Join-Path $voc 'JPEGImages'), (Join-Path $voc 'SegmentationClass') | Out-Null
        foreach ($i in 0, 1) {
            Move-Item (Join-Path $voc "images/street${i}_left.png") (Join-Path $voc "JPEGImages/street$i.png")
            Move-Item (Join-Path $voc "masks/street${i}_labels.png") (Join-Path $voc "SegmentationClass/street$i.png")
        }
        "street0`nstreet1" | Set-Content (Join-Path $voc 'val.txt')
        @"
models:
  - name: segmenter
    launchers:
      - framework: onnx_runtime
        adapter: segmentation
    datasets:
      - name: VOC2012_Segmentation
        annotation_conversion:
          converter: voc_segmentation
          imageset_file: val.txt
          mask_dir: SegmentationClass
        data_source: JPEGImages
        annotation: voc2012_segmentation.pickle
        reader: pillow_imread
        preprocessing:
          - type: normalization
            std: 255
        postprocessing:
          - type: encode_segmentation_mask
            apply_to: annotation
        metrics:
          - type: mean_iou
"@ | Set-Content (Join-Path $voc 'ac.yml')
    }

    It 'scores the masks by their colours and says the pickle is not read' {
        $r = Measure-PotModel -ModelPath (Join-Path $voc 'segmenter.onnx') -EnginePath (Join-Path $voc 'ac.yml') -WarningVariable warned -WarningAction SilentlyContinue
        $r.ItemCount | Should -Be 2
        # Pixels (truth -> predicted): 0->0, 1->1, 1->2, 2->2; 1->1, 0->1, 0->0, 0->0: IoU 3/4, 2/4, 1/2.
        [Math]::Abs($r.mean_iou - (0.75 + 0.5 + 0.5) / 3) | Should -BeLessThan 1e-12
        @($warned | Where-Object { "$_" -like '*annotation: read and ignored*' }).Count | Should -Be 1
    }
}
