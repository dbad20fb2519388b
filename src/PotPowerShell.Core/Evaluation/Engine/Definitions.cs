using PotPowerShell.Core.Data;
using PotPowerShell.Core.Results;

namespace PotPowerShell.Core.Evaluation;

/// <summary>How a data source is read.</summary>
public enum DatasetFormat
{
    /// <summary>A folder of .npy files (one per model input), one .npz archive or one .npy file.</summary>
    Npy,
    /// <summary>A folder of images (png, jpg, bmp...) decoded and preprocessed per item.</summary>
    Images,
    /// <summary>A folder of .npy files, one per item (Accuracy Checker's numpy_reader), fed as they are.</summary>
    NpyFiles,
    /// <summary>A SQuAD .json file: each question's context in windows of WordPiece tokens (<see cref="Data.SquadFile"/>).</summary>
    Squad,
    /// <summary>A CoNLL-2003 text file: each sentence's words as WordPiece tokens, labelled per word (<see cref="Data.ConllFile"/>).</summary>
    Conll,
}

/// <summary>How an adapter turns raw model outputs into predictions.</summary>
public enum AdapterType
{
    /// <summary>Class scores of one output; metrics take the argmax / top-k.</summary>
    Classification,
    /// <summary>CTC greedy decoding of per-time-step class scores into text.</summary>
    CtcGreedy,
    /// <summary>The raw output tensors.</summary>
    Identity,
    /// <summary>Detections from three outputs: boxes [N, 4] (x1, y1, x2, y2 as fractions of the input), labels [N], scores [N].</summary>
    Ssd,
    /// <summary>YOLOv8's raw output [4 + classes, N] (centre x, centre y, width, height in input pixels, class scores), filtered by confidence and non-maximum suppression.</summary>
    YoloV8,
    /// <summary>
    /// The decoded output [N, 5 + classes] of YOLOv5, YOLOv7 and YOLOX exports (centre x, centre y, width, height in
    /// input pixels, objectness, class scores), filtered by objectness x class score and non-maximum suppression.
    /// </summary>
    YoloV5,
    /// <summary>Raw YOLO v3/v4 grids decoded with their anchors, as Accuracy Checker's yolo_v3 adapter decodes them (<see cref="YoloGrid"/>).</summary>
    YoloV3,
    /// <summary>One raw YOLO v2 grid (anchors in cells), as Accuracy Checker's yolo_v2 adapter decodes it (<see cref="YoloGrid"/>).</summary>
    YoloV2,
    /// <summary>
    /// YOLOX's raw output [N, 5 + classes] (offsets in grid cells at strides 8, 16 and 32, objectness, class scores), as
    /// YOLOX exports it by default and Accuracy Checker's yolox adapter decodes it.
    /// </summary>
    Yolox,
    /// <summary>
    /// Detections a model selected itself with ONNX's NonMaxSuppression, as ONNX Model Zoo's YOLOv3 gives them: boxes
    /// [N, 4] (y1, x1, y2, x2 in the image's pixels), scores [classes, N] and the selected indices [M, 3] (image, class,
    /// box) (Accuracy Checker's yolo_v3_onnx).
    /// </summary>
    YoloV3Onnx,
    /// <summary>
    /// NanoDet's output [N, classes + 4 x (reg_max + 1)]: per cell of its grids, class scores and each side's distance as
    /// a distribution over reg_max + 1 bins (Accuracy Checker's nanodet).
    /// </summary>
    NanoDet,
    /// <summary>
    /// DETR's outputs: per item class logits [N, classes + 1] (the last: no object) and boxes [N, 4] (centre x, centre y,
    /// width, height as fractions of the input), every query a detection (Accuracy Checker's detr).
    /// </summary>
    Detr,
    /// <summary>Boxes of one class [N, 5] (x1, y1, x2, y2, score), scaled to fractions of the input (Accuracy Checker's class_agnostic_detection).</summary>
    ClassAgnostic,
    /// <summary>
    /// SSD-style offsets from prior boxes laid out on grids (<see cref="PriorBoxes"/>): per item offsets [N, 4] and class
    /// scores [N, classes] (Accuracy Checker's retinaface_pytorch and faceboxes).
    /// </summary>
    PriorBoxes,
    /// <summary>Semantic segmentation: per-pixel class scores [C, H, W] (the class map is their argmax), or the class map [H, W] itself.</summary>
    Segmentation,
    /// <summary>Re-identification: each item's embedding (its output flattened), L2-normalized as Accuracy Checker's reid adapter does it.</summary>
    Reid,
    /// <summary>Extractive question answering: the answer text from the start and end logits of a window's tokens (Accuracy Checker's bert_question_answering and extract_answers_tokens).</summary>
    QuestionAnswering,
    /// <summary>Token classification: each token's class, the argmax of its scores (Accuracy Checker's bert_ner).</summary>
    TokenClassification,
}

