using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Models.Tests;

/// <summary>
/// A tiny random Qwen2 snapshot folder with the tiny Qwen-format tokenizer (782 ids; the LM head has 800 rows, padded like real
/// checkpoints): config.json, model.safetensors, generation_config.json (stops <c>&lt;|im_end|&gt;</c> 758 and <c>&lt;|endoftext|&gt;</c> 756),
/// tokenizer.json and tokenizer_config.json (the Qwen2-VL chat template, default system message "You are a helpful assistant.").
/// Written once per test run under the temp folder, with weights drawn from a fixed seed.
/// </summary>
internal static class QwenPolicySnapshot
{
    public const int TokenCount = 782;

    public const int HeadRows = 800;

    public const long ImEnd = 758;

    public const long EndOfText = 756;

    private static readonly Lazy<string> Folder = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Gets the folder of the snapshot.</summary>
    public static string Path => Folder.Value;

    private static string Create()
    {
        string folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "vepa-qwen-policy-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
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
        var config = QwenConfig.FromFolder(folder);
        using (var generator = new Generator(20261204))
        using (var model = new QwenForCausalLM(config))
        {
            using (no_grad())
            {
                // Larger than Hugging Face's 0.02 so the random policy is far from uniform (completions vary, stop tokens occur).
                foreach (var (name, p) in model.named_parameters())
                {
                    if (!name.EndsWith("norm.weight", StringComparison.Ordinal))
                    {
                        p.copy_(randn(p.shape, generator: generator) * (name.Contains("embed", StringComparison.Ordinal) ? 1.0 : 0.15));
                    }
                }
            }

            model.GenerationConfigJson = """
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
            model.SavePretrained(folder);
        }

        string tokenizer = System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", "tiny-tokenizer");
        File.Copy(System.IO.Path.Combine(tokenizer, "tokenizer.json"), System.IO.Path.Combine(folder, "tokenizer.json"));
        File.Copy(System.IO.Path.Combine(tokenizer, "tokenizer_config.json"), System.IO.Path.Combine(folder, "tokenizer_config.json"));
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
}
