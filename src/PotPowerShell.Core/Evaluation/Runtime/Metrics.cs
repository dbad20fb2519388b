using System.Globalization;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Results;
using System.Runtime.CompilerServices;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Evaluation;

/// <summary>One item as metrics see it; reused from item to item (metrics must not keep it).</summary>
internal sealed class SampleView
{
    public int Index;
    public int Row;
    public object? Annotation;
    public int Dataset;
    public DatasetDefinition Definition = null!;
    public BatchOutputs Outputs = null!;
    public Adapter Adapter = null!;
    public object? Prediction;
    public ReferenceStore? References;
    /// <summary>True when an output the item sees holds NaN or ±Inf: every metric then scores the item at its worst.</summary>
    public bool NonFinite;

    /// <summary>The adapter's output row: class scores for classification.</summary>
    public ReadOnlySpan<float> Scores
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            Outputs.RequireBatchFirst(Adapter.OutputIndex, "the metrics");
            return Outputs.Row(Adapter.OutputIndex, Row);
        }
    }

    /// <summary>The row of a named output (or the adapter's output when <paramref name="name"/> is null).</summary>
    public ReadOnlySpan<float> OutputRow(string? name, string usedBy)
    {
        int index = name == null ? Adapter.OutputIndex : Outputs.IndexOf(name);
        Outputs.RequireBatchFirst(index, usedBy);
        return Outputs.Row(index, Row);
    }
}

internal interface IAggregate
{
    void Add(double value);
    double Result();
}

/// <summary>An aggregate whose value takes long to compute (every query against a whole gallery): computed so that Ctrl+C stops it.</summary>
internal interface ICancellableAggregate
{
    double Result(CancellationToken cancellationToken);
}

/// <summary>Mean of per-sample values; NaN values (no value for this sample) are skipped.</summary>
internal sealed class MeanAggregate : IAggregate
{
    private double _sum;
    private long _count;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Add(double value)
    {
        if (double.IsNaN(value)) return;
        _sum += value;
        _count++;
    }

    public double Result() => _count == 0 ? double.NaN : _sum / _count;

    /// <summary>The mean of <paramref name="values"/> summed in their order, as an evaluation that measured them in that order gives it.</summary>
    public static double Of(double[] values)
    {
        var mean = new MeanAggregate();
        foreach (double v in values) mean.Add(v);
        return mean.Result();
    }
}

/// <summary>The runtime side of one metric.</summary>
internal abstract class MetricRunner
{
    private readonly HashSet<int>? _datasets;
    private bool[]? _covers;

    protected MetricRunner(string name, string type, MetricDirection direction, IReadOnlyList<int>? datasets)
    {
        Name = name;
        Type = type;
        Direction = direction;
        _datasets = datasets == null ? null : new HashSet<int>(datasets);
    }

    public string Name { get; }
    public string Type { get; }
    public MetricDirection Direction { get; }

