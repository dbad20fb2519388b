using System.Text.Json;

namespace PotPowerShell.Core.Data;

/// <summary>
/// Accuracy Checker's dataset_meta_file: a JSON object whose <c>segmentation_colors</c> lists each class's colour
/// (<c>[[r, g, b], ...]</c>, in class order) for colour-encoded masks. Other keys (label_map, background_label) name
/// classes in Accuracy Checker's reports only.
/// </summary>
public static class DatasetMetaFile
{
    /// <summary>Larger files are refused before they are parsed (a meta file lists a few hundred classes at most).</summary>
    public const long MaxBytes = 4L << 20;

    /// <summary>The file's segmentation_colors, or null when it has none.</summary>
    public static MaskColors? SegmentationColors(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new PotException("DataFileNotFound", PotErrorCategory.ObjectNotFound, $"The dataset meta file '{path}' does not exist.", path);
        if (info.Length > MaxBytes) throw Invalid(path, $"has {info.Length} bytes; at most {MaxBytes} are read");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw Invalid(path, $"is not valid JSON ({e.Message})");
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object) throw Invalid(path, "is not a JSON object");
            if (!document.RootElement.TryGetProperty("segmentation_colors", out var list)) return null;
            if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() is 0 or > MaskColors.MaxColors)
                throw Invalid(path, $"has segmentation_colors that is not a list of 1 to {MaskColors.MaxColors} colours");
            var colors = new List<(byte, byte, byte)>();
            foreach (var c in list.EnumerateArray())
            {
                var rgb = c.ValueKind == JsonValueKind.Array ? c.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int x) && x is >= 0 and <= 255 ? x : -1).ToList() : null;
                if (rgb is not { Count: 3 } || rgb.Contains(-1))
                    throw Invalid(path, $"has the segmentation colour {c.GetRawText()} (entry {colors.Count}), not [r, g, b] of whole numbers from 0 to 255");
                colors.Add(((byte)rgb[0], (byte)rgb[1], (byte)rgb[2]));
            }
            return new MaskColors(colors);
        }
    }

    private static PotException Invalid(string path, string why) =>
        new("AnnotationInvalid", PotErrorCategory.InvalidData, $"The dataset meta file '{path}' {why}.", path);
}
