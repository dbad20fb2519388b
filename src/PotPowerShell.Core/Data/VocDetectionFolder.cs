using System.Globalization;
using System.Xml;

namespace PotPowerShell.Core.Data;

/// <summary>
/// Pascal VOC detection annotations, as Accuracy Checker's voc_detection converter reads them: one XML file per image
/// (<c>filename</c>, <c>size</c>, <c>object</c>s with <c>name</c>, <c>difficult</c> and <c>bndbox</c> corners in
/// pixels), the images listed by an image-set file (one id per line: <c>&lt;id&gt;.xml</c>) or else every XML file
/// in ordinal name order; classes numbered by a class list (VOC's twenty by default).
/// </summary>
public static class VocDetectionFolder
{
    /// <summary>The twenty VOC classes in Accuracy Checker's (and the VOC devkit's) order.</summary>
    public static readonly IReadOnlyList<string> VocClasses = new[]
    {
        "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow", "diningtable", "dog", "horse",
        "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
    };

    /// <summary>Larger XML files are refused before they are parsed.</summary>
    public const long MaxFileBytes = 1L << 20;

    public static DetectionSet Read(string folder, string? imageset, IReadOnlyList<string>? classes)
    {
        if (!Directory.Exists(folder))
            throw new PotException("DataPathNotFound", PotErrorCategory.ObjectNotFound, $"The VOC annotation folder '{folder}' does not exist.", folder);
        classes ??= VocClasses;
        var labelOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < classes.Count; i++) labelOf.TryAdd(classes[i].Trim(), i);
        var xmlFiles = imageset != null
            ? TextFiles.ReadLines(imageset).Select(l => l.Trim()).Where(l => l.Length > 0).Select(id => Path.Combine(folder, id.Split(' ')[0] + ".xml")).ToList()
            : Directory.EnumerateFiles(folder, "*.xml").OrderBy(f => f, StringComparer.Ordinal).ToList();
        var files = new List<string>();
        var annotations = new List<DetectionAnnotation>();
        foreach (var xml in xmlFiles)
        {
            var (file, annotation) = ReadOne(xml, labelOf, imageset);
            files.Add(file);
            annotations.Add(annotation);
        }
        return new DetectionSet(files, annotations, classes);
    }

    private static (string File, DetectionAnnotation Annotation) ReadOne(string path, Dictionary<string, int> labelOf, string? imageset)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
            throw new PotException("DataFileNotFound", PotErrorCategory.ObjectNotFound,
                $"The VOC annotation '{path}' does not exist{(imageset != null ? $" (named by '{imageset}')" : "")}.", path);
        if (info.Length > MaxFileBytes)
            throw new PotException("AnnotationTooLarge", PotErrorCategory.InvalidData,
                $"The VOC annotation '{path}' has {info.Length} bytes; at most {MaxFileBytes} are read.", path);
        var document = new XmlDocument { XmlResolver = null };
        try
        {
            using var reader = XmlReader.Create(path, new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, MaxCharactersInDocument = MaxFileBytes });
            document.Load(reader);
        }
        catch (XmlException e)
        {
            throw Invalid(path, $"is not valid XML: {e.Message}", e);
        }
        var root = document.DocumentElement;
        string file = Text(root, "filename", path) ?? throw Invalid(path, "has no <filename>.");
        int width = (int)Number(root, "size/width", path), height = (int)Number(root, "size/height", path);
        if (width <= 0 || height <= 0) throw Invalid(path, $"gives the size {width}x{height}.");
        var boxes = new List<DetectionBox>();
        foreach (XmlNode o in root!.SelectNodes("object")!)
        {
            string name = Text(o, "name", path) ?? throw Invalid(path, "has an <object> without <name>.");
            if (!labelOf.TryGetValue(name.Trim(), out int label))
                throw Invalid(path, $"has an object '{name}', which is not one of the classes ({string.Join(", ", labelOf.Keys)}).");
            bool difficult = Text(o, "difficult", path)?.Trim() == "1";
            boxes.Add(new DetectionBox(label, Number(o, "bndbox/xmin", path), Number(o, "bndbox/ymin", path), Number(o, "bndbox/xmax", path), Number(o, "bndbox/ymax", path), difficult));
        }
        return (file.Trim(), new DetectionAnnotation(boxes, width, height));
    }

    private static string? Text(XmlNode? node, string xpath, string path) => node?.SelectSingleNode(xpath)?.InnerText;

    private static double Number(XmlNode? node, string xpath, string path)
    {
        string? text = Text(node, xpath, path);
        if (text != null && double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v)) return v;
        throw Invalid(path, $"has no number at <{xpath.Replace("/", "><", StringComparison.Ordinal)}>{(text != null ? $" ('{text}')" : "")}.");
    }

    private static PotException Invalid(string path, string message, Exception? inner = null) =>
        new("AnnotationInvalid", PotErrorCategory.InvalidData, $"The VOC annotation '{path}' {message}", path, inner);
}
