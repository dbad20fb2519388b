using System.Globalization;
using System.Text.Json;

namespace PotPowerShell.Core.Data;

/// <summary>Detection annotations read from a file or folder: the images (relative to the data folder), their objects and the class names.</summary>
public sealed record DetectionSet(IReadOnlyList<string> Files, IReadOnlyList<DetectionAnnotation> Annotations, IReadOnlyList<string> Classes);

/// <summary>
/// A COCO detection annotation file (<c>images</c>, <c>annotations</c> with <c>bbox: [x, y, width, height]</c>,
/// <c>categories</c>), read as Accuracy Checker's mscoco_detection converter does: images sorted by id, classes
/// numbered 0, 1, 2 ... in the order the categories are listed (or, with its use_full_label_map, the category ids
/// themselves: the 91 classes of models trained on COCO's full label map, 1 to 90 with gaps and 0 the background),
/// crowd objects (iscrowd: 1) not counted.
/// </summary>
public static class CocoDetectionFile
{
    /// <summary>Larger files are refused before they are parsed.</summary>
    public const long MaxBytes = 256L << 20;

    /// <summary>The largest category id read as a class (<paramref name="categoryIds"/>): the classes are listed up to it.</summary>
    public const int MaxCategoryId = 1 << 16;

    /// <param name="categoryIds">Each object's class is its category id, not the category's place in the list.</param>
    public static DetectionSet Read(string path, bool categoryIds = false)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
            throw new PotException("DataFileNotFound", PotErrorCategory.ObjectNotFound, $"The COCO annotation file '{path}' does not exist.", path);
        if (info.Length > MaxBytes)
            throw new PotException("AnnotationTooLarge", PotErrorCategory.InvalidData,
                $"The COCO annotation file '{path}' has {info.Length} bytes; at most {MaxBytes} are read.", path);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw Invalid(path, $"is not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            var root = document.RootElement;
            var categories = Array(root, "categories", path);
            var images = Array(root, "images", path);
            var objects = Array(root, "annotations", path);

            var names = new List<(long Id, string Name)>();
            var labelOf = new Dictionary<long, int>();
            foreach (var c in categories)
            {
                long id = Integer(c, "id", path, "categories");
                if (categoryIds && (id < 0 || id > MaxCategoryId))
                    throw Invalid(path, $"has the category id {id}; read as classes (coco_labels: ids, Accuracy Checker's use_full_label_map), ids are from 0 to {MaxCategoryId}.");
                if (!labelOf.TryAdd(id, categoryIds ? (int)id : names.Count)) throw Invalid(path, $"lists the category id {id} twice.");
                names.Add((id, c.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? Text(n, path, $"category {id}'s name") : id.ToString(CultureInfo.InvariantCulture)));
            }
            // By id, every class up to the largest id has a name: a gap is named by its number.
            var byId = names.ToDictionary(c => c.Id, c => c.Name);
            var classes = !categoryIds ? names.Select(c => c.Name).ToList()
                : Enumerable.Range(0, names.Count == 0 ? 0 : (int)names.Max(c => c.Id) + 1)
                    .Select(i => byId.GetValueOrDefault(i) ?? i.ToString(CultureInfo.InvariantCulture)).ToList();

            var byImage = new SortedDictionary<long, (string File, int Width, int Height, List<DetectionBox> Boxes)>();
            foreach (var image in images)
            {
                long id = Integer(image, "id", path, "images");
                if (!image.TryGetProperty("file_name", out var f) || f.ValueKind != JsonValueKind.String)
                    throw Invalid(path, $"image {id} has no file_name.");
                long width = Integer(image, "width", path, "images"), height = Integer(image, "height", path, "images");
                if (width is <= 0 or > int.MaxValue || height is <= 0 or > int.MaxValue) throw Invalid(path, $"image {id} has the size {width}x{height}.");
                if (!byImage.TryAdd(id, (Text(f, path, $"image {id}'s file_name"), (int)width, (int)height, new List<DetectionBox>())))
                    throw Invalid(path, $"lists the image id {id} twice.");
            }

            foreach (var o in objects)
            {
                long imageId = Integer(o, "image_id", path, "annotations");
                long category = Integer(o, "category_id", path, "annotations");
                if (!byImage.TryGetValue(imageId, out var image)) throw Invalid(path, $"has an annotation of image {imageId}, which is not in images.");
                if (!labelOf.TryGetValue(category, out int label)) throw Invalid(path, $"has an annotation of category {category}, which is not in categories.");
                if (!o.TryGetProperty("bbox", out var bbox) || bbox.ValueKind != JsonValueKind.Array || bbox.GetArrayLength() != 4)
                    throw Invalid(path, $"has an annotation of image {imageId} without bbox: [x, y, width, height].");
                var b = bbox.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN).ToArray();
                if (b.Any(v => !double.IsFinite(v)) || b[2] < 0 || b[3] < 0)
                    throw Invalid(path, $"has an annotation of image {imageId} whose bbox [{string.Join(", ", b.Select(v => v.ToString(CultureInfo.InvariantCulture)))}] is not four finite numbers with width and height >= 0.");
                // Any number but 0 is a crowd, as pycocotools reads iscrowd (a flag it tests for truth).
                bool crowd = o.TryGetProperty("iscrowd", out var c) && c.ValueKind == JsonValueKind.Number && c.GetDouble() != 0;
                image.Boxes.Add(new DetectionBox(label, b[0], b[1], b[0] + b[2], b[1] + b[3]) { Crowd = crowd });
            }

            return new DetectionSet(
                byImage.Values.Select(i => i.File).ToList(),
                byImage.Values.Select(i => new DetectionAnnotation(i.Boxes, i.Width, i.Height)).ToList(),
                classes);
        }
    }

    private static JsonElement.ArrayEnumerator Array(JsonElement root, string name, string path)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.Array)
            throw Invalid(path, $"has no '{name}' list: a COCO detection file has images, annotations and categories.");
        return value.EnumerateArray();
    }

    private static long Integer(JsonElement e, string name, string path, string list)
    {
        if (e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long n)) return n;
        throw Invalid(path, $"has an entry of '{list}' without an integer '{name}'.");
    }

    /// <summary>A string's text: JSON parses strings that are not UTF-8 and fails only when they are read.</summary>
    private static string Text(JsonElement e, string path, string what) =>
        JsonText.Read(e, ex => Invalid(path, $"has {what} in bytes that are not UTF-8 text.", ex));

    private static PotException Invalid(string path, string message, Exception? inner = null) =>
        new("AnnotationInvalid", PotErrorCategory.InvalidData, $"The COCO annotation file '{path}' {message}", path, inner);
}
