namespace PotPowerShell.Core.Data;

/// <summary>Images of a folder with one sub-folder per class: each image named 'class/file' relative to the folder, its class index, the class names.</summary>
public sealed record ClassFolderSet(IReadOnlyList<string> Files, IReadOnlyList<object?> Labels, IReadOnlyList<string> Classes);

/// <summary>
/// A classification set laid out one sub-folder per class, as Accuracy Checker's cls_dataset_folder converter reads
/// its data_dir: the sub-folders in code-point order of their names are the classes 0, 1, 2, ... (an empty one keeps
/// its index); every entry of a class folder is an image. Files directly in the folder belong to no class and are not
/// read. Within a class, images are taken in code-point order of their names (Accuracy Checker takes the file system's).
/// </summary>
public static class ClassFolders
{
    /// <summary>More classes or images than this are refused before any image is read.</summary>
    public const int MaxClasses = 100_000;
    public const int MaxImages = 10_000_000;

    public static ClassFolderSet Read(string folder, IReadOnlyList<string> extensions)
    {
        if (!Directory.Exists(folder))
            throw new PotException("DataPathNotFound", PotErrorCategory.ObjectNotFound, $"The class folder '{folder}' does not exist.", folder);
        var classes = Directory.EnumerateDirectories(folder).Select(d => Path.GetFileName(d)).Take(MaxClasses + 1).ToList();
        if (classes.Count > MaxClasses)
            throw new PotException("DatasetTooLarge", PotErrorCategory.InvalidData, $"'{folder}' has more than {MaxClasses} class folders; at most {MaxClasses} are read.", folder);
        classes.Sort(CodePointOrder);
        var files = new List<string>();
        var labels = new List<object?>();
        for (int c = 0; c < classes.Count; c++)
        {
            string classFolder = Path.Combine(folder, classes[c]);
            var entries = Directory.EnumerateFileSystemEntries(classFolder).Select(e => Path.GetFileName(e)).ToList();
            entries.Sort(CodePointOrder);
            foreach (var name in entries)
            {
                string full = Path.Combine(classFolder, name);
                if (Directory.Exists(full) || !extensions.Contains(Path.GetExtension(name).ToLowerInvariant()))
                    throw new PotException("DatasetEntryNotImage", PotErrorCategory.InvalidData,
                        $"'{full}' in the class folder '{classes[c]}' is not an image file ({string.Join(", ", extensions)}): every entry of a class folder is read as an image of that class, as Accuracy Checker's cls_dataset_folder does. Move it out of '{folder}' or list its extension in extensions:.", full);
                if (files.Count == MaxImages)
                    throw new PotException("DatasetTooLarge", PotErrorCategory.InvalidData, $"'{folder}' holds more than {MaxImages} images; at most {MaxImages} are read.", folder);
                files.Add(classes[c] + "/" + name);
                labels.Add((long)c);
            }
        }
        return new ClassFolderSet(files, labels, classes);
    }

    /// <summary>Names compared by Unicode code points, as Python's sorted() compares them.</summary>
    internal static readonly Comparison<string> CodePointOrder = (a, b) =>
    {
        var x = a.EnumerateRunes();
        var y = b.EnumerateRunes();
        while (true)
        {
            bool more = x.MoveNext(), other = y.MoveNext();
            if (!more || !other) return more.CompareTo(other);
            int c = x.Current.Value.CompareTo(y.Current.Value);
            if (c != 0) return c;
        }
    };
}
