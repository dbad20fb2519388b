using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>
/// map and coco_precision against hand-worked cases, and against a second, naive implementation written here from the
/// definitions (all-pairs matching, precision envelope taken point by point) on seeded random scenes.
/// </summary>
public class DetectionMetricsTests
{
    private static DetectionAnnotation Image(params DetectionBox[] boxes) => new(boxes, 100, 100);

    private static DetectionBox Box(double x1, double y1, double x2, double y2, int label = 0, bool difficult = false) => new(label, x1, y1, x2, y2, difficult);

    /// <summary>A COCO crowd, left out as a metric's Difficult (DetectionRunner sets it so for every metric but Accuracy Checker's map).</summary>
    private static DetectionBox Crowd(double x1, double y1, double x2, double y2, int label = 0) => new(label, x1, y1, x2, y2, true) { Crowd = true };

    private static Detection Det(double score, double x1, double y1, double x2, double y2, int label = 0) => new(label, score, x1, y1, x2, y2);

    /// <summary>
    /// Three objects in two images, five detections by score: right, duplicate, miss, right, right (IoU 0.79).
    /// Flags T F F T T; recall 1/3 1/3 1/3 2/3 1; precision 1 1/2 1/3 1/2 3/5; envelope 1 .6 .6 .6 .6.
    /// </summary>
    private static (IReadOnlyList<IReadOnlyList<Detection>>, IReadOnlyList<DetectionAnnotation>) Scene()
    {
        var truth = new[]
        {
            Image(Box(0, 0, 10, 10), Box(20, 20, 30, 30)),
            Image(Box(0, 0, 10, 10)),
        };
        var predicted = new IReadOnlyList<Detection>[]
        {
            new[] { Det(0.9, 0, 0, 10, 10), Det(0.8, 0, 0, 10, 10), Det(0.6, 20, 20, 30, 30) },
            new[] { Det(0.7, 50, 50, 60, 60), Det(0.5, 0, 0, 10, 7.9) },
        };
        return (predicted, truth);
    }

    [Fact]
    public void VocAreaIsTheAreaUnderTheEnvelope()
    {
        var (p, t) = Scene();
        // 1/3 * 1 + 1/3 * 0.6 + 1/3 * 0.6
        Assert.Equal(11.0 / 15, DetectionMetrics.MeanAveragePrecision(p, t, 0.5, ApIntegral.Area, includeBoundaries: false, cocoMatching: false), 12);
    }

    [Fact]
    public void VocElevenPointAveragesTheEnvelopeAtTenthsOfRecall()
    {
        var (p, t) = Scene();
        // Recall 0, .1, .2, .3 -> 1; .4 to 1 (seven points) -> 0.6.
        Assert.Equal((4 + 7 * 0.6) / 11, DetectionMetrics.MeanAveragePrecision(p, t, 0.5, ApIntegral.ElevenPoint, includeBoundaries: false, cocoMatching: false), 12);
    }

    [Fact]
    public void CocoAveragesHundredOnePointsAndTenThresholds()
    {
        var (p, t) = Scene();
        // At IoU .5 to .75 (six thresholds) the flags are T F F T T: recall .00-.33 (34 points) -> 1, the other 67 -> .6.
        double low = (34 + 67 * 0.6) / 101;
        Assert.Equal(low, DetectionMetrics.CocoPrecision(p, t, new[] { 0.5 }, 100, includeBoundaries: false), 12);
        // At .8 to .95 the last detection (IoU .79) misses: T F F T F, recall reaches 2/3 only: 34 points -> 1, 33 -> .5, 34 -> 0.
        double high = (34 + 33 * 0.5) / 101;
        Assert.Equal(high, DetectionMetrics.CocoPrecision(p, t, new[] { 0.8 }, 100, includeBoundaries: false), 12);
        var thresholds = Enumerable.Range(10, 10).Select(i => i * 5 / 100.0).ToArray();
        Assert.Equal((6 * low + 4 * high) / 10, DetectionMetrics.CocoPrecision(p, t, thresholds, 100, includeBoundaries: false), 12);
    }

