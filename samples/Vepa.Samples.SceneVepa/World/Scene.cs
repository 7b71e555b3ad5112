namespace Vepa.Samples.SceneVepa.World;

/// <summary>The colours, shapes and sizes of the scene world, with their words.</summary>
internal static class Attributes
{
    public static readonly string[] Colours = ["red", "green", "blue", "yellow"];
    public static readonly string[] Shapes = ["circle", "square", "triangle"];
    public static readonly string[] ShapePlurals = ["circles", "squares", "triangles"];
    public static readonly string[] Sizes = ["big", "small"];
    public static readonly string[] Numbers = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];

    /// <summary>The cells of the 3×3 grid, row-major, as two-word names (except the centre).</summary>
    public static readonly string[] CellNames =
        ["top left", "top middle", "top right", "middle left", "center", "middle right", "bottom left", "bottom middle", "bottom right"];

    public static readonly float[][] Rgb =
    [
        [0.90f, 0.15f, 0.12f],
        [0.15f, 0.75f, 0.20f],
        [0.15f, 0.30f, 0.95f],
        [0.95f, 0.85f, 0.10f],
    ];
}

/// <summary>One object: its colour, shape and size (indices into <see cref="Attributes"/>) and its cell (0..8, row-major).</summary>
internal sealed record SceneObject(int Colour, int Shape, int Size, int Cell)
{
    public int Row => Cell / 3;

    public int Column => Cell % 3;

    public string Phrase => $"{Attributes.Sizes[Size]} {Attributes.Colours[Colour]} {Attributes.Shapes[Shape]} at {Attributes.CellNames[Cell]}";

    /// <summary>Gets the same description with the position first ("top left big red circle").</summary>
    public string PositionFirstPhrase => $"{Attributes.CellNames[Cell]} {Attributes.Sizes[Size]} {Attributes.Colours[Colour]} {Attributes.Shapes[Shape]}";
}

/// <summary>A scene: up to nine objects on a 3×3 grid (the ground-truth scene graph) and how it is drawn.</summary>
internal sealed class Scene
{
    public const int CellPixels = 8;
    public const int ImageSize = 3 * CellPixels;
    public const int Channels = 3;
    public const int PixelCount = Channels * ImageSize * ImageSize;

    private readonly SceneObject?[] _cells;

    public Scene(IEnumerable<SceneObject> objects, int drawSeed)
    {
        ArgumentNullException.ThrowIfNull(objects);
        _cells = new SceneObject?[9];
        foreach (var o in objects)
        {
            if (_cells[o.Cell] is not null)
            {
                throw new ArgumentException($"Two objects in cell {o.Cell}.", nameof(objects));
            }

            _cells[o.Cell] = o;
        }

        Objects = _cells.Where(o => o is not null).Select(o => o!).ToArray();
        DrawSeed = drawSeed;
    }

    public IReadOnlyList<SceneObject> Objects { get; }

    /// <summary>Gets the seed of the drawing jitter (offsets, colour and pixel noise), so the image is a pure function of the scene.</summary>
    public int DrawSeed { get; }

    public SceneObject? At(int cell) => _cells[cell];

    public int CountColour(int colour) => Objects.Count(o => o.Colour == colour);

    public int CountShape(int shape) => Objects.Count(o => o.Shape == shape);

    public int Count(int colour, int shape) => Objects.Count(o => o.Colour == colour && o.Shape == shape);

    /// <summary>Draws a random scene with 3 to 6 objects.</summary>
    public static Scene Random(Random random)
    {
        int count = random.Next(3, 7);
        var cells = Enumerable.Range(0, 9).OrderBy(_ => random.Next()).Take(count);
        var objects = cells.Select(c => new SceneObject(
            random.Next(Attributes.Colours.Length), random.Next(Attributes.Shapes.Length), random.Next(Attributes.Sizes.Length), c)).ToList();
        return new Scene(objects, random.Next());
    }

    /// <summary>Renders the scene into <paramref name="pixels"/> as [3, 24, 24] channel-major floats in [0, 1].</summary>
    public void Render(Span<float> pixels)
    {
        if (pixels.Length != PixelCount)
        {
            throw new ArgumentException($"Expected {PixelCount} floats; got {pixels.Length}.", nameof(pixels));
        }

        var random = new Random(DrawSeed);
        const int plane = ImageSize * ImageSize;
        for (int i = 0; i < plane; i++)
        {
            float grey = 0.45f + (float)((random.NextDouble() - 0.5) * 0.08);
            pixels[i] = grey;
            pixels[plane + i] = grey;
            pixels[(2 * plane) + i] = grey;
        }

        foreach (var o in Objects)
        {
            int extent = o.Size == 0 ? 7 : 4;
            int slack = CellPixels - extent;
            int x0 = (o.Column * CellPixels) + random.Next(slack + 1);
            int y0 = (o.Row * CellPixels) + random.Next(slack + 1);
            float[] rgb = Attributes.Rgb[o.Colour];
            float jitter = (float)((random.NextDouble() - 0.5) * 0.12);
            for (int dy = 0; dy < extent; dy++)
            {
                for (int dx = 0; dx < extent; dx++)
                {
                    if (!Covers(o.Shape, extent, dx, dy))
                    {
                        continue;
                    }

                    int p = ((y0 + dy) * ImageSize) + x0 + dx;
                    for (int c = 0; c < Channels; c++)
                    {
                        pixels[(c * plane) + p] = Math.Clamp(rgb[c] + jitter, 0f, 1f);
                    }
                }
            }
        }
    }

    public float[] Render()
    {
        var pixels = new float[PixelCount];
        Render(pixels);
        return pixels;
    }

    private static bool Covers(int shape, int extent, int dx, int dy)
    {
        double centre = (extent - 1) / 2.0;
        switch (shape)
        {
            case 0: // circle
                double r = extent / 2.0;
                double ddx = dx - centre, ddy = dy - centre;
                return (ddx * ddx) + (ddy * ddy) <= (r * r) - (extent >= 6 ? 1.5 : 0.2);
            case 1: // square
                return true;
            default: // triangle, apex up: row dy is (dy + 1) pixels wide, centred
                return Math.Abs(dx - centre) <= (dy + 1) / 2.0;
        }
    }
}
