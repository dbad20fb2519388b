using Google.Protobuf;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Results;
using StbImageWriteSharp;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>
/// Re-identification as Accuracy Checker evaluates it (annotation_converters/market1501.py and veri776.py,
/// adapters/reidentification.py, metrics/reid.py): gallery and query folders, embeddings, cmc and reid_map. Expected
/// values follow from the definitions, worked out in the comments.
/// </summary>
public class ReidTests
{
    private static MetricSpec Spec(MetricType type, int topK = 1) => new("m", type, MetricDirection.HigherBetter, new[] { 0 }, "metrics[0]", TopK: topK);

    private static double Value(MetricSpec spec, params (int Id, int Camera, bool Query, float[]? Embedding)[] items)
    {
        var aggregate = new ReidAggregate(spec);
        foreach (var (id, camera, query, embedding) in items) aggregate.Add(new ReidAnnotation(id.ToString(), camera, query), embedding);
        return aggregate.Result();
    }

    private static float[] E(params float[] values) => values;

    // Gallery: id 1 from cameras 0 and 1, id 2 from camera 0, id 3 from camera 1. Query A (id 1, camera 0) is nearest
    // its own image from camera 1 (the one from its own camera is left out); query B (id 2, camera 1) is nearer id 3
    // (distance 0.2) than its own image (0.5).
    private static readonly (int, int, bool, float[]?)[] Scene =
    {
        (1, 0, false, E(1, 0, 0)), (1, 1, false, E(1, 0, 0)), (2, 0, false, E(0, 1, 0)), (3, 1, false, E(0, 0, 1)),
        (1, 0, true, E(1, 0, 0)), (2, 1, true, E(0, 0.5f, 0.8f)),
    };

    private static float[] Embedding(AdapterDefinition definition, float[] data, long[] shape)
    {
        var adapter = Adapter.Create(definition);
        adapter.Bind(new[] { "o" }, null, new HashSet<string>());
        var outputs = new PotPowerShell.Core.Runtime.BatchOutputs(new[] { "o" }) { Rows = 1, Items = 1 };
        outputs.Data[0] = data;
        outputs.SetShape(0, shape);
        adapter.Resolve(outputs);
        return (float[])adapter.Predict(outputs, 0, null)!;
    }

    [Fact]
    public void The_reid_adapter_flattens_pools_tokens_and_scales_embeddings_to_length_one()
    {
        // [1, 2, 2]: tokens (3, 0) and (1, 4). Flattened and scaled: / sqrt(9 + 0 + 1 + 16 + 1e-6).
        var data = new float[] { 3, 0, 1, 4 };
        double norm = Math.Sqrt(26 + 1e-6);
        Assert.Equal(data.Select(v => (float)(v / norm)), Embedding(new AdapterDefinition(AdapterType.Reid), data, new long[] { 1, 2, 2 }));
        Assert.Equal(data, Embedding(new AdapterDefinition(AdapterType.Reid) { NormalizeEmbeddings = false }, data, new long[] { 1, 2, 2 }));
        // mean_pooling: the mean token (2, 2), scaled by sqrt(8 + 1e-6).
        double pooled = Math.Sqrt(8 + 1e-6);
        var e = Embedding(new AdapterDefinition(AdapterType.Reid) { MeanPooling = true }, data, new long[] { 1, 2, 2 });
        Assert.Equal(new[] { (float)(2 / pooled), (float)(2 / pooled) }, e);
        Assert.Equal("ReidOutputShape", Assert.Throws<PotException>(() => Embedding(new AdapterDefinition(AdapterType.Reid) { MeanPooling = true }, data, new long[] { 1, 4 })).ErrorId);
    }

    [Fact]
    public void Cmc_counts_the_queries_whose_first_match_is_among_the_top_k()
    {
        // A: rank 1. B: id 3 (1 - 0.8 = 0.2), then id 2 (1 - 0.5 = 0.5): rank 2.
        Assert.Equal(0.5, Value(Spec(MetricType.Cmc, 1), Scene), 12);
        Assert.Equal(1.0, Value(Spec(MetricType.Cmc, 2), Scene), 12);
        // separate_camera_set also leaves out every gallery image from the query's camera: B no longer sees id 3.
        Assert.Equal(1.0, Value(Spec(MetricType.Cmc, 1) with { SeparateCameraSet = true }, Scene), 12);
    }

