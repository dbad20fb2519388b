using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.TestSupport;

namespace PotPowerShell.Core.Tests.Evaluation;

/// <summary>POT's simplified engine resizes images to the model input (src/PotPowerShell.Core/Evaluation/Engine/SimplifiedImageFit.cs).</summary>
public class SimplifiedImageFitTests
{
    // Two 6x4 images whose pixels differ everywhere, so a resize mixes distinct values.
    private static TempFolder Images(int channels, int width = 6, int height = 4)
    {
        var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("img"));
        for (int n = 0; n < 2; n++)
        {
            var pixels = Enumerable.Range(0, width * height * channels).Select(i => (byte)((i * 37 + n * 11) % 251)).ToArray();
            PngFiles.Save(tmp.File($"img/{n}.png"), width, height, channels, pixels);
        }
        return tmp;
    }

    private static TensorData Expected(string file, int channels, int width, int height, TensorLayout layout)
    {
        // POT's simplified engine reads with OpenCV: BGR.
        var image = ImagePipeline.Decode(File.ReadAllBytes(file), channels, ColorOrder.Bgr, file);
        var resized = ImagePipeline.Resize(image, new ResizeStep(width, height, 0, ResizeAspect.Stretch, Interpolation.Bilinear));
        return ImagePipeline.ToTensor(resized, layout);
    }

    [Fact]
    public void Images_of_another_size_are_resized_bilinearly_to_an_NCHW_input()
    {
        using var tmp = Images(3);
        var engine = SimplifiedImageFit.ToShape(EngineDefinition.Simplified(tmp.File("img")), new long[] { -1, 3, 3, 5 });
        using var data = engine.OpenDataset();
        for (int i = 0; i < 2; i++)
        {
            var tensor = data.Get(i).Inputs.Values.Single();
            var expected = Expected(tmp.File($"img/{i}.png"), 3, 5, 3, TensorLayout.Nchw);
            Assert.Equal(new long[] { 1, 3, 3, 5 }, tensor.Shape);
            Assert.Equal(expected.ToFloats(), tensor.ToFloats());
        }
        // The resize does mix pixels: the first output pixel lies between source columns 0 and 1 (x = 0.5 * 6/5 - 0.5 = 0.1).
        Assert.NotEqual(ImagePipeline.Decode(File.ReadAllBytes(tmp.File("img/0.png")), 3, ColorOrder.Bgr, "").Data[0], data.Get(0).Inputs.Values.Single().ToFloats()[0]);
        // The first channel is the blue one, as OpenCV gives it.
        var rgb = ImagePipeline.ToTensor(ImagePipeline.Resize(ImagePipeline.Decode(File.ReadAllBytes(tmp.File("img/0.png")), 3, ColorOrder.Rgb, ""),
            new ResizeStep(5, 3, 0, ResizeAspect.Stretch, Interpolation.Bilinear)), TensorLayout.Nchw).ToFloats();
        Assert.Equal(rgb.Skip(30).Take(15), data.Get(0).Inputs.Values.Single().ToFloats().Take(15));
    }

    [Fact]
    public void An_NHWC_grey_input_gets_one_channel_in_its_layout()
    {
        using var tmp = Images(1);
        var engine = SimplifiedImageFit.ToShape(EngineDefinition.Simplified(tmp.File("img")), new long[] { 1, 8, 9, 1 });
        using var data = engine.OpenDataset();
        var tensor = data.Get(1).Inputs.Values.Single();
        Assert.Equal(new long[] { 1, 8, 9, 1 }, tensor.Shape);
        Assert.Equal(Expected(tmp.File("img/1.png"), 1, 9, 8, TensorLayout.Nhwc).ToFloats(), tensor.ToFloats());
    }

    [Theory]
    [InlineData(new long[] { -1, 3, 4, 6 })]   // already the input's size
    [InlineData(new long[] { -1, 3, -1, -1 })] // dynamic height and width: images stay as they are
    [InlineData(new long[] { -1, 5, 4, 6 })]   // no layout follows from the shape: the engine stays as it is
    public void Images_that_need_no_resize_give_the_same_bytes_as_without_the_fit(long[] shape)
    {
        using var tmp = Images(3);
        using var plain = EngineDefinition.Simplified(tmp.File("img")).OpenDataset();
        using var fitted = SimplifiedImageFit.ToShape(EngineDefinition.Simplified(tmp.File("img")), shape).OpenDataset();
        for (int i = 0; i < 2; i++)
        {
            var a = plain.Get(i).Inputs.Values.Single();
            var b = fitted.Get(i).Inputs.Values.Single();
            Assert.Equal(a.Shape, b.Shape);
            Assert.Equal(a.ToFloats(), b.ToFloats());
        }
    }

    [Fact]
    public void The_model_file_gives_the_shape_and_npy_engines_are_left_alone()
    {
        using var tmp = Images(3);
        File.WriteAllBytes(tmp.File("m.onnx"), TestModels.Identity("batch", 3L, 2L, 3L));
        using var data = SimplifiedImageFit.ToModel(EngineDefinition.Simplified(tmp.File("img")), tmp.File("m.onnx")).OpenDataset();
        Assert.Equal(new long[] { 1, 3, 2, 3 }, data.Get(0).Inputs.Values.Single().Shape);

        NpyWriter.Save(tmp.File("x.npy"), new float[12], new long[] { 2, 6 }, "<f4");
        var npy = EngineDefinition.Simplified(tmp.File("x.npy"));
        Assert.Same(npy, SimplifiedImageFit.ToModel(npy, tmp.File("missing.onnx")));
    }
}
