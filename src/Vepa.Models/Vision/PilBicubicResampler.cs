namespace Vepa.Models;

/// <summary>
/// Pillow's BICUBIC resize of 8-bit images, reproduced bit for bit: a separable filter (Keys cubic, a = −0.5) whose support
/// widens by the scale factor when shrinking (antialiasing), coefficients normalised per output pixel and quantised to
/// 22-bit fixed point, a horizontal pass then a vertical pass, each rounded and clipped to 8 bits.
/// </summary>
/// <remarks>
/// Written from the algorithm of Pillow's <c>libImaging/Resample.c</c> (precompute_coeffs, normalize_coeffs_8bpc,
/// ImagingResampleHorizontal_8bpc / Vertical_8bpc), which Hugging Face's slow Qwen2-VL processor calls through
/// <c>PIL.Image.resize(..., BICUBIC)</c>.
/// </remarks>
internal static class PilBicubicResampler
{
    private const int PrecisionBits = 32 - 8 - 2;
    private const double Support = 2.0;

    /// <summary>Resizes an RGB image to <paramref name="width"/> × <paramref name="height"/>.</summary>
    internal static RgbImage Resize(RgbImage image, int width, int height)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 1);
        var pixels = image.Pixels.ToArray();
        int w = image.Width, h = image.Height;
        if (width == w && height == h)
        {
            return new RgbImage(w, h, pixels);
        }

        var (yBounds, yCoeffs, yK) = Coefficients(h, height);
        if (width != w)
        {
            // Only the source rows the vertical pass reads are resampled horizontally (as Pillow does); the result is the same.
            int first = yBounds[0], last = yBounds[(2 * height) - 2] + yBounds[(2 * height) - 1];
            var (xBounds, xCoeffs, xK) = Coefficients(w, width);
            var temp = new byte[3 * width * (last - first)];
            for (int y = first; y < last; y++)
            {
                for (int x = 0; x < width; x++)
                {
                    int min = xBounds[2 * x], count = xBounds[(2 * x) + 1], k = x * xK;
                    int s0 = 1 << (PrecisionBits - 1), s1 = s0, s2 = s0;
                    for (int i = 0; i < count; i++)
                    {
                        int src = 3 * ((y * w) + min + i), c = xCoeffs[k + i];
                        s0 += pixels[src] * c;
                        s1 += pixels[src + 1] * c;
                        s2 += pixels[src + 2] * c;
                    }

                    int dst = 3 * (((y - first) * width) + x);
                    temp[dst] = Clip8(s0);
                    temp[dst + 1] = Clip8(s1);
                    temp[dst + 2] = Clip8(s2);
                }
            }

            for (int i = 0; i < height; i++)
            {
                yBounds[2 * i] -= first;
            }

            pixels = temp;
            w = width;
        }

        if (height == h)
        {
            return new RgbImage(w, h, pixels);
        }

        var result = new byte[3 * w * height];
        for (int y = 0; y < height; y++)
        {
            int min = yBounds[2 * y], count = yBounds[(2 * y) + 1], k = y * yK;
            for (int x = 0; x < w; x++)
            {
                int s0 = 1 << (PrecisionBits - 1), s1 = s0, s2 = s0;
                for (int i = 0; i < count; i++)
                {
                    int src = 3 * (((min + i) * w) + x), c = yCoeffs[k + i];
                    s0 += pixels[src] * c;
                    s1 += pixels[src + 1] * c;
                    s2 += pixels[src + 2] * c;
                }

                int dst = 3 * ((y * w) + x);
                result[dst] = Clip8(s0);
                result[dst + 1] = Clip8(s1);
                result[dst + 2] = Clip8(s2);
            }
        }

        return new RgbImage(w, height, result);
    }

    /// <summary>Keys' cubic convolution kernel with a = −0.5.</summary>
    internal static double Cubic(double x)
    {
        const double a = -0.5;
        x = Math.Abs(x);
        if (x < 1.0)
        {
            return ((((a + 2.0) * x) - (a + 3.0)) * x * x) + 1;
        }

        return x < 2.0 ? ((((x - 5) * x) + 8) * x - 4) * a : 0.0;
    }

    // For each output index: the first source index, the number of taps, and the taps in fixed point (ksize per output).
    private static (int[] Bounds, int[] Coeffs, int KSize) Coefficients(int inSize, int outSize)
    {
        double scale = (double)(float)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = Support * filterScale;
        int kSize = ((int)Math.Ceiling(support) * 2) + 1;
        var bounds = new int[2 * outSize];
        var coeffs = new int[outSize * kSize];
        var k = new double[kSize];
        for (int xx = 0; xx < outSize; xx++)
        {
            double center = (xx + 0.5) * scale;
            double ss = 1.0 / filterScale;
            int xmin = Math.Max((int)(center - support + 0.5), 0);
            int xmax = Math.Min((int)(center + support + 0.5), inSize) - xmin;
            double ww = 0.0;
            for (int x = 0; x < xmax; x++)
            {
                k[x] = Cubic((x + xmin - center + 0.5) * ss);
                ww += k[x];
            }

            for (int x = 0; x < xmax; x++)
            {
                double v = ww != 0.0 ? k[x] / ww : k[x];
                coeffs[(xx * kSize) + x] = v < 0 ? (int)(-0.5 + (v * (1 << PrecisionBits))) : (int)(0.5 + (v * (1 << PrecisionBits)));
            }

            bounds[2 * xx] = xmin;
            bounds[(2 * xx) + 1] = xmax;
        }

        return (bounds, coeffs, kSize);
    }

    private static byte Clip8(int v) => v <= 0 ? (byte)0 : v >= (256 << PrecisionBits) ? (byte)255 : (byte)(v >> PrecisionBits);
}