    [Fact]
    public void CocoMatchesTheBestFreeBoxWhereVocCountsADuplicate()
    {
        // Boxes A and B overlap; the second detection overlaps A best (IoU .905, taken) and B by .739.
        var t = new[] { Image(Box(0, 0, 10, 10), Box(2, 0, 12, 10)) };
        var p = new IReadOnlyList<Detection>[] { new[] { Det(0.9, 0, 0, 10, 10), Det(0.8, 0.5, 0, 10.5, 10) } };
        // VOC: T F, recall .5 -> area .5, 11 points: six at 1.
        Assert.Equal(0.5, DetectionMetrics.MeanAveragePrecision(p, t, 0.5, ApIntegral.Area, false, cocoMatching: false), 12);
        Assert.Equal(6.0 / 11, DetectionMetrics.MeanAveragePrecision(p, t, 0.5, ApIntegral.ElevenPoint, false, cocoMatching: false), 12);
        // COCO: T T.
        Assert.Equal(1.0, DetectionMetrics.CocoPrecision(p, t, new[] { 0.5 }, 100, false), 12);
    }

    [Fact]
    public void DifficultBoxesCountNeitherWay()
    {
        var t = new[] { Image(Box(0, 0, 10, 10), Box(20, 20, 30, 30, difficult: true)) };
        var p = new IReadOnlyList<Detection>[] { new[] { Det(0.9, 20, 20, 30, 30), Det(0.8, 0, 0, 10, 10) } };
        Assert.Equal(1.0, DetectionMetrics.MeanAveragePrecision(p, t, 0.5, ApIntegral.Area, false, false), 12);
        Assert.Equal(1.0, DetectionMetrics.CocoPrecision(p, t, new[] { 0.5 }, 100, false), 12);
        // Counted, the same detections find both objects.
        var counted = new[] { Image(Box(0, 0, 10, 10), Box(20, 20, 30, 30)) };
        Assert.Equal(1.0, DetectionMetrics.MeanAveragePrecision(p, counted, 0.5, ApIntegral.Area, false, false), 12);
    }

    [Fact]
    public void ClassesAreAveragedAndClassesWithoutObjectsLeftOut()
    {
        // Class 0: found (AP 1). Class 1: missed (AP 0). Class 2: detected but never annotated (left out).
        var t = new[] { Image(Box(0, 0, 10, 10, 0), Box(20, 20, 30, 30, 1)) };
        var p = new IReadOnlyList<Detection>[] { new[] { Det(0.9, 0, 0, 10, 10, 0), Det(0.8, 50, 50, 60, 60, 2) } };
        Assert.Equal(0.5, DetectionMetrics.MeanAveragePrecision(p, t, 0.5, ApIntegral.Area, false, false), 12);
        Assert.Equal(0.5, DetectionMetrics.CocoPrecision(p, t, new[] { 0.5 }, 100, false), 12);
    }

    [Fact]
    public void IouCountsBoundaryPixelsWhenAsked()
    {
        // 10x10 and 10x5 pixels with boundaries (x2 - x1 + 1): intersection 50 of union 100.
        Assert.Equal(0.5, DetectionMetrics.Iou(0, 0, 9, 9, 0, 0, 9, 4, includeBoundaries: true), 12);
        // Without: 9x9 and 9x4 areas, intersection 36 of 81.
        Assert.Equal(36.0 / 81, DetectionMetrics.Iou(0, 0, 9, 9, 0, 0, 9, 4, includeBoundaries: false), 12);
    }

