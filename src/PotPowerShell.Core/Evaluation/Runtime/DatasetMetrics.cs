using PotPowerShell.Core.Data;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// The aggregate of a dataset-level script: it keeps what each item gives and computes the value once, over every
/// item measured (all of them, or the subset asked for). Items have no per-item value (NaN), so nothing that needs
/// per-item values (decided-early stops, per-item ranking subsets) applies, and the script is not run again per
/// bootstrap resample (a comparison's interval of its drop is NaN).
/// </summary>
internal sealed class CollectingAggregate<T>(Func<IReadOnlyList<T>, double> compute) : IAggregate
{
    private readonly List<T> _items = new();

    public void Add(double value) => throw new InvalidOperationException("Use Add(item).");

    public void Add(T item) => _items.Add(item);

    public double Result() => _items.Count == 0 ? double.NaN : compute(_items);
}

/// <summary>
/// map (VOC) and coco_precision (COCO AP@[.5:.95]) over the detections of every item measured. An item whose outputs
/// are not finite has no detections (its objects are all missed). With reference fp32 the objects are the FP32 model's
/// detections of at least the reference confidence, so unlabelled data serves (POT's annotation_free for detection).
/// </summary>
internal sealed class DetectionRunner(MetricSpec spec) : MetricRunner(spec.Name, spec.Type == MetricType.Map ? "map" : "coco_precision", spec.Direction, spec.Datasets)
{
    public override IAggregate NewAggregate() => new DetectionAggregate(spec);

    public override double Measure(SampleView s, IAggregate aggregate)
    {
        if (s.Prediction is not IReadOnlyList<Detection> predicted)
            throw new PotException("PredictionNotDetection", PotErrorCategory.InvalidData,
                $"Metric '{Name}' needs detections, but dataset '{s.Definition.Name}' has the {s.Adapter.Definition.Type.ToString().ToLowerInvariant()} adapter: use ssd, yolo_v8, yolo_v5, yolo_v3, yolo_v2, yolox, yolo_v3_onnx, nanodet, detr, class_agnostic or prior_boxes.", spec.KeyPath);
        var truth = spec.Reference == MetricReference.Fp32 ? Fp32Objects(s) : Annotated(s);
        // The objects this metric leaves out (Difficult from here on): difficult ones and crowds; Accuracy Checker's map
        // difficult ones only (its COCO converter marks crowds apart); pycocotools (coco_orig_precision) crowds only, and
        // it counts every detection, ignored or not, as Accuracy Checker hands it every one; none without ignore_difficult.
        bool acMap = spec.AccuracyCheckerMatching != null && spec.Type == MetricType.Map;
        truth = truth with
        {
            Boxes = truth.Boxes.Select(b => b with { Difficult = spec.IgnoreDifficult && (spec.PycocotoolsOverlap ? b.Crowd : acMap ? b.Difficult : b.Difficult || b.Crowd) }).ToList(),
        };
        if (!spec.IgnoreDifficult || spec.PycocotoolsOverlap) predicted = predicted.Select(d => d with { Ignored = false }).ToList();
        ((DetectionAggregate)aggregate).Add(s.NonFinite ? Array.Empty<Detection>() : predicted, truth);
        return double.NaN;
    }

    public override double Signal(SampleView s, double value) => double.NaN;

    private DetectionAnnotation Annotated(SampleView s)
    {
        if (s.Annotation is not DetectionAnnotation truth)
            throw new PotException("AnnotationNotDetection", PotErrorCategory.InvalidData,
                $"Item {s.Index} of dataset '{s.Definition.Name}' has the annotation {Labels.Show(s.Annotation)}; metric '{Name}' needs boxes (annotate with a COCO file: detections:), or compare with the FP32 model (reference: fp32).", s.Definition.DataSource);
        // label_offset (has_background): the model numbers classes from 1, the annotation file from 0; then the steps
        // that apply to annotated objects (cast_to_int, clip_boxes, filter), in the model's class numbers.
        var steps = s.Adapter.Definition.Postprocessing.Where(DetectionSteps.OnObjects).ToList();
        if (s.Definition.LabelOffset == 0 && steps.Count == 0) return truth;
        if (s.Definition.LabelOffset != 0) truth = truth with { Boxes = truth.Boxes.Select(b => b with { Label = b.Label + s.Definition.LabelOffset }).ToList() };
        return DetectionSteps.Objects(truth, steps);
    }

