using PotPowerShell.Core.Comparison;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Tests.Evaluation;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Requests;
using PotPowerShell.Core.Results;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.Requests;

/// <summary>
/// -DataPath of Measure-PotModel and Compare-PotModel (src/PotPowerShell.Core/Evaluation/Engine/EngineDefinition.cs,
/// FromDataPath; EngineFit.cs). A folder of one .npy file per item whose files all have one length: their first axes do
/// not tell them from one array per input, so the model decides, as for -CalibrationDataPath: files a rank below its
/// one input are items (read as arrays they failed: "the labels hold 6 items but the inputs hold 4"). A folder of
/// images is read as POT's simplified engine reads it (it failed: "holds no input arrays").
/// </summary>
public class DataPathTests
{
    private static readonly float[] Features = Enumerable.Range(0, 6 * 4).Select(i => (float)Math.Sin(i * 0.7)).ToArray();
    private static readonly long[] Labels = { 0, 2, 1, 1, 0, 2 };

    /// <summary>x[batch, 4] -> MatMul "fc" (4 -> 3) -> scores; the weights at even positions scaled by <paramref name="scale"/>.</summary>
    private static string SaveModel(TempFolder tmp, string name = "fc", float scale = 1)
    {
        var g = new GraphBuilder(name);
        var x = g.Input("x", "batch", 4L);
        var w = Enumerable.Range(0, 12).Select(i => (float)Math.Cos(i * 1.3) * (i % 2 == 0 ? scale : 1)).ToArray();
        g.Output(g.Node("MatMul", new[] { x, g.Initializer("w", w, 4, 3) }, "fc"));
        OnnxModelFile.Save(g.Build(), tmp.File(name + ".onnx"));
        return tmp.File(name + ".onnx");
    }

    /// <summary>The six items as one file each ([4]: a rank below the input), and as one array 'x.npy' [6, 4]; labels.npy in both when asked.</summary>
    private static (string Items, string Array) SaveData(TempFolder tmp, string name, bool labels)
    {
        string items = tmp.File(name + "-items"), array = tmp.File(name + "-array");
        Directory.CreateDirectory(items);
        Directory.CreateDirectory(array);
        for (int n = 0; n < 6; n++) NpyWriter.Save(Path.Combine(items, $"{n:000}.npy"), Features.Skip(4 * n).Take(4).ToArray(), new long[] { 4 }, "<f4");
        NpyWriter.Save(Path.Combine(array, "x.npy"), Features, new long[] { 6, 4 }, "<f4");
        if (labels)
            foreach (var folder in new[] { items, array }) NpyWriter.Save(Path.Combine(folder, "labels.npy"), Labels, new long[] { 6 }, "<i8");
        return (items, array);
    }

    private static MeasurementRequest Request(string data) =>
        new() { Engine = EngineSource.FromPaths(null, data), WarmupRuns = 0, PerSample = true };

    [Fact]
    public void Measure_reads_a_folder_of_one_file_per_item_of_one_length_as_the_same_items_in_one_array()
    {
        using var tmp = new TempFolder();
        string model = SaveModel(tmp);
        var (items, array) = SaveData(tmp, "labelled", labels: true);

        using var byItem = MeasurementPipeline.Open(Request(items), null);
        // The model decides how the folder is read: no evaluator before the first model.
        Assert.True(EngineFit.ReadsModel(byItem.Engine));
        byItem.Prepare();
        Assert.Null(byItem.Evaluator);
        var measured = byItem.Measure(model, null, CancellationToken.None);

        using var byArray = MeasurementPipeline.Open(Request(array), null);
        byArray.Prepare();
        var expected = byArray.Measure(model, null, CancellationToken.None);

        Assert.Equal(6, measured.ItemCount);
        Assert.Equal("accuracy@top1", measured.Metrics.Single().Name);
        Assert.Equal(expected.Metrics.Single().Value, measured.Metrics.Single().Value);
        Assert.Equal(expected.Evaluation.PerItem["accuracy@top1"], measured.Evaluation.PerItem["accuracy@top1"]);
    }

