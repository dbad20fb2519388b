using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>The FP32 references: rows beyond the memory budget go to a temporary file and come back as they were.</summary>
public class ReferenceStoreTests
{
    private static string[] SpillFiles() => Directory.GetFiles(ProcessTempFolder.Path, "fp32-references-*");

    [Fact]
    public void Rows_beyond_the_memory_budget_are_read_back_from_a_file_deleted_with_the_store()
    {
        var before = SpillFiles();
        float[][] rows = { new[] { 1f, 2, 3 }, new[] { -4f, float.NaN, 6 }, new[] { 7f, 8, 9.5f } };
        using (var store = new ReferenceStore(3, memoryBytes: 16))
        {
            store.AddOutput("y");
            for (int i = 0; i < 3; i++) store.Set("y", i, rows[i]);
            // 12 bytes fit the budget of 16; the next two rows went to the file.
            Assert.Single(SpillFiles().Except(before));
            for (int i = 0; i < 3; i++) Assert.Equal(rows[i], store.Row("y", i).ToArray());
            // A spilled row's NaN marks its item as one whose reference is not finite, as a held row's does.
            Assert.Equal((1, (int?)1), store.NonFinite);
            Assert.True(store.Has(2));
        }
        Assert.Empty(SpillFiles().Except(before));
    }

    [Fact]
    public void An_evaluation_against_spilled_references_gives_the_values_of_references_held_in_memory()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("d"));
        var rng = new Random(3);
        NpyWriter.Save(tmp.File("d/x.npy"), Enumerable.Range(0, 40).Select(_ => (float)rng.NextDouble()).ToArray(), new long[] { 10, 4 }, "<f4");
        var engine = EngineDefinition.Load(WriteEngine(tmp));
        var reference = TestModels.MatMul(Enumerable.Range(0, 12).Select(i => i / 12f).ToArray(), 4, 3, "batch");
        var model = TestModels.MatMul(Enumerable.Range(0, 12).Select(i => (11 - i) / 12f).ToArray(), 4, 3, "batch");
        var before = SpillFiles();
        using var held = new Evaluator(engine, new EvaluatorOptions { ReferenceModel = reference });
        using var spilled = new Evaluator(engine, new EvaluatorOptions { ReferenceModel = reference, ReferenceMemoryBytes = 0 });
        var expected = held.Evaluate(model, null, CancellationToken.None).PerItem["cosine_similarity"];
        Assert.Empty(SpillFiles().Except(before));
        Assert.Equal(expected, spilled.Evaluate(model, null, CancellationToken.None).PerItem["cosine_similarity"]);
        Assert.Single(SpillFiles().Except(before));
        Assert.Contains(expected, v => v < 0.999);
    }

    private static string WriteEngine(TempFolder tmp)
    {
        File.WriteAllText(tmp.File("engine.yml"), "metrics:\n  - type: cosine_similarity\n    reference: fp32\ndataset:\n  data_source: d\n");
        return tmp.File("engine.yml");
    }
}
