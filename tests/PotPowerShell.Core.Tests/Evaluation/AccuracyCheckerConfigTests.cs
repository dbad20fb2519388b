using Google.Protobuf;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.Evaluation;

public class AccuracyCheckerConfigTests
{
    private static TempFolder Images()
    {
        var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("val"));
        // 1x1 RGB images whose largest channel is the class: red 0, green 1, blue 2 (after decoding to RGB).
        File.WriteAllBytes(tmp.File("val/r.png"), PngFiles.Rgb(1, 1, new byte[] { 200, 10, 20 }));
        File.WriteAllBytes(tmp.File("val/g.png"), PngFiles.Rgb(1, 1, new byte[] { 10, 200, 20 }));
        File.WriteAllBytes(tmp.File("val/b.png"), PngFiles.Rgb(1, 1, new byte[] { 10, 20, 200 }));
        return tmp;
    }

    private static EngineDefinition Load(TempFolder tmp, string yaml)
    {
        File.WriteAllText(tmp.File("ac.yml"), yaml);
        return EngineDefinition.Load(tmp.File("ac.yml"));
    }

    private static string[] Problems(TempFolder tmp, string yaml)
    {
        var e = Assert.Throws<PotException>(() => Load(tmp, yaml));
        Assert.Equal("EngineInvalid", e.ErrorId);
        return (string[])e.Data["Problems"]!;
    }

    private static string Config(string dataset, string launcher = "      - framework: onnx_runtime\n        model: m.onnx\n        adapter: classification\n") =>
        "models:\n  - name: m\n    launchers:\n" + launcher + "    datasets:\n" + dataset;

    private const string ImageNetDataset =
        "      - name: imagenet\n" +
        "        data_source: val\n" +
        "        annotation_conversion:\n" +
        "          converter: imagenet\n" +
        "          annotation_file: val.txt\n";

    [Fact]
    public void ImageNet_style_config_reads_as_the_equivalent_engine_file()
    {
        using var tmp = Images();
        File.WriteAllText(tmp.File("val.txt"), "r.png 0\n");
        var ac = Load(tmp, Config(ImageNetDataset +
            "        reader: pillow_imread\n" +
            "        preprocessing:\n" +
            "          - type: resize\n            size: 256\n            aspect_ratio_scale: greater\n" +
            "          - type: crop\n            dst_width: 224\n            dst_height: 200\n" +
            "          - type: normalization\n            mean: (123.675, 116.28, 103.53)\n            std: 58.395, 57.12, 57.375\n" +
            "        metrics:\n          - name: accuracy@top1\n            type: accuracy\n            top_k: 1\n          - type: accuracy\n            top_k: 5\n",
            "      - framework: onnx_runtime\n        model: m.onnx\n        adapter: classification\n        batch: 4\n" +
            "        inputs:\n          - name: data\n            type: INPUT\n            layout: NHWC\n"));
        File.WriteAllText(tmp.File("ours.yml"),
            "adapter: classification\nbatch_size: 4\ndatasets:\n  - name: imagenet\n    data_source: val\n    annotation_file: val.txt\n" +
            "    input: data\n    layout: NHWC\n    color_order: RGB\n    preprocessing:\n" +
            "      - {type: resize, size: 256, aspect: shorter_side, interpolation: bilinear}\n      - {type: center_crop, width: 224, height: 200}\n" +
            "      - {type: normalization, mean: [123.675, 116.28, 103.53], std: [58.395, 57.12, 57.375]}\n" +
            "    metrics:\n      - {name: accuracy@top1, type: accuracy, top_k: 1}\n      - {type: accuracy, top_k: 5}\n");
        var ours = EngineDefinition.Load(tmp.File("ours.yml"));

        var a = ac.Datasets.Single();
        var o = ours.Datasets.Single();
        Assert.Equal(o.Name, a.Name);
        Assert.Equal(o.DataSource, a.DataSource);
        Assert.Equal(o.AnnotationFile, a.AnnotationFile);
        Assert.Equal(o.InputName, a.InputName);
        Assert.Equal(o.Image!.Channels, a.Image!.Channels);
        Assert.Equal(o.Image.ColorOrder, a.Image.ColorOrder);
        Assert.Equal(o.Image.Layout, a.Image.Layout);
        Assert.Equal(o.Image.Steps.Count, a.Image.Steps.Count);
        Assert.Equal(o.Image.Steps[0], a.Image.Steps[0]);
        Assert.Equal(o.Image.Steps[1], a.Image.Steps[1]);
        var (na, no) = ((NormalizationStep)a.Image.Steps[2], (NormalizationStep)o.Image.Steps[2]);
        Assert.Equal(no.Mean, na.Mean);
        Assert.Equal(no.Std, na.Std);
        Assert.Equal(o.Adapter.Type, a.Adapter.Type);
        Assert.Equal(ours.BatchSize, ac.BatchSize);
        Assert.Equal(ours.Metrics.Select(m => (m.Name, m.TopK)), ac.Metrics.Select(m => (m.Name, m.TopK)));
        Assert.Empty(ac.Warnings);
    }

    [Fact]
    public void OpenCV_reader_is_BGR_and_mean_lists_follow_the_channel_order_of_their_step()
    {
        using var tmp = Images();
        File.WriteAllText(tmp.File("val.txt"), "r.png 0\n");
        string Engine(string steps) => Config(ImageNetDataset + "        preprocessing:\n" + steps + "        metrics:\n          - type: accuracy\n");

        // opencv_imread (the default reader) gives BGR: a mean list before bgr_to_rgb is in BGR order.
        var before = Load(tmp, Engine("          - {type: normalization, mean: [1, 2, 3]}\n          - type: bgr_to_rgb\n")).Datasets[0].Image!;
        Assert.Equal(ColorOrder.Rgb, before.ColorOrder);
        Assert.Equal(new[] { 3f, 2f, 1f }, ((NormalizationStep)before.Steps.Single()).Mean);

        var after = Load(tmp, Engine("          - type: bgr_to_rgb\n          - {type: normalization, mean: [1, 2, 3]}\n")).Datasets[0].Image!;
        Assert.Equal(ColorOrder.Rgb, after.ColorOrder);
        Assert.Equal(new[] { 1f, 2f, 3f }, ((NormalizationStep)after.Steps.Single()).Mean);

        var bgr = Load(tmp, Engine("          - {type: normalization, mean: [1, 2, 3]}\n")).Datasets[0].Image!;
        Assert.Equal(ColorOrder.Bgr, bgr.ColorOrder);
        Assert.Equal(new[] { 1f, 2f, 3f }, ((NormalizationStep)bgr.Steps.Single()).Mean);

        var grey = Load(tmp, Engine("          - type: bgr_to_gray\n          - {type: normalization, mean: 120, std: 120}\n")).Datasets[0].Image!;
        Assert.Equal(1, grey.Channels);
    }

    [Fact]
    public void Numpy_reader_feeds_one_npy_file_per_item_as_it_is()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("val"));
        // Two items of three class scores each: item a is class 2, item b class 0.
        PotPowerShell.TestSupport.NpyWriter.Write(tmp.File("val/a.npy"), TensorData.FromFloats(new float[] { 0, 1, 5 }, 3));
        PotPowerShell.TestSupport.NpyWriter.Write(tmp.File("val/b.npy"), TensorData.FromFloats(new float[] { 4, 1, 0 }, 3));
        File.WriteAllText(tmp.File("val.txt"), "a.npy 2\nb.npy 1\n");
        var engine = Load(tmp, Config(ImageNetDataset.Replace("data_source: val\n", "data_source: val\n        reader: numpy_reader\n") + "        metrics:\n          - type: accuracy\n"));
        Assert.Equal(DatasetFormat.NpyFiles, engine.Datasets[0].Format);
        using (var data = engine.OpenDataset())
            Assert.Equal(new long[] { 1, 3 }, data.Get(0).Inputs.Values.Single().Shape);
        using var evaluator = new Evaluator(engine);
        // The model passes the scores through: a is right, b (labelled 1) wrong.
        var r = evaluator.Evaluate(TestModels.Identity("batch", 3L), null, CancellationToken.None);
        Assert.Equal(0.5, r.Values["accuracy@top1"], 12);
        var problems = Problems(tmp, Config(ImageNetDataset.Replace("data_source: val\n", "data_source: val\n        reader: numpy_reader\n") +
            "        preprocessing:\n          - type: resize\n            size: 2\n        metrics:\n          - type: accuracy\n"));
        Assert.Contains(problems, p => p.StartsWith("models[0].datasets[0].preprocessing", StringComparison.Ordinal) && p.Contains("as they are", StringComparison.Ordinal));
    }

    [Fact]
    public void Padding_pads_the_image_with_one_value_at_the_chosen_place()
    {
        using var tmp = Images();
        File.WriteAllText(tmp.File("val.txt"), "r.png 0\n");
        string Engine(string step) => Config(ImageNetDataset + "        reader: pillow_imread\n        preprocessing:\n" + step + "        metrics:\n          - type: accuracy\n");
        // The 1x1 red pixel (200, 10, 20) padded to 3x2 with 7: centre puts it at x 1, y 0 (the odd row below).
        var engine = Load(tmp, Engine("          - {type: padding, dst_width: 3, dst_height: 2, pad_value: 7}\n"));
        Assert.Equal(new PaddingStep(3, 2, 7, PadPosition.Center), engine.Datasets[0].Image!.Steps.Single());
        using (var data = engine.OpenDataset())
        {
            var tensor = data.Get(0).Inputs.Values.Single();
            Assert.Equal(new long[] { 1, 3, 2, 3 }, tensor.Shape);
            // Channel planes of 2 rows x 3 columns.
            Assert.Equal(new float[] { 7, 200, 7, 7, 7, 7, 7, 10, 7, 7, 7, 7, 7, 20, 7, 7, 7, 7 }, tensor.ToFloats());
        }
        var corner = Load(tmp, Engine("          - {type: padding, size: 2, pad_type: right_bottom}\n"));
        using (var data = corner.OpenDataset())
            Assert.Equal(new float[] { 0, 0, 0, 200, 0, 0, 0, 10, 0, 0, 0, 20 }, data.Get(0).Inputs.Values.Single().ToFloats());
        var problems = Problems(tmp, Engine("          - {type: padding, size: 2, pad_value: abc}\n"));
        Assert.Contains(problems, p => p.StartsWith("models[0].datasets[0].preprocessing[0].pad_value", StringComparison.Ordinal) && p.Contains("one number, or one per channel", StringComparison.Ordinal));
        // Without a size, to the size of the resize before it, as YOLOX's configurations pad (the pixel fits 4x4: 4x4).
        var fitted = Load(tmp, Engine("          - {type: resize, aspect_ratio_scale: fit_to_window, size: 4}\n          - {type: padding, pad_type: right_bottom, pad_value: 114}\n"));
        Assert.Equal(new PaddingStep(4, 4, 114, PadPosition.RightBottom), fitted.Datasets[0].Image!.Steps[1]);
        fitted = Load(tmp, Engine("          - {type: resize, dst_width: 5, dst_height: 3}\n          - {type: padding}\n"));
        Assert.Equal(new PaddingStep(5, 3, 0, PadPosition.Center), fitted.Datasets[0].Image!.Steps[1]);
        // fit_to_window within a window that is not square (Intel's Faster R-CNN, 1280x800), frcnn_keep_aspect_ratio
        // (RetinaNet), greater with equal sizes given as two.
        var resize = (ResizeStep)Load(tmp, Engine("          - {type: resize, aspect_ratio_scale: fit_to_window, dst_width: 1280, dst_height: 800}\n")).Datasets[0].Image!.Steps[0];
        Assert.Equal((1280, 800, 0, ResizeAspect.LongerSide), (resize.Width, resize.Height, resize.Size, resize.Aspect));
        resize = (ResizeStep)Load(tmp, Engine("          - {type: resize, aspect_ratio_scale: frcnn_keep_aspect_ratio, size: 1333}\n")).Datasets[0].Image!.Steps[0];
        Assert.Equal((1333, ResizeAspect.ShorterWithinLonger), (resize.Size, resize.Aspect));
        resize = (ResizeStep)Load(tmp, Engine("          - {type: resize, aspect_ratio_scale: greater, dst_width: 600, dst_height: 600}\n")).Datasets[0].Image!.Steps[0];
        Assert.Equal((600, ResizeAspect.ShorterSide), (resize.Size, resize.Aspect));
        problems = Problems(tmp, Engine("          - {type: resize, aspect_ratio_scale: greater, dst_width: 600, dst_height: 400}\n"));
        Assert.Contains(problems, p => p.Contains("greater keeps the aspect ratio of a square target here", StringComparison.Ordinal));
        problems = Problems(tmp, Engine("          - {type: resize, aspect_ratio_scale: greater, size: 4}\n          - {type: padding}\n"));
        Assert.Contains(problems, p => p.StartsWith("models[0].datasets[0].preprocessing[1].type", StringComparison.Ordinal) && p.Contains("covers its size", StringComparison.Ordinal));
        problems = Problems(tmp, Engine("          - {type: padding}\n"));
        Assert.Contains(problems, p => p.StartsWith("models[0].datasets[0].preprocessing[0].size", StringComparison.Ordinal) && p.Contains("is required", StringComparison.Ordinal));
        problems = Problems(tmp, Engine("          - {type: padding, size: 2, pad_type: diagonal}\n"));
        Assert.Contains(problems, p => p.StartsWith("models[0].datasets[0].preprocessing[0].pad_type", StringComparison.Ordinal));
        // Two values for three channels: neither one for all nor one each.
        problems = Problems(tmp, Engine("          - {type: padding, size: 2, pad_value: [1, 2]}\n"));
        Assert.Contains(problems, p => p.Contains("gives 2 values: give one for every channel or one per channel (3)", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("(123.675, 116.28, 103.53)", new[] { 123.675, 116.28, 103.53 })]
    [InlineData("123.675,116.28,103.53", new[] { 123.675, 116.28, 103.53 })]
    [InlineData("imagenet", new[] { 104.00698793, 116.66876762, 122.67891434 })]
    [InlineData("CIFAR10", new[] { 125.307, 122.961, 113.8575 })]
    [InlineData("127.5", new[] { 127.5 })]
    public void Normalization_values_read_as_Accuracy_Checker_reads_them(string text, double[] expected) =>
        Assert.Equal(expected, AccuracyCheckerConfig.NormalizationValues(PotPowerShell.Core.Config.ConfigScalar.From(text)));

    [Fact]
    public void Has_background_shifts_every_label_by_one()
    {
        using var tmp = Images();
        // Labels without the background class; the model scores background first, so red is class 1 of 4 outputs.
        File.WriteAllText(tmp.File("val.txt"), "r.png 0\ng.png 1\nb.png 2\n");
        string Engine(string background) => Config(
            "      - name: colours\n        data_source: val\n        reader: pillow_imread\n" +
            "        annotation_conversion:\n          converter: imagenet\n          annotation_file: val.txt\n          has_background: " + background + "\n" +
            "        metrics:\n          - type: accuracy\n");
        // Output = [0, r, g, b]: a zero background score before the image's three channels.
        var g = new GraphBuilder("pad");
        g.Input("x", "batch", 3L, 1L, 1L);
        string flat = g.Node("Flatten", new[] { "x" });
        string y = g.Node("Pad", new[] { flat, g.Initializer("pads", new long[] { 0, 1, 0, 0 }, 4) });
        g.Output(y, DataType.Float, "batch", 4L);
        byte[] model = g.Build().ToByteArray();

        foreach (var (background, expected) in new[] { ("true", 1.0), ("false", 0.0) })
        {
            using var evaluator = new Evaluator(Load(tmp, Engine(background)));
            Assert.Equal(expected, evaluator.Evaluate(model, null, CancellationToken.None).Values["accuracy@top1"]);
        }
    }

    [Fact]
    public void Argmax_output_reads_each_items_class_from_a_model_that_ends_in_ArgMax()
    {
        using var tmp = Images();
        File.WriteAllText(tmp.File("val.txt"), "r.png 0\ng.png 1\nb.png 1\n");
        // Each image's largest channel, as a float (Cast after ArgMax): only argmax_output says that it is a class.
        var g = new GraphBuilder("label");
        g.Input("x", "batch", 3L, 1L, 1L);
        string flat = g.Node("Flatten", new[] { "x" });
        string index = g.Node("ArgMax", new[] { flat }, null, ("axis", 1L), ("keepdims", 0L));
        string label = g.Node("Cast", new[] { index }, null, ("to", (long)DataType.Float));
        g.Output(label, DataType.Float, "batch");
        byte[] model = g.Build().ToByteArray();
        string Engine(string metric) => Config(ImageNetDataset + "        reader: pillow_imread\n        metrics:\n" + metric,
            "      - framework: onnx_runtime\n        model: m.onnx\n        adapter:\n          type: classification\n          argmax_output: true\n");

        using (var evaluator = new Evaluator(Load(tmp, Engine("          - type: accuracy\n"))))
            Assert.Equal(2.0 / 3, evaluator.Evaluate(model, null, CancellationToken.None).Values["accuracy@top1"], 12);
        using (var evaluator = new Evaluator(Load(tmp, Engine("          - type: accuracy\n            top_k: 5\n"))))
            Assert.Equal("MetricNeedsClassScores", Assert.Throws<PotException>(() => evaluator.Evaluate(model, null, CancellationToken.None)).ErrorId);
    }

    /// <summary>Two 5x1 RGB images in words/: each pixel is one time step, its largest channel the class (0 blank, 1 'a', 2 'b').</summary>
    private static TempFolder WordImages()
    {
        var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("words"));
        byte[] R = { 200, 0, 0 }, G = { 0, 200, 0 }, B = { 0, 0, 200 };
        File.WriteAllBytes(tmp.File("words/1.png"), PngFiles.Rgb(5, 1, new[] { G, G, R, B, B }.SelectMany(p => p).ToArray()));  // "ab"
        File.WriteAllBytes(tmp.File("words/2.png"), PngFiles.Rgb(5, 1, new[] { B, R, B, G, R }.SelectMany(p => p).ToArray()));  // "bba"
        return tmp;
    }

    /// <summary>[batch, 3, 1, 5] image -> [5, batch, 3] scores per time step, the layout the CTC decoder reads.</summary>
    private static byte[] TncModel()
    {
        var g = new GraphBuilder("tnc");
        g.Input("x", "batch", 3L, 1L, 5L);
        string squeezed = g.Node("Squeeze", new[] { "x", g.Initializer("axes", new long[] { 2 }, 1) });
        g.Output(g.Node("Transpose", new[] { squeezed }, null, ("perm", new long[] { 2, 0, 1 })), DataType.Float, 5L, "batch", 3L);
        return g.Build().ToByteArray();
    }

    [Fact]
    public void Text_recognition_with_the_CTC_search_decoder_and_icdar13_annotations()
    {
        using var tmp = WordImages();
        File.WriteAllText(tmp.File("gt.txt"), "1.png ab\n2.png bab\n");
        var engine = Load(tmp, Config(
            "      - name: words\n        data_source: words\n        reader: pillow_imread\n" +
            "        annotation_conversion:\n          converter: icdar13_recognition\n          annotation_file: gt.txt\n          delimeter: space\n" +
            "        metrics:\n          - type: character_recognition_accuracy\n",
            "      - framework: onnx_runtime\n        model: m.onnx\n" +
            "        adapter:\n          type: ctc_greedy_search_decoder\n          blank_label: 0\n          shift_labels: true\n" +
            "          custom_label_map: {0: a, 1: b}\n"));

        using var evaluator = new Evaluator(engine);
        var r = evaluator.Run(TncModel(), new EvaluationRequest { KeepPredictions = true }, CancellationToken.None);
        Assert.Equal(new object?[] { "ab", "bba" }, r.Predictions);
        Assert.Equal(0.5, r.Values["character_recognition_accuracy"]);
    }

    /// <summary>A configuration of val's images annotated by gt.txt (icdar13_recognition), the launcher's adapter written after 'adapter:'.</summary>
    private static string Icdar13Words(string adapter) => Config(
        "      - name: words\n        data_source: val\n" +
        "        annotation_conversion:\n          converter: icdar13_recognition\n          annotation_file: gt.txt\n" +
        "        metrics:\n          - type: character_recognition_accuracy\n",
        "      - framework: onnx_runtime\n        adapter:" + adapter);

    [Fact]
    public void The_CTC_decoder_takes_icdar13_symbols_when_it_has_no_vocabulary_and_refuses_a_shift_past_a_late_blank()
    {
        using var tmp = Images();
        File.WriteAllText(tmp.File("gt.txt"), "r.png a\n");
        string Engine(string adapter) => Icdar13Words("\n          type: ctc_greedy_search_decoder\n" + adapter);
        var engine = Load(tmp, Engine("          blank_label: 36\n"));
        Assert.Equal(AccuracyCheckerConfig.Icdar13Symbols.Select(c => c.ToString()), engine.Datasets[0].Adapter.Symbols);
        Assert.Equal(36, engine.Datasets[0].Adapter.BlankIndex);
        Assert.Contains(Problems(tmp, Engine("          blank_label: 36\n          shift_labels: true\n")),
            p => p.StartsWith("models[0].launchers[0].adapter.shift_labels", StringComparison.Ordinal));
    }

    [Fact]
    public void The_beam_search_decoder_reads_as_ctc_beam_search_with_its_blank_after_the_label_map()
    {
        using var tmp = Images();
        File.WriteAllText(tmp.File("gt.txt"), "r.png a\n");
        File.WriteAllText(tmp.File("vocab.txt"), "a\nb\n");
        string Engine(string adapter) => Icdar13Words(adapter);
        // text-recognition-0012's: beam 10, the blank after icdar13's 36 symbols, a [time, batch, classes] output.
        var a = Load(tmp, Engine(" beam_search_decoder\n")).Datasets[0].Adapter;
        Assert.Equal((AdapterType.CtcGreedy, 10, 36, CtcLayout.Tnc, false), (a.Type, a.BeamSize, a.BlankIndex, a.Layout, a.Probabilities));
        Assert.Equal(AccuracyCheckerConfig.Icdar13Symbols.Select(c => c.ToString()), a.Symbols);
        a = Load(tmp, Engine("\n          type: beam_search_decoder\n          beam_size: 3\n          softmaxed_probabilities: true\n          custom_label_map: {0: a, 1: b}\n")).Datasets[0].Adapter;
        Assert.Equal((3, 2, true, "ab"), (a.BeamSize, a.BlankIndex, a.Probabilities, string.Concat(a.Symbols!)));
        Assert.Contains(Problems(tmp, Engine("\n          type: beam_search_decoder\n          vocabulary_file: vocab.txt\n")),
            p => p.StartsWith("models[0].launchers[0].adapter.blank_label", StringComparison.Ordinal) && p.Contains("the class after the vocabulary's lines", StringComparison.Ordinal));
        Assert.Equal(2, Load(tmp, Engine("\n          type: beam_search_decoder\n          vocabulary_file: vocab.txt\n          blank_label: 2\n")).Datasets[0].Adapter.BlankIndex);
    }

    /// <summary>Folders B, a, b (code-point order: 'B' is 66, 'a' 97, 'b' 98, so B is class 0, a 1, b 2) of 1x1 images.</summary>
    private static TempFolder ClassFolderImages()
    {
        var tmp = new TempFolder();
        foreach (var c in new[] { "set/B", "set/a", "set/b" }) Directory.CreateDirectory(tmp.File(c));
        File.WriteAllBytes(tmp.File("set/B/z.png"), PngFiles.Rgb(1, 1, new byte[] { 200, 10, 20 }));   // red: predicted 0, right
        File.WriteAllBytes(tmp.File("set/a/x.png"), PngFiles.Rgb(1, 1, new byte[] { 10, 200, 20 }));   // green: predicted 1, right
        File.WriteAllBytes(tmp.File("set/b/y.png"), PngFiles.Rgb(1, 1, new byte[] { 10, 20, 200 }));   // blue: predicted 2, right
        File.WriteAllBytes(tmp.File("set/b/w.png"), PngFiles.Rgb(1, 1, new byte[] { 200, 20, 10 }));   // red: predicted 0, labelled 2
        File.WriteAllText(tmp.File("set/readme.txt"), "not in a class folder: no item");
        return tmp;
    }

    private static byte[] FlattenModel()
    {
        var g = new GraphBuilder("flat");
        g.Input("x", "batch", 3L, 1L, 1L);
        g.Output(g.Node("Flatten", new[] { "x" }), DataType.Float, "batch", 3L);
        return g.Build().ToByteArray();
    }

    private const string ClassFolderDataset =
        "      - name: folders\n        data_source: set\n        reader: pillow_imread\n" +
        "        annotation_conversion:\n          converter: cls_dataset_folder\n          data_dir: set\n" +
        "        metrics:\n          - type: accuracy\n";

    [Fact]
    public void Cls_dataset_folder_numbers_classes_in_sorted_folder_order()
    {
        using var tmp = ClassFolderImages();
        var engine = Load(tmp, Config(ClassFolderDataset));
        Assert.Equal(tmp.File("set"), engine.Datasets[0].ClassFolders);
        using (var data = engine.OpenDataset())
        {
            // Classes in code-point order, images by name within a class: B/z, a/x, b/w, b/y.
            Assert.Equal(4, data.Count);
            Assert.Equal(new object?[] { 0L, 1L, 2L, 2L }, Enumerable.Range(0, 4).Select(i => data.Get(i).Annotation));
        }
        using var evaluator = new Evaluator(engine);
        Assert.Equal(0.75, evaluator.Evaluate(FlattenModel(), null, CancellationToken.None).Values["accuracy@top1"]);
    }

    [Fact]
    public void Cls_dataset_folder_refuses_other_keys_and_entries_that_are_not_images()
    {
        using var tmp = ClassFolderImages();
        var problems = Problems(tmp, Config(ClassFolderDataset.Replace("data_dir: set\n", "annotation_file: val.txt\n          has_background: true\n")));
        Assert.Contains(problems, p => p.StartsWith("models[0].datasets[0].annotation_conversion.data_dir", StringComparison.Ordinal) && p.Contains("required", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("models[0].datasets[0].annotation_conversion.annotation_file", StringComparison.Ordinal) && p.Contains("data_dir only", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("models[0].datasets[0].annotation_conversion.has_background", StringComparison.Ordinal));
        File.WriteAllText(tmp.File("val.txt"), "B/z.png 0\n");
        problems = Problems(tmp, Config(ImageNetDataset.Replace("data_source: val\n", "data_source: set\n").Replace("val.txt\n", "val.txt\n          data_dir: set\n") + "        metrics:\n          - type: accuracy\n"));
        Assert.Contains(problems, p => p.StartsWith("models[0].datasets[0].annotation_conversion.data_dir", StringComparison.Ordinal) && p.Contains("applies to cls_dataset_folder, market1501_reid, veri776_reid and image_retrieval only", StringComparison.Ordinal));

        Assert.Contains(Problems(tmp, Config(ClassFolderDataset.Replace("converter: cls_dataset_folder", "converter: image_folder"))),
            p => p.StartsWith("models[0].datasets[0].annotation_conversion.converter", StringComparison.Ordinal) && p.Contains("did you mean 'cls_dataset_folder'", StringComparison.Ordinal));

        Directory.CreateDirectory(tmp.File("set/a/nested"));
        var engine = Load(tmp, Config(ClassFolderDataset));
        var e = Assert.Throws<PotException>(() => engine.OpenDataset().Dispose());
        Assert.Equal("DatasetEntryNotImage", e.ErrorId);
        Assert.Contains("nested", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unicode_character_recognition_reads_comma_lines_and_decodes_with_the_decoding_characters()
    {
        using var tmp = WordImages();
        // The text after the first comma, trimmed, is the label: it may hold commas and spaces.
        File.WriteAllText(tmp.File("gt.txt"), "1.png, ab\n2.png ,b, a\n");
        // Lines joined: the characters 'a' and 'b' are classes 1 and 2 (0 is the blank).
        File.WriteAllText(tmp.File("chars.txt"), "a\nb\n");
        string Engine(string conversion, string adapter = "") => Config(
            "      - name: words\n        data_source: words\n        reader: pillow_imread\n" +
            "        annotation_conversion:\n          converter: unicode_character_recognition\n          annotation_file: gt.txt\n" + conversion +
            "        metrics:\n          - type: character_recognition_accuracy\n",
            "      - framework: onnx_runtime\n        adapter:\n          type: ctc_greedy_search_decoder\n" + adapter);
        var engine = Load(tmp, Engine("          decoding_char_file: chars.txt\n          images_dir: words\n"));
        Assert.Contains(engine.Warnings, w => w.Contains("annotation_conversion.images_dir", StringComparison.Ordinal));
        Assert.Equal(AnnotationSeparator.Comma, engine.Datasets[0].AnnotationSeparator);
        using (var evaluator = new Evaluator(engine))
        {
            var r = evaluator.Run(TncModel(), new EvaluationRequest { KeepPredictions = true }, CancellationToken.None);
            Assert.Equal(new object?[] { "ab", "bba" }, r.Predictions);
            using var data = engine.OpenDataset();
            Assert.Equal(new object?[] { "ab", "b, a" }, new[] { data.Get(0).Annotation, data.Get(1).Annotation });
            Assert.Equal(0.5, r.Values["character_recognition_accuracy"]);
        }

        Assert.Contains(Load(tmp, Engine("          decoding_char_file: chars.txt\n", "          custom_label_map: {0: a, 1: b}\n")).Warnings,
            w => w.Contains("decoding_char_file are read and not used", StringComparison.Ordinal));
        Assert.Contains(Problems(tmp, Engine("          decoding_char_file: chars.txt\n", "          blank_label: 2\n")),
            p => p.StartsWith("models[0].launchers[0].adapter.blank_label", StringComparison.Ordinal) && p.Contains("index 0", StringComparison.Ordinal));
        Assert.Contains(Problems(tmp, Engine("")), p => p.StartsWith("models[0].datasets[0].annotation_conversion.decoding_char_file", StringComparison.Ordinal));
        Assert.Contains(Problems(tmp, Engine("          decoding_char_file: chars.txt\n          delimeter: space\n")),
            p => p.StartsWith("models[0].datasets[0].annotation_conversion.delimeter", StringComparison.Ordinal) && p.Contains("unicode_character_recognition", StringComparison.Ordinal));
    }

    [Fact]
    public void Launcher_keys_without_effect_warn_and_name_the_keys()
    {
        using var tmp = Images();
        File.WriteAllText(tmp.File("val.txt"), "r.png 0\n");
        var engine = Load(tmp, Config(ImageNetDataset +
            "        metrics:\n          - type: accuracy\n            reference: 0.761\n            threshold: 0.005\n",
            "      - framework: dlsdk\n        device: CPU\n        cpu_extensions: AUTO\n        model: m.xml\n        weights: m.bin\n        adapter: classification\n" +
            "        inputs:\n          - name: data\n            type: INPUT\n            shape: [1, 3, 224, 224]\n"));
        Assert.Contains(engine.Warnings, w => w.Contains("models[0].launchers[0]: cpu_extensions, device are read and ignored", StringComparison.Ordinal));
        Assert.Contains(engine.Warnings, w => w.Contains("inputs[0].shape", StringComparison.Ordinal));
        Assert.Contains(engine.Warnings, w => w.Contains("metrics[0].reference", StringComparison.Ordinal) && w.Contains("maximal_drop", StringComparison.Ordinal));
        Assert.DoesNotContain(engine.Warnings, w => w.Contains("model", StringComparison.Ordinal) && w.Contains("weights", StringComparison.Ordinal));
        Assert.Equal("accuracy@top1", engine.Metrics.Single().Name);
    }

    [Theory]
    [InlineData("BILINEAR", Interpolation.PillowBilinear)]
    [InlineData("LINEAR", Interpolation.PillowBilinear)]
    [InlineData("BICUBIC", Interpolation.PillowBicubic)]
    [InlineData("ANTIALIAS", Interpolation.PillowLanczos)]
    [InlineData("LANCZOS", Interpolation.PillowLanczos)]
    [InlineData("NEAREST", Interpolation.Nearest)]
    public void Use_pillow_resizes_with_pillows_filter_of_that_name(string name, Interpolation expected)
    {
        using var tmp = Images();
        File.WriteAllText(tmp.File("val.txt"), "r.png 0\n");
        var engine = Load(tmp, Config(ImageNetDataset + "        preprocessing:\n          - type: resize\n            size: 8\n" +
            $"            interpolation: {name}\n            use_pillow: True\n        metrics:\n          - type: accuracy\n"));
        Assert.Equal(expected, ((ResizeStep)engine.Datasets.Single().Image!.Steps.Single()).Interpolation);

        // Without use_pillow, OpenCV's bilinear and nearest are what there is.
        if (expected is Interpolation.PillowBicubic or Interpolation.PillowLanczos)
            Assert.Contains(Problems(tmp, Config(ImageNetDataset + "        preprocessing:\n          - type: resize\n            size: 8\n" +
                $"            interpolation: {name}\n        metrics:\n          - type: accuracy\n")), p => p.Contains("with use_pillow: true", StringComparison.Ordinal));
    }

    [Fact]
    public void Pickled_annotations_beside_a_conversion_warn_and_alone_are_refused()
    {
        // Open Model Zoo's dataset definitions name the pickles a conversion writes beside the conversion itself.
        using var tmp = Images();
        File.WriteAllText(tmp.File("val.txt"), "r.png 0\ng.png 1\n");
        var engine = Load(tmp, Config(ImageNetDataset + "        annotation: imagenet.pickle\n        dataset_meta: imagenet.json\n" +
            "        metrics:\n          - type: accuracy\n"));
        Assert.Contains(engine.Warnings, w => w.StartsWith("models[0].datasets[0].annotation: read and ignored", StringComparison.Ordinal));
        Assert.Contains(engine.Warnings, w => w.StartsWith("models[0].datasets[0].dataset_meta: read and ignored", StringComparison.Ordinal));
        Assert.Equal(tmp.File("val.txt"), engine.Datasets.Single().AnnotationFile);

        Assert.Contains(Problems(tmp, Config("      - name: imagenet\n        data_source: val\n        annotation: imagenet.pickle\n        metrics:\n          - type: accuracy\n")),
            p => p.StartsWith("models[0].datasets[0].annotation", StringComparison.Ordinal) && p.Contains("give annotation_conversion", StringComparison.Ordinal));
    }

    [Fact]
    public void Unsupported_parts_are_errors_that_name_the_key_and_what_is_supported()
    {
        using var tmp = Images();
        File.WriteAllText(tmp.File("val.txt"), "r.png 0\n");
        var problems = Problems(tmp, Config(
            "      - name: voc\n        data_source: val\n        reader: lmdb_reader\n" +
            "        annotation_conversion:\n          converter: cityscapes\n          masks_folder: ann\n" +
            "        preprocessing:\n          - type: free_form_mask\n            size: 300\n          - type: resize\n            size: 300\n            aspect_ratio_scale: ctpn_keep_aspect_ratio\n" +
            "        postprocessing:\n          - type: extend_segmentation_mask\n" +
            "        metrics:\n          - type: dice\n",
            "      - framework: onnx_runtime\n        model: m.onnx\n        adapter: super_resolution\n"));
        Assert.Contains(problems, p => p.StartsWith("models[0].launchers[0].adapter", StringComparison.Ordinal) && p.Contains("'super_resolution'", StringComparison.Ordinal) && p.Contains("classification", StringComparison.Ordinal) && p.Contains("segmentation", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("models[0].datasets[0].reader", StringComparison.Ordinal) && p.Contains("lmdb_reader", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("models[0].datasets[0].annotation_conversion.converter", StringComparison.Ordinal) && p.Contains("imagenet", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("models[0].datasets[0].annotation_conversion.masks_folder", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("models[0].datasets[0].preprocessing[0].type", StringComparison.Ordinal) && p.Contains("Supported steps: resize", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("models[0].datasets[0].preprocessing[1].aspect_ratio_scale", StringComparison.Ordinal) && p.Contains("greater", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("models[0].datasets[0].postprocessing[0].type", StringComparison.Ordinal) && p.Contains("resize_prediction_boxes, faster_rcnn_postprocessing_resize, clip_boxes, nms, class_aware_nms, diou_nms, filter", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("models[0].datasets[0].metrics[0].type", StringComparison.Ordinal) && p.Contains("'dice'", StringComparison.Ordinal) && p.Contains("mean_iou", StringComparison.Ordinal));
        // Lines point into the Accuracy Checker file.
        Assert.Contains(problems, p => p.StartsWith("models[0].datasets[0].reader (line 10)", StringComparison.Ordinal));
    }

    [Fact]
    public void Problems_of_the_translated_engine_keep_Accuracy_Checker_key_paths_and_lines()
    {
        using var tmp = Images();
        var problems = Problems(tmp, Config(
            "      - name: imagenet\n        data_source: missing\n" +
            "        annotation_conversion:\n          converter: imagenet\n          annotation_file: val.txt\n        metrics:\n          - type: accuracy\n"));
        Assert.Contains(problems, p => p.StartsWith("models[0].datasets[0].data_source (line 9)", StringComparison.Ordinal) && p.Contains("missing", StringComparison.Ordinal));
    }

    [Fact]
    public void Of_Open_Model_Zoos_entries_for_several_frameworks_the_onnx_runtime_one_is_read_and_named()
    {
        using var tmp = Images();
        File.WriteAllText(tmp.File("val.txt"), "r.png 0\n");
        string Entry(string name, string framework, string steps) =>
            $"  - name: {name}\n    launchers:\n      - framework: {framework}\n        adapter: classification\n    datasets:\n" +
            ImageNetDataset + "        preprocessing:\n" + steps + "        metrics:\n          - type: accuracy\n";
        // The IR's entry first: its preprocessing leaves out the normalization Model Optimizer folded into the model.
        string ir = Entry("m", "dlsdk", "          - {type: resize, size: 2}\n");
        string onnx = Entry("m", "onnx_runtime", "          - {type: resize, size: 2}\n          - {type: normalization, std: 255}\n");
        var engine = Load(tmp, "models:\n" + ir + onnx);
        Assert.IsType<NormalizationStep>(engine.Datasets.Single().Image!.Steps.Last());
        Assert.Contains("models: models[1] (m: onnx_runtime) is read, the first for onnx_runtime, of models[0] (m: dlsdk), models[1] (m: onnx_runtime)", engine.Warnings.Single(), StringComparison.Ordinal);
        // Problems of the entry read stand at its key path.
        var problems = Problems(tmp, "models:\n" + ir + onnx.Replace("type: accuracy", "type: accuracyy", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("models[1].datasets[0].metrics[0]", StringComparison.Ordinal));

        // Without one, the entry of the framework the model comes from: an ONNX export of it expects that preprocessing.
        string caffe = Entry("m-cf", "caffe", "          - {type: resize, size: 2}\n          - {type: normalization, std: 255}\n");
        engine = Load(tmp, "models:\n" + ir + caffe);
        Assert.IsType<NormalizationStep>(engine.Datasets.Single().Image!.Steps.Last());
        Assert.Contains(engine.Warnings, w => w.StartsWith("models: models[1] (m-cf: caffe) is read, the entry of the framework the model comes from", StringComparison.Ordinal));

        // Two of those, or none, cannot be told apart.
        problems = Problems(tmp, "models:\n" + caffe + Entry("m-tf", "tf", "          - {type: resize, size: 2}\n") + ir);
        Assert.Equal("models (line 1): lists 3 models and several are for the framework an ONNX model comes from: models[0] (m-cf: caffe), models[1] (m-tf: tf), models[2] (m: dlsdk). " +
            "Keep the entry whose preprocessing fits the ONNX model, that of the framework it was exported from: OpenVINO's entries (openvino, dlsdk) leave out the normalization Model Optimizer folds into the model.", problems.Single());
        problems = Problems(tmp, "models:\n" + ir + Entry("m", "openvino", "          - {type: resize, size: 2}\n"));
        Assert.StartsWith("models (line 1): lists 2 models and none is for the framework an ONNX model comes from: models[0] (m: dlsdk), models[1] (m: openvino).", problems.Single(), StringComparison.Ordinal);
    }

    [Fact]
    public void Of_several_launchers_the_onnx_runtime_one_is_read()
    {
        using var tmp = Images();
        File.WriteAllText(tmp.File("val.txt"), "r.png 0\n");
        var engine = Load(tmp, Config(ImageNetDataset + "        metrics:\n          - type: accuracy\n",
            "      - framework: dlsdk\n        adapter: classification\n      - framework: onnx_runtime\n        adapter: {type: classification, argmax_output: true}\n"));
        Assert.True(engine.Datasets.Single().Adapter.ArgmaxOutput);
        Assert.Contains("models[0].launchers: only launchers[1] of 2 is read (onnx_runtime); the model runs on ONNX Runtime.", engine.Warnings);
    }

    [Fact]
    public void Crop_with_use_pillow_rounds_offsets_half_to_even_and_central_fraction_keeps_a_share_of_each_side()
    {
        using var tmp = Images();
        File.WriteAllText(tmp.File("val.txt"), "r.png 0\n");
        string Engine(string step) => Config(ImageNetDataset + "        preprocessing:\n" + step + "        metrics:\n          - type: accuracy\n");
        var pillow = Load(tmp, Engine("          - {type: crop, size: 224, use_pillow: true}\n")).Datasets[0].Image!.Steps.Single();
        Assert.Equal(new CenterCropStep(224, 224) { Rounding = CropRounding.HalfEven }, pillow);
        var opencv = Load(tmp, Engine("          - {type: crop, size: 224}\n")).Datasets[0].Image!.Steps.Single();
        Assert.Equal(new CenterCropStep(224, 224), opencv);
        var fraction = Load(tmp, Engine("          - {type: crop, central_fraction: 0.875}\n")).Datasets[0].Image!.Steps.Single();
        Assert.Equal(new CentralFractionStep(0.875), fraction);
        var problems = Problems(tmp, Engine("          - {type: crop, central_fraction: 0.875, size: 3}\n"));
        Assert.Contains(problems, p => p.StartsWith("models[0].datasets[0].preprocessing[0].size", StringComparison.Ordinal) && p.Contains("central_fraction", StringComparison.Ordinal));
    }

    [Fact]
    public void Pad_values_per_channel_follow_the_channel_order_of_their_step()
    {
        using var tmp = Images();
        File.WriteAllText(tmp.File("val.txt"), "r.png 0\n");
        string Engine(string reader, string steps) => Config(ImageNetDataset + $"        reader: {reader}\n        preprocessing:\n" + steps + "        metrics:\n          - type: accuracy\n");
        // Pillow reads RGB: the values are in that order.
        var rgb = (PaddingStep)Load(tmp, Engine("pillow_imread", "          - {type: padding, size: 4, pad_value: '1, 2, 3'}\n")).Datasets[0].Image!.Steps.Single();
        Assert.Equal(new float[] { 1, 2, 3 }, rgb.ChannelValues);
        // OpenCV reads BGR; after a later bgr_to_rgb the final order is RGB, so the BGR values are reversed.
        var image = Load(tmp, Engine("opencv_imread", "          - {type: padding, size: 4, pad_value: '1, 2, 3'}\n          - type: bgr_to_rgb\n")).Datasets[0].Image!;
        Assert.Equal(ColorOrder.Rgb, image.ColorOrder);
        Assert.Equal(new float[] { 3, 2, 1 }, ((PaddingStep)image.Steps.Single()).ChannelValues);
        // One value for every channel stays one.
        var same = (PaddingStep)Load(tmp, Engine("pillow_imread", "          - {type: padding, size: 4, pad_value: '114, 114, 114'}\n")).Datasets[0].Image!.Steps.Single();
        Assert.Equal((114f, null), (same.Value, same.ChannelValues));
    }
}
