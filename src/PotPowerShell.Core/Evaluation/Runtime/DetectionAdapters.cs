using PotPowerShell.Core.Data;
using PotPowerShell.Core.Runtime;

namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// An adapter whose prediction is a list of <see cref="Detection"/>s. Raw boxes are in the model input's
/// coordinates (fractions of it when <see cref="Normalized"/>, else its pixels); the prediction is scaled to the
/// annotated image (Accuracy Checker's resize_prediction_boxes) and then goes through the engine's postprocessing.
/// </summary>
internal abstract class DetectionAdapter(AdapterDefinition d) : Adapter(d)
{
    protected abstract bool Normalized { get; }

    /// <summary>Raw boxes are already in the decoded image's pixels (the model was given the image's size).</summary>
    protected virtual bool InImagePixels => false;

    /// <param name="geometry">Where the item's image is in the model input, when it is an annotated image.</param>
    protected abstract List<Detection> Raw(BatchOutputs outputs, int row, ImageGeometry? geometry);

    public override object? Predict(BatchOutputs outputs, int row) => Predict(outputs, row, null);

    public override object? Predict(BatchOutputs outputs, int row, object? annotation)
    {
        var detections = Raw(outputs, row, (annotation as DetectionAnnotation)?.Geometry);
        if (annotation is DetectionAnnotation a) detections = detections.Select(x => ToImage(x, a)).ToList();
        foreach (var step in Definition.Postprocessing)
        {
            detections = step switch
            {
                NmsStep n => Nms(n.KeepTopK is int k ? detections.OrderByDescending(x => x.Score).Take(k).ToList() : detections, n.Overlap, n.IncludeBoundaries, int.MaxValue, n.PerClass, n.Diou),
                FilterStep { Predictions: true } f => DetectionSteps.Filter(f, detections, annotation as DetectionAnnotation),
                ShiftLabelsStep s => detections.Select(x => x with { Label = x.Label + s.Offset }).ToList(),
                CastToIntStep { Predictions: true } r => detections.Select(x => x with { X1 = r.Round(x.X1), Y1 = r.Round(x.Y1), X2 = r.Round(x.X2), Y2 = r.Round(x.Y2) }).ToList(),
                ClipBoxesStep { Predictions: true } c => detections.Select(x =>
                    DetectionSteps.Clip(c, annotation as DetectionAnnotation, x.X1, x.Y1, x.X2, x.Y2) is var (x1, y1, x2, y2) ? x with { X1 = x1, Y1 = y1, X2 = x2, Y2 = y2 } : x).ToList(),
                _ => detections,
            };
        }
        return detections;
    }

    /// <summary>
    /// A raw detection in the annotated image's pixels: from fractions of the input (normalized adapters) or its pixels,
    /// back through the preprocessing's resizes, crops and padding (<see cref="ImageGeometry"/>) to the decoded image,
    /// then scaled to the size the annotation gives the image (usually the same). Without a geometry (items that are
    /// not images), pixel boxes are taken as the image's and fractions as fractions of the annotated size.
    /// </summary>
    private Detection ToImage(Detection x, DetectionAnnotation a)
    {
        var g = a.Geometry;
        if (InImagePixels)
        {
            double sx = g == null ? 1 : (double)a.ImageWidth / g.ImageWidth, sy = g == null ? 1 : (double)a.ImageHeight / g.ImageHeight;
            return x with { X1 = x.X1 * sx, Y1 = x.Y1 * sy, X2 = x.X2 * sx, Y2 = x.Y2 * sy };
        }
        if (g == null)
            return Normalized ? x with { X1 = x.X1 * a.ImageWidth, Y1 = x.Y1 * a.ImageHeight, X2 = x.X2 * a.ImageWidth, Y2 = x.Y2 * a.ImageHeight } : x;
        double fx = Normalized ? g.InputWidth : 1, fy = Normalized ? g.InputHeight : 1;
        double ax = (double)a.ImageWidth / g.ImageWidth, ay = (double)a.ImageHeight / g.ImageHeight;
        return x with
        {
            X1 = g.ImageX(x.X1 * fx) * ax, Y1 = g.ImageY(x.Y1 * fy) * ay,
            X2 = g.ImageX(x.X2 * fx) * ax, Y2 = g.ImageY(x.Y2 * fy) * ay,
        };
    }

    /// <summary>
    /// Greedy non-maximum suppression: by score, highest first (ties in input order), a box is kept unless it overlaps a
    /// kept box by more than <paramref name="overlap"/> IoU (or, with <paramref name="diou"/>, DIoU as Accuracy Checker's
    /// diou_nms computes it: IoU - (d² / c²)^0.6, d the distance of the centres, c the diagonal of the box enclosing
    /// both); only boxes of its class count with <paramref name="perClass"/>; at most <paramref name="keep"/> boxes.
    /// </summary>
    public static List<Detection> Nms(IReadOnlyList<Detection> detections, double overlap, bool includeBoundaries, int keep, bool perClass = true, bool diou = false)
    {
        var kept = new List<Detection>();
        foreach (var d in detections.OrderByDescending(x => x.Score))
        {
            if (kept.Count >= keep) break;
            bool suppressed = false;
            foreach (var k in kept)
                if ((!perClass || k.Label == d.Label) && Overlap(k, d, includeBoundaries, diou) > overlap)
                {
                    suppressed = true;
                    break;
                }
            if (!suppressed) kept.Add(d);
        }
        return kept;
    }

