using Google.Protobuf;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Onnx;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>
/// prior_boxes: offsets from priors laid out on grids, as Accuracy Checker's retinaface_pytorch and faceboxes decode
/// them (checked against their code executed from source: equal to 1e-13 on a 64x64 RetinaFace layout and a 128x96
/// FaceBoxes one). Expected values here follow from the definitions.
/// </summary>
public class PriorBoxesTests
{
    /// <summary>A model of a grey W x H input whose outputs boxes_out [1, N, 4] and scores_out [1, N, classes] are the constants given.</summary>
    private static byte[] Constants(int width, int height, float[] offsets, float[] scores, int classes)
    {
        int n = offsets.Length / 4;
        var g = new GraphBuilder("priors");
        g.Input("image", "batch", 1L, (long)height, (long)width);
        string zero = g.Node("ReduceSum", new[] { g.Node("Mul", new[] { "image", g.Initializer("z", new[] { 0f }, 1) }, "zero") }, "sum", ("keepdims", (long)0));
        g.Output(g.Node("Add", new[] { zero, g.Initializer("b", offsets, 1, n, 4) }, "boxes"), global::Onnx.TensorProto.Types.DataType.Float, "batch", (long)n, 4L);
        g.Output(g.Node("Add", new[] { zero, g.Initializer("s", scores, 1, n, classes) }, "scores"), global::Onnx.TensorProto.Types.DataType.Float, "batch", (long)n, (long)classes);
        return g.Build().ToByteArray();
    }

