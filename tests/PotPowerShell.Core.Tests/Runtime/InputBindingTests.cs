using Google.Protobuf;
using PotPowerShell.Core.Calibration;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Quantization.AccuracyAware;
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
        Assert.All(errors, e => Assert.Equal(PotPowerShell.Core.Runtime.InputBinding.MissingId, e.ErrorId));
        Assert.All(errors, e => Assert.Contains("'a'", e.Message));
        Assert.All(errors, e => Assert.Contains("'features'", e.Message));
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
        Assert.Equal(PotPowerShell.Core.Runtime.InputBinding.MissingId,
            Assert.Throws<PotException>(() => PotPowerShell.Core.Runtime.InputBinding.Bind(data, model, "data", "model")).ErrorId);

    [Fact]
    public void Images_for_a_model_of_several_inputs_point_to_other_inputs()
    {
        var e = Assert.Throws<PotException>(() => PotPowerShell.Core.Runtime.InputBinding.Bind(new[] { "image" }, new[] { "input_1", "image_shape" }, "images", "model"));
        Assert.Contains("name them in an engine file's dataset (other_inputs: {image_shape: image_size})", e.Message);
    }
}
