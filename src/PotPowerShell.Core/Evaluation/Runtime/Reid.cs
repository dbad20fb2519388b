using System.Runtime.Intrinsics;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// reid: each item's output row flattened into its embedding, as Accuracy Checker's reid adapter gives it: with
/// mean_pooling averaged over its first axis (tokens) first, and with normalize (its grn_workaround, on by default)
/// divided by the square root of its sum of squares plus 1e-6.
/// </summary>
internal sealed class ReidAdapter(AdapterDefinition d) : Adapter(d)
{
    public override object? Predict(BatchOutputs outputs, int row)
    {
        outputs.RequireBatchFirst(OutputIndex, "the reid adapter");
        var values = outputs.Row(OutputIndex, row);
        var embedding = new float[Definition.MeanPooling ? MeanPooledLength(outputs) : values.Length];
        if (Definition.MeanPooling)
        {
            int tokens = values.Length / embedding.Length;
            for (int f = 0; f < embedding.Length; f++)
            {
                double sum = 0;
                for (int t = 0; t < tokens; t++) sum += values[t * embedding.Length + f];
                embedding[f] = (float)(sum / tokens);
            }
        }
        else
        {
            values.CopyTo(embedding);
        }
        if (Definition.NormalizeEmbeddings)
        {
            double squares = 0;
            foreach (float v in embedding) squares += (double)v * v;
            float scale = (float)(1 / Math.Sqrt(squares + 1e-6));
            for (int i = 0; i < embedding.Length; i++) embedding[i] *= scale;
        }
        return embedding;
    }

    private int MeanPooledLength(BatchOutputs outputs)
    {
        var shape = outputs.RowShape(OutputIndex);
        if (shape.Length < 3)
            throw new PotException("ReidOutputShape", PotErrorCategory.InvalidData,
                $"mean_pooling averages each item's output [tokens, features] over its tokens, but the output '{OutputName}' has the shape [{string.Join(",", outputs.Shapes[OutputIndex])}]. Leave mean_pooling out for an output of one embedding per item.", Definition.KeyPath);
        return (int)shape[^1];
    }
}

/// <summary>cmc and reid_map: every item's embedding and annotation, gallery and queries, ranked once when first asked for a value.</summary>
internal sealed class ReidRunner(MetricSpec spec) : MetricRunner(spec.Name, spec.Type == MetricType.Cmc ? "cmc" : "reid_map", spec.Direction, spec.Datasets)
{
    public override IAggregate NewAggregate() => new ReidAggregate(spec);

    public override double Measure(SampleView s, IAggregate aggregate)
    {
        if (s.Prediction is not float[] embedding)
            throw new PotException("PredictionNotEmbedding", PotErrorCategory.InvalidData,
                $"Metric '{Name}' compares embeddings, but dataset '{s.Definition.Name}' has the {s.Adapter.Definition.Type.ToString().ToLowerInvariant()} adapter: use adapter type reid.", spec.KeyPath);
        if (s.Annotation is not ReidAnnotation annotation)
            throw new PotException("AnnotationNotReid", PotErrorCategory.InvalidData,
                $"Item {s.Index} of dataset '{s.Definition.Name}' has the annotation {Labels.Show(s.Annotation)}; metric '{Name}' needs an id and a camera (reid_layout: market1501 or veri776).", s.Definition.DataSource);
        ((ReidAggregate)aggregate).Add(annotation, s.NonFinite ? null : embedding);
        return double.NaN;
    }

    public override double Signal(SampleView s, double value) => double.NaN;
}

/// <summary>
/// The ranking of the gallery for each query, as Accuracy Checker's metrics/reid.py computes it: distances 1 - the
/// embeddings' dot product, ascending (ties in gallery order); gallery images of the query's id from its own camera
/// are left out (and with separate_camera_set every image from its camera); a query with no image of its id left is
/// not counted. cmc is the share of counted queries whose first match is among the first top_k (without
/// first_match_break, each of a query's n matches adds 1/n where its rank less the matches before it is below top_k,
/// as Accuracy Checker's eval_cmc adds them); reid_map the mean over counted queries of the area under the
/// precision-recall curve (ties in distance one step), by the trapezoidal rule from (recall 0, precision 1) with
/// interpolated_auc, else the step sum. An item whose outputs are not finite is the farthest from every other, and as
/// a query it finds nothing (its value is 0). Each query's value depends on the whole gallery only, so a paired
/// bootstrap (<see cref="IWeightedAggregate"/>) resamples the queries: gallery images drawn or not stay in the gallery.
/// </summary>
internal sealed class ReidAggregate(MetricSpec spec) : IAggregate, IWeightedAggregate, ICancellableAggregate
{
    private readonly List<ReidAnnotation> _annotations = new();
    private readonly List<float[]?> _embeddings = new();
    private double[]? _values;

    public void Add(double value) => throw new InvalidOperationException("Use Add(annotation, embedding).");

    public void Add(ReidAnnotation annotation, float[]? embedding)
    {
        _annotations.Add(annotation);
        _embeddings.Add(embedding);
        _values = null;
    }

    public int Items => _annotations.Count;

    public double Result() => Result(CancellationToken.None);

    public double Result(CancellationToken cancellationToken)
    {
        _values ??= QueryValues(cancellationToken);
        return Result(IWeightedAggregate.Once(Items));
    }