    private static double Overlap(Detection a, Detection b, bool includeBoundaries, bool diou)
    {
        double iou = DetectionMetrics.Iou(a.X1, a.Y1, a.X2, a.Y2, b.X1, b.Y1, b.X2, b.Y2, includeBoundaries);
        if (!diou) return iou;
        double cw = Math.Max(a.X2, b.X2) - Math.Min(a.X1, b.X1), ch = Math.Max(a.Y2, b.Y2) - Math.Min(a.Y1, b.Y1);
        double dx = (b.X1 + b.X2 - a.X1 - a.X2) / 2, dy = (b.Y1 + b.Y2 - a.Y1 - a.Y2) / 2;
        return iou - Math.Pow((dx * dx + dy * dy) / (cw * cw + ch * ch + 1e-16), 0.6);
    }

    /// <summary>A detection from its centre, width and height.</summary>
    protected static Detection Centred(int label, double score, double cx, double cy, double w, double h) =>
        new(label, score, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2);

    /// <summary>
    /// The model input's width and height: the annotated image's input, else the model input's declared size read as
    /// Accuracy Checker reads it (3 channels second: NCHW).
    /// </summary>
    /// <param name="why">What needs the size, for the error when neither gives it.</param>
    protected (double Width, double Height) InputSize(ImageGeometry? geometry, string why)
    {
        if (geometry != null) return (geometry.InputWidth, geometry.InputHeight);
        if (InputDims is { Count: 4 } d)
        {
            var (width, height) = d[1] == 3 ? (d[3], d[2]) : (d[2], d[1]);
            if (width > 0 && height > 0) return (width, height);
        }
        throw ShapeError($"{why} by the model input's width and height, which its first input does not fix and no annotated image gives: export the model with a fixed input size.");
    }

    /// <summary>
    /// yolox's and nanodet's grids, stride by stride (<see cref="AdapterDefinition.Strides"/>): the input's rows and
    /// columns divided by the stride, rounded down (yolox) or up (nanodet), as Accuracy Checker's adapters lay them out;
    /// their cells must number the output's <paramref name="points"/>, else the error says to <paramref name="check"/>.
    /// </summary>
    protected List<(int Stride, int Rows, int Columns)> Grids(double inputWidth, double inputHeight, int points, bool roundUp, string check)
    {
        int Cells(double size, int stride) => roundUp ? (int)Math.Ceiling(size / stride) : (int)size / stride;
        var grids = Definition.Strides.Select(s => (s, Cells(inputHeight, s), Cells(inputWidth, s))).ToList();
        int cells = grids.Sum(g => g.Item2 * g.Item3);
        if (cells != points)
            throw ShapeError($"'{OutputName}' holds {points} candidates, but a {inputWidth}x{inputHeight} input at strides {string.Join(", ", Definition.Strides)} has {cells} cells: {check}.");
        return grids;
    }

    /// <summary>
    /// The item shape (batch axis first, of 1) of the adapter's one output, which must be the batch's and
    /// <paramref name="fits"/>; else the error says the <paramref name="adapter"/> <paramref name="needs"/> and what to
    /// <paramref name="check"/>.
    /// </summary>
    protected long[] ItemShape(BatchOutputs outputs, string adapter, string needs, Func<long[], bool> fits, string? check = null)
    {
        outputs.RequireBatchFirst(OutputIndex, $"the {adapter} adapter");
        var shape = outputs.RowShape(OutputIndex);
        if (!fits(shape))
            throw ShapeError($"{adapter} needs an output {needs}, but '{OutputName}' has the item shape [{string.Join(",", shape)}]{(check != null ? ": " + check : "")}.");
        return shape;
    }

    protected PotException ShapeError(string message) =>
        new("EngineOutputShape", PotErrorCategory.InvalidData, $"{Definition.KeyPath}: {message}", Definition.KeyPath);
}

/// <summary>
/// ssd, in one of four forms. Three outputs (labels and scores named): per item boxes [N, 4] (x1, y1, x2, y2 as
/// fractions of the input, or its pixels with normalized: false, as torchvision's detection models give them), labels
/// [N] and scores [N] (Accuracy Checker's ssd_onnx: bboxes_out, labels_out, scores_out). Boxes and labels (labels
/// named, scores not): boxes [N, 5] whose fifth column is the score (Accuracy Checker's faster_rcnn_onnx without
/// scores_out: Intel's person-vehicle-bike detectors). Boxes and class scores
/// (scores named, labels not): per item boxes [N, 4] and scores [N, classes], class 0 the background; each box is a
/// detection of every other class scoring above conf_threshold (Accuracy Checker's ultra_lightweight_face_detection:
/// its face detectors' [N, 2]). One output (Accuracy Checker's ssd): DetectionOutput's [1, 1, M, 7] rows (image in the
/// batch, label, score, x1, y1, x2, y2 as fractions), shared by the batch: an item takes the rows of its image; a row
/// with image -1 ends the list.
/// </summary>
internal sealed class SsdAdapter(AdapterDefinition d) : DetectionAdapter(d)
{
    protected override bool Normalized => Definition.NormalizedBoxes;

    public override IEnumerable<(string Key, string Name)> OtherOutputs =>
        new[] { ("labels", Definition.LabelsOutput), ("scores", Definition.ScoresOutput), ("num_detections", Definition.CountOutput) }
            .Where(x => x.Item2 != null).Select(x => (x.Item1, x.Item2!));

