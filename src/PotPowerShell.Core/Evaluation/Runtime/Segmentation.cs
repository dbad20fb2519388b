using PotPowerShell.Core.Data;
using PotPowerShell.Core.Results;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// One item's class map, row-major: the prediction of the segmentation adapter. <paramref name="ClassCount"/> is the
/// number of classes the model scores (0 when its output is a class map).
/// </summary>
public sealed record SegmentationMask(int Height, int Width, int[] Classes, int ClassCount)
{
    public override string ToString() => $"{Height}x{Width} class map";
}

/// <summary>
/// segmentation (Accuracy Checker's adapter): per item, class scores [C, H, W] become the class map of their per-pixel
/// argmax (the first class on ties); one channel [1, H, W], or a map [H, W], already holds classes (or a foreground
/// probability), rounded to the nearest class.
/// </summary>
internal sealed class SegmentationAdapter(AdapterDefinition d) : Adapter(d)
{
    public override object? Predict(BatchOutputs outputs, int row)
    {
        outputs.RequireBatchFirst(OutputIndex, "the segmentation adapter");
        var dims = outputs.Shapes[OutputIndex].Skip(1).Select(x => (int)x).ToArray();
        var values = outputs.Row(OutputIndex, row);
        if (dims.Length == 2) dims = new[] { 1, dims[0], dims[1] };
        if (dims.Length != 3)
            throw new PotException("SegmentationOutputShape", PotErrorCategory.InvalidData,
                $"The segmentation adapter reads class scores [N, C, H, W] or a class map [N, H, W], but the output '{OutputName}' has the shape [{string.Join(",", outputs.Shapes[OutputIndex])}]. Name the output of class scores (adapter output:).", Definition.KeyPath);
        int classes = dims[0];
        return new SegmentationMask(dims[1], dims[2], ClassMap(values, classes, dims[1] * dims[2]), classes == 1 ? 0 : classes);
    }

    /// <summary>The class map of one item's output of <paramref name="classes"/> channels of <paramref name="pixels"/> values each.</summary>
    public static int[] ClassMap(ReadOnlySpan<float> values, int classes, int pixels)
    {
        var map = new int[pixels];
        if (classes == 1)
            for (int p = 0; p < pixels; p++) map[p] = (int)Math.Round(values[p], MidpointRounding.AwayFromZero);
        else
            for (int p = 0; p < pixels; p++)
            {
                int best = 0;
                float top = values[p];
                for (int c = 1; c < classes; c++)
                    if (values[c * pixels + p] > top) (best, top) = (c, values[c * pixels + p]);
                map[p] = best;
            }
        return map;
    }
}

/// <summary>
/// segmentation_accuracy, mean_iou, mean_accuracy and frequency_weighted_accuracy (Accuracy Checker's), from the
/// confusion matrix of every pixel of the items measured (so dataset-level: items have no value of their own). Per
/// class c, with TP its pixels found, FN its pixels missed and FP other pixels called c: IoU = TP / (TP + FP + FN), over
/// the classes where that is defined; accuracy = TP / (TP + FN), over the classes annotated; frequency weighted = the sum
/// of IoU weighted by each class's share of the annotated pixels. Pixels annotated or predicted with ignore_label are left
/// out, so that class counts nowhere (Accuracy Checker zeroes its row and column); a mask value that is no class of the
/// model is an error (Accuracy Checker drops such pixels without a word). An item whose outputs are not finite predicts
/// no class (its pixels are all missed). A mask of another size than the class map is scored at its own size.
/// </summary>
internal sealed class SegmentationRunner(MetricSpec spec) : MetricRunner(spec.Name, TypeWord(spec.Type), spec.Direction, spec.Datasets)
{
    /// <summary>Class indices above this are refused: the confusion matrix is square in the largest class.</summary>
    public const int MaxClasses = 4096;

    private static string TypeWord(MetricType type) => type switch
    {
        MetricType.SegmentationAccuracy => "segmentation_accuracy",
        MetricType.MeanIou => "mean_iou",
        MetricType.MeanAccuracy => "mean_accuracy",
        _ => "frequency_weighted_accuracy",
    };

    public override IAggregate NewAggregate() => new ConfusionMatrix(spec.Type);

