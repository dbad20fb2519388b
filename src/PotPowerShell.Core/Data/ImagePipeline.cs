using StbImageSharp;

namespace PotPowerShell.Core.Data;

/// <summary>
/// Decodes an image and applies the engine's preprocessing: colour order, the steps in order (resize, center crop,
/// normalization, scale), then the layout. Pixels stay float32 from decoding on (0..255 until a step rescales them).
/// </summary>
public static class ImagePipeline
{
    /// <summary>A float image in height x width x channels order.</summary>
    public sealed record FloatImage(int Width, int Height, int Channels, float[] Data);

    public static TensorData Process(byte[] encoded, ImageOptions options, string source) => ProcessWithGeometry(encoded, options, source).Tensor;

    /// <summary>The model input of an image, and where the image's pixels are in it.</summary>
    public static (TensorData Tensor, ImageGeometry Geometry) ProcessWithGeometry(byte[] encoded, ImageOptions options, string source)
    {
        var image = Decode(encoded, options.Channels, options.ColorOrder, source);
        var geometry = ImageGeometry.Of(image.Width, image.Height);
        foreach (var step in options.Steps)
        {
            var before = image;
            image = Apply(image, step, source);
            geometry = step switch
            {
                ResizeStep => geometry.Resized(image.Width, image.Height),
                CentralCropStep c => geometry.Moved(-CropOffset(before.Width, image.Width, c.Rounding), -CropOffset(before.Height, image.Height, c.Rounding), image.Width, image.Height),
                PaddingStep p => Moved(geometry, p, before, image.Width, image.Height),
                _ => geometry,
            };
        }
        return (ToTensor(image, options.Layout), geometry);
    }

    private static ImageGeometry Moved(ImageGeometry geometry, PaddingStep step, FloatImage image, int width, int height)
    {
        var (left, top) = PadOffset(step, image, width, height);
        return geometry.Moved(left, top, width, height);
    }

    /// <summary>
    /// Pixels an image may declare (about 134 megapixels: a 150-megapixel camera's frames are 151 million): its header is
    /// read first, so a small file that declares a huge image is refused before its pixels (and their float copy, 12
    /// bytes a pixel) are allocated.
    /// </summary>
    public const long MaxPixels = 1L << 27;

    public static FloatImage Decode(byte[] encoded, int channels, ColorOrder order, string source)
    {
        if (ImageFileCheck.Refusal(encoded) is { } refusal)
            throw new PotException("ImageUnreadable", PotErrorCategory.InvalidData,
                $"The image '{source}' {refusal} (a partial download or a damaged file?). Replace it, or remove it from the folder.", source);
        ImageResult decoded;
        try
        {
            using (var header = new MemoryStream(encoded, writable: false))
                if (ImageInfo.FromStream(header) is { } info && Math.Abs((long)info.Width) * Math.Abs((long)info.Height) > MaxPixels)
                    throw new PotException("ImageTooLarge", PotErrorCategory.InvalidData,
                        FormattableString.Invariant($"The image '{source}' declares {info.Width} x {info.Height} pixels, more than {MaxPixels:N0}. Resize it first: models take far smaller inputs."), source);
            decoded = ImageResult.FromMemory(encoded, ColorComponents.RedGreenBlue);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or IndexOutOfRangeException or NotSupportedException)
        {
            throw new PotException("ImageUnreadable", PotErrorCategory.InvalidData,
                $"The image '{source}' cannot be decoded ({e.Message}). Use PNG, JPEG or BMP files.", source, e);
        }
        if (decoded == null || decoded.Data == null)
            throw new PotException("ImageUnreadable", PotErrorCategory.InvalidData, $"The image '{source}' cannot be decoded. Use PNG, JPEG or BMP files.", source);
        var data = channels == 1 ? Grey(decoded.Data) : Array.ConvertAll(decoded.Data, b => (float)b);
        if (channels == 3 && order == ColorOrder.Bgr)
        {
            for (int p = 0; p < data.Length; p += 3) (data[p], data[p + 2]) = (data[p + 2], data[p]);
        }
        // BGR is OpenCV's imread, which shows a JPEG upright by its EXIF orientation; RGB is Pillow's Image.open (and
        // torchvision's loader), which does not (ExifOrientation).
        if (order == ColorOrder.Bgr && JpegHeader.Read(encoded)?.Orientation is int orientation and not 1)
        {
            var (width, height, upright) = ExifOrientation.Apply(orientation, decoded.Width, decoded.Height, channels, data);
            return new FloatImage(width, height, channels, upright);
        }
        return new FloatImage(decoded.Width, decoded.Height, channels, data);
    }

    /// <summary>
    /// Grey values of RGB pixels as OpenCV's cvtColor computes them for Accuracy Checker's bgr_to_gray (fixed point:
    /// 0.299 R + 0.587 G + 0.114 B in fourteen bits, rounded), where the decoder's own conversion truncated with other
    /// weights. A grey file's pixels, decoded as three equal channels, keep their values (the weights sum to 2^14).
    /// </summary>
    internal static float[] Grey(byte[] rgb)
    {
        var grey = new float[rgb.Length / 3];
        for (int p = 0; p < grey.Length; p++)
            grey[p] = (rgb[3 * p] * 4899 + rgb[3 * p + 1] * 9617 + rgb[3 * p + 2] * 1868 + 8192) >> 14;
        return grey;
    }