    protected override List<Detection> Raw(BatchOutputs outputs, int row, ImageGeometry? geometry) =>
        Definition.ScoresOutput == null && Definition.LabelsOutput == null ? FromDetectionOutput(outputs, row)
        : Definition.LabelsOutput == null ? FromClassScores(outputs, row) : FromThree(outputs, row);

    private List<Detection> FromClassScores(BatchOutputs outputs, int row)
    {
        int b = OutputIndex, s = outputs.IndexOf(Definition.ScoresOutput!);
        foreach (int o in new[] { b, s }) outputs.RequireBatchFirst(o, "the ssd adapter");
        var boxes = outputs.Row(b, row);
        var scores = outputs.Row(s, row);
        int n = boxes.Length / 4;
        if (boxes.Length % 4 != 0 || n == 0 || scores.Length % n != 0 || scores.Length / n < 2)
            throw ShapeError($"ssd with class scores needs boxes [N, 4] and scores [N, classes] (at least a background and one class) per item, but '{OutputName}' holds {boxes.Length} values and '{Definition.ScoresOutput}' {scores.Length}.");
        int classes = scores.Length / n;
        var result = new List<Detection>();
        for (int i = 0; i < n; i++)
            for (int c = 1; c < classes; c++)
                if (scores[i * classes + c] > Definition.ConfidenceThreshold)
                    result.Add(new Detection(c, scores[i * classes + c], boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]));
        return result;
    }

    private List<Detection> FromThree(BatchOutputs outputs, int row)
    {
        int b = OutputIndex, l = outputs.IndexOf(Definition.LabelsOutput!), s = Definition.ScoresOutput == null ? -1 : outputs.IndexOf(Definition.ScoresOutput);
        foreach (int o in new[] { b, l, s }.Where(o => o >= 0)) outputs.RequireBatchFirst(o, "the ssd adapter");
        var boxes = outputs.Row(b, row);
        var labels = outputs.Row(l, row);
        // Without a scores output each box row carries its score as a fifth column.
        int width = s < 0 ? 5 : 4;
        var scores = s < 0 ? default : outputs.Row(s, row);
        if (boxes.Length != width * labels.Length || s >= 0 && scores.Length != labels.Length)
            throw ShapeError(s < 0
                ? $"ssd with labels: but no scores: needs boxes [N, 5] (x1, y1, x2, y2, score) and labels [N] per item, but '{OutputName}' holds {boxes.Length} values and '{Definition.LabelsOutput}' {labels.Length}."
                : $"ssd needs boxes [N, 4], labels [N] and scores [N] per item, but '{OutputName}' holds {boxes.Length} values, '{Definition.LabelsOutput}' {labels.Length} and '{Definition.ScoresOutput}' {scores.Length}.");
        // TensorFlow's detection outputs: only the first num_detections rows are detections; boxes y1, x1, y2, x2.
        int rows = labels.Length;
        if (Definition.CountOutput != null)
        {
            int c = outputs.IndexOf(Definition.CountOutput);
            outputs.RequireBatchFirst(c, "the ssd adapter");
            var count = outputs.Row(c, row);
            if (count.Length != 1 || !(count[0] >= 0))
                throw ShapeError($"ssd's num_detections '{Definition.CountOutput}' must hold one count per item, but holds {count.Length} values{(count.Length == 1 ? $" ({count[0]})" : "")}.");
            rows = (int)Math.Min(count[0], labels.Length);
        }
        var result = new List<Detection>(rows);
        for (int i = 0; i < rows; i++)
        {
            int at = width * i;
            var (x1, y1, x2, y2) = Definition.BoxesYFirst ? (boxes[at + 1], boxes[at], boxes[at + 3], boxes[at + 2]) : (boxes[at], boxes[at + 1], boxes[at + 2], boxes[at + 3]);
            result.Add(new Detection((int)labels[i], s < 0 ? boxes[at + 4] : scores[i], x1, y1, x2, y2));
        }
        return result;
    }

    private List<Detection> FromDetectionOutput(BatchOutputs outputs, int row)
    {
        var shape = outputs.Shapes[OutputIndex];
        if (shape.Length == 0 || shape[^1] != 7)
            throw ShapeError($"ssd with one output reads DetectionOutput rows [1, 1, M, 7], but '{OutputName}' has shape [{string.Join(",", shape)}]; name labels: and scores: for the three-output form.");
        var data = outputs.Data[OutputIndex].AsSpan(0, (int)outputs.Length(OutputIndex));
        var result = new List<Detection>();
        for (int i = 0; i + 7 <= data.Length; i += 7)
        {
            if (data[i] < 0) break;
            if ((int)data[i] == row)
                result.Add(new Detection((int)data[i + 1], data[i + 2], data[i + 3], data[i + 4], data[i + 5], data[i + 6]));
        }
        return result;
    }
}

/// <summary>
/// yolo_v8: per item a [4 + classes, N] output (YOLOv8's export): for each of the N candidates its centre x, centre y,
/// width and height in input pixels and one score per class. A candidate takes its best class; those scoring below
/// conf_threshold are dropped, then non-maximum suppression per class (nms_threshold, no boundary pixel) keeps at most
/// max_detections.
/// </summary>
internal sealed class YoloV8Adapter(AdapterDefinition d) : DetectionAdapter(d)
{
    protected override bool Normalized => false;

