using System.Globalization;
using System.Text.Json;
using System.Xml;
using System.Xml.Linq;

namespace PotPowerShell.Core.Data;

/// <summary>
/// CVAT's XML for images, as Accuracy Checker's cvat_object_detection converter reads it: the labels' names under
/// &lt;meta&gt; number the classes in order (0, 1, ...), or a labels file ({"labels": {"name": id, ...}}) gives each
/// name its class; every &lt;image&gt; is its name's last part (relative to the image folder) with its &lt;box&gt;es
/// (xtl, ytl, xbr, ybr in pixels; occluded="1" makes an object difficult); a box whose label is not a class is skipped,
/// as the converter skips it. Another shape with a class's label (a polygon, points) is refused: only boxes are read.
/// The file is read as a stream, an image at a time.
/// </summary>
public static class CvatDetectionFile
{
    public const long MaxBytes = 256L << 20;

    /// <summary>The largest class id a labels file may give.</summary>
    public const int MaxClassId = 1 << 16;

    public static DetectionSet Read(string path, string? labelsFile = null)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
            throw new PotException("DataFileNotFound", PotErrorCategory.ObjectNotFound, $"The CVAT annotation file '{path}' does not exist.", path);
        if (info.Length > MaxBytes)
            throw new PotException("AnnotationTooLarge", PotErrorCategory.InvalidData, $"The CVAT annotation file '{path}' has {info.Length} bytes; at most {MaxBytes} are read.", path);
        var labelOf = labelsFile != null ? LabelsFile(labelsFile) : null;
        var files = new List<string>();
        var annotations = new List<DetectionAnnotation>();
        try
        {
            using var reader = XmlReader.Create(path, new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, IgnoreComments = true });
            while (reader.Read())
            {
                if (reader.NodeType != XmlNodeType.Element) continue;
                if (reader.Name == "meta" && labelOf == null)
                {
                    var names = XElement.Load(reader.ReadSubtree()).Descendants("label").Select(l => l.Element("name")?.Value).Where(n => !string.IsNullOrEmpty(n)).ToList();
                    labelOf = new Dictionary<string, int>(StringComparer.Ordinal);
                    foreach (var name in names) labelOf.TryAdd(name!, labelOf.Count);
                }
                else if (reader.Name == "image")
                {
                    if (labelOf == null) throw Invalid(path, "has an <image> before <meta>, which names the labels (or give a labels file).");
                    var (file, annotation) = Image(XElement.Load(reader.ReadSubtree()), labelOf, path);
                    files.Add(file);
                    annotations.Add(annotation);
                }
            }
        }
        catch (XmlException e)
        {
            throw Invalid(path, $"is not valid XML: {e.Message}", e);
        }
        if (labelOf == null || labelOf.Count == 0) throw Invalid(path, "names no label (<meta> ... <label><name>): give a labels file.");
        if (files.Count == 0) throw Invalid(path, "has no <image>.");
        var classes = Enumerable.Range(0, labelOf.Values.Max() + 1).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        foreach (var (name, id) in labelOf) classes[id] = name;
        return new DetectionSet(files, annotations, classes);
    }

    private static (string File, DetectionAnnotation Annotation) Image(XElement image, Dictionary<string, int> labelOf, string path)
    {
        string name = image.Attribute("name")?.Value ?? throw Invalid(path, "has an <image> without a name.");
        string file = name.Split('/')[^1];
        var boxes = new List<DetectionBox>();
        foreach (var shape in image.Elements())
        {
            string? label = shape.Attribute("label")?.Value;
            if (label == null || !labelOf.TryGetValue(label, out int id)) continue;
            if (shape.Name != "box")
                throw Invalid(path, $"has a <{shape.Name}> labelled '{label}' in image '{name}': only boxes are read (Accuracy Checker's converter reads boxes too).");
            double Corner(string key) =>
                double.TryParse(shape.Attribute(key)?.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v)
                    ? v
                    : throw Invalid(path, $"has a box labelled '{label}' in image '{name}' whose {key} is not a number ('{shape.Attribute(key)?.Value}').");
            bool occluded = int.TryParse(shape.Attribute("occluded")?.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int o) && o != 0;
            boxes.Add(new DetectionBox(id, Corner("xtl"), Corner("ytl"), Corner("xbr"), Corner("ybr"), occluded));
        }
        // The size CVAT writes, when it does; else the decoded image's (ImageDataset).
        int Size(string key) => int.TryParse(image.Attribute(key)?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : 0;
        int width = Size("width"), height = Size("height");
        return (file, width > 0 && height > 0 ? new DetectionAnnotation(boxes, width, height) : new DetectionAnnotation(boxes, 0, 0));
    }

    /// <summary>Accuracy Checker's labels_file: {"labels": {"name": id, ...}}.</summary>
    private static Dictionary<string, int> LabelsFile(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new PotException("DataFileNotFound", PotErrorCategory.ObjectNotFound, $"The CVAT labels file '{path}' does not exist.", path);
        if (info.Length > 1 << 20) throw Invalid(path, $"has {info.Length} bytes; a labels file of at most 1 MiB is read.");
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 8 });
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("labels", out var labels) || labels.ValueKind != JsonValueKind.Object)
                throw Invalid(path, "has no \"labels\" mapping: {\"labels\": {\"car\": 1, ...}}.");
            var result = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var p in labels.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out int id) || id < 0 || id > MaxClassId)
                    throw Invalid(path, $"gives the label '{p.Name}' the class {p.Value}; classes are whole numbers from 0 to {MaxClassId}.");
                result[p.Name] = id;
            }
            if (result.Count == 0) throw Invalid(path, "names no label.");
            return result;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw Invalid(path, $"is not a JSON labels file: {e.Message}", e);
        }
    }

    private static PotException Invalid(string path, string message, Exception? inner = null) =>
        new("AnnotationInvalid", PotErrorCategory.InvalidData, $"The CVAT annotation '{path}' {message}", path, inner);
}