    [Fact]
    public void Compare_reads_an_unlabelled_folder_of_one_file_per_item_of_one_length_against_the_reference()
    {
        using var tmp = new TempFolder();
        string model = SaveModel(tmp);
        // Another model to compare: some weights scaled, so its outputs point about the same way.
        string other = SaveModel(tmp, "other", 2);
        var (items, array) = SaveData(tmp, "unlabelled", labels: false);

        ComparisonResult Compare(string data)
        {
            using var pipeline = ComparisonPipeline.Open(new ComparisonRequest { Engine = EngineSource.FromPaths(null, data), Comparison = new ComparisonOptions { LatencyRuns = 0 } }, null);
            pipeline.UseReference(model);
            return pipeline.Compare(other, null, CancellationToken.None);
        }
        var byItem = Compare(items);
        var byArray = Compare(array);
        Assert.Equal(6, byItem.ItemCount);
        var metric = byItem.Metrics.Single();
        Assert.Equal("cosine_similarity", metric.Type);
        Assert.InRange(metric.Value, 0.5, 0.9999);
        Assert.Equal(byArray.Metrics.Single().Value, metric.Value);
    }

    [Fact]
    public void A_folder_of_arrays_named_after_the_inputs_stays_one_array_per_input()
    {
        // a[batch, 4] + b[batch, 4] -> MatMul: two inputs, so no file is an item of the one input.
        using var tmp = new TempFolder();
        var g = new GraphBuilder("sum");
        var sum = g.Node("Add", new[] { g.Input("a", "batch", 4L), g.Input("b", "batch", 4L) }, "sum");
        g.Output(g.Node("MatMul", new[] { sum, g.Initializer("w", new float[12], 4, 3) }, "fc"));
        OnnxModelFile.Save(g.Build(), tmp.File("sum.onnx"));
        Directory.CreateDirectory(tmp.File("inputs"));
        foreach (var name in new[] { "a", "b" }) NpyWriter.Save(tmp.File($"inputs/{name}.npy"), Features, new long[] { 6, 4 }, "<f4");

        var engine = EngineDefinition.FromDataPath(tmp.File("inputs"));
        var fitted = EngineFit.ToModel(engine, tmp.File("sum.onnx"));
        Assert.Equal(DatasetFormat.Npy, fitted.Datasets.Single().Format);
        using var pipeline = MeasurementPipeline.Open(Request(tmp.File("inputs")), null);
        Assert.Equal(6, pipeline.Measure(tmp.File("sum.onnx"), null, CancellationToken.None).ItemCount);
        // One .npy file besides the labels is one array: nothing for the model to decide.
        Assert.False(EngineFit.ReadsModel(EngineDefinition.FromDataPath(SaveData(tmp, "one", labels: true).Array)));
    }

    [Fact]
    public void An_engine_file_over_a_folder_of_items_without_their_format_says_to_give_it()
    {
        // An engine file says how its data is read (format npy_files is never detected there): the error says what to write.
        using var tmp = new TempFolder();
        string model = SaveModel(tmp);
        var (items, _) = SaveData(tmp, "engine", labels: true);
        File.WriteAllText(tmp.File("engine.yml"), $"dataset:\n  data_source: {items}\nadapter: classification\nmetrics:\n  - type: accuracy\n");
        using var pipeline = MeasurementPipeline.Open(new MeasurementRequest { Engine = EngineSource.FromPaths(tmp.File("engine.yml"), null), WarmupRuns = 0 }, null);
        var e = Assert.Throws<PotException>(() =>
        {
            pipeline.Prepare();
            pipeline.Measure(model, null, CancellationToken.None);
        });
        Assert.Equal("DatasetCountMismatch", e.ErrorId);
        Assert.Contains("the labels hold 6 items but the inputs hold 4. If each .npy file holds one item without the batch axis, give an engine file with 'format: npy_files' in its dataset.", e.Message);

        // Without labels the arrays are taken for inputs, and none is named after the model's.
        File.Delete(Path.Combine(items, "labels.npy"));
        File.WriteAllText(tmp.File("unlabelled.yml"), $"dataset:\n  data_source: {items}\n");
        using var unlabelled = MeasurementPipeline.Open(new MeasurementRequest { Engine = EngineSource.FromPaths(tmp.File("unlabelled.yml"), null), WarmupRuns = 0 }, null);
        unlabelled.Prepare();
        var missing = Assert.Throws<PotException>(() => unlabelled.Measure(model, null, CancellationToken.None));
        Assert.Equal("DataInputMissing", missing.ErrorId);
        Assert.Contains("If each .npy file holds one item without the batch axis, give an engine file with 'format: npy_files' in its dataset.", missing.Message);
    }

