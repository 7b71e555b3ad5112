using Vepa.Grpo;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Vepa.Models.Tests;

public class Qwen2VLTests(ITestOutputHelper output)
{
    private static readonly Dictionary<string, Tensor> Expected = VisionFixtures.Load(VisionFixtures.Expected);
    private static readonly Dictionary<string, Tensor> Processed = VisionFixtures.Load(Path.Combine(VisionFixtures.Processor, "expected.safetensors"));

    public static TheoryData<string> Cases() => ["one_image", "two_images", "padded_batch", "text_only"];

    private static (Tensor? Pixels, Tensor? Grid) Images(string name)
    {
        if (!Expected.TryGetValue(name + ".image_order", out var order))
        {
            return (null, null);
        }

        var names = order.data<long>().ToArray().Select(i => VisionFixtures.ImageNames[i]).ToArray();
        return (cat(names.Select(n => Processed[n + ".pixel_values"]).ToArray(), 0), Expected[name + ".image_grid_thw"]);
    }

    private static double MaskedRelativeError(Tensor logits, Tensor expected, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var keep = mask.to(ScalarType.Bool).unsqueeze(-1);
        return VisionFixtures.RelativeError(logits.masked_fill(keep.logical_not(), 0), expected.masked_fill(keep.logical_not(), 0));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Logits_match_the_independent_reference_in_float64_and_float32(string name)
    {
        using var scope = NewDisposeScope();
        var (pixels, grid) = Images(name);
        var ids = Expected[name + ".input_ids"];
        var mask = Expected[name + ".attention_mask"];
        foreach (var (dtype, suffix, tolerance) in new[] { (ScalarType.Float64, "f64", 1e-9), (ScalarType.Float32, "f32", 1e-4) })
        {
            using var vl = Qwen2VLForConditionalGeneration.FromPretrained(VisionFixtures.TinySnapshot, dtype: dtype);
            using var noGrad = no_grad();
            var logits = vl.ComputeLogits(vl.Forward(ids, mask, pixels, grid));
            double error = MaskedRelativeError(logits, Expected[$"{name}.logits_{suffix}"], mask);
            output.WriteLine($"{name} {suffix}: max |Δ| / max(1, max |ref|) = {error:0.###e+0}");
            error.Should().BeLessThan(tolerance, $"{name} {suffix}");
        }
    }

    [Fact]
    public void Png_files_through_the_processor_and_the_model_give_the_reference_logits()
    {
        using var scope = NewDisposeScope();
        var processor = Qwen2VLImageProcessor.FromPretrained(VisionFixtures.TinySnapshot);
        using var images = processor.Process(
            [RgbImage.FromFile(Path.Combine(VisionFixtures.Images, "img_50x37.png")), RgbImage.FromFile(Path.Combine(VisionFixtures.Images, "img_200x90.png"))]);
        processor.GetImageTokenCount(37, 50).Should().Be(6);
        processor.GetImageTokenCount(90, 200).Should().Be(10);
        using var vl = Qwen2VLForConditionalGeneration.FromPretrained(VisionFixtures.TinySnapshot);
        using var noGrad = no_grad();
        var logits = vl.ComputeLogits(vl.Forward(Expected["two_images.input_ids"], null, images.PixelValues, images.ImageGridThw));
        VisionFixtures.RelativeError(logits, Expected["two_images.logits_f32"]).Should().BeLessThan(1e-4);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Rope_index_matches_the_reference_positions_and_deltas(string name)
    {
        using var scope = NewDisposeScope();
        using var vl = Qwen2VLForConditionalGeneration.FromPretrained(VisionFixtures.TinySnapshot);
        var (_, grid) = Images(name);
        var (positions, deltas) = vl.GetRopeIndex(Expected[name + ".input_ids"], grid, Expected[name + ".attention_mask"]);
        positions.data<long>().ToArray().Should().Equal(Expected[name + ".position_ids"].data<long>().ToArray());
        deltas.data<long>().ToArray().Should().Equal(Expected[name + ".rope_deltas"].data<long>().ToArray());
    }

    [Fact]
    public void Rope_index_of_a_hand_worked_prompt()
    {
        // [T T <vs> I I I I I I <ve> T] with one image of grid (1, 4, 6) -> 2 x 3 merged tokens:
        // text 0,1,2 (vision start); image t = 3, h = 3..4, w = 3..5; then 6 (vision end), 7.
        using var scope = NewDisposeScope();
        var ids = tensor(new long[] { 5, 6, 150, 152, 152, 152, 152, 152, 152, 151, 7 }).unsqueeze(0);
        var (pos, delta) = Qwen2VLPositions.GetRopeIndex(ids, tensor(new long[] { 1, 4, 6 }).view(1, 3), null, 152, 150, 2);
        pos[0, 0].data<long>().ToArray().Should().Equal(0, 1, 2, 3, 3, 3, 3, 3, 3, 6, 7);
        pos[1, 0].data<long>().ToArray().Should().Equal(0, 1, 2, 3, 3, 3, 4, 4, 4, 6, 7);
        pos[2, 0].data<long>().ToArray().Should().Equal(0, 1, 2, 3, 4, 5, 3, 4, 5, 6, 7);
        delta.data<long>().ToArray().Should().Equal(8 - 11);
    }

    [Fact]
    public void Cached_decoding_matches_full_recompute_with_images_and_left_padding()
    {
        using var scope = NewDisposeScope();
        using var vl = Qwen2VLForConditionalGeneration.FromPretrained(VisionFixtures.TinySnapshot, dtype: ScalarType.Float64);
        using var noGrad = no_grad();
        var (pixels, grid) = Images("padded_batch");
        var ids = Expected["padded_batch.input_ids"];
        var mask = Expected["padded_batch.attention_mask"];
        var extra = tensor(new long[,] { { 11, 12, 13 }, { 21, 22, 23 } });
        var fullIds = cat([ids, extra], 1);
        var fullMask = cat([mask, ones_like(extra)], 1);
        var full = vl.ComputeLogits(vl.Forward(fullIds, fullMask, pixels, grid));

        using var cache = new KeyValueCache();
        var (_, deltas) = vl.GetRopeIndex(ids, grid, mask);
        var prefill = vl.ComputeLogits(vl.Forward(ids, mask, pixels, grid, cache));
        long length = ids.shape[1];
        MaskedRelativeError(prefill, full.narrow(1, 0, length), mask).Should().BeLessThan(1e-12);
        var stepMask = mask;
        for (int i = 0; i < 3; i++)
        {
            stepMask = cat([stepMask, ones(2, 1, ScalarType.Int64)], 1);
            var step = vl.ComputeLogits(vl.Forward(extra.narrow(1, i, 1), stepMask, cache: cache, ropeDeltas: deltas));
            VisionFixtures.RelativeError(step, full.narrow(1, length + i, 1)).Should().BeLessThan(1e-12, $"step {i}");
        }

        var missing = () => vl.Forward(extra.narrow(1, 0, 1), cat([stepMask, ones(2, 1, ScalarType.Int64)], 1), cache: cache);
        missing.Should().Throw<ArgumentException>().WithMessage("*rope deltas*");
        var lateImages = () => vl.Forward(ids, null, pixels, grid, cache);
        lateImages.Should().Throw<ArgumentException>().WithMessage("*prompt pass*cached step*");
    }

    [Fact]
    public void Bfloat16_stays_close_to_float32()
    {
        using var scope = NewDisposeScope();
        var (pixels, grid) = Images("two_images");
        var ids = Expected["two_images.input_ids"];
        using var bf = Qwen2VLForConditionalGeneration.FromPretrained(VisionFixtures.TinySnapshot, dtype: ScalarType.BFloat16);
        using var noGrad = no_grad();
        var logits = bf.ComputeLogits(bf.Forward(ids, null, pixels, grid)).to(ScalarType.Float32);
        // bf16 keeps 8 mantissa bits; through 2 vision blocks and 2 decoder layers the logits stay within a few percent of the scale.
        double error = VisionFixtures.RelativeError(logits, Expected["two_images.logits_f32"]);
        output.WriteLine($"bf16 vs float32 reference: {error:0.###e+0}");
        error.Should().BeLessThan(0.05);
    }

    [Fact]
    public void Gradients_reach_the_vision_tower_and_the_decoder()
    {
        using var scope = NewDisposeScope();
        using var vl = Qwen2VLForConditionalGeneration.FromPretrained(VisionFixtures.TinySnapshot);
        vl.train();
        vl.GradientCheckpointing = true;
        var (pixels, grid) = Images("one_image");
        var logits = vl.ComputeLogits(vl.Forward(Expected["one_image.input_ids"], null, pixels, grid));
        logits.log_softmax(-1)[.., .., 3].sum().backward();
        var p = vl.HuggingFaceParameters();
        foreach (var name in new[] { "visual.patch_embed.proj.weight", "visual.blocks.0.attn.qkv.weight", "visual.merger.mlp.2.weight", "model.layers.0.self_attn.q_proj.weight", "lm_head.weight" })
        {
            p[name].grad.Should().NotBeNull(name);
            p[name].grad!.abs().sum().item<float>().Should().BeGreaterThan(0f, name);
        }
    }

    [Fact]
    public void Gradient_checkpointing_gives_the_same_gradients_in_float64()
    {
        using var scope = NewDisposeScope();
        var (pixels, grid) = Images("two_images");
        var ids = Expected["two_images.input_ids"];
        var grads = new List<Dictionary<string, Tensor>>();
        foreach (bool checkpointing in new[] { false, true })
        {
            using var vl = Qwen2VLForConditionalGeneration.FromPretrained(VisionFixtures.TinySnapshot, dtype: ScalarType.Float64);
            vl.train();
            vl.GradientCheckpointing = checkpointing;
            vl.Visual.GradientCheckpointing.Should().Be(checkpointing);
            var logits = vl.ComputeLogits(vl.Forward(ids, null, pixels, grid));
            (logits.log_softmax(-1)[.., .., 7].sum() + logits.pow(2).mean()).backward();
            grads.Add(vl.HuggingFaceParameters().ToDictionary(p => p.Key, p => p.Value.grad!.clone()));
        }

        grads[1].Keys.Should().BeEquivalentTo(grads[0].Keys);
        foreach (var (name, g) in grads[0])
        {
            VisionFixtures.RelativeError(grads[1][name], g).Should().BeLessThan(1e-12, name);
        }
    }

    [Fact]
    public void Save_and_reload_round_trip_including_the_transformers_5_layout()
    {
        using var scope = NewDisposeScope();
        var dir = Directory.CreateTempSubdirectory("vepa-vl-save-");
        try
        {
            using var vl = Qwen2VLForConditionalGeneration.FromPretrained(VisionFixtures.TinySnapshot);
            string saved = Path.Combine(dir.FullName, "saved");
            vl.SavePretrained(saved);
            File.Exists(Path.Combine(saved, "preprocessor_config.json")).Should().BeTrue();
            File.ReadAllText(Path.Combine(saved, "config.json")).Should().Contain("vision_config").And.Contain("mrope_section");

            // The nested names transformers >= 4.52 writes.
            string nested = Path.Combine(dir.FullName, "nested");
            SafetensorsCheckpoint.Save(nested, vl.HuggingFaceParameters().Select(p => new KeyValuePair<string, Tensor>(
                p.Key.StartsWith("visual.", StringComparison.Ordinal) ? "model." + p.Key
                : p.Key.StartsWith("model.", StringComparison.Ordinal) ? "model.language_model." + p.Key[6..] : p.Key, p.Value)));
            File.Copy(Path.Combine(saved, "config.json"), Path.Combine(nested, "config.json"));

            var (pixels, grid) = Images("one_image");
            var ids = Expected["one_image.input_ids"];
            using var noGrad = no_grad();
            foreach (var folder in new[] { saved, nested })
            {
                using var again = Qwen2VLForConditionalGeneration.FromPretrained(folder);
                var logits = again.ComputeLogits(again.Forward(ids, null, pixels, grid));
                VisionFixtures.RelativeError(logits, Expected["one_image.logits_f32"]).Should().BeLessThan(1e-4, folder);
            }
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void A_model_built_from_a_config_in_code_saves_a_snapshot_that_reloads()
    {
        using var scope = NewDisposeScope();
        var dir = Directory.CreateTempSubdirectory("vepa-vl-code-");
        try
        {
            // The fixture's architecture, typed in code; Json holds only what has no typed property (no model_type).
            var config = new QwenConfig
            {
                ModelType = "qwen2_vl", VocabSize = 160, HiddenSize = 64, IntermediateSize = 128, NumHiddenLayers = 2,
                NumAttentionHeads = 4, NumKeyValueHeads = 2, RopeTheta = 1e6, MaxPositionEmbeddings = 4096, MropeSection = [2, 3, 3],
                Json = System.Text.Json.Nodes.JsonNode.Parse("""
                    {"image_token_id": 152, "vision_start_token_id": 150,
                     "vision_config": {"depth": 2, "embed_dim": 32, "num_heads": 4, "hidden_size": 64}}
                    """)!.AsObject(),
            };
            using var fixture = Qwen2VLForConditionalGeneration.FromPretrained(VisionFixtures.TinySnapshot);
            using var built = new Qwen2VLForConditionalGeneration(config, initialize: false);
            built.load_state_dict(fixture.state_dict());
            built.SavePretrained(dir.FullName);

            using var again = Qwen2VLForConditionalGeneration.FromPretrained(dir.FullName);
            again.Config.MropeSection.Should().Equal(2, 3, 3);
            again.Config.NumHiddenLayers.Should().Be(2);
            (again.Visual.Config.Depth, again.Visual.Config.EmbedDim, again.Visual.Config.MlpRatio).Should().Be((2, 32, 4.0));
            (again.ImageTokenId, again.VisionStartTokenId).Should().Be((152L, 150L));
            var (pixels, grid) = Images("one_image");
            using var noGrad = no_grad();
            var logits = again.ComputeLogits(again.Forward(Expected["one_image.input_ids"], null, pixels, grid));
            VisionFixtures.RelativeError(logits, Expected["one_image.logits_f32"]).Should().BeLessThan(1e-4);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void A_code_built_config_writes_its_multimodal_rope_sections()
    {
        var config = new QwenConfig
        {
            ModelType = "qwen2_vl", VocabSize = 160, HiddenSize = 64, IntermediateSize = 128, NumHiddenLayers = 2,
            NumAttentionHeads = 4, NumKeyValueHeads = 2, MropeSection = [4, 2, 2],
        };
        var parsed = QwenConfig.Parse(config.ToJson());
        parsed.MropeSection.Should().Equal(4, 2, 2);
        parsed.ArchitectureName.Should().Be("Qwen2VLForConditionalGeneration");
        QwenConfig.Parse(new QwenConfig { ModelType = "qwen2", VocabSize = 8, HiddenSize = 8, IntermediateSize = 8, NumHiddenLayers = 1,
            NumAttentionHeads = 2, NumKeyValueHeads = 2 }.ToJson()).MropeSection.Should().BeNull();
    }

    [Fact]
    public void Image_token_and_feature_counts_must_agree()
    {
        using var scope = NewDisposeScope();
        using var vl = Qwen2VLForConditionalGeneration.FromPretrained(VisionFixtures.TinySnapshot);
        var (pixels, grid) = Images("one_image");
        var ids = Expected["one_image.input_ids"].clone();
        ids[0, 5] = tensor(7L); // one image token fewer than the 6 features
        var act = () => vl.Forward(ids, null, pixels, grid);
        act.Should().Throw<ArgumentException>().WithMessage("*5 image tokens*6 features*");
        var noImages = () => vl.Forward(Expected["one_image.input_ids"]);
        noImages.Should().Throw<ArgumentException>().WithMessage("*6 image tokens*no pixelValues*");
    }

    [Fact]
    public void A_snapshot_missing_a_vision_tensor_fails_naming_it()
    {
        using var scope = NewDisposeScope();
        var dir = Directory.CreateTempSubdirectory("vepa-vl-bad-");
        try
        {
            using var vl = Qwen2VLForConditionalGeneration.FromPretrained(VisionFixtures.TinySnapshot);
            SafetensorsCheckpoint.Save(dir.FullName, vl.HuggingFaceParameters().Where(p => p.Key != "visual.blocks.1.mlp.fc2.bias"));
            File.Copy(Path.Combine(VisionFixtures.TinySnapshot, "config.json"), Path.Combine(dir.FullName, "config.json"));
            var act = () => Qwen2VLForConditionalGeneration.FromPretrained(dir.FullName);
            act.Should().Throw<SnapshotFormatException>().WithMessage("*visual.blocks.1.mlp.fc2.bias*");
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void The_published_Qwen2_VL_2B_config_parses()
    {
        // config.json of Qwen/Qwen2-VL-2B-Instruct (flat text fields, vision_config without hidden_act).
        var json = """
            {"architectures": ["Qwen2VLForConditionalGeneration"], "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151645,
             "vision_start_token_id": 151652, "vision_end_token_id": 151653, "vision_token_id": 151654, "image_token_id": 151655,
             "video_token_id": 151656, "hidden_act": "silu", "hidden_size": 1536, "initializer_range": 0.02, "intermediate_size": 8960,
             "max_position_embeddings": 32768, "max_window_layers": 28, "model_type": "qwen2_vl", "num_attention_heads": 12,
             "num_hidden_layers": 28, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768,
             "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.41.2", "use_cache": true,
             "use_sliding_window": false,
             "vision_config": {"depth": 32, "embed_dim": 1280, "mlp_ratio": 4, "num_heads": 16, "in_chans": 3, "hidden_size": 1536,
                               "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2},
             "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]}, "vocab_size": 151936}
            """;
        var config = QwenConfig.Parse(json);
        config.MropeSection.Should().Equal(16, 24, 24);
        config.EffectiveHeadDim.Should().Be(128);
        var vision = Qwen2VLVisionConfig.Parse(config.Json!["vision_config"]!.AsObject());
        (vision.Depth, vision.EmbedDim, vision.HeadDim, vision.MlpHiddenDim, vision.HiddenAct).Should().Be((32, 1280, 80, 5120, "quick_gelu"));
    }

    [Fact]
    public void A_tied_snapshot_uses_the_token_embedding_as_head_and_ignores_a_stored_head()
    {
        using var scope = NewDisposeScope();
        var dir = Directory.CreateTempSubdirectory("vepa-vl-tied-");
        try
        {
            using var vl = Qwen2VLForConditionalGeneration.FromPretrained(VisionFixtures.TinySnapshot);
            vl.SavePretrained(dir.FullName); // keeps lm_head.weight, which a tied model must ignore
            string configPath = Path.Combine(dir.FullName, "config.json");
            File.WriteAllText(configPath, File.ReadAllText(configPath).Replace("\"tie_word_embeddings\": false", "\"tie_word_embeddings\": true", StringComparison.Ordinal));
            using var tied = Qwen2VLForConditionalGeneration.FromPretrained(dir.FullName);
            tied.Config.TieWordEmbeddings.Should().BeTrue();
            tied.HuggingFaceParameters().Keys.Should().NotContain("lm_head.weight");
            (tied.LmHeadWeight - vl.Model.EmbeddingWeight).abs().max().item<float>().Should().Be(0f);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void Unsupported_vision_settings_are_listed_together()
    {
        var json = System.Text.Json.Nodes.JsonNode.Parse("""{"depth": 0, "embed_dim": 30, "num_heads": 4, "hidden_act": "relu6"}""")!.AsObject();
        var act = () => Qwen2VLVisionConfig.Parse(json, "snap/config.json");
        act.Should().Throw<SnapshotFormatException>()
            .WithMessage("*snap/config.json*'vision_config.depth' must be positive*")
            .WithMessage("*embed_dim' (30) must be a multiple of 'num_heads' (4)*")
            .WithMessage("*hidden_act' 'relu6' is not implemented*");
    }
}
