using PotPowerShell.Core.Data;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Evaluation;

/// <summary>One predicted object: class index, confidence and box corners (in the original image's pixels once postprocessed).</summary>
public sealed record Detection(int Label, double Score, double X1, double Y1, double X2, double Y2)
{
    /// <summary>
    /// A filter's pick kept (Accuracy Checker's difficult prediction): it counts neither right nor wrong. VOC's matching
    /// leaves it out; COCO's lets it take its object first, as pycocotools' ignored detections do; Accuracy Checker's
    /// map takes only a difficult object with it, without allow_multiple_matches_per_ignored.
    /// </summary>
    public bool Ignored { get; init; }
}

/// <summary>
/// map as Accuracy Checker matches (its bbox_match, metrics/detection.py), instead of VOC's devkit: a detection takes
/// the countable box it overlaps most and a difficult one only when none reaches the threshold; a difficult box's
/// first match counts neither way and a second is wrong, or with <paramref name="MultipleMatchesPerIgnored"/> every
/// match counts neither way and a difficult box's overlap is the share of the detection it covers.
/// <paramref name="DistinctConfidences"/> (its distinct_conf) puts a point on the precision-recall curve only where the
/// score changes, after every detection of that score. Its mean is over the classes detected at all: a class with
/// objects but no detection is left out (its AP is NaN there), one with detections but no countable object counts 0.
/// <paramref name="UseFilteredTp"/> (its use_filtered_tp): an ignored detection that takes a countable box is right.
/// </summary>
public sealed record AccuracyCheckerMatching(bool MultipleMatchesPerIgnored = false, bool DistinctConfidences = false, bool UseFilteredTp = false);

/// <summary>How average precision integrates a precision-recall curve.</summary>
public enum ApIntegral
{
    /// <summary>VOC's area: the area under the precision envelope (Accuracy Checker's integral: max).</summary>
    Area,
    /// <summary>VOC 2007's 11 points: the mean of the envelope at recall 0, 0.1, ..., 1.</summary>
    ElevenPoint,
    /// <summary>COCO's 101 points: the mean of the envelope at recall 0, 0.01, ..., 1 (0 beyond the last recall).</summary>
    HundredOnePoint,
}

/// <summary>
/// Average precision of detections over a set of images (the math of the map and coco_precision metrics). Per class,
/// detections are taken by score, highest first (ties in image order, then detection order), and each is matched to a
/// ground-truth box of its class and image: VOC's rule takes the box of largest IoU and counts a second match of it as
/// wrong; COCO's takes the best box not matched yet. A match to a difficult (crowd) box counts neither way. Classes
/// without countable ground truth are left out of the mean.
/// </summary>
public static class DetectionMetrics
{
    /// <summary>IoU of two boxes; with <paramref name="includeBoundaries"/> a box spans x2 - x1 + 1 pixels (Accuracy Checker's default).</summary>
    public static double Iou(double ax1, double ay1, double ax2, double ay2, double bx1, double by1, double bx2, double by2, bool includeBoundaries)
    {
        double one = includeBoundaries ? 1 : 0;
        double iw = Math.Min(ax2, bx2) - Math.Max(ax1, bx1) + one, ih = Math.Min(ay2, by2) - Math.Max(ay1, by1) + one;
        if (iw <= 0 || ih <= 0) return 0;
        double inter = iw * ih;
        double union = (ax2 - ax1 + one) * (ay2 - ay1 + one) + (bx2 - bx1 + one) * (by2 - by1 + one) - inter;
        return union <= 0 ? 0 : inter / union;
    }

    /// <summary>
    /// The overlap of a detection and an annotated box as pycocotools computes it from the boxes Accuracy Checker's
    /// coco_orig_precision gives it: the detection x1, y1, x2 - x1 + δ, y2 - y1 + δ (δ 1 with
    /// <paramref name="includeBoundaries"/>), the annotated box as written (x, y, width, height); intersection over
    /// union, or over the detection's area for a crowd box.
    /// </summary>
    internal static double PycocotoolsIou(Detection d, DetectionBox b, bool includeBoundaries)
    {
        double delta = includeBoundaries ? 1 : 0;
        double dw = d.X2 - d.X1 + delta, dh = d.Y2 - d.Y1 + delta;
        double iw = Math.Min(d.X1 + dw, b.X2) - Math.Max(d.X1, b.X1), ih = Math.Min(d.Y1 + dh, b.Y2) - Math.Max(d.Y1, b.Y1);
        if (iw <= 0 || ih <= 0) return 0;
        double inter = iw * ih;
        double union = b.Crowd ? dw * dh : dw * dh + (b.X2 - b.X1) * (b.Y2 - b.Y1) - inter;
        return union <= 0 ? 0 : inter / union;
    }

