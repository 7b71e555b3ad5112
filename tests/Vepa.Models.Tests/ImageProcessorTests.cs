using static TorchSharp.torch;

namespace Vepa.Models.Tests;

public class ImageProcessorTests
{
    private static readonly Dictionary<string, Tensor> Expected = VisionFixtures.Load(Path.Combine(VisionFixtures.Processor, "expected.safetensors"));

    private static RgbImage Image(string name) => RgbImage.FromFile(Path.Combine(VisionFixtures.Images, name + ".png"));

    public static TheoryData<string> Names() => [.. VisionFixtures.ImageNames];

    [Theory]
    [MemberData(nameof(Names))]
    public void Resize_matches_Pillow_bicubic_byte_for_byte(string name)
    {
        var processor = Qwen2VLImageProcessor.FromPretrained(VisionFixtures.Processor);
        var resized = processor.Resize(Image(name));
        var expected = Expected[name + ".resized"];
        resized.Height.Should().Be((int)expected.shape[0]);
        resized.Width.Should().Be((int)expected.shape[1]);
        var want = expected.data<byte>().ToArray();
        var got = resized.Pixels.ToArray();
        int mismatches = want.Where((b, i) => b != got[i]).Count();
        mismatches.Should().Be(0, $"{name}: {mismatches} of {want.Length} resized bytes differ from PIL");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Pixel_values_and_grid_match_the_reference_processor_exactly(string name)
    {
        using var scope = NewDisposeScope();
        var processor = Qwen2VLImageProcessor.FromPretrained(VisionFixtures.Processor);
        using var batch = processor.Process([Image(name)]);
        batch.ImageGridThw.data<long>().ToArray().Should().Equal(Expected[name + ".grid_thw"].data<long>().ToArray());
        var want = Expected[name + ".pixel_values"];
        batch.PixelValues.shape.Should().Equal(want.shape);
        (batch.PixelValues - want).abs().max().item<float>().Should().Be(0f);
    }

    [Fact]
    public void Several_images_concatenate_their_patches_in_order()
    {
        using var scope = NewDisposeScope();
        var processor = Qwen2VLImageProcessor.FromPretrained(VisionFixtures.Processor);
        string[] names = ["img_200x90", "img_12x11", "img_50x37"];
        using var batch = processor.Process(names.Select(Image).ToArray());
        var want = cat(names.Select(n => Expected[n + ".pixel_values"]).ToArray(), 0);
        (batch.PixelValues - want).abs().max().item<float>().Should().Be(0f);
        batch.ImageGridThw.data<long>().ToArray().Should().Equal(names.SelectMany(n => Expected[n + ".grid_thw"].data<long>().ToArray()));
        batch.Count.Should().Be(3);
    }

    [Fact]
    public void Decoding_a_png_gives_the_pixels_PIL_reads()
    {
        // img_84x56 needs no resize, so the reference's "resized" bytes are PIL's decoding of the file.
        var image = Image("img_84x56");
        image.Pixels.ToArray().Should().Equal(Expected["img_84x56.resized"].data<byte>().ToArray());
    }

    [Theory]
    [InlineData("decode_grey.png")]
    [InlineData("decode_rgba.png")]
    [InlineData("decode_photo.jpg")]
    public void Grey_RGBA_and_JPEG_files_decode_to_the_RGB_bytes_PIL_gives(string file)
    {
        var image = RgbImage.FromFile(Path.Combine(VisionFixtures.Images, file));
        var want = Expected["decode." + file];
        (image.Height, image.Width).Should().Be(((int)want.shape[0], (int)want.shape[1]));
        var expected = want.data<byte>().ToArray();
        var got = image.Pixels.ToArray();
        int maxDiff = expected.Select((b, i) => Math.Abs(b - got[i])).Max();
        maxDiff.Should().Be(0, $"{file}: largest difference from PIL's decoding is {maxDiff} levels");
    }

    [Theory]
    [InlineData(37, 50, 3136, 12544, 56, 84)] // enlarged to reach min_pixels
    [InlineData(90, 200, 3136, 12544, 56, 140)] // shrunk below max_pixels
    [InlineData(1080, 1920, 3136, 1003520, 728, 1316)] // Hugging Face default bounds: shrunk to fit max_pixels
    [InlineData(28, 28, 3136, 1003520, 56, 56)]
    [InlineData(500, 700, 3136, 1003520, 504, 700)] // rounded to the nearest multiple of 28
    [InlineData(98, 70, 3136, 1003520, 112, 56)] // 3.5 and 2.5 patches: Python's round() goes half to even
    [InlineData(42, 210, 3136, 1003520, 56, 224)]
    [InlineData(20, 4000, 3136, 3136, 28, 784)] // aspect 200 shrunk: floor(20 / 5.05 / 28) = 0 is clamped to one factor, as transformers does
    public void Smart_resize_follows_the_reference_formula(int h, int w, int min, int max, int eh, int ew)
    {
        var processor = new Qwen2VLImageProcessor { MinPixels = min, MaxPixels = max };
        processor.SmartResize(h, w).Should().Be((eh, ew));
    }

    [Theory]
    [InlineData(9, 30, "too small")]
    [InlineData(30, 9, "too small")]
    [InlineData(10, 2010, "aspect ratio of 201")]
    public void Unsupported_sizes_fail_with_the_size_in_the_message(int h, int w, string fragment)
    {
        var processor = new Qwen2VLImageProcessor();
        var act = () => processor.SmartResize(h, w);
        act.Should().Throw<ArgumentException>().WithMessage($"*{h}*{w}*").WithMessage($"*{fragment}*");
        var image = new RgbImage(w, h, new byte[3 * w * h]);
        var process = () => processor.Process([new RgbImage(56, 56, new byte[3 * 56 * 56]), image]);
        process.Should().Throw<ArgumentException>().WithMessage("images[1]*");
    }

    [Fact]
    public void A_config_with_several_problems_lists_them_all()
    {
        var json = """{"resample": 2, "image_std": [0.5, 0.5], "min_pixels": 100, "max_pixels": 50, "patch_size": "14"}""";
        var act = () => Qwen2VLImageProcessor.FromJson(json, "snap/preprocessor_config.json");
        act.Should().Throw<InvalidDataException>()
            .WithMessage("snap/preprocessor_config.json:*resample 2*BICUBIC*")
            .WithMessage("*image_std must have 3 values*")
            .WithMessage("*max_pixels (50) must be ≥ min_pixels (100)*")
            .WithMessage("*patch_size has the wrong type*");
    }

    [Fact]
    public void Config_reads_the_snapshot_values_and_size_fallbacks()
    {
        var p = Qwen2VLImageProcessor.FromPretrained(VisionFixtures.Processor);
        (p.MinPixels, p.MaxPixels, p.PatchSize, p.TemporalPatchSize, p.MergeSize).Should().Be((3136, 12544, 14, 2, 2));
        var q = Qwen2VLImageProcessor.FromJson("""{"size": {"shortest_edge": 100, "longest_edge": 200000}}""");
        (q.MinPixels, q.MaxPixels).Should().Be((100, 200000));
        q.GetImageTokenCount(37, 50).Should().Be(2); // 37x50 -> 28x56 -> 2x4 patches -> 2 merged tokens
    }

    [Fact]
    public void Missing_config_and_undecodable_files_name_the_path()
    {
        var dir = Directory.CreateTempSubdirectory("vepa-vl-");
        try
        {
            var act = () => Qwen2VLImageProcessor.FromPretrained(dir.FullName);
            act.Should().Throw<FileNotFoundException>().WithMessage($"*{dir.FullName}*preprocessor_config.json*");
            var bad = Path.Combine(dir.FullName, "bad.png");
            File.WriteAllBytes(bad, [1, 2, 3, 4, 5]);
            var decode = () => RgbImage.FromFile(bad);
            decode.Should().Throw<InvalidDataException>().WithMessage($"*{bad}*");
            var png = File.ReadAllBytes(Path.Combine(VisionFixtures.Images, "img_200x90.png"));
            var truncated = () => RgbImage.FromEncoded(png[..(png.Length / 2)], "half.png");
            truncated.Should().Throw<InvalidDataException>().WithMessage("*half.png*");
        }
        finally
        {
            dir.Delete(true);
        }
    }
}
