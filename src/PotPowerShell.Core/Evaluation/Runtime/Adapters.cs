using System.Text;
using System.Runtime.CompilerServices;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Evaluation;

/// <summary>Turns raw outputs of one item into a prediction (the runtime side of an <see cref="AdapterDefinition"/>).</summary>
internal abstract class Adapter
{
    protected Adapter(AdapterDefinition definition) => Definition = definition;

    public AdapterDefinition Definition { get; }

    /// <summary>The output the adapter reads (resolved against the model), or -1 for identity without one.</summary>
    public int OutputIndex { get; private set; } = -1;

    public string? OutputName { get; private set; }

    public static Adapter Create(AdapterDefinition d) => d.Type switch
    {
        AdapterType.Classification => new ClassificationAdapter(d),
        AdapterType.CtcGreedy => new CtcGreedyAdapter(d),
        AdapterType.Ssd => new SsdAdapter(d),
        AdapterType.YoloV8 => new YoloV8Adapter(d),
        AdapterType.YoloV5 => new YoloV5Adapter(d),
        AdapterType.YoloV3 or AdapterType.YoloV2 => new YoloGridAdapter(d),
        AdapterType.Yolox => new YoloxAdapter(d),
        AdapterType.YoloV3Onnx => new YoloV3OnnxAdapter(d),
        AdapterType.NanoDet => new NanoDetAdapter(d),
        AdapterType.Detr => new DetrAdapter(d),
        AdapterType.ClassAgnostic => new ClassAgnosticAdapter(d),
        AdapterType.PriorBoxes => new PriorBoxesAdapter(d),
        AdapterType.Segmentation => new SegmentationAdapter(d),
        AdapterType.Reid => new ReidAdapter(d),
        AdapterType.QuestionAnswering => new QuestionAnsweringAdapter(d),
        AdapterType.TokenClassification => new TokenClassificationAdapter(d),
        _ => new IdentityAdapter(d),
    };

    /// <summary>Outputs read besides <see cref="OutputName"/>, with the key that names each.</summary>
    public virtual IEnumerable<(string Key, string Name)> OtherOutputs => Array.Empty<(string, string)>();

    /// <summary>
    /// Outputs read as the batch's, not one row per item (a NonMaxSuppression's selected indices [M, 3] name the image
    /// in a column): whatever their shape, no item's values can be compared in them.
    /// </summary>
    public virtual IEnumerable<string> SharedOutputs => Array.Empty<string>();

    /// <summary>
    /// True when the output holds each item's class rather than class scores: a classification adapter with
    /// argmax_output, or on an output of integers (a model that ends in ArgMax). See <see cref="Labels.Predicted"/>.
    /// </summary>
    public bool LabelOutput { get; private set; }

    /// <summary>
    /// Resolves the output by name (or <paramref name="defaultOutput"/>, see SessionRunner.DefaultOutput) for a model with
    /// these outputs, of which <paramref name="integerOutputs"/> hold integers.
    /// </summary>
    /// <param name="inputDims">The declared dimensions of the model's image input, for adapters that scale by its size.</param>
    public void Bind(IReadOnlyList<string> modelOutputs, string? defaultOutput, IReadOnlySet<string> integerOutputs, IReadOnlyList<int>? inputDims = null)
    {
        InputDims = inputDims;
        OutputName = Definition.Output ?? defaultOutput ?? modelOutputs[0];
        LabelOutput = Definition.Type == AdapterType.Classification && (Definition.ArgmaxOutput || integerOutputs.Contains(OutputName));
        foreach (var (key, name) in OtherOutputs.Prepend(("output", OutputName)))
            if (!modelOutputs.Contains(name))
                throw new PotException("EngineOutputNotFound", PotErrorCategory.InvalidData,
                    $"{Definition.KeyPath}.{key}: the model has no output '{name}'. Its outputs: {string.Join(", ", modelOutputs)}.", Definition.KeyPath);
        BindOthers();
    }

    /// <summary>See <see cref="Bind"/>.</summary>
    protected IReadOnlyList<int>? InputDims { get; private set; }

    protected virtual void BindOthers()
    {
    }

