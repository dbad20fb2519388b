using Google.Protobuf;
using Onnx;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Runtime;
using PotPowerShell.Core.Tests.AccuracyAware;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.Runtime;

/// <summary>
/// <see cref="SyntheticModels.EmbeddingClassifier"/>: its 1 MB token table and, once quantized, its INT8 weights are the
/// kinds of initializer runs share; the position table (constant indices: ONNX Runtime folds that Gather), the float fc
/// weights (read by graph optimizations) and the quantization scales are not.
/// </summary>
public sealed class SharedInitializersTests : IDisposable
{
    private const long TableBytes = 2048 * 128 * 4;
    private readonly TempFolder _folder = new();
    private readonly string _modelPath;

    public SharedInitializersTests()
    {
        _modelPath = _folder.File("embedding.onnx");
        SyntheticModels.SaveEmbeddingClassifier(_modelPath);
        SyntheticModels.SaveTokenIds(_folder.File("validation"), 60, seed: 1);
        SyntheticModels.SaveTokenIds(_folder.File("calibration"), 60, seed: 2);
        File.WriteAllText(_folder.File("engine.yml"), "metrics:\n  - type: cosine_similarity\n    reference: fp32\ndataset:\n  data_source: validation\n");
    }

    public void Dispose() => _folder.Dispose();

    private QuantizedModelBuilder Builder(string? modelPath = null)
    {
        using var calibration = NpyDataset.Open(_folder.File("calibration"));
        return QuantizedModelBuilder.Create(modelPath ?? _modelPath, calibration, new DefaultQuantizationOptions { Precision = PrecisionMode.AllInt8 });
    }

    /// <summary>The classifier with 640 hidden units: fc1's INT8 weight holds 80 KB, above <see cref="SharedInitializers.MinimumBytes"/>.</summary>
    private string WideModel()
    {
        string path = _folder.File("wide.onnx");
        OnnxModelFile.Save(SyntheticModels.EmbeddingClassifier(hidden: 640), path);
        return path;
    }

    private Evaluator NewEvaluator(QuantizedModelBuilder builder) =>
        new(EngineDefinition.Load(_folder.File("engine.yml")), new EvaluatorOptions { ReferenceModel = builder.FloatModel.ToByteArray() });

    [Fact]
    public void Only_a_large_table_read_by_gather_with_computed_indices_is_shared()
    {
        var model = OnnxModelFile.Load(_modelPath);
        using (var large = SharedInitializers.Find(model))
            Assert.Equal(new[] { "token_table" }, large!.Names);
        // Whatever their size: the position table's indices are constant (ORT folds that Gather), the fc weights are Gemm's.
        using (var any = SharedInitializers.Find(model, minimumBytes: 1))
        {
            Assert.Equal(new[] { "token_table" }, any!.Names);
            Assert.Equal(TableBytes, any.Bytes);
        }
        Assert.Null(SharedInitializers.Find(model, minimumBytes: TableBytes + 1));
    }

    [Fact]
    public void The_quantized_weights_read_only_by_dequantize_linear_are_shared_too()
    {
        var quantized = Builder().Build(new HashSet<string>());
        var dequantized = quantized.Graph.Node.Where(n => n.OpType == "DequantizeLinear").Select(n => n.Input[0]).ToHashSet();
        var integers = quantized.Graph.Initializer.Where(t => dequantized.Contains(t.Name) && t.DataType is (int)TensorProto.Types.DataType.Int8
            or (int)TensorProto.Types.DataType.Uint8 or (int)TensorProto.Types.DataType.Int32).Select(t => t.Name).ToList();
        // Both Gemms' weight and bias codes (their scales and zero points are other inputs of DequantizeLinear).
        Assert.Equal(4, integers.Count);
        Assert.All(integers, n => Assert.Matches("_(weight|bias)_quantized", n));
        using (var any = SharedInitializers.Find(quantized, minimumBytes: 1))
        {
            Assert.Equal(integers.Append("token_table").Order(StringComparer.Ordinal), any!.Names.Order(StringComparer.Ordinal));
            Assert.Equal(new[] { "token_table" }, any.Lookups);
        }
        // At the default size only the table: the Gemm weights here hold 4 KB.
        using (var large = SharedInitializers.Find(quantized))
            Assert.Equal(new[] { "token_table" }, large!.Names);
    }

