using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using PotPowerShell.Core.Config;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Onnx;
using PotPowerShell.Core.Quantization;
using PotPowerShell.Core.Quantization.AccuracyAware;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.AccuracyAware;

/// <summary>
/// Candidates run as the suffix of their model after the changed layer, fed with the stored cut tensors of a model one
/// layer away (<see cref="SuffixCut"/>, <see cref="ActivationReuse"/>): the same output bits as the whole candidate,
/// so the same search. The model: <see cref="SyntheticModels.AffineHardSwishConvs"/>, four INT8 convolutions with float
/// ops between them (hard-swish, affine blocks) that a cut must not run through.
/// </summary>
public sealed class ActivationReuseTests : IDisposable
{
    private const int Items = 24;
    private readonly TempFolder _folder = new();
    private readonly string _modelPath;

    public ActivationReuseTests()
    {
        _modelPath = _folder.File("convs.onnx");
        OnnxModelFile.Save(SyntheticModels.AffineHardSwishConvs(4, 16, 3), _modelPath);
        foreach (var (name, seed) in new[] { ("validation", 1), ("calibration", 2) })
        {
            Directory.CreateDirectory(_folder.File(name));
            var data = SyntheticModels.ImageLikeData(Items, 16, 16, 16, seed);
            NpyWriter.Save(_folder.File($"{name}/x.npy"), data.ToFloats(), data.Shape, "<f4");
        }
        File.WriteAllText(_folder.File("engine.yml"), "metrics:\n  - type: cosine_similarity\n    reference: fp32\ndataset:\n  data_source: validation\n");
    }

    public void Dispose() => _folder.Dispose();

    private QuantizedModelBuilder Builder()
    {
        using var calibration = NpyDataset.Open(_folder.File("calibration"));
        // Preparation turns each hard-swish into x * HardSigmoid(x) and folds the affine block an unpadded Conv reads;
        // float Mul/Add/HardSigmoid stay between the convolutions, so cuts have float tensors to avoid.
        return QuantizedModelBuilder.Create(_modelPath, calibration, new DefaultQuantizationOptions { Precision = PrecisionMode.AllInt8 });
    }

    private static float[] Input(int count) => SyntheticModels.ImageLikeData(count, 16, 16, 16, 7).ToFloats();

