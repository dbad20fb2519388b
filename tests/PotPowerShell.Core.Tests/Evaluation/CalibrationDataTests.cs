using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Requests;
using PotPowerShell.Core.Tests.Quantization;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>
/// -CalibrationDataPath: NumPy data as it is, a folder of images read as POT's simplified engine reads them, or a folder
/// of one .npy file per item read as an engine's npy_files.
/// </summary>
public class CalibrationDataTests
{
    /// <summary>x[batch, 3, 8, 8] -> Conv "stem" (3x3, 3 -> 4).</summary>
    private static string SaveModel(TempFolder tmp)
    {
        var random = new Random(5);
        var g = new GraphBuilder("stem");
        var x = g.Input("x", "batch", 3L, 8L, 8L);
        var w = Enumerable.Range(0, 4 * 3 * 9).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
        g.Output(g.Node("Conv", new[] { x, g.Initializer("w", w, 4, 3, 3, 3) }, "stem", ("pads", new[] { 1L, 1L, 1L, 1L })));
        OnnxModelFile.Save(g.Build(), tmp.File("m.onnx"));
        return tmp.File("m.onnx");
    }

    /// <summary>Three 12x10 RGB images, another size than the model's 8x8 input.</summary>
    private static string SaveImages(TempFolder tmp)
    {
        Directory.CreateDirectory(tmp.File("images"));
        for (int n = 0; n < 3; n++)
            PngFiles.Save(tmp.File($"images/{n}.png"), 12, 10, 3, Enumerable.Range(0, 12 * 10 * 3).Select(i => (byte)((i * 29 + n * 53) % 256)).ToArray());
        return tmp.File("images");
    }

    [Fact]
    public void A_folder_of_images_is_read_in_bgr_and_resized_to_the_model_input()
    {
        using var tmp = new TempFolder();
        string model = SaveModel(tmp), images = SaveImages(tmp);
        var data = CalibrationData.Open(images, model, CancellationToken.None);
        using var files = data as IDisposable;
        Assert.Equal(3, data.Count);
        var tensor = data.Get(2).Inputs.Values.Single();
        Assert.Equal(new long[] { 1, 3, 8, 8 }, tensor.Shape);
        // OpenCV's order (blue first) and a bilinear resize to 8x8, as POT's simplified engine reads a data_source.
        var decoded = ImagePipeline.Decode(File.ReadAllBytes(tmp.File("images/2.png")), 3, ColorOrder.Bgr, "");
        var expected = ImagePipeline.ToTensor(ImagePipeline.Resize(decoded, new ResizeStep(8, 8, 0, ResizeAspect.Stretch, Interpolation.Bilinear)), TensorLayout.Nchw);
        Assert.Equal(expected.ToFloats(), tensor.ToFloats());
    }

    [Fact]
    public void DefaultQuantization_calibrates_on_a_folder_of_images_as_on_the_simplified_engine_of_a_config()
    {
        using var tmp = new TempFolder();
        string model = SaveModel(tmp), images = SaveImages(tmp);
        var options = new DefaultQuantizationOptions { Threads = 1, Measurement = TestMeasurement.Int8Faster };
        var direct = DefaultQuantizationPipeline.Run(DefaultQuantizationRequest.FromPaths(model, images, options, tmp.File("direct.onnx")), null, null, CancellationToken.None);
        using (var engine = SimplifiedImageFit.ToModel(EngineDefinition.Simplified(images), model).OpenDataset())
            DefaultQuantization.Run(model, engine, options, tmp.File("engine.onnx"));
        Assert.Equal(3, direct.StatSubsetSize);
        Assert.Equal(1, direct.QuantizedLayerCount);
        Assert.Equal(File.ReadAllBytes(tmp.File("engine.onnx")), File.ReadAllBytes(tmp.File("direct.onnx")));
    }