    /// <summary>
    /// Average precision of one class from its detections' flags in score order, each counted as often as its image
    /// was drawn (<paramref name="draws"/>[image]), against <paramref name="groundTruth"/> boxes in the drawn images.
    /// A detection drawn w times is w points of the precision-recall curve in a row: true ones raise the precision
    /// along them and false ones lower it, so the envelope (the best precision at this recall or beyond) is the same
    /// over a true run and its first point's over a false run, and each detection is one step whatever its count. With
    /// every count 1 this is the plain computation, step for step. <paramref name="scratch"/> holds two values per detection.
    /// </summary>
    /// <param name="runs">Scores of the detections, given to put a point only at the last of each run of one score (distinct_conf).</param>
    /// <param name="accuracyChecker">11 points at recall k x 0.1 as Accuracy Checker's np.arange gives them (0.30000000000000004
    /// for 0.3, so a recall of exactly 0.3 does not reach it), not at the decimals.</param>
    internal static double AveragePrecision(int[] images, bool[] positive, ReadOnlySpan<int> draws, long groundTruth, ApIntegral integral, Span<double> scratch,
        double[]? runs = null, bool accuracyChecker = false)
    {
        var recall = scratch[..positive.Length];
        var envelope = scratch.Slice(positive.Length, positive.Length);
        int n = 0;
        long tp = 0, seen = 0;
        for (int k = 0; k < positive.Length; k++)
        {
            int w = draws[images[k]];
            if (runs != null)
            {
                if (positive[k]) tp += w;
                seen += w;
                if (seen == 0 || k + 1 < positive.Length && runs[k + 1] == runs[k]) continue;
                envelope[n] = (double)tp / seen;
                recall[n++] = (double)tp / groundTruth;
                continue;
            }
            if (w == 0) continue;
            if (positive[k])
            {
                tp += w;
                seen += w;
                envelope[n] = (double)tp / seen;
            }
            else
            {
                envelope[n] = (double)tp / (seen + 1);
                seen += w;
            }
            recall[n++] = (double)tp / groundTruth;
        }
        for (int i = n - 2; i >= 0; i--) envelope[i] = Math.Max(envelope[i], envelope[i + 1]);
        switch (integral)
        {
            case ApIntegral.Area:
            {
                double area = 0, previous = 0;
                for (int i = 0; i < n; i++)
                {
                    area += (recall[i] - previous) * envelope[i];
                    previous = recall[i];
                }
                return area;
            }
            default:
            {
                int points = integral == ApIntegral.ElevenPoint ? 11 : 101;
                double sum = 0;
                int at = 0;
                for (int p = 0; p < points; p++)
                {
                    // Recall thresholds as COCO writes them (np.linspace), compared with a tolerance of rounding only, or as
                    // Accuracy Checker's np.arange(0, 1.1, 0.1) does, exactly.
                    double threshold = accuracyChecker && points == 11 ? p * 0.1 : (double)p / (points - 1) - 1e-12;
                    while (at < n && recall[at] < threshold) at++;
                    if (at < n) sum += envelope[at];
                }
                return sum / points;
            }
        }
    }

    /// <summary>
    /// Mean average precision over classes at one IoU threshold. <paramref name="cocoMatching"/> picks COCO's matching
    /// rule (see the class summary); <paramref name="maxDetections"/> keeps that many detections per image and class,
    /// highest scores first (0 = all).
    /// </summary>
    public static double MeanAveragePrecision(IReadOnlyList<IReadOnlyList<Detection>> predictions, IReadOnlyList<DetectionAnnotation> annotations,
        double iouThreshold, ApIntegral integral, bool includeBoundaries, bool cocoMatching, int maxDetections = 0) =>
        DetectionMatches.Find(predictions, annotations, new[] { iouThreshold }, includeBoundaries, cocoMatching, maxDetections).Mean(integral, IWeightedAggregate.Once(predictions.Count));

    /// <summary>COCO's AP@[thresholds]: per class the mean over thresholds, then the mean over classes.</summary>
    public static double CocoPrecision(IReadOnlyList<IReadOnlyList<Detection>> predictions, IReadOnlyList<DetectionAnnotation> annotations,
        IReadOnlyList<double> iouThresholds, int maxDetections, bool includeBoundaries) =>
        DetectionMatches.Find(predictions, annotations, iouThresholds, includeBoundaries, cocoMatching: true, maxDetections).Mean(ApIntegral.HundredOnePoint, IWeightedAggregate.Once(predictions.Count));

