using System.IO.Compression;
using PotPowerShell.Core.Data;
using PotPowerShell.Core.Evaluation;
using PotPowerShell.Core.Tests.Data;
using PotPowerShell.TestSupport;
// The core has an NpyWriter too (for benchmarks); these tests use the test one.

namespace PotPowerShell.Core.Tests.Evaluation;

public class DatasetTests
{
    private static EngineDefinition Engine(TempFolder tmp, string yaml)
    {
        File.WriteAllText(tmp.File("engine.yml"), yaml);
        return EngineDefinition.Load(tmp.File("engine.yml"));
    }

    [Theory]
    [InlineData("<f4")]
    [InlineData("<f2")]
    [InlineData("<i8")]
    [InlineData("<i4")]
    [InlineData("|u1")]
    public void Npy_folder_reads_each_dtype_lazily_item_by_item(string descr)
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("data"));
        var values = Enumerable.Range(0, 12).Select(i => i * 3 % 17).ToArray(); // 3 items of [2, 2]
        byte[] bytes = descr switch
        {
            "<f4" => NpyWriter.Encode(values.Select(v => (float)v).ToArray(), new long[] { 3, 2, 2 }, descr),
            "<f2" => NpyWriter.Encode(values.Select(v => (Half)v).ToArray(), new long[] { 3, 2, 2 }, descr),
            "<i8" => NpyWriter.Encode(values.Select(v => (long)v).ToArray(), new long[] { 3, 2, 2 }, descr),
            "<i4" => NpyWriter.Encode(values.ToArray(), new long[] { 3, 2, 2 }, descr),
            _ => NpyWriter.Encode(values.Select(v => (byte)v).ToArray(), new long[] { 3, 2, 2 }, descr),
        };
        File.WriteAllBytes(tmp.File("data/x.npy"), bytes);
        using var ds = Engine(tmp, "dataset:\n  data_source: data\n").OpenDataset();
        Assert.Equal(3, ds.Count);
        Assert.Equal(new[] { "x" }, ds.InputNames);
        Assert.False(ds.HasAnnotations);
        for (int i = 0; i < 3; i++)
        {
            var t = ds.Get(i).Inputs["x"];
            Assert.Equal(new long[] { 1, 2, 2 }, t.Shape);
            Assert.Equal(values.Skip(i * 4).Take(4).Select(v => (float)v).ToArray(), t.ToFloats());
        }
    }

    [Fact]
    public void Npz_archive_with_labels_array()
    {
        using var tmp = new TempFolder();
        using (var zip = ZipFile.Open(tmp.File("d.npz"), ZipArchiveMode.Create))
        {
            using (var s = zip.CreateEntry("input.npy").Open()) s.Write(NpyWriter.Encode(new[] { 1f, 2f, 3f, 4f }, new long[] { 2, 2 }, "<f4"));
            using (var s = zip.CreateEntry("labels.npy").Open()) s.Write(NpyWriter.Encode(new[] { 5L, 6L }, new long[] { 2 }, "<i8"));
        }
        var engine = Engine(tmp, "dataset:\n  data_source: d.npz\n");
        Assert.True(engine.HasAnnotations);
        using var ds = engine.OpenDataset();
        Assert.Equal(new[] { 3f, 4f }, ds.Get(1).Inputs["input"].ToFloats());
        Assert.Equal(6L, ds.Get(1).Annotation);
    }

    [Fact]
    public void Multi_input_model_maps_files_by_input_name()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("d"));
        NpyWriter.Save(tmp.File("d/first.npy"), new[] { 1f, 2f, 3f, 4f }, new long[] { 2, 2 }, "<f4");
        NpyWriter.Save(tmp.File("d/second.npy"), new[] { 10f, 20f, 30f, 40f }, new long[] { 2, 2 }, "<f4");
        using var ds = Engine(tmp, "dataset:\n  data_source: d\n  inputs:\n    a: first.npy\n    b: second.npy\n").OpenDataset();
        Assert.Equal(new[] { "a", "b" }, ds.InputNames);
        Assert.Equal(new[] { 30f, 40f }, ds.Get(1).Inputs["b"].ToFloats());
        Assert.Equal(new[] { 3f, 4f }, ds.Get(1).Inputs["a"].ToFloats());
    }

    [Fact]
    public void Text_labels_give_strings_per_line_in_utf8()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("d"));
        NpyWriter.Save(tmp.File("d/x.npy"), new float[6], new long[] { 3, 2 }, "<f4");
        File.WriteAllText(tmp.File("words.txt"), "straße\n日本\n \n", new System.Text.UTF8Encoding(true));
        var engine = Engine(tmp, "dataset:\n  data_source: d\n  labels: words.txt\n");
        using var ds = engine.OpenDataset();
        Assert.Equal("straße", ds.Get(0).Annotation);
        Assert.Equal("日本", ds.Get(1).Annotation);
        Assert.Equal(" ", ds.Get(2).Annotation); // a label of one space is kept
    }

    [Fact]
    public void Label_count_mismatch_is_an_error()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("d"));
        NpyWriter.Save(tmp.File("d/x.npy"), new float[6], new long[] { 3, 2 }, "<f4");
        File.WriteAllText(tmp.File("l.txt"), "a\nb\n");
        var e = Assert.Throws<PotException>(() => Engine(tmp, "dataset:\n  data_source: d\n  labels: l.txt\n").OpenDataset());
        Assert.Equal("DatasetCountMismatch", e.ErrorId);
    }

    [Fact]
    public void Npy_fortran_order_and_unsupported_dtype_are_refused_when_opened()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("f"));
        File.WriteAllBytes(tmp.File("f/x.npy"), NpyWriter.Encode(new[] { 1f, 2f }, new long[] { 1, 2 }, "<f4", fortran: true));
        Assert.Equal("NpyFortranOrder", Assert.Throws<PotException>(() => Engine(tmp, "dataset:\n  data_source: f\n").OpenDataset()).ErrorId);
        Directory.CreateDirectory(tmp.File("c"));
        File.WriteAllBytes(tmp.File("c/x.npy"), NpyWriter.Encode(new[] { 1f, 2f }, new long[] { 2 }, "<c8"));
        Assert.Equal("NpyUnsupportedType", Assert.Throws<PotException>(() => Engine(tmp, "dataset:\n  data_source: c\n").OpenDataset()).ErrorId);
    }

    [Fact]
    public void Truncated_npy_is_reported_when_opened()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("t"));
        var bytes = NpyWriter.Encode(new[] { 1f, 2f, 3f, 4f }, new long[] { 2, 2 }, "<f4");
        File.WriteAllBytes(tmp.File("t/x.npy"), bytes[..^4]);
        Assert.Equal("NpyInvalid", Assert.Throws<PotException>(() => Engine(tmp, "dataset:\n  data_source: t\n").OpenDataset()).ErrorId);
    }

    [Fact]
    public void Subsample_is_seeded_and_keeps_item_order()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("d"));
        NpyWriter.Save(tmp.File("d/x.npy"), Enumerable.Range(0, 20).Select(i => (float)i).ToArray(), new long[] { 20, 1 }, "<f4");
        string yaml = "dataset:\n  data_source: d\n  subsample_size: 5\n  subsample_seed: 7\n";
        float[] Pick() { using var ds = Engine(tmp, yaml).OpenDataset(); return Enumerable.Range(0, ds.Count).Select(i => ds.Get(i).Inputs["x"].ToFloats()[0]).ToArray(); }
        var a = Pick();
        Assert.Equal(5, a.Length);
        Assert.Equal(a, Pick());
        Assert.Equal(a.OrderBy(v => v), a);
        Assert.Equal(5, a.Distinct().Count());
    }

    // --- images ---

    /// <summary>A 4x2 RGB image whose red = 10*x + 100*y, green = 1 + x, blue = 200 - 10*x.</summary>
    private static byte[] Gradient(int w, int h)
    {
        var p = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int o = (y * w + x) * 3;
                p[o] = (byte)(10 * x + 100 * y);
                p[o + 1] = (byte)(1 + x);
                p[o + 2] = (byte)(200 - 10 * x);
            }
        return p;
    }

    [Fact]
    public void Image_folder_with_file_label_annotations_decodes_png_in_nchw()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("img"));
        PngFiles.Save(tmp.File("img/a.png"), 4, 2, 3, Gradient(4, 2));
        PngFiles.Save(tmp.File("img/b.png"), 4, 2, 3, Enumerable.Repeat((byte)7, 24).ToArray());
        File.WriteAllText(tmp.File("val.txt"), "# file label\nb.png 3\na.png 1\n\n");
        var engine = Engine(tmp, "dataset:\n  data_source: img\n  annotation_file: val.txt\n");
        Assert.Equal(DatasetFormat.Images, engine.Datasets[0].Format);
        using var ds = engine.OpenDataset();
        Assert.Equal(2, ds.Count);
        Assert.Equal("3", ds.Get(0).Annotation); // annotation file order: b first
        var a = ds.Get(1);
        Assert.Equal("1", a.Annotation);
        var t = a.Inputs["image"];
        Assert.Equal(new long[] { 1, 3, 2, 4 }, t.Shape);
        var f = t.ToFloats();
        // Red plane, row 1 (y = 1), x = 0..3: 100, 110, 120, 130.
        Assert.Equal(new[] { 100f, 110f, 120f, 130f }, f[4..8]);
        // Green plane starts at 8: row 0 = 1, 2, 3, 4.
        Assert.Equal(new[] { 1f, 2f, 3f, 4f }, f[8..12]);
        // Blue plane row 0: 200, 190, 180, 170.
        Assert.Equal(new[] { 200f, 190f, 180f, 170f }, f[16..20]);
    }

    [Fact]
    public void Csv_annotations_with_quotes_and_chosen_columns()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("img"));
        PngFiles.Save(tmp.File("img/x y.png"), 1, 1, 1, new byte[] { 9 });
        PngFiles.Save(tmp.File("img/z.png"), 1, 1, 1, new byte[] { 5 });
        File.WriteAllText(tmp.File("ann.csv"), "id,picture,word\n1,\"x y.png\",\"hello, world\"\n2,z.png,\"say \"\"hi\"\"\"\n");
        var engine = Engine(tmp, "dataset:\n  data_source: img\n  annotation_file: ann.csv\n  file_column: picture\n  label_column: word\n  channels: 1\n");
        using var ds = engine.OpenDataset();
        Assert.Equal("hello, world", ds.Get(0).Annotation);
        Assert.Equal("say \"hi\"", ds.Get(1).Annotation);
        Assert.Equal(new[] { 9f }, ds.Get(0).Inputs["image"].ToFloats());
        Assert.Equal(new long[] { 1, 1, 1, 1 }, ds.Get(0).Inputs["image"].Shape);
    }

    [Fact]
    public void Csv_default_columns_are_found_by_name()
    {
        using var tmp = new TempFolder();
        File.WriteAllText(tmp.File("a.csv"), "Label,File\ncat,1.png\n");
        var rows = AnnotationFile.Read(tmp.File("a.csv"));
        Assert.Equal("1.png", rows[0].File);
        Assert.Equal("cat", rows[0].Label);
    }

    [Fact]
    public void Missing_image_named_by_the_annotation_file_is_reported()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("img"));
        PngFiles.Save(tmp.File("img/a.png"), 1, 1, 3, new byte[] { 1, 2, 3 });
        File.WriteAllText(tmp.File("val.txt"), "a.png 0\ngone.png 1\n");
        var e = Assert.Throws<PotException>(() => Engine(tmp, "dataset:\n  data_source: img\n  annotation_file: val.txt\n").OpenDataset());
        Assert.Equal("ImageNotFound", e.ErrorId);
        Assert.Contains("gone.png", e.Message);
    }

    [Fact]
    public void Undecodable_image_names_the_file()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("img"));
        File.WriteAllText(tmp.File("img/bad.png"), "not an image");
        using var ds = Engine(tmp, "dataset:\n  data_source: img\n  format: images\n").OpenDataset();
        var e = Assert.Throws<PotException>(() => ds.Get(0));
        Assert.Equal("ImageUnreadable", e.ErrorId);
        Assert.Contains("bad.png", e.Message);
    }

    [Fact]
    public void Image_labels_from_npy_follow_file_name_order()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("img"));
        PngFiles.Save(tmp.File("img/b.png"), 1, 1, 1, new byte[] { 2 });
        PngFiles.Save(tmp.File("img/a.png"), 1, 1, 1, new byte[] { 1 });
        NpyWriter.Save(tmp.File("labels.npy"), new[] { 10L, 20L }, new long[] { 2 }, "<i8");
        using var ds = Engine(tmp, "dataset:\n  data_source: img\n  labels: labels.npy\n  channels: 1\n").OpenDataset();
        Assert.Equal(1f, ds.Get(0).Inputs["image"].ToFloats()[0]);
        Assert.Equal(10L, ds.Get(0).Annotation);
        Assert.Equal(20L, ds.Get(1).Annotation);
    }

    [Fact]
    public void Bilinear_resize_matches_hand_computed_pixels()
    {
        // 2x1 grey image [0, 100] to width 4: half-pixel centres give source x = -0.25, 0.25, 0.75, 1.25
        // -> clamp 0 -> 0; 0.25 -> 25; 0.75 -> 75; 1.25 -> clamp to the last pixel -> 100.
        var img = new ImagePipeline.FloatImage(2, 1, 1, new[] { 0f, 100f });
        var r = ImagePipeline.Resize(img, new ResizeStep(4, 1, 0, ResizeAspect.Stretch, Interpolation.Bilinear));
        Assert.Equal(new[] { 0f, 25f, 75f, 100f }, r.Data);
        // 4x1 [0, 10, 20, 30] to width 2: source x = 0.5, 2.5 -> 5, 25 (no antialiasing).
        var d = ImagePipeline.Resize(new ImagePipeline.FloatImage(4, 1, 1, new[] { 0f, 10f, 20f, 30f }), new ResizeStep(2, 1, 0, ResizeAspect.Stretch, Interpolation.Bilinear));
        Assert.Equal(new[] { 5f, 25f }, d.Data);
        // 2x2 to 1x1: the centre, average of all four.
        var c = ImagePipeline.Resize(new ImagePipeline.FloatImage(2, 2, 1, new[] { 0f, 10f, 20f, 30f }), new ResizeStep(1, 1, 0, ResizeAspect.Stretch, Interpolation.Bilinear));
        Assert.Equal(new[] { 15f }, c.Data);
    }

    [Fact]
    public void Nearest_resize_and_aspect_keeping_sizes()
    {
        // 3x1 [1, 2, 3] to width 2: floor((x + 0.5) * 1.5) = 0, 2.
        var n = ImagePipeline.Resize(new ImagePipeline.FloatImage(3, 1, 1, new[] { 1f, 2f, 3f }), new ResizeStep(2, 1, 0, ResizeAspect.Stretch, Interpolation.Nearest));
        Assert.Equal(new[] { 1f, 3f }, n.Data);
        Assert.Equal((4, 6), ImagePipeline.TargetSize(new ResizeStep(4, 4, 4, ResizeAspect.ShorterSide, Interpolation.Bilinear), 10, 15));
        Assert.Equal((6, 4), ImagePipeline.TargetSize(new ResizeStep(4, 4, 4, ResizeAspect.ShorterSide, Interpolation.Bilinear), 15, 10));
        Assert.Equal((4, 2), ImagePipeline.TargetSize(new ResizeStep(4, 4, 4, ResizeAspect.LongerSide, Interpolation.Bilinear), 10, 5));
        // Within 1280 x 800 (Accuracy Checker's fit_to_window, scale min(1280 / w, 800 / h)): 640x480 by 5/3, 1000x300 by 1.28.
        Assert.Equal((1066, 800), ImagePipeline.TargetSize(new ResizeStep(1280, 800, 0, ResizeAspect.LongerSide, Interpolation.Bilinear), 640, 480));
        Assert.Equal((1280, 384), ImagePipeline.TargetSize(new ResizeStep(1280, 800, 0, ResizeAspect.LongerSide, Interpolation.Bilinear), 1000, 300));
        // Faster R-CNN's rule with sides 800 and 1333: 640x480's shorter side to 800 keeps the longer within 1333;
        // 1000x300's would make it 2666, so it fits within 1333 instead. With one size both bounds are that size.
        Assert.Equal((1066, 800), ImagePipeline.TargetSize(new ResizeStep(1333, 800, 0, ResizeAspect.ShorterWithinLonger, Interpolation.Bilinear), 640, 480));
        Assert.Equal((1333, 399), ImagePipeline.TargetSize(new ResizeStep(1333, 800, 0, ResizeAspect.ShorterWithinLonger, Interpolation.Bilinear), 1000, 300));
        Assert.Equal((1333, 999), ImagePipeline.TargetSize(new ResizeStep(0, 0, 1333, ResizeAspect.ShorterWithinLonger, Interpolation.Bilinear), 640, 480));
        Assert.Equal((500, 500), ImagePipeline.TargetSize(new ResizeStep(0, 0, 500, ResizeAspect.ShorterWithinLonger, Interpolation.Bilinear), 20, 20));
    }

    [Fact]
    public void Full_pipeline_resize_crop_normalize_bgr_nhwc_against_hand_computed_values()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("img"));
        // 4x2 RGB gradient (see Gradient), resized (nearest) to 2x2 then center-cropped to 2x1... use values we can follow:
        PngFiles.Save(tmp.File("img/a.png"), 4, 2, 3, Gradient(4, 2));
        File.WriteAllText(tmp.File("l.txt"), "0\n");
        var engine = Engine(tmp, string.Join("\n",
            "dataset:",
            "  data_source: img",
            "  labels: l.txt",
            "  color_order: BGR",
            "  layout: NHWC",
            "  preprocessing:",
            "    - type: resize",
            "      width: 2",
            "      height: 2",
            "      interpolation: nearest",
            "    - type: center_crop",
            "      width: 1",
            "      height: 2",
            "    - type: normalization",
            "      mean: [100, 0, 50]",
            "      std: [2, 1, 10]",
            "    - type: scale",
            "      value: 0.5",
            ""));
        using var ds = engine.OpenDataset();
        var t = ds.Get(0).Inputs["image"];
        Assert.Equal(new long[] { 1, 2, 1, 3 }, t.Shape);
        // Nearest 4->2 picks source x = floor((x + 0.5) * 2) = 1, 3; rows 0, 1. Center crop of width 1 keeps x = 0 -> source x = 1.
        // Pixel (x=1, y=0) RGB = (10, 2, 190) -> BGR (190, 2, 10); (x=1, y=1) RGB = (110, 2, 190) -> BGR (190, 2, 110).
        // Normalise with mean/std in BGR order, then halve.
        float N(float v, float mean, float std) => (v - mean) / std * 0.5f;
        Assert.Equal(new[]
        {
            N(190, 100, 2), N(2, 0, 1), N(10, 50, 10),
            N(190, 100, 2), N(2, 0, 1), N(110, 50, 10),
        }, t.ToFloats());
    }

    [Fact]
    public void Crop_larger_than_the_image_says_to_resize_first()
    {
        var e = Assert.Throws<PotException>(() => ImagePipeline.CenterCrop(new ImagePipeline.FloatImage(2, 2, 1, new float[4]), new CenterCropStep(3, 3), "x.png"));
        Assert.Equal("ImageTooSmallForCrop", e.ErrorId);
        Assert.Contains("resize", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    // Cutting 7 -> 4 leaves 3: down starts at 1, half to even at round(1.5) = 2; 9 -> 4 leaves 5: both at 2 (round(2.5) = 2).
    [InlineData(7, CropRounding.Down, 1)]
    [InlineData(7, CropRounding.HalfEven, 2)]
    [InlineData(9, CropRounding.Down, 2)]
    [InlineData(9, CropRounding.HalfEven, 2)]
    public void Crop_offsets_are_rounded_down_or_half_to_even_as_Pillows_crop_in_Accuracy_Checker(int width, CropRounding rounding, int left)
    {
        var row = Enumerable.Range(0, width).Select(x => (float)x).ToArray();
        var cut = ImagePipeline.CenterCrop(new ImagePipeline.FloatImage(width, 1, 1, row), new CenterCropStep(4, 1) { Rounding = rounding }, "x.png");
        Assert.Equal(Enumerable.Range(left, 4).Select(x => (float)x), cut.Data);
    }

    [Fact]
    public void Padding_with_one_value_per_channel_fills_each_channel_with_its_own()
    {
        // A 1x1 RGB pixel (10, 20, 30) padded to 3x1 in the middle with (1, 2, 3): pixel values interleaved by channel.
        var padded = ImagePipeline.Pad(new ImagePipeline.FloatImage(1, 1, 3, new float[] { 10, 20, 30 }),
            new PaddingStep(3, 1, 1, PadPosition.Center) { ChannelValues = new float[] { 1, 2, 3 } });
        Assert.Equal(new float[] { 1, 2, 3, 10, 20, 30, 1, 2, 3 }, padded.Data);
        var e = Assert.Throws<PotException>(() => ImagePipeline.Pad(new ImagePipeline.FloatImage(1, 1, 1, new float[] { 10 }),
            new PaddingStep(3, 1, 1, PadPosition.Center) { ChannelValues = new float[] { 1, 2, 3 } }));
        Assert.Equal("PaddingChannels", e.ErrorId);
    }

    [Fact]
    public void Bmp_files_are_read_too()
    {
        using var tmp = new TempFolder();
        Directory.CreateDirectory(tmp.File("img"));
        File.WriteAllBytes(tmp.File("img/p.bmp"), Bmp1x1(30, 20, 10));
        using var ds = Engine(tmp, "dataset:\n  data_source: img\n").OpenDataset();
        Assert.Equal(new[] { 30f, 20f, 10f }, ds.Get(0).Inputs["image"].ToFloats());
    }

    /// <summary>A 1x1 24-bit BMP (pixels stored BGR, rows padded to 4 bytes).</summary>
    private static byte[] Bmp1x1(byte r, byte g, byte b)
    {
        using var ms = new MemoryStream();
        using var w = new BinaryWriter(ms);
        w.Write((byte)'B'); w.Write((byte)'M'); w.Write(14 + 40 + 4); w.Write(0); w.Write(14 + 40);
        w.Write(40); w.Write(1); w.Write(1); w.Write((short)1); w.Write((short)24); w.Write(0); w.Write(4); w.Write(2835); w.Write(2835); w.Write(0); w.Write(0);
        w.Write(b); w.Write(g); w.Write(r); w.Write((byte)0);
        return ms.ToArray();
    }
}

public class CachedDatasetTests
{
    private sealed class ListDataset(List<DataItem> items) : IDataset
    {
        public string Source => "list";
        public int Count => items.Count;
        public IReadOnlyList<string> InputNames { get; } = new[] { "a", "b" };
        public bool HasAnnotations => true;
        public int Reads { get; private set; }
        public DataItem Get(int index) { Reads++; return items[index]; }
    }

    private static DataItem Item(int i, int width) => new(i, new Dictionary<string, TensorData>
    {
        ["a"] = TensorData.FromFloats(Enumerable.Range(0, width).Select(k => (float)(i * 10 + k)).ToArray(), 1, width),
        ["b"] = new TensorData(TensorElementKind.Int64, new long[] { 1, 1 }, new long[] { i }),
    }, (long)i);

    [Fact]
    public void Packs_items_up_to_the_budget_and_gives_them_back_unchanged()
    {
        var items = Enumerable.Range(0, 10).Select(i => Item(i, 3)).ToList();
        items[7] = Item(7, 5); // a different shape cannot share the packed layout: kept as it came
        var inner = new ListDataset(items);
        // Each packed item costs 3*4 + 8 bytes of payload + 32 + 24 (boxed label) = 76 bytes: 6 fit in 460.
        var cache = new CachedDataset(inner, 460);
        for (int pass = 0; pass < 2; pass++)
            for (int i = 0; i < 10; i++)
            {
                var got = cache.Get(i);
                Assert.Equal(i, got.Index);
                Assert.Equal((long)i, got.Annotation);
                Assert.Equal(items[i].Inputs["a"].ToFloats(), got.Inputs["a"].ToFloats());
                Assert.Equal(items[i].Inputs["a"].Shape, got.Inputs["a"].Shape);
                Assert.Equal(new long[] { i }, (long[])got.Inputs["b"].Data);
            }
        Assert.Equal(6, cache.CachedItems);
        Assert.True(cache.CachedBytes <= 460);
        Assert.Equal(10 + 4, inner.Reads); // the second pass re-read only the 4 items beyond the budget
        Assert.Equal(new[] { "a", "b" }, cache.Layout!.Select(s => s.Name));
    }
}
