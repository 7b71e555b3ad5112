using System.Globalization;
using System.Text.Json;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>
/// Qwen2-VL's image processor (Hugging Face <c>Qwen2VLImageProcessor</c>): smart resize to multiples of patch × merge size
/// within [<see cref="MinPixels"/>, <see cref="MaxPixels"/>], Pillow-exact bicubic resampling, rescale, normalise, and
/// patchify to <c>pixel_values</c> [Σ t·h·w, 3·T·P·P] and <c>image_grid_thw</c> [N, 3].
/// </summary>
/// <remarks>
/// Settings come from a snapshot's <c>preprocessor_config.json</c> (<see cref="FromPretrained"/>); the defaults are Hugging
/// Face's. A still image is repeated over the temporal patch axis, as the reference does. Instances are immutable and thread-safe.
/// </remarks>
public sealed class Qwen2VLImageProcessor
{
    /// <summary>The OpenAI CLIP channel means, the default <see cref="ImageMean"/>.</summary>
    private static readonly double[] ClipMean = [0.48145466, 0.4578275, 0.40821073];

    /// <summary>The OpenAI CLIP channel standard deviations, the default <see cref="ImageStd"/>.</summary>
    private static readonly double[] ClipStd = [0.26862954, 0.26130258, 0.27577711];

    /// <summary>Gets the least pixel count (height × width) after resizing.</summary>
    /// <value>The default is 3136 (56 × 56).</value>
    public int MinPixels { get; init; } = 56 * 56;

    /// <summary>Gets the largest pixel count (height × width) after resizing.</summary>
    /// <value>The default is 1003520 (28 × 28 × 1280).</value>
    public int MaxPixels { get; init; } = 28 * 28 * 1280;

    /// <summary>Gets the spatial patch size of the vision tower.</summary>
    /// <value>The default is 14.</value>
    public int PatchSize { get; init; } = 14;

    /// <summary>Gets the temporal patch size (a still image is repeated this many times).</summary>
    /// <value>The default is 2.</value>
    public int TemporalPatchSize { get; init; } = 2;

    /// <summary>Gets the spatial merge size: merge × merge patches become one language-model token.</summary>
    /// <value>The default is 2.</value>
    public int MergeSize { get; init; } = 2;

    /// <summary>Gets the per-channel means subtracted after rescaling.</summary>
    /// <value>The default is OpenAI CLIP's [0.48145466, 0.4578275, 0.40821073].</value>
    public IReadOnlyList<double> ImageMean { get; init; } = ClipMean;

    /// <summary>Gets the per-channel standard deviations divided by after subtracting the mean.</summary>
    /// <value>The default is OpenAI CLIP's [0.26862954, 0.26130258, 0.27577711].</value>
    public IReadOnlyList<double> ImageStd { get; init; } = ClipStd;

    /// <summary>Gets a value indicating whether images are resized (smart resize); otherwise their sides must already be multiples of patch × merge size.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool DoResize { get; init; } = true;

    /// <summary>Gets a value indicating whether 8-bit values are multiplied by <see cref="RescaleFactor"/>.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool DoRescale { get; init; } = true;

    /// <summary>Gets the rescale factor.</summary>
    /// <value>The default is 1/255.</value>
    public double RescaleFactor { get; init; } = 1.0 / 255.0;

    /// <summary>Gets a value indicating whether values are normalised with <see cref="ImageMean"/> and <see cref="ImageStd"/>.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool DoNormalize { get; init; } = true;

