using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.Data;

/// <summary>Segmentation masks read from files, one per image, and an engine whose images carry them.</summary>
public class SegmentationMasksTests
{
    [Fact]
    public void A_palette_png_gives_its_indices_and_a_grey_png_its_values()
    {
        using var tmp = new TempFolder();
        File.WriteAllBytes(tmp.File("voc.png"), PngFiles.Palette(3, 2, new byte[] { 0, 1, 2, 255, 1, 0 }, PngFiles.VocPalette()));
        var mask = SegmentationMasks.Read(tmp.File("voc.png"));
        Assert.Equal(new long[] { 2, 3 }, mask.Shape);
        // Index 3 is black too: the first entry of a colour wins, as index 0's pixels must read 0.
        Assert.Equal(new byte[] { 0, 1, 2, 255, 1, 0 }, (byte[])mask.Data);

        File.WriteAllBytes(tmp.File("grey.png"), PngFiles.Grey(2, 2, new byte[] { 0, 7, 19, 255 }));
        var grey = SegmentationMasks.Read(tmp.File("grey.png"));
        Assert.Equal(new long[] { 2, 2 }, grey.Shape);
        Assert.Equal(new byte[] { 0, 7, 19, 255 }, (byte[])grey.Data);
    }

    [Fact]
    public void Pillows_palette_pngs_give_their_indices_with_transparency_and_at_one_bit()
    {
        // Written by Pillow (tests/PotPowerShell.Core.Tests/Fuzz/FuzzCorpus/mask): index 0 transparent and indices 3 to 255
        // one colour (index 3 is its first); and a 1-bit palette of two colours.
        string Corpus(string name) => Path.Combine(AppContext.BaseDirectory, "Fuzz", "FuzzCorpus", "mask", name);
        var transparent = SegmentationMasks.Read(Corpus("seed-pillow-palette-with-transparency.png"));
        Assert.Equal(new long[] { 6, 8 }, transparent.Shape);
        Assert.Equal(Enumerable.Repeat(new byte[] { 0, 1, 2, 3, 1, 0, 2, 1 }, 6).SelectMany(r => r).ToArray(), (byte[])transparent.Data);
        Assert.Equal(new byte[] { 0, 1, 1, 0, 1, 0, 0, 1, 1, 0 }, (byte[])SegmentationMasks.Read(Corpus("seed-pillow-two-colour-palette.png")).Data);
    }

    [Fact]
    public void A_colour_png_and_an_array_that_is_no_mask_are_refused_with_what_to_save()
    {
        using var tmp = new TempFolder();
        File.WriteAllBytes(tmp.File("rgb.png"), PngFiles.Rgb(2, 2, new byte[2 * 2 * 3]));
        var e = Assert.Throws<PotException>(() => SegmentationMasks.Read(tmp.File("rgb.png")));
        Assert.Equal("MaskUnreadable", e.ErrorId);
        Assert.Contains("colour PNG", e.Message);

        NpyWriter.Save(tmp.File("cube.npy"), new long[8], new long[] { 2, 2, 2 }, "<i8");
        Assert.Contains("a mask is [H, W]", Assert.Throws<PotException>(() => SegmentationMasks.Read(tmp.File("cube.npy"))).Message);
        NpyWriter.Save(tmp.File("one.npy"), new long[] { 3, 4 }, new long[] { 1, 1, 2 }, "<i8");
        Assert.Equal(new long[] { 1, 2 }, SegmentationMasks.Read(tmp.File("one.npy")).Shape);
    }

    /// <summary>TestSupport's SegmentationCase as images with PNG masks, and an engine that reads them.</summary>
    private static string Write(TempFolder tmp)
    {
        SegmentationCase.WriteImages(tmp.Path);
        File.WriteAllText(tmp.File("engine.yml"),
            "adapter: segmentation\nmetrics:\n  - type: mean_iou\n    ignore_label: 255\n  - type: segmentation_accuracy\n    ignore_label: 255\n" +
            "dataset:\n  data_source: images\n  preprocessing:\n    - type: normalization\n      std: 255\n  masks: masks\n  image_postfix: _left.png\n  mask_postfix: _labels.png\n");
        return tmp.File("engine.yml");
    }