    /// <summary>
    /// The FP32 model's detections of the item (its adapter's prediction, kept by the reference store: through the same
    /// postprocessing as the model's own, in the annotated image's pixels when the item has an annotation, else in the
    /// model input's) that reach the reference confidence; scores that are not finite reach none.
    /// </summary>
    private DetectionAnnotation Fp32Objects(SampleView s)
    {
        var fp32 = (IReadOnlyList<Detection>)s.References!.Prediction(s.Index);
        var image = s.Annotation as DetectionAnnotation;
        var objects = fp32.Where(d => !d.Ignored && d.Score >= spec.ConfidenceThreshold).Select(d => new DetectionBox(d.Label, d.X1, d.Y1, d.X2, d.Y2)).ToList();
        return new DetectionAnnotation(objects, image?.ImageWidth ?? 0, image?.ImageHeight ?? 0) { Geometry = image?.Geometry };
    }
}

/// <summary>The detections and annotations of every item measured, matched once when first asked for a value.</summary>
internal sealed class DetectionAggregate(MetricSpec spec) : IAggregate, IWeightedAggregate, ICancellableAggregate
{
    private readonly List<IReadOnlyList<Detection>> _predicted = new();
    private readonly List<DetectionAnnotation> _truth = new();
    private DetectionMatches? _matches;

    public void Add(double value) => throw new InvalidOperationException("Use Add(predicted, truth).");

    public void Add(IReadOnlyList<Detection> predicted, DetectionAnnotation truth)
    {
        _predicted.Add(predicted);
        _truth.Add(truth);
        _matches = null;
    }

    public int Items => _truth.Count;

    public double Result() => Result(CancellationToken.None);

    public double Result(CancellationToken cancellationToken)
    {
        Match(cancellationToken);
        return Result(IWeightedAggregate.Once(Items));
    }

    public double Result(ReadOnlySpan<int> draws)
    {
        if (Items == 0) return double.NaN;
        Match(CancellationToken.None);
        return _matches!.Mean(spec.Type == MetricType.Map ? spec.Integral : ApIntegral.HundredOnePoint, draws);
    }

    private void Match(CancellationToken cancellationToken)
    {
        bool voc = spec.Type == MetricType.Map;
        _matches ??= DetectionMatches.Find(_predicted, _truth, voc ? new[] { spec.OverlapThreshold } : spec.IouThresholds, spec.IncludeBoundaries,
            cocoMatching: !voc, voc ? 0 : spec.MaxDetections, spec.PycocotoolsOverlap, spec.AccuracyCheckerMatching, cancellationToken);
    }
}

/// <summary>
/// A dataset-level custom metric (code or a script with level: dataset): called once with every item measured. When
/// any item's outputs are not finite, the value is the metric's worst (as each such item is for per-item metrics).
/// </summary>
internal sealed class DatasetCustomRunner(string name, string type, MetricDirection direction, IReadOnlyList<int>? datasets, IDatasetMetric metric)
    : MetricRunner(name, type, direction, datasets)
{
    public override IAggregate NewAggregate() => new CollectingAggregate<SampleMetricInput?>(Compute);

    public override double Measure(SampleView s, IAggregate aggregate)
    {
        ((CollectingAggregate<SampleMetricInput?>)aggregate).Add(s.NonFinite ? null : CustomRunner.Sample(s, Name));
        return double.NaN;
    }

    public override double Signal(SampleView s, double value) => double.NaN;

    private double Compute(IReadOnlyList<SampleMetricInput?> samples)
    {
        if (samples.Any(x => x == null)) return Direction == MetricDirection.HigherBetter ? double.NegativeInfinity : double.PositiveInfinity;
        try
        {
            return metric.Measure(samples.Select(x => x!).ToList());
        }
        catch (Exception e) when (e is not PotException and not OperationCanceledException)
        {
            throw new PotException("CustomMetricFailed", PotErrorCategory.InvalidOperation, $"The metric '{Name}' failed: {e.Message}", Name, e);
        }
    }
}