    public double Result(ReadOnlySpan<int> draws)
    {
        _values ??= QueryValues(CancellationToken.None);
        double sum = 0, weight = 0;
        for (int i = 0; i < _values.Length; i++)
            if (!double.IsNaN(_values[i]))
            {
                sum += draws[i] * _values[i];
                weight += draws[i];
            }
        return weight == 0 ? double.NaN : sum / weight;
    }

    /// <summary>Each item's value as a query: NaN for gallery images and queries with no match left.</summary>
    private double[] QueryValues(CancellationToken cancellationToken)
    {
        var gallery = Enumerable.Range(0, Items).Where(i => !_annotations[i].Query).ToArray();
        int dims = _embeddings.FirstOrDefault(e => e != null)?.Length ?? 0;
        foreach (var e in _embeddings)
            if (e != null && e.Length != dims)
                throw new PotException("ReidOutputShape", PotErrorCategory.InvalidData,
                    $"Metric '{spec.Name}' compares embeddings of one length, but items give {dims} and {e.Length} values.", spec.KeyPath);
        var values = new double[Items];
        Array.Fill(values, double.NaN);
        var queries = Enumerable.Range(0, Items).Where(i => _annotations[i].Query).ToArray();
        // Each query is ranked on its own: the result does not depend on the threads.
        Parallel.For(0, queries.Length, new ParallelOptions { CancellationToken = cancellationToken }, () => (new double[gallery.Length], new int[gallery.Length]), (k, _, buffers) =>
        {
            values[queries[k]] = QueryValue(queries[k], gallery, buffers.Item1, buffers.Item2);
            return buffers;
        }, _ => { });
        return values;
    }

    private double QueryValue(int query, int[] gallery, double[] distances, int[] order)
    {
        var q = _annotations[query];
        var embedding = _embeddings[query];
        for (int g = 0; g < gallery.Length; g++)
        {
            var other = _embeddings[gallery[g]];
            // Rounded to float, as Accuracy Checker's float32 matrix product gives it (its ties are ours).
            double distance = embedding == null || other == null ? double.PositiveInfinity : (float)(1 - Dot(embedding, other));
            distances[g] = double.IsNaN(distance) ? double.PositiveInfinity : distance;
            order[g] = g;
        }
        // By distance, then ties in gallery order.
        Array.Sort(distances, order);
        for (int start = 0, end; start < order.Length; start = end)
        {
            for (end = start + 1; end < order.Length && distances[end] == distances[start]; end++) { }
            if (end - start > 1) Array.Sort(order, start, end - start);
        }
        // The ranked gallery without the images left out: whether each matches the query, and its distance.
        var matches = new List<bool>(gallery.Length);
        var ranked = new List<double>(gallery.Length);
        for (int k = 0; k < order.Length; k++)
        {
            var a = _annotations[gallery[order[k]]];
            bool sameCamera = a.Camera == q.Camera;
            if (a.Identity == q.Identity && sameCamera || spec.Type == MetricType.Cmc && spec.SeparateCameraSet && sameCamera) continue;
            matches.Add(a.Identity == q.Identity);
            ranked.Add(distances[k]);
        }
        int found = matches.Count(m => m);
        if (found == 0) return double.NaN;
        if (embedding == null) return 0;
        return spec.Type == MetricType.Cmc ? Cmc(matches, found) : AveragePrecision(matches, ranked, found);
    }

    private double Cmc(List<bool> matches, int found)
    {
        double value = 0;
        for (int rank = 0, before = 0; rank < matches.Count; rank++)
        {
            if (!matches[rank]) continue;
            if (rank - before < spec.TopK) value += spec.FirstMatchBreak ? 1 : 1.0 / found;
            if (spec.FirstMatchBreak) break;
            before++;
        }
        return value;
    }

    /// <summary>The area under the precision-recall curve of the ranking, one point per distinct distance.</summary>
    private double AveragePrecision(List<bool> matches, List<double> ranked, int found)
    {
        double area = 0, recall = 0, precision = 1;
        int truePositives = 0;
        for (int i = 0; i < matches.Count; i++)
        {
            if (matches[i]) truePositives++;
            if (i + 1 < matches.Count && ranked[i + 1] == ranked[i]) continue;
            double r = (double)truePositives / found, p = (double)truePositives / (i + 1);
            area += spec.InterpolatedAuc ? (r - recall) * (p + precision) / 2 : (r - recall) * p;
            (recall, precision) = (r, p);
            if (truePositives == found) break;
        }
        return area;
    }

    /// <summary>
    /// The dot product in double, whose products of floats are exact, so ties are the embeddings' own; eight values a
    /// step in vectors of a fixed width, so the sums' order, and the result, do not depend on the CPU's vector size.
    /// </summary>
    private static double Dot(float[] a, float[] b)
    {
        var low = Vector256<double>.Zero;
        var high = Vector256<double>.Zero;
        int i = 0;
        for (; i <= a.Length - 8; i += 8)
        {
            var x = Vector256.Create<float>(a.AsSpan(i, 8));
            var y = Vector256.Create<float>(b.AsSpan(i, 8));
            low += Vector256.WidenLower(x) * Vector256.WidenLower(y);
            high += Vector256.WidenUpper(x) * Vector256.WidenUpper(y);
        }
        double total = Vector256.Sum(low + high);
        for (; i < a.Length; i++) total += (double)a[i] * b[i];
        return total;
    }
}
