using System.Diagnostics;
using TorchSharp;
using Vepa.Grpo;
using Vepa.Grpo.Cuda;
using Vepa.Models;
using static TorchSharp.torch;

/// <summary>
/// `Vepa.GpuCheck qwen2vl-bench`: a random-weight Qwen2-VL-2B-shaped model (the published config) in bf16 on the GPU: forward +
/// backward through the log-prob path the trainer uses (hidden states + LM head, never [B, T, V]), with and without gradient
/// checkpointing, and KV-cached greedy decoding; memory as the device's used memory (the caching allocator's reserve) after each phase.
/// </summary>
internal static class QwenVlBench
{
    private const string Config2B = """
        {"architectures": ["Qwen2VLForConditionalGeneration"], "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151645,
         "vision_start_token_id": 151652, "vision_end_token_id": 151653, "vision_token_id": 151654, "image_token_id": 151655,
         "video_token_id": 151656, "hidden_act": "silu", "hidden_size": 1536, "initializer_range": 0.02, "intermediate_size": 8960,
         "max_position_embeddings": 32768, "max_window_layers": 28, "model_type": "qwen2_vl", "num_attention_heads": 12,
         "num_hidden_layers": 28, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768,
         "tie_word_embeddings": true, "torch_dtype": "bfloat16", "use_cache": true, "use_sliding_window": false,
         "vision_config": {"depth": 32, "embed_dim": 1280, "mlp_ratio": 4, "num_heads": 16, "in_chans": 3, "hidden_size": 1536,
                           "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2},
         "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]}, "vocab_size": 151936}
        """;

    public static int Run()
    {
        var dev = CUDA;
        var rt = CudaRuntime.Instance;
        double Used() { var (free, total) = rt.MemoryInfo(0); return (total - free) / (double)(1L << 30); }
        Console.WriteLine($"device memory used before the model: {Used():F2} GiB");
        var config = QwenConfig.Parse(Config2B);
        var sw = Stopwatch.StartNew();
        using var model = new Qwen2VLForConditionalGeneration(config, dev, ScalarType.BFloat16);
        cuda.synchronize();
        long parameters = model.parameters().Sum(p => p.numel());
        Console.WriteLine($"Qwen2-VL-2B-shaped, bf16, random weights: {parameters / 1e9:F3} B parameters, built in {sw.Elapsed.TotalSeconds:F1} s; used {Used():F2} GiB");

        // One 448 x 448 image per row: grid (1, 32, 32) = 1024 patches -> 256 image tokens; 24 + 2 + 256 + 230 = 512 prompt+completion tokens.
        const int batch = 4, grid = 32, imageTokens = grid * grid / 4, before = 24, after = 230;
        int length = before + 1 + imageTokens + 1 + after;
        var rows = new long[batch, length];
        var rng = new Random(1);
        for (int b = 0; b < batch; b++)
        {
            for (int j = 0; j < length; j++) rows[b, j] = rng.Next(0, 150000);
            rows[b, before] = 151652;
            for (int j = 0; j < imageTokens; j++) rows[b, before + 1 + j] = 151655;
            rows[b, before + 1 + imageTokens] = 151653;
        }

        var ids = tensor(rows).to(dev);
        var mask = ones([batch, length], ScalarType.Int64, dev);
        var pixels = randn([batch * grid * grid, 3 * 2 * 14 * 14], ScalarType.BFloat16, dev);
        var thw = tensor(Enumerable.Range(0, batch).SelectMany(_ => new long[] { 1, grid, grid }).ToArray()).reshape(batch, 3).to(dev);
        var targets = ids.narrow(1, 1, length - 1);
        Console.WriteLine($"batch {batch} x {length} tokens ({imageTokens} image tokens per row from {grid * grid} patches)");

        // Checkpointing first: the allocator's reserve only grows within a process, so the lower peak must be measured first.
        foreach (bool checkpointing in new[] { true, false })
        {
            model.GradientCheckpointing = checkpointing;
            var times = new List<double>();
            double peak = 0;
            for (int it = 0; it < 5; it++)
            {
                using var scope = NewDisposeScope();
                cuda.synchronize();
                var t0 = Stopwatch.GetTimestamp();
                var hidden = model.Forward(ids, mask, pixels, thw);
                var logProbs = TokenLogProbs.FromHiddenStates(hidden.narrow(1, 0, length - 1), model.LmHeadWeight, targets);
                var loss = -logProbs.to(ScalarType.Float32).mean();
                peak = Math.Max(peak, Used());
                loss.backward();
                cuda.synchronize();
                peak = Math.Max(peak, Used());
                times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                foreach (var p in model.parameters()) { p.grad?.Dispose(); p.grad = null; }
            }

            var measured = times.Skip(2).ToArray();
            double mean = measured.Average();
            Console.WriteLine($"forward+backward (checkpointing {(checkpointing ? "on" : "off")}): {mean:F1} ms per step (steps: {string.Join(", ", times.Select(t => t.ToString("F1")))}), " +
                              $"{batch * length / (mean / 1000):F0} tokens/s; device memory used (allocator reserve, max over steps) {peak:F2} GiB");
        }

        model.GradientCheckpointing = false;
        using (no_grad())
        {
            foreach (int newTokens in new[] { 32, 128 })
            {
                using var scope = NewDisposeScope();
                int sb = 8;
                var prompt = ids.narrow(1, 0, before + imageTokens + 2 + 16).repeat(2, 1);
                var spix = pixels.repeat(2, 1);
                var sthw = thw.repeat(2, 1);
                cuda.synchronize();
                var t0 = Stopwatch.GetTimestamp();
                using var cache = new KeyValueCache();
                var (_, deltas) = model.GetRopeIndex(prompt, sthw, null);
                var h = model.Forward(prompt, null, spix, sthw, cache);
                var next = model.ComputeLogits(h.narrow(1, h.shape[1] - 1, 1)).argmax(-1);
                cuda.synchronize();
                double prefill = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                var t1 = Stopwatch.GetTimestamp();
                for (int s = 1; s < newTokens; s++)
                {
                    h = model.Forward(next, null, null, null, cache, deltas);
                    next = model.ComputeLogits(h).argmax(-1);
                }

                cuda.synchronize();
                double decode = Stopwatch.GetElapsedTime(t1).TotalMilliseconds;
                Console.WriteLine($"KV-cached greedy decoding, batch {sb}, prompt {prompt.shape[1]} tokens: prefill {prefill:F1} ms, {newTokens - 1} decode steps {decode:F1} ms " +
                                  $"= {sb * (newTokens - 1) / (decode / 1000):F0} tokens/s ({decode / (newTokens - 1):F2} ms per step); used {Used():F2} GiB");
            }
        }

        return 0;
    }
}