    /// <summary>The prediction of one item, given its annotation (detections are scaled to the annotated image).</summary>
    public virtual object? Predict(BatchOutputs outputs, int row, object? annotation) => Predict(outputs, row);

    public void Resolve(BatchOutputs outputs) => OutputIndex = OutputName == null ? -1 : outputs.IndexOf(OutputName);

    public abstract object? Predict(BatchOutputs outputs, int row);
}

internal sealed class IdentityAdapter(AdapterDefinition d) : Adapter(d)
{
    public override object? Predict(BatchOutputs outputs, int row) => null;
}

internal sealed class ClassificationAdapter(AdapterDefinition d) : Adapter(d)
{
    /// <summary>The top-1 class: the first index holding the largest score, or the class a label output holds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override object? Predict(BatchOutputs outputs, int row) =>
        LabelOutput ? Labels.Predicted(outputs.Row(OutputIndex, row), this) : (long)ClassScores.ArgMax(outputs.Row(OutputIndex, row));
}

/// <summary>
/// CTC greedy decoding: the best class per time step, repeats merged, blanks dropped, classes mapped to symbols. The
/// dictionary lists one symbol per class index; when it has one entry fewer than the classes, it skips the blank.
/// </summary>
internal sealed class CtcGreedyAdapter(AdapterDefinition d) : Adapter(d)
{
    public override object? Predict(BatchOutputs outputs, int row)
    {
        int steps = Steps(outputs);
        var classIds = new int[steps];
        double smallest = double.PositiveInfinity;
        for (int t = 0; t < steps; t++)
        {
            (classIds[t], double margin) = BestAndMargin(Step(outputs, row, t, steps));
            smallest = Math.Min(smallest, margin);
        }
        _margin = (outputs, row, smallest);
        int classes = (int)outputs.Shapes[OutputIndex][2];
        return Definition.BeamSize > 1
            ? Text(CtcBeamSearch.Best(t => Step(outputs, row, t, steps), steps, classes, Definition.BlankIndex, Definition.BeamSize, Definition.Probabilities), Definition.Symbols!,
                Definition.BlankIndex, classes, Definition.KeyPath)
            : Decode(classIds, Definition.Symbols!, Definition.BlankIndex, classes, Definition.KeyPath);
    }

    /// <summary>The smallest margin of the item <see cref="Predict"/> decoded last (one pass gives both).</summary>
    private (BatchOutputs Outputs, int Row, double Margin) _margin;

    /// <summary>
    /// Over the time steps of one item, the smallest difference between a step's best score and its second best: how
    /// close the greedy path is to another class at some step (0 on a tie; +infinity with fewer than two classes).
    /// </summary>
    public double SmallestMargin(BatchOutputs outputs, int row)
    {
        if (ReferenceEquals(_margin.Outputs, outputs) && _margin.Row == row) return _margin.Margin;
        Predict(outputs, row);
        return _margin.Margin;
    }

    /// <summary>The first index holding the largest score (as <see cref="ClassScores.ArgMax"/>), and its lead over the next score.</summary>
    private static (int Best, double Margin) BestAndMargin(ReadOnlySpan<float> scores)
    {
        if (scores.IsEmpty) return (0, double.PositiveInfinity);
        int best = 0;
        float first = scores[0], second = float.NegativeInfinity;
        for (int i = 1; i < scores.Length; i++)
        {
            float v = scores[i];
            if (v > first)
            {
                second = first;
                first = v;
                best = i;
            }
            else if (v > second) second = v;
        }
        return (best, (double)first - second);
    }

    /// <summary>The scores of one time step of one item.</summary>
    private ReadOnlySpan<float> Step(BatchOutputs outputs, int row, int t, int steps)
    {
        int classes = (int)outputs.Shapes[OutputIndex][2];
        long offset = Definition.Layout == CtcLayout.Ntc ? ((long)row * steps + t) * classes : ((long)t * outputs.Rows + row) * classes;
        return outputs.Data[OutputIndex].AsSpan((int)offset, classes);
    }

