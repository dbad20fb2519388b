namespace PotPowerShell.TestSupport;

/// <summary>
/// Text-line images for PaddleOCR's models in the benches (bench/Bench-DefaultQuantization.ps1, bench/Bench-Quality.ps1),
/// made from the digits sample: lines of four 8x8 digits upscaled 6x into 3x48x192, dark ink on white as text images
/// are (PaddleOCR's normalization maps white to 1 and black to -1; the sample's digits are in [-1, 1] with ink high).
/// </summary>
public static class OcrTextLines
{
    /// <summary>
    /// <paramref name="count"/> lines from <paramref name="available"/> digits of <paramref name="digits"/> (64 values
    /// each). With <paramref name="rotateOdd"/>, odd lines are rotated 180 degrees; <paramref name="rotated"/> (length
    /// <paramref name="count"/>) gets 1 for a rotated line and 0 otherwise. Lines repeat after available / 4 of them,
    /// unless <paramref name="distinct"/> (see <see cref="Digit"/>).
    /// </summary>
    public static float[] Make(float[] digits, int available, int count, long[] rotated, bool rotateOdd = true, bool distinct = false)
    {
        ArgumentNullException.ThrowIfNull(digits);
        ArgumentNullException.ThrowIfNull(rotated);
        var lines = new float[count * 3 * 48 * 192];
        for (int k = 0; k < count; k++)
        {
            bool flip = rotateOdd && k % 2 == 1;
            rotated[k] = flip ? 1 : 0;
            for (int d = 0; d < 4; d++)
            {
                int item = Digit(k, d, available, distinct);
                for (int y = 0; y < 48; y++)
                    for (int x = 0; x < 48; x++)
                    {
                        float v = -digits[item * 64 + (y / 6) * 8 + x / 6];
                        int oy = flip ? 47 - y : y, ox = flip ? 191 - (d * 48 + x) : d * 48 + x;
                        for (int c = 0; c < 3; c++) lines[((k * 3 + c) * 48 + oy) * 192 + ox] = v;
                    }
            }
        }
        return lines;
    }

    /// <summary>
    /// <paramref name="count"/> pages for PaddleOCR's text detector, [count, 3, size, size], from the digits of
    /// <paramref name="digits"/> as <see cref="Make"/> draws them but smaller, as a page shows text: rows of digits
    /// upscaled 3x (24 pixels high, 3 apart) in dark ink on a light page (its grey level from 0.85 to 1 by page), each row
    /// starting a little further in; normalized as the detector reads images (pixels in [0, 1] less ImageNet's mean, over
    /// its standard deviation). Text lines of <see cref="Make"/> stacked are not text to the detector: its FP32 map of
    /// such pages is empty, and the outputs of any two models then compare as noise.
    /// </summary>
    public static float[] DetectorPages(float[] digits, int available, int count, int size = 192)
    {
        ArgumentNullException.ThrowIfNull(digits);
        float[] mean = { 0.485f, 0.456f, 0.406f }, std = { 0.229f, 0.224f, 0.225f };
        const int Scale = 3, Glyph = 8 * Scale, Gap = 3, RowStep = Glyph + 12;
        var pages = new float[count * 3 * size * size];
        int next = 0;
        for (int page = 0; page < count; page++)
        {
            var grey = new float[size * size];
            Array.Fill(grey, 0.85f + 0.15f * (page % 4) / 3);
            for (int row = 0, y = 12; y + Glyph <= size - 4; row++, y += RowStep)
                for (int x = 8 + (page * 7 + row * 13) % 24; x + Glyph <= size - 4; x += Glyph + Gap)
                {
                    int item = next++ % available;
                    for (int gy = 0; gy < Glyph; gy++)
                        for (int gx = 0; gx < Glyph; gx++)
                        {
                            float ink = (digits[item * 64 + (gy / Scale) * 8 + gx / Scale] + 1) / 2;
                            ref float p = ref grey[(y + gy) * size + x + gx];
                            p = p * (1 - ink) + 0.1f * ink;
                        }
                }
            for (int c = 0; c < 3; c++)
                for (int i = 0; i < grey.Length; i++) pages[(page * 3 + c) * size * size + i] = (grey[i] - mean[c]) / std[c];
        }
        return pages;
    }

    /// <summary>The text of each line <see cref="Make"/> draws: the labels of its four digits.</summary>
    public static string[] Texts(long[] labels, int count, bool distinct = false)
    {
        ArgumentNullException.ThrowIfNull(labels);
        return Enumerable.Range(0, count).Select(k => string.Concat(Enumerable.Range(0, 4).Select(d => labels[Digit(k, d, labels.Length, distinct)].ToString(System.Globalization.CultureInfo.InvariantCulture)))).ToArray();
    }

    /// <summary>
    /// The digit at place <paramref name="d"/> of line <paramref name="k"/>: consecutive digits, so the lines repeat
    /// after available / 4. With <paramref name="distinct"/> the c-th round of lines takes every (2c + 1)-th digit
    /// instead (the first round is the same), so a line's first digit names its place in a round and its second digit
    /// the round: no two lines alike for up to available / 2 rounds.
    /// </summary>
    private static int Digit(int k, int d, int available, bool distinct) =>
        (k * 4 + d * (distinct ? 1 + 2 * (k * 4 / available) : 1)) % available;
}