    /// <summary>The spec this runner came from (null for custom metrics given in code).</summary>
    public MetricSpec? Spec { get; private set; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Covers(int dataset)
    {
        if (_datasets == null) return true;
        if (_covers == null || dataset >= _covers.Length)
        {
            var covers = new bool[Math.Max(dataset + 1, _datasets.Count == 0 ? 1 : _datasets.Max() + 1)];
            foreach (int d in _datasets) covers[d] = true;
            _covers = covers;
        }
        return _covers[dataset];
    }

    public virtual IAggregate NewAggregate() => new MeanAggregate();

    /// <summary>
    /// When the metric is the mean of its per-item values (<see cref="MeanAggregate"/>): the range every per-item value
    /// lies in (an infinite end where there is none). Null for other aggregates and for code or script metrics.
    /// </summary>
    public virtual (double Min, double Max)? MeanItemBounds => null;

    /// <summary>The per-sample value; also feeds <paramref name="aggregate"/>.</summary>
    public abstract double Measure(SampleView s, IAggregate aggregate);

    /// <summary>
    /// A continuous per-item score tied to the metric, higher = better, for ranking layers where a 0/1 value has too
    /// little signal (called right after <see cref="Measure"/> with its value). By default the value itself, oriented.
    /// </summary>
    public virtual double Signal(SampleView s, double value) => Direction == MetricDirection.HigherBetter ? value : -value;

    /// <summary>
    /// How close the item is to another per-item value, smaller = closer (called right after <see cref="Signal"/>, with
    /// its result): decided-early evaluations measure first, among items at the same value, those closest to changing.
    /// By default the signal: for accuracy-like metrics the label's margin.
    /// </summary>
    public virtual double Fragility(SampleView s, double value, double signal) => signal;

    public static MetricRunner Create(MetricSpec spec, ScriptMetricFactory? scripts)
    {
        MetricRunner runner = spec.Type switch
        {
            MetricType.Accuracy => new AccuracyRunner(spec),
            MetricType.Precision or MetricType.Recall or MetricType.F1 => new ClassificationReportRunner(spec),
            MetricType.CharacterRecognitionAccuracy => new TextRunner(spec, exact: true),
            MetricType.CharacterLevelAccuracy => new TextRunner(spec, exact: false),
            MetricType.MeanSquaredError or MetricType.MeanAbsoluteError or MetricType.Psnr or MetricType.CosineSimilarity => new TensorComparisonRunner(spec),
            MetricType.Map or MetricType.CocoPrecision => new DetectionRunner(spec),
            MetricType.SegmentationAccuracy or MetricType.MeanIou or MetricType.MeanAccuracy or MetricType.FrequencyWeightedAccuracy => new SegmentationRunner(spec),
            MetricType.Cmc or MetricType.ReidMap => new ReidRunner(spec),
            MetricType.SquadF1 or MetricType.SquadExactMatch => new QuestionAnsweringRunner(spec),
            MetricType.QaEmbeddingAccuracy => new QuestionEmbeddingRunner(spec),
            MetricType.NerAccuracy or MetricType.NerPrecision or MetricType.NerRecall or MetricType.NerFScore => new NerRunner(spec),
            MetricType.Script when spec.Level == MetricLevel.Dataset => new DatasetCustomRunner(spec.Name, "script", spec.Direction, spec.Datasets, CreateDatasetScript(spec, scripts)),
            MetricType.Fp32Agreement => new Fp32AgreementRunner(spec),
            _ => new CustomRunner(spec.Name, "script", spec.Direction, spec.Datasets, CreateScript(spec, scripts)),
        };
        runner.Spec = spec;
        return runner;
    }

    private static IDatasetMetric CreateDatasetScript(MetricSpec spec, ScriptMetricFactory? scripts) =>
        CreateScript(spec, scripts) as IDatasetMetric ?? throw new PotException("ScriptMetricUnavailable", PotErrorCategory.NotImplemented,
            $"{spec.KeyPath}: the host cannot run '{spec.Name}' ({spec.ScriptPath}) once over the whole set (level: dataset).", spec.KeyPath);

    private static ISampleMetric CreateScript(MetricSpec spec, ScriptMetricFactory? scripts)
    {
        if (scripts == null)
            throw new PotException("ScriptMetricUnavailable", PotErrorCategory.NotImplemented,
                $"{spec.KeyPath}: the script metric '{spec.Name}' ({spec.ScriptPath}) needs a PowerShell host to run it; evaluate through a PotPowerShell cmdlet.", spec.KeyPath);
        return scripts(new ScriptMetricRequest(spec.Name, spec.ScriptPath!, spec.Direction, spec.RequiresAnnotation, spec.KeyPath) { Level = spec.Level });
    }
}

/// <summary>Turns annotations into class indices: integers as they are, text through the dataset's classes list or as a number, one-hot rows by the position of their 1.</summary>
internal static class Labels
{
    /// <summary>The position of the one 1 in a row of 0s (Keras' to_categorical labels), or null for any other row.</summary>
    private static long? OneHot(TensorData t)
    {
        long hot = -1;
        for (long i = 0; i < t.Length; i++)
        {
            double v = TensorBytes.ValueAt(t.Data, i);
            if (v == 1 && hot < 0) hot = i;
            else if (v != 0) return null;
        }
        return hot >= 0 ? hot : null;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int ClassIndex(SampleView s, int classCount, Dictionary<string, int>? classMap)
    {
        long label = s.Annotation switch
        {
            long l => l,
            int i => i,
            double d when d == Math.Floor(d) => (long)d,
            bool b => b ? 1 : 0,
            string text when classMap != null && classMap.TryGetValue(text.Trim(), out int c) => c,
            string text when long.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) => n,
            TensorData t when t.Length == 1 => (long)TensorBytes.ValueAt(t.Data, 0),
            TensorData t when OneHot(t) is long hot => hot,
            _ => throw new PotException("AnnotationNotAClass", PotErrorCategory.InvalidData,
                $"Item {s.Index} of dataset '{s.Definition.Name}' has the annotation {Show(s.Annotation)}, which is not a class index.{(s.Annotation is string ? " List the class names in order with classes: (a file or a list) so names map to indices." : s.Annotation is TensorData ? " A label row is read as a class when it is one-hot (every value 0 but one 1); save several classes per item, or soft labels, as one class index per item instead." : "")}", s.Definition.DataSource),
        } + s.Definition.LabelOffset;
        if (label < 0 || label >= classCount)
            throw new PotException("AnnotationOutOfRange", PotErrorCategory.InvalidData,
                s.Adapter.LabelOutput
                    ? $"Item {s.Index} of dataset '{s.Definition.Name}' has the class {label}, but its classes: list names {classCount} classes (0 to {classCount - 1})."
                    : classCount == 1
                    ? $"Item {s.Index} of dataset '{s.Definition.Name}' has the class {label}, but the model output '{s.Adapter.OutputName}' holds one value per item, not a score per class: classification metrics read class scores (logits or probabilities), or each item's class from an output of integers. Name the output that holds the scores in the adapter (adapter: {{type: classification, output: <name>}}); if this value is the class itself, say so with argmax_output: true in the adapter."
                    : $"Item {s.Index} of dataset '{s.Definition.Name}' has the class {label}, but the model output '{s.Adapter.OutputName}' scores {classCount} classes (0 to {classCount - 1}). Check that the labels belong to this model.", s.Definition.DataSource);
        return (int)label;
    }