/// <summary>Axis order of a CTC output: batch, time, classes or time, batch, classes.</summary>
public enum CtcLayout
{
    Ntc,
    Tnc,
}

public enum MetricType
{
    Accuracy,
    Precision,
    Recall,
    F1,
    CharacterRecognitionAccuracy,
    CharacterLevelAccuracy,
    MeanSquaredError,
    Psnr,
    CosineSimilarity,
    Script,
    MeanAbsoluteError,
    /// <summary>VOC mean average precision at one IoU threshold (dataset-level).</summary>
    Map,
    /// <summary>COCO's AP@[.5:.95] with 101-point interpolation (dataset-level).</summary>
    CocoPrecision,
    /// <summary>Top-1 agreement with the FP32 model (its predictions as labels, POT's annotation_free).</summary>
    Fp32Agreement,
    /// <summary>Segmentation, dataset-level over the confusion matrix of every pixel: pixels right / pixels.</summary>
    SegmentationAccuracy,
    /// <summary>Segmentation: the mean over classes of intersection over union.</summary>
    MeanIou,
    /// <summary>Segmentation: the mean over classes of the share of their pixels found.</summary>
    MeanAccuracy,
    /// <summary>Segmentation: the classes' IoU weighted by their share of the pixels.</summary>
    FrequencyWeightedAccuracy,
    /// <summary>Re-identification: the share of queries with a gallery image of their id among the top k (dataset-level).</summary>
    Cmc,
    /// <summary>Re-identification: the mean over queries of the average precision of the gallery ranked by distance (dataset-level).</summary>
    ReidMap,
    /// <summary>Question answering: SQuAD's token F1 of the answer against the best reference answer, per question its best window (dataset-level; against FP32's answers the mean over windows).</summary>
    SquadF1,
    /// <summary>Question answering: SQuAD's exact match of the normalized answer, per question its best window (dataset-level; against FP32's answers the mean over windows).</summary>
    SquadExactMatch,
    /// <summary>Question retrieval: the share of questions whose context is among the top_k nearest by embedding (dataset-level).</summary>
    QaEmbeddingAccuracy,
    /// <summary>Named entities: the share of words whose predicted label is the label (Accuracy Checker's ner_accuracy; dataset-level).</summary>
    NerAccuracy,
    /// <summary>Named entities: precision of the predicted entity chunks, the mean over entity types (dataset-level).</summary>
    NerPrecision,
    /// <summary>Named entities: recall of the labelled entity chunks, the mean over entity types (dataset-level).</summary>
    NerRecall,
    /// <summary>Named entities: F1 of the entity chunks, the mean over entity types (dataset-level).</summary>
    NerFScore,
}

/// <summary>Whether a script metric is called per item (the value is the mean) or once with every item.</summary>
public enum MetricLevel
{
    Item,
    Dataset,
}

/// <summary>A postprocessing step of detections (Accuracy Checker's postprocessing).</summary>
public abstract record DetectionStep(string KeyPath);

/// <summary>
/// nms: by score, a box overlapping a better kept one by more than <paramref name="Overlap"/> is dropped: of its class
/// (<see cref="PerClass"/>, our nms and Accuracy Checker's class_aware_nms) or of any (Accuracy Checker's nms).
/// </summary>
public sealed record NmsStep(double Overlap, bool IncludeBoundaries, string KeyPath) : DetectionStep(KeyPath)
{
    public bool PerClass { get; init; } = true;

    /// <summary>Only the best this many take part (the rest are dropped first), as Accuracy Checker's keep_top_k.</summary>
    public int? KeepTopK { get; init; }

    /// <summary>diou_nms: the overlap is IoU minus (centre distance / enclosing diagonal)^1.2 (Accuracy Checker's DIoU NMS).</summary>
    public bool Diou { get; init; }
}

/// <summary>
/// cast_to_int (Accuracy Checker's): box corners rounded to whole pixels, the detections' with
/// <paramref name="Predictions"/> and the annotated boxes' with <paramref name="Annotations"/> (its apply_to, both by default).
/// </summary>
public sealed record CastToIntStep(RoundPolicy Policy, bool Predictions, bool Annotations, string KeyPath) : DetectionStep(KeyPath)
{
    public double Round(double x) => Policy switch
    {
        RoundPolicy.NearestToZero => Math.Truncate(x),
        RoundPolicy.Lower => Math.Floor(x),
        RoundPolicy.Greater => Math.Ceiling(x),
        _ => Math.Round(x, MidpointRounding.ToEven),
    };
}

/// <summary>cast_to_int's round_policy: nearest (halves to even, as np.rint), nearest_to_zero, lower or greater.</summary>
public enum RoundPolicy
{
    Nearest,
    NearestToZero,
    Lower,
    Greater,
}