    public static FloatImage Apply(FloatImage image, PreprocessingStep step, string source) => step switch
    {
        ResizeStep r => Resize(image, r),
        CenterCropStep c => CenterCrop(image, c, source),
        CentralFractionStep f => CenterCrop(image, new CenterCropStep(Math.Max(1, (int)(image.Width * f.Fraction)), Math.Max(1, (int)(image.Height * f.Fraction))) { Rounding = f.Rounding }, source),
        NormalizationStep n => Normalize(image, n),
        ScaleStep s => Scale(image, s.Factor),
        PaddingStep p => Pad(image, p),
        _ => throw new InvalidOperationException($"Unknown preprocessing step {step.GetType().Name}."),
    };

    /// <summary>Target size of a resize step for an image of <paramref name="w"/> x <paramref name="h"/>.</summary>
    public static (int Width, int Height) TargetSize(ResizeStep r, int w, int h)
    {
        switch (r.Aspect)
        {
            case ResizeAspect.ShorterSide:
                // As torchvision's Resize(int): the shorter side becomes size, the other is truncated.
                return w <= h ? (r.Size, Math.Max(1, (int)((long)r.Size * h / w))) : (Math.Max(1, (int)((long)r.Size * w / h)), r.Size);
            case ResizeAspect.LongerSide when r.Size == 0:
                // Within width x height: the side that reaches its bound first takes it.
                return (long)r.Width * h <= (long)r.Height * w
                    ? (r.Width, Math.Max(1, (int)((long)r.Width * h / w)))
                    : (Math.Max(1, (int)((long)r.Height * w / h)), r.Height);
            case ResizeAspect.LongerSide:
                return w >= h ? (r.Size, Math.Max(1, (int)((long)r.Size * h / w))) : (Math.Max(1, (int)((long)r.Size * w / h)), r.Size);
            case ResizeAspect.ShorterWithinLonger:
            {
                int shorter = r.Size > 0 ? r.Size : Math.Min(r.Width, r.Height), longer = r.Size > 0 ? r.Size : Math.Max(r.Width, r.Height);
                var (sw, sh) = TargetSize(r with { Aspect = ResizeAspect.ShorterSide, Size = shorter }, w, h);
                return Math.Max(sw, sh) <= longer ? (sw, sh) : TargetSize(r with { Aspect = ResizeAspect.LongerSide, Size = longer }, w, h);
            }
            default:
                return (r.Width, r.Height);
        }
    }

    /// <summary>
    /// Bilinear with half-pixel centres (source = (dst + 0.5) * in/out - 0.5, clamped to the edge, no antialiasing: as
    /// OpenCV's INTER_LINEAR), or nearest (source = floor((dst + 0.5) * in/out)).
    /// </summary>
    public static FloatImage Resize(FloatImage image, ResizeStep step)
    {
        var (nw, nh) = TargetSize(step, image.Width, image.Height);
        if (nw == image.Width && nh == image.Height) return image;
        if (step.Interpolation is Interpolation.PillowBilinear or Interpolation.PillowBicubic or Interpolation.PillowLanczos)
            return PillowResize.Resize(image, nw, nh, step.Interpolation);
        int c = image.Channels, w = image.Width, h = image.Height;
        var src = image.Data;
        var dst = new float[nw * nh * c];
        double scaleX = (double)w / nw, scaleY = (double)h / nh;
        if (step.Interpolation == Interpolation.Nearest)
        {
            for (int y = 0; y < nh; y++)
            {
                int sy = Math.Min((int)Math.Floor((y + 0.5) * scaleY), h - 1);
                for (int x = 0; x < nw; x++)
                {
                    int sx = Math.Min((int)Math.Floor((x + 0.5) * scaleX), w - 1);
                    Array.Copy(src, (sy * w + sx) * c, dst, (y * nw + x) * c, c);
                }
            }
            return new FloatImage(nw, nh, c, dst);
        }
        var xs = Taps(nw, w, scaleX);
        for (int y = 0; y < nh; y++)
        {
            var (y0, y1, ay) = Tap(y, h, scaleY);
            for (int x = 0; x < nw; x++)
            {
                var (x0, x1, ax) = xs[x];
                int o = (y * nw + x) * c;
                int p00 = (y0 * w + x0) * c, p01 = (y0 * w + x1) * c, p10 = (y1 * w + x0) * c, p11 = (y1 * w + x1) * c;
                for (int k = 0; k < c; k++)
                {
                    double top = src[p00 + k] + (src[p01 + k] - src[p00 + k]) * ax;
                    double bottom = src[p10 + k] + (src[p11 + k] - src[p10 + k]) * ax;
                    dst[o + k] = (float)(top + (bottom - top) * ay);
                }
            }
        }
        return new FloatImage(nw, nh, c, dst);
    }