    private static IEnumerable<int> Order(IReadOnlyList<DetectionBox> boxes, bool countableFirst) =>
        countableFirst
            ? Enumerable.Range(0, boxes.Count).Where(g => !boxes[g].Difficult).Concat(Enumerable.Range(0, boxes.Count).Where(g => boxes[g].Difficult))
            : Enumerable.Range(0, boxes.Count);

    /// <summary>
    /// Image and true/false per counted detection, in the given order; detections matched to a difficult box, and
    /// ignored ones (<see cref="Detection.Ignored"/>), are dropped. Each image's detections are matched in their own
    /// score order, whatever the other images hold.
    /// </summary>
    /// <param name="pycocotools">Overlaps as pycocotools computes them (<see cref="PycocotoolsIou"/>).</param>
    /// <param name="accuracyCheckerCoco">COCO's matching as Accuracy Checker's coco_precision does it (its evaluate_image):
    /// the best detection of an image does not keep the box it matches from the image's later ones, as it records the
    /// match by the detection's index, 0, which reads as no match; its IoUs are float32.</param>
    internal static (int[] Images, bool[] Positive) Match(List<(int Image, Detection D)> ordered, IReadOnlyList<DetectionAnnotation> annotations, int c, double threshold,
        bool includeBoundaries, bool cocoMatching, bool pycocotools = false, bool accuracyCheckerCoco = false)
    {
        var used = new Dictionary<int, bool[]>();
        var images = new List<int>(ordered.Count);
        var flags = new List<bool>(ordered.Count);
        foreach (var (image, d) in ordered)
        {
            if (d.Ignored && !cocoMatching) continue;
            var boxes = annotations[image].Boxes;
            bool first = false;
            if (!used.TryGetValue(image, out var taken))
            {
                used[image] = taken = new bool[boxes.Count];
                first = true;
            }
            bool reserves = !(accuracyCheckerCoco && first);
            int best = -1;
            double bestIou = cocoMatching ? Math.Min(threshold, 1 - 1e-10) : double.NegativeInfinity;
            // COCO looks at countable boxes first and at difficult (crowd) ones only when none matched; VOC at every box.
            foreach (int g in Order(boxes, cocoMatching))
            {
                var b = boxes[g];
                if (b.Label != c) continue;
                if (cocoMatching && best >= 0 && !boxes[best].Difficult && b.Difficult) break;
                // COCO: a matched box is out of the running, but a crowd, which may match again.
                if (cocoMatching && taken[g] && !b.Crowd) continue;
                double iou = pycocotools ? PycocotoolsIou(d, b, includeBoundaries) : Iou(d.X1, d.Y1, d.X2, d.Y2, b.X1, b.Y1, b.X2, b.Y2, includeBoundaries);
                // Accuracy Checker's coco_precision keeps its IoUs in float32 (compute_iou_boxes).
                if (accuracyCheckerCoco) iou = (float)iou;
                if (iou < bestIou) continue;
                // Equal IoU: VOC keeps the first box (argmax), COCO the later one.
                if (!cocoMatching && iou == bestIou && best >= 0) continue;
                bestIou = iou;
                best = g;
            }
            bool matched = best >= 0 && bestIou >= threshold;
            if (matched && boxes[best].Difficult)
            {
                // Neither way; COCO's matching takes the box (only a crowd may match again), VOC's devkit does not.
                if (cocoMatching && reserves) taken[best] = true;
                continue;
            }
            if (d.Ignored)
            {
                // COCO: it takes its object (no countable box it matched was taken yet), and counts neither way.
                if (matched && reserves) taken[best] = true;
                continue;
            }
            images.Add(image);
            if (matched && !taken[best])
            {
                if (reserves) taken[best] = true;
                flags.Add(true);
            }
            else flags.Add(false);
        }
        return (images.ToArray(), flags.ToArray());
    }