    /// <summary>
    /// The class a label output holds for one item (<see cref="Adapter.LabelOutput"/>): its one value, or -1 (no class)
    /// when that is not a whole number of int's range.
    /// </summary>
    public static long Predicted(ReadOnlySpan<float> row, Adapter adapter)
    {
        if (row.Length != 1)
            throw new PotException("EngineOutputShape", PotErrorCategory.InvalidData,
                $"{adapter.Definition.KeyPath}: the classification adapter reads '{adapter.OutputName}' as each item's class ({(adapter.Definition.ArgmaxOutput ? "argmax_output: true" : "it holds integers")}), but it holds {row.Length} values per item. Name the output of one class per item, or of class scores, in the adapter (output: <name>).", adapter.Definition.KeyPath);
        float v = row[0];
        return v == MathF.Floor(v) && v >= 0 && v <= int.MaxValue ? (long)v : -1;
    }

    /// <summary>
    /// The classes an item's label may name: as many as the output scores, or for a label output (which names one) as
    /// many as the dataset's classes: list, else any.
    /// </summary>
    public static int ClassCount(SampleView s, int scores) => !s.Adapter.LabelOutput ? scores : s.Definition.Classes?.Count ?? int.MaxValue;

    /// <summary>top_k above 1 needs every class's score, which an output holding the class alone does not give.</summary>
    public static void RequireScoresForTopK(SampleView s, int topK, string metric)
    {
        if (topK > 1 && s.Adapter.LabelOutput)
            throw new PotException("MetricNeedsClassScores", PotErrorCategory.InvalidData,
                $"Metric '{metric}' with top_k {topK} needs class scores, but '{s.Adapter.OutputName}' holds each item's class ({(s.Adapter.Definition.ArgmaxOutput ? "argmax_output: true" : "integers")}). Use top_k: 1, or an output of the scores before the ArgMax.", s.Adapter.Definition.KeyPath);
    }

    public static string Text(SampleView s) => s.Annotation switch
    {
        string text => text,
        long l => l.ToString(CultureInfo.InvariantCulture),
        null => throw new PotException("AnnotationMissing", PotErrorCategory.InvalidData, $"Item {s.Index} of dataset '{s.Definition.Name}' has no annotation.", s.Definition.DataSource),
        _ => throw new PotException("AnnotationNotText", PotErrorCategory.InvalidData,
            $"Item {s.Index} of dataset '{s.Definition.Name}' has the annotation {Show(s.Annotation)}; text metrics need text labels (a .txt file with one label per line, or an annotation file).", s.Definition.DataSource),
    };