    [Fact]
    public void A_txt_file_listing_images_is_read_as_POT_s_simplified_engine_reads_one_in_its_order()
    {
        // POT's simplified engine takes a .txt data_source: one image path per line, absolute or relative to the file.
        using var tmp = new TempFolder();
        string model = SaveModel(tmp), images = SaveImages(tmp);
        File.WriteAllText(tmp.File("list.txt"), $"images/2.png\n\n{tmp.File("images/0.png")}\nimages/1.png\n");
        var data = CalibrationData.Open(tmp.File("list.txt"), model, CancellationToken.None);
        var folder = CalibrationData.Open(images, model, CancellationToken.None);
        using (data as IDisposable)
        using (folder as IDisposable)
        {
            Assert.Equal(3, data.Count);
            // The list's order: its first item is image 2, read in BGR and resized as from the folder.
            Assert.Equal(folder.Get(2).Inputs.Values.Single().ToFloats(), data.Get(0).Inputs.Values.Single().ToFloats());
            Assert.Equal(folder.Get(0).Inputs.Values.Single().ToFloats(), data.Get(1).Inputs.Values.Single().ToFloats());
        }
        // A POT configuration's simplified engine with that data_source calibrates to the same model as the list given directly.
        var options = new DefaultQuantizationOptions { Threads = 1, Measurement = TestMeasurement.Int8Faster };
        DefaultQuantizationPipeline.Run(DefaultQuantizationRequest.FromPaths(model, tmp.File("list.txt"), options, tmp.File("direct.onnx")), null, null, CancellationToken.None);
        using (var engine = SimplifiedImageFit.ToModel(EngineResolver.Simplified("list.txt", baseFolder: tmp.Path), model).OpenDataset())
            DefaultQuantization.Run(model, engine, options, tmp.File("engine.onnx"));
        Assert.Equal(File.ReadAllBytes(tmp.File("engine.onnx")), File.ReadAllBytes(tmp.File("direct.onnx")));

        File.WriteAllText(tmp.File("missing.txt"), "images/9.png\n");
        var e = Assert.Throws<PotException>(() => CalibrationData.Open(tmp.File("missing.txt"), model, CancellationToken.None));
        Assert.Equal("ImageNotFound", e.ErrorId);
        Assert.Contains(tmp.File("images/9.png"), e.Message);
    }

    /// <summary>x[batch, H, W, C] -> Conv-free identity through Relu: a model whose input shape is all that matters here.</summary>
    private static string SaveShapeModel(TempFolder tmp, string name, params long[] itemShape)
    {
        var g = new GraphBuilder(name);
        var x = g.Input("x", new object[] { "batch" }.Concat(itemShape.Cast<object>()).ToArray());
        g.Output(g.Node("Relu", new[] { x }, "relu"));
        OnnxModelFile.Save(g.Build(), tmp.File(name + ".onnx"));
        return tmp.File(name + ".onnx");
    }