    [Fact]
    public void An_engine_reads_each_images_mask_by_its_name_and_scores_the_class_maps_at_the_masks_size()
    {
        using var tmp = new TempFolder();
        using var evaluator = new Evaluator(EngineDefinition.Load(Write(tmp)));
        var r = evaluator.Evaluate(File.ReadAllBytes(tmp.File("segmenter.onnx")), null, CancellationToken.None);
        // Every pixel four times over: the same shares as SegmentationTests' hand count (5 of 7 right; IoU 2/3, 1/2, 1/2).
        Assert.Equal(5.0 / 7, r.Values["segmentation_accuracy"], 12);
        Assert.Equal((2.0 / 3 + 0.5 + 0.5) / 3, r.Values["mean_iou"], 12);
    }

    [Fact]
    public void An_accuracy_checker_configuration_with_camvid_reads_its_list_by_the_last_two_parts_and_scores_the_same()
    {
        // SegNet's CamVid list names absolute paths; Accuracy Checker keeps their last two parts, under data_source
        // (images) and segmentation_masks_source (masks), here the SegmentationCase's images and masks.
        using var tmp = new TempFolder();
        Write(tmp);
        Directory.CreateDirectory(tmp.File("CamVid"));
        Directory.Move(tmp.File("images"), tmp.File("CamVid/images"));
        Directory.Move(tmp.File("masks"), tmp.File("CamVid/masks"));
        File.WriteAllText(tmp.File("CamVid/val.txt"), "/SegNet/CamVid/images/street0_left.png /SegNet/CamVid/masks/street0_labels.png\n" +
            "/SegNet/CamVid/images/street1_left.png /SegNet/CamVid/masks/street1_labels.png\n\n");
        string Config(string masks) => $$"""
            models:
              - name: unet-camvid-onnx-0001
                launchers:
                  - {framework: onnx_runtime, adapter: segmentation}
                datasets:
                  - name: CamVid
                    data_source: CamVid
                    {{masks}}
                    annotation_conversion: {converter: camvid, annotation_file: CamVid/val.txt, dataset_meta_file: camvid.json}
                    reader: pillow_imread
                    preprocessing: [{type: normalization, std: 255}]
                    metrics: [{type: mean_iou, ignore_label: 255}, {type: segmentation_accuracy, ignore_label: 255}]
            """;
        File.WriteAllText(tmp.File("ac.yml"), Config("segmentation_masks_source: CamVid"));
        var engine = EngineDefinition.Load(tmp.File("ac.yml"));
        Assert.Contains(engine.Warnings, w => w.Contains("dataset_meta_file: read and ignored", StringComparison.Ordinal));
        using (var evaluator = new Evaluator(engine))
        {
            var r = evaluator.Evaluate(File.ReadAllBytes(tmp.File("segmenter.onnx")), null, CancellationToken.None);
            Assert.Equal(5.0 / 7, r.Values["segmentation_accuracy"], 12);
            Assert.Equal((2.0 / 3 + 0.5 + 0.5) / 3, r.Values["mean_iou"], 12);
        }
        // Without segmentation_masks_source the masks stand in data_source, as in Accuracy Checker.
        File.WriteAllText(tmp.File("ac.yml"), Config(""));
        Assert.Equal(2, EngineDefinition.Load(tmp.File("ac.yml")).OpenDataset().Count);
        // A line of one path says what a line holds.
        File.AppendAllText(tmp.File("CamVid/val.txt"), "/SegNet/CamVid/images/street0_left.png\n");
        var e = Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("ac.yml")).OpenDataset());
        Assert.Contains("line 4 holds 1 paths: write `image mask` on each line", e.Message);
        // The native key needs the masks' folder.
        File.WriteAllText(tmp.File("engine.yml"), "adapter: segmentation\nmetrics: [{type: mean_iou}]\ndataset: {data_source: CamVid, camvid_list: CamVid/val.txt}\n");
        Assert.Contains("camvid_list (line 3): applies with masks:", Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("engine.yml"))).Message);
    }

    [Fact]
    public void An_accuracy_checker_configuration_with_common_semantic_segmentation_scores_the_same()
    {
        using var tmp = new TempFolder();
        Write(tmp);
        File.WriteAllText(tmp.File("ac.yml"), """
            models:
              - name: segmenter
                launchers:
                  - framework: onnx_runtime
                    model: segmenter.onnx
                    adapter: segmentation
                datasets:
                  - name: streets
                    data_source: images
                    segmentation_masks_source: masks
                    annotation_conversion:
                      converter: common_semantic_segmentation
                      images_dir: images
                      masks_dir: masks
                      image_postfix: _left.png
                      mask_postfix: _labels.png
                    reader: pillow_imread
                    preprocessing:
                      - type: normalization
                        std: 255
                    postprocessing:
                      - type: resize_segmentation_mask
                        apply_to: prediction
                    metrics:
                      - type: mean_iou
                        ignore_label: 255
                      - type: segmentation_accuracy
                        ignore_label: 255
            """);
        var engine = EngineDefinition.Load(tmp.File("ac.yml"));
        // images_dir names data_source's folder, as Accuracy Checker needs it to: nothing to warn about.
        Assert.Empty(engine.Warnings);
        using var evaluator = new Evaluator(engine);
        var r = evaluator.Evaluate(File.ReadAllBytes(tmp.File("segmenter.onnx")), null, CancellationToken.None);
        Assert.Equal(5.0 / 7, r.Values["segmentation_accuracy"], 12);
        Assert.Equal((2.0 / 3 + 0.5 + 0.5) / 3, r.Values["mean_iou"], 12);

        // Masks of another loader are refused with what is supported.
        File.WriteAllText(tmp.File("other.yml"), File.ReadAllText(tmp.File("ac.yml")).Replace("mask_postfix: _labels.png", "mask_postfix: _labels.png\n          mask_loader: opencv"));
        Assert.Contains("'opencv' is not supported: pillow", Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("other.yml"))).Message);

        // Open Model Zoo's deeplabv3 brings masks to the input's size and crops or pads them to it: scored at the masks'
        // own size instead, the same values here, with a warning for each step.
        File.WriteAllText(tmp.File("sized.yml"), File.ReadAllText(tmp.File("ac.yml")).Replace("apply_to: prediction",
            "apply_to: annotation\n            to_dst_image_size: true\n          - type: crop_or_pad\n            size: 513"));
        var sized = EngineDefinition.Load(tmp.File("sized.yml"));
        Assert.Equal(2, sized.Warnings.Count(w => w.Contains("read and ignored: class maps are scored at their masks' own size", StringComparison.Ordinal)));
        using var again = new Evaluator(sized);
        Assert.Equal(5.0 / 7, again.Evaluate(File.ReadAllBytes(tmp.File("segmenter.onnx")), null, CancellationToken.None).Values["segmentation_accuracy"], 12);

        // crop_padded_prediction (Open Model Zoo's pspnet): what always happens, so no step and nothing to warn about.
        File.WriteAllText(tmp.File("cropped.yml"), File.ReadAllText(tmp.File("ac.yml")).Replace("postprocessing:\n", "postprocessing:\n          - type: crop_padded_prediction\n", StringComparison.Ordinal));
        Assert.Contains("crop_padded_prediction", File.ReadAllText(tmp.File("cropped.yml")), StringComparison.Ordinal);
        var cropped = EngineDefinition.Load(tmp.File("cropped.yml"));
        Assert.Empty(cropped.Warnings);
        using var third = new Evaluator(cropped);
        Assert.Equal(5.0 / 7, third.Evaluate(File.ReadAllBytes(tmp.File("segmenter.onnx")), null, CancellationToken.None).Values["segmentation_accuracy"], 12);
    }

    [Fact]
    public void An_image_without_its_mask_is_named_with_the_mask_it_needs()
    {
        using var tmp = new TempFolder();
        string engine = Write(tmp);
        File.Delete(tmp.File("masks/street1_labels.png"));
        var e = Assert.Throws<PotException>(() => new Evaluator(EngineDefinition.Load(engine)).Dispose());
        Assert.Equal("MaskNotFound", e.ErrorId);
        Assert.Contains("'street1_left.png', whose mask would be 'street1_labels.png'", e.Message);
    }

    [Fact]
    public void Pascal_vocs_colours_are_those_accuracy_checker_lists()
    {
        // Accuracy Checker's annotation_converters/pascal_voc.py, _SEGMENTATION_COLORS.
        var listed = new (byte, byte, byte)[]
        {
            (0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0), (0, 0, 128), (128, 0, 128), (0, 128, 128), (128, 128, 128),
            (64, 0, 0), (192, 0, 0), (64, 128, 0), (192, 128, 0), (64, 0, 128), (192, 0, 128), (64, 128, 128), (192, 128, 128),
            (0, 64, 0), (128, 64, 0), (0, 192, 0), (128, 192, 0), (0, 64, 128),
        };
        Assert.Equal(listed, MaskColors.Voc.Colors);
    }

    [Fact]
    public void With_the_classes_colours_palette_and_colour_pngs_give_the_class_of_each_colour_and_other_colours_background()
    {
        using var tmp = new TempFolder();
        // The test palette: index 0 black, 1 VOC's aeroplane red, 2 its bicycle green, 255 VOC's border (224, 224, 192).
        File.WriteAllBytes(tmp.File("voc.png"), PngFiles.Palette(4, 1, new byte[] { 2, 1, 255, 0 }, PngFiles.VocPalette()));
        Assert.Equal(new byte[] { 2, 1, 0, 0 }, (byte[])SegmentationMasks.Read(tmp.File("voc.png"), MaskColors.Voc).Data);
        // Colours of a dataset of its own (road, sky, car), in a colour PNG; a colour listed twice is its first class.
        var colors = new MaskColors(new (byte, byte, byte)[] { (128, 64, 128), (70, 130, 180), (0, 0, 142), (70, 130, 180) });
        File.WriteAllBytes(tmp.File("rgb.png"), PngFiles.Rgb(3, 1, new byte[] { 0, 0, 142, 70, 130, 180, 1, 2, 3 }));
        var mask = SegmentationMasks.Read(tmp.File("rgb.png"), colors);
        Assert.Equal(new long[] { 1, 3 }, mask.Shape);
        Assert.Equal(new byte[] { 2, 1, 0 }, (byte[])mask.Data);

        // Grey PNGs and .npy arrays hold class indices: with colours they are refused.
        File.WriteAllBytes(tmp.File("grey.png"), PngFiles.Grey(2, 1, new byte[] { 0, 1 }));
        Assert.Contains("is a grey PNG, which holds class indices", Assert.Throws<PotException>(() => SegmentationMasks.Read(tmp.File("grey.png"), colors)).Message);
        NpyWriter.Save(tmp.File("m.npy"), new long[] { 0, 1 }, new long[] { 1, 2 }, "<i8");
        Assert.Contains("holds class indices, not colours", Assert.Throws<PotException>(() => SegmentationMasks.Read(tmp.File("m.npy"), colors)).Message);
    }

    /// <summary>SegmentationCase's images and masks as Pascal VOC lays them out: JPEGImages/&lt;id&gt;.png, SegmentationClass/&lt;id&gt;.png.</summary>
    private static void WriteVoc(TempFolder tmp, string ids)
    {
        SegmentationCase.WriteImages(tmp.Path);
        Directory.CreateDirectory(tmp.File("JPEGImages"));
        Directory.CreateDirectory(tmp.File("SegmentationClass"));
        for (int i = 0; i < 2; i++)
        {
            File.Move(tmp.File($"images/street{i}_left.png"), tmp.File($"JPEGImages/street{i}.png"));
            File.Move(tmp.File($"masks/street{i}_labels.png"), tmp.File($"SegmentationClass/street{i}.png"));
        }
        File.WriteAllText(tmp.File("val.txt"), ids);
    }

    [Fact]
    public void An_accuracy_checker_voc_segmentation_configuration_reads_the_masks_colours_as_it_does()
    {
        // The masks' border pixel (item 1's last, palette index 255) is no class colour: Accuracy Checker's
        // encode_segmentation_mask leaves it 0, background. Pixels (truth -> predicted): item 0: 0->0, 1->1, 1->2, 2->2;
        // item 1: 1->1, 0->1, 0->0, 0->0. Right: 6 of 8. IoU: class 0 3/4, class 1 2/4, class 2 1/2.
        using var tmp = new TempFolder();
        WriteVoc(tmp, "street0\nstreet1\n");
        const string config = """
            models:
              - name: segmenter
                launchers:
                  - framework: onnx_runtime
                    model: segmenter.onnx
                    adapter: segmentation
                datasets:
                  - name: VOC2012_Segmentation
                    annotation_conversion:
                      converter: voc_segmentation
                      imageset_file: val.txt
                      images_dir: JPEGImages/
                      mask_dir: SegmentationClass/
                    data_source: JPEGImages/
                    segmentation_masks_source: SegmentationClass/
                    annotation: voc2012_segmentation.pickle
                    dataset_meta: voc2012_segmentation.json
                    reader: pillow_imread
                    preprocessing:
                      - type: normalization
                        std: 255
                    postprocessing:
                      - type: encode_segmentation_mask
                        apply_to: annotation
                    metrics:
                      - type: mean_iou
                      - type: segmentation_accuracy
            """;
        File.WriteAllText(tmp.File("ac.yml"), config);
        using (var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("ac.yml"))))
        {
            var r = evaluator.Evaluate(File.ReadAllBytes(tmp.File("segmenter.onnx")), null, CancellationToken.None);
            Assert.Equal(6.0 / 8, r.Values["segmentation_accuracy"], 12);
            Assert.Equal((0.75 + 0.5 + 0.5) / 3, r.Values["mean_iou"], 12);
        }

        // The image set chooses the images: street0 alone (IoU 1, 1/2, 1/2).
        File.WriteAllText(tmp.File("val.txt"), "street0\n");
        using (var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("ac.yml"))))
            Assert.Equal(2.0 / 3, evaluator.Evaluate(File.ReadAllBytes(tmp.File("segmenter.onnx")), null, CancellationToken.None).Values["mean_iou"], 12);
        File.WriteAllText(tmp.File("val.txt"), "street0\nstreet7\n");
        var e = Assert.Throws<PotException>(() => new Evaluator(EngineDefinition.Load(tmp.File("ac.yml"))).Dispose());
        Assert.Equal("ImageNotFound", e.ErrorId);
        Assert.Contains("'street7'", e.Message);

        // Encoding predictions is refused; common_semantic_segmentation needs the colours from its dataset_meta_file.
        File.WriteAllText(tmp.File("val.txt"), "street0\n");
        File.WriteAllText(tmp.File("predictions.yml"), config.Replace("apply_to: annotation", "apply_to: prediction"));
        Assert.Contains("must be annotation", Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("predictions.yml"))).Message);
        File.WriteAllText(tmp.File("common.yml"), config.Replace("converter: voc_segmentation\n          imageset_file: val.txt\n", "converter: common_semantic_segmentation\n")
            .Replace("mask_dir: SegmentationClass/", "masks_dir: SegmentationClass/"));
        Assert.Contains("dataset_meta_file: is required with encode_segmentation_mask", Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("common.yml"))).Message);
        File.WriteAllText(tmp.File("meta.json"), """{"label_map": {"0": "background", "1": "a", "2": "b"}, "segmentation_colors": [[0, 0, 0], [128, 0, 0], [0, 128, 0]]}""");
        File.WriteAllText(tmp.File("common.yml"), File.ReadAllText(tmp.File("common.yml")).Replace("masks_dir: SegmentationClass/", "masks_dir: SegmentationClass/\n          dataset_meta_file: meta.json"));
        using (var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("common.yml"))))
            Assert.Equal((0.75 + 0.5 + 0.5) / 3, evaluator.Evaluate(File.ReadAllBytes(tmp.File("segmenter.onnx")), null, CancellationToken.None).Values["mean_iou"], 12);
    }
}
