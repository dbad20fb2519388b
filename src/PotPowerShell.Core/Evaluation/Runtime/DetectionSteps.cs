using PotPowerShell.Core.Data;

namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// The postprocessing steps that apply to annotated objects (cast_to_int, clip_boxes and filter with apply_to
/// annotation or all), and the criteria of filter on either side, as Accuracy Checker's postprocessor/filter.py picks
/// boxes. Steps run in the order written on each side; the detections' own run in <see cref="DetectionAdapter"/>.
/// </summary>
internal static class DetectionSteps
{
    /// <summary>numpy's float64 eps, the width Accuracy Checker's aspect_ratio divides by at least.</summary>
    private const double MachineEpsilon = 2.220446049250313e-16;

    private readonly record struct Box(int Label, double Score, double X1, double Y1, double X2, double Y2);

    /// <summary>The annotated objects after the steps that apply to them, in order.</summary>
    public static DetectionAnnotation Objects(DetectionAnnotation truth, IEnumerable<DetectionStep> steps)
    {
        foreach (var step in steps)
        {
            truth = step switch
            {
                CastToIntStep { Annotations: true } r => truth with
                {
                    Boxes = truth.Boxes.Select(b => b with { X1 = r.Round(b.X1), Y1 = r.Round(b.Y1), X2 = r.Round(b.X2), Y2 = r.Round(b.Y2) }).ToList(),
                },
                ClipBoxesStep { Annotations: true } c => truth with
                {
                    Boxes = truth.Boxes.Select(b => Clip(c, truth, b.X1, b.Y1, b.X2, b.Y2) is var (x1, y1, x2, y2) ? b with { X1 = x1, Y1 = y1, X2 = x2, Y2 = y2 } : b).ToList(),
                },
                FilterStep { Annotations: true } f => truth with
                {
                    Boxes = Apply(f, truth.Boxes.ToList(), b => new Box(b.Label, double.NaN, b.X1, b.Y1, b.X2, b.Y2), annotated: true, truth, b => b with { Difficult = true }),
                },
                _ => truth,
            };
        }
        return truth;
    }

    /// <summary>Whether a step changes annotated objects.</summary>
    public static bool OnObjects(DetectionStep step) => step is CastToIntStep { Annotations: true } or ClipBoxesStep { Annotations: true } or FilterStep { Annotations: true };

    /// <summary>The detections filter leaves (remove_filtered) or marks ignored.</summary>
    public static List<Detection> Filter(FilterStep f, List<Detection> detections, DetectionAnnotation? image) =>
        Apply(f, detections, d => new Box(d.Label, d.Score, d.X1, d.Y1, d.X2, d.Y2), annotated: false, image, d => d with { Ignored = true });

    /// <summary>
    /// Corners clipped to [0, width] x [0, height]: the step's size, else the annotated image's; with ToInput, to the
    /// input's corners taken back to the annotated image (the whole image without a geometry). None without a size.
    /// </summary>
    public static (double X1, double Y1, double X2, double Y2)? Clip(ClipBoxesStep c, DetectionAnnotation? image, double x1, double y1, double x2, double y2)
    {
        double left = 0, top = 0;
        double? width = c.Width ?? image?.ImageWidth, height = c.Height ?? image?.ImageHeight;
        if (c.ToInput && image?.Geometry is { } g)
        {
            double ax = (double)image.ImageWidth / g.ImageWidth, ay = (double)image.ImageHeight / g.ImageHeight;
            (left, top, width, height) = (g.ImageX(0) * ax, g.ImageY(0) * ay, g.ImageX(g.InputWidth) * ax, g.ImageY(g.InputHeight) * ay);
        }
        if (width is not double right || height is not double bottom) return null;
        return (Math.Clamp(x1, left, right), Math.Clamp(y1, top, bottom), Math.Clamp(x2, left, right), Math.Clamp(y2, top, bottom));
    }

    private static List<T> Apply<T>(FilterStep f, List<T> items, Func<T, Box> box, bool annotated, DetectionAnnotation? image, Func<T, T> ignore)
    {
        if (f.Remove)
        {
            // Each criterion removes from what the ones before it left (Accuracy Checker's entry.remove per filter).
            foreach (var c in f.Criteria)
            {
                var picked = Picked(c, items.Select(box).ToList(), annotated, image);
                items = items.Where((_, i) => !picked[i]).ToList();
            }
            return items;
        }
        var boxes = items.Select(box).ToList();
        var any = new bool[items.Count];
        foreach (var c in f.Criteria)
        {
            var picked = Picked(c, boxes, annotated, image);
            for (int i = 0; i < any.Length; i++) any[i] |= picked[i];
        }
        return items.Select((x, i) => any[i] ? ignore(x) : x).ToList();
    }

    private static bool[] Picked(FilterCriterion c, List<Box> boxes, bool annotated, DetectionAnnotation? image)
    {
        var picked = new bool[boxes.Count];
        if (c.Kind == FilterKind.TopK)
        {
            if (annotated || boxes.Count <= c.Min) return picked;
            // np.argsort(scores)[::-1][:k]: the best k, of equal scores the later box first.
            var order = Enumerable.Range(0, boxes.Count).OrderBy(i => boxes[i].Score).Reverse().ToList();
            for (int k = (int)c.Min; k < order.Count; k++) picked[order[k]] = true;
            return picked;
        }
        double imageArea = image is { ImageWidth: > 0, ImageHeight: > 0 } ? (double)image.ImageWidth * image.ImageHeight : 0;
        for (int i = 0; i < boxes.Count; i++)
        {
            var b = boxes[i];
            double width = b.X2 - b.X1, height = b.Y2 - b.Y1;
            picked[i] = c.Kind switch
            {
                FilterKind.Labels => c.Labels!.Contains(b.Label),
                FilterKind.MinConfidence => !annotated && b.Score < c.Min,
                FilterKind.HeightRange => !Inside(height, c),
                FilterKind.WidthRange => !Inside(width, c),
                FilterKind.AspectRatio => !Inside(height / Math.Max(width, MachineEpsilon), c),
                // Only annotated objects of an image of known size, as Accuracy Checker's (its image_size metadata).
                FilterKind.AreaRatio => annotated && imageArea > 0 && !Inside(Math.Sqrt(width * height / imageArea), c),
                FilterKind.IsEmpty => width <= 0 || height <= 0,
                FilterKind.InvalidBoxes => !double.IsFinite(b.X1) || !double.IsFinite(b.Y1) || !double.IsFinite(b.X2) || !double.IsFinite(b.Y2),
                _ => false,
            };
        }
        return picked;
    }

    /// <summary>Accuracy Checker's in_interval: Min &lt;= v &lt; Max, or Min &lt;= v without an upper end (none or 0).</summary>
    private static bool Inside(double v, FilterCriterion c) => c.Max is double max && max != 0 ? c.Min <= v && v < max : c.Min <= v;
}
