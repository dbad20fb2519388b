namespace PotPowerShell.Core.Data;

/// <summary>
/// Images of a folder (or .npy or .npz files, one per item: format npy_files), decoded and preprocessed when an item is requested (nothing is decoded up front, so memory does
/// not grow with the number of images). Items come from an annotation file (its order) or from the folder's image
/// files in ordinal name order.
/// </summary>
public sealed class ImageDataset : IDataset
{
    public static readonly IReadOnlyList<string> DefaultExtensions = new[] { ".png", ".jpg", ".jpeg", ".bmp" };

    /// <summary>Image formats OpenCV reads (so POT's simplified engine takes them) that this module does not decode.</summary>
    private static readonly string[] OtherImageExtensions = { ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".pnm", ".jp2", ".exr", ".hdr", ".gif" };

    /// <summary>
    /// What to tell about a folder read for data that holds none: images beside a .npy file (labels.npy), images of
    /// formats this module does not decode, or images one level down (class sub-folders); "" when none of these.
    /// </summary>
    public static string NoDataHint(string folder)
    {
        if (!Directory.Exists(folder)) return "";
        static bool Image(string f) => DefaultExtensions.Contains(Path.GetExtension(f).ToLowerInvariant());
        if (Directory.EnumerateFiles(folder, "*.npy").Any() && Directory.EnumerateFiles(folder).Any(Image))
            return " It holds images, read as NumPy data for its .npy file: for labelled images write an engine file (format: images, labels: labels.npy, and the preprocessing the model expects).";
        var other = Directory.EnumerateFiles(folder).Select(f => Path.GetExtension(f).ToLowerInvariant()).FirstOrDefault(OtherImageExtensions.Contains);
        if (other != null)
            return $" It holds {other} images, which this module does not decode: convert them to PNG (lossless), JPEG or BMP.";
        if (Directory.EnumerateDirectories(folder).Take(1000).Any(d => Directory.EnumerateFiles(d).Take(1000).Any(Image)))
            return " Its images are in sub-folders: give the folder that holds them, or, for one sub-folder per class, an engine file with class_folders:.";
        return "";
    }

    /// <summary>The input name used when the engine does not name one; it binds to a model's only input.</summary>
    public const string DefaultInputName = "image";

    private readonly IReadOnlyList<string> _files;
    private readonly IReadOnlyList<object?>? _labels;
    private readonly ImageOptions _options;
    private readonly string _inputName;

    /// <summary>Items are .npz files: arrays named after the inputs they feed, and with <see cref="_itemLabels"/> an array 'labels'.</summary>
    private readonly bool _npz;
    private readonly bool _itemLabels;

    public ImageDataset(string folder, string? inputName, ImageOptions options, IReadOnlyList<string> files, IReadOnlyList<object?>? labels)
    {
        if (files.Count == 0)
            throw new PotException("DatasetEmpty", PotErrorCategory.InvalidData, $"The image folder '{folder}' holds no images to evaluate.{NoDataHint(folder)}", folder);
        if (labels != null && labels.Count != files.Count)
            throw new PotException("DatasetCountMismatch", PotErrorCategory.InvalidData,
                $"'{folder}' has {files.Count} images but {labels.Count} labels: give one label per image (in file-name order).", folder);
        Source = folder;
        _files = files;
        _labels = labels;
        _options = options;
        _inputName = inputName ?? DefaultInputName;
        InputNames = options.OtherInputs.Select(o => o.Name).Prepend(_inputName).ToArray();
        _npz = IsNpz(files[0]);
        if (!_npz) return;
        if (files.FirstOrDefault(f => !IsNpz(f)) is { } other)
            throw new PotException("DatasetEntryNotImage", PotErrorCategory.InvalidData,
                $"'{folder}' holds .npz items and '{Path.GetFileName(other)}': items of one data set are all .npz archives (arrays named after the model inputs) or all .npy files.", other);
        // The first item names the arrays every item holds; its 'labels' array, when there are no other labels, is each item's label.
        using var first = NpzArchive.Open(files[0]);
        InputNames = first.Names.Where(n => n != NpyDataset.LabelsName).ToList();
        if (InputNames.Count == 0)
            throw new PotException("DatasetEmpty", PotErrorCategory.InvalidData, $"The item '{files[0]}' holds no arrays for model inputs.", files[0]);
        _itemLabels = labels == null && first.Contains(NpyDataset.LabelsName);
    }

    private static bool IsNpz(string file) => file.EndsWith(".npz", StringComparison.OrdinalIgnoreCase);