    [Fact]
    public void Reid_map_is_the_mean_area_under_each_querys_precision_recall_curve()
    {
        // A: its one match first, AP 1. B: a miss then its match: points (recall 0, precision 0) and (1, 1/2); from
        // (0, 1) the trapezoids give 0 + (1 - 0) x (1/2 + 0) / 2 = 1/4, the step sum 1 x 1/2.
        Assert.Equal((1 + 0.25) / 2, Value(Spec(MetricType.ReidMap), Scene), 12);
        Assert.Equal((1 + 0.5) / 2, Value(Spec(MetricType.ReidMap) with { InterpolatedAuc = false }, Scene), 12);
    }

    [Fact]
    public void Ties_in_distance_are_one_step_of_the_curve_and_keep_gallery_order_for_cmc()
    {
        // The query's match and a wrong image tie at distance 0: one point (recall 1, precision 1/2), area
        // (1 + 1/2) / 2 = 3/4. For cmc the tie keeps gallery order: the wrong image comes first.
        var items = new (int, int, bool, float[]?)[] { (5, 1, false, E(0, 1)), (4, 1, false, E(0, 1)), (4, 0, true, E(0, 1)) };
        Assert.Equal(0.75, Value(Spec(MetricType.ReidMap), items), 12);
        Assert.Equal(0.0, Value(Spec(MetricType.Cmc, 1), items), 12);
        Assert.Equal(1.0, Value(Spec(MetricType.Cmc, 2), items), 12);
    }

    [Fact]
    public void Without_first_match_break_each_match_adds_its_share_where_its_rank_less_earlier_matches_is_below_k()
    {
        // Ranked: wrong, match, match, wrong, match (distances 0 to 0.4). Ranks less earlier matches: 1, 1, 2.
        // top_k 1: none; top_k 2: the first two, 2/3; top_k 3: all, 1.
        var items = new (int, int, bool, float[]?)[]
        {
            (9, 1, false, E(1, 0)), (7, 1, false, E(0.9f, 0.1f)), (7, 2, false, E(0.8f, 0.2f)), (8, 1, false, E(0.7f, 0.3f)), (7, 3, false, E(0.6f, 0.4f)),
            (7, 0, true, E(1, 0)),
        };
        var spread = Spec(MetricType.Cmc) with { FirstMatchBreak = false };
        Assert.Equal(0.0, Value(spread with { TopK = 1 }, items), 12);
        Assert.Equal(2.0 / 3, Value(spread with { TopK = 2 }, items), 12);
        Assert.Equal(1.0, Value(spread with { TopK = 3 }, items), 12);
        // With first_match_break the query counts once, at its first match (rank 2).
        Assert.Equal(1.0, Value(Spec(MetricType.Cmc, 2), items), 12);
    }

    [Fact]
    public void Queries_without_a_match_are_not_counted_and_a_query_that_is_not_finite_finds_nothing()
    {
        // Query C (id 6) has no gallery image: not counted. Query B's embedding is not finite: it counts 0; a gallery
        // image that is not finite is farthest from every query.
        var items = Scene.Select(s => s.Item4 == Scene[^1].Item4 ? (s.Item1, s.Item2, s.Item3, (float[]?)null) : s)
            .Append((6, 0, true, E(0, 1, 0))).ToArray();
        Assert.Equal(0.5, Value(Spec(MetricType.Cmc, 1), items), 12);
        Assert.Equal(0.5, Value(Spec(MetricType.ReidMap), items), 12);
        var farGallery = new (int, int, bool, float[]?)[] { (1, 1, false, null), (2, 1, false, E(1, 0)), (1, 0, true, E(1, 0)) };
        Assert.Equal(0.0, Value(Spec(MetricType.Cmc, 1), farGallery), 12);
        Assert.Equal(1.0, Value(Spec(MetricType.Cmc, 2), farGallery), 12);
        // No query with a match: no value.
        Assert.True(double.IsNaN(Value(Spec(MetricType.ReidMap), (1, 0, false, E(1, 0)), (1, 0, true, E(1, 0)))));
    }

