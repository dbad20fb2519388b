using Google.Protobuf;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Tests.AccuracyAware;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>
/// Evaluating the reference model itself (AccuracyAware's FP32 baseline with a reference: fp32 metric) runs it once:
/// its outputs become the references, with the values a separate reference run gives, also when several workers run it.
/// </summary>
public class OwnReferenceTests : IClassFixture<OutlierModelFixture>
{
    private readonly OutlierModel _m;

    public OwnReferenceTests(OutlierModelFixture fixture) => _m = fixture.Model;

    private (byte[] Float, byte[] Int8) Models()
    {
        using var calibration = NpyDataset.Open(_m.CalibrationPath);
        var builder = QuantizedModelBuilder.Create(_m.ModelPath, calibration, new DefaultQuantizationOptions { Precision = PrecisionMode.AllInt8 });
        return (builder.FloatModel.ToByteArray(), builder.Build(new HashSet<string>()).ToByteArray());
    }

    private Evaluator NewEvaluator(byte[] reference, string batch, int workers = 1)
    {
        string engine = _m.File($"own-reference-{batch}.yml");
        File.WriteAllText(engine, $"batch_size: {batch}\nmetrics:\n  - type: cosine_similarity\n    reference: fp32\n  - type: accuracy\ndataset:\n  data_source: validation\n");
        return new Evaluator(EngineDefinition.Load(engine), new EvaluatorOptions { ReferenceModel = reference, Workers = workers });
    }

    [Theory]
    [InlineData("1", 1)]
    [InlineData("16", 1)]
    [InlineData("1", 3)]
    [InlineData("16", 2)]
    public void The_reference_model_evaluated_first_is_its_own_reference_with_the_values_of_a_separate_run(string batch, int workers)
    {
        var (fp32, int8) = Models();
        using var own = NewEvaluator(fp32, batch, workers);
        var ownFloat = own.Evaluate(fp32.ToArray(), null, CancellationToken.None);
        Assert.Equal(0, own.ReferenceInferences);
        var ownInt8 = own.Evaluate(int8, null, CancellationToken.None);
        Assert.Equal(0, own.ReferenceInferences);

        // The other order computes the references in a run of their own first.
        using var separate = NewEvaluator(fp32, batch);
        var separateInt8 = separate.Evaluate(int8, null, CancellationToken.None);
        Assert.Equal(200, separate.ReferenceInferences);
        var separateFloat = separate.Evaluate(fp32, null, CancellationToken.None);

        Assert.Equal(separateFloat.Values, ownFloat.Values);
        Assert.Equal(separateFloat.PerItem["cosine_similarity"], ownFloat.PerItem["cosine_similarity"]);
        Assert.Equal(separateInt8.Values, ownInt8.Values);
        Assert.Equal(separateInt8.PerItem["cosine_similarity"], ownInt8.PerItem["cosine_similarity"]);
        Assert.True(ownInt8.Values["cosine_similarity"] < 1, "the quantized model should differ from FP32");
    }

    [Fact]
    public void Another_model_a_subset_in_another_order_or_items_with_references_run_the_reference_model()
    {
        var (fp32, int8) = Models();
        using var evaluator = NewEvaluator(fp32, "16");
        evaluator.Evaluate(fp32, new[] { 5, 3, 9 }, CancellationToken.None);
        Assert.Equal(3, evaluator.ReferenceInferences);
        // Items 3, 5 and 9 have references: this run computes the others separately, as before.
        evaluator.Evaluate(fp32, null, CancellationToken.None);
        Assert.Equal(200, evaluator.ReferenceInferences);

        using var other = NewEvaluator(fp32, "16");
        other.Evaluate(int8, new[] { 0, 1, 2 }, CancellationToken.None);
        Assert.Equal(3, other.ReferenceInferences);
    }
}