    [Fact]
    public void A_model_without_its_table_evaluates_as_the_whole_model_and_is_left_unchanged()
    {
        var builder = Builder();
        var candidate = builder.Build(new HashSet<string> { builder.Layers[0].Node });
        var whole = candidate.ToByteArray();
        using var evaluator = NewEvaluator(builder);
        var tables = evaluator.ShareInitializers(builder.FloatModel)!;
        var light = tables.Serialize(candidate);

        Assert.Equal(whole, candidate.ToByteArray());
        Assert.True(light.Length < whole.Length - TableBytes + 4096, $"{light.Length} bytes against {whole.Length}");
        Assert.Equal(whole, tables.Whole(light));
        Assert.Null(tables.Whole(whole));
        var shared = evaluator.Evaluate(light, null, CancellationToken.None);
        var loaded = evaluator.Evaluate(whole, null, CancellationToken.None);
        Assert.Equal(loaded.PerItem["cosine_similarity"], shared.PerItem["cosine_similarity"]);
        Assert.Equal(0, evaluator.WholeLoads);

        // A model whose table differs keeps its own: nothing is shared with it, and it evaluates as itself.
        var changed = candidate.Clone();
        var table = changed.Graph.Initializer.Single(t => t.Name == "token_table");
        var data = table.RawData.ToByteArray();
        data[0] ^= 0x40;
        table.RawData = ByteString.CopyFrom(data);
        var changedBytes = tables.Serialize(changed);
        Assert.Equal(changed.ToByteArray(), changedBytes);
        Assert.Null(tables.Whole(changedBytes));
        Assert.Equal(evaluator.Evaluate(changed.ToByteArray(), null, CancellationToken.None).PerItem["cosine_similarity"],
            evaluator.Evaluate(changedBytes, null, CancellationToken.None).PerItem["cosine_similarity"]);
    }

    [Fact]
    public void A_model_onnx_runtime_cannot_load_without_its_table_is_loaded_whole()
    {
        var builder = Builder();
        var candidate = builder.Build(new HashSet<string>());
        using var evaluator = NewEvaluator(builder);
        var tables = evaluator.ShareInitializers(builder.FloatModel)!;
        // Bytes that name the table in a file that does not exist: ONNX Runtime refuses them as it would refuse a table
        // an optimization reads.
        var light = tables.Serialize(candidate);
        var broken = ModelProto.Parser.ParseFrom(light);
        var location = broken.Graph.Initializer.Single(t => t.Name == "token_table").ExternalData.Single(e => e.Key == "location");
        location.Value = "missing".PadRight(location.Value.Length, '-');
        var brokenBytes = broken.ToByteArray();
        using (var other = NewEvaluator(builder))
            Assert.Throws<PotException>(() => other.Evaluate(brokenBytes, null, CancellationToken.None));

        var expected = evaluator.Evaluate(candidate.ToByteArray(), null, CancellationToken.None);
        var reloaded = evaluator.Evaluate(Registered(tables, light, brokenBytes), null, CancellationToken.None);
        Assert.Equal(1, evaluator.WholeLoads);
        Assert.Equal(expected.PerItem["cosine_similarity"], reloaded.PerItem["cosine_similarity"]);
    }

    /// <summary>
    /// <paramref name="bytes"/> in place of <paramref name="light"/> (same length): the tables take it for the model
    /// they serialized, as they take <paramref name="light"/>.
    /// </summary>
    private static byte[] Registered(SharedInitializers tables, byte[] light, byte[] bytes)
    {
        Assert.Equal(light.Length, bytes.Length);
        bytes.CopyTo(light, 0);
        return light;
    }

    [Fact]
    public void An_accuracy_aware_run_with_shared_tables_takes_the_path_and_gives_the_model_of_one_without()
    {
        var builder = Builder(WideModel());
        // A limit only FP32 meets: every layer is ranked and tried, and the backward pass runs.
        var options = new AccuracyAwareOptions { MaximalDrop = 1e-9, Quantization = builder.Setup.Options };
        using var plainEvaluator = NewEvaluator(builder);
        var plain = new AccuracyAwareQuantizer(options).Run(builder, new PassThroughEvaluator(plainEvaluator));
        using var sharingEvaluator = NewEvaluator(builder);
        var sharing = new AccuracyAwareQuantizer(options).Run(builder, sharingEvaluator);

        Assert.Contains("Initializers shared by every candidate's ONNX Runtime session instead of loaded with each (1.1305 MB): lookup tables token_table; quantized weights 1.", sharing.Result.Log);
        Assert.DoesNotContain(plain.Result.Log, l => l.StartsWith("Initializers shared", StringComparison.Ordinal));
        Assert.Equal(0, sharingEvaluator.WholeLoads);
        Assert.True(plain.Result.Evaluations > builder.Layers.Count, $"{plain.Result.Evaluations} evaluations");
        Assert.Equal(plain.Result.Iterations, sharing.Result.Iterations);
        Assert.Equal(plain.Result.Metrics, sharing.Result.Metrics);
        Assert.Equal(plain.Result.Inferences, sharing.Result.Inferences);
        Assert.Equal(plain.Model.ToByteArray(), sharing.Model.ToByteArray());
    }
}