    /// <summary>
    /// Accuracy Checker's bbox_match (see <see cref="AccuracyCheckerMatching"/>): as <see cref="Match"/>, each counted
    /// detection true or false (dropped when neither), with its score.
    /// </summary>
    internal static (int[] Images, bool[] Positive, double[] Scores) MatchAsAccuracyChecker(List<(int Image, Detection D)> ordered, IReadOnlyList<DetectionAnnotation> annotations,
        int c, double threshold, bool includeBoundaries, bool multiplePerIgnored, bool useFilteredTp = false)
    {
        var used = new Dictionary<int, bool[]>();
        var images = new List<int>(ordered.Count);
        var flags = new List<bool>(ordered.Count);
        var scores = new List<double>(ordered.Count);
        var overlaps = new double[annotations.Select(a => a.Boxes.Count).DefaultIfEmpty().Max()];
        foreach (var (image, d) in ordered)
        {
            var boxes = annotations[image].Boxes;
            if (!used.TryGetValue(image, out var taken)) used[image] = taken = new bool[boxes.Count];
            // The best overlap of a countable box of the class, else, below the threshold, of a difficult one.
            double countable = double.NegativeInfinity, difficult = double.NegativeInfinity;
            bool any = false, anyDifficult = false;
            for (int g = 0; g < boxes.Count; g++)
            {
                var b = boxes[g];
                if (b.Label != c) continue;
                any = true;
                overlaps[g] = b.Difficult && multiplePerIgnored ? Ioa(d, b, includeBoundaries) : Iou(d.X1, d.Y1, d.X2, d.Y2, b.X1, b.Y1, b.X2, b.Y2, includeBoundaries);
                if (b.Difficult) (anyDifficult, difficult) = (true, Math.Max(difficult, overlaps[g]));
                else countable = Math.Max(countable, overlaps[g]);
            }
            double best = countable < threshold && anyDifficult ? difficult : countable;
            // Every box of that overlap (ties included), as its np.where.
            bool hitDifficult = false, hitUsed = false;
            for (int g = 0; g < boxes.Count; g++)
                if (boxes[g].Label == c && overlaps[g] == best)
                {
                    hitDifficult |= boxes[g].Difficult;
                    hitUsed |= taken[g];
                }
            bool matched = any && best >= threshold;
            // An ignored detection counts neither way (but is wrong where its image has no box of its class at all, as
            // bbox_match checks that first); without allow_multiple_matches_per_ignored it takes a difficult box it matches.
            if (d.Ignored && any && !(useFilteredTp && matched && !hitDifficult && !hitUsed))
            {
                if (matched && hitDifficult && !multiplePerIgnored)
                    for (int g = 0; g < boxes.Count; g++)
                        if (boxes[g].Label == c && overlaps[g] == best) taken[g] = true;
                continue;
            }
            bool? positive;
            if (!matched) positive = false;
            else if (!hitDifficult) positive = !hitUsed;
            else positive = multiplePerIgnored ? null : hitUsed ? false : null;
            // A countable box matched, or a difficult one matched without allow_multiple_matches_per_ignored, is taken.
            if (matched && (positive == true || hitDifficult && !multiplePerIgnored))
                for (int g = 0; g < boxes.Count; g++)
                    if (boxes[g].Label == c && overlaps[g] == best) taken[g] = true;
            if (positive is not bool p) continue;
            images.Add(image);
            flags.Add(p);
            scores.Add(d.Score);
        }
        return (images.ToArray(), flags.ToArray(), scores.ToArray());
    }

    /// <summary>The share of the detection a box covers, boxes spanning x2 - x1 + 1 pixels with <paramref name="includeBoundaries"/>.</summary>
    private static double Ioa(Detection d, DetectionBox b, bool includeBoundaries)
    {
        double one = includeBoundaries ? 1 : 0;
        double iw = Math.Min(d.X2, b.X2) - Math.Max(d.X1, b.X1) + one, ih = Math.Min(d.Y2, b.Y2) - Math.Max(d.Y1, b.Y1) + one;
        double area = (d.X2 - d.X1 + one) * (d.Y2 - d.Y1 + one);
        return iw <= 0 || ih <= 0 || area <= 0 ? 0 : iw * ih / area;
    }
}

/// <summary>
/// The detections of a set of images matched to their ground truth once, per class and IoU threshold, so that average
/// precision can be computed with the images weighted (the paired bootstrap) without matching again: matching happens
/// within an image.
/// </summary>
internal sealed class DetectionMatches
{
    /// <summary>A class's countable boxes per image that has some, and its matched detections per threshold.</summary>
    /// <param name="Runs">With distinct_conf, the scores of the detections matched (the same at every threshold).</param>
    /// <param name="Detected">Accuracy Checker's matching: the image of every detection of the class, counted or not (its mean's classes).</param>
    private sealed record ClassMatches((int Image, long Boxes)[] GroundTruth, (int[] Images, bool[] Positive)[] PerThreshold, double[]? Runs = null, int[]? Detected = null);