/// <summary>
/// filter (Accuracy Checker's): the boxes that any of <see cref="Criteria"/> picks, of the detections with
/// <see cref="Predictions"/> and of the annotated objects with <see cref="Annotations"/>, are removed with
/// <see cref="Remove"/> (remove_filtered; each criterion then sees what the ones before it left), else kept and
/// ignored: an annotated object becomes difficult, a detection counts neither way (<see cref="Evaluation.Detection.Ignored"/>).
/// </summary>
public sealed record FilterStep(IReadOnlyList<FilterCriterion> Criteria, string KeyPath) : DetectionStep(KeyPath)
{
    public bool Predictions { get; init; } = true;

    public bool Annotations { get; init; }

    public bool Remove { get; init; }
}

/// <summary>shift_labels: every detection's class moves by <paramref name="Offset"/> (Accuracy Checker's).</summary>
public sealed record ShiftLabelsStep(int Offset, string KeyPath) : DetectionStep(KeyPath);

/// <summary>What a filter criterion picks (postprocessor/filter.py's filters, Accuracy Checker's key in brackets).</summary>
public enum FilterKind
{
    /// <summary>Boxes of one of <see cref="FilterCriterion.Labels"/> (labels).</summary>
    Labels,
    /// <summary>Detections scoring below Min (min_confidence); annotated objects never.</summary>
    MinConfidence,
    /// <summary>Detections but the Min best (top_k); annotated objects never.</summary>
    TopK,
    /// <summary>Boxes whose height y2 - y1 is outside [Min, Max) (height_range; no Max: at least Min).</summary>
    HeightRange,
    /// <summary>Boxes whose width is outside the range (width_range).</summary>
    WidthRange,
    /// <summary>Boxes whose height / width is outside the range (aspect_ratio).</summary>
    AspectRatio,
    /// <summary>Annotated objects whose √(area / image area) is outside the range (area_ratio); detections never.</summary>
    AreaRatio,
    /// <summary>Boxes without area: width or height at most 0 (is_empty).</summary>
    IsEmpty,
    /// <summary>Boxes with a corner that is not a finite number (invalid_boxes).</summary>
    InvalidBoxes,
}

/// <param name="Min">The threshold, the count of top_k, or the range's lower end.</param>
/// <param name="Max">The range's upper end (excluded); null or 0 for none, as Accuracy Checker's in_interval reads it.</param>
public sealed record FilterCriterion(FilterKind Kind, double Min = 0, double? Max = null, IReadOnlyList<int>? Labels = null);

/// <summary>
/// clip_boxes: box corners are clipped to [0, width] x [0, height] of the annotated image, or of
/// <see cref="Width"/> x <see cref="Height"/> when given (Accuracy Checker's size, dst_width, dst_height), or with
/// <see cref="ToInput"/> to the part of the image the model input shows: the detections' with
/// <see cref="Predictions"/>, the annotated objects' with <see cref="Annotations"/>.
/// </summary>
public sealed record ClipBoxesStep(string KeyPath) : DetectionStep(KeyPath)
{
    public bool Predictions { get; init; } = true;

    public bool Annotations { get; init; }

    public int? Width { get; init; }

    public int? Height { get; init; }

    public bool ToInput { get; init; }
}

/// <summary>How precision, recall and F1 combine per-class values.</summary>
public enum AverageKind
{
    Macro,
    Micro,
    Weighted,
}

/// <summary>What an output is compared with: the annotation (a target tensor) or the FP32 model's output.</summary>
public enum MetricReference
{
    Annotation,
    Fp32,
}

/// <summary>
/// yolo_v3 (Accuracy Checker's keys): one output per grid (<paramref name="Outputs"/>), each per item
/// [num x (4 + objectness + classes), cells, cells] (output_format BHW) or [cells, cells, num x (...)] (HWB), after
/// output_layout NHWC's move of the channels first, <paramref name="Transpose"/> and, with <paramref name="Reshape"/>
/// (or an output that is not 3-D), a reshape to <paramref name="Cells"/>. A cell's box is centred at ((x + column) /
/// cells, (y + row) / cells) with width exp(w) x anchor width / input width (likewise the height), as fractions of the
/// input; <paramref name="RawOutput"/> passes x, y, objectness and class scores through a sigmoid first. Candidates whose
/// objectness exceeds <paramref name="Threshold"/> take their best class, scored objectness x class score.
/// </summary>
/// <param name="AnchorMasks">Per output, the anchors (their indices in <paramref name="Anchors"/>) its cells use; null = all, <paramref name="Num"/> of them.</param>
public sealed record YoloGrid(
    IReadOnlyList<string> Outputs, IReadOnlyList<double> Anchors, IReadOnlyList<IReadOnlyList<int>>? AnchorMasks, int Num, int Classes, double Threshold,
    bool RawOutput, bool ChannelsLast, IReadOnlyList<int> Cells, bool Reshape, IReadOnlyList<int>? Transpose, bool OutputNhwc)
{
    /// <summary>
    /// yolo_v2: anchors are in grid cells (a box is exp(w) x anchor width / cells wide), not input pixels, and with
    /// <see cref="RawOutput"/> class scores go through <see cref="Softmax"/> instead of a sigmoid.
    /// </summary>
    public bool AnchorsInCells { get; init; }

    public YoloSoftmax Softmax { get; init; } = YoloSoftmax.None;

    /// <summary>
    /// YOLOv5's box decoding (Accuracy Checker's yolo_v5, with <see cref="RawOutput"/>): the centre (2 sigmoid(x) - 0.5 +
    /// column) / cells, the width (2 sigmoid(w))² x anchor width / input width, not exp(w).
    /// </summary>
    public bool V5Boxes { get; init; }
}

