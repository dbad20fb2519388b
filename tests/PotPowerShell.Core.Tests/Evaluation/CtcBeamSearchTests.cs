using Google.Protobuf;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Tests.Data;
using DataType = Onnx.TensorProto.Types.DataType;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>
/// CTC prefix beam search (ctc_greedy with beam_size, Accuracy Checker's beam_search_decoder). Expected labels follow
/// from the probabilities of the paths, worked out in the comments.
/// </summary>
public class CtcBeamSearchTests
{
    private static List<int> Best(float[][] steps, int blank, int beam, bool probabilities = true) =>
        CtcBeamSearch.Best(t => steps[t], steps.Length, steps[0].Length, blank, beam, probabilities);

    [Fact]
    public void The_beam_sums_the_paths_of_a_text_where_the_greedy_path_is_one()
    {
        // Classes a (0) and the blank (1), two steps of a 0.4, blank 0.6: the best path is two blanks (0.36, text ""),
        // but "a" has three paths, a-, -a and aa: 0.24 + 0.24 + 0.16 = 0.64.
        var steps = new[] { new[] { 0.4f, 0.6f }, new[] { 0.4f, 0.6f } };
        Assert.Equal(new[] { 0 }, Best(steps, blank: 1, beam: 2));
        Assert.Empty(Best(steps, blank: 1, beam: 1));
    }

    [Fact]
    public void A_repeated_label_needs_a_blank_between()
    {
        // a, blank, a at 0.9 each: "aa" (path a-a, 0.729) against "a" (every other path with an a: under 0.27).
        var steps = new[] { new[] { 0.9f, 0.1f }, new[] { 0.1f, 0.9f }, new[] { 0.9f, 0.1f } };
        Assert.Equal(new[] { 0, 0 }, Best(steps, blank: 1, beam: 4));
        // Without the blank step the two a's merge.
        Assert.Equal(new[] { 0 }, Best(new[] { steps[0], steps[2] }, blank: 1, beam: 4));
    }

    [Fact]
    public void Logits_rank_prefixes_as_their_log_softmax_does()
    {
        // Every path takes one class per step, so a step's normalization adds the same constant to every prefix.
        var rng = new Random(3);
        for (int trial = 0; trial < 20; trial++)
        {
            var logits = Enumerable.Range(0, 12).Select(_ => Enumerable.Range(0, 5).Select(_ => (float)(rng.NextDouble() * 8 - 4)).ToArray()).ToArray();
            var logSoftmax = logits.Select(step =>
            {
                double norm = Math.Log(step.Sum(v => Math.Exp(v)));
                return step.Select(v => (float)(v - norm)).ToArray();
            }).ToArray();
            Assert.Equal(Best(logSoftmax, blank: 4, beam: 5, probabilities: false), Best(logits, blank: 4, beam: 5, probabilities: false));
        }
    }

    [Fact]
    public void An_engine_decodes_with_the_beam_through_the_ctc_adapter()
    {
        // A model that passes its input through: the data are the scores, [items, steps, classes] as layout NTC.
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("d"));
        NpyWriter.Save(tmp.File("d/scores.npy"), new[] { 0.4f, 0.6f, 0.4f, 0.6f }, new long[] { 1, 2, 2 }, "<f4");
        File.WriteAllText(tmp.File("labels.txt"), "a\n");
        var g = new GraphBuilder("scores");
        g.Output(g.Node("Identity", new[] { g.Input("scores", "batch", 2L, 2L) }), DataType.Float, "batch", 2L, 2L);
        byte[] model = g.Build().ToByteArray();
        double Accuracy(string beam)
        {
            File.WriteAllText(tmp.File("engine.yml"),
                $"dataset: {{data_source: d, labels: labels.txt}}\nadapter: {{type: ctc_greedy, alphabet: a, blank_index: 1{beam}}}\nmetrics: [{{type: character_recognition_accuracy}}]\n");
            using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
            return evaluator.Run(model, new EvaluationRequest(), CancellationToken.None).Values["character_recognition_accuracy"];
        }
        Assert.Equal(1.0, Accuracy(", beam_size: 2, probabilities: true"));
        Assert.Equal(0.0, Accuracy(""));
        var e = Assert.Throws<PotException>(() => Accuracy(", probabilities: true"));
        Assert.Contains("applies with beam_size above 1", e.Message);
    }
}
