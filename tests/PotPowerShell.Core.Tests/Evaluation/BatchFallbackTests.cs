using Google.Protobuf;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Tests.Warts;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>
/// A model whose graph hard-codes batch 1 behind a dynamic batch axis: ONNX Runtime refuses a batch of several items,
/// so the evaluator runs that batch again one item at a time and keeps batch 1 for the rest, as calibration does.
/// </summary>
public class BatchFallbackTests
{
    private const int Items = 11;

    private static (TempFolder Folder, byte[] Model) Setup(int? batchSize)
    {
        var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("d"));
        var x = WartModels.Floats(3, Items, new long[] { 3, 8, 8 });
        NpyWriter.Save(tmp.File("d/x.npy"), (float[])x.Data, x.Shape, "<f4");
        NpyWriter.Save(tmp.File("d/labels.npy"), Enumerable.Range(0, Items).Select(i => (long)(i % 5)).ToArray(), new long[] { Items }, "<i8");
        File.WriteAllText(tmp.File("engine.yml"),
            (batchSize is int size ? $"batch_size: {size}\n" : "") + "metrics:\n  - type: accuracy\n  - type: cosine_similarity\n    reference: fp32\ndataset:\n  data_source: d\n");
        return (tmp, WartModels.HardCodedBatch1().ToByteArray());
    }

    private static EvaluationResult Evaluate(TempFolder tmp, byte[] model, byte[] reference)
    {
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")), new EvaluatorOptions { ReferenceModel = reference });
        return evaluator.Run(model, new EvaluationRequest { KeepPredictions = true }, CancellationToken.None);
    }

    [Fact]
    public void The_batch_size_probe_chooses_1_where_a_batch_of_several_cannot_run_and_says_why()
    {
        var (tmp, model) = Setup(batchSize: null);
        using var _ = tmp;
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")), new EvaluatorOptions { ReferenceModel = model });
        var choice = evaluator.ChooseBatchSize(model, CancellationToken.None);
        Assert.NotNull(choice);
        Assert.Equal(1, choice.Chosen);
        Assert.StartsWith("ONNX Runtime failed to run", choice.Refusal);
        Assert.StartsWith("Evaluation batch size 1: on 11 items, a batch of several could not run: ONNX Runtime failed to run", choice.Describe());
        // The evaluations after it run one item per inference from their first batch, with the values of a fallback.
        var r = evaluator.Run(model, new EvaluationRequest(), CancellationToken.None);
        Assert.False(r.BatchFallback);
        Assert.Equal(Enumerable.Repeat(1, Items), r.BatchItems);
        var (tmp4, _) = Setup(batchSize: 4);
        using var __ = tmp4;
        Assert.Equal(Evaluate(tmp4, model, model).PerItem["cosine_similarity"], r.PerItem["cosine_similarity"]);
    }

    [Fact]
    public void A_refused_batch_is_run_again_item_by_item_and_the_rest_too()
    {
        var (tmp, model) = Setup(batchSize: 4);
        using var _ = tmp;
        // The reference (other weights, also batch 1 only) differs from the model, so the similarity is not trivially 1.
        var reference = WartModels.HardCodedBatch1(seed: 2).ToByteArray();

        var r = Evaluate(tmp, model, reference);
        Assert.True(r.BatchFallback);
        Assert.StartsWith("ONNX Runtime failed to run", r.BatchFallbackReason);
        Assert.Contains("on a batch of 4 items", r.BatchFallbackReason);
        Assert.Equal(1, r.BatchSize);
        Assert.Equal(Items, r.Inferences); // the refused batch is not counted
        Assert.Equal(Enumerable.Repeat(1, Items), r.BatchItems);

        // Exactly what an engine with batch_size 1 gives, item for item.
        var (tmp1, _) = Setup(batchSize: 1);
        using var __ = tmp1;
        var one = Evaluate(tmp1, model, reference);
        Assert.False(one.BatchFallback);
        Assert.Null(one.BatchFallbackReason);
        Assert.Equal(one.Values, r.Values);
        Assert.Equal(one.PerItem["cosine_similarity"], r.PerItem["cosine_similarity"]);
        Assert.Equal(one.Predictions, r.Predictions);
        Assert.True(r.Values["cosine_similarity"] < 1, "the reference differs from the model");
    }

    [Fact]
    public void A_model_that_runs_in_batches_does_not_fall_back()
    {
        var (tmp, _) = Setup(batchSize: 4);
        using var __ = tmp;
        var model = WartModels.DynamicImage("batch", 8, 8).ToByteArray();
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")), new EvaluatorOptions { ReferenceModel = model });
        var r = evaluator.Evaluate(model, null, CancellationToken.None);
        Assert.False(r.BatchFallback);
        Assert.Equal(4, r.BatchSize);
        Assert.Equal(3, r.Inferences);
    }
}
