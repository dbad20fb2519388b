namespace PotPowerShell.Core.Data;

/// <summary>
/// Where an image's pixels went in the model input: input x = image x * <see cref="ScaleX"/> + <see cref="OffsetX"/>
/// (likewise y), in continuous pixel coordinates (0 is the left edge of the first pixel), after the resizes, crops and
/// padding of the preprocessing. Predictions in input coordinates (boxes, class maps) go back to the image through it,
/// so a letterboxed input (an aspect-keeping resize, then padding) is scored where its objects are in the image.
/// </summary>
/// <param name="ImageWidth">The decoded image's width (upright, for a JPEG with an EXIF orientation read as BGR).</param>
public sealed record ImageGeometry(int ImageWidth, int ImageHeight, int InputWidth, int InputHeight, double ScaleX, double ScaleY, double OffsetX, double OffsetY)
{
    /// <summary>The image as decoded, before any step.</summary>
    public static ImageGeometry Of(int width, int height) => new(width, height, width, height, 1, 1, 0, 0);

    /// <summary>After a resize of the current input to <paramref name="width"/> x <paramref name="height"/>.</summary>
    public ImageGeometry Resized(int width, int height)
    {
        double sx = (double)width / InputWidth, sy = (double)height / InputHeight;
        return this with { InputWidth = width, InputHeight = height, ScaleX = ScaleX * sx, ScaleY = ScaleY * sy, OffsetX = OffsetX * sx, OffsetY = OffsetY * sy };
    }

    /// <summary>After the current input is placed at (<paramref name="left"/>, <paramref name="top"/>) of a <paramref name="width"/> x <paramref name="height"/> one (negative: cropped).</summary>
    public ImageGeometry Moved(int left, int top, int width, int height) =>
        this with { InputWidth = width, InputHeight = height, OffsetX = OffsetX + left, OffsetY = OffsetY + top };

    public double ImageX(double inputX) => (inputX - OffsetX) / ScaleX;

    public double ImageY(double inputY) => (inputY - OffsetY) / ScaleY;

    public double InputX(double imageX) => imageX * ScaleX + OffsetX;

    public double InputY(double imageY) => imageY * ScaleY + OffsetY;
}