/// <summary>
/// prior_boxes' priors, grid by grid (one per stride): the input's rows and columns divided by the stride, rounded up
/// (<paramref name="CeilGrids"/>, FaceBoxes) or to the nearest, halves to even (RetinaFace); in each cell, row by row,
/// for each of the grid's <paramref name="MinSizes"/> (pixels) with its density d (<paramref name="Densities"/>, 1 by
/// default), d x d priors of that size centred at (column + k / d, row + k / d) cells for k below d (the cell's centre
/// when d is 1), as fractions of the input; <paramref name="Clip"/> clips them to [0, 1]. An offset (dx, dy, dw, dh)
/// makes the box centred at the prior's centre plus dx x variance x its width (likewise y), of its width x exp(dw x
/// size variance).
/// </summary>
public sealed record PriorBoxes(IReadOnlyList<IReadOnlyList<double>> MinSizes, IReadOnlyList<IReadOnlyList<int>>? Densities, bool CeilGrids, bool Clip,
    double CentreVariance, double SizeVariance);

/// <summary>How yolo_v2's raw class scores become probabilities.</summary>
public enum YoloSoftmax
{
    /// <summary>A sigmoid of each (yolo_v3).</summary>
    None,
    /// <summary>
    /// One softmax over every class score of the grid, all cells and anchors together, as Accuracy Checker's yolo_v2
    /// adapter computes it: each box's best class is darknet's, its score is scaled by the whole image's sum.
    /// </summary>
    Image,
    /// <summary>A softmax over each box's class scores, as darknet's region layer computes it.</summary>
    Box,
}