    protected override List<Detection> Raw(BatchOutputs outputs, int row, ImageGeometry? geometry)
    {
        var shape = ItemShape(outputs, "yolo_v8", "[batch, 4 + classes, candidates]", s => s.Length == 3 && s[1] >= 5);
        int channels = (int)shape[1], n = (int)shape[2];
        var data = outputs.Row(OutputIndex, row);
        var candidates = new List<Detection>();
        for (int j = 0; j < n; j++)
        {
            int best = 4;
            for (int c = 5; c < channels; c++)
                if (data[c * n + j] > data[best * n + j]) best = c;
            double score = data[best * n + j];
            if (!(score >= Definition.ConfidenceThreshold)) continue;
            candidates.Add(Centred(best - 4, score, data[j], data[n + j], data[2 * n + j], data[3 * n + j]));
        }
        return Nms(candidates, Definition.NmsThreshold, includeBoundaries: false, Definition.MaxDetections);
    }
}

/// <summary>
/// yolo_v5: per item an [N, 5 + classes] output, as YOLOv5, YOLOv7 and YOLOX export it with its boxes decoded: for each
/// of the N candidates its centre x, centre y, width and height in input pixels, its objectness and one score per class.
/// A candidate takes its best class, scored objectness x class score (as their exporters' own non-maximum suppression
/// scores it); then as yolo_v8: those below conf_threshold are dropped, non-maximum suppression per class keeps at most
/// max_detections. (Accuracy Checker's yolo_v5 decodes the raw grids instead; it is not read in its configurations.)
/// </summary>
internal sealed class YoloV5Adapter(AdapterDefinition d) : DetectionAdapter(d)
{
    protected override bool Normalized => false;

    protected override List<Detection> Raw(BatchOutputs outputs, int row, ImageGeometry? geometry)
    {
        var shape = ItemShape(outputs, "yolo_v5", "[batch, candidates, 5 + classes]", s => s.Length == 3 && s[2] >= 6);
        int n = (int)shape[1], width = (int)shape[2];
        var data = outputs.Row(OutputIndex, row);
        var candidates = new List<Detection>();
        for (int j = 0; j < n; j++)
        {
            int at = j * width, best = 5;
            for (int c = 6; c < width; c++)
                if (data[at + c] > data[at + best]) best = c;
            double score = (double)data[at + 4] * data[at + best];
            if (!(score >= Definition.ConfidenceThreshold)) continue;
            candidates.Add(Centred(best - 5, score, data[at], data[at + 1], data[at + 2], data[at + 3]));
        }
        return Nms(candidates, Definition.NmsThreshold, includeBoundaries: false, Definition.MaxDetections);
    }
}

/// <summary>
/// yolo_v3 and yolo_v2: raw YOLO grids decoded as Accuracy Checker's yolo_v3 and yolo_v2 adapters decode them (see
/// <see cref="YoloGrid"/>; its README and adapters/yolo.py are the reference), boxes as fractions of the input;
/// suppression is the dataset's postprocessing (nms, diou_nms), as in Accuracy Checker. yolo_v3's anchors are in input
/// pixels: the input's size is the annotated image's input, else the model input's declared size read as Accuracy
/// Checker reads it (3 channels second: NCHW); yolo_v2's are in grid cells.
/// </summary>
internal sealed class YoloGridAdapter(AdapterDefinition d) : DetectionAdapter(d)
{
    private YoloGrid Grid => Definition.Grid!;

    protected override bool Normalized => true;

    public override IEnumerable<(string Key, string Name)> OtherOutputs => Grid.Outputs.Skip(1).Select((o, i) => ($"outputs[{i + 1}]", o));

    /// <summary>The name of grid <paramref name="layer"/>'s output (yolo_v2's one output may be the model's first).</summary>
    private string NameOf(int layer) => layer == 0 ? OutputName! : Grid.Outputs[layer];

    protected override List<Detection> Raw(BatchOutputs outputs, int row, ImageGeometry? geometry)
    {
        var (inputWidth, inputHeight) = Grid.AnchorsInCells ? (1.0, 1.0) : InputSize(geometry, "yolo_v3 scales its anchors");
        var result = new List<Detection>();
        for (int layer = 0; layer < Grid.Outputs.Count; layer++)
        {
            int index = layer == 0 ? OutputIndex : outputs.IndexOf(Grid.Outputs[layer]);
            string adapter = Definition.Type == AdapterType.YoloV2 ? "the yolo_v2 adapter" : "the yolo_v3 adapter";
            outputs.RequireBatchFirst(index, adapter);
            var dims = outputs.RowShape(index).Skip(1).Select(x => (int)x).ToArray();
            var data = outputs.Row(index, row).ToArray();
            if (Grid.OutputNhwc && dims.Length == 3) (data, dims) = Permute(data, dims, 2, 0, 1);
            if (Grid.Transpose is { } order)
            {
                if (dims.Length != 3) throw ShapeError($"transpose orders three axes, but '{NameOf(layer)}' has the item shape [{string.Join(",", dims)}].");
                (data, dims) = Permute(data, dims, order[0], order[1], order[2]);
            }
            int cells;
            if (Grid.Reshape || dims.Length != 3)
            {
                if (layer >= Grid.Cells.Count) throw ShapeError($"'{NameOf(layer)}' needs a grid size: cells lists {Grid.Cells.Count} for {Grid.Outputs.Count} outputs.");
                cells = Grid.Cells[layer];
                int rest = data.Length / (cells * cells);
                if (rest * cells * cells != data.Length) throw ShapeError($"'{NameOf(layer)}' holds {data.Length} values per item, not a multiple of its {cells}x{cells} cells.");
                dims = Grid.ChannelsLast ? new[] { cells, cells, rest } : new[] { rest, cells, cells };
            }
            else cells = Grid.ChannelsLast ? dims[0] : dims[1];
            var anchors = Grid.AnchorMasks is { } masks ? masks[layer].SelectMany(i => new[] { Grid.Anchors[2 * i], Grid.Anchors[2 * i + 1] }).ToArray() : Grid.Anchors.Take(2 * Grid.Num).ToArray();
            int num = anchors.Length / 2;
            int boxSize = (Grid.ChannelsLast ? dims[2] : dims[0]) / num;
            // As Accuracy Checker's parse_output: a square first pair of axes is [cells, cells, boxes] and moves the boxes first.
            if (dims[0] == dims[1]) (data, dims) = Permute(data, dims, 2, 0, 1);
            if (dims[0] != num * boxSize || boxSize < 4 + Grid.Classes)
                throw ShapeError($"'{NameOf(layer)}' has the item shape [{string.Join(",", dims)}] once read, not {num} anchors x (4 + objectness + {Grid.Classes} classes) per cell: check classes, num{(Grid.AnchorMasks != null ? " or anchor_masks" : "")}, output_format and cells.");
            // Anchors in cells (yolo_v2) make a box's size a fraction of the grid, as its centre is.
            double sizeX = Grid.AnchorsInCells ? cells : inputWidth, sizeY = Grid.AnchorsInCells ? cells : inputHeight;
            Decode(data, dims[1], dims[2], cells, num, boxSize, anchors, sizeX, sizeY, result);
        }
        return result;
    }