    private static (int I0, int I1, double A)[] Taps(int n, int size, double scale)
    {
        var taps = new (int, int, double)[n];
        for (int i = 0; i < n; i++) taps[i] = Tap(i, size, scale);
        return taps;
    }

    private static (int I0, int I1, double A) Tap(int dst, int size, double scale)
    {
        double s = Math.Max((dst + 0.5) * scale - 0.5, 0);
        int i0 = Math.Min((int)Math.Floor(s), size - 1);
        int i1 = Math.Min(i0 + 1, size - 1);
        return (i0, i1, i0 == size - 1 ? 0 : s - i0);
    }

    /// <summary>Where a central crop of <paramref name="after"/> pixels starts in <paramref name="before"/>.</summary>
    private static int CropOffset(int before, int after, CropRounding rounding) =>
        rounding == CropRounding.HalfEven ? (int)Math.Round((before - after) / 2.0, MidpointRounding.ToEven) : (before - after) / 2;

    public static FloatImage CenterCrop(FloatImage image, CenterCropStep step, string source)
    {
        if (step.Width > image.Width || step.Height > image.Height)
            throw new PotException("ImageTooSmallForCrop", PotErrorCategory.InvalidData,
                $"The image '{source}' is {image.Width}x{image.Height} at the center_crop step, smaller than the crop {step.Width}x{step.Height}. Resize first (type: resize, size: ..., aspect: shorter_side).", source);
        int left = CropOffset(image.Width, step.Width, step.Rounding), top = CropOffset(image.Height, step.Height, step.Rounding), c = image.Channels;
        var dst = new float[step.Width * step.Height * c];
        for (int y = 0; y < step.Height; y++)
            Array.Copy(image.Data, ((top + y) * image.Width + left) * c, dst, y * step.Width * c, step.Width * c);
        return new FloatImage(step.Width, step.Height, c, dst);
    }

    /// <summary>
    /// Pads to the step's size. Center puts the image at ((W - w) / 2, (H - h) / 2), truncated, as Accuracy Checker's
    /// padding does; LeftTop pads right and below; RightBottom pads left and above.
    /// </summary>
    public static FloatImage Pad(FloatImage image, PaddingStep step)
    {
        int w = Math.Max(step.Width, image.Width), h = Math.Max(step.Height, image.Height), c = image.Channels;
        if (w == image.Width && h == image.Height) return image;
        var (left, top) = PadOffset(step, image, w, h);
        var dst = new float[w * h * c];
        if (step.ChannelValues is { } values)
        {
            if (values.Length != c)
                throw new PotException("PaddingChannels", PotErrorCategory.InvalidData,
                    $"The padding step gives {values.Length} values, one per channel, but the image has {c} channel{(c == 1 ? "" : "s")} at that step. Give {c} values, or one for every channel.", "padding");
            for (int p = 0; p < dst.Length; p++) dst[p] = values[p % c];
        }
        else Array.Fill(dst, step.Value);
        for (int y = 0; y < image.Height; y++)
            Array.Copy(image.Data, y * image.Width * c, dst, ((top + y) * w + left) * c, image.Width * c);
        return new FloatImage(w, h, c, dst);
    }

    /// <summary>Where <paramref name="image"/> goes in the padded <paramref name="w"/> x <paramref name="h"/> one.</summary>
    private static (int Left, int Top) PadOffset(PaddingStep step, FloatImage image, int w, int h) => step.Position switch
    {
        PadPosition.Center => ((w - image.Width) / 2, (h - image.Height) / 2),
        PadPosition.LeftTop => (0, 0),
        _ => (w - image.Width, h - image.Height),
    };

    public static FloatImage Normalize(FloatImage image, NormalizationStep step)
    {
        int c = image.Channels;
        var data = (float[])image.Data.Clone();
        for (int i = 0; i < data.Length; i++)
        {
            int k = i % c;
            float mean = step.Mean.Length == 1 ? step.Mean[0] : step.Mean[k];
            float std = step.Std.Length == 1 ? step.Std[0] : step.Std[k];
            data[i] = (data[i] - mean) / std;
        }
        return image with { Data = data };
    }

    public static FloatImage Scale(FloatImage image, float factor)
    {
        var data = (float[])image.Data.Clone();
        for (int i = 0; i < data.Length; i++) data[i] *= factor;
        return image with { Data = data };
    }

    /// <summary>[1, C, H, W] or [1, H, W, C].</summary>
    public static TensorData ToTensor(FloatImage image, TensorLayout layout)
    {
        int w = image.Width, h = image.Height, c = image.Channels;
        if (layout == TensorLayout.Nhwc) return TensorData.FromFloats(image.Data, 1, h, w, c);
        var planar = new float[image.Data.Length];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int k = 0; k < c; k++)
                    planar[(k * h + y) * w + x] = image.Data[(y * w + x) * c + k];
        return TensorData.FromFloats(planar, 1, c, h, w);
    }
}