    /// <summary>The folder's items (its files with one of <paramref name="extensions"/>) are .npz archives, the first of which holds an array 'labels'.</summary>
    public static bool NpzItemsLabelled(string folder, IReadOnlyList<string> extensions)
    {
        if (!Directory.Exists(folder)) return false;
        var first = Directory.EnumerateFiles(folder).Where(f => extensions.Contains(Path.GetExtension(f).ToLowerInvariant())).Order(StringComparer.Ordinal).FirstOrDefault();
        if (first == null || !IsNpz(first)) return false;
        using var archive = NpzArchive.Open(first);
        return archive.Contains(NpyDataset.LabelsName);
    }

    /// <summary>
    /// Opens an image folder. With an annotation file, its entries give the images (relative to the folder) and their
    /// labels; otherwise every file with one of <paramref name="extensions"/> is an item and <paramref name="labels"/>
    /// (if any) are in ordinal file-name order.
    /// </summary>
    /// <param name="labelsFile">The file <paramref name="labels"/> came from: never an item, also when it lies in the
    /// folder with an item extension (labels.npy among .npy items, format npy_files).</param>
    /// <param name="pattern">A pattern (* and ?) the file names must match too (a simplified engine's data_source pattern).</param>
    /// <param name="categoryIds">A COCO .json annotation file's classes are its category ids (<see cref="CocoDetectionFile.Read"/>).</param>
    public static ImageDataset Open(string folder, string? inputName, ImageOptions options, IReadOnlyList<string> extensions,
        string? annotationFile, string? fileColumn, string? labelColumn, IReadOnlyList<object?>? labels, AnnotationSeparator separator = AnnotationSeparator.Space,
        string? labelsFile = null, string? pattern = null, bool categoryIds = false)
    {
        if (!Directory.Exists(folder))
            throw new PotException("DataPathNotFound", PotErrorCategory.ObjectNotFound, $"The image folder '{folder}' does not exist.", folder);
        List<string> files;
        if (annotationFile != null && annotationFile.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
            return FromDetections(folder, inputName, options, CocoDetectionFile.Read(annotationFile, categoryIds), annotationFile);
        if (annotationFile != null)
        {
            var entries = AnnotationFile.Read(annotationFile, fileColumn, labelColumn, separator);
            var missingLabel = entries.FirstOrDefault(e => e.Label == null);
            if (missingLabel != null)
                throw new PotException("AnnotationInvalid", PotErrorCategory.InvalidData,
                    $"'{annotationFile}' line {missingLabel.Line} names '{missingLabel.File}' without a label. Write 'file label' on each line (or use a CSV file with a label column).", annotationFile);
            files = Existing(folder, entries.Select(e => e.File).ToList(), annotationFile);
            labels = entries.Select(e => (object?)e.Label).ToList();
        }
        else
        {
            files = Directory.EnumerateFiles(folder)
                .Where(f => extensions.Contains(Path.GetExtension(f).ToLowerInvariant()) && (labelsFile == null || !CanonicalPath.Same(f, labelsFile))
                    && (pattern == null || Matches(pattern, f)))
                .OrderBy(f => f, StringComparer.Ordinal)
                .ToList();
        }
        return new ImageDataset(folder, inputName, options, files, labels);
    }

    /// <summary>Whether the name of <paramref name="file"/> matches <paramref name="pattern"/> (* and ?), as the file system compares names.</summary>
    public static bool Matches(string pattern, string file) =>
        System.IO.Enumeration.FileSystemName.MatchesSimpleExpression(pattern, Path.GetFileName(file), ignoreCase: OperatingSystem.IsWindows());

    /// <summary>A .txt file: the list of images POT's simplified engine also takes as its data_source (<see cref="FromList"/>).</summary>
    public static bool IsImageList(string path) => path.EndsWith(".txt", StringComparison.OrdinalIgnoreCase) && File.Exists(path);

    /// <summary>
    /// The images a .txt file lists, one path per line (absolute, or relative to the file's folder; blank lines
    /// skipped), in its order, without labels: POT's simplified engine's data_source given as a file.
    /// </summary>
    public static ImageDataset FromList(string listFile, string? inputName, ImageOptions options)
    {
        string folder = Path.GetDirectoryName(Path.GetFullPath(listFile))!;
        var names = TextFiles.ReadLines(listFile).Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        return new ImageDataset(listFile, inputName, options, Existing(folder, names, listFile), null);
    }

    /// <summary>The images of detection annotations (COCO or VOC), each annotated with its objects.</summary>
    public static ImageDataset FromDetections(string folder, string? inputName, ImageOptions options, DetectionSet set, string annotationSource)
    {
        if (!Directory.Exists(folder))
            throw new PotException("DataPathNotFound", PotErrorCategory.ObjectNotFound, $"The image folder '{folder}' does not exist.", folder);
        return new ImageDataset(folder, inputName, options, Existing(folder, set.Files, annotationSource), set.Annotations.Cast<object?>().ToList());
    }

    /// <summary>The gallery and query images of a re-identification or retrieval set (<see cref="ReidFolders"/>), each with its id and camera.</summary>
    public static ImageDataset FromReid(string folder, string? inputName, ImageOptions options, ReidSet set, string source) =>
        new(folder, inputName, options, Existing(folder, set.Files, source), set.Annotations);

    /// <summary>The images of a folder with one sub-folder per class, each labelled with its class index.</summary>
    public static ImageDataset FromClassFolders(string folder, string? inputName, ImageOptions options, ClassFolderSet set, string classFolder)
    {
        if (!Directory.Exists(folder))
            throw new PotException("DataPathNotFound", PotErrorCategory.ObjectNotFound, $"The image folder '{folder}' does not exist.", folder);
        return new ImageDataset(folder, inputName, options, Existing(folder, set.Files, classFolder), set.Labels);
    }

    /// <summary>
    /// The images of a folder (as <see cref="Open"/> lists them, those ending in <paramref name="imagePostfix"/> when it
    /// is given; with <paramref name="imageset"/>, those its lines name, in its order, as Pascal VOC's ImageSets list
    /// them), each annotated with its segmentation mask from <paramref name="masks"/> (<see cref="SegmentationMasks"/>).
    /// </summary>
    public static ImageDataset WithMasks(string folder, string? inputName, ImageOptions options, IReadOnlyList<string> extensions, string masks,
        string imagePrefix, string? imagePostfix, string maskPrefix, string maskPostfix, MaskColors? colors = null, string? imageset = null)
    {
        var images = Open(folder, inputName, options, extensions, null, null, null, null)._files
            .Where(f => (imagePrefix.Length == 0 || Path.GetFileName(f).StartsWith(imagePrefix, StringComparison.Ordinal))
                && (imagePostfix == null || f.EndsWith(imagePostfix, StringComparison.Ordinal))).ToList();
        if (imageset != null) images = Named(images, imageset, f => SegmentationMasks.Base(Path.GetFileName(f), imagePrefix, imagePostfix), folder);
        return new ImageDataset(folder, inputName, options, images, SegmentationMasks.For(images, masks, imagePrefix, imagePostfix, maskPrefix, maskPostfix, colors));
    }

    /// <summary>
    /// SegNet's CamVid list (Accuracy Checker's camvid converter): `image mask` lines, each path taken by its last two
    /// parts (`/SegNet/CamVid/val/a.png` is `val/a.png`), the image in <paramref name="folder"/>, its mask, of class
    /// indices (or of <paramref name="colors"/>), in <paramref name="masks"/>.
    /// </summary>
    public static ImageDataset FromCamVidList(string folder, string? inputName, ImageOptions options, string list, string masks, MaskColors? colors)
    {
        static string LastTwo(string path) => string.Join('/', path.Replace('\\', '/').Split('/', StringSplitOptions.RemoveEmptyEntries).TakeLast(2));
        var pairs = new List<(string Image, string Mask)>();
        var lines = TextFiles.ReadLines(list);
        for (int i = 0; i < lines.Count; i++)
        {
            var parts = lines[i].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0) continue;
            if (parts.Length != 2)
                throw new PotException("AnnotationInvalid", PotErrorCategory.InvalidData, $"'{list}' line {i + 1} holds {parts.Length} paths: write `image mask` on each line.", list);
            pairs.Add((LastTwo(parts[0]), LastTwo(parts[1])));
        }
        var images = Existing(folder, pairs.Select(p => p.Image).ToList(), list);
        var maskFiles = Existing(masks, pairs.Select(p => p.Mask).ToList(), list);
        return new ImageDataset(folder, inputName, options, images, maskFiles.Select(m => (object?)new SegmentationMaskFile(m, colors)).ToList());
    }

