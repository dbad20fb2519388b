namespace PotPowerShell.Core.Data;

/// <summary>
/// Pillow's Image.resize with its BILINEAR, BICUBIC and LANCZOS filters (what torchvision's Resize does to a PIL image,
/// and Accuracy Checker's resize with use_pillow: true): a separable convolution whose filter is widened by the scale
/// when shrinking, so every source pixel counts (antialiasing), computed as Pillow computes 8-bit images: coefficients
/// in 22-bit fixed point, the horizontal pass first (over the rows the vertical pass reads), each pass rounded and
/// clipped to 0..255. Input values are read as bytes (rounded and clipped), so the step belongs before any normalization.
/// </summary>
internal static class PillowResize
{
    private const int PrecisionBits = 32 - 8 - 2;

    public static ImagePipeline.FloatImage Resize(ImagePipeline.FloatImage image, int width, int height, Interpolation filter)
    {
        var (support, kernel) = Filter(filter);
        int c = image.Channels;
        var (boundsX, kx, sizeX) = Coefficients(image.Width, width, support, kernel);
        var (boundsY, ky, sizeY) = Coefficients(image.Height, height, support, kernel);
        var src = new byte[image.Data.Length];
        for (int i = 0; i < src.Length; i++) src[i] = (byte)Math.Clamp(Math.Round(image.Data[i]), 0, 255);

        // The rows the vertical pass reads: the horizontal pass covers only them, as Pillow's does.
        int first = boundsY[0], last = boundsY[2 * (height - 1)] + boundsY[2 * (height - 1) + 1];
        byte[] rows = src;
        int rowsHeight = image.Height, rowOffset = 0;
        if (width != image.Width)
        {
            rowsHeight = last - first;
            rows = new byte[width * rowsHeight * c];
            for (int y = 0; y < rowsHeight; y++)
                for (int x = 0; x < width; x++)
                {
                    int start = boundsX[2 * x], count = boundsX[2 * x + 1];
                    for (int k = 0; k < c; k++)
                    {
                        long sum = 1L << (PrecisionBits - 1);
                        for (int i = 0; i < count; i++) sum += src[((y + first) * image.Width + start + i) * c + k] * (long)kx[x * sizeX + i];
                        rows[(y * width + x) * c + k] = Clip8(sum);
                    }
                }
            rowOffset = first;
        }
        if (height == image.Height)
            return new ImagePipeline.FloatImage(width, height, c, rows.Select(b => (float)b).ToArray());
        var dst = new float[width * height * c];
        for (int y = 0; y < height; y++)
        {
            int start = boundsY[2 * y] - rowOffset, count = boundsY[2 * y + 1];
            for (int x = 0; x < width; x++)
                for (int k = 0; k < c; k++)
                {
                    long sum = 1L << (PrecisionBits - 1);
                    for (int i = 0; i < count; i++) sum += rows[((start + i) * width + x) * c + k] * (long)ky[y * sizeY + i];
                    dst[(y * width + x) * c + k] = Clip8(sum);
                }
        }
        return new ImagePipeline.FloatImage(width, height, c, dst);
    }

    private static byte Clip8(long sum) => sum >= 255L << PrecisionBits ? (byte)255 : sum <= 0 ? (byte)0 : (byte)(sum >> PrecisionBits);

    private static (double Support, Func<double, double> Kernel) Filter(Interpolation filter) => filter switch
    {
        Interpolation.PillowBilinear => (1.0, x => Math.Abs(x) < 1 ? 1 - Math.Abs(x) : 0),
        Interpolation.PillowBicubic => (2.0, Bicubic),
        Interpolation.PillowLanczos => (3.0, x => x is >= -3 and < 3 ? Sinc(x) * Sinc(x / 3) : 0),
        _ => throw new ArgumentOutOfRangeException(nameof(filter), filter, "Not a Pillow filter."),
    };

    /// <summary>Pillow's bicubic kernel, a = -0.5.</summary>
    private static double Bicubic(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
        if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
        return 0;
    }

    private static double Sinc(double x) => x == 0 ? 1 : Math.Sin(x * Math.PI) / (x * Math.PI);

    /// <summary>
    /// Per output pixel: the first source pixel and how many it reads (bounds, in pairs), and their weights in fixed
    /// point, <c>size</c> per pixel: Pillow's precompute_coeffs and normalize_coeffs_8bpc.
    /// </summary>
    private static (int[] Bounds, int[] Weights, int Size) Coefficients(int inSize, int outSize, double support, Func<double, double> kernel)
    {
        double scale = (double)inSize / outSize, filterScale = Math.Max(scale, 1.0);
        support *= filterScale;
        int size = (int)Math.Ceiling(support) * 2 + 1;
        var bounds = new int[2 * outSize];
        var weights = new int[outSize * size];
        var w = new double[size];
        for (int o = 0; o < outSize; o++)
        {
            double center = (o + 0.5) * scale, total = 0, ss = 1.0 / filterScale;
            int min = Math.Max((int)(center - support + 0.5), 0);
            int count = Math.Min((int)(center + support + 0.5), inSize) - min;
            for (int i = 0; i < count; i++) total += w[i] = kernel((i + min - center + 0.5) * ss);
            for (int i = 0; i < count; i++)
            {
                double k = total != 0 ? w[i] / total : w[i];
                weights[o * size + i] = (int)(k < 0 ? -0.5 + k * (1 << PrecisionBits) : 0.5 + k * (1 << PrecisionBits));
            }
            bounds[2 * o] = min;
            bounds[2 * o + 1] = count;
        }
        return (bounds, weights, size);
    }
}