    private void Decode(float[] data, int height, int width, int cells, int num, int boxSize, double[] anchors, double sizeX, double sizeY, List<Detection> result)
    {
        int plane = height * width;
        bool objectness = boxSize != Grid.Classes + 4;
        int first = objectness ? 5 : 4;
        Func<double, double> squash = Grid.RawOutput ? Sigmoid : x => x;
        var softmax = Grid.RawOutput ? Grid.Softmax : YoloSoftmax.None;
        // Accuracy Checker's yolo_v2 takes one softmax over the class scores of every cell and anchor (of the grid).
        var (max, sum) = softmax == YoloSoftmax.Image
            ? SoftmaxTerms(data, from a in Enumerable.Range(0, num) from c in Enumerable.Range(first, Grid.Classes) from k in Enumerable.Range(0, plane) select (a * boxSize + c) * plane + k)
            : (0, 1);
        var scores = new double[Grid.Classes];
        for (int h = 0; h < height; h++)
            for (int w = 0; w < width; w++)
                for (int a = 0; a < num; a++)
                {
                    int at = a * boxSize * plane + h * width + w;
                    double V(int k) => data[at + k * plane];
                    double confidence = objectness ? squash(V(4)) : 1;
                    if (!(confidence > Grid.Threshold)) continue;
                    if (softmax == YoloSoftmax.Box) (max, sum) = SoftmaxTerms(data, Enumerable.Range(first, Grid.Classes).Select(c => at + c * plane));
                    int best = 0;
                    for (int c = 0; c < Grid.Classes; c++)
                    {
                        double v = V(first + c);
                        scores[c] = (softmax == YoloSoftmax.None ? squash(v) : Math.Exp(v - max) / sum) * confidence;
                        if (scores[c] > scores[best]) best = c;
                    }
                    double x = (Coordinate(V(0), squash) + w) / cells, y = (Coordinate(V(1), squash) + h) / cells;
                    double bw = Size(V(2)) * anchors[2 * a] / sizeX, bh = Size(V(3)) * anchors[2 * a + 1] / sizeY;
                    result.Add(Centred(best, scores[best], x, y, bw, bh));
                }
    }

    /// <summary>A box centre's offset in its cell, and its size's factor of the anchor: YOLOv5's (<see cref="YoloGrid.V5Boxes"/>) or YOLO v3's.</summary>
    private double Coordinate(double v, Func<double, double> squash) => Grid.V5Boxes && Grid.RawOutput ? 2 * Sigmoid(v) - 0.5 : squash(v);

    private double Size(double v) => Grid.V5Boxes && Grid.RawOutput ? Math.Pow(2 * Sigmoid(v), 2) : Math.Exp(v);

    /// <summary>The largest of the values at <paramref name="indices"/> and the sum of e^(value - largest) over them.</summary>
    private static (double Max, double Sum) SoftmaxTerms(float[] data, IEnumerable<int> indices)
    {
        double max = double.NegativeInfinity, sum = 0;
        foreach (int i in indices) max = Math.Max(max, data[i]);
        foreach (int i in indices) sum += Math.Exp(data[i] - max);
        return (max, sum);
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    /// <summary>A 3-D tensor with its axes in the order given (the new axis i is the old axis order[i]).</summary>
    private static (float[] Data, int[] Dims) Permute(float[] data, int[] dims, int a0, int a1, int a2)
    {
        var order = new[] { a0, a1, a2 };
        var to = order.Select(o => dims[o]).ToArray();
        var stride = new[] { dims[1] * dims[2], dims[2], 1 };
        var result = new float[data.Length];
        int k = 0;
        for (int i = 0; i < to[0]; i++)
            for (int j = 0; j < to[1]; j++)
                for (int l = 0; l < to[2]; l++)
                    result[k++] = data[i * stride[order[0]] + j * stride[order[1]] + l * stride[order[2]]];
        return (result, to);
    }
}

/// <summary>
/// yolox: per item YOLOX's raw output [N, 5 + classes], as its export writes it by default (decode_in_inference off):
/// for the cells of its grids, stride by stride (8, 16, 32 of the input), row by row, the box's offsets from the cell
/// and log size in cells, then objectness and class scores (already through their sigmoids). Decoded as Accuracy
/// Checker's yolox adapter decodes it: centre (offset + cell) x stride, size e^s x stride, in input pixels; a candidate
/// whose objectness exceeds the threshold gives a detection for each class whose objectness x class score does.
/// Suppression is the dataset's postprocessing. Grids are of the input's height and width each divided by the stride
/// (Accuracy Checker swaps the two, which differs only on inputs that are not square).
/// </summary>
internal sealed class YoloxAdapter(AdapterDefinition d) : DetectionAdapter(d)
{
    protected override bool Normalized => false;