    public static string Show(object? value) => value switch
    {
        null => "null",
        string s => $"'{s}'",
        TensorData t => $"a tensor {t}",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    public static Dictionary<string, int>? ClassMap(DatasetDefinition d)
    {
        if (d.Classes == null) return null;
        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < d.Classes.Count; i++) map.TryAdd(d.Classes[i].Trim(), i);
        return map;
    }
}

/// <summary>accuracy: 1 when the label is among the top_k classes (stable ranking, ties to the lower index), else 0.</summary>
internal sealed class AccuracyRunner(MetricSpec spec) : MetricRunner(spec.Name, "accuracy", spec.Direction, spec.Datasets)
{
    public override (double Min, double Max)? MeanItemBounds => (0, 1);

    private readonly Dictionary<int, Dictionary<string, int>?> _classMaps = new();

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override double Measure(SampleView s, IAggregate aggregate)
    {
        var scores = s.Scores;
        Labels.RequireScoresForTopK(s, spec.TopK, Name);
        int label = Labels.ClassIndex(s, Labels.ClassCount(s, scores.Length), ClassMapOf(s));
        // NaN compares false, so NaN scores would rank the label first: a non-finite row is a miss.
        double value = s.NonFinite ? 0
            : s.Adapter.LabelOutput ? (Labels.Predicted(scores, s.Adapter) == label ? 1 : 0)
            : ClassScores.Rank(scores, label) < spec.TopK ? 1 : 0;
        aggregate.Add(value);
        return value;
    }

    /// <summary>
    /// The label's margin: its score minus the best score of the other classes (top-k: the k-th best of the others); an
    /// output holding the class alone has no margin, so its signal is the value.
    /// </summary>
    public override double Signal(SampleView s, double value)
    {
        if (s.Adapter.LabelOutput) return base.Signal(s, value);
        var scores = s.Scores;
        return ClassScores.Margin(scores, Labels.ClassIndex(s, scores.Length, ClassMapOf(s)), spec.TopK);
    }

    private Dictionary<string, int>? ClassMapOf(SampleView s)
    {
        if (!_classMaps.TryGetValue(s.Dataset, out var map)) _classMaps[s.Dataset] = map = Labels.ClassMap(s.Definition);
        return map;
    }
}

/// <summary>
/// precision / recall / f1 over the top-1 class. The aggregate is the macro (or micro / weighted) average over the
/// classes seen in labels or predictions (a class never predicted has precision 0). The per-sample value is the
/// sample-averaged score of one item, which for single-label data is 1 when the top-1 class is the label, else 0.
/// </summary>
internal sealed class ClassificationReportRunner(MetricSpec spec) : MetricRunner(spec.Name, spec.Type.ToString().ToLowerInvariant(), spec.Direction, spec.Datasets)
{
    private readonly Dictionary<int, Dictionary<string, int>?> _classMaps = new();

    public override IAggregate NewAggregate() => new ConfusionAggregate(spec.Type, spec.Average);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override double Measure(SampleView s, IAggregate aggregate)
    {
        var scores = s.Scores;
        if (!_classMaps.TryGetValue(s.Dataset, out var map)) _classMaps[s.Dataset] = map = Labels.ClassMap(s.Definition);
        int label = Labels.ClassIndex(s, Labels.ClassCount(s, scores.Length), map);
        int predicted = s.NonFinite ? ConfusionAggregate.NoPrediction
            : s.Adapter.LabelOutput ? (int)Labels.Predicted(scores, s.Adapter) // -1, no class, is NoPrediction
            : ClassScores.ArgMax(scores);
        ((ConfusionAggregate)aggregate).Add(label, predicted);
        return label == predicted ? 1 : 0;
    }

    /// <summary>The label's top-1 margin (see <see cref="ClassScores.Margin"/>); the value for an output holding the class alone.</summary>
    public override double Signal(SampleView s, double value)
    {
        if (s.Adapter.LabelOutput) return base.Signal(s, value);
        var scores = s.Scores;
        return ClassScores.Margin(scores, Labels.ClassIndex(s, scores.Length, _classMaps[s.Dataset]), 1);
    }
}

internal sealed class ConfusionAggregate(MetricType type, AverageKind average) : IAggregate, IWeightedAggregate
{
    private readonly List<(int Label, int Predicted)> _items = new();