    /// <summary>Runs a model on named inputs and returns every output by name, with its shape as ONNX Runtime inferred it.</summary>
    private static Dictionary<string, (byte[] Bytes, string[] Declared)> Run(ModelProto model, IReadOnlyDictionary<string, OrtValue> inputs)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 1 };
        using var session = new InferenceSession(model.ToByteArray(), options);
        var names = session.InputNames.ToArray();
        using var outputs = session.Run(new RunOptions(), names, names.Select(n => inputs[n]).ToArray(), session.OutputNames.ToArray());
        return session.OutputNames.Select((n, i) => (n, (outputs[i].GetTensorMutableRawData().ToArray(), PotPowerShell.Core.Runtime.SessionRunner.Declared(session.OutputMetadata[n]))))
            .ToDictionary(p => p.n, p => p.Item2);
    }

    // The CLR lets a byte[] be read as sbyte[] (same size and layout).
    private static OrtValue Tensor(byte[] bytes, long[] shape, TensorProto.Types.DataType type) =>
        type == TensorProto.Types.DataType.Int8 ? OrtValue.CreateTensorValueFromMemory((sbyte[])(object)bytes, shape) : OrtValue.CreateTensorValueFromMemory(bytes, shape);

    [Fact]
    public void Every_layers_suffix_fed_with_the_base_models_cut_tensors_gives_the_bits_of_the_whole_candidate()
    {
        var builder = Builder();
        var baseModel = builder.Build(new HashSet<string>());
        var cuts = SuffixCut.CutTensors(baseModel.Graph);
        Assert.Equal(4, builder.Layers.Count);
        var producers = baseModel.Graph.Node.SelectMany(n => n.Output.Select(o => (o, n.OpType))).ToDictionary(p => p.o, p => p.OpType);
        var types = baseModel.Graph.Node.Where(n => n.OpType == "QuantizeLinear").ToDictionary(n => n.Output[0],
            n => (TensorProto.Types.DataType)baseModel.Graph.Initializer.Single(t => t.Name == n.Input[2]).DataType);

        var x = Input(3);
        var shape = new long[] { 3, 16, 16, 16 };
        using var input = OrtValue.CreateTensorValueFromMemory(x, shape);
        var inputs = new Dictionary<string, OrtValue> { ["x"] = input };
        var stored = Run(SuffixCut.Capturing(baseModel, cuts), inputs);
        var shares = new List<double>();
        foreach (var layer in builder.Layers)
        {
            var candidate = builder.Build(new HashSet<string> { layer.Node });
            var cut = SuffixCut.Find(baseModel, candidate, cuts.ToHashSet(), t => stored[t].Declared, maxShare: 1, capture: false)!;
            // Only quantized tensors are read from the store: the float ones between the convolutions are recomputed.
            Assert.All(cut.StoredInputs, t => Assert.Equal("QuantizeLinear", producers[t]));
            // Each is declared with the shape ONNX Runtime inferred in the whole model: the batch symbol, then 16x16x16.
            Assert.All(cut.Model.Graph.Input.Where(i => cut.StoredInputs.Contains(i.Name)), i => Assert.Equal(new[] { "batch", "16", "16", "16" },
                i.Type.TensorType.Shape.Dim.Select(d => d.HasDimValue ? d.DimValue.ToString() : d.DimParam)));
            var suffixInputs = new Dictionary<string, OrtValue>(inputs);
            var values = new List<OrtValue>();
            foreach (var t in cut.StoredInputs)
            {
                // Every cut tensor here is [items, 16, 16, 16]: each convolution keeps 16 channels of 16x16.
                Assert.Equal(3 * 16 * 16 * 16, stored[t].Bytes.Length);
                var value = Tensor(stored[t].Bytes, new long[] { 3, 16, 16, 16 }, types[t]);
                values.Add(value);
                suffixInputs[t] = value;
            }
            var whole = Run(candidate, inputs);
            var suffix = Run(cut.Model, suffixInputs);
            foreach (var v in values) v.Dispose();
            Assert.Equal(whole.Keys, suffix.Keys);
            foreach (var (name, output) in whole) Assert.Equal(output.Bytes, suffix[name].Bytes);
            shares.Add(cut.NodeShare);
        }
        // Later layers leave more of the model out.
        Assert.True(shares[3] < shares[0] && shares[3] < 0.5, string.Join(", ", shares));
    }

    [Fact]
    public void Without_stored_tensors_the_cut_grows_back_to_the_graph_input_and_no_change_gives_no_cut()
    {
        var builder = Builder();
        var baseModel = builder.Build(new HashSet<string>());
        var candidate = builder.Build(new HashSet<string> { builder.Layers[3].Node });
        var cut = SuffixCut.Find(baseModel, candidate, new HashSet<string>(), _ => null, maxShare: 1, capture: false)!;
        Assert.Empty(cut.StoredInputs);
        Assert.Equal(new[] { "x" }, cut.Model.Graph.Input.Select(i => i.Name));
        Assert.Equal(candidate.Graph.Node.Count, cut.Model.Graph.Node.Count);
        // Past the share limit there is no cut; an unchanged model has none either.
        Assert.Null(SuffixCut.Find(baseModel, candidate, new HashSet<string>(), _ => null, maxShare: 0.9, capture: false));
        // Stored tensors whose shape is not known are not cut through either.
        Assert.Equal(candidate.Graph.Node.Count, SuffixCut.Find(baseModel, candidate, SuffixCut.CutTensors(baseModel.Graph).ToHashSet(), _ => null, maxShare: 1, capture: false)!.Model.Graph.Node.Count);
        Assert.Null(SuffixCut.Find(baseModel, builder.Build(new HashSet<string>()), SuffixCut.CutTensors(baseModel.Graph).ToHashSet(), _ => new[] { "batch", "16", "16", "16" }, maxShare: 1, capture: false));
    }

    [Fact]
    public void A_base_model_compared_again_after_its_nodes_changed_is_compared_as_it_is_now()
    {
        // Find keeps each base graph's serialized nodes for the next comparison; a graph whose node list changed since
        // must not be compared as it was.
        var builder = Builder();
        var baseModel = builder.Build(new HashSet<string>());
        var candidate = builder.Build(new HashSet<string> { builder.Layers[3].Node });
        Assert.NotNull(SuffixCut.Find(baseModel, candidate, new HashSet<string>(), _ => null, maxShare: 1, capture: false));
        // The base becomes the candidate, in the same graph object: nothing differs any more.
        baseModel.Graph.Node.Clear();
        baseModel.Graph.Node.AddRange(candidate.Graph.Node.Select(n => n.Clone()));
        baseModel.Graph.Initializer.Clear();
        baseModel.Graph.Initializer.AddRange(candidate.Graph.Initializer.Select(t => t.Clone()));
        Assert.Null(SuffixCut.Find(baseModel, candidate, new HashSet<string>(), _ => null, maxShare: 1, capture: false));
    }

    [Fact]
    public void A_suffix_keeps_the_batch_its_whole_model_fixes()
    {
        var builder = Builder();
        ModelProto FixedBatch(ModelProto model)
        {
            model.Graph.Input.Single(i => i.Name == "x").Type.TensorType.Shape.Dim[0] = new TensorShapeProto.Types.Dimension { DimValue = 2 };
            return model;
        }
        var fixedBase = FixedBatch(builder.Build(new HashSet<string>()));
        var candidate = FixedBatch(builder.Build(new HashSet<string> { builder.Layers[3].Node }));
        var cut = SuffixCut.Find(fixedBase, candidate, SuffixCut.CutTensors(fixedBase.Graph).ToHashSet(), _ => new[] { "2", "16", "16", "16" }, maxShare: 1, capture: true)!;
        Assert.Contains(cut.Model.MetadataProps, p => p.Key == SuffixCut.FixedBatchKey && p.Value == "2");
        Assert.Contains(cut.Model.MetadataProps, p => p.Key == SuffixCut.StoredInputsKey && p.Value == string.Join("\n", cut.StoredInputs));
    }

    [Theory]
    [InlineData(RankingMethod.Signal)]
    [InlineData(RankingMethod.Metric)]
    public void A_search_that_reuses_activations_takes_the_path_and_gives_the_model_of_one_that_infers_every_candidate_whole(RankingMethod method)
    {
        var builder = Builder();
        var wholeNotices = new List<string>();
        var reuseNotices = new List<string>();
        var whole = Search(builder, method, reuse: false, budget: null, wholeNotices);
        var reused = Search(builder, method, reuse: true, budget: null, reuseNotices);

        Assert.DoesNotContain(wholeNotices, l => l.StartsWith("Evaluations run from stored activations", StringComparison.Ordinal));
        var notice = Assert.Single(reuseNotices, l => l.StartsWith("Evaluations run from stored activations", StringComparison.Ordinal));
        Assert.Matches(@"^Evaluations run from stored activations: [1-9]\d* of \d+, each on average \d+(\.\d)? % of the model's nodes; the stores held at most \d+(\.\d)? of \d+(\.\d)? MB; captures reused \d+(\.\d)? MB that dropped stores had held\.$", notice);
        SameRun.Check(whole, reused);
    }

    [Fact]
    public void Activations_past_the_memory_budget_are_not_stored_and_the_run_is_the_same()
    {
        var builder = Builder();
        var roomy = new List<string>();
        var tight = new List<string>();
        var stored = Search(builder, RankingMethod.Signal, reuse: true, budget: null, roomy);
        // A few items' worth of one 16x16x16 tensor: the fully quantized model's capture of 24 items overflows it.
        var dropped = Search(builder, RankingMethod.Signal, reuse: true, budget: 5 * 16 * 16 * 16, tight);
        Assert.Contains(roomy, l => l.StartsWith("Evaluations run from stored activations", StringComparison.Ordinal));
        Assert.DoesNotContain(tight, l => l.StartsWith("Evaluations run from stored activations", StringComparison.Ordinal));
        SameRun.Check(stored, dropped);
    }

    [Theory]
    [InlineData(RankingMethod.Signal)]
    [InlineData(RankingMethod.Metric)]
    public void A_search_whose_stores_pass_the_budget_drops_the_oldest_and_takes_the_path_of_a_roomy_one(RankingMethod method)
    {
        var builder = Builder();
        // A complete store of the fully quantized model: its cut tensors for every item.
        var fully = ModelCandidate.FullyQuantized(new QuantizationSource("performance", builder.Setup.Options, builder));
        using var evaluator = new Evaluator(EngineDefinition.Load(_folder.File("engine.yml")), new EvaluatorOptions { ReferenceModel = builder.FloatModel.ToByteArray() });
        var probe = new ActivationReuse(Items, long.MaxValue);
        new EvaluationSession(evaluator, new AccuracyAwareOptions { Quantization = builder.Setup.Options }, () => TimeSpan.Zero, null, CancellationToken.None) { Reuse = probe }
            .Evaluate(fully, null);
        long whole = Assert.Single(probe.Snapshot()).Bytes;

        var roomy = new List<string>();
        var tight = new List<string>();
        var stored = Search(builder, method, reuse: true, budget: null, roomy);
        // A store and a fifth: every capture after the first makes room by dropping older stores.
        var dropped = Search(builder, method, reuse: true, budget: whole * 6 / 5, tight);
        SameRun.Check(stored, dropped);
        var held = System.Text.RegularExpressions.Regex.Match(tight.Single(l => l.StartsWith("Evaluations run from stored activations: ", StringComparison.Ordinal)),
            @"the stores held at most ([\d.]+) of ([\d.]+) MB; captures reused ([\d.]+) MB that dropped stores had held\.$");
        // At most the budget, and the rows the two workers gave a capture as it passed its allowance (not kept), within
        // the line's rounding to 0.1 MB.
        double Megabytes(int group) => double.Parse(held.Groups[group].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(Megabytes(1), whole / 1e6 - 0.1, Megabytes(2) + 0.1);
        // Signal ranking's search steps drop stores for their captures, which copy into the dropped stores' memory: the
        // search still takes the roomy one's path. (Metric ranking's captures here pass the budget instead.)
        if (method == RankingMethod.Signal) Assert.True(Megabytes(3) > 0, held.Value);
    }

    [Fact]
    public void A_Metric_search_on_every_item_keeps_the_store_of_the_ranking_leader_it_goes_on_from()
    {
        var path = _folder.File("six.onnx");
        OnnxModelFile.Save(SyntheticModels.AffineHardSwishConvs(6, 16, 3), path);
        // One calibration value far out makes the input's INT8 grid coarse: conv0 costs the most. The ranking measures
        // it first, then five more layers completely, each storing its activations: more stores than are kept.
        var data = SyntheticModels.ImageLikeData(Items, 16, 16, 16, 2).ToFloats();
        data[0] = 200;
        Directory.CreateDirectory(_folder.File("outlier"));
        NpyWriter.Save(_folder.File("outlier/x.npy"), data, new long[] { Items, 16, 16, 16 }, "<f4");
        using var calibration = NpyDataset.Open(_folder.File("outlier"));
        var builder = QuantizedModelBuilder.Create(path, calibration, new DefaultQuantizationOptions { Precision = PrecisionMode.AllInt8 });
        var notices = new List<string>();
        var result = Search(builder, RankingMethod.Metric, reuse: true, budget: null, notices, subset: Items, backward: false).Result;
        Assert.Contains(notices, l => l.StartsWith("Ranking 1 (Metric, metric cosine_similarity, 24 items, decided early): 6 evaluations", StringComparison.Ordinal));
        var steps = result.Iterations.Where(i => i.Stage == "Search").Select(i => i.Layer).ToList();
        Assert.Equal("conv0", steps[0]);
        Assert.Equal(6, steps.Count);
        Assert.Single(notices, l => l.StartsWith("Ranking", StringComparison.Ordinal));

        // Every model one layer away from a model measured completely runs as a suffix when its cut is small enough: the
        // ranking's candidates from the fully quantized model, and each search step from the one before, the first one
        // from the ranking's leader.
        bool HasCut(IEnumerable<string> from, string layer)
        {
            var baseModel = builder.Build(from.ToHashSet());
            return SuffixCut.Find(baseModel, builder.Build(from.Append(layer).ToHashSet()), SuffixCut.CutTensors(baseModel.Graph).ToHashSet(),
                _ => new[] { "batch", "16", "16", "16" }, ActivationReuse.MaxShare, capture: true) != null;
        }
        int expected = builder.Layers.Count(l => HasCut(Array.Empty<string>(), l.Node)) + Enumerable.Range(1, steps.Count - 1).Count(k => HasCut(steps.Take(k), steps[k]));
        Assert.True(expected >= 7, $"{expected} suffixes expected");
        Assert.Contains($"Evaluations run from stored activations: {expected} of ", notices.Single(l => l.StartsWith("Evaluations run from stored", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_suffix_ONNX_Runtime_refuses_runs_whole_and_every_later_candidate_too()
    {
        var builder = Builder();
        var options = new AccuracyAwareOptions { Quantization = builder.Setup.Options };
        using var evaluator = new Evaluator(EngineDefinition.Load(_folder.File("engine.yml")), new EvaluatorOptions { ReferenceModel = builder.FloatModel.ToByteArray() });
        var reuse = new ActivationReuse(Items, long.MaxValue);
        var log = new List<string>();
        var session = new EvaluationSession(evaluator, options, () => TimeSpan.Zero, null, CancellationToken.None) { Reuse = reuse, Log = log.Add };
        var fully = ModelCandidate.FullyQuantized(new QuantizationSource("performance", builder.Setup.Options, builder));

        // A store of the fully quantized model whose rows are a column short of the shape ONNX Runtime declared for
        // them: the suffix that reads them cannot run.
        var model = fully.Build();
        var store = new ActivationStore(fully, model, Items, long.MaxValue);
        foreach (var name in SuffixCut.CutTensors(model.Graph))
            for (int item = 0; item < Items; item++) store.Keep(item, name, new byte[16 * 16 * 15], new long[] { 1, 16, 16, 15 }, new[] { "batch", "16", "16", "16" });
        store.Complete(null, null);
        reuse.Ran(new ActivationReuse.Plan(Array.Empty<byte>(), null, store, null, 1), complete: true);
        Assert.Single(reuse.Snapshot());

        var last = fully.With(builder.Layers[3].Node);
        var result = session.Evaluate(last, null);
        Assert.Equal(Whole(last), result.PerItem["cosine_similarity"]);
        Assert.Contains(log, l => l.StartsWith("Candidates run whole from here: ONNX Runtime refused a model fed with stored activations", StringComparison.Ordinal));
        // Nothing is stored from here on, and no later candidate runs from a store.
        Assert.Empty(reuse.Snapshot());
        var next = last.With(builder.Layers[2].Node);
        Assert.Equal(Whole(next), session.Evaluate(next, null).PerItem["cosine_similarity"]);
        Assert.Empty(reuse.Snapshot());
        Assert.Equal(0, reuse.Suffixes);
        Assert.Single(log);

        double[] Whole(ModelCandidate candidate) => evaluator.Evaluate(candidate.BuildBytes(), null, CancellationToken.None).PerItem["cosine_similarity"];
    }

    [Fact]
    public void A_capture_drops_the_least_recently_used_stores_to_fit_the_budget_but_never_the_one_it_reads_nor_the_pinned_one()
    {
        var builder = Builder();
        var fully = ModelCandidate.FullyQuantized(new QuantizationSource("performance", builder.Setup.Options, builder));
        var names = SuffixCut.CutTensors(fully.Build().Graph).Order(StringComparer.Ordinal).ToList();
        Assert.True(names.Count >= 4, $"{names.Count} cut tensors");
        const int Row = 10;
        long whole = (long)names.Count * Items * Row;
        var reuse = new ActivationReuse(Items, whole * 34 / 10);
        ActivationStore Kept(ModelCandidate candidate)
        {
            var store = Filled(new ActivationStore(candidate, candidate.Build(), Items, long.MaxValue), names, Row);
            reuse.Ran(new ActivationReuse.Plan(Array.Empty<byte>(), null, store, null, 1), complete: true);
            return store;
        }
        var a = Kept(fully);
        var b = Kept(fully.With(builder.Layers[0].Node));
        var c = Kept(fully.With(builder.Layers[1].Node));
        reuse.Pinned = b.Candidate;

        // A candidate cut from a (the oldest store) computes half the tensors again: 3.5 stores would pass 3.4, so the
        // least recently used store that is neither a nor pinned goes.
        var produced = names.Take(names.Count / 2).ToHashSet(StringComparer.Ordinal);
        var t = new ActivationStore(fully.With(builder.Layers[2].Node), fully.With(builder.Layers[2].Node).Build(), Items, long.MaxValue);
        var plan = new ActivationReuse.Plan(Array.Empty<byte>(), a, t, produced, 0.5);
        reuse.MakeRoom(plan);
        Assert.Equal(new[] { b, a }, reuse.Snapshot());
        // It may capture what the budget leaves beside a and b (1.4 stores): its half.
        Filled(t, produced, Row);
        Assert.False(t.Overflowed);
        reuse.Ran(plan, complete: true);
        Assert.Equal(new[] { a, t, b }, reuse.Snapshot());
        Assert.Equal(produced.Count * Items * Row, t.Bytes);

        // A candidate cut from t: dropping a (the least recently used, not pinned) leaves t holding what it took from a.
        var u = new ActivationStore(t.Candidate.With(builder.Layers[3].Node), t.Candidate.With(builder.Layers[3].Node).Build(), Items, long.MaxValue);
        reuse.MakeRoom(new ActivationReuse.Plan(Array.Empty<byte>(), t, u, names.ToHashSet(StringComparer.Ordinal), 1));
        Assert.Equal(new[] { t, b }, reuse.Snapshot());
        Assert.Equal(whole, t.Bytes);
        Assert.Null(t.Base);
    }

    [Fact]
    public void Read_only_a_candidate_layers_away_runs_from_the_store_from_the_earliest_layer_it_changes_and_adds_none()
    {
        var builder = Builder();
        using var evaluator = new Evaluator(EngineDefinition.Load(_folder.File("engine.yml")), new EvaluatorOptions { ReferenceModel = builder.FloatModel.ToByteArray() });
        var options = new AccuracyAwareOptions { Quantization = builder.Setup.Options };
        var reuse = new ActivationReuse(Items, long.MaxValue);
        var session = new EvaluationSession(evaluator, options, () => TimeSpan.Zero, null, CancellationToken.None) { Reuse = reuse };
        var fully = ModelCandidate.FullyQuantized(new QuantizationSource("performance", builder.Setup.Options, builder));
        string second = builder.Layers[1].Node, last = builder.Layers[3].Node;
        // The backward pass's model: layers 1 and 3 float. Quantizing 3 again, then 1 as well, gives candidates one and
        // two layers away from it; the second one runs from its store from layer 1 on, as layer 1's own suffix does.
        var search = fully.With(second).With(last);
        session.Evaluate(search, null);
        var stored = Assert.Single(reuse.Snapshot());
        reuse.ReadOnly = true;
        var both = session.Evaluate(fully, null);

        Assert.Equal(1, reuse.Suffixes);
        Assert.Equal(new[] { stored }, reuse.Snapshot());
        var fromSecond = SuffixCut.Find(fully.With(second).Build(), fully.Build(), stored.Names, stored.Declared, ActivationReuse.MaxShare, capture: false)!;
        Assert.Equal(fromSecond.NodeShare, reuse.ShareSum, 12);
        Assert.True(fromSecond.NodeShare < 1);
        // The same bits as the whole model.
        using var plain = new Evaluator(EngineDefinition.Load(_folder.File("engine.yml")), new EvaluatorOptions { ReferenceModel = builder.FloatModel.ToByteArray() });
        var whole = new EvaluationSession(plain, options, () => TimeSpan.Zero, null, CancellationToken.None).Evaluate(fully, null);
        Assert.Equal(whole.Values, both.Values);
        foreach (var (name, values) in whole.PerItem) Assert.Equal(values, both.PerItem[name]);
    }

    [Fact]
    public void A_store_holds_only_the_cut_tensors_some_layers_suffix_within_the_share_limit_reads()
    {
        var builder = Builder();
        using var evaluator = new Evaluator(EngineDefinition.Load(_folder.File("engine.yml")), new EvaluatorOptions { ReferenceModel = builder.FloatModel.ToByteArray() });
        var reuse = new ActivationReuse(Items, long.MaxValue);
        var session = new EvaluationSession(evaluator, new AccuracyAwareOptions { Quantization = builder.Setup.Options }, () => TimeSpan.Zero, null, CancellationToken.None) { Reuse = reuse };
        var fully = ModelCandidate.FullyQuantized(new QuantizationSource("performance", builder.Setup.Options, builder));
        session.Evaluate(fully, null);
        var store = Assert.Single(reuse.Snapshot());

        var model = fully.Build();
        var cuts = SuffixCut.CutTensors(model.Graph);
        var parts = builder.Layers.Select(l => SuffixCut.Find(model, fully.With(l.Node).Build(), cuts.ToHashSet(), _ => new[] { "batch", "16", "16", "16" }, maxShare: 1, capture: false)!).ToList();
        // Reverting a convolution removes its input's QuantizeLinear, so its part begins where the float ops before it
        // read the previous convolution's quantized output; conv0's part is the whole model. The convolutions' own
        // quantized inputs, and the last one's output, are read by no part: 3 of the 8 cut tensors are stored.
        Assert.Equal(8, cuts.Count);
        Assert.Equal(new[] { 1.0 }, parts.Take(1).Select(p => p.NodeShare));
        Assert.Equal(new[] { "conv0_out_quantized", "conv1_out_quantized", "conv2_out_quantized" }, parts.Skip(1).Select(p => Assert.Single(p.StoredInputs)));
        Assert.Equal(new[] { "conv0_out_quantized", "conv1_out_quantized", "conv2_out_quantized" }, store.Names.Order(StringComparer.Ordinal));
    }

    /// <summary>The real builder, except that a model with <paramref name="layer"/> reverted cannot be built.</summary>
    private sealed class CannotRevert(IQuantizedModelBuilder inner, string layer) : IQuantizedModelBuilder
    {
        public ModelProto FloatModel => inner.FloatModel;
        public IReadOnlyList<QuantizableLayer> Layers => inner.Layers;
        public ModelProto Build(IReadOnlySet<string> revertedLayers) =>
            revertedLayers.Contains(layer) ? throw new InvalidOperationException($"{layer} cannot be reverted") : inner.Build(revertedLayers);
    }

    [Fact]
    public void A_layer_whose_reverted_model_cannot_be_built_fails_no_run_that_never_reverts_it_and_every_cut_tensor_is_stored()
    {
        var builder = Builder();
        var refusing = new CannotRevert(builder, builder.Layers[2].Node);
        using var evaluator = new Evaluator(EngineDefinition.Load(_folder.File("engine.yml")), new EvaluatorOptions { ReferenceModel = builder.FloatModel.ToByteArray() });
        // The fully quantized model meets a loose limit: no layer is reverted, but its evaluation stores activations.
        var result = new AccuracyAwareQuantizer(new AccuracyAwareOptions { MaximalDrop = 1, Quantization = builder.Setup.Options }).Run(refusing, evaluator).Result;
        Assert.Empty(result.RevertedLayers);
        Assert.Empty(result.Iterations);

        // Which tensors that layer's suffix would read is not known, so the store keeps every cut tensor.
        var reuse = new ActivationReuse(Items, long.MaxValue);
        var session = new EvaluationSession(evaluator, new AccuracyAwareOptions { Quantization = builder.Setup.Options }, () => TimeSpan.Zero, null, CancellationToken.None) { Reuse = reuse };
        var fully = ModelCandidate.FullyQuantized(new QuantizationSource("performance", builder.Setup.Options, refusing));
        session.Evaluate(fully, null);
        Assert.Equal(SuffixCut.CutTensors(fully.Build().Graph).Order(StringComparer.Ordinal), Assert.Single(reuse.Snapshot()).Names.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_capture_past_the_budget_is_not_kept_and_a_second_one_in_a_row_stops_storing()
    {
        var builder = Builder();
        var fully = ModelCandidate.FullyQuantized(new QuantizationSource("performance", builder.Setup.Options, builder));
        var names = SuffixCut.CutTensors(fully.Build().Graph).ToList();
        var reuse = new ActivationReuse(Items, names.Count * Items * 10L / 2);
        byte[] Serialize(ModelProto m) => m.ToByteArray();
        for (int attempt = 1; attempt <= ActivationReuse.OverflowsBeforeGivingUp; attempt++)
        {
            var plan = reuse.Make(fully, fullSet: true, reuse.Snapshot(), Serialize);
            Assert.NotNull(plan.Target);
            reuse.MakeRoom(plan);
            Filled(plan.Target!, names, 10);
            Assert.True(plan.Target!.Overflowed);
            reuse.Ran(plan, complete: true);
            Assert.Empty(reuse.Snapshot());
        }
        Assert.Null(reuse.Make(fully, fullSet: true, reuse.Snapshot(), Serialize).Target);
    }

    /// <summary>Gives every item a row of <paramref name="row"/> bytes of each named tensor, each byte <paramref name="value"/>.</summary>
    private static ActivationStore Filled(ActivationStore store, IEnumerable<string> names, int row, byte value = 0)
    {
        var bytes = Enumerable.Repeat(value, row).ToArray();
        foreach (var name in names)
            for (int item = 0; item < Items; item++) store.Keep(item, name, bytes, new long[] { 1, row }, new[] { "batch", row.ToString() });
        return store;
    }

    /// <summary>True when every item holds every named tensor, each byte <paramref name="value"/>.</summary>
    private static bool Holds(ActivationStore store, IEnumerable<string> names, byte value) =>
        names.All(name => Enumerable.Range(0, Items).All(item => store.TryGet(item, name, out var bytes, out _) && bytes.ToArray().All(b => b == value)));

    private const int StoredRow = 4096;

    /// <summary>
    /// The fully quantized model's store, each byte 1, with room beside it for most of another: a second capture drops
    /// it. <see cref="TwoAway"/> gives that capture's candidate.
    /// </summary>
    private (ActivationReuse Reuse, ActivationStore A, ModelCandidate Fully, List<string> Names) OneStoreAndMostOfAnother()
    {
        var builder = Builder();
        var fully = ModelCandidate.FullyQuantized(new QuantizationSource("performance", builder.Setup.Options, builder));
        var names = SuffixCut.CutTensors(fully.Build().Graph).ToList();
        var reuse = new ActivationReuse(Items, names.Count * Items * StoredRow * 19L / 10);
        return (reuse, Captured(reuse, fully, names, StoredRow, 1), fully, names);
    }

    /// <summary>Two layers away from <paramref name="fully"/>, so captured whole.</summary>
    private static ModelCandidate TwoAway(ModelCandidate fully) =>
        fully.With(fully.Source.Builder.Layers[0].Node).With(fully.Source.Builder.Layers[1].Node);

    [Fact]
    public void A_capture_copies_into_the_memory_of_the_store_it_dropped_and_the_dropped_store_holds_nothing()
    {
        var (reuse, a, fully, names) = OneStoreAndMostOfAnother();
        long fresh = reuse.Pool.FreshBytes;
        Assert.True(fresh >= names.Count * Items * StoredRow, $"{fresh} bytes");
        Assert.Equal(0, reuse.Pool.ReusedBytes);

        var b = Captured(reuse, TwoAway(fully), names, StoredRow, 2);
        Assert.Equal(new[] { b }, reuse.Snapshot());
        Assert.Equal(fresh, reuse.Pool.FreshBytes);
        Assert.Equal(fresh, reuse.Pool.ReusedBytes);
        Assert.True(Holds(b, names, 2));
        Assert.False(a.TryGet(0, names[0], out _, out _));
    }

    [Fact]
    public void A_store_dropped_while_a_plan_made_ahead_from_it_waits_keeps_its_rows_until_that_plan_ran()
    {
        var (reuse, a, fully, names) = OneStoreAndMostOfAnother();

        // As the evaluation session makes a plan ahead: from the stores held when the evaluation before it started.
        ActivationReuse.Plan ahead;
        using (var lease = reuse.Take()) ahead = reuse.Make(fully.With(fully.Source.Builder.Layers[2].Node), fullSet: false, lease.Stores, m => m.ToByteArray());
        Assert.Same(a, ahead.Source);
        // That evaluation drops a to make room for its capture, which must not copy into a's rows.
        var b = Captured(reuse, TwoAway(fully), names, StoredRow, 2);
        Assert.Equal(new[] { b }, reuse.Snapshot());
        Assert.Equal(0, reuse.Pool.ReusedBytes);
        Assert.True(Holds(a, names, 1));

        reuse.Ran(ahead, complete: false);
        Assert.False(a.TryGet(0, names[0], out _, out _));
        Assert.True(reuse.Pool.FreeBytes > 0);
        Assert.True(Holds(b, names, 2));
    }

    [Fact]
    public void Rows_a_store_took_from_one_that_is_dropped_stay_intact_while_later_captures_reuse_the_rest()
    {
        var (reuse, a, fully, names) = OneStoreAndMostOfAnother();
        // t, one layer away from a, computes half the tensors again and takes the others from a.
        var produced = names.Take(names.Count / 2).ToHashSet(StringComparer.Ordinal);
        var layer = fully.With(fully.Source.Builder.Layers[2].Node);
        var t = new ActivationStore(layer, layer.Build(), Items, long.MaxValue, reuse.Pool);
        var plan = new ActivationReuse.Plan(Array.Empty<byte>(), a, t, produced, 0.5);
        reuse.MakeRoom(plan);
        Filled(t, produced, StoredRow, 3);
        reuse.Ran(plan, complete: true);
        reuse.Pinned = t.Candidate;

        // A whole capture drops a (t is pinned) and copies into the rows of a that t did not take.
        var wholePlan = reuse.Make(TwoAway(fully), fullSet: true, reuse.Snapshot(), m => m.ToByteArray());
        reuse.MakeRoom(wholePlan);
        Assert.Equal(new[] { t }, reuse.Snapshot());
        Filled(wholePlan.Target!, names, StoredRow, 2);
        reuse.Ran(wholePlan, complete: true);
        Assert.True(reuse.Pool.ReusedBytes > 0);
        Assert.True(Holds(t, produced, 3));
        Assert.True(Holds(t, names.Except(produced), 1));
    }

    /// <summary>Captures <paramref name="candidate"/> as an evaluation on every item does: plan, room, rows, kept.</summary>
    private static ActivationStore Captured(ActivationReuse reuse, ModelCandidate candidate, IReadOnlyList<string> names, int row, byte value)
    {
        var plan = reuse.Make(candidate, fullSet: true, reuse.Snapshot(), m => m.ToByteArray());
        Assert.Null(plan.Source);
        reuse.MakeRoom(plan);
        Filled(plan.Target!, names, row, value);
        reuse.Ran(plan, complete: true);
        Assert.Contains(plan.Target!, reuse.Snapshot());
        return plan.Target!;
    }

    /// <summary>A search with a limit only FP32 meets: every layer is ranked and tried, and the backward pass runs.</summary>
    private AccuracyAwareOutcome Search(QuantizedModelBuilder builder, RankingMethod method, bool reuse, long? budget, List<string> notices, int subset = 12, bool backward = true)
    {
        var options = new AccuracyAwareOptions { MaximalDrop = 1e-9, RankingSubsetSize = subset, BackwardPass = backward, RankingMethod = method, ReuseActivations = reuse, Quantization = builder.Setup.Options };
        using var evaluator = new Evaluator(EngineDefinition.Load(_folder.File("engine.yml")), new EvaluatorOptions { ReferenceModel = builder.FloatModel.ToByteArray() });
        return new AccuracyAwareQuantizer(options) { Log = new LogLines(notices), ActivationBudget = budget }.Run(builder, evaluator);
    }
}