    /// <summary>Reads the processor settings of a snapshot folder's <c>preprocessor_config.json</c>.</summary>
    /// <param name="folder">The snapshot folder.</param>
    /// <returns>The processor.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="folder"/> is <see langword="null"/>.</exception>
    /// <exception cref="FileNotFoundException">The folder has no <c>preprocessor_config.json</c>.</exception>
    /// <exception cref="InvalidDataException">The file is not valid JSON, a field has the wrong type, or a setting is unsupported or out of range (all problems listed).</exception>
    public static Qwen2VLImageProcessor FromPretrained(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        string path = Path.Combine(folder, "preprocessor_config.json");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"'{folder}' has no preprocessor_config.json (needed for the Qwen2-VL image processor).", path);
        }

        return FromJson(File.ReadAllText(path), path);
    }

    /// <summary>Reads processor settings from the text of a <c>preprocessor_config.json</c>.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">The file name for error messages.</param>
    /// <returns>The processor.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="json"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidDataException">The text is not valid JSON, a field has the wrong type, or a setting is unsupported or out of range (all problems listed).</exception>
    public static Qwen2VLImageProcessor FromJson(string json, string source = "preprocessor_config.json")
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(json);
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source} is not valid JSON: {e.Message}", e);
        }

        var problems = new List<string>();
        var defaults = new Qwen2VLImageProcessor();
        int Int(string name, int fallback) => Read(root, name, problems, e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v) ? v : null, fallback);
        bool Bool(string name, bool fallback) => Read(root, name, problems, e => e.ValueKind is JsonValueKind.True or JsonValueKind.False ? e.GetBoolean() : null, fallback);
        double Dbl(string name, double fallback) => Read(root, name, problems, e => e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out double v) ? v : null, fallback);
        IReadOnlyList<double> Vec(string name, IReadOnlyList<double> fallback) => Read(root, name, problems, e => e.ValueKind == JsonValueKind.Array && e.EnumerateArray().All(x => x.ValueKind == JsonValueKind.Number) ? e.EnumerateArray().Select(x => x.GetDouble()).ToArray() : null, fallback);

        // Newer configs carry size = {shortest_edge, longest_edge} in pixels; min_pixels / max_pixels win when both are present.
        int minFromSize = defaults.MinPixels, maxFromSize = defaults.MaxPixels;
        if (root.TryGetProperty("size", out var size) && size.ValueKind == JsonValueKind.Object)
        {
            if (size.TryGetProperty("shortest_edge", out var se) && se.ValueKind == JsonValueKind.Number && se.TryGetInt32(out int s))
            {
                minFromSize = s;
            }

            if (size.TryGetProperty("longest_edge", out var le) && le.ValueKind == JsonValueKind.Number && le.TryGetInt32(out int l))
            {
                maxFromSize = l;
            }
        }

        if (root.TryGetProperty("resample", out var resample) && !(resample.ValueKind == JsonValueKind.Number && resample.TryGetInt32(out int r) && r == 3))
        {
            problems.Add($"resample {resample} is not supported: only 3 (PIL BICUBIC, the Qwen2-VL default) is implemented");
        }

        if (root.TryGetProperty("image_processor_type", out var type) && type.ValueKind == JsonValueKind.String
            && type.GetString() is string t && !t.StartsWith("Qwen2VLImageProcessor", StringComparison.Ordinal))
        {
            problems.Add($"image_processor_type '{t}' is not supported (expected Qwen2VLImageProcessor)");
        }

        var processor = new Qwen2VLImageProcessor
        {
            MinPixels = Int("min_pixels", minFromSize),
            MaxPixels = Int("max_pixels", maxFromSize),
            PatchSize = Int("patch_size", defaults.PatchSize),
            TemporalPatchSize = Int("temporal_patch_size", defaults.TemporalPatchSize),
            MergeSize = Int("merge_size", defaults.MergeSize),
            ImageMean = Vec("image_mean", defaults.ImageMean),
            ImageStd = Vec("image_std", defaults.ImageStd),
            DoResize = Bool("do_resize", true),
            DoRescale = Bool("do_rescale", true),
            RescaleFactor = Dbl("rescale_factor", defaults.RescaleFactor),
            DoNormalize = Bool("do_normalize", true),
        };
        problems.AddRange(processor.Problems());
        if (problems.Count > 0)
        {
            throw new InvalidDataException($"{source}: {string.Join("; ", problems)}.");
        }

        return processor;
    }

    /// <summary>Hugging Face's <c>smart_resize</c>: the size the image is resized to.</summary>
    /// <param name="height">The image height in pixels.</param>
    /// <param name="width">The image width in pixels.</param>
    /// <returns>Height and width, both multiples of <see cref="PatchSize"/> × <see cref="MergeSize"/>, with a pixel count within [<see cref="MinPixels"/>, <see cref="MaxPixels"/>] where the aspect ratio allows, and the aspect ratio kept as closely as possible.</returns>
    /// <exception cref="ArgumentException">A side is shorter than 10 pixels, or the longer side is more than 200 times the shorter.</exception>
    public (int Height, int Width) SmartResize(int height, int width)
    {
        int factor = PatchSize * MergeSize;
        if (height < 10 || width < 10)
        {
            throw new ArgumentException($"Image of height {height} and width {width} is too small: both sides must be at least 10 pixels (they are resized to multiples of {factor}).", nameof(height));
        }

        if ((double)Math.Max(height, width) / Math.Min(height, width) > 200)
        {
            throw new ArgumentException($"Image of height {height} and width {width} has an aspect ratio of {(double)Math.Max(height, width) / Math.Min(height, width):0.#}; at most 200 is supported.", nameof(height));
        }

        long hBar = (long)Math.Round((double)height / factor, MidpointRounding.ToEven) * factor;
        long wBar = (long)Math.Round((double)width / factor, MidpointRounding.ToEven) * factor;
        if (hBar * wBar > MaxPixels)
        {
            double beta = Math.Sqrt((double)height * width / MaxPixels);
            // At least one factor per side, as transformers clamps it (a very long image would otherwise get a side of 0).
            hBar = Math.Max(factor, (long)Math.Floor(height / beta / factor) * factor);
            wBar = Math.Max(factor, (long)Math.Floor(width / beta / factor) * factor);
        }
        else if (hBar * wBar < MinPixels)
        {
            double beta = Math.Sqrt((double)MinPixels / ((double)height * width));
            hBar = (long)Math.Ceiling(height * beta / factor) * factor;
            wBar = (long)Math.Ceiling(width * beta / factor) * factor;
        }

        return ((int)hBar, (int)wBar);
    }

    /// <summary>Gets the number of <c>&lt;|image_pad|&gt;</c> tokens an image of this size takes in the prompt.</summary>
    /// <param name="height">The image height in pixels.</param>
    /// <param name="width">The image width in pixels.</param>
    /// <returns>(resized height / patch) × (resized width / patch) / merge².</returns>
    /// <exception cref="ArgumentException">The size is not supported (see <see cref="SmartResize"/>).</exception>
    public int GetImageTokenCount(int height, int width)
    {
        var (h, w) = DoResize ? SmartResize(height, width) : (height, width);
        return h / PatchSize * (w / PatchSize) / (MergeSize * MergeSize);
    }

    /// <summary>Resizes an image as the processor does (smart resize, then Pillow-exact bicubic), without normalising.</summary>
    /// <param name="image">The image.</param>
    /// <returns>The resized image (the same pixels when the size already fits, or when <see cref="DoResize"/> is off).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="image"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The size is not supported (see <see cref="SmartResize"/>).</exception>
    public RgbImage Resize(RgbImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (!DoResize)
        {
            return image;
        }

        var (h, w) = SmartResize(image.Height, image.Width);
        return PilBicubicResampler.Resize(image, w, h);
    }

    /// <summary>Processes images into the vision inputs of one forward pass, in order.</summary>
    /// <param name="images">The images; each may have its own size.</param>
    /// <returns><c>pixel_values</c> [Σ t·h·w, 3·T·P·P] float32 and <c>image_grid_thw</c> [N, 3] int64, on the CPU.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="images"/> or one of its items is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An image's size is not supported (too small, aspect ratio over 200, or, with <see cref="DoResize"/> off, sides that are not multiples of patch × merge size); the message names the image index.</exception>
    public Qwen2VLImageBatch Process(IReadOnlyList<RgbImage> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        int patch = PatchSize, merge = MergeSize, temporal = TemporalPatchSize, factor = patch * merge;
        int rowLength = 3 * temporal * patch * patch;
        var resized = new RgbImage[images.Count];
        long rows = 0;
        for (int i = 0; i < images.Count; i++)
        {
            var image = images[i] ?? throw new ArgumentNullException(nameof(images), $"images[{i}] is null.");
            try
            {
                resized[i] = Resize(image);
            }
            catch (ArgumentException e)
            {
                throw new ArgumentException($"images[{i}]: {e.Message}", nameof(images), e);
            }

            if (resized[i].Height % factor != 0 || resized[i].Width % factor != 0)
            {
                throw new ArgumentException($"images[{i}] is {resized[i].Width}x{resized[i].Height}; with do_resize off both sides must be multiples of {factor}.", nameof(images));
            }

            rows += (long)(resized[i].Height / patch) * (resized[i].Width / patch);
        }

        var values = new float[rows * rowLength];
        var grids = new long[3 * images.Count];
        long row = 0;
        for (int i = 0; i < resized.Length; i++)
        {
            var normalized = Normalize(resized[i]);
            int h = resized[i].Height, w = resized[i].Width, gh = h / patch, gw = w / patch;
            grids[3 * i] = 1;
            grids[(3 * i) + 1] = gh;
            grids[(3 * i) + 2] = gw;

            // Hugging Face's order: rows by (merge-block row, merge-block column, row in block, column in block);
            // columns by (channel, temporal copy, y in patch, x in patch).
            for (int by = 0; by < gh / merge; by++)
            {
                for (int bx = 0; bx < gw / merge; bx++)
                {
                    for (int iy = 0; iy < merge; iy++)
                    {
                        for (int ix = 0; ix < merge; ix++, row++)
                        {
                            int y0 = ((by * merge) + iy) * patch, x0 = ((bx * merge) + ix) * patch;
                            long o = row * rowLength;
                            for (int c = 0; c < 3; c++)
                            {
                                for (int t = 0; t < temporal; t++)
                                {
                                    for (int py = 0; py < patch; py++)
                                    {
                                        int src = (c * h * w) + ((y0 + py) * w) + x0;
                                        Array.Copy(normalized, src, values, o, patch);
                                        o += patch;
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        using var scope = NewDisposeScope();
        var pixelValues = tensor(values, [rows, rowLength]);
        var grid = tensor(grids, [images.Count, 3]);
        return new Qwen2VLImageBatch(pixelValues, grid);
    }

    // Channel-first float32 [3, H, W], rescaled and normalised with Hugging Face's arithmetic: the rescale product in
    // float64 rounded to float32, then (x - mean) / std in float32.
    private float[] Normalize(RgbImage image)
    {
        int n = image.Width * image.Height;
        var src = image.Pixels.Span;
        var result = new float[3 * n];
        for (int c = 0; c < 3; c++)
        {
            float mean = (float)ImageMean[c], std = (float)ImageStd[c];
            for (int p = 0; p < n; p++)
            {
                float x = DoRescale ? (float)(src[(3 * p) + c] * RescaleFactor) : src[(3 * p) + c];
                result[(c * n) + p] = DoNormalize ? (x - mean) / std : x;
            }
        }

        return result;
    }

    private static T Read<T>(JsonElement root, string name, List<string> problems, Func<JsonElement, object?> parse, T fallback)
    {
        if (!root.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null)
        {
            return fallback;
        }

        var value = parse(e);
        if (value is null)
        {
            problems.Add($"{name} has the wrong type or value ({e.GetRawText()})");
            return fallback;
        }

        return (T)value;
    }

    private List<string> Problems()
    {
        var p = new List<string>();
        if (PatchSize < 1) p.Add($"patch_size must be ≥ 1 (got {PatchSize})");
        if (MergeSize < 1) p.Add($"merge_size must be ≥ 1 (got {MergeSize})");
        if (TemporalPatchSize < 1) p.Add($"temporal_patch_size must be ≥ 1 (got {TemporalPatchSize})");
        if (MinPixels < 1) p.Add($"min_pixels must be ≥ 1 (got {MinPixels})");
        if (MaxPixels < MinPixels) p.Add($"max_pixels ({MaxPixels}) must be ≥ min_pixels ({MinPixels})");
        if (ImageMean.Count != 3) p.Add($"image_mean must have 3 values (got {ImageMean.Count})");
        if (ImageStd.Count != 3) p.Add($"image_std must have 3 values (got {ImageStd.Count})");
        if (ImageStd.Any(s => s == 0 || !double.IsFinite(s))) p.Add($"image_std values must be finite and non-zero (got [{string.Join(", ", ImageStd.Select(s => s.ToString(CultureInfo.InvariantCulture)))}])");
        if (!double.IsFinite(RescaleFactor) || RescaleFactor <= 0) p.Add($"rescale_factor must be finite and > 0 (got {RescaleFactor.ToString(CultureInfo.InvariantCulture)})");
        return p;
    }
}
