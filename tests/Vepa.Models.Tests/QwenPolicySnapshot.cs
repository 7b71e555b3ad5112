using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Models.Tests;

/// <summary>
/// A tiny random Qwen2 snapshot folder with the tiny Qwen-format tokenizer (782 ids; the LM head has 800 rows, padded like real
/// checkpoints): config.json, model.safetensors, generation_config.json (stops <c>&lt;|im_end|&gt;</c> 758 and <c>&lt;|endoftext|&gt;</c> 756),
/// tokenizer.json and tokenizer_config.json (the Qwen2-VL chat template, default system message "You are a helpful assistant.").
/// Written once per test run under the temp folder, with weights drawn from a fixed seed. <see cref="VisionPath"/> is the same
/// for Qwen2-VL (image token 768 between vision start 765 and end 766, a one-block vision tower, the fixture's image processor).
/// </summary>
internal static class QwenPolicySnapshot
{
    public const int TokenCount = 782;

    public const int HeadRows = 800;

    public const long ImEnd = 758;

    public const long EndOfText = 756;

    public const long ImagePad = 768;

    private const string GenerationConfig = """
        {
          "bos_token_id": 756,
          "eos_token_id": [758, 756],
          "pad_token_id": 756,
          "do_sample": true,
          "temperature": 0.01,
          "top_p": 0.001,
          "top_k": 1
        }
        """;

    private static readonly Lazy<string> Folder = new(CreateText, LazyThreadSafetyMode.ExecutionAndPublication);

    private static readonly Lazy<string> VisionFolder = new(CreateVision, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Gets the folder of the Qwen2 snapshot.</summary>
    public static string Path => Folder.Value;

    /// <summary>Gets the folder of the Qwen2-VL snapshot.</summary>
    public static string VisionPath => VisionFolder.Value;

    /// <summary>Returns a synthetic image: a colour gradient with a bright square whose place depends on <paramref name="seed"/>.</summary>
    public static RgbImage Image(int width, int height, int seed)
    {
        var pixels = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int i = ((y * width) + x) * 3;
                bool square = Math.Abs(x - ((seed * 13) % width)) < 8 && Math.Abs(y - ((seed * 7) % height)) < 8;
                pixels[i] = (byte)(square ? 250 : (x * 255) / width);
                pixels[i + 1] = (byte)(square ? 240 : (y * 255) / height);
                pixels[i + 2] = (byte)((seed * 40) + (x ^ y));
            }
        }

        return new RgbImage(width, height, pixels);
    }

    private static string CreateText()
    {
        string folder = NewFolder();
        File.WriteAllText(System.IO.Path.Combine(folder, "config.json"), """
            {
              "architectures": ["Qwen2ForCausalLM"],
              "model_type": "qwen2",
              "vocab_size": 800,
              "hidden_size": 32,
              "intermediate_size": 64,
              "num_hidden_layers": 2,
              "num_attention_heads": 4,
              "num_key_value_heads": 2,
              "max_position_embeddings": 512,
              "rms_norm_eps": 1e-06,
              "rope_theta": 10000.0,
              "rope_scaling": null,
              "tie_word_embeddings": false,
              "hidden_act": "silu",
              "bos_token_id": 756,
              "eos_token_id": 758,
              "torch_dtype": "float32"
            }
            """);
        using (var model = new QwenForCausalLM(QwenConfig.FromFolder(folder)))
        {
            Randomize(model);
            model.GenerationConfigJson = GenerationConfig;
            model.SavePretrained(folder);
        }

        CopyTokenizer(folder);
        return folder;
    }

    private static string CreateVision()
    {
        string folder = NewFolder();
        File.WriteAllText(System.IO.Path.Combine(folder, "config.json"), """
            {
              "architectures": ["Qwen2VLForConditionalGeneration"],
              "model_type": "qwen2_vl",
              "vocab_size": 800,
              "hidden_size": 32,
              "intermediate_size": 64,
              "num_hidden_layers": 2,
              "num_attention_heads": 4,
              "num_key_value_heads": 2,
              "max_position_embeddings": 4096,
              "rms_norm_eps": 1e-06,
              "rope_theta": 1000000.0,
              "tie_word_embeddings": false,
              "hidden_act": "silu",
              "bos_token_id": 756,
              "eos_token_id": 758,
              "vision_start_token_id": 765,
              "vision_end_token_id": 766,
              "vision_token_id": 767,
              "image_token_id": 768,
              "video_token_id": 769,
              "rope_scaling": { "type": "mrope", "mrope_section": [2, 1, 1] },
              "vision_config": {
                "depth": 1, "embed_dim": 16, "mlp_ratio": 2, "num_heads": 2, "in_chans": 3, "hidden_size": 32,
                "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2, "hidden_act": "quick_gelu"
              },
              "torch_dtype": "float32"
            }
            """);
        File.Copy(System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", "qwen2-vl-tiny", "preprocessor_config.json"), System.IO.Path.Combine(folder, "preprocessor_config.json"));
        using (var model = new Qwen2VLForConditionalGeneration(QwenConfig.FromFolder(folder)))
        {
            Randomize(model);
            model.GenerationConfigJson = GenerationConfig;
            model.SavePretrained(folder);
        }

        CopyTokenizer(folder);
        return folder;
    }

    /// <summary>Weights from a fixed seed, larger than Hugging Face's 0.02 so the random policy is far from uniform (completions vary, stop tokens occur).</summary>
    private static void Randomize(nn.Module model)
    {
        using var generator = new Generator(20261204);
        using var noGrad = no_grad();
        foreach (var (name, p) in model.named_parameters())
        {
            if (!name.EndsWith("norm.weight", StringComparison.Ordinal) && !name.EndsWith("norm1.weight", StringComparison.Ordinal) && !name.EndsWith("norm2.weight", StringComparison.Ordinal))
            {
                p.copy_(randn(p.shape, generator: generator) * (name.Contains("embed_tokens", StringComparison.Ordinal) ? 1.0 : 0.15));
            }
        }
    }

    private static string NewFolder()
    {
        string folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "vepa-qwen-policy-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
                // A temp folder left behind is harmless.
            }
        };
        return folder;
    }

    private static void CopyTokenizer(string folder)
    {
        string tokenizer = System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", "tiny-tokenizer");
        File.Copy(System.IO.Path.Combine(tokenizer, "tokenizer.json"), System.IO.Path.Combine(folder, "tokenizer.json"));
        File.Copy(System.IO.Path.Combine(tokenizer, "tokenizer_config.json"), System.IO.Path.Combine(folder, "tokenizer_config.json"));
    }
}