    public override double Measure(SampleView s, IAggregate aggregate)
    {
        if (s.Prediction is not SegmentationMask mask)
            throw new PotException("PredictionNotSegmentation", PotErrorCategory.InvalidData,
                $"Metric '{Name}' needs class maps, but dataset '{s.Definition.Name}' has the {s.Adapter.Definition.Type.ToString().ToLowerInvariant()} adapter: use segmentation.", spec.KeyPath);
        if (!spec.UseArgmax && mask.ClassCount > 0)
            throw new PotException("SegmentationOutputShape", PotErrorCategory.InvalidData,
                $"Metric '{Name}' has use_argmax: false, which says the model's output is its class map, but '{s.Adapter.OutputName}' holds {mask.ClassCount} class scores per pixel. Remove use_argmax: false (their argmax is then the class map).", spec.KeyPath);
        // reference: fp32 compares with the FP32 model's class map, so unlabelled data serves (POT's annotation_free).
        int[]? reference = spec.Reference == MetricReference.Fp32 ? ReferenceMap(s, mask) : null;
        var (truth, geometry) = s.Annotation switch
        {
            SegmentationAnnotation a => (a.Mask, a.Geometry),
            TensorData t => (t, null),
            _ => ((TensorData?)null, (ImageGeometry?)null),
        };
        if (reference == null)
        {
            var size = truth != null && truth.Shape.Length >= 2 && truth.Shape[..^2].All(d => d == 1) ? truth.Shape[^2..] : null;
            if (size == null)
                throw new PotException("AnnotationNotMask", PotErrorCategory.InvalidData,
                    $"Item {s.Index} of dataset '{s.Definition.Name}' has the annotation {Labels.Show(s.Annotation)}, but metric '{Name}' needs a mask [H, W] of class indices: give labels: an .npy array [items, H, W], masks: a folder of mask images, or compare with the FP32 model (reference: fp32).", s.Definition.DataSource);
            // A mask of its image's size is scored at its pixels, each taking the class where the preprocessing put it
            // (letterboxed or cropped inputs too); a mask of another size than the class map is scored at its size.
            if (geometry != null && size[0] == geometry.ImageHeight && size[1] == geometry.ImageWidth) mask = Projected(mask, geometry);
            else if (size[0] != mask.Height || size[1] != mask.Width) mask = Resized(mask, (int)size[0], (int)size[1]);
        }
        var matrix = (ConfusionMatrix)aggregate;
        int limit = mask.ClassCount > 0 ? mask.ClassCount : MaxClasses;
        for (int p = 0; p < mask.Classes.Length; p++)
        {
            if (mask.Classes[p] == Unseen) continue;
            double value = reference != null ? reference[p] : TensorBytes.ValueAt(truth!.Data, p);
            int predicted = s.NonFinite ? -1 : mask.Classes[p];
            if (spec.IgnoreLabel is long ignored && (value == ignored || predicted == ignored)) continue;
            if (!(value >= 0 && value < limit) || value != Math.Floor(value))
                throw new PotException("AnnotationNotMask", PotErrorCategory.InvalidData,
                    $"Item {s.Index} of dataset '{s.Definition.Name}' has the mask value {value} at pixel {p}, which is not one of the {(mask.ClassCount > 0 ? $"model's {limit} classes" : "class indices")} (0 to {limit - 1}). Set ignore_label: to the value that marks pixels to leave out (255 in Pascal VOC's masks).", s.Definition.DataSource);
            if (predicted >= MaxClasses) predicted = -1;
            matrix.Add((int)value, predicted);
        }
        matrix.EndItem();
        return double.NaN;
    }

    public override double Signal(SampleView s, double value) => double.NaN;

    /// <summary>The class of an image pixel a crop took out of the model input: it is left out.</summary>
    private const int Unseen = -2;

    /// <summary>
    /// The class map at its image's pixels: each takes the class at its centre's position in the model input (through
    /// <paramref name="geometry"/>) and so in the map (which may be smaller than the input by the model's stride), or
    /// <see cref="Unseen"/> when that position is outside the input.
    /// </summary>
    private static SegmentationMask Projected(SegmentationMask mask, ImageGeometry geometry)
    {
        int height = geometry.ImageHeight, width = geometry.ImageWidth;
        double mapX = (double)mask.Width / geometry.InputWidth, mapY = (double)mask.Height / geometry.InputHeight;
        var columns = new int[width];
        for (int x = 0; x < width; x++) columns[x] = Cell(geometry.InputX(x + 0.5), geometry.InputWidth, mapX, mask.Width);
        var classes = new int[height * width];
        for (int y = 0; y < height; y++)
        {
            int row = Cell(geometry.InputY(y + 0.5), geometry.InputHeight, mapY, mask.Height);
            for (int x = 0; x < width; x++)
                classes[y * width + x] = row < 0 || columns[x] < 0 ? Unseen : mask.Classes[row * mask.Width + columns[x]];
        }
        return mask with { Height = height, Width = width, Classes = classes };
    }

    /// <summary>The map cell of an input coordinate, or -1 outside the input.</summary>
    private static int Cell(double input, int inputSize, double scale, int cells) =>
        input < 0 || input >= inputSize ? -1 : Math.Min(cells - 1, (int)(input * scale));