    /// <summary>The prediction of an item whose scores are not finite: a miss for its label, a false positive for no class.</summary>
    public const int NoPrediction = -1;

    public void Add(double value) => throw new InvalidOperationException("Use Add(label, predicted).");

    public void Add(int label, int predicted) => _items.Add((label, predicted));

    public int Items => _items.Count;

    public double Result() => Result(IWeightedAggregate.Once(Items));

    public double Result(ReadOnlySpan<int> draws)
    {
        var counts = new SortedDictionary<int, long[]>(); // per class: true positives, false positives, false negatives
        long[] Counts(int c)
        {
            if (!counts.TryGetValue(c, out var found)) counts[c] = found = new long[3];
            return found;
        }
        for (int i = 0; i < _items.Count; i++)
        {
            var (label, predicted) = _items[i];
            if (draws[i] == 0) continue;
            if (label == predicted) Counts(label)[0] += draws[i];
            else
            {
                if (predicted != NoPrediction) Counts(predicted)[1] += draws[i];
                Counts(label)[2] += draws[i];
            }
        }
        if (counts.Count == 0) return double.NaN;
        if (average == AverageKind.Micro)
        {
            long tp = counts.Values.Sum(c => c[0]), fp = counts.Values.Sum(c => c[1]), fn = counts.Values.Sum(c => c[2]);
            return Score(tp, fp, fn);
        }
        double total = 0, weights = 0;
        foreach (var c in counts.Values)
        {
            double weight = average == AverageKind.Weighted ? c[0] + c[2] : 1; // weighted: by support (true count)
            total += weight * Score(c[0], c[1], c[2]);
            weights += weight;
        }
        return weights == 0 ? 0 : total / weights;
    }

    private double Score(long tp, long fp, long fn)
    {
        double precision = tp + fp == 0 ? 0 : (double)tp / (tp + fp);
        double recall = tp + fn == 0 ? 0 : (double)tp / (tp + fn);
        return type switch
        {
            MetricType.Precision => precision,
            MetricType.Recall => recall,
            _ => precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall),
        };
    }
}

/// <summary>
/// character_recognition_accuracy: 1 when the decoded text equals the label exactly, else 0.
/// character_level_accuracy: 1 - edit distance / max(length of text, length of label), in code points (1 when both are empty).
/// remove_spaces (Accuracy Checker's) drops the space characters of both first; ignore_case compares letters case-insensitively.
/// </summary>
internal sealed class TextRunner(MetricSpec spec, bool exact) : MetricRunner(spec.Name, exact ? "character_recognition_accuracy" : "character_level_accuracy", spec.Direction, spec.Datasets)
{
    public override (double Min, double Max)? MeanItemBounds => (0, 1);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override double Measure(SampleView s, IAggregate aggregate)
    {
        double value = s.NonFinite ? 0 : Score(Normalize(s.Prediction as string ?? ""), Normalize(Labels.Text(s)), exact);
        aggregate.Add(value);
        return value;
    }

    /// <summary>Exact match: <see cref="ExactMatchSignal"/>; character level: the value itself.</summary>
    public override double Signal(SampleView s, double value) =>
        exact ? ExactMatchSignal(Normalize(s.Prediction as string ?? ""), Normalize(Labels.Text(s))) : value;

    /// <summary>
    /// A right line read by CTC greedy decoding: the smallest margin of a time step's best class over its next
    /// (<see cref="CtcGreedyAdapter.SmallestMargin"/>), the step closest to changing the text; else the signal. Every
    /// right line has the same signal, so without this the lines a change breaks first had no order.
    /// </summary>
    public override double Fragility(SampleView s, double value, double signal) =>
        value == 1 && !s.NonFinite && s.Adapter is CtcGreedyAdapter ctc ? ctc.SmallestMargin(s.Outputs, s.Row) : signal;

