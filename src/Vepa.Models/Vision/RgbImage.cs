using SkiaSharp;

namespace Vepa.Models;

/// <summary>An 8-bit RGB image in row-major, channel-interleaved order (R, G, B of pixel (0, 0), then of (0, 1), ...).</summary>
/// <remarks>Immutable once built; the constructor copies nothing, so do not change the array afterwards. Thread-safe for reading.</remarks>
public sealed class RgbImage
{
    /// <summary>Initializes a new instance of the <see cref="RgbImage"/> class over interleaved RGB bytes.</summary>
    /// <param name="width">The width in pixels, ≥ 1.</param>
    /// <param name="height">The height in pixels, ≥ 1.</param>
    /// <param name="pixels">The pixels, <paramref name="width"/> × <paramref name="height"/> × 3 bytes, row by row.</param>
    /// <exception cref="ArgumentNullException"><paramref name="pixels"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="width"/> or <paramref name="height"/> is less than 1.</exception>
    /// <exception cref="ArgumentException"><paramref name="pixels"/> does not hold width × height × 3 bytes.</exception>
    public RgbImage(int width, int height, byte[] pixels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        if (pixels.LongLength != 3L * width * height)
        {
            throw new ArgumentException($"An RGB image of {width}x{height} needs {3L * width * height} bytes; got {pixels.LongLength}.", nameof(pixels));
        }

        Width = width;
        Height = height;
        Pixels = pixels;
    }

    /// <summary>Gets the width in pixels.</summary>
    public int Width { get; }

    /// <summary>Gets the height in pixels.</summary>
    public int Height { get; }

    /// <summary>Gets the interleaved RGB bytes, <see cref="Width"/> × <see cref="Height"/> × 3, row by row.</summary>
    public ReadOnlyMemory<byte> Pixels { get; }

    /// <summary>Decodes an image file (PNG, JPEG, WebP, GIF, BMP: whatever SkiaSharp decodes) to RGB.</summary>
    /// <param name="path">The image file.</param>
    /// <returns>The image; an alpha channel is dropped (as PIL's <c>convert("RGB")</c> does), grey levels are repeated in R, G and B.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is <see langword="null"/>.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not an image SkiaSharp can decode, or is truncated.</exception>
    public static RgbImage FromFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Image file '{path}' does not exist.", path);
        }

        return FromEncoded(File.ReadAllBytes(path), path);
    }

    /// <summary>Decodes an encoded image (the bytes of a PNG, JPEG, ... file) to RGB.</summary>
    /// <param name="encoded">The encoded bytes.</param>
    /// <param name="source">A name for error messages (for example the file or URL it came from).</param>
    /// <returns>The image, as <see cref="FromFile"/> describes.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="encoded"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidDataException">The bytes are not an image SkiaSharp can decode, or are truncated.</exception>
    public static RgbImage FromEncoded(byte[] encoded, string source = "image")
    {
        ArgumentNullException.ThrowIfNull(encoded);
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data)
            ?? throw new InvalidDataException($"'{source}' is not an image SkiaSharp can decode ({encoded.Length} bytes).");
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result != SKCodecResult.Success)
        {
            // IncompleteInput (a truncated file) is refused too: a partly grey image must not pass for the real one.
            throw new InvalidDataException($"Decoding '{source}' failed: {result} ({encoded.Length} bytes).");
        }

        var rgba = bitmap.GetPixelSpan();
        int w = info.Width, h = info.Height, stride = bitmap.RowBytes;
        var rgb = new byte[3 * w * h];
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
            {
                int s = (y * stride) + (4 * x), d = 3 * ((y * w) + x);
                rgb[d] = rgba[s];
                rgb[d + 1] = rgba[s + 1];
                rgb[d + 2] = rgba[s + 2];
            }
        }

        return new RgbImage(w, h, rgb);
    }
}