    /// <summary>x[batch, 3, 8, 8] -> Conv "stem" (3x3, 3 -> 4); the weights at even positions scaled by <paramref name="scale"/>.</summary>
    private static string SaveImageModel(TempFolder tmp, string name, float scale)
    {
        var g = new GraphBuilder(name);
        var x = g.Input("x", "batch", 3L, 8L, 8L);
        var w = Enumerable.Range(0, 4 * 3 * 9).Select(i => (float)Math.Sin(i * 0.9) * (i % 2 == 0 ? scale : 1)).ToArray();
        g.Output(g.Node("Conv", new[] { x, g.Initializer("w", w, 4, 3, 3, 3) }, "stem", ("pads", new[] { 1L, 1L, 1L, 1L })));
        OnnxModelFile.Save(g.Build(), tmp.File(name + ".onnx"));
        return tmp.File(name + ".onnx");
    }

    [Fact]
    public void A_folder_of_images_is_read_as_the_simplified_engine_reads_it_and_compared_as_the_same_tensors_in_an_array()
    {
        // Three 12x10 RGB images for an 8x8 input: read in BGR and resized to the model input, as -CalibrationDataPath
        // and POT's simplified engine read a folder of images (they failed: "holds no input arrays").
        using var tmp = new TempFolder();
        string reference = SaveImageModel(tmp, "fp32", 1), model = SaveImageModel(tmp, "other", 1.5f);
        Directory.CreateDirectory(tmp.File("images"));
        Directory.CreateDirectory(tmp.File("tensors"));
        var tensors = new List<float>();
        for (int n = 0; n < 3; n++)
        {
            PngFiles.Save(tmp.File($"images/{n}.png"), 12, 10, 3, Enumerable.Range(0, 12 * 10 * 3).Select(i => (byte)((i * 29 + n * 53) % 256)).ToArray());
            var decoded = ImagePipeline.Decode(File.ReadAllBytes(tmp.File($"images/{n}.png")), 3, ColorOrder.Bgr, "");
            tensors.AddRange(ImagePipeline.ToTensor(ImagePipeline.Resize(decoded, new ResizeStep(8, 8, 0, ResizeAspect.Stretch, Interpolation.Bilinear)), TensorLayout.Nchw).ToFloats());
        }
        NpyWriter.Save(tmp.File("tensors/x.npy"), tensors.ToArray(), new long[] { 3, 3, 8, 8 }, "<f4");

        ComparisonResult Compare(string data)
        {
            using var pipeline = ComparisonPipeline.Open(new ComparisonRequest { Engine = EngineSource.FromPaths(null, data), Comparison = new ComparisonOptions { LatencyRuns = 0 } }, null);
            pipeline.UseReference(reference);
            return pipeline.Compare(model, null, CancellationToken.None);
        }
        var byImage = Compare(tmp.File("images"));
        var byArray = Compare(tmp.File("tensors"));
        Assert.Equal(3, byImage.ItemCount);
        var metric = byImage.Metrics.Single();
        Assert.Equal("cosine_similarity", metric.Type);
        Assert.InRange(metric.Value, 0.5, 0.9999);
        Assert.Equal(byArray.Metrics.Single().Value, metric.Value);

        // Measured without labels: inference only, no metric.
        using var measuring = MeasurementPipeline.Open(new MeasurementRequest { Engine = EngineSource.FromPaths(null, tmp.File("images")), WarmupRuns = 0 }, null);
        measuring.Prepare();
        var measured = measuring.Measure(model, null, CancellationToken.None);
        Assert.Equal(3, measured.ItemCount);
        Assert.Empty(measured.Metrics);
    }
}