    /// <summary>
    /// The signal of exact match: 1 / (1 + edit distance), so 1 for a right line, 1/2 one edit away, 1/3 two edits away.
    /// A one-layer change moves a line by an edit or two, and only the last edit changes the metric; this signal gives
    /// that edit half the scale. The character-level score gave every edit the same weight, so layers that mended lines
    /// that stayed wrong ranked first. On OcrRec's first ranking (bench/Bench-AccuracyAware.ps1, data seed 3, all 200
    /// items) its rank correlation with the layers' real gains was 0.81, this one's 0.96 (2^-distance: 0.93).
    /// </summary>
    public static double ExactMatchSignal(string predicted, string label) =>
        1.0 / (1 + EditDistance.Compute<int>(EditDistance.CodePoints(predicted), EditDistance.CodePoints(label)));

    private string Normalize(string text) => Normalize(text, spec.RemoveSpaces, spec.IgnoreCase);

    /// <summary>The text as the metric compares it: without ' ' (as Accuracy Checker's remove_spaces), upper-cased (ignore_case).</summary>
    public static string Normalize(string text, bool removeSpaces, bool ignoreCase)
    {
        if (removeSpaces) text = text.Replace(" ", "", StringComparison.Ordinal);
        return ignoreCase ? text.ToUpperInvariant() : text;
    }

    /// <summary>The per-item value of normalized texts: exact match (0/1) or the character-level score.</summary>
    public static double Score(string predicted, string label, bool exact) =>
        exact ? (predicted == label ? 1 : 0) : CharacterLevelAccuracy(predicted, label);

    public static double CharacterLevelAccuracy(string predicted, string label)
    {
        var a = EditDistance.CodePoints(predicted);
        var b = EditDistance.CodePoints(label);
        int longest = Math.Max(a.Length, b.Length);
        return longest == 0 ? 1 : 1 - (double)EditDistance.Compute<int>(a, b) / longest;
    }
}

/// <summary>
/// mse, mae, psnr and cosine_similarity between an output row and its reference: the annotation tensor or the FP32 model's
/// output for the same item.
/// </summary>
internal sealed class TensorComparisonRunner(MetricSpec spec) : MetricRunner(spec.Name, spec.Type switch
{
    MetricType.MeanSquaredError => "mse",
    MetricType.MeanAbsoluteError => "mae",
    MetricType.Psnr => "psnr",
    _ => "cosine_similarity",
}, spec.Direction, spec.Datasets)
{
    /// <summary>What to do when an output's size differs from its FP32 reference's: most often a detector's boxes after its own NMS.</summary>
    private const string VaryingSize = " Where an output's size depends on its values (boxes after a NonMaxSuppression in the model, for example), " +
        "it cannot be compared value by value: compare a detector's detections with map or coco_precision and reference: fp32, or name an output of fixed size (output:).";

    /// <summary>mse and mae are at least 0; psnr is capped at 100 dB (see <see cref="Psnr"/>); a cosine lies in [-1, 1].</summary>
    public override (double Min, double Max)? MeanItemBounds => spec.Type switch
    {
        MetricType.MeanSquaredError or MetricType.MeanAbsoluteError => (0, double.PositiveInfinity),
        MetricType.Psnr => (double.NegativeInfinity, 100),
        _ => (-1, 1),
    };

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override double Measure(SampleView s, IAggregate aggregate)
    {
        var output = s.OutputRow(spec.Output, $"metric '{Name}'");
        string outputName = spec.Output ?? s.Adapter.OutputName!;
        ReadOnlySpan<float> target;
        if (spec.Reference == MetricReference.Fp32)
            target = s.References!.Row(outputName, s.Index);
        else
            target = s.Annotation switch
            {
                TensorData t => t.ToFloats(),
                double d => new[] { (float)d },
                long l => new[] { (float)l },
                _ => throw new PotException("AnnotationNotATensor", PotErrorCategory.InvalidData,
                    $"Item {s.Index} of dataset '{s.Definition.Name}' has the annotation {Labels.Show(s.Annotation)}; metric '{Name}' compares the output with a target tensor (labels: a .npy array of shape [items, ...]).", s.Definition.DataSource),
            };
        if (target.Length != output.Length)
            throw new PotException("ReferenceShapeMismatch", PotErrorCategory.InvalidData,
                $"Metric '{Name}': item {s.Index}'s output '{outputName}' has {output.Length} values but its {(spec.Reference == MetricReference.Fp32 ? "FP32 reference" : "annotation")} has {target.Length}."
                + (spec.Reference == MetricReference.Fp32 ? VaryingSize : ""), spec.KeyPath);
        // A non-finite output is the worst value of each metric: infinite error, no signal, opposite direction. So is a
        // non-finite FP32 reference, for every model alike (the FP32 model scores its own NaN that way): compared with
        // it, a finite output would give NaN, which means "left out" and would lift that model's mean above FP32's.
        bool worst = s.NonFinite || (spec.Reference == MetricReference.Fp32 && Calibration.SpanMath.FirstNonFinite(target) >= 0);
        double value = spec.Type switch
        {
            MetricType.MeanSquaredError => worst ? double.PositiveInfinity : Mse(output, target),
            MetricType.MeanAbsoluteError => worst ? double.PositiveInfinity : Mae(output, target),
            MetricType.Psnr => worst ? double.NegativeInfinity : Psnr(output, target, spec.MaxValue),
            _ => worst ? -1 : Cosine(output, target),
        };
        aggregate.Add(value);
        return value;
    }

    public static double Mse(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length == 0) return 0;
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = (double)a[i] - b[i];
            sum += d * d;
        }
        return sum / a.Length;
    }

    /// <summary>Mean of the absolute differences (Accuracy Checker's mae of one item).</summary>
    public static double Mae(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length == 0) return 0;
        double sum = 0;
        for (int i = 0; i < a.Length; i++) sum += Math.Abs((double)a[i] - b[i]);
        return sum / a.Length;
    }

    /// <summary>10 log10(max^2 / mse); identical tensors are capped at 100 dB (mse floored at max^2 * 1e-10) so means stay finite.</summary>
    public static double Psnr(ReadOnlySpan<float> a, ReadOnlySpan<float> b, double max)
    {
        double mse = Math.Max(Mse(a, b), max * max * 1e-10);
        return 10 * Math.Log10(max * max / mse);
    }

    /// <summary>Cosine of the angle between the two vectors; 1 when both are zero, 0 when only one is.</summary>
    public static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        if (na == 0 && nb == 0) return 1;
        if (na == 0 || nb == 0) return 0;
        return dot / (Math.Sqrt(na) * Math.Sqrt(nb));
    }
}

