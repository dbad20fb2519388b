using System.Buffers.Binary;
using StbImageSharp;

namespace PotPowerShell.Core.Data;

/// <summary>
/// An image's segmentation mask file, read when its item is (<see cref="SegmentationMasks.Read"/>); with
/// <paramref name="Colors"/>, its classes are colours (class i has colour i).
/// </summary>
public sealed record SegmentationMaskFile(string Path, MaskColors? Colors = null)
{
    public override string ToString() => $"mask {System.IO.Path.GetFileName(Path)}";
}

/// <summary>
/// A mask read from its file, with where its image went in the model input (null for an item that is no image), so
/// that a class map is scored at the mask's pixels. Metrics written as scripts see the <see cref="Mask"/> alone.
/// </summary>
public sealed record SegmentationAnnotation(TensorData Mask, ImageGeometry? Geometry)
{
    public override string ToString() => Mask.ToString();
}

/// <summary>
/// The colour of each class of colour-encoded masks (Accuracy Checker's segmentation_colors, read by its
/// encode_segmentation_mask): a pixel of colour i is class i, the first class of a colour winning; a pixel of any other
/// colour is class 0, as encode_segmentation_mask leaves it (so Pascal VOC's border colour counts as background).
/// </summary>
public sealed class MaskColors
{
    /// <summary>Classes a mask can hold as bytes.</summary>
    public const int MaxColors = 256;

    private readonly Dictionary<int, byte> _classOf = new();

    public MaskColors(IReadOnlyList<(byte R, byte G, byte B)> colors)
    {
        if (colors.Count is 0 or > MaxColors) throw new ArgumentOutOfRangeException(nameof(colors), $"1 to {MaxColors} colours.");
        Colors = colors;
        for (int i = 0; i < colors.Count; i++) _classOf.TryAdd(colors[i].R << 16 | colors[i].G << 8 | colors[i].B, (byte)i);
    }

    public IReadOnlyList<(byte R, byte G, byte B)> Colors { get; }

    /// <summary>Pascal VOC's 21 class colours (background, aeroplane, ... tvmonitor), as Accuracy Checker's voc_segmentation gives them.</summary>
    public static MaskColors Voc { get; } = new(Enumerable.Range(0, 21).Select(VocColor).ToList());

    /// <summary>Colour i of the Pascal VOC palette: the bits of i spread over the channels' high bits.</summary>
    private static (byte, byte, byte) VocColor(int i)
    {
        int r = 0, g = 0, b = 0;
        for (int bit = 7; i > 0; bit--, i >>= 3)
        {
            r |= (i & 1) << bit;
            g |= (i >> 1 & 1) << bit;
            b |= (i >> 2 & 1) << bit;
        }
        return ((byte)r, (byte)g, (byte)b);
    }

    public byte ClassOf(byte r, byte g, byte b) => _classOf.GetValueOrDefault(r << 16 | g << 8 | b);
}

/// <summary>
/// Segmentation masks stored one file per image, named as Accuracy Checker's common_semantic_segmentation converter
/// names them: &lt;mask_prefix&gt;&lt;base&gt;&lt;mask_postfix&gt; in the masks folder, where base is the image's file
/// name without its image_prefix and image_postfix (without its extension when no image_postfix is given). A palette
/// PNG gives its indices (as Pillow reads Pascal VOC's masks), a grey PNG its values, an .npy file its array [H, W];
/// a colour PNG, whose classes are colours, is refused unless the colours of the classes are given (<see cref="MaskColors"/>:
/// then palette and colour PNGs give the class of each pixel's colour).
/// </summary>
public static class SegmentationMasks
{
    /// <summary>Larger mask files are refused before they are read.</summary>
    public const long MaxFileBytes = 256L << 20;

    /// <summary>The mask of each image, in the images' order; every one must exist.</summary>
    public static IReadOnlyList<object?> For(IReadOnlyList<string> images, string folder, string imagePrefix, string? imagePostfix,
        string maskPrefix, string maskPostfix, MaskColors? colors = null)
    {
        if (!Directory.Exists(folder))
            throw new PotException("DataPathNotFound", PotErrorCategory.ObjectNotFound, $"The mask folder '{folder}' does not exist.", folder);
        var masks = images.Select(image => Path.Combine(folder, maskPrefix + Base(Path.GetFileName(image), imagePrefix, imagePostfix) + maskPostfix)).ToList();
        var missing = masks.Select((m, i) => (Mask: m, Image: images[i])).Where(p => !File.Exists(p.Mask)).ToList();
        if (missing.Count > 0)
            throw new PotException("MaskNotFound", PotErrorCategory.ObjectNotFound,
                $"{missing.Count} of {images.Count} images have no mask in '{folder}', e.g. '{Path.GetFileName(missing[0].Image)}', whose mask would be '{Path.GetFileName(missing[0].Mask)}'. " +
                "Masks are named <mask_prefix><image name without image_prefix and image_postfix><mask_postfix> (mask_postfix .png by default).", folder);
        return masks.Select(m => (object?)new SegmentationMaskFile(m, colors)).ToList();
    }

    internal static string Base(string name, string prefix, string? postfix)
    {
        if (prefix.Length > 0 && name.StartsWith(prefix, StringComparison.Ordinal)) name = name[prefix.Length..];
        if (postfix == null) return Path.GetFileNameWithoutExtension(name);
        return postfix.Length > 0 && name.EndsWith(postfix, StringComparison.Ordinal) ? name[..^postfix.Length] : name;
    }