    /// <summary>
    /// The class map at another size, each pixel taking the class at its centre's position in the map (nearest
    /// neighbour, as Pillow resizes Accuracy Checker's masks).
    /// </summary>
    private static SegmentationMask Resized(SegmentationMask mask, int height, int width)
    {
        var classes = new int[height * width];
        for (int y = 0; y < height; y++)
        {
            int sy = Math.Min(mask.Height - 1, (int)((y + 0.5) * mask.Height / height));
            for (int x = 0; x < width; x++)
                classes[y * width + x] = mask.Classes[sy * mask.Width + Math.Min(mask.Width - 1, (int)((x + 0.5) * mask.Width / width))];
        }
        return mask with { Height = height, Width = width, Classes = classes };
    }

    /// <summary>The FP32 model's class map of the item: its adapter's prediction, which the reference store keeps.</summary>
    private int[] ReferenceMap(SampleView s, SegmentationMask mask)
    {
        var reference = (SegmentationMask)s.References!.Prediction(s.Index);
        if (reference.Height != mask.Height || reference.Width != mask.Width)
            throw new PotException("ReferenceShapeMismatch", PotErrorCategory.InvalidData,
                $"Metric '{Name}': item {s.Index}'s class map is {mask.Height}x{mask.Width} but its FP32 reference's is {reference.Height}x{reference.Width}.", spec.KeyPath);
        return reference.Classes;
    }
}

/// <summary>
/// Per item and class, the pixels annotated with the class, predicted as it, and both: all that the four metrics read
/// of the confusion matrix (its diagonal, row sums and column sums). A pixel predicted as no class (a negative
/// prediction) counts for its annotated class only. Kept per item for the paired bootstrap (<see cref="IWeightedAggregate"/>).
/// </summary>
internal sealed class ConfusionMatrix(MetricType type) : IAggregate, IWeightedAggregate
{
    private readonly record struct ClassPixels(int Class, long Truth, long Predicted, long Right);

    private readonly List<ClassPixels> _cells = new();
    private readonly List<int> _ends = new();
    // The item being counted, by class.
    private long[] _truth = Array.Empty<long>(), _predicted = Array.Empty<long>(), _right = Array.Empty<long>();

    public void Add(double value) => throw new InvalidOperationException("Use Add(truth, predicted).");

    public void Add(int truth, int predicted)
    {
        int size = Math.Max(truth, predicted) + 1;
        if (size > _truth.Length)
        {
            Array.Resize(ref _truth, size);
            Array.Resize(ref _predicted, size);
            Array.Resize(ref _right, size);
        }
        _truth[truth]++;
        if (predicted < 0) return;
        _predicted[predicted]++;
        if (predicted == truth) _right[truth]++;
    }

    /// <summary>Closes the item whose pixels were added since the last call.</summary>
    public void EndItem()
    {
        for (int c = 0; c < _truth.Length; c++)
        {
            if (_truth[c] == 0 && _predicted[c] == 0) continue;
            _cells.Add(new ClassPixels(c, _truth[c], _predicted[c], _right[c]));
            _truth[c] = _predicted[c] = _right[c] = 0;
        }
        _ends.Add(_cells.Count);
    }

    public int Items => _ends.Count;

    public double Result() => Result(IWeightedAggregate.Once(Items));

    public double Result(ReadOnlySpan<int> draws)
    {
        int n = _cells.Count == 0 ? 0 : _cells.Max(c => c.Class) + 1;
        var truth = new long[n];
        var predicted = new long[n];
        var right = new long[n];
        for (int i = 0, cell = 0; i < _ends.Count; cell = _ends[i++])
        {
            if (draws[i] == 0) continue;
            for (int k = cell; k < _ends[i]; k++)
            {
                var c = _cells[k];
                truth[c.Class] += draws[i] * c.Truth;
                predicted[c.Class] += draws[i] * c.Predicted;
                right[c.Class] += draws[i] * c.Right;
            }
        }
        long total = truth.Sum();
        if (total == 0) return double.NaN;
        double Iou(int c) => (double)right[c] / (truth[c] + predicted[c] - right[c]);
        var classes = Enumerable.Range(0, n);
        return type switch
        {
            MetricType.SegmentationAccuracy => (double)right.Sum() / total,
            MetricType.MeanIou => classes.Where(c => truth[c] + predicted[c] > 0).Select(Iou).Average(),
            MetricType.MeanAccuracy => classes.Where(c => truth[c] > 0).Select(c => (double)right[c] / truth[c]).Average(),
            _ => classes.Where(c => truth[c] > 0).Sum(c => (double)truth[c] / total * Iou(c)),
        };
    }
}