    private static IReadOnlyList<Detection> Run(int width, int height, string adapter, byte[] model)
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("val"));
        PngFiles.Save(tmp.File("val/a.png"), width, height, 1, new byte[width * height]);
        File.WriteAllText(tmp.File("val/instances.json"), $$"""{"images": [{"id": 1, "file_name": "a.png", "width": {{width}}, "height": {{height}}}], "annotations": [], "categories": [{"id": 1}]}""");
        File.WriteAllText(tmp.File("engine.yml"), $"batch_size: 1\ndataset: {{data_source: val, annotation_file: val/instances.json, channels: 1}}\nadapter: {adapter}\nmetrics: [{{type: map}}]\n");
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
        return (IReadOnlyList<Detection>)evaluator.Run(model, new EvaluationRequest { KeepPredictions = true }, CancellationToken.None).Predictions![0]!;
    }

    [Fact]
    public void Offsets_move_and_scale_the_priors_of_each_cell()
    {
        // A 16x8 input at stride 8: one row of two cells, a prior of 8 pixels in each, centred at (4, 4) and (12, 4).
        // The first as it is; the second moved by 1 x 0.1 x its width (0.8 pixels) and twice as wide (exp(ln 2)).
        float ln2 = (float)(Math.Log(2) / 0.2);
        var model = Constants(16, 8, new[] { 0f, 0, 0, 0, 1, 0, ln2, 0 }, new[] { 0.9f, 0.1f, 0.2f, 0.8f }, 2);
        var found = Run(16, 8, "{type: prior_boxes, output: boxes_out, scores: scores_out, min_sizes: [[8]], strides: [8]}", model);
        Assert.Equal(new[] { (1, 0.8, 4.8, 0.0, 20.8, 8.0), (1, 0.1, 0.0, 0.0, 8.0, 8.0) },
            found.Select(d => (d.Label, Math.Round(d.Score, 5), Math.Round(d.X1, 4), Math.Round(d.Y1, 4), Math.Round(d.X2, 4), Math.Round(d.Y2, 4))));
        // Above conf_threshold only; at most max_detections take part in the suppression.
        Assert.Single(Run(16, 8, "{type: prior_boxes, output: boxes_out, scores: scores_out, min_sizes: [[8]], strides: [8], conf_threshold: 0.5}", model));
        Assert.Equal(0.8, Assert.Single(Run(16, 8, "{type: prior_boxes, output: boxes_out, scores: scores_out, min_sizes: [[8]], strides: [8], max_detections: 1}", model)).Score, 5);
    }

    [Fact]
    public void Densities_grids_and_clipping_lay_the_priors_out()
    {
        // An 8x8 input, stride 8, one cell; min size 4 at density 2: priors centred at (0, 0), (4, 0), (0, 4), (4, 4),
        // 4 pixels wide; offsets zero give the priors, best score first.
        var scores = Enumerable.Range(0, 4).SelectMany(i => new[] { 0f, 0.5f + 0.1f * i }).ToArray();
        var model = Constants(8, 8, new float[16], scores, 2);
        var found = Run(8, 8, "{type: prior_boxes, output: boxes_out, scores: scores_out, min_sizes: [[4]], densities: [[2]], strides: [8], nms_threshold: 1}", model);
        Assert.Equal(new[] { (4.0, 4.0), (0.0, 4.0), (4.0, 0.0), (0.0, 0.0) }, found.Select(d => (Math.Round(d.X1 + 2, 4), Math.Round(d.Y1 + 2, 4))));
        // A prior of 16 pixels on the 8x8 input is 2 inputs wide: clip_priors makes it 1 (FaceBoxes' 512 on smaller inputs).
        var one = Constants(8, 8, new float[4], new[] { 0f, 0.9f }, 2);
        var wide = Assert.Single(Run(8, 8, "{type: prior_boxes, output: boxes_out, scores: scores_out, min_sizes: [[16]], strides: [8]}", one));
        var clipped = Assert.Single(Run(8, 8, "{type: prior_boxes, output: boxes_out, scores: scores_out, min_sizes: [[16]], strides: [8], clip_priors: true}", one));
        Assert.Equal((-4.0, 12.0, 0.0, 8.0), (Math.Round(wide.X1, 4), Math.Round(wide.X2, 4), Math.Round(clipped.X1, 4), Math.Round(clipped.X2, 4)));
        // A 20x12 input at stride 8: rounded up, 3 x 2 cells (FaceBoxes); to the nearest, halves to even, 2 x 2 (RetinaFace).
        // Outputs of 6 priors fit the first only.
        var six = Constants(20, 12, new float[24], Enumerable.Repeat(new[] { 0f, 0.9f }, 6).SelectMany(x => x).ToArray(), 2);
        Assert.Equal(6, Run(20, 12, "{type: prior_boxes, output: boxes_out, scores: scores_out, min_sizes: [[4]], strides: [8], nms_threshold: 1}", six).Count);
        var e = Assert.Throws<PotException>(() => Run(20, 12, "{type: prior_boxes, output: boxes_out, scores: scores_out, min_sizes: [[4]], strides: [8], grids: round}", six));
        Assert.Contains("prior_boxes lays out 4 priors on a 20x12 input, but 'boxes_out' holds 24 values", e.Message);
    }

    [Fact]
    public void Accuracy_Checkers_face_detectors_read_as_prior_boxes()
    {
        using var tmp = DetectionEvaluationTests.OneImageCoco();
        AdapterDefinition Load(string adapter) => DetectionEvaluationTests.AccuracyCheckerAdapter(tmp, adapter);
        var retina = Load("{type: retinaface_pytorch, bboxes_output: b, scores_output: s, landmarks_output: l}");
        Assert.Equal((AdapterType.PriorBoxes, "b", "s", 0.02, 0.4, 750, false, false), (retina.Type, retina.Output, retina.ScoresOutput, retina.ConfidenceThreshold, retina.NmsThreshold, retina.MaxDetections, retina.Priors!.CeilGrids, retina.Priors.Clip));
        Assert.Equal(new[] { 8, 16, 32 }, retina.Strides);
        Assert.Equal(new[] { 16.0, 32, 64, 128, 256, 512 }, retina.Priors.MinSizes.SelectMany(x => x));
        var faceboxes = Load("{type: faceboxes, boxes_out: b, scores_out: s}");
        Assert.Equal((0.05, 0.3, true, true), (faceboxes.ConfidenceThreshold, faceboxes.NmsThreshold, faceboxes.Priors!.CeilGrids, faceboxes.Priors.Clip));
        Assert.Equal(new[] { 4, 2, 1, 1, 1 }, faceboxes.Priors.Densities!.SelectMany(x => x));
        Assert.Contains("include_boundaries", Assert.Throws<PotException>(() => Load("{type: retinaface_pytorch, bboxes_output: b, scores_output: s, include_boundaries: true}")).Message);
    }
}