/// <summary>An output adapter of the engine.</summary>
/// <param name="Output">Model output to read (null = the model's first floating-point output, else its first).</param>
/// <param name="Symbols">CTC: one symbol per class index (with or without an entry for the blank).</param>
/// <param name="BlankIndex">CTC: the class index of the blank.</param>
public sealed record AdapterDefinition(
    AdapterType Type,
    string? Output = null,
    IReadOnlyList<string>? Symbols = null,
    int BlankIndex = 0,
    CtcLayout Layout = CtcLayout.Ntc,
    string KeyPath = "adapter")
{
    /// <summary>
    /// classification: the output holds each item's class (one value, as a model ending in ArgMax gives it), not class
    /// scores (Accuracy Checker's argmax_output). An output of integers is read so without it.
    /// </summary>
    public bool ArgmaxOutput { get; init; }

    /// <summary>
    /// ctc_greedy: above 1, CTC prefix beam search keeping this many prefixes per time step (Accuracy Checker's
    /// beam_search_decoder) instead of the best class per step.
    /// </summary>
    public int BeamSize { get; init; } = 1;

    /// <summary>ctc_greedy with beam search: the output holds probabilities (their logs are taken), not log-probabilities or logits.</summary>
    public bool Probabilities { get; init; }

    /// <summary>ssd: the outputs of boxes, labels and scores (<see cref="Output"/> names the boxes); yolo_v3_onnx: those of scores and indices; detr: that of the class logits.</summary>
    public string? LabelsOutput { get; init; }
    public string? ScoresOutput { get; init; }
    public string? IndicesOutput { get; init; }

    /// <summary>ssd: boxes are fractions of the model input (true, the default), or its pixels (normalized: false).</summary>
    public bool NormalizedBoxes { get; init; } = true;

    /// <summary>ssd with labels and scores: the output of each item's count of valid rows (TensorFlow's num_detections), or null for all.</summary>
    public string? CountOutput { get; init; }

    /// <summary>ssd with labels and scores: boxes are y1, x1, y2, x2 (TensorFlow's order), not x1, y1, x2, y2.</summary>
    public bool BoxesYFirst { get; init; }

    /// <summary>class_agnostic: the factors of x1, y1, x2, y2 that make the output's boxes fractions of the input.</summary>
    public IReadOnlyList<double> BoxScale { get; init; } = new double[] { 1, 1, 1, 1 };

    /// <summary>nanodet: the classes its output scores (num_classes).</summary>
    public int Classes { get; init; } = 80;

    /// <summary>nanodet: the last of the bins each side's distance is distributed over (reg_max).</summary>
    public int RegMax { get; init; } = 7;

    /// <summary>nanodet: the grid's points at the cells' centres (legacy NanoDet), not their corners.</summary>
    public bool CellCentres { get; init; }

    /// <summary>yolox, nanodet: the strides of its grids, in input pixels per cell, in the order of its candidates.</summary>
    public IReadOnlyList<int> Strides { get; init; } = new[] { 8, 16, 32 };

    /// <summary>yolox: candidates whose objectness, and classes whose score (objectness x class score), do not exceed it are dropped.</summary>
    public double Threshold { get; init; } = 0.001;

    /// <summary>yolo_v8, yolo_v5: detections scoring below it are dropped.</summary>
    public double ConfidenceThreshold { get; init; } = 0.25;

    /// <summary>yolo_v8, yolo_v5: non-maximum suppression drops a box overlapping a better one of its class by more than this IoU.</summary>
    public double NmsThreshold { get; init; } = 0.5;

    /// <summary>yolo_v8, yolo_v5: at most this many detections per image, best first.</summary>
    public int MaxDetections { get; init; } = 300;

    /// <summary>Detection postprocessing, applied in order after boxes are scaled to the original image.</summary>
    public IReadOnlyList<DetectionStep> Postprocessing { get; init; } = Array.Empty<DetectionStep>();

    public bool IsDetection => Type is AdapterType.Ssd or AdapterType.YoloV8 or AdapterType.YoloV5 or AdapterType.YoloV3 or AdapterType.YoloV2 or AdapterType.Yolox or AdapterType.YoloV3Onnx or AdapterType.NanoDet or AdapterType.Detr or AdapterType.ClassAgnostic or AdapterType.PriorBoxes;

    /// <summary>prior_boxes: how its priors are laid out.</summary>
    public PriorBoxes? Priors { get; init; }

    /// <summary>yolo_v3, yolo_v2: how its grids are read.</summary>
    public YoloGrid? Grid { get; init; }

    /// <summary>reid: each embedding divided by the square root of its sum of squares plus 1e-6 (Accuracy Checker's grn_workaround, default on).</summary>
    public bool NormalizeEmbeddings { get; init; } = true;

    /// <summary>reid: the output [tokens, features] of each item averaged over its tokens first (Accuracy Checker's mean_pooling).</summary>
    public bool MeanPooling { get; init; }

    /// <summary>question_answering: the output of the end logits (<see cref="Output"/> holds the start logits).</summary>
    public string? EndOutput { get; init; }

    /// <summary>question_answering: the longest answer in tokens (Accuracy Checker's max_answer).</summary>
    public int MaxAnswer { get; init; } = 30;

    /// <summary>question_answering: the start and end positions of highest logits combined (Accuracy Checker's n_best_size).</summary>
    public int NBestSize { get; init; } = 20;

    /// <summary>question_answering: an answer whose start plus end logit is below this is no answer (SQuAD 2.0; Accuracy Checker's no_answer_score_threshold with v2_with_no_answers); null = always an answer.</summary>
    public double? NoAnswerThreshold { get; init; }

    public static AdapterDefinition Classification { get; } = new(AdapterType.Classification);
    public static AdapterDefinition Identity { get; } = new(AdapterType.Identity);
}