/// <summary>A custom per-sample metric (code or script): gets every output row as a tensor, the annotation and the prediction.</summary>
internal sealed class CustomRunner(string name, string type, MetricDirection direction, IReadOnlyList<int>? datasets, ISampleMetric metric)
    : MetricRunner(name, type, direction, datasets)
{
    public override double Measure(SampleView s, IAggregate aggregate)
    {
        var sample = Sample(s, Name);
        double value;
        if (s.NonFinite)
        {
            value = Direction == MetricDirection.HigherBetter ? double.NegativeInfinity : double.PositiveInfinity;
            aggregate.Add(value);
            return value;
        }
        try
        {
            value = metric.Measure(sample);
        }
        catch (Exception e) when (e is not PotException and not OperationCanceledException)
        {
            throw new PotException("CustomMetricFailed", PotErrorCategory.InvalidOperation,
                $"The metric '{Name}' failed on item {s.Index}: {e.Message}", Name, e);
        }
        aggregate.Add(value);
        return value;
    }

    /// <summary>What custom code sees of one item: a copy of every output row, the annotation and the prediction.</summary>
    public static SampleMetricInput Sample(SampleView s, string metric)
    {
        var outputs = new Dictionary<string, TensorData>(s.Outputs.Names.Length, StringComparer.Ordinal);
        for (int i = 0; i < s.Outputs.Names.Length; i++)
        {
            s.Outputs.RequireBatchFirst(i, $"metric '{metric}'");
            outputs[s.Outputs.Names[i]] = new TensorData(TensorElementKind.Float, s.Outputs.RowShape(i), s.Outputs.Row(i, s.Row).ToArray());
        }
        // A mask read from its file is the mask to scripts, as one from labels: is; where its image went is the engine's.
        var annotation = s.Annotation is SegmentationAnnotation mask ? mask.Mask : s.Annotation;
        return new SampleMetricInput(s.Index, outputs, annotation, s.Prediction);
    }
}

