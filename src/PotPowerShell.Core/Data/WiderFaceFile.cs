using System.Globalization;

namespace PotPowerShell.Core.Data;

/// <summary>
/// WIDER FACE's ground truth (wider_face_val_bbx_gt.txt), as Accuracy Checker's wider converter reads it: a line naming
/// an image (a path containing .jpg, relative to the image folder), a line with its number of faces, then that many
/// lines 'x y width height blur expression illumination invalid occlusion pose' (only the box is read; an image without
/// faces has one line of zeros, which names nothing and is skipped). Every face is class 0. The file gives no image
/// size: it is the decoded image's (<see cref="ImageDataset"/>).
/// </summary>
public static class WiderFaceFile
{
    /// <summary>More faces on one line count are refused as a broken file (WIDER FACE's densest image has about 1,970).</summary>
    public const int MaxFacesPerImage = 100_000;

    public static DetectionSet Read(string path)
    {
        var lines = TextFiles.ReadLines(path);
        var files = new List<string>();
        var annotations = new List<DetectionAnnotation>();
        for (int i = 0; i < lines.Count; i++)
        {
            string name = lines[i].Trim();
            if (!name.Contains(".jpg", StringComparison.Ordinal)) continue;
            if (i + 1 >= lines.Count || !int.TryParse(lines[i + 1].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count > MaxFacesPerImage)
                throw Invalid(path, i + 2, $"must give the number of faces in '{name}' (0 to {MaxFacesPerImage}), not '{(i + 1 < lines.Count ? lines[i + 1].Trim() : "the end of the file")}'.");
            if (i + 1 + count >= lines.Count)
                throw Invalid(path, i + 2, $"says '{name}' has {count} faces, but the file ends after {lines.Count - i - 2} more lines.");
            var boxes = new List<DetectionBox>(count);
            for (int k = 0; k < count; k++)
            {
                int at = i + 2 + k;
                var parts = lines[at].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                var box = new double[4];
                if (parts.Length < 4 || Enumerable.Range(0, 4).Any(j => !double.TryParse(parts[j], NumberStyles.Float, CultureInfo.InvariantCulture, out box[j]) || !double.IsFinite(box[j])))
                    throw Invalid(path, at + 1, $"must start with a face's x, y, width and height in pixels (face {k + 1} of '{name}'), not '{lines[at].Trim()}'.");
                boxes.Add(new DetectionBox(0, box[0], box[1], box[0] + box[2], box[1] + box[3]));
            }
            files.Add(name);
            annotations.Add(new DetectionAnnotation(boxes, 0, 0));
            i += 1 + count;
        }
        if (files.Count == 0)
            throw new PotException("AnnotationInvalid", PotErrorCategory.InvalidData,
                $"The WIDER FACE annotation '{path}' names no image (a line with a .jpg path, then its number of faces and their boxes).", path);
        return new DetectionSet(files, annotations, new[] { "face" });
    }

    private static PotException Invalid(string path, int line, string message) =>
        new("AnnotationInvalid", PotErrorCategory.InvalidData, $"Line {line} of the WIDER FACE annotation '{path}' {message}", path);
}