    [Fact]
    public void A_bootstrap_draws_queries_and_keeps_the_whole_gallery()
    {
        var aggregate = new ReidAggregate(Spec(MetricType.ReidMap));
        foreach (var (id, camera, query, embedding) in Scene) aggregate.Add(new ReidAnnotation(id.ToString(), camera, query), embedding);
        // Query B drawn three times, A once: (1 + 3 x 0.25) / 4; gallery images drawn 0 times stay.
        Assert.Equal((1 + 3 * 0.25) / 4, aggregate.Result(new[] { 0, 0, 0, 0, 1, 3 }), 12);
    }

    [Fact]
    public void Ranking_the_gallery_stops_on_cancellation()
    {
        var aggregate = new ReidAggregate(Spec(MetricType.ReidMap));
        foreach (var (id, camera, query, embedding) in Scene) aggregate.Add(new ReidAnnotation(id.ToString(), camera, query), embedding);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => aggregate.Result(cancelled.Token));
        // Not cancelled, it still ranks.
        Assert.Equal((1 + 0.25) / 2, aggregate.Result(CancellationToken.None), 12);
    }

    private static TempFolder Layout(params string[] files)
    {
        var tmp = new TempFolder();
        foreach (var f in files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(tmp.File(f))!);
            File.WriteAllBytes(tmp.File(f), Array.Empty<byte>());
        }
        return tmp;
    }

    [Fact]
    public void Market1501_lists_the_gallery_then_the_queries_in_descending_name_order_without_junk()
    {
        using var tmp = Layout("m/bounding_box_test/0002_c1s1_000451_03.jpg", "m/bounding_box_test/0000_c3s1_000151_01.jpg",
            "m/bounding_box_test/-1_c1s1_000401_03.jpg", "m/bounding_box_test/0010_c6s2_000001_01.jpg", "m/bounding_box_test/Thumbs.db",
            "m/query/0002_c2s1_000301_00.jpg");
        var set = ReidFolders.Read(tmp.File("m"), ReidLayout.Market1501, ImageDataset.DefaultExtensions);
        Assert.Equal(new[] { "bounding_box_test/0010_c6s2_000001_01.jpg", "bounding_box_test/0002_c1s1_000451_03.jpg", "bounding_box_test/0000_c3s1_000151_01.jpg", "query/0002_c2s1_000301_00.jpg" }, set.Files);
        Assert.Equal(new object[] { new ReidAnnotation("10", 5, false), new ReidAnnotation("2", 0, false), new ReidAnnotation("0", 2, false), new ReidAnnotation("2", 1, true) }, set.Annotations);
    }

    [Fact]
    public void VeRi776_reads_its_folders_and_cameras_of_three_digits()
    {
        using var tmp = Layout("v/image_test/0002_c002_00030600_0.jpg", "v/image_query/0002_c013_00053235_1.jpg");
        var set = ReidFolders.Read(tmp.File("v"), ReidLayout.VeRi776, ImageDataset.DefaultExtensions);
        Assert.Equal(new object[] { new ReidAnnotation("2", 1, false), new ReidAnnotation("2", 12, true) }, set.Annotations);
    }

    [Theory]
    [InlineData("m/query/0002_c2s1_000301_00.jpg|m/bounding_box_test/photo.jpg", "AnnotationInvalid", "photo.jpg' is not named as Market-1501's images are")]
    [InlineData("m/query/0002_c2s1_000301_00.jpg|m/bounding_box_test/99999999999_c1s1_0.jpg", "AnnotationInvalid", "whole numbers that fit 32 bits")]
    [InlineData("m/bounding_box_test/0002_c1s1_000451_03.jpg", "DataPathNotFound", "a Market-1501 set holds the folders bounding_box_test/ and query/")]
    [InlineData("m/bounding_box_test/0002_c1s1_000451_03.jpg|m/query/notes.txt", "DatasetEmpty", "needs images in both bounding_box_test/ and query/")]
    public void A_set_that_is_not_laid_out_as_its_layout_is_refused_naming_the_file(string files, string errorId, string message)
    {
        using var tmp = Layout(files.Split('|'));
        var e = Assert.Throws<PotException>(() => ReidFolders.Read(tmp.File("m"), ReidLayout.Market1501, ImageDataset.DefaultExtensions));
        Assert.Equal(errorId, e.ErrorId);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Retrieval_lists_name_gallery_and_query_images_with_ids_compared_as_text()
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("gallery.txt"), "a.jpg  shirt-1\n\n  b.jpg shirt-2 \nother/c.jpg 007\n");
        File.WriteAllText(tmp.File("queries.txt"), "q.jpg shirt-1\nr.jpg 7\n");
        var set = ReidFolders.ReadLists(tmp.File("d"), tmp.File("gallery.txt"), tmp.File("queries.txt"));
        // A name without '/' is in gallery/ or queries/; gallery images are camera 0, queries camera 1; '007' is not '7'.
        Assert.Equal(new[] { "gallery/a.jpg", "gallery/b.jpg", "other/c.jpg", "queries/q.jpg", "queries/r.jpg" }, set.Files);
        Assert.Equal(new object[] { new ReidAnnotation("shirt-1", 0, false), new ReidAnnotation("shirt-2", 0, false), new ReidAnnotation("007", 0, false),
            new ReidAnnotation("shirt-1", 1, true), new ReidAnnotation("7", 1, true) }, set.Annotations);
        File.WriteAllText(tmp.File("queries.txt"), "q.jpg shirt 1\n");
        var e = Assert.Throws<PotException>(() => ReidFolders.ReadLists(tmp.File("d"), tmp.File("gallery.txt"), tmp.File("queries.txt")));
        Assert.Equal("AnnotationInvalid", e.ErrorId);
        Assert.Contains("Line 1 of '" + tmp.File("queries.txt") + "' holds 3 fields; each line is 'image id'", e.Message);
    }

    /// <summary>
    /// A Market-1501 set of 8 x 8 JPEGs of one colour each, and a model whose embedding is the image's mean colour
    /// (GlobalAveragePool): the scene above, with a distractor (id 0, orange) and a junk image (id -1).
    /// </summary>
    private static (TempFolder Folder, byte[] Model) ColourSet()
    {
        var tmp = new TempFolder();
        void Save(string name, byte r, byte g, byte b)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(tmp.File(name))!);
            var rgb = Enumerable.Range(0, 64).SelectMany(_ => new[] { r, g, b }).ToArray();
            using var stream = File.Create(tmp.File(name));
            new ImageWriter().WriteJpg(rgb, 8, 8, ColorComponents.RedGreenBlue, stream, 100);
        }
        Save("market/bounding_box_test/0001_c1s1_000001_00.jpg", 255, 0, 0);
        Save("market/bounding_box_test/0001_c2s1_000001_00.jpg", 255, 0, 0);
        Save("market/bounding_box_test/0002_c1s1_000001_00.jpg", 0, 255, 0);
        Save("market/bounding_box_test/0003_c2s1_000001_00.jpg", 0, 0, 255);
        Save("market/bounding_box_test/0000_c1s1_000001_00.jpg", 255, 128, 0);
        Save("market/bounding_box_test/-1_c2s1_000001_00.jpg", 0, 255, 0);
        Save("market/query/0001_c1s1_000002_00.jpg", 255, 0, 0);
        Save("market/query/0002_c2s1_000002_00.jpg", 0, 60, 255);
        var g = new GraphBuilder("mean_colour");
        var x = g.Input("x", "batch", 3, 8, 8);
        var pooled = g.Node("GlobalAveragePool", new[] { x }, "pool");
        g.Output(g.Node("Flatten", new[] { pooled }, "flatten", ("axis", 1L)), global::Onnx.TensorProto.Types.DataType.Float, "batch", 3);
        return (tmp, g.Build().ToByteArray());
    }

    private static EvaluationResult Evaluate(string engine, byte[] model, out EngineDefinition definition)
    {
        definition = EngineDefinition.Load(engine);
        using var evaluator = new Evaluator(definition);
        return evaluator.Run(model, new EvaluationRequest(), CancellationToken.None);
    }

    [Fact]
    public void A_reid_engine_ranks_each_query_against_the_gallery_through_the_model()
    {
        // Query id 1 (red) finds its camera-2 image first (the orange distractor is next): rank 1, AP 1. Query id 2
        // (0, 60, 255) is nearest blue (id 3), then green (its own), then orange: rank 2, AP 1/4 (1/2 by steps).
        var (tmp, model) = ColourSet();
        using var _ = tmp;
        File.WriteAllText(tmp.File("engine.yml"), """
            dataset:
              data_source: market
              reid_layout: market1501
            adapter: reid
            metrics:
              - {type: cmc, top_k: 1}
              - {type: cmc, top_k: 2}
              - {name: separate, type: cmc, separate_camera_set: true}
              - {type: reid_map}
              - {name: steps, type: reid_map, interpolated_auc: false}
            """);
        var reports = new List<PotProgress>();
        using var evaluator = new Evaluator(EngineDefinition.Load(tmp.File("engine.yml")));
        var r = evaluator.Run(model, new EvaluationRequest(), CancellationToken.None, new Calibration.ActivationCollectorTests.SyncProgress(reports.Add));
        Assert.Equal((0.5, 1.0, 1.0, 0.625, 0.75), (r.Values["rank@1"], r.Values["rank@2"], r.Values["separate"], r.Values["reid_map"], r.Values["steps"]));
        // The ranking after the last batch is reported as progress: it is the long part at a real gallery's size.
        Assert.Contains(reports, p => p.Status == "Computing reid_map over the 7 items");
    }

    [Fact]
    public void Accuracy_checkers_person_reidentification_configuration_reads_as_it_evaluates()
    {
        var (tmp, model) = ColourSet();
        using var _ = tmp;
        File.WriteAllText(tmp.File("ac.yml"), """
            models:
              - name: person-reidentification-retail-0277
                launchers:
                  - framework: onnx_runtime
                    adapter: {type: reid, grn_workaround: true, keep_shape: false}
                datasets:
                  - name: market1501
                    data_source: market
                    annotation_conversion: {converter: market1501_reid, data_dir: market/}
                    preprocessing:
                      - {type: resize, dst_width: 8, dst_height: 8, use_pillow: true, interpolation: BILINEAR}
                    metrics:
                      - {name: rank@1, type: cmc, top_k: 1, reference: 0.962}
                      - {type: reid_map, reference: 0.877}
            """);
        var r = Evaluate(tmp.File("ac.yml"), model, out var engine);
        Assert.Equal((0.5, 0.625), (r.Values["rank@1"], r.Values["reid_map"]));
        Assert.Contains(engine.Warnings, w => w.Contains("keep_shape: read and ignored: the metrics compare embeddings flattened either way", StringComparison.Ordinal));
    }

    [Fact]
    public void Retrieval_lists_and_accuracy_checkers_image_retrieval_rank_the_same_images()
    {
        // The colour set's images listed as a retrieval set: the same gallery and queries, cameras 0 and 1. Query id 1
        // now also sees its camera-1 gallery image, at distance 0 like the other: rank 1 and AP 1 as before. The junk
        // image is an ordinary gallery image of id '-1' here, green like query id 2's match, so the two tie: query id 2
        // ranks blue (a miss: recall 0, precision 0), then both greens as one step (recall 1, precision 1/3), AP
        // (1/3 + 0) / 2 = 1/6, and the mean (1 + 1/6) / 2 = 7/12.
        var (tmp, model) = ColourSet();
        using var _ = tmp;
        var gallery = Directory.GetFiles(tmp.File("market/bounding_box_test")).Select(f => $"bounding_box_test/{Path.GetFileName(f)} {Path.GetFileName(f).Split('_')[0]}");
        var queries = Directory.GetFiles(tmp.File("market/query")).Select(f => $"query/{Path.GetFileName(f)} {Path.GetFileName(f).Split('_')[0]}");
        File.WriteAllLines(tmp.File("market/gallery.txt"), gallery);
        File.WriteAllLines(tmp.File("market/queries.txt"), queries);
        File.WriteAllText(tmp.File("engine.yml"), """
            dataset: {data_source: market, reid_gallery: market/gallery.txt, reid_queries: market/queries.txt}
            adapter: reid
            metrics: [{type: cmc}, {type: reid_map}]
            """);
        var native = Evaluate(tmp.File("engine.yml"), model, out var unused);
        Assert.Equal(0.5, native.Values["rank@1"]);
        Assert.Equal(7.0 / 12, native.Values["reid_map"], 12);
        File.WriteAllText(tmp.File("ac.yml"), """
            models:
              - name: image-retrieval-0001
                launchers: [{framework: onnx_runtime, adapter: reid}]
                datasets:
                  - name: image_retrieval
                    data_source: market
                    annotation_conversion: {converter: image_retrieval, data_dir: market, gallery_annotation_file: market/gallery.txt, queries_annotation_file: market/queries.txt}
                    metrics: [{name: rank@1, type: cmc, top_k: 1}, {type: reid_map}]
            """);
        var ac = Evaluate(tmp.File("ac.yml"), model, out unused);
        Assert.Equal((native.Values["rank@1"], native.Values["reid_map"]), (ac.Values["rank@1"], ac.Values["reid_map"]));
    }

    [Theory]
    [InlineData("adapter: classification\nmetrics: [{type: cmc}]", "cmc compares embeddings, but dataset 'dataset0' uses the classification adapter: use adapter type reid.")]
    [InlineData("adapter: reid\nmetrics: [{type: accuracy}]", "metric 'accuracy@top1' compares with labels, but dataset 'dataset0' annotates ids and cameras (reid_layout): use cmc or reid_map.")]
    [InlineData("adapter: {type: classification, mean_pooling: true}\nmetrics: [{type: cmc}]", "mean_pooling (line 4): applies to the reid adapter only.")]
    public void Metrics_and_adapters_that_do_not_fit_a_reid_set_are_named(string rest, string message)
    {
        var (tmp, _) = ColourSet();
        using var __ = tmp;
        File.WriteAllText(tmp.File("engine.yml"), "dataset:\n  data_source: market\n  reid_layout: market1501\n" + rest + "\n");
        var e = Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("engine.yml")));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void A_reid_metric_without_a_reid_set_and_accuracy_checkers_unseeded_draws_are_refused()
    {
        var (tmp, _) = ColourSet();
        using var __ = tmp;
        File.WriteAllText(tmp.File("engine.yml"), "dataset:\n  data_source: market/query\nadapter: reid\nmetrics: [{type: reid_map}]\n");
        Assert.Contains("metric 'reid_map' ranks a gallery for each query: give dataset 'dataset0' a re-identification set (reid_layout: market1501 or veri776) or retrieval lists (reid_gallery: and reid_queries:).",
            Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("engine.yml"))).Message);
        File.WriteAllText(tmp.File("ac.yml"), """
            models:
              - name: reid
                launchers: [{framework: onnx_runtime, adapter: reid}]
                datasets:
                  - name: market1501
                    data_source: market
                    annotation_conversion: {converter: market1501_reid, data_dir: elsewhere}
                    metrics: [{type: cmc, single_gallery_shot: true}]
            """);
        var message = Assert.Throws<PotException>(() => EngineDefinition.Load(tmp.File("ac.yml"))).Message;
        Assert.Contains("must be data_source's folder: its gallery and query images are read from there.", message);
        Assert.Contains("is not supported: Accuracy Checker draws the gallery at random without a seed there", message);
    }
}