/// <summary>
/// fp32_agreement (POT's annotation_free): 1 when the model's top-1 class is the FP32 model's, else 0; items where the
/// FP32 model's confidence in its top-1 class is below the threshold have no value (they are left out, as POT drops
/// them from the annotations). Confidence: the output itself when it is a probability distribution, else its softmax.
/// </summary>
internal sealed class Fp32AgreementRunner(MetricSpec spec) : MetricRunner(spec.Name, "fp32_agreement", spec.Direction, spec.Datasets)
{
    public override (double Min, double Max)? MeanItemBounds => (0, 1);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override double Measure(SampleView s, IAggregate aggregate)
    {
        var output = Output(s);
        var reference = Reference(s, output.Length);
        if (Labelled(s))
        {
            // The FP32 model's class is its output; it says nothing of its confidence.
            if (spec.ConfidenceThreshold > 0)
                throw new PotException("MetricNeedsClassScores", PotErrorCategory.InvalidData,
                    $"Metric '{Name}' leaves out items the FP32 model is less than {spec.ConfidenceThreshold} sure of, but '{s.Adapter.OutputName}' holds each item's class, not the scores that say how sure. Set annotation_conf_threshold (or conf_threshold) to 0, or use an output of the scores before the ArgMax.", spec.KeyPath);
            long fp32 = Labels.Predicted(reference, s.Adapter);
            double agreed = s.NonFinite || fp32 < 0 ? 0 : Labels.Predicted(output, s.Adapter) == fp32 ? 1 : 0;
            aggregate.Add(agreed);
            return agreed;
        }
        if (output.Length == 1)
            throw new PotException("MetricNeedsClassScores", PotErrorCategory.InvalidData,
                $"Metric '{Name}' compares the FP32 model's top-1 class with the model's, but '{spec.Output ?? s.Adapter.OutputName}' holds one value per item, not a score per class. Name the output of class scores (output: <name>); if the value is the class itself, say so with argmax_output: true in a classification adapter.", spec.KeyPath);
        int label = ClassScores.ArgMax(reference);
        // A non-finite FP32 reference scores 0 for every model alike, as the FP32 model's own NaN does (see TensorComparisonRunner).
        double value = Calibration.SpanMath.FirstNonFinite(reference) >= 0 ? 0
            : Confidence(reference, label) < spec.ConfidenceThreshold ? double.NaN
            : !s.NonFinite && ClassScores.ArgMax(output) == label ? 1 : 0;
        aggregate.Add(value);
        return value;
    }

    /// <summary>
    /// The margin of the FP32 class in the model's output (as accuracy's signal); none for items left out; the value
    /// for an output holding the class alone.
    /// </summary>
    public override double Signal(SampleView s, double value)
    {
        if (double.IsNaN(value) || Labelled(s)) return value;
        var output = Output(s);
        return ClassScores.Margin(output, ClassScores.ArgMax(Reference(s, output.Length)), 1);
    }

    private ReadOnlySpan<float> Output(SampleView s) => s.OutputRow(spec.Output, $"metric '{Name}'");

    /// <summary>The metric reads the adapter's output, and that holds each item's class (<see cref="Adapter.LabelOutput"/>).</summary>
    private bool Labelled(SampleView s) => s.Adapter.LabelOutput && (spec.Output == null || spec.Output == s.Adapter.OutputName);

    private ReadOnlySpan<float> Reference(SampleView s, int length)
    {
        var reference = s.References!.Row(spec.Output ?? s.Adapter.OutputName!, s.Index);
        if (reference.Length != length)
            throw new PotException("ReferenceShapeMismatch", PotErrorCategory.InvalidData,
                $"Metric '{Name}': item {s.Index}'s output has {length} values but its FP32 reference has {reference.Length}.", spec.KeyPath);
        return reference;
    }

    /// <summary>The probability of class <paramref name="cls"/>: the score itself for a distribution (values in [0, 1] summing to 1), else its softmax.</summary>
    public static double Confidence(ReadOnlySpan<float> scores, int cls)
    {
        double sum = 0;
        bool distribution = true;
        float max = float.NegativeInfinity;
        foreach (float v in scores)
        {
            if (!(v >= 0 && v <= 1)) distribution = false;
            sum += v;
            if (v > max) max = v;
        }
        if (distribution && Math.Abs(sum - 1) < 1e-3) return scores[cls];
        double total = 0;
        foreach (float v in scores) total += Math.Exp(v - max);
        return Math.Exp(scores[cls] - max) / total;
    }
}
