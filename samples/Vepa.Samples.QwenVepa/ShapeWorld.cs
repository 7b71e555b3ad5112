using Vepa.Models;

namespace Vepa.Samples.QwenVepa;

/// <summary>A VQA item of the sample's synthetic world: one coloured shape on a grey picture.</summary>
/// <param name="Question">The question.</param>
/// <param name="Gold">The answer.</param>
/// <param name="Choices">The options of a multiple-choice question, or <see langword="null"/>.</param>
/// <param name="Image">The picture.</param>
/// <param name="Description">The picture in words, for a text-only model (the reader never sees it).</param>
internal sealed record ShapeItem(string Question, string Gold, IReadOnlyList<string>? Choices, RgbImage Image, string Description);

/// <summary>Renders the sample's VQA items: a red, green, blue or yellow square, circle or triangle on the left or the right of a grey picture.</summary>
internal static class ShapeWorld
{
    public static readonly string[] Colours = ["red", "green", "blue", "yellow"];

    public static readonly string[] Shapes = ["square", "circle", "triangle"];

    public static readonly string[] Sides = ["left", "right"];

    private static readonly byte[][] Rgb = [[220, 30, 30], [30, 180, 40], [30, 60, 220], [235, 210, 20]];

    /// <summary>Returns the items of one step, drawn from the seed and the step.</summary>
    public static IReadOnlyList<ShapeItem> Items(int seed, int step, int count, int size)
    {
        var random = new Random(HashCode.Combine(seed, step));
        var items = new List<ShapeItem>(count);
        for (int i = 0; i < count; i++)
        {
            int colour = random.Next(Colours.Length), shape = random.Next(Shapes.Length), side = random.Next(Sides.Length);
            var image = Render(size, colour, shape, side);
            string description = $"The picture shows a {Colours[colour]} {Shapes[shape]} on the {Sides[side]} side of a grey background.";
            items.Add(random.Next(3) switch
            {
                0 => new ShapeItem("What colour is the shape in the picture?", Colours[colour], null, image, description),
                1 => new ShapeItem("Which kind of shape is drawn in the picture?", Shapes[shape], null, image, description),
                _ => new ShapeItem("Is the shape on the left or on the right of the picture?", Sides[side], Sides, image, description),
            });
        }

        return items;
    }

    /// <summary>Draws one shape, a quarter of the picture wide, centred in its half.</summary>
    public static RgbImage Render(int size, int colour, int shape, int side)
    {
        var pixels = new byte[size * size * 3];
        double cx = side == 0 ? size * 0.25 : size * 0.75, cy = size * 0.5, r = size * 0.18;
        for (int y = 0; y < size; y++)
        {
            for (int x = 0; x < size; x++)
            {
                double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
                bool inside = shape switch
                {
                    0 => Math.Abs(dx) <= r && Math.Abs(dy) <= r,
                    1 => (dx * dx) + (dy * dy) <= r * r,
                    _ => dy <= r && dy >= -r && Math.Abs(dx) <= (dy + r) / 2,
                };
                int i = ((y * size) + x) * 3;
                for (int c = 0; c < 3; c++)
                {
                    pixels[i + c] = inside ? Rgb[colour][c] : (byte)190;
                }
            }
        }

        return new RgbImage(size, size, pixels);
    }
}