    /// <summary>The time steps of the output, after checking its shape against the layout and the batch.</summary>
    private int Steps(BatchOutputs outputs)
    {
        var shape = outputs.Shapes[OutputIndex];
        if (shape.Length != 3)
            throw new PotException("EngineOutputShape", PotErrorCategory.InvalidData,
                $"{Definition.KeyPath}: ctc_greedy needs a 3-D output ({(Definition.Layout == CtcLayout.Ntc ? "batch, time, classes" : "time, batch, classes")}), but '{OutputName}' has shape [{string.Join(",", shape)}].", Definition.KeyPath);
        int batchAxis = Definition.Layout == CtcLayout.Ntc ? 0 : 1;
        if (shape[batchAxis] != outputs.Rows)
            throw new PotException("EngineOutputShape", PotErrorCategory.InvalidData,
                $"{Definition.KeyPath}: with layout {Definition.Layout.ToString().ToUpperInvariant()} the batch axis of '{OutputName}' (shape [{string.Join(",", shape)}]) should hold {outputs.Rows} items. Check layout: (NTC or TNC).", Definition.KeyPath);
        return (int)shape[Definition.Layout == CtcLayout.Ntc ? 1 : 0];
    }

    /// <summary>The text of the greedy path <paramref name="classIds"/>.</summary>
    public static string Decode(IReadOnlyList<int> classIds, IReadOnlyList<string> symbols, int blank, int classes, string keyPath) =>
        Text(Collapsed(classIds, blank), symbols, blank, classes, keyPath);

    /// <summary>The greedy path's labels: repeats merged, blanks dropped.</summary>
    private static List<int> Collapsed(IReadOnlyList<int> classIds, int blank)
    {
        var labels = new List<int>();
        int previous = -1;
        foreach (int c in classIds)
        {
            if (c != previous && c != blank) labels.Add(c);
            previous = c;
        }
        return labels;
    }

    /// <summary>The text of decoded labels (no blank among them): each class's symbol, past the blank's place when the dictionary leaves it out.</summary>
    private static string Text(IReadOnlyList<int> labels, IReadOnlyList<string> symbols, int blank, int classes, string keyPath)
    {
        bool skipsBlank = symbols.Count == classes - 1;
        if (!skipsBlank && symbols.Count < classes)
            throw new PotException("CtcDictionaryTooShort", PotErrorCategory.InvalidData,
                $"{keyPath}: the dictionary has {symbols.Count} symbols but the output has {classes} classes: list one symbol per class (the blank's entry may be left out).", keyPath);
        var text = new StringBuilder();
        foreach (int c in labels) text.Append(symbols[skipsBlank && c > blank ? c - 1 : c]);
        return text.ToString();
    }
}

/// <summary>
/// CTC prefix beam search as Accuracy Checker's beam_search_decoder runs it: per time step every prefix of the beam is
/// extended by every class (the blank keeps it; a class equal to the prefix's last extends it only from paths ending
/// in a blank, and merges into it from the others), probabilities of ending in a blank and not kept apart in log
/// space; then the beam_size prefixes of highest total, ties in the order the step first reached them. The scores are
/// log-probabilities (logits rank the paths the same: every path takes one class per step), or probabilities whose
/// logs are taken.
/// </summary>
internal static class CtcBeamSearch
{
    /// <summary>The scores of one time step.</summary>
    public delegate ReadOnlySpan<float> StepScores(int step);

    /// <summary>A prefix in the step's candidates: its node in the prefix tree, and log-probabilities of ending in a blank or not.</summary>
    private struct Candidate(int node)
    {
        public readonly int Node = node;
        public double Blank = double.NegativeInfinity, NonBlank = double.NegativeInfinity;
        public readonly double Total => LogSumExp(Blank, NonBlank);
    }

