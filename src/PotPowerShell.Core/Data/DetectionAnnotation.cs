namespace PotPowerShell.Core.Data;

/// <summary>One ground-truth object: its class index and box corners in pixels of the original image.</summary>
/// <param name="Difficult">Not counted (VOC's difficult, or picked by a filter): a detection matching it is neither right nor wrong.</param>
public sealed record DetectionBox(int Label, double X1, double Y1, double X2, double Y2, bool Difficult = false)
{
    /// <summary>
    /// COCO's iscrowd: a region of many objects. Not counted either, except by Accuracy Checker's map (its COCO converter
    /// marks crowds apart from difficult objects); COCO's matching lets any number of detections match it, and
    /// pycocotools measures it by the share of the detection it covers.
    /// </summary>
    public bool Crowd { get; init; }
}

/// <summary>
/// The objects of one image (an item's annotation for detection metrics). <see cref="ImageWidth"/> and
/// <see cref="ImageHeight"/> are the original image's, as annotated; <see cref="Geometry"/> where its pixels are in the
/// tensor the model saw (set when the image is decoded and preprocessed), so that predicted boxes go back to the image
/// (Accuracy Checker's resize_prediction_boxes, and undoing the offset of any padding or crop).
/// </summary>
public sealed record DetectionAnnotation(IReadOnlyList<DetectionBox> Boxes, int ImageWidth, int ImageHeight)
{
    public ImageGeometry? Geometry { get; init; }

    public override string ToString() => $"{Boxes.Count} object{(Boxes.Count == 1 ? "" : "s")} in {ImageWidth}x{ImageHeight}";
}