/// <summary>A metric of the engine. <see cref="Name"/> is what AccuracyAwareQuantization's metrics[].name refers to.</summary>
/// <param name="Datasets">Indices of the datasets the metric covers (a metric declared inside a dataset covers that one only).</param>
/// <param name="Output">mse / psnr / cosine_similarity: the output compared (null = the adapter's output).</param>
/// <param name="MaxValue">psnr: the largest possible value (peak signal).</param>
/// <param name="ScriptPath">script: the .ps1 file, resolved against the engine file's folder.</param>
/// <param name="RemoveSpaces">Text metrics: compare without the space characters (Accuracy Checker's remove_spaces).</param>
/// <param name="IgnoreCase">Text metrics: compare upper- and lower-case letters as equal (ignore_case, ours).</param>
/// <param name="ConfidenceThreshold">fp32_agreement: items whose FP32 top-1 confidence is below it are left out; map and
/// coco_precision with reference fp32: the FP32 model's detections below it are no objects (reference_confidence).</param>
public sealed record MetricSpec(
    string Name,
    MetricType Type,
    MetricDirection Direction,
    IReadOnlyList<int> Datasets,
    string KeyPath,
    int TopK = 1,
    AverageKind Average = AverageKind.Macro,
    MetricReference Reference = MetricReference.Annotation,
    string? Output = null,
    double MaxValue = 255,
    string? ScriptPath = null,
    bool ScriptRequiresAnnotation = true,
    bool RemoveSpaces = false,
    bool IgnoreCase = false,
    double ConfidenceThreshold = 0)
{
    /// <summary>map: the IoU a detection needs to match a box (overlap_threshold).</summary>
    public double OverlapThreshold { get; init; } = 0.5;

    /// <summary>map: matching as Accuracy Checker's map does it (matching: accuracy_checker), else as VOC's devkit.</summary>
    public AccuracyCheckerMatching? AccuracyCheckerMatching { get; init; }

    /// <summary>map: area (Accuracy Checker's integral: max) or 11point.</summary>
    public ApIntegral Integral { get; init; } = ApIntegral.Area;

    /// <summary>map / coco_precision: boxes span x2 - x1 + 1 pixels (Accuracy Checker's include_boundaries, default true).</summary>
    public bool IncludeBoundaries { get; init; } = true;

    /// <summary>coco_precision: the IoU thresholds averaged over (threshold: .50:.05:.95).</summary>
    public IReadOnlyList<double> IouThresholds { get; init; } = Enumerable.Range(10, 10).Select(i => i * 5 / 100.0).ToArray();

    /// <summary>coco_precision: detections kept per image and class (max_detections).</summary>
    public int MaxDetections { get; init; } = 100;

    /// <summary>
    /// coco_precision written coco_orig_precision (Accuracy Checker's, which runs pycocotools): overlaps as pycocotools
    /// computes them from the boxes it is given: a crowd box's as the share of the detection it covers, and with
    /// <see cref="IncludeBoundaries"/> a detection one pixel wider and higher, the annotated boxes as they are.
    /// </summary>
    public bool PycocotoolsOverlap { get; init; }

    /// <summary>
    /// map's ignore_difficult: difficult objects (and detections a filter ignores) count neither way; false counts them
    /// as any other.
    /// </summary>
    public bool IgnoreDifficult { get; init; } = true;

    /// <summary>script: per item (mean of the values) or once over the whole set.</summary>
    public MetricLevel Level { get; init; } = MetricLevel.Item;

    /// <summary>Segmentation metrics: pixels annotated or predicted with this class are left out (255 in Pascal VOC's masks).</summary>
    public long? IgnoreLabel { get; init; }

    /// <summary>Segmentation metrics: false (Accuracy Checker's use_argmax: false) says the model's output is its class map, not class scores.</summary>
    public bool UseArgmax { get; init; } = true;

    /// <summary>cmc: gallery images from the query's camera are left out, whatever their id (separate_camera_set).</summary>
    public bool SeparateCameraSet { get; init; }

    /// <summary>
    /// cmc: a query counts at the rank of its first match (first_match_break, Accuracy Checker's default); false spreads
    /// it over its matches as Accuracy Checker's eval_cmc does.
    /// </summary>
    public bool FirstMatchBreak { get; init; } = true;

    /// <summary>reid_map: the area under the precision-recall curve by the trapezoidal rule (interpolated_auc, default), else the step sum.</summary>
    public bool InterpolatedAuc { get; init; } = true;

    public bool IsDetection => Type is MetricType.Map or MetricType.CocoPrecision;

    public bool IsSegmentation => Type is MetricType.SegmentationAccuracy or MetricType.MeanIou or MetricType.MeanAccuracy or MetricType.FrequencyWeightedAccuracy;

    public bool IsReid => Type is MetricType.Cmc or MetricType.ReidMap;

    public bool IsQuestionAnswering => Type is MetricType.SquadF1 or MetricType.SquadExactMatch;

    public bool IsNer => Type is MetricType.NerAccuracy or MetricType.NerPrecision or MetricType.NerRecall or MetricType.NerFScore;

    /// <summary>With reference: fp32 these compare with the FP32 model's predictions (detections, class maps, answers, token classes), not its outputs.</summary>
    public bool ComparesPredictions => IsDetection || IsSegmentation || IsQuestionAnswering || IsNer;

    /// <summary>NER metrics: every token position counts, not only the first token of each word (Accuracy Checker's include_all_tokens).</summary>
    public bool IncludeAllTokens { get; init; }

    /// <summary>True for metrics whose value is not a mean of per-item values (mAP, COCO precision, segmentation's, dataset-level scripts).</summary>
    public bool IsDatasetLevel => Type is MetricType.Map or MetricType.CocoPrecision || IsSegmentation || IsReid || (IsQuestionAnswering && Reference == MetricReference.Annotation) || Type == MetricType.QaEmbeddingAccuracy || IsNer || (Type == MetricType.Script && Level == MetricLevel.Dataset);

    /// <summary>True when the metric compares with labels, so the data must carry annotations.</summary>
    public bool RequiresAnnotation => Type switch
    {
        MetricType.Script => ScriptRequiresAnnotation,
        MetricType.MeanSquaredError or MetricType.MeanAbsoluteError or MetricType.Psnr or MetricType.CosineSimilarity => Reference == MetricReference.Annotation,
        _ when ComparesPredictions => Reference == MetricReference.Annotation,
        MetricType.Fp32Agreement => false,
        _ => true,
    };

    /// <summary>True when the metric needs the FP32 model's outputs.</summary>
    public bool RequiresReference =>
        (Type is MetricType.MeanSquaredError or MetricType.MeanAbsoluteError or MetricType.Psnr or MetricType.CosineSimilarity or MetricType.Fp32Agreement || ComparesPredictions)
        && Reference == MetricReference.Fp32;

    /// <summary>
    /// POT's annotation_free: the FP32 model's top-1 predictions, where its confidence reaches
    /// <paramref name="threshold"/>, are the labels; accuracy against them is top-1 agreement with FP32.
    /// </summary>
    public static MetricSpec Fp32AgreementOf(double threshold, IReadOnlyList<int> datasets) =>
        new("fp32_agreement", MetricType.Fp32Agreement, MetricDirection.HigherBetter, datasets, "annotation_free", Reference: MetricReference.Fp32, ConfidenceThreshold: threshold);

    public MetricDefinition Definition => new(Name, Direction);

    /// <summary>
    /// Why the metric has no value (NaN) on <paramref name="items"/> items: nothing in them for it to score. Said rather
    /// than passed on quietly: a NaN baseline cannot tell a good model from a bad one.
    /// </summary>
    public string NoValue(int items)
    {
        string c = ConfidenceThreshold.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);
        string? reason = (IsDetection, IsSegmentation, Reference) switch
        {
            (true, _, MetricReference.Fp32) => $"none of the FP32 model's detections on the {items} items reaches reference_confidence {c}, so there is no object to find. " +
                "Lower reference_confidence to the scores the model gives, or check its outputs and the adapter (conf_threshold, the output read).",
            (true, _, _) => $"the annotations of the {items} items hold no object to find (crowd and difficult objects do not count). Check the annotation file and label_offset.",
            (_, true, MetricReference.Fp32) => $"the FP32 model's class maps leave no pixel to score on the {items} items (every pixel is ignore_label).",
            (_, true, _) => $"no pixel of the {items} items' masks is annotated with a class other than ignore_label. Check the masks and mask_colors.",
            _ when IsReid => $"no query among the {items} items has an image of its id from another camera in the gallery. Evaluate gallery and query images together.",
            _ when Type == MetricType.Fp32Agreement && ConfidenceThreshold > 0 => $"the FP32 model's top-1 confidence reaches {c} on none of the {items} items. Lower the threshold (annotation_conf_threshold).",
            _ => null,
        };
        return reason == null ? NoValueOf(Name, items) : $"{Name} has no value (NaN): {reason}";
    }

    /// <summary>What <see cref="NoValue"/> says of a metric of no known kind.</summary>
    public static string NoValueOf(string name, int items) =>
        $"{name} has no value (NaN): none of the {items} items has a value for it (each was left out, or the metric returned nothing).";
}

