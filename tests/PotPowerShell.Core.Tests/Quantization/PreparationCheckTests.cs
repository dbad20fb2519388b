using Onnx;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;

namespace PotPowerShell.Core.Tests.Quantization;

/// <summary>The opset upgrade's check: the upgraded model must give the original's outputs.</summary>
public class PreparationCheckTests
{
    // x [N, 4] -> MatMul by w -> "scores" [N, 3]; with labelOnly, ArgMax of the scores is the only output.
    private static ModelProto Scores(float[] w, bool labelOnly)
    {
        var b = new GraphBuilder("scores");
        var scores = b.Node("MatMul", new[] { b.Input("x", "N", 4), b.Initializer("w", w, 4, 3) }, "scores");
        if (!labelOnly) b.Output(scores, TensorProto.Types.DataType.Float, "N", 3);
        else b.Output(b.Node("ArgMax", new[] { scores }, "label", ("axis", 1L), ("keepdims", 0L)), TensorProto.Types.DataType.Int64, "N");
        return b.Build();
    }

    private static readonly float[] W = { 1, 0, 0, 0, 1, 0, 0, 0, 1, 0.5f, 0.5f, 0.5f };

    private static NpyDataset Data() => new("memory", new Dictionary<string, TensorData>
    {
        // Item 0 scores (1, 2, 3), item 1 (4, 1, 0.5): clear winners, so a small change moves no label.
        ["x"] = TensorData.FromFloats(new float[] { 1, 2, 3, 0, 4, 1, 0.5f, 0 }, new long[] { 2, 4 }),
    }, null);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_change_to_the_scores_is_caught_even_when_only_their_argmax_is_an_output(bool labelOnly)
    {
        // The "upgrade" changes one weight: every label stays, the scores do not. With the label as the only output
        // the check compared nothing (its outputs are not float) and let the change through.
        var changed = (float[])W.Clone();
        changed[0] = 1.05f;
        var e = Assert.Throws<PotException>(() => PreparationCheck.VerifySameOutputs(Scores(W, labelOnly), Scores(changed, labelOnly), Data(),
            new[] { 0, 1 }, "m.onnx", 1, CancellationToken.None));
        Assert.Equal("OpsetUpgradeChangedOutputs", e.ErrorId);
        Assert.Contains("went from 1 to 1.05", e.Message);
    }

    [Fact]
    public void The_same_model_passes()
    {
        // A model without float outputs failed here: ONNX Runtime refused a run that asked for no output, which was
        // reported as a calibration item the model could not run.
        PreparationCheck.VerifySameOutputs(Scores(W, true), Scores(W, true), Data(), new[] { 0, 1 }, "m.onnx", 1, CancellationToken.None);
    }
}
