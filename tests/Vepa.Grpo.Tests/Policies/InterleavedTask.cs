using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Policies;

/// <summary>Prompts of different lengths, two with interleaved "images" (placeholder runs of <c>&lt;img&gt;</c> with pixel rows), for <see cref="InterleavedCausalModule"/>.</summary>
internal sealed class InterleavedTask : IDisposable
{
    /// <summary>The tokenizer's words; the LM head of the tests has <see cref="HeadRows"/> rows, three more than these ids (padded rows).</summary>
    public static readonly string[] Words = ["<eos>", "<bos>", "<img>", "what", "colour", "shape", "red", "blue", "ball", "cube"];

    public const int HeadRows = 13;

    public const long ImageToken = 2;

    private readonly Tensor _threePatches;
    private readonly Tensor _twoPatches;

    public InterleavedTask()
    {
        using var generator = new TorchSharp.torch.Generator(17);
        _threePatches = randn([3, 4], generator: generator, dtype: ScalarType.Float64).DetachFromDisposeScope();
        _twoPatches = randn([2, 4], generator: generator, dtype: ScalarType.Float64).DetachFromDisposeScope();
        Prompts =
        [
            new("what colour?", "red", [1, 3]) { Id = "short" },
            new("what shape is the ball?", "cube", [1, 3, 5, 8, 4]) { Id = "long" },
            new("what colour is the image?", "blue", [1, 2, 2, 2, 3, 4]) { Id = "image-3", ModelInputs = new Dictionary<string, Tensor> { ["pixel_values"] = _threePatches } },
            new("what is in it?", "ball", [1, 3, 2, 2, 5]) { Id = "image-2", ModelInputs = new Dictionary<string, Tensor> { ["pixel_values"] = _twoPatches } },
        ];
    }

    public static WordTokenizer Tokenizer { get; } = new(Words);

    public IReadOnlyList<PolicyPrompt> Prompts { get; }

    public void Dispose()
    {
        _threePatches.Dispose();
        _twoPatches.Dispose();
    }
}