    protected override List<Detection> Raw(BatchOutputs outputs, int row, ImageGeometry? geometry)
    {
        var shape = ItemShape(outputs, "yolox", "[batch, candidates, 5 + classes]", s => s.Length == 3 && s[2] >= 6);
        var (inputWidth, inputHeight) = InputSize(geometry, "yolox lays out its grids");
        int width = (int)shape[2];
        var cells = Grids(inputWidth, inputHeight, (int)shape[1], roundUp: false, "check strides, or use yolo_v5 for an output whose boxes are decoded");
        var data = outputs.Row(OutputIndex, row);
        var result = new List<Detection>();
        double threshold = Definition.Threshold;
        int j = 0;
        foreach (var (stride, rows, columns) in cells)
            for (int y = 0; y < rows; y++)
                for (int x = 0; x < columns; x++, j++)
                {
                    int at = j * width;
                    double objectness = data[at + 4];
                    if (!(objectness > threshold)) continue;
                    double cx = (data[at] + x) * stride, cy = (data[at + 1] + y) * stride;
                    double w = Math.Exp(data[at + 2]) * stride, h = Math.Exp(data[at + 3]) * stride;
                    for (int c = 5; c < width; c++)
                    {
                        double score = data[at + c] * objectness;
                        if (score > threshold) result.Add(Centred(c - 5, score, cx, cy, w, h));
                    }
                }
        return result;
    }
}

/// <summary>
/// nanodet: per item NanoDet's output [N, classes + 4 x (reg_max + 1)] for the points of its grids, stride by stride, row
/// by row (at the cells' corners, or their centres when legacy), as Accuracy Checker's nanodet adapter decodes it: each
/// side's distance from the point is the mean of its softmax over the bins 0 to reg_max, times the stride; boxes in
/// input pixels clipped to the input. Per class, points scoring above conf_threshold go through non-maximum
/// suppression (nms_threshold, boundary pixels included); the best max_detections of all are kept.
/// </summary>
internal sealed class NanoDetAdapter(AdapterDefinition d) : DetectionAdapter(d)
{
    protected override bool Normalized => false;

    protected override List<Detection> Raw(BatchOutputs outputs, int row, ImageGeometry? geometry)
    {
        int classes = Definition.Classes, bins = Definition.RegMax + 1, width = classes + 4 * bins;
        var shape = ItemShape(outputs, "nanodet", $"[batch, points, {classes} classes + 4 x {bins} bins]", s => s.Length == 3 && s[2] == width, "check classes and reg_max");
        var (inputWidth, inputHeight) = InputSize(geometry, "nanodet lays out its grids");
        var grids = Grids(inputWidth, inputHeight, (int)shape[1], roundUp: true, "check strides");
        var data = outputs.Row(OutputIndex, row);
        double offset = Definition.CellCentres ? 0.5 : 0;
        var candidates = new List<Detection>();
        var distance = new double[4];
        int j = 0;
        foreach (var (stride, rows, columns) in grids)
            for (int y = 0; y < rows; y++)
                for (int x = 0; x < columns; x++, j++)
                {
                    int at = j * width;
                    bool decoded = false;
                    for (int c = 0; c < classes; c++)
                    {
                        double score = data[at + c];
                        if (!(score > Definition.ConfidenceThreshold)) continue;
                        if (!decoded)
                        {
                            for (int side = 0; side < 4; side++) distance[side] = ExpectedBin(data.Slice(at + classes + side * bins, bins)) * stride;
                            decoded = true;
                        }
                        double px = (x + offset) * stride, py = (y + offset) * stride;
                        candidates.Add(new Detection(c, score, Math.Clamp(px - distance[0], 0, inputWidth), Math.Clamp(py - distance[1], 0, inputHeight),
                            Math.Clamp(px + distance[2], 0, inputWidth), Math.Clamp(py + distance[3], 0, inputHeight)));
                    }
                }
        return Nms(candidates, Definition.NmsThreshold, includeBoundaries: true, Definition.MaxDetections);
    }

    /// <summary>The mean bin of a softmax over <paramref name="logits"/> (bins 0, 1, ...).</summary>
    private static double ExpectedBin(ReadOnlySpan<float> logits)
    {
        double max = double.NegativeInfinity, sum = 0, mean = 0;
        foreach (float v in logits) max = Math.Max(max, v);
        for (int k = 0; k < logits.Length; k++)
        {
            double e = Math.Exp(logits[k] - max);
            sum += e;
            mean += k * e;
        }
        return mean / sum;
    }
}

/// <summary>
/// detr: per item DETR's class logits [N, classes + 1] (the last class: no object) and boxes [N, 4] (centre x, centre
/// y, width, height as fractions of the input), as Accuracy Checker's detr adapter reads them: every query a detection
/// of its best class but the last, scored that class's softmax over all of them.
/// </summary>
internal sealed class DetrAdapter(AdapterDefinition d) : DetectionAdapter(d)
{
    protected override bool Normalized => true;

