using Google.Protobuf;
using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.Core.Runtime;
using PotPowerShell.Core.Tests.Data;
using PotPowerShell.Core.Tests.Evaluation;

namespace PotPowerShell.Core.Tests.Runtime;

/// <summary>
/// Every loop that feeds data to ONNX Runtime binds it by the same rule (Runtime/InputBinding.cs): arrays feed the
/// model inputs of their names; one array feeds a model's one input, and an image folder's image the one input left.
/// </summary>
public class InputBindingTests
{
    private static readonly float[] W = { 1, 0, 0.5f, 0, 1, -1, -1, 2, 0, 0.5f, 0, 1 };

    // Three items of 4 features in 'features.npy'; the model's one input is called 'x'.
    private static TempFolder Data()
    {
        var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("d"));
        NpyWriter.Save(tmp.File("d/features.npy"), new float[] { 1, 0, 0, 0, 0, 1, 2, 0, -1, 0.5f, 0, 2 }, new long[] { 3, 4 }, "<f4");
        NpyWriter.Save(tmp.File("targets.npy"), new float[9], new long[] { 3, 3 }, "<f4");
        File.WriteAllText(tmp.File("engine.yml"), "metrics:\n  - type: mse\ndataset:\n  data_source: d\n  labels: targets.npy\n");
        return tmp;
    }

    [Fact]
    public void The_evaluator_and_the_output_error_probe_bind_one_differently_named_array_alike()
    {
        using var tmp = Data();
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
        byte[] model = TestModels.MatMul(W, 4, 3, "batch");

        var evaluated = evaluator.Run(model, new EvaluationRequest { KeepPredictions = true }, CancellationToken.None);
        Assert.Equal(3, evaluated.PerItem["mse"].Length);

        // The same data through the AccuracyAware output-error pass: the model against itself has no error.
        var errors = new OrtLayerOutputProbe(evaluator.Data).Compare(model, model, new[] { "y" }, new[] { 0, 1, 2 }, CancellationToken.None);
        Assert.Equal(new double[] { 0, 0, 0 }, errors["y"]);
    }

    [Fact]
    public void Calibration_evaluation_and_the_probe_refuse_data_that_feeds_no_input_with_one_error_id()
    {
        using var tmp = Data();
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
        // y = a + b: two inputs, and the data's one array 'features' is named after neither.
        byte[] model = TestModels.Add(4);
        var proto = global::Onnx.ModelProto.Parser.ParseFrom(model);
        var request = new CalibrationRequest { RangeTensors = new[] { "y" }, Estimator = RangeEstimatorKind.MinMax, Threads = 1 };

        var errors = new[]
        {
            Assert.Throws<PotException>(() => evaluator.Evaluate(model, null, CancellationToken.None)),
            Assert.Throws<PotException>(() => ActivationCollector.Collect(proto, evaluator.Data, new[] { 0, 1, 2 }, request, null, CancellationToken.None)),
            Assert.Throws<PotException>(() => new OrtLayerOutputProbe(evaluator.Data).Compare(model, model, new[] { "y" }, new[] { 0, 1, 2 }, CancellationToken.None)),
        };
        Assert.All(errors, e => Assert.Equal(InputBinding.MissingId, e.ErrorId));
        Assert.All(errors, e => Assert.Contains("'a'", e.Message));
        Assert.All(errors, e => Assert.Contains("'features'", e.Message));
    }

    [Theory]
    [InlineData(TensorElementKind.UInt8, new double[] { 0, 0.4, 127.5, 254.6, 255 }, new double[] { 0, 0, 128, 255, 255 })]
    [InlineData(TensorElementKind.Int8, new double[] { -128, -0.6, 126.5, 127 }, new double[] { -128, -1, 126, 127 })]
    [InlineData(TensorElementKind.Int64, new double[] { -3, 0, 9007199254740992 }, new double[] { -3, 0, 9007199254740992 })]
    [InlineData(TensorElementKind.Int32, new double[] { -2147483648, 2147483647 }, new double[] { -2147483648, 2147483647 })]
    [InlineData(TensorElementKind.Bool, new double[] { 0, 1 }, new double[] { 0, 1 })]
    [InlineData(TensorElementKind.Float16, new double[] { -65504, 0.1, double.NaN }, new double[] { -65504, 0.0999755859375, double.NaN })]
    public void Values_an_input_type_holds_convert_to_it(TensorElementKind kind, double[] values, double[] expected)
    {
        // 8-bit inputs take rounded floats (to even, as Math.Round: 127.5 -> 128, 126.5 -> 126); the rest are exact.
        var converted = InputBinding.Converted(new TensorData(TensorElementKind.Double, new long[] { values.Length }, values), kind, "x");
        Assert.Equal(kind, converted.Kind);
        Assert.Equal(expected, Enumerable.Range(0, values.Length).Select(i => TensorBytes.ValueAt(converted.Data, i)));
    }

    [Theory]
    [InlineData(TensorElementKind.UInt8, -0.3, "(0 to 255)")]
    [InlineData(TensorElementKind.UInt8, 255.5, "(0 to 255)")]
    [InlineData(TensorElementKind.Int8, 128, "(-128 to 127)")]
    [InlineData(TensorElementKind.Int64, 2.5, "(whole numbers)")]
    [InlineData(TensorElementKind.Int64, 9223372036854775808.0, "(whole numbers)")]
    [InlineData(TensorElementKind.Int32, 2147483648.0, "(whole numbers of 32 bits)")]
    [InlineData(TensorElementKind.Int32, double.NaN, "(whole numbers of 32 bits)")]
    [InlineData(TensorElementKind.Bool, 2, "(0 or 1)")]
    [InlineData(TensorElementKind.Float16, 65520, "(within ±65504)")]
    [InlineData(TensorElementKind.Float, 1e39, "")]
    public void A_value_an_input_type_cannot_hold_is_refused_with_the_input_and_the_value(TensorElementKind kind, double value, string range)
    {
        var data = new TensorData(TensorElementKind.Double, new long[] { 3 }, new[] { 0, value, 0 });
        var e = Assert.Throws<PotException>(() => InputBinding.Converted(data, kind, "ids"));
        Assert.Equal(InputBinding.TypeId, e.ErrorId);
        Assert.Contains($"Model input 'ids' takes {kind} values{(range == "" ? "" : " " + range)}, but its Double data holds {value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}", e.Message);
    }

    [Fact]
    public void Int8_data_keeps_its_sign_in_every_conversion()
    {
        // An sbyte[] also matches a byte[] pattern at run time; read as bytes, -1 would become 255.
        var data = new TensorData(TensorElementKind.Int8, new long[] { 3 }, new sbyte[] { -1, -128, 7 });
        Assert.Equal(new float[] { -1, -128, 7 }, data.ToFloats());
        Assert.Equal(new float[] { -1, -128, 7 }, (float[])InputBinding.Converted(data, TensorElementKind.Float, "x").Data);
        Assert.Equal(new sbyte[] { -1, -128, 7 }, (sbyte[])TensorBytes.Convert(TensorData.FromFloats(new float[] { -1, -128, 7 }, 3), TensorElementKind.Int8).Data);
        Assert.Contains("holds -1", Assert.Throws<PotException>(() => InputBinding.Converted(data, TensorElementKind.UInt8, "x")).Message);
    }

    [Theory]
    [InlineData(TensorElementKind.UInt8, 0, 255)]
    [InlineData(TensorElementKind.Int8, -128, 127)]
    public void Float_pixels_convert_to_8_bits_as_the_general_conversion_does(TensorElementKind kind, int low, int high)
    {
        // Halves round to even (126.5 -> 126, 127.5 -> 128 where it fits; -0.5 -> 0, -1.5 -> -2); the ends themselves fit.
        var rng = new Random(7);
        var values = Enumerable.Range(0, 1000).Select(_ => (float)(low + rng.NextDouble() * (high - low)))
            .Concat(new float[] { low, high, 126.5f, -0.5f, -1.5f, 0.5f }.Where(v => v >= low && v <= high)).ToArray();
        var floats = TensorData.FromFloats(values, values.Length);
        var viaDoubles = TensorBytes.Convert(new TensorData(TensorElementKind.Double, new long[] { values.Length }, Array.ConvertAll(values, v => (double)v)), kind);
        var converted = InputBinding.Converted(floats, kind, "image");
        Assert.Equal(kind, converted.Kind);
        Assert.Equal(Enumerable.Range(0, values.Length).Select(i => TensorBytes.ValueAt(viaDoubles.Data, i)), Enumerable.Range(0, values.Length).Select(i => TensorBytes.ValueAt(converted.Data, i)));
        var e = Assert.Throws<PotException>(() => InputBinding.Converted(TensorData.FromFloats(new[] { 1f, high + 0.75f }, 2), kind, "image"));
        Assert.Contains($"Model input 'image' takes {kind} values ({low} to {high}), but its Float data holds {(high + 0.75f).ToString("R", System.Globalization.CultureInfo.InvariantCulture)}", e.Message);
    }

    [Fact]
    public void Integers_beyond_a_narrower_integer_input_are_refused_not_wrapped()
    {
        var data = new TensorData(TensorElementKind.Int64, new long[] { 2 }, new[] { 1L, 3_000_000_000L });
        Assert.Contains("holds 3000000000", Assert.Throws<PotException>(() => InputBinding.Converted(data, TensorElementKind.Int32, "ids")).Message);
        Assert.Equal(new[] { 1, -5 }, (int[])InputBinding.Converted(new TensorData(TensorElementKind.Int64, new long[] { 2 }, new[] { 1L, -5L }), TensorElementKind.Int32, "ids").Data);
    }

    [Theory]
    [InlineData(new[] { "x" }, new[] { "features" }, "x=features")]
    [InlineData(new[] { "input_1", "image_shape" }, new[] { "image", "image_shape" }, "input_1=image image_shape=image_shape")]
    [InlineData(new[] { "a", "b" }, new[] { "a", "b", "labels" }, "a=a b=b")]
    public void Arrays_feed_the_inputs_of_their_names_and_an_image_the_one_left(string[] model, string[] data, string expected)
    {
        var map = PotPowerShell.Core.Runtime.InputBinding.Bind(data, model, "data", "model");
        Assert.Equal(expected, string.Join(" ", model.Select(i => $"{i}={map[i]}")));
    }

    [Theory]
    [InlineData(new[] { "a", "b" }, new[] { "c", "d" })]
    [InlineData(new[] { "a", "b", "c" }, new[] { "a", "d" })]
    [InlineData(new[] { "a" }, new[] { "c", "d" })]
    // A spare array is not guessed to be the one input left (position ids are no token types).
    [InlineData(new[] { "input_ids", "token_type_ids" }, new[] { "input_ids", "position_ids" })]
    public void Inputs_no_array_can_feed_are_refused(string[] model, string[] data) =>
        Assert.Equal(InputBinding.MissingId,
            Assert.Throws<PotException>(() => PotPowerShell.Core.Runtime.InputBinding.Bind(data, model, "data", "model")).ErrorId);

    [Fact]
    public void Images_for_a_model_of_several_inputs_point_to_other_inputs()
    {
        var e = Assert.Throws<PotException>(() => PotPowerShell.Core.Runtime.InputBinding.Bind(new[] { "image" }, new[] { "input_1", "image_shape" }, "images", "model"));
        Assert.Contains("name them in an engine file's dataset (other_inputs: {image_shape: image_size})", e.Message);
    }
}
