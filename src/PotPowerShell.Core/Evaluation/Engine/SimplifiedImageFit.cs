using Onnx;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Onnx;

namespace PotPowerShell.Core.Evaluation;

/// <summary>
/// POT's simplified engine reads an image folder to the model input: each image becomes as many channels as the input
/// has and is resized (bilinear, <see cref="ImagePipeline.Resize"/>) to the input's height x width, in the input's
/// layout. The layout comes from the input's shape [N, C, H, W] or [N, H, W, C]: a channel dimension of 1 or 3 at
/// position 1 is NCHW (tried first), at the last position NHWC. A height or width that is not fixed leaves images at
/// their own size; a shape from which no layout follows leaves the engine as it is (3 channels, NCHW).
/// Images already of the input's size give the same tensors as without the fit (the resize step returns them as they are).
/// </summary>
public static class SimplifiedImageFit
{
    /// <summary>
    /// <paramref name="engine"/> fitted to the model of <paramref name="modelPath"/> when it is a simplified engine over
    /// images and the model has one input; otherwise <paramref name="engine"/> itself (the model is not read).
    /// </summary>
    public static EngineDefinition ToModel(EngineDefinition engine, string modelPath)
    {
        if (!ReadsModel(engine)) return engine;
        var inputs = ModelInterface.DataInputsOf(modelPath);
        var dims = inputs.Count == 1 ? inputs[0].Type?.TensorType?.Shape?.Dim : null;
        if (dims == null) return engine;
        return ToShape(engine, dims.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue > 0 ? d.DimValue : -1).ToArray());
    }

    /// <summary>
    /// Whether <see cref="ToModel"/> reads the model for <paramref name="engine"/> (a simplified engine over images). A
    /// model it cannot read is an error of that model (ModelNotFound, ModelCorrupt ...): the pipelines that apply the
    /// fit report it as such, never ignore it (the fit rule, ARCHITECTURE.md "Errors").
    /// </summary>
    public static bool ReadsModel(EngineDefinition engine)
    {
        ArgumentNullException.ThrowIfNull(engine);
        return engine.IsSimplified && engine.Datasets.Any(d => d.Image != null);
    }

    /// <summary>The fit for an input shape (-1 for a dimension that is not fixed).</summary>
    public static EngineDefinition ToShape(EngineDefinition engine, IReadOnlyList<long> shape)
    {
        ArgumentNullException.ThrowIfNull(engine);
        if (!engine.IsSimplified) return engine;
        var datasets = engine.Datasets.Select(d => d.Image == null ? d : d with { Image = Options(d.Image, shape) }).ToList();
        return new EngineDefinition(engine.Source, engine.BaseFolder, datasets, engine.Metrics, engine.BatchSize, engine.Threads,
            engine.CacheMegabytes, isSimplified: true) { Warnings = engine.Warnings };
    }

    /// <summary><paramref name="image"/> with the channels, layout and resize of <paramref name="shape"/> (see the class).</summary>
    public static ImageOptions Options(ImageOptions image, IReadOnlyList<long> shape)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (shape.Count != 4) return image;
        static bool IsChannels(long d) => d is 1 or 3;
        TensorLayout layout;
        if (image.LayoutGiven) layout = image.Layout;
        else if (IsChannels(shape[1])) layout = TensorLayout.Nchw;
        else if (IsChannels(shape[3])) layout = TensorLayout.Nhwc;
        else return image;
        var (channels, height, width) = layout == TensorLayout.Nchw ? (shape[1], shape[2], shape[3]) : (shape[3], shape[1], shape[2]);
        // A given layout whose channel axis is not 1 or 3 does not fit this input: the images go as they are, and the
        // input's shape check names the mismatch.
        if (!IsChannels(channels)) return image;
        var steps = image.Steps;
        if (height > 0 && width > 0 && height <= int.MaxValue && width <= int.MaxValue)
            steps = steps.Append(new ResizeStep((int)width, (int)height, 0, ResizeAspect.Stretch, Interpolation.Bilinear)).ToList();
        return image with { Channels = (int)channels, Layout = layout, Steps = steps };
    }
}
