using System.Globalization;
using System.Text.RegularExpressions;

namespace PotPowerShell.Core.Data;

/// <summary>
/// A re-identification or retrieval image: whose it is (a person's, vehicle's or object's id, compared as text), the
/// camera that took it (from 0), and whether it is a query (else gallery).
/// </summary>
public sealed record ReidAnnotation(string Identity, int Camera, bool Query);

/// <summary>The images of a re-identification set, relative to its folder, gallery first, each with its <see cref="ReidAnnotation"/>.</summary>
public sealed record ReidSet(IReadOnlyList<string> Files, IReadOnlyList<object?> Annotations);

/// <summary>The folder layouts of re-identification sets, as Accuracy Checker's converters read them.</summary>
public enum ReidLayout
{
    /// <summary>Market-1501 (market1501_reid): bounding_box_test/ and query/, images named 0002_c1s1_000451_03.jpg.</summary>
    Market1501,
    /// <summary>VeRi-776 (veri776_reid): image_test/ and image_query/, images named 0002_c002_00030600_0.jpg.</summary>
    VeRi776,
}

/// <summary>
/// A re-identification set laid out as Market-1501 or VeRi-776, read as Accuracy Checker's market1501_reid and
/// veri776_reid converters read it: the gallery folder's images, then the query folder's, each in descending code-point
/// order of their names; the id and camera are the first match of the layout's pattern in the name; id -1 (Market's
/// junk images) is left out, id 0 (its distractors) kept; cameras count from 0. Images are the files with the data
/// set's image extensions (Accuracy Checker takes *.jpg, all these sets hold; other files such as Thumbs.db are not
/// read).
/// </summary>
public static class ReidFolders
{
    /// <summary>More images than this are refused before any is read.</summary>
    public const int MaxImages = 10_000_000;

    // ECMAScript: \d is 0-9 only, as the ids are parsed.
    private static readonly Regex Market = new(@"([-\d]+)_c(\d)", RegexOptions.ECMAScript | RegexOptions.CultureInvariant);
    private static readonly Regex VeRi = new(@"([-\d]+)_c([-\d]+)_", RegexOptions.ECMAScript | RegexOptions.CultureInvariant);

    /// <summary>The gallery and query folders of <paramref name="layout"/>.</summary>
    public static (string Gallery, string Query) Folders(ReidLayout layout) =>
        layout == ReidLayout.Market1501 ? ("bounding_box_test", "query") : ("image_test", "image_query");

    public static ReidSet Read(string folder, ReidLayout layout, IReadOnlyList<string> extensions)
    {
        var (gallery, query) = Folders(layout);
        var pattern = layout == ReidLayout.Market1501 ? Market : VeRi;
        foreach (var sub in new[] { gallery, query })
            if (!Directory.Exists(Path.Combine(folder, sub)))
                throw new PotException("DataPathNotFound", PotErrorCategory.ObjectNotFound,
                    $"'{Path.Combine(folder, sub)}' does not exist: a {Name(layout)} set holds the folders {gallery}/ and {query}/ (data_source names the folder that holds them).", folder);
        var files = new List<string>();
        var annotations = new List<object?>();
        foreach (var (sub, isQuery) in new[] { (gallery, false), (query, true) })
        {
            var names = Directory.EnumerateFiles(Path.Combine(folder, sub)).Select(Path.GetFileName).Select(n => n!)
                .Where(n => extensions.Contains(Path.GetExtension(n).ToLowerInvariant())).Take(MaxImages + 1).ToList();
            if (files.Count + names.Count > MaxImages)
                throw new PotException("DatasetTooLarge", PotErrorCategory.InvalidData, $"'{folder}' holds more than {MaxImages} images; at most {MaxImages} are read.", folder);
            names.Sort((a, b) => ClassFolders.CodePointOrder(b, a));
            foreach (var name in names)
            {
                var match = pattern.Match(name);
                string path = Path.Combine(folder, sub, name);
                if (!match.Success || !int.TryParse(match.Groups[1].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int id)
                    || !int.TryParse(match.Groups[2].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int camera))
                    throw new PotException("AnnotationInvalid", PotErrorCategory.InvalidData,
                        $"'{path}' is not named as {Name(layout)}'s images are ('<id>_c<camera>{(layout == ReidLayout.Market1501 ? "s1_000451_03" : "_00030600_0")}.jpg', whole numbers that fit 32 bits): its id and camera come from its name. Rename it or move it out of '{sub}'.", path);
                if (id == -1) continue;
                files.Add(sub + "/" + name);
                annotations.Add(new ReidAnnotation(id.ToString(CultureInfo.InvariantCulture), camera - 1, isQuery));
            }
        }
        if (!annotations.Any(a => ((ReidAnnotation)a!).Query) || annotations.All(a => ((ReidAnnotation)a!).Query))
            throw new PotException("DatasetEmpty", PotErrorCategory.InvalidData,
                $"'{folder}' needs images in both {gallery}/ and {query}/ (with the extensions {string.Join(", ", extensions)}): each query is matched against the gallery.", folder);
        return new ReidSet(files, annotations);
    }

    /// <summary>
    /// An image retrieval set as Accuracy Checker's image_retrieval converter reads it: <paramref name="gallery"/> and
    /// <paramref name="queries"/> list 'image id' lines (blank lines skipped, each line trimmed), the images relative to
    /// <paramref name="folder"/> (a name without '/' in gallery/ or queries/), the ids compared as text. Gallery images
    /// are camera 0 and queries camera 1, so no gallery image is left out as a query's own.
    /// </summary>
    public static ReidSet ReadLists(string folder, string gallery, string queries)
    {
        var files = new List<string>();
        var annotations = new List<object?>();
        foreach (var (list, isQuery) in new[] { (gallery, false), (queries, true) })
        {
            var lines = TextFiles.ReadLines(list);
            for (int i = 0; i < lines.Count; i++)
            {
                string line = lines[i].Trim();
                if (line.Length == 0) continue;
                var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length != 2)
                    throw new PotException("AnnotationInvalid", PotErrorCategory.InvalidData,
                        $"Line {i + 1} of '{list}' holds {fields.Length} fields; each line is 'image id' (the image, relative to '{folder}', and its id).", list);
                if (files.Count == MaxImages)
                    throw new PotException("DatasetTooLarge", PotErrorCategory.InvalidData, $"'{gallery}' and '{queries}' list more than {MaxImages} images; at most {MaxImages} are read.", list);
                files.Add(fields[0].Contains('/') ? fields[0] : (isQuery ? "queries/" : "gallery/") + fields[0]);
                annotations.Add(new ReidAnnotation(fields[1], isQuery ? 1 : 0, isQuery));
            }
            if (!annotations.Any(a => ((ReidAnnotation)a!).Query == isQuery))
                throw new PotException("DatasetEmpty", PotErrorCategory.InvalidData, $"'{list}' lists no image: each query is matched against the gallery.", list);
        }
        return new ReidSet(files, annotations);
    }

    private static string Name(ReidLayout layout) => layout == ReidLayout.Market1501 ? "Market-1501" : "VeRi-776";
}