    private readonly List<ClassMatches> _classes;

    private DetectionMatches(List<ClassMatches> classes) => _classes = classes;

    /// <summary>
    /// Matches per class with countable ground truth: per image the best maxDetections (0 = all), then all by score
    /// (stable: image, then detection order). <paramref name="cancellationToken"/> is checked class by class (COCO's
    /// 5,000 images of 100 detections take seconds).
    /// </summary>
    public static DetectionMatches Find(IReadOnlyList<IReadOnlyList<Detection>> predictions, IReadOnlyList<DetectionAnnotation> annotations,
        IReadOnlyList<double> thresholds, bool includeBoundaries, bool cocoMatching, int maxDetections, bool pycocotools = false, AccuracyCheckerMatching? accuracyChecker = null,
        CancellationToken cancellationToken = default)
    {
        if (predictions.Count != annotations.Count) throw new ArgumentException("One prediction list per annotation.", nameof(predictions));
        var classes = annotations.SelectMany(a => a.Boxes).Where(b => !b.Difficult).Select(b => b.Label)
            .Concat(accuracyChecker != null && !cocoMatching ? predictions.SelectMany(p => p).Select(d => d.Label) : Array.Empty<int>()).Distinct().OrderBy(c => c).ToList();
        var result = new List<ClassMatches>(classes.Count);
        foreach (int c in classes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var groundTruth = annotations.Select((a, i) => (i, (long)a.Boxes.Count(b => b.Label == c && !b.Difficult))).Where(x => x.Item2 > 0).ToArray();
            var detections = new List<(int Image, Detection D)>();
            for (int i = 0; i < predictions.Count; i++)
            {
                var mine = predictions[i].Where(d => d.Label == c).OrderByDescending(d => d.Score);
                detections.AddRange((maxDetections > 0 ? mine.Take(maxDetections) : mine).Select(d => (i, d)));
            }
            var ordered = detections.OrderByDescending(x => x.D.Score).ToList();
            if (accuracyChecker != null && !cocoMatching)
            {
                // One threshold (map's); distinct_conf's runs are of the scores counted (those dropped add nothing to a run).
                var (images, positive, scores) = DetectionMetrics.MatchAsAccuracyChecker(ordered, annotations, c, thresholds[0], includeBoundaries, accuracyChecker.MultipleMatchesPerIgnored,
                    accuracyChecker.UseFilteredTp);
                result.Add(new ClassMatches(groundTruth, new[] { (images, positive) }, accuracyChecker.DistinctConfidences ? scores : null, ordered.Select(x => x.Image).ToArray()));
                continue;
            }
            result.Add(new ClassMatches(groundTruth, thresholds.Select(t => DetectionMetrics.Match(ordered, annotations, c, t, includeBoundaries, cocoMatching, pycocotools, accuracyChecker != null)).ToArray()));
        }
        return new DetectionMatches(result);
    }

    /// <summary>
    /// Per class with countable ground truth among the drawn images, the AP averaged over the thresholds; then the mean
    /// over those classes (NaN when there is none). Image i counts <paramref name="draws"/>[i] times.
    /// </summary>
    public double Mean(ApIntegral integral, ReadOnlySpan<int> draws)
    {
        double sum = 0;
        int counted = 0;
        var scratch = new double[2 * _classes.SelectMany(c => c.PerThreshold).Select(t => t.Positive.Length).DefaultIfEmpty().Max()];
        foreach (var c in _classes)
        {
            long groundTruth = 0;
            foreach (var (image, boxes) in c.GroundTruth) groundTruth += draws[image] * boxes;
            if (c.Detected is { } detected)
            {
                // Accuracy Checker's mean: classes detected in the drawn images; without countable objects their AP is 0.
                bool any = false;
                foreach (int image in detected) any |= draws[image] > 0;
                if (!any) continue;
                if (groundTruth == 0)
                {
                    counted++;
                    continue;
                }
            }
            else if (groundTruth == 0) continue;
            double perClass = 0;
            foreach (var (images, positive) in c.PerThreshold)
                perClass += DetectionMetrics.AveragePrecision(images, positive, draws, groundTruth, integral, scratch, c.Runs, accuracyChecker: c.Detected != null);
            sum += perClass / c.PerThreshold.Length;
            counted++;
        }
        return counted == 0 ? double.NaN : sum / counted;
    }
}