    /// <summary>The images whose names (<paramref name="id"/>) the lines of <paramref name="imageset"/> give, in its order; every one must exist.</summary>
    private static List<string> Named(List<string> images, string imageset, Func<string, string> id, string folder)
    {
        var byId = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in images) byId.TryAdd(id(f), f);
        var ids = TextFiles.ReadLines(imageset).Select(l => l.Trim()).Where(l => l.Length > 0).Select(l => l.Split(' ', '\t')[0]).ToList();
        var missing = ids.Where(i => !byId.ContainsKey(i)).ToList();
        if (missing.Count > 0)
            throw new PotException("ImageNotFound", PotErrorCategory.ObjectNotFound,
                $"{missing.Count} of the {ids.Count} images that '{imageset}' names are not in '{folder}', e.g. '{missing[0]}'. Each line names an image by its file name without its extension.", imageset);
        return ids.Select(i => byId[i]).ToList();
    }

    /// <summary>The images an annotation file names, relative to the folder; every one must exist.</summary>
    private static List<string> Existing(string folder, IReadOnlyList<string> names, string annotationFile)
    {
        var files = names.Select(n => Path.GetFullPath(Path.Combine(folder, n))).ToList();
        var missing = files.Where(f => !File.Exists(f)).ToList();
        if (missing.Count > 0)
            throw new PotException("ImageNotFound", PotErrorCategory.ObjectNotFound,
                $"{missing.Count} image{(missing.Count == 1 ? "" : "s")} named in '{annotationFile}' do{(missing.Count == 1 ? "es" : "")} not exist, e.g. {string.Join(", ", missing.Take(3).Select(m => "'" + m + "'"))}. Image names are relative to the data_source folder '{folder}'.", annotationFile);
        return files;
    }

    public string Source { get; }
    public int Count => _files.Count;
    public IReadOnlyList<string> InputNames { get; }
    public bool HasAnnotations => _labels != null || _itemLabels;

    /// <summary>
    /// An item stored as its own .npy file (Accuracy Checker's numpy_reader): the array as it is, with a batch axis of 1
    /// put in front, as Accuracy Checker's launcher stacks items into a batch.
    /// </summary>
    private static TensorData NpyItem(byte[] bytes, string file)
    {
        using var stream = new MemoryStream(bytes, writable: false);
        return WithItemAxis(NpyReader.Read(stream, file));
    }

    /// <summary>An item's array with the batch axis of 1 that data sets hold items with (<see cref="DataItem"/>).</summary>
    private static TensorData WithItemAxis(TensorData array) => new(array.Kind, array.Shape.Prepend(1L).ToArray(), array.Data);

    /// <summary>
    /// An item stored as its own .npz archive: each array (read whole, within the in-memory limit of an .npz member) with
    /// a batch axis of 1 put in front, and its 'labels' array as the label when <see cref="_itemLabels"/>.
    /// </summary>
    private DataItem NpzItem(int index, string file)
    {
        using var archive = NpzArchive.Open(file);
        var inputs = new Dictionary<string, TensorData>(StringComparer.Ordinal);
        foreach (var name in InputNames)
        {
            if (!archive.Contains(name))
                throw new PotException("DataArrayNotFound", PotErrorCategory.ObjectNotFound,
                    $"The item '{file}' has no array '{name}', which '{_files[0]}' has: every .npz item holds the same arrays.", file);
            inputs[name] = WithItemAxis(archive.Read(name));
        }
        object? label = _labels?[index];
        if (_itemLabels)
        {
            if (!archive.Contains(NpyDataset.LabelsName))
                throw new PotException("DataArrayNotFound", PotErrorCategory.ObjectNotFound,
                    $"The item '{file}' has no array 'labels', which '{_files[0]}' has: label every item, or none.", file);
            label = NpyDataset.LabelAt(new MemoryItemArray(WithItemAxis(archive.Read(NpyDataset.LabelsName))), 0);
        }
        return new DataItem(index, inputs, label);
    }

    public DataItem Get(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index));
        string file = _files[index];
        if (_npz) return NpzItem(index, file);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(file);
        }
        catch (IOException e)
        {
            throw new PotException("ImageUnreadable", PotErrorCategory.InvalidData, $"The image '{file}' cannot be read: {e.Message}", file, e);
        }
        bool npy = file.EndsWith(".npy", StringComparison.OrdinalIgnoreCase);
        var (tensor, geometry) = npy ? (NpyItem(bytes, file), (ImageGeometry?)null) : ImagePipeline.ProcessWithGeometry(bytes, _options, file);
        object? label = _labels?[index];
        // Boxes and class maps come back in the input's coordinates: the annotation carries where the image went.
        if (label is SegmentationMaskFile mask) label = new SegmentationAnnotation(SegmentationMasks.Read(mask.Path, mask.Colors), geometry);
        // An annotation without the image's size (WIDER FACE's) takes the decoded image's.
        if (label is DetectionAnnotation boxes)
            label = boxes.ImageWidth == 0 && geometry != null
                ? boxes with { Geometry = geometry, ImageWidth = geometry.ImageWidth, ImageHeight = geometry.ImageHeight }
                : boxes with { Geometry = geometry };
        var inputs = new Dictionary<string, TensorData>(StringComparer.Ordinal) { [_inputName] = tensor };
        foreach (var other in _options.OtherInputs)
            inputs[other.Name] = other.Constant ?? (geometry != null
                ? TensorData.FromFloats(new float[] { geometry.ImageHeight, geometry.ImageWidth }, 1, 2)
                : throw new PotException("DataInputMissing", PotErrorCategory.InvalidData, $"'{file}' is not an image, so it has no size for model input '{other.Name}' (image_size).", file));
        return new DataItem(index, inputs, label);
    }
}