    [Fact]
    public void MaxDetectionsKeepsTheBestPerImageAndClass()
    {
        var t = new[] { Image(Box(0, 0, 10, 10)) };
        // The right box scores lowest: with max_detections 1 it is never seen.
        var p = new IReadOnlyList<Detection>[] { new[] { Det(0.9, 50, 50, 60, 60), Det(0.5, 0, 0, 10, 10) } };
        Assert.Equal(0.0, DetectionMetrics.CocoPrecision(p, t, new[] { 0.5 }, 1, false), 12);
        // All kept: F T, recall 1 at precision .5 -> envelope .5 everywhere.
        Assert.Equal(0.5, DetectionMetrics.CocoPrecision(p, t, new[] { 0.5 }, 2, false), 12);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void AgreesWithANaiveImplementationOnRandomScenes(int seed)
    {
        var (predicted, truth) = RandomScenes(new Random(seed), images: 12, distinctScores: false);
        foreach (bool boundaries in new[] { false, true })
        {
            Assert.Equal(Naive.Map(predicted, truth, 0.5, points: 0, boundaries, coco: false),
                DetectionMetrics.MeanAveragePrecision(predicted, truth, 0.5, ApIntegral.Area, boundaries, cocoMatching: false), 10);
            Assert.Equal(Naive.Map(predicted, truth, 0.5, points: 11, boundaries, coco: false),
                DetectionMetrics.MeanAveragePrecision(predicted, truth, 0.5, ApIntegral.ElevenPoint, boundaries, cocoMatching: false), 10);
            var thresholds = Enumerable.Range(10, 10).Select(i => i * 5 / 100.0).ToArray();
            Assert.Equal(thresholds.Average(th => Naive.Map(predicted, truth, th, points: 101, boundaries, coco: true)),
                DetectionMetrics.CocoPrecision(predicted, truth, thresholds, 100, boundaries), 10);
        }
    }

    [Theory]
    [InlineData(4)]
    [InlineData(5)]
    public void ImagesDrawnSeveralTimesCountAsCopiesOfThemselves(int seed)
    {
        // The paired bootstrap's resamples: AP with image i counted draws[i] times equals AP over a list holding that many
        // copies of it (adjacent, so ties keep their order; every score is distinct within the scene).
        var random = new Random(seed);
        var (predicted, truth) = RandomScenes(random, images: 10, distinctScores: true);
        var draws = Enumerable.Range(0, 10).Select(i => i == 0 ? 1 : random.Next(0, 4)).ToArray();
        var copiedPredicted = predicted.SelectMany((p, i) => Enumerable.Repeat(p, draws[i])).ToList();
        var copiedTruth = truth.SelectMany((t, i) => Enumerable.Repeat(t, draws[i])).ToList();
        var thresholds = Enumerable.Range(10, 10).Select(i => i * 5 / 100.0).ToArray();
        foreach (bool boundaries in new[] { false, true })
        {
            var voc = DetectionMatches.Find(predicted, truth, new[] { 0.5 }, boundaries, cocoMatching: false, maxDetections: 0);
            Assert.Equal(DetectionMetrics.MeanAveragePrecision(copiedPredicted, copiedTruth, 0.5, ApIntegral.Area, boundaries, cocoMatching: false),
                voc.Mean(ApIntegral.Area, draws), 12);
            Assert.Equal(DetectionMetrics.MeanAveragePrecision(copiedPredicted, copiedTruth, 0.5, ApIntegral.ElevenPoint, boundaries, cocoMatching: false),
                voc.Mean(ApIntegral.ElevenPoint, draws), 12);
            var coco = DetectionMatches.Find(predicted, truth, thresholds, boundaries, cocoMatching: true, maxDetections: 2);
            Assert.Equal(DetectionMetrics.CocoPrecision(copiedPredicted, copiedTruth, thresholds, 2, boundaries), coco.Mean(ApIntegral.HundredOnePoint, draws), 12);
        }
        Assert.Contains(draws, d => d > 1);
        Assert.Contains(0, draws);
    }

    /// <summary>Seeded scenes of two classes: boxes (some difficult), detections near most of them (some of the other class) and a few strays.</summary>
    private static (List<IReadOnlyList<Detection>> Predicted, List<DetectionAnnotation> Truth) RandomScenes(Random random, int images, bool distinctScores)
    {
        var truth = new List<DetectionAnnotation>();
        var predicted = new List<IReadOnlyList<Detection>>();
        for (int i = 0; i < images; i++)
        {
            var boxes = Enumerable.Range(0, random.Next(0, 4)).Select(_ => RandomBox(random, difficult: random.Next(8) == 0)).ToList();
            truth.Add(new DetectionAnnotation(boxes, 100, 100));
            var detections = new List<Detection>();
            double Score() => Math.Round(random.NextDouble(), 3) + (distinctScores ? (i * 10 + detections.Count) * 1e-7 : 0);
            foreach (var b in boxes)
                if (random.Next(4) > 0)
                    detections.Add(new Detection(random.Next(5) == 0 ? 1 - b.Label : b.Label, Score(),
                        b.X1 + random.Next(-3, 4), b.Y1 + random.Next(-3, 4), b.X2 + random.Next(-3, 4), b.Y2 + random.Next(-3, 4)));
            for (int k = random.Next(0, 3); k > 0; k--)
            {
                var b = RandomBox(random, false);
                detections.Add(new Detection(b.Label, Score(), b.X1, b.Y1, b.X2, b.Y2));
            }
            predicted.Add(detections);
        }
        return (predicted, truth);
    }

    private static DetectionBox RandomBox(Random random, bool difficult)
    {
        int x = random.Next(0, 80), y = random.Next(0, 80);
        // The difficult boxes are crowds: COCO's matching lets them match again, as Naive's does.
        return new DetectionBox(random.Next(2), x, y, x + random.Next(5, 20), y + random.Next(5, 20), difficult) { Crowd = difficult };
    }

    /// <summary>
    /// The definitions, written as plainly as possible: every detection of a class against every box of its image;
    /// precision at recall r = the best precision at any rank whose recall is at least r.
    /// </summary>
    private static class Naive
    {
        public static double Map(IReadOnlyList<IReadOnlyList<Detection>> predicted, IReadOnlyList<DetectionAnnotation> truth, double threshold, int points, bool boundaries, bool coco)
        {
            var aps = new List<double>();
            foreach (int c in truth.SelectMany(t => t.Boxes).Where(b => !b.Difficult).Select(b => b.Label).Distinct().OrderBy(x => x))
            {
                int positives = truth.Sum(t => t.Boxes.Count(b => b.Label == c && !b.Difficult));
                var all = predicted.SelectMany((ds, image) => ds.Where(d => d.Label == c).Select((d, k) => (d, image, k)))
                    .OrderByDescending(x => x.d.Score).ThenBy(x => x.image).ThenBy(x => x.k).ToList();
                var used = new HashSet<(int, int)>();
                var flags = new List<bool>();
                foreach (var (d, image, _) in all)
                {
                    var boxes = truth[image].Boxes;
                    var candidates = Enumerable.Range(0, boxes.Count).Where(g => boxes[g].Label == c)
                        .Select(g => (g, iou: Overlap(d, boxes[g], boundaries))).ToList();
                    int chosen = -1;
                    if (coco)
                    {
                        // Best free countable box, else best crowd box; among equals the last one listed.
                        foreach (bool crowd in new[] { false, true })
                        {
                            var free = candidates.Where(x => boxes[x.g].Difficult == crowd && (crowd || !used.Contains((image, x.g))) && x.iou >= threshold).ToList();
                            if (free.Count == 0) continue;
                            chosen = free.Last(x => x.iou == free.Max(y => y.iou)).g;
                            break;
                        }
                    }
                    else if (candidates.Count > 0)
                    {
                        var best = candidates.First(x => x.iou == candidates.Max(y => y.iou));
                        if (best.iou >= threshold) chosen = best.g;
                    }
                    if (chosen >= 0 && boxes[chosen].Difficult) continue;
                    flags.Add(chosen >= 0 && used.Add((image, chosen)));
                }
                var recall = new List<double>();
                var precision = new List<double>();
                for (int i = 0; i < flags.Count; i++)
                {
                    recall.Add(flags.Take(i + 1).Count(f => f) / (double)positives);
                    precision.Add(flags.Take(i + 1).Count(f => f) / (double)(i + 1));
                }
                double At(double r) => Enumerable.Range(0, flags.Count).Where(i => recall[i] >= r - 1e-12).Select(i => precision[i]).DefaultIfEmpty(0).Max();
                if (points == 0)
                    aps.Add(Enumerable.Range(0, flags.Count).Sum(i => (recall[i] - (i == 0 ? 0 : recall[i - 1])) * At(recall[i])));
                else
                    aps.Add(Enumerable.Range(0, points).Average(p => At((double)p / (points - 1))));
            }
            return aps.Count == 0 ? double.NaN : aps.Average();
        }

        private static double Overlap(Detection d, DetectionBox b, bool boundaries)
        {
            double one = boundaries ? 1 : 0;
            double w = Math.Max(0, Math.Min(d.X2, b.X2) - Math.Max(d.X1, b.X1) + one), h = Math.Max(0, Math.Min(d.Y2, b.Y2) - Math.Max(d.Y1, b.Y1) + one);
            double union = (d.X2 - d.X1 + one) * (d.Y2 - d.Y1 + one) + (b.X2 - b.X1 + one) * (b.Y2 - b.Y1 + one) - w * h;
            return w * h / union;
        }
    }

    [Fact]
    public void Pycocotools_overlaps_widen_the_detection_only_and_cover_crowds_by_the_detections_share()
    {
        // A detection [0, 0, 9, 9] is 10 x 10 with boundaries: against the annotated [0, 0, 10, 10], 100 / 100 = 1
        // (without: 81 / 100); against a crowd box [0, 0, 20, 20], 100 / the detection's 100 = 1, not IoU 100 / 400.
        var d = Det(0.9, 0, 0, 9, 9);
        Assert.Equal(1.0, DetectionMetrics.PycocotoolsIou(d, Box(0, 0, 10, 10), includeBoundaries: true), 12);
        Assert.Equal(0.81, DetectionMetrics.PycocotoolsIou(d, Box(0, 0, 10, 10), includeBoundaries: false), 12);
        Assert.Equal(1.0, DetectionMetrics.PycocotoolsIou(d, Crowd(0, 0, 20, 20), includeBoundaries: true), 12);
        // A difficult box that is no crowd (VOC's, or a filter's) is measured by IoU, as pycocotools measures an ignored one.
        Assert.Equal(0.25, DetectionMetrics.PycocotoolsIou(d, Box(0, 0, 20, 20, difficult: true), includeBoundaries: true), 12);
        Assert.Equal(0.25, DetectionMetrics.Iou(0, 0, 10, 10, 0, 0, 20, 20, includeBoundaries: false), 12);
    }

    [Fact]
    public void Coco_orig_precision_ignores_a_detection_inside_a_crowd()
    {
        // One object and a crowd region; the best-scored detection lies inside the crowd (IoU .25, covered whole), the
        // next finds the object. pycocotools ignores the first: AP 1. By IoU it is a false positive first: precision
        // 1/2 at recall 1, AP .5 at every recall point.
        var truth = new[] { Image(Box(50, 50, 60, 60), Crowd(0, 0, 20, 20)) };
        var predicted = new IReadOnlyList<Detection>[] { new[] { Det(0.9, 0, 0, 10, 10), Det(0.8, 50, 50, 60, 60) } };
        double Ap(bool pycocotools) => DetectionMatches.Find(predicted, truth, new[] { 0.5 }, includeBoundaries: false, cocoMatching: true, 100, pycocotools)
            .Mean(ApIntegral.HundredOnePoint, IWeightedAggregate.Once(1));
        Assert.Equal(1.0, Ap(pycocotools: true), 12);
        Assert.Equal(0.5, Ap(pycocotools: false), 12);
    }

    private static double Coco(IReadOnlyList<Detection> predicted, DetectionAnnotation truth, bool accuracyChecker = false) =>
        DetectionMatches.Find(new[] { predicted }, new[] { truth }, new[] { 0.5 }, includeBoundaries: false, cocoMatching: true, 100,
            accuracyChecker: accuracyChecker ? new AccuracyCheckerMatching() : null).Mean(ApIntegral.HundredOnePoint, IWeightedAggregate.Once(1));

    [Fact]
    public void Cocos_matching_takes_a_difficult_box_once_and_a_crowd_any_number_of_times()
    {
        // A difficult box (no crowd) and an object; detections on the difficult box at .9 and .8, then on the object.
        // The .9 takes the difficult box; the .8 finds it taken and nothing else: wrong before the object is found
        // (precision 1/2 at recall 1 at every point). A crowd would take the .8 too: precision 1.
        var detections = new[] { Det(0.9, 0, 0, 10, 10), Det(0.8, 0, 0, 10, 9), Det(0.7, 50, 50, 60, 60) };
        Assert.Equal(0.5, Coco(detections, Image(Box(0, 0, 10, 10, difficult: true), Box(50, 50, 60, 60))), 12);
        Assert.Equal(1.0, Coco(detections, Image(Crowd(0, 0, 10, 10), Box(50, 50, 60, 60))), 12);
    }

    [Fact]
    public void Accuracy_Checkers_coco_precision_lets_an_images_best_detection_keep_nothing()
    {
        // Its evaluate_image records a match by the detection's index, and index 0 reads as no match: objects A and B,
        // detections .9 and .8 on A, .7 on B. COCO: right, wrong, right, so precision 2/3 from recall 1/2 on:
        // (51 + 50 x 2/3) / 101. Accuracy Checker's: the .8 finds A free and is right too (recall passes 1): 1.
        var detections = new[] { Det(0.9, 0, 0, 10, 10), Det(0.8, 0, 0, 10, 9), Det(0.7, 50, 50, 60, 60) };
        var objects = Image(Box(0, 0, 10, 10), Box(50, 50, 60, 60));
        Assert.Equal((51 + 50 * 2.0 / 3) / 101, Coco(detections, objects), 12);
        Assert.Equal(1.0, Coco(detections, objects, accuracyChecker: true), 12);
        // Its IoUs are float32: 0.49999999 (an object half as wide, but for 1e-7 pixels) is 0.5 there, a match.
        var half = new[] { Det(0.9, 0, 0, 10, 10) };
        var slightlyLess = Image(Box(0, 0, 5 - 1e-7, 10));
        Assert.Equal((0.0, 1.0), (Coco(half, slightlyLess), Coco(half, slightlyLess, accuracyChecker: true)));
        // With the difficult box of the test above its .9 leaves the box free, the .8 takes it, and the object is found: 1.
        Assert.Equal(1.0, Coco(detections, Image(Box(0, 0, 10, 10, difficult: true), Box(50, 50, 60, 60)), accuracyChecker: true), 12);
    }

    private static double Map(IReadOnlyList<IReadOnlyList<Detection>> predicted, IReadOnlyList<DetectionAnnotation> truth, AccuracyCheckerMatching? accuracyChecker,
        ApIntegral integral = ApIntegral.Area) =>
        DetectionMatches.Find(predicted, truth, new[] { 0.5 }, includeBoundaries: false, cocoMatching: false, 0, accuracyChecker: accuracyChecker)
            .Mean(integral, IWeightedAggregate.Once(predicted.Count));

    [Fact]
    public void Accuracy_Checkers_map_counts_a_second_match_of_a_difficult_box_wrong_unless_told_otherwise()
    {
        // An object and a difficult box; detections by score: on the difficult box, on it again, on the object. VOC's
        // devkit drops both matches of the difficult box: AP 1. Accuracy Checker drops the first and counts the second
        // wrong: precision 1/2 at recall 1, AP .5; with allow_multiple_matches_per_ignored both are dropped: 1.
        var truth = new[] { Image(Box(0, 0, 10, 10), Box(20, 20, 30, 30, difficult: true)) };
        var predicted = new IReadOnlyList<Detection>[] { new[] { Det(0.9, 20, 20, 30, 30), Det(0.8, 20, 20, 30, 30), Det(0.7, 0, 0, 10, 10) } };
        Assert.Equal(1.0, Map(predicted, truth, null), 12);
        Assert.Equal(0.5, Map(predicted, truth, new AccuracyCheckerMatching()), 12);
        Assert.Equal(1.0, Map(predicted, truth, new AccuracyCheckerMatching(MultipleMatchesPerIgnored: true)), 12);
    }

    [Fact]
    public void Accuracy_Checkers_map_prefers_a_countable_box_over_a_difficult_one_it_overlaps_more()
    {
        // The detection [0, 0, 10, 8.5] overlaps the difficult [0, 0, 10, 8] by 80 / 85 and the object [0, 0, 10, 10] by
        // 85 / 100: VOC's devkit takes the difficult box and drops the detection (the object is missed: AP 0);
        // Accuracy Checker takes the object, as one overlap reaches 0.5: AP 1.
        var truth = new[] { Image(Box(0, 0, 10, 10), Box(0, 0, 10, 8, difficult: true)) };
        var predicted = new IReadOnlyList<Detection>[] { new[] { Det(0.9, 0, 0, 10, 8.5) } };
        Assert.Equal(0.0, Map(predicted, truth, null), 12);
        Assert.Equal(1.0, Map(predicted, truth, new AccuracyCheckerMatching()), 12);
    }

    [Fact]
    public void Accuracy_Checkers_map_averages_the_classes_it_detected()
    {
        // Class 0 found (AP 1), class 1 annotated but never detected, class 2 detected but never annotated. VOC: the
        // mean over the annotated classes 0 and 1, (1 + 0) / 2. Accuracy Checker: over the detected classes 0 and 2,
        // (1 + 0) / 2 too; without class 2's detection, over class 0 alone: 1.
        var truth = new[] { Image(Box(0, 0, 10, 10, label: 0), Box(20, 20, 30, 30, label: 1)) };
        var predicted = new IReadOnlyList<Detection>[] { new[] { Det(0.9, 0, 0, 10, 10, label: 0), Det(0.8, 50, 50, 60, 60, label: 2) } };
        Assert.Equal(0.5, Map(predicted, truth, null), 12);
        Assert.Equal(0.5, Map(predicted, truth, new AccuracyCheckerMatching()), 12);
        var onlyFound = new IReadOnlyList<Detection>[] { new[] { Det(0.9, 0, 0, 10, 10, label: 0) } };
        Assert.Equal(0.5, Map(onlyFound, truth, null), 12);
        Assert.Equal(1.0, Map(onlyFound, truth, new AccuracyCheckerMatching()), 12);
    }

    [Fact]
    public void Distinct_confidences_put_one_point_after_all_detections_of_a_score()
    {
        // Two detections of score .5, the right one first: points (1, 1) and (1, 1/2), envelope 1; one point after both: 1/2.
        var truth = new[] { Image(Box(0, 0, 10, 10)) };
        var predicted = new IReadOnlyList<Detection>[] { new[] { Det(0.5, 0, 0, 10, 10), Det(0.5, 50, 50, 60, 60) } };
        Assert.Equal(1.0, Map(predicted, truth, new AccuracyCheckerMatching()), 12);
        Assert.Equal(0.5, Map(predicted, truth, new AccuracyCheckerMatching(DistinctConfidences: true)), 12);
    }

    [Fact]
    public void Accuracy_Checkers_eleven_points_lie_at_its_floating_point_tenths()
    {
        // Three of ten objects found first: recall reaches exactly 0.3. At the decimals 0, .1, .2, .3 precision is 1: 4 / 11.
        // Accuracy Checker's np.arange puts its fourth point at 0.30000000000000004, which 0.3 does not reach: 3 / 11.
        var truth = new[] { Image(Enumerable.Range(0, 10).Select(i => Box(20 * i, 0, 20 * i + 10, 10)).ToArray()) };
        var predicted = new IReadOnlyList<Detection>[] { Enumerable.Range(0, 3).Select(i => Det(0.9 - i * 0.1, 20 * i, 0, 20 * i + 10, 10)).ToArray() };
        Assert.Equal(4.0 / 11, Map(predicted, truth, null, ApIntegral.ElevenPoint), 12);
        Assert.Equal(3.0 / 11, Map(predicted, truth, new AccuracyCheckerMatching(), ApIntegral.ElevenPoint), 12);
    }

    [Fact]
    public void Matching_a_whole_set_stops_on_cancellation()
    {
        var (predictions, truth) = Scene();
        var aggregate = new DetectionAggregate(new MetricSpec("map", MetricType.Map, MetricDirection.HigherBetter, new[] { 0 }, "metrics[0]"));
        for (int i = 0; i < truth.Count; i++) aggregate.Add(predictions[i], truth[i]);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => aggregate.Result(cancelled.Token));
        Assert.Equal(aggregate.Result(), aggregate.Result(CancellationToken.None));
    }
}