    [Fact]
    public void A_simplified_engine_s_layout_and_central_fraction_are_read_as_POT_s_image_loader_reads_them()
    {
        using var tmp = new TempFolder();
        string images = SaveImages(tmp);
        // [batch, 3, 8, 3]: NCHW by the guess (channels first is tried first); the engine says NHWC: 3 high, 8 wide.
        string model = SaveShapeModel(tmp, "nhwc", 3, 8, 3);
        File.WriteAllText(tmp.File("engine.yml"), "type: simplified\ndata_source: images\nlayout: NHWC\ncentral_fraction: 0.5\n");
        using var data = SimplifiedImageFit.ToModel(EngineDefinition.Load(tmp.File("engine.yml")), model).OpenDataset();
        var tensor = data.Get(1).Inputs.Values.Single();
        Assert.Equal(new long[] { 1, 3, 8, 3 }, tensor.Shape);
        // POT: the central int(12 * 0.5) x int(10 * 0.5) = 6 x 5 pixels, then resized to 8 x 3, channels last.
        var decoded = ImagePipeline.Decode(File.ReadAllBytes(tmp.File("images/1.png")), 3, ColorOrder.Bgr, "");
        var cropped = ImagePipeline.CenterCrop(decoded, new CenterCropStep(6, 5), "");
        var expected = ImagePipeline.ToTensor(ImagePipeline.Resize(cropped, new ResizeStep(8, 3, 0, ResizeAspect.Stretch, Interpolation.Bilinear)), TensorLayout.Nhwc);
        Assert.Equal(expected.ToFloats(), tensor.ToFloats());

        // Without the engine's layout the same model is read NCHW.
        File.WriteAllText(tmp.File("guessed.yml"), "type: simplified\ndata_source: images\n");
        using var guessed = SimplifiedImageFit.ToModel(EngineDefinition.Load(tmp.File("guessed.yml")), model).OpenDataset();
        Assert.NotEqual(tensor.ToFloats(), guessed.Get(1).Inputs.Values.Single().ToFloats());

        // Only images take them, and only a fraction above 0 and at most 1.
        NpyWriter.Save(tmp.File("x.npy"), new float[2 * 3 * 8 * 3], new long[] { 2, 3, 8, 3 }, "<f4");
        foreach (var (yaml, key) in new[] { ("data_source: x.npy\ncentral_fraction: 0.5", "central_fraction"), ("data_source: images\ncentral_fraction: 0", "central_fraction"),
                     ("data_source: images\ncentral_fraction: 1.5", "central_fraction"), ("data_source: images\nlayout: CHW", "layout") })
        {
            File.WriteAllText(tmp.File("bad.yml"), "type: simplified\n" + yaml + "\n");
            var e = Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("bad.yml")));
            Assert.Contains(key, e.Message);
        }
    }

    [Fact]
    public void A_folder_of_images_this_module_cannot_decode_or_of_class_sub_folders_says_so()
    {
        using var tmp = new TempFolder();
        string model = SaveModel(tmp);
        Directory.CreateDirectory(tmp.File("tiff"));
        File.WriteAllBytes(tmp.File("tiff/0.tif"), new byte[] { 0x49, 0x49, 0x2A, 0 });
        var e = Assert.Throws<PotException>(() => CalibrationData.Open(tmp.File("tiff"), model, CancellationToken.None));
        Assert.Equal("DatasetEmpty", e.ErrorId);
        Assert.Contains("It holds .tif images, which this module does not decode: convert them to PNG (lossless), JPEG or BMP.", e.Message);

        string images = SaveImages(tmp);
        Directory.CreateDirectory(tmp.File("classes"));
        Directory.Move(images, tmp.File("classes/cat"));
        e = Assert.Throws<PotException>(() => CalibrationData.Open(tmp.File("classes"), model, CancellationToken.None));
        Assert.Contains("Its images are in sub-folders", e.Message);
        File.WriteAllText(tmp.File("engine.yml"), "type: simplified\ndata_source: classes\n");
        var engine = Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("engine.yml")).OpenDataset().Dispose());
        Assert.Equal("DatasetEmpty", engine.ErrorId);
        Assert.Contains("Its images are in sub-folders", engine.Message);
    }

    [Fact]
    public void A_pattern_in_the_file_name_selects_as_POT_s_data_source_and_a_configuration_s_do()
    {
        using var tmp = new TempFolder();
        string model = SaveModel(tmp), images = SaveImages(tmp);
        File.WriteAllText(tmp.File("images/notes.txt"), "not an image");
        string pattern = Path.Combine(images, "*.png");
        Assert.Equal(pattern, RequestFiles.RequireCalibrationData(pattern));
        var data = CalibrationData.Open(pattern, model, CancellationToken.None);
        var folder = CalibrationData.Open(images, model, CancellationToken.None);
        using (data as IDisposable)
        using (folder as IDisposable)
        {
            Assert.Equal(3, data.Count);
            Assert.Equal(folder.Get(2).Inputs.Values.Single().ToFloats(), data.Get(2).Inputs.Values.Single().ToFloats());
        }
        // The rules of a configuration's pattern: the matching images; a mixture of kinds is refused.
        var one = CalibrationData.Open(Path.Combine(images, "1*.png"), model, CancellationToken.None);
        using (one as IDisposable) Assert.Equal(1, one.Count);
        var e = Assert.Throws<PotException>(() => CalibrationData.Open(Path.Combine(images, "*.*"), model, CancellationToken.None));
        Assert.Equal("EngineDataPatternInvalid", e.ErrorId);
        Assert.StartsWith("CalibrationDataPath: the pattern", e.Message);
        var missing = Assert.Throws<PotException>(() => RequestFiles.RequireCalibrationData(tmp.File("nowhere/*.png")));
        Assert.Equal("CalibrationDataNotFound", missing.ErrorId);
    }

    [Fact]
    public void A_folder_of_images_with_labels_npy_beside_them_calibrates_on_the_images_and_says_what_to_write_for_evaluation()
    {
        // Calibration reads no labels: the images are the data (it was "holds no input arrays", the folder taken for NumPy data).
        using var tmp = new TempFolder();
        string model = SaveModel(tmp), images = SaveImages(tmp);
        NpyWriter.Save(Path.Combine(images, "labels.npy"), new long[] { 0, 1, 2 }, new long[] { 3 }, "<i8");
        var data = CalibrationData.Open(images, model, CancellationToken.None);
        using (data as IDisposable) Assert.Equal(3, data.Count);
        // As a data path it would be labelled data, which images read as POT's simplified engine are not: the error says what to write.
        var e = Assert.Throws<PotException>(() => MeasurementPipeline.Open(new MeasurementRequest { Engine = EngineSource.FromPaths(null, images), WarmupRuns = 0 }, null));
        Assert.Equal("EngineInvalid", e.ErrorId);
        Assert.Contains("It holds images, read as NumPy data for its .npy file: for labelled images write an engine file (format: images, labels: labels.npy", e.Message);
    }

    [Fact]
    public void A_text_file_above_the_size_limit_is_refused_before_it_is_read()
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("labels.txt"), new string('7', 100) + "\n");
        Assert.Single(TextFiles.ReadLines(tmp.File("labels.txt"), 101));
        var e = Assert.Throws<PotException>(() => TextFiles.ReadLines(tmp.File("labels.txt"), 100));
        Assert.Equal("TextFileTooLarge", e.ErrorId);
    }

    /// <summary>
    /// ids[batch, seq] (int64) -> Gather from a [50, 6] table (times weights[batch, seq, 1] when <paramref name="weighted"/>)
    /// -> MatMul "proj" (6 -> 4): sentences of any length.
    /// </summary>
    private static string SaveSequenceModel(TempFolder tmp, bool weighted = false)
    {
        var random = new Random(6);
        var g = new GraphBuilder("sequence");
        var ids = g.Input("ids", global::Onnx.TensorProto.Types.DataType.Int64, "batch", "seq");
        var table = g.Initializer("table", Enumerable.Range(0, 300).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray(), 50, 6);
        var embedded = g.Node("Gather", new[] { table, ids }, "embed");
        if (weighted) embedded = g.Node("Mul", new[] { embedded, g.Input("weights", "batch", "seq", 1L) }, "weigh");
        g.Output(g.Node("MatMul", new[] { embedded, g.Initializer("w", Enumerable.Range(0, 24).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray(), 6, 4) }, "proj"));
        string path = tmp.File(weighted ? "weighted.onnx" : "seq.onnx");
        OnnxModelFile.Save(g.Build(), path);
        return path;
    }

    [Fact]
    public void A_folder_of_one_npy_file_per_item_is_read_as_an_engine_reads_npy_files_items_of_several_lengths()
    {
        // Six sentences of 3 to 8 token ids, a file each: no file is named after the model's one input ('ids').
        using var tmp = new TempFolder();
        string model = SaveSequenceModel(tmp);
        Directory.CreateDirectory(tmp.File("sentences"));
        for (int n = 0; n < 6; n++)
            NpyWriter.Save(tmp.File($"sentences/{n:00}.npy"), Enumerable.Range(0, 3 + n).Select(i => (long)((i * 7 + n) % 50)).ToArray(), new long[] { 3 + n }, "<i8");
        var data = CalibrationData.Open(tmp.File("sentences"), model, CancellationToken.None);
        using (data as IDisposable)
        {
            Assert.Equal(6, data.Count);
            Assert.Equal(new long[] { 1, 5 }, data.Get(2).Inputs.Values.Single().Shape);
        }

        var options = new DefaultQuantizationOptions { Threads = 1, Measurement = TestMeasurement.Int8Faster };
        var direct = DefaultQuantizationPipeline.Run(DefaultQuantizationRequest.FromPaths(model, tmp.File("sentences"), options, tmp.File("direct.onnx")), null, null, CancellationToken.None);
        File.WriteAllText(tmp.File("engine.yml"), "dataset:\n  data_source: sentences\n  format: npy_files\n");
        using (var engine = EngineDefinition.Load(tmp.File("engine.yml")).OpenDataset())
            DefaultQuantization.Run(model, engine, options, tmp.File("engine.onnx"));
        Assert.Equal(1, direct.QuantizedLayerCount);
        Assert.Equal(File.ReadAllBytes(tmp.File("engine.onnx")), File.ReadAllBytes(tmp.File("direct.onnx")));
    }

    [Fact]
    public void A_folder_of_npy_files_saved_from_a_batch_of_one_holds_an_item_each_and_batches_on_the_model_s_axis()
    {
        // Five items of the stem's input, once as one array x.npy [5, 3, 8, 8] and once as a file each of [1, 3, 8, 8]
        // (a tensor of batch one saved as it is), which was refused for naming no model input.
        using var tmp = new TempFolder();
        string model = SaveModel(tmp);
        var random = new Random(9);
        var x = Enumerable.Range(0, 5 * 192).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        Directory.CreateDirectory(tmp.File("array"));
        Directory.CreateDirectory(tmp.File("items"));
        NpyWriter.Save(tmp.File("array/x.npy"), x, new long[] { 5, 3, 8, 8 }, "<f4");
        for (int n = 0; n < 5; n++)
            NpyWriter.Save(tmp.File($"items/{n:00}.npy"), x[(n * 192)..((n + 1) * 192)], new long[] { 1, 3, 8, 8 }, "<f4");
        NpyWriter.Save(tmp.File("targets.npy"), new float[5 * 256], new long[] { 5, 4, 8, 8 }, "<f4");
        // Calibrated in one batch after the first item, as the array is, with the same ranges.
        var prepared = ModelPreparation.Prepare(OnnxModelFile.Load(model));
        var request = new PotPowerShell.Core.Calibration.CalibrationRequest { RangeTensors = QdqEmitter.TensorsToCalibrate(prepared, new HashSet<string>()), Threads = 1 };
        PotPowerShell.Core.Calibration.CalibrationStatistics Calibrate(string folder)
        {
            var data = CalibrationData.Open(tmp.File(folder), model, CancellationToken.None);
            using (data as IDisposable)
            {
                Assert.Equal(5, data.Count);
                return PotPowerShell.Core.Calibration.ActivationCollector.Collect(prepared, data, Enumerable.Range(0, 5).ToArray(), request, null, CancellationToken.None);
            }
        }
        var fromArray = Calibrate("array");
        var fromItems = Calibrate("items");
        Assert.Equal(4, fromItems.BatchSize);
        Assert.Equal(fromArray.Ranges.OrderBy(kv => kv.Key), fromItems.Ranges.OrderBy(kv => kv.Key));

        // Evaluated five at a time, each item's mean squared output is what ONNX Runtime gives for the same item of the array.
        double[] PerItem(string source, string format)
        {
            File.WriteAllText(tmp.File("engine.yml"), $"metrics:\n  - type: mse\ndataset:\n  data_source: {source}\n  format: {format}\n  labels: targets.npy\nbatch_size: 5\n");
            using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
            var result = evaluator.Evaluate(File.ReadAllBytes(model), null, CancellationToken.None);
            Assert.False(result.BatchFallback); // a batch of five ran, not one item after another
            return result.PerItem["mse"].ToArray();
        }
        var expected = PerItem("array", "npy");
        Assert.Equal(5, expected.Distinct().Count());
        Assert.Equal(expected, PerItem("items", "npy_files"));

        var options = new DefaultQuantizationOptions { Threads = 1, Measurement = TestMeasurement.Int8Faster };
        DefaultQuantizationPipeline.Run(DefaultQuantizationRequest.FromPaths(model, tmp.File("items"), options, tmp.File("items.onnx")), null, null, CancellationToken.None);
        DefaultQuantizationPipeline.Run(DefaultQuantizationRequest.FromPaths(model, tmp.File("array"), options, tmp.File("array.onnx")), null, null, CancellationToken.None);
        Assert.Equal(File.ReadAllBytes(tmp.File("array.onnx")), File.ReadAllBytes(tmp.File("items.onnx")));
    }

    [Fact]
    public void A_folder_of_npz_items_feeds_a_model_with_several_inputs_items_of_several_lengths_with_their_labels()
    {
        // ids [batch, seq] (int64) and weights [batch, seq, 1]: Gather from a [50, 6] table, times the weight, MatMul 6 -> 4.
        // Five items of 3 to 7 tokens, an .npz each with both inputs and 'labels' (targets [seq, 4], zeros).
        using var tmp = new TempFolder();
        var model = OnnxModelFile.Load(SaveSequenceModel(tmp, weighted: true));
        Directory.CreateDirectory(tmp.File("items"));
        var expected = new List<double>();
        for (int n = 0; n < 5; n++)
        {
            int length = 3 + n;
            var tokens = Enumerable.Range(0, length).Select(i => (long)((i * 7 + n) % 50)).ToArray();
            var w = Enumerable.Range(0, length).Select(i => 0.5f + i % 3).ToArray();
            NpyWriter.SaveNpz(tmp.File($"items/{n:00}.npz"), new Dictionary<string, TensorData>
            {
                ["ids"] = new(TensorElementKind.Int64, new long[] { length }, tokens),
                ["weights"] = TensorData.FromFloats(w, length, 1),
                ["labels"] = TensorData.FromFloats(new float[length * 4], length, 4),
            });
            // The mean squared output of the item alone, from ONNX Runtime.
            var y = OrtTestRunner.RunTensors(model, new Dictionary<string, TensorData>
            {
                ["ids"] = new(TensorElementKind.Int64, new long[] { 1, length }, tokens),
                ["weights"] = TensorData.FromFloats(w, 1, length, 1),
            }).Single();
            expected.Add(y.Select(v => (double)v * v).Average());
        }

        var data = CalibrationData.Open(tmp.File("items"), tmp.File("weighted.onnx"), CancellationToken.None);
        using (data as IDisposable)
        {
            Assert.Equal(5, data.Count);
            Assert.Equal(new[] { "ids", "weights" }, data.InputNames.OrderBy(n => n, StringComparer.Ordinal));
            Assert.Equal(new long[] { 1, 5, 1 }, data.Get(2).Inputs["weights"].Shape);
        }
        var options = new DefaultQuantizationOptions { Threads = 1, Precision = PrecisionMode.AllInt8 };
        var result = DefaultQuantizationPipeline.Run(DefaultQuantizationRequest.FromPaths(tmp.File("weighted.onnx"), tmp.File("items"), options, tmp.File("weighted.int8.onnx")), null, null, CancellationToken.None);
        Assert.Equal(1, result.QuantizedLayerCount);

        // Evaluated by an engine that names the folder alone: each item's labels are its own 'labels' array.
        File.WriteAllText(tmp.File("engine.yml"), "metrics:\n  - type: mse\ndataset:\n  data_source: items\n");
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
        var measured = evaluator.Evaluate(File.ReadAllBytes(tmp.File("weighted.onnx")), null, CancellationToken.None).PerItem["mse"];
        Assert.Equal(expected.Select(v => Math.Round(v, 6)), measured.Select(v => Math.Round(v, 6)));

        // One archive alone is the arrays of every item (here two sentences of four tokens), as if its path were given.
        Directory.CreateDirectory(tmp.File("one"));
        NpyWriter.SaveNpz(tmp.File("one/all.npz"), new Dictionary<string, TensorData>
        {
            ["ids"] = new(TensorElementKind.Int64, new long[] { 2, 4 }, new long[] { 1, 2, 3, 4, 5, 6, 7, 8 }),
            ["weights"] = TensorData.FromFloats(Enumerable.Repeat(1f, 8).ToArray(), 2, 4, 1),
        });
        foreach (var one in new[] { CalibrationData.Open(tmp.File("one"), tmp.File("weighted.onnx"), CancellationToken.None), EngineDefinition.FromDataPath(tmp.File("one")).OpenDataset() })
            using (one as IDisposable)
            {
                Assert.Equal(2, one.Count);
                Assert.Equal(new long[] { 1, 4 }, one.Get(1).Inputs["ids"].Shape);
            }
    }

    [Fact]
    public void A_folder_with_npy_files_is_numpy_data_and_one_with_neither_keeps_the_numpy_error()
    {
        using var tmp = new TempFolder();
        string model = SaveModel(tmp), images = SaveImages(tmp);
        NpyWriter.Save(Path.Combine(images, "x.npy"), new float[2 * 3 * 8 * 8], new long[] { 2, 3, 8, 8 }, "<f4");
        var data = CalibrationData.Open(images, model, CancellationToken.None);
        using (data as IDisposable) Assert.Equal(2, data.Count);
        Directory.CreateDirectory(tmp.File("empty"));
        var e = Assert.Throws<PotException>(() => CalibrationData.Open(tmp.File("empty"), model, CancellationToken.None));
        Assert.Equal("DatasetEmpty", e.ErrorId);
    }
}
