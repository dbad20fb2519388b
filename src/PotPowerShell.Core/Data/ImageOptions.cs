namespace PotPowerShell.Core.Data;

/// <summary>One image preprocessing step, applied in order to an image held as float values in height x width x channels.</summary>
public abstract record PreprocessingStep;

public enum ResizeAspect
{
    /// <summary>To exactly width x height.</summary>
    Stretch,
    /// <summary>The shorter side becomes size, keeping the aspect ratio (the usual 'resize 256' before a crop).</summary>
    ShorterSide,
    /// <summary>The longer side becomes size, keeping the aspect ratio; with width and height, the image fits within them.</summary>
    LongerSide,
    /// <summary>
    /// Faster R-CNN's rule (its min_size and max_size; Accuracy Checker's frcnn_keep_aspect_ratio): the shorter side
    /// becomes the smaller of width and height (or size), unless the longer side would then pass the larger: then the
    /// image fits within it.
    /// </summary>
    ShorterWithinLonger,
}

public enum Interpolation
{
    /// <summary>OpenCV's INTER_LINEAR: half-pixel centres, two neighbours, no antialiasing.</summary>
    Bilinear,
    Nearest,
    /// <summary>Pillow's BILINEAR, BICUBIC and LANCZOS (antialiased when shrinking; Data/PillowResize.cs).</summary>
    PillowBilinear,
    PillowBicubic,
    PillowLanczos,
}

public sealed record ResizeStep(int Width, int Height, int Size, ResizeAspect Aspect, Interpolation Interpolation) : PreprocessingStep;

/// <summary>How a central crop's offset, half of what it cuts away, is rounded when that is odd.</summary>
public enum CropRounding
{
    /// <summary>Down: OpenCV-style slicing, Accuracy Checker's crop and POT's central_fraction.</summary>
    Down,
    /// <summary>To the even neighbour (Python's round): Accuracy Checker's crop with use_pillow: true.</summary>
    HalfEven,
}

/// <summary>A step that cuts a central region, its offsets rounded as <see cref="Rounding"/> says.</summary>
public abstract record CentralCropStep : PreprocessingStep
{
    public CropRounding Rounding { get; init; }
}

/// <summary>Cuts the central width x height region.</summary>
public sealed record CenterCropStep(int Width, int Height) : CentralCropStep;

/// <summary>
/// Cuts the central <paramref name="Fraction"/> of each side, as POT's simplified engine's central_fraction and
/// Accuracy Checker's crop with central_fraction do: int(side x fraction) pixels (at least one).
/// </summary>
public sealed record CentralFractionStep(double Fraction) : CentralCropStep;

/// <summary>(value - mean[c]) / std[c]; one value for all channels or one per channel.</summary>
public sealed record NormalizationStep(float[] Mean, float[] Std) : PreprocessingStep;

/// <summary>value * factor (e.g. 1/255).</summary>
public sealed record ScaleStep(float Factor) : PreprocessingStep;

/// <summary>Where padding puts the image: in the middle (the extra split, the odd pixel right or below) or at a corner.</summary>
public enum PadPosition
{
    Center,
    LeftTop,
    RightBottom,
}

/// <summary>Pads the image with <paramref name="Value"/> to at least <paramref name="Width"/> x <paramref name="Height"/> (a larger image is kept as it is).</summary>
public sealed record PaddingStep(int Width, int Height, float Value, PadPosition Position) : PreprocessingStep
{
    /// <summary>
    /// One value per channel instead of <see cref="Value"/> (Accuracy Checker's pad_value '123.675, 116.28, 103.53':
    /// padding with the mean, which a later normalization makes 0). Null = <see cref="Value"/> everywhere.
    /// </summary>
    public float[]? ChannelValues { get; init; }

    public bool Equals(PaddingStep? other) =>
        other is not null && (Width, Height, Value, Position) == (other.Width, other.Height, other.Value, other.Position)
        && (ChannelValues ?? Array.Empty<float>()).SequenceEqual(other.ChannelValues ?? Array.Empty<float>());

    public override int GetHashCode() => HashCode.Combine(Width, Height, Value, Position, ChannelValues?.Length);
}

public enum ColorOrder
{
    Rgb,
    Bgr,
}

public enum TensorLayout
{
    Nchw,
    Nhwc,
}

/// <summary>How images become a model input.</summary>
/// <param name="Channels">3 (colour) or 1 (grey).</param>
/// <param name="ColorOrder">Channel order right after decoding, so mean/std lists follow it.</param>
public sealed record ImageOptions(int Channels, ColorOrder ColorOrder, TensorLayout Layout, IReadOnlyList<PreprocessingStep> Steps)
{
    /// <summary>True when the engine gave the layout (a simplified engine's layout:), so fitting to a model keeps it.</summary>
    public bool LayoutGiven { get; init; }

    /// <summary>Model inputs fed beside the image, each item alike (see <see cref="OtherInput"/>).</summary>
    public IReadOnlyList<OtherInput> OtherInputs { get; init; } = Array.Empty<OtherInput>();
}

/// <summary>
/// A model input fed beside the image: with <see cref="Constant"/> null, the decoded image's [height, width] (Accuracy
/// Checker's ORIG_IMAGE_INFO, which ONNX Model Zoo's YOLOv3 takes to give its boxes in the image's pixels); else that
/// array for every item (CONST_INPUT). Items hold it with an item axis of 1 in front, as they hold the image.
/// </summary>
public sealed record OtherInput(string Name, TensorData? Constant);