/// <summary>One data set of the engine, as read from the engine file (paths are absolute).</summary>
public sealed record DatasetDefinition
{
    public required string Name { get; init; }
    public required string DataSource { get; init; }
    public required DatasetFormat Format { get; init; }
    /// <summary>Npy: model input name to .npy file (or to an array name of the .npz data source); squad: to the window array it takes.</summary>
    public IReadOnlyDictionary<string, string> InputFiles { get; init; } = new Dictionary<string, string>();
    /// <summary>A .npy or .txt file of labels in item order, or null.</summary>
    public string? LabelsPath { get; init; }
    /// <summary>Npz: the array holding the labels inside the archive, or null.</summary>
    public string? LabelsArray { get; init; }
    /// <summary>Images: 'file label' lines or a CSV file naming the images and their labels, or a COCO detection .json file.</summary>
    public string? AnnotationFile { get; init; }
    /// <summary>A COCO annotation_file's classes are its category ids (coco_labels: ids; Accuracy Checker's use_full_label_map), not their order.</summary>
    public bool CocoCategoryIds { get; init; }
    public string? FileColumn { get; init; }
    public string? LabelColumn { get; init; }
    /// <summary>Class names by class index, for text labels that name classes.</summary>
    public IReadOnlyList<string>? Classes { get; init; }
    /// <summary>Added to every class label (label_offset; 1 for Accuracy Checker's has_background: a background class 0 before the others).</summary>
    public int LabelOffset { get; init; }
    /// <summary>Images: a folder of Pascal VOC XML annotations (voc_detection), and the image-set file listing its ids.</summary>
    public string? VocAnnotations { get; init; }