    /// <summary>The mask as a tensor [H, W] of class values (of the pixels' colours, with <paramref name="colors"/>).</summary>
    public static TensorData Read(string path, MaskColors? colors = null)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new PotException("MaskNotFound", PotErrorCategory.ObjectNotFound, $"The mask '{path}' does not exist.", path);
        if (info.Length > MaxFileBytes)
            throw new PotException("MaskUnreadable", PotErrorCategory.InvalidData, $"The mask '{path}' has {info.Length} bytes; at most {MaxFileBytes} are read.", path);
        byte[] bytes = File.ReadAllBytes(path);
        if (path.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
        {
            if (colors != null) throw Unreadable(path, "is an .npy array, which holds class indices, not colours: give PNG masks, or no mask colours");
            using var stream = new MemoryStream(bytes, writable: false);
            var array = NpyReader.Read(stream, path);
            if (array.Shape.Length < 2 || array.Shape[..^2].Any(d => d != 1))
                throw Unreadable(path, $"holds an array of shape [{string.Join(",", array.Shape)}]; a mask is [H, W] of class indices");
            return new TensorData(array.Kind, array.Shape[^2..], array.Data);
        }
        if (ImageFileCheck.Refusal(bytes) is { } refusal) throw Unreadable(path, refusal);
        if (bytes.Length < 33 || !bytes.AsSpan(12, 4).SequenceEqual("IHDR"u8))
            throw Unreadable(path, "is not a PNG mask (masks are palette or grey PNG files, or .npy arrays)");
        int width = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), height = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20));
        int depth = bytes[24], colour = bytes[25];
        if ((long)width * height > ImagePipeline.MaxPixels || width <= 0 || height <= 0)
            throw Unreadable(path, $"declares {width} x {height} pixels");
        if (colour is 2 or 6 && colors == null)
            throw Unreadable(path, "is a colour PNG, whose classes are colours: give the colour of each class (mask_colors, or Accuracy Checker's encode_segmentation_mask), or save class indices (a palette or grey PNG) or an .npy array");
        if (colour is 0 or 4 && colors != null) throw Unreadable(path, "is a grey PNG, which holds class indices, not colours: give no mask colours for it");
        if (depth == 16) throw Unreadable(path, "has 16-bit pixels: save 8-bit class indices, or an .npy array");
        ImageResult decoded;
        try
        {
            decoded = ImageResult.FromMemory(bytes, colors != null ? ColorComponents.RedGreenBlue : colour == 3 ? ColorComponents.RedGreenBlueAlpha : ColorComponents.Grey);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException or NotSupportedException)
        {
            throw Unreadable(path, $"cannot be decoded ({e.Message})");
        }
        var classes = colors != null ? Classes(decoded.Data, colors) : colour == 3 ? Indices(decoded.Data, Palette(bytes, path), path) : decoded.Data;
        return new TensorData(TensorElementKind.UInt8, new long[] { decoded.Height, decoded.Width }, classes);
    }

    /// <summary>The RGBA colour of each palette entry (PLTE, with tRNS's alpha), the first entry of a colour winning.</summary>
    private static Dictionary<uint, byte> Palette(byte[] png, string path)
    {
        byte[]? plte = null, trns = null;
        for (int at = 8; at + 12 <= png.Length;)
        {
            int length = (int)BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at));
            var type = png.AsSpan(at + 4, 4);
            if (type.SequenceEqual("PLTE"u8)) plte = png.AsSpan(at + 8, length).ToArray();
            else if (type.SequenceEqual("tRNS"u8)) trns = png.AsSpan(at + 8, length).ToArray();
            else if (type.SequenceEqual("IEND"u8)) break;
            at += 12 + length;
        }
        if (plte == null || plte.Length % 3 != 0) throw Unreadable(path, "is a palette PNG without a valid palette");
        var colours = new Dictionary<uint, byte>();
        for (int i = 0; i < plte.Length / 3 && i < 256; i++)
            colours.TryAdd(Rgba(plte[3 * i], plte[3 * i + 1], plte[3 * i + 2], trns != null && i < trns.Length ? trns[i] : (byte)255), (byte)i);
        return colours;
    }

    private static byte[] Indices(byte[] rgba, Dictionary<uint, byte> palette, string path)
    {
        var indices = new byte[rgba.Length / 4];
        for (int p = 0; p < indices.Length; p++)
        {
            if (!palette.TryGetValue(Rgba(rgba[4 * p], rgba[4 * p + 1], rgba[4 * p + 2], rgba[4 * p + 3]), out indices[p]))
                throw Unreadable(path, $"has a pixel ({p}) whose colour is not in its palette");
        }
        return indices;
    }

    private static byte[] Classes(byte[] rgb, MaskColors colors)
    {
        var classes = new byte[rgb.Length / 3];
        for (int p = 0; p < classes.Length; p++) classes[p] = colors.ClassOf(rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2]);
        return classes;
    }

    private static uint Rgba(byte r, byte g, byte b, byte a) => (uint)(r << 24 | g << 16 | b << 8 | a);

    private static PotException Unreadable(string path, string why) =>
        new("MaskUnreadable", PotErrorCategory.InvalidData, $"The mask '{path}' {why}.", path);
}