    public override IEnumerable<(string Key, string Name)> OtherOutputs => new[] { ("scores", Definition.ScoresOutput!) };

    protected override List<Detection> Raw(BatchOutputs outputs, int row, ImageGeometry? geometry)
    {
        int s = outputs.IndexOf(Definition.ScoresOutput!);
        outputs.RequireBatchFirst(OutputIndex, "the detr adapter");
        outputs.RequireBatchFirst(s, "the detr adapter");
        var boxes = outputs.Row(OutputIndex, row);
        var logits = outputs.Row(s, row);
        int n = boxes.Length / 4;
        if (n * 4 != boxes.Length || n == 0 || logits.Length % n != 0 || logits.Length / n < 2)
            throw ShapeError($"detr needs boxes [N, 4] and class logits [N, classes + 1] per item, but '{OutputName}' holds {boxes.Length} values and '{Definition.ScoresOutput}' {logits.Length}.");
        int width = logits.Length / n;
        var result = new List<Detection>(n);
        for (int q = 0; q < n; q++)
        {
            var l = logits.Slice(q * width, width);
            double max = double.NegativeInfinity, sum = 0;
            foreach (float v in l) max = Math.Max(max, v);
            foreach (float v in l) sum += Math.Exp(v - max);
            int best = 0;
            for (int c = 1; c < width - 1; c++)
                if (l[c] > l[best]) best = c;
            result.Add(Centred(best, Math.Exp(l[best] - max) / sum, boxes[4 * q], boxes[4 * q + 1], boxes[4 * q + 2], boxes[4 * q + 3]));
        }
        return result;
    }
}

/// <summary>
/// class_agnostic: per item boxes [N, 5] (x1, y1, x2, y2, score) of one class, as Accuracy Checker's
/// class_agnostic_detection reads them: rows scoring above 0 are detections of label 1, their coordinates multiplied by
/// the scale, which makes them fractions of the input.
/// </summary>
internal sealed class ClassAgnosticAdapter(AdapterDefinition d) : DetectionAdapter(d)
{
    protected override bool Normalized => Definition.NormalizedBoxes;

    protected override List<Detection> Raw(BatchOutputs outputs, int row, ImageGeometry? geometry)
    {
        ItemShape(outputs, "class_agnostic", "[batch, boxes, 5] (x1, y1, x2, y2, score)", s => s.Length == 3 && s[2] == 5);
        var data = outputs.Row(OutputIndex, row);
        var s = Definition.BoxScale;
        var result = new List<Detection>();
        for (int at = 0; at + 5 <= data.Length; at += 5)
            if (data[at + 4] > 0)
                result.Add(new Detection(1, data[at + 4], data[at] * s[0], data[at + 1] * s[1], data[at + 2] * s[2], data[at + 3] * s[3]));
        return result;
    }
}

/// <summary>
/// yolo_v3_onnx: detections a model selected itself with ONNX's NonMaxSuppression, as ONNX Model Zoo's YOLOv3 and Tiny
/// YOLOv3 give them: per item boxes [N, 4] (y1, x1, y2, x2 in the image's pixels: the model is fed the image's size,
/// other_inputs: image_size) and scores [classes, N]; the selected indices [M, 3] (image in the batch, class, box), shared
/// by the batch (or [M, 3] per item), end at a row whose image is -1. Each selected row is a detection of its class
/// scored scores[class, box], in the rows' order (Accuracy Checker's yolo_v3_onnx, which reads one image per batch).
/// </summary>
internal sealed class YoloV3OnnxAdapter(AdapterDefinition d) : DetectionAdapter(d)
{
    protected override bool Normalized => false;

    protected override bool InImagePixels => true;

    public override IEnumerable<(string Key, string Name)> OtherOutputs => new[] { ("scores", Definition.ScoresOutput!), ("indices", Definition.IndicesOutput!) };

    public override IEnumerable<string> SharedOutputs => new[] { Definition.IndicesOutput! };