    /// <summary>WIDER FACE's ground-truth file (<see cref="Data.WiderFaceFile"/>): the faces of the images it names.</summary>
    public string? WiderAnnotations { get; init; }

    /// <summary>CVAT's XML for images (<see cref="Data.CvatDetectionFile"/>), with <see cref="CvatLabels"/> its labels' classes when given.</summary>
    public string? CvatAnnotations { get; init; }

    public string? CvatLabels { get; init; }

    /// <summary>Images: a re-identification set of this layout in <see cref="DataSource"/> (<see cref="Data.ReidFolders"/>): gallery and query images with ids and cameras.</summary>
    public ReidLayout? Reid { get; init; }

    /// <summary>format squad: how the SQuAD file <see cref="DataSource"/> becomes windows of tokens (<see cref="Data.SquadFile"/>).</summary>
    public SquadOptions? Squad { get; init; }

    /// <summary>format conll: how the CoNLL file <see cref="DataSource"/> becomes sentences of tokens (<see cref="Data.ConllFile"/>); its vocabulary is <see cref="VocabFile"/>.</summary>
    public ConllOptions? Conll { get; init; }

    /// <summary>format squad or conll: the WordPiece vocabulary (vocab.txt).</summary>
    public string? VocabFile { get; init; }

    /// <summary>Images: an image retrieval set's gallery and query lists of 'image id' lines (<see cref="Data.ReidFolders.ReadLists"/>).</summary>
    public string? ReidGallery { get; init; }
    public string? ReidQueries { get; init; }

    /// <summary>True when items carry ids and cameras for cmc and reid_map (<see cref="Reid"/> or the retrieval lists).</summary>
    public bool HasReid => Reid != null || ReidGallery != null;
    public string? ImagesetFile { get; init; }
    /// <summary>
    /// Images: POT's simplified engine's data_source given as a .txt file, one image path per line (absolute, or
    /// relative to the file's folder, the <see cref="DataSource"/>); its images are the items, in its order.
    /// </summary>
    public string? ImageList { get; init; }
    /// <summary>Images: a pattern (* and ?) the file names must match besides <see cref="Extensions"/>: a simplified engine's data_source pattern.</summary>
    public string? FilePattern { get; init; }
    /// <summary>Images: a folder with one sub-folder per class (Accuracy Checker's cls_dataset_folder), read as Data/ClassFolders.cs describes.</summary>
    public string? ClassFolders { get; init; }
    /// <summary>Images: a folder of segmentation masks, one per image, named as <see cref="SegmentationMasks"/> describes.</summary>
    public string? Masks { get; init; }

    /// <summary>
    /// SegNet's CamVid list: `image mask` lines, each path taken by its last two parts (Accuracy Checker's camvid
    /// converter), the image in <see cref="DataSource"/>, the mask in <see cref="Masks"/>.
    /// </summary>
    public string? CamVidList { get; init; }
    public string ImagePrefix { get; init; } = "";
    /// <summary>Null: the image's extension.</summary>
    public string? ImagePostfix { get; init; }
    public string MaskPrefix { get; init; } = "";
    public string MaskPostfix { get; init; } = ".png";
    /// <summary>Images with masks: the colour of each class, when the mask files hold colours rather than class indices.</summary>
    public MaskColors? MaskColors { get; init; }
    /// <summary>Images: what separates the file name from its label on the lines of a text annotation_file.</summary>
    public AnnotationSeparator AnnotationSeparator { get; init; } = AnnotationSeparator.Space;
    /// <summary>Images: the model input that receives the image (null = the model's only input).</summary>
    public string? InputName { get; init; }
    public ImageOptions? Image { get; init; }
    public IReadOnlyList<string> Extensions { get; init; } = ImageDataset.DefaultExtensions;
    public int? SubsampleSize { get; init; }
    public int SubsampleSeed { get; init; }
    public required AdapterDefinition Adapter { get; init; }
    public string KeyPath { get; init; } = "dataset";

    public bool HasAnnotations => LabelsPath != null || LabelsArray != null || AnnotationFile != null || VocAnnotations != null || WiderAnnotations != null || CvatAnnotations != null || ClassFolders != null || Masks != null || HasReid || Squad != null || Conll != null;

    /// <summary>True when items are annotated with boxes (a COCO .json annotation_file or VOC annotations).</summary>
    public bool HasBoxes => VocAnnotations != null || WiderAnnotations != null || CvatAnnotations != null || AnnotationFile?.EndsWith(".json", StringComparison.OrdinalIgnoreCase) == true;
}