    public static List<int> Best(StepScores step, int steps, int classes, int blank, int beamSize, bool probabilities)
    {
        // Prefixes are nodes of a tree (node 0 the empty prefix): a node's parent and last label, its children by label.
        var parent = new List<int> { -1 };
        var label = new List<int> { -1 };
        var children = new Dictionary<long, int>();
        int Child(int node, int c)
        {
            long key = (long)node << 32 | (uint)c;
            if (!children.TryGetValue(key, out int child))
            {
                children[key] = child = parent.Count;
                parent.Add(node);
                label.Add(c);
            }
            return child;
        }
        var beam = new List<Candidate> { new(0) { Blank = 0 } };
        var reached = new List<Candidate>();
        var position = new Dictionary<int, int>();
        for (int t = 0; t < steps; t++)
        {
            var scores = step(t);
            reached.Clear();
            position.Clear();
            // The step's entry of a prefix, added in the order the step first reaches it.
            int At(int node)
            {
                if (!position.TryGetValue(node, out int at))
                {
                    position[node] = at = reached.Count;
                    reached.Add(new Candidate(node));
                }
                return at;
            }
            for (int c = 0; c < classes; c++)
            {
                // In float, as Accuracy Checker takes the log of its float32 output.
                double score = probabilities ? MathF.Log(scores[c]) : scores[c];
                foreach (var prefix in beam)
                {
                    if (c == blank)
                    {
                        int same = At(prefix.Node);
                        var s = reached[same];
                        s.Blank = LogSumExp(s.Blank, prefix.Blank + score, prefix.NonBlank + score);
                        reached[same] = s;
                        continue;
                    }
                    bool repeat = label[prefix.Node] == c;
                    int extended = At(Child(prefix.Node, c));
                    var e = reached[extended];
                    e.NonBlank = repeat ? LogSumExp(e.NonBlank, prefix.Blank + score) : LogSumExp(e.NonBlank, prefix.Blank + score, prefix.NonBlank + score);
                    reached[extended] = e;
                    if (repeat)
                    {
                        int merged = At(prefix.Node);
                        var m = reached[merged];
                        m.NonBlank = LogSumExp(m.NonBlank, prefix.NonBlank + score);
                        reached[merged] = m;
                    }
                }
            }
            // A stable sort: prefixes of equal totals keep the order the step reached them in.
            beam = reached.OrderByDescending(p => p.Total).Take(beamSize).ToList();
        }
        var labels = new List<int>();
        for (int node = beam[0].Node; node > 0; node = parent[node]) labels.Add(label[node]);
        labels.Reverse();
        return labels;
    }

    private static double LogSumExp(double a, double b)
    {
        double max = Math.Max(a, b);
        return double.IsNegativeInfinity(max) ? max : max + Math.Log(Math.Exp(a - max) + Math.Exp(b - max));
    }

    private static double LogSumExp(double a, double b, double c)
    {
        double max = Math.Max(a, Math.Max(b, c));
        return double.IsNegativeInfinity(max) ? max : max + Math.Log(Math.Exp(a - max) + Math.Exp(b - max) + Math.Exp(c - max));
    }
}

internal static class ClassScores
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int ArgMax(ReadOnlySpan<float> scores)
    {
        int best = 0;
        for (int i = 1; i < scores.Length; i++)
            if (scores[i] > scores[best]) best = i;
        return best;
    }

    /// <summary>
    /// How far class <paramref name="cls"/> is inside the top <paramref name="k"/>: its score minus the k-th best score
    /// of the other classes (positive = inside; the top-1 margin for k = 1). Continuous where top-k accuracy is 0/1.
    /// </summary>
    public static double Margin(ReadOnlySpan<float> scores, int cls, int k)
    {
        if (scores.Length <= k) return 0;
        Span<float> best = stackalloc float[Math.Min(k, 64)];
        k = best.Length;
        best.Fill(float.NegativeInfinity);
        for (int i = 0; i < scores.Length; i++)
        {
            if (i == cls) continue;
            float v = scores[i];
            if (!(v > best[k - 1])) continue;
            int j = k - 1;
            while (j > 0 && best[j - 1] < v) { best[j] = best[j - 1]; j--; }
            best[j] = v;
        }
        return (double)scores[cls] - best[k - 1];
    }

    /// <summary>
    /// Rank of a class: how many classes come before it in a stable descending sort (higher score, or equal score and
    /// lower index). Top-k holds the class when its rank is below k.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Rank(ReadOnlySpan<float> scores, int cls)
    {
        float s = scores[cls];
        int rank = 0;
        for (int i = 0; i < scores.Length; i++)
            if (scores[i] > s || (scores[i] == s && i < cls)) rank++;
        return rank;
    }
}