    protected override List<Detection> Raw(BatchOutputs outputs, int row, ImageGeometry? geometry)
    {
        int s = outputs.IndexOf(Definition.ScoresOutput!), i = outputs.IndexOf(Definition.IndicesOutput!);
        outputs.RequireBatchFirst(OutputIndex, "the yolo_v3_onnx adapter");
        outputs.RequireBatchFirst(s, "the yolo_v3_onnx adapter");
        var boxes = outputs.Row(OutputIndex, row);
        var scores = outputs.Row(s, row);
        int n = boxes.Length / 4;
        if (n * 4 != boxes.Length || n == 0 || scores.Length % n != 0)
            throw ShapeError($"yolo_v3_onnx needs boxes [N, 4] and scores [classes, N] per item, but '{OutputName}' holds {boxes.Length} values and '{Definition.ScoresOutput}' {scores.Length}.");
        int classes = scores.Length / n;
        // Indices [M, 3] are the batch's (column 0 names the image); [batch, M, 3] are per item.
        var shape = outputs.Shapes[i];
        bool perItem = shape.Length == 3;
        if (shape.Length is not (2 or 3) || shape[^1] != 3)
            throw ShapeError($"yolo_v3_onnx needs the selected indices [M, 3] (image, class, box), but '{Definition.IndicesOutput}' has shape [{string.Join(",", shape)}].");
        var indices = perItem ? outputs.Row(i, row) : outputs.Data[i].AsSpan(0, (int)outputs.Length(i));
        var result = new List<Detection>();
        for (int k = 0; k + 3 <= indices.Length; k += 3)
        {
            if (indices[k] < 0) break;
            if (!perItem && (int)indices[k] != row) continue;
            int c = (int)indices[k + 1], b = (int)indices[k + 2];
            if ((uint)c >= (uint)classes || (uint)b >= (uint)n)
                throw ShapeError($"'{Definition.IndicesOutput}' selects class {c} and box {b}, but the model gives {classes} classes and {n} boxes.");
            result.Add(new Detection(c, scores[c * n + b], boxes[4 * b + 1], boxes[4 * b], boxes[4 * b + 3], boxes[4 * b + 2]));
        }
        return result;
    }
}

/// <summary>
/// prior_boxes: per item offsets [N, 4] from the priors (<see cref="PriorBoxes"/>) and class scores [N, classes], class 0
/// the background. Every other class scoring above conf_threshold makes a candidate of its box; per class, the best
/// max_detections go through non-maximum suppression without boundary pixels (nms_threshold) (Accuracy Checker's
/// retinaface_pytorch and faceboxes, which also lay their priors out this way).
/// </summary>
internal sealed class PriorBoxesAdapter(AdapterDefinition d) : DetectionAdapter(d)
{
    private readonly Dictionary<(double, double), double[]> _priors = new();

    protected override bool Normalized => true;

    public override IEnumerable<(string Key, string Name)> OtherOutputs => new[] { ("scores", Definition.ScoresOutput!) };

    protected override List<Detection> Raw(BatchOutputs outputs, int row, ImageGeometry? geometry)
    {
        int s = outputs.IndexOf(Definition.ScoresOutput!);
        outputs.RequireBatchFirst(OutputIndex, "the prior_boxes adapter");
        outputs.RequireBatchFirst(s, "the prior_boxes adapter");
        var (width, height) = InputSize(geometry, "prior_boxes lays out its priors");
        var priors = Priors(width, height);
        int n = priors.Length / 4;
        var offsets = outputs.Row(OutputIndex, row);
        var scores = outputs.Row(s, row);
        if (offsets.Length != 4 * n || scores.Length % n != 0 || scores.Length / n < 2)
            throw ShapeError($"prior_boxes lays out {n} priors on a {width}x{height} input, but '{OutputName}' holds {offsets.Length} values (offsets [N, 4]) and " +
                $"'{Definition.ScoresOutput}' {scores.Length} (scores [N, classes]): check min_sizes, strides and the grids' rounding.");
        int classes = scores.Length / n;
        var p = Definition.Priors!;
        var result = new List<Detection>();
        for (int c = 1; c < classes; c++)
        {
            var candidates = new List<Detection>();
            for (int i = 0; i < n; i++)
            {
                double score = scores[i * classes + c];
                if (!(score > Definition.ConfidenceThreshold)) continue;
                double pw = priors[4 * i + 2], ph = priors[4 * i + 3];
                double cx = priors[4 * i] + offsets[4 * i] * p.CentreVariance * pw, cy = priors[4 * i + 1] + offsets[4 * i + 1] * p.CentreVariance * ph;
                candidates.Add(Centred(c, score, cx, cy, pw * Math.Exp(offsets[4 * i + 2] * p.SizeVariance), ph * Math.Exp(offsets[4 * i + 3] * p.SizeVariance)));
            }
            // As Accuracy Checker's NMS takes keep_top_k: the best max_detections take part, then suppression.
            result.AddRange(Nms(candidates.OrderByDescending(x => x.Score).Take(Definition.MaxDetections).ToList(), Definition.NmsThreshold, includeBoundaries: false, int.MaxValue));
        }
        return result;
    }

    /// <summary>The priors of an input size (centre x, centre y, width, height as fractions of it), laid out once.</summary>
    private double[] Priors(double width, double height)
    {
        if (_priors.TryGetValue((width, height), out var cached)) return cached;
        var p = Definition.Priors!;
        var list = new List<double>();
        for (int level = 0; level < Definition.Strides.Count; level++)
        {
            int stride = Definition.Strides[level];
            int Cells(double size) => p.CeilGrids ? (int)Math.Ceiling(size / stride) : (int)Math.Round(size / stride, MidpointRounding.ToEven);
            int rows = Cells(height), columns = Cells(width);
            var sizes = p.MinSizes[level];
            for (int i = 0; i < rows; i++)
                for (int j = 0; j < columns; j++)
                    for (int k = 0; k < sizes.Count; k++)
                    {
                        int density = p.Densities?[level][k] ?? 1;
                        for (int a = 0; a < density; a++)
                            for (int b = 0; b < density; b++)
                            {
                                double oy = density == 1 ? 0.5 : (double)a / density, ox = density == 1 ? 0.5 : (double)b / density;
                                double[] prior = { (j + ox) * stride / width, (i + oy) * stride / height, sizes[k] / width, sizes[k] / height };
                                foreach (double v in prior) list.Add(p.Clip ? Math.Clamp(v, 0, 1) : v);
                            }
                    }
        }
        return _priors[(width, height)] = list.ToArray();
    }
}
