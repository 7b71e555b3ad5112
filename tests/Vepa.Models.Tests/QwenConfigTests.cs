namespace Vepa.Models.Tests;

/// <summary>config.json parsing on the published configs' fields.</summary>
public class QwenConfigTests
{
    /// <summary>The fields of Qwen/Qwen2.5-0.5B-Instruct's config.json.</summary>
    private const string Qwen25Instruct = """
        {"architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0, "bos_token_id": 151643, "eos_token_id": 151645,
         "hidden_act": "silu", "hidden_size": 896, "initializer_range": 0.02, "intermediate_size": 4864,
         "max_position_embeddings": 32768, "max_window_layers": 21, "model_type": "qwen2", "num_attention_heads": 14,
         "num_hidden_layers": 24, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
         "sliding_window": 32768, "tie_word_embeddings": true, "torch_dtype": "bfloat16", "transformers_version": "4.43.1",
         "use_cache": true, "use_sliding_window": false, "vocab_size": 151936}
        """;

    /// <summary>The text fields of Qwen/Qwen2-VL-2B-Instruct's config.json (flat, with multimodal RoPE and a vision config).</summary>
    private const string Qwen2VL = """
        {"architectures": ["Qwen2VLForConditionalGeneration"], "attention_dropout": 0.0, "bos_token_id": 151643,
         "eos_token_id": 151645, "vision_start_token_id": 151652, "vision_end_token_id": 151653, "vision_token_id": 151654,
         "image_token_id": 151655, "video_token_id": 151656, "hidden_act": "silu", "hidden_size": 1536,
         "initializer_range": 0.02, "intermediate_size": 8960, "max_position_embeddings": 32768, "max_window_layers": 28,
         "model_type": "qwen2_vl", "num_attention_heads": 12, "num_hidden_layers": 28, "num_key_value_heads": 2,
         "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "sliding_window": 32768, "tie_word_embeddings": true,
         "torch_dtype": "bfloat16", "transformers_version": "4.41.2", "use_cache": true, "use_sliding_window": false,
         "vision_config": {"depth": 32, "embed_dim": 1280, "mlp_ratio": 4, "num_heads": 16, "in_chans": 3,
           "hidden_size": 1536, "patch_size": 14, "spatial_merge_size": 2, "spatial_patch_size": 14, "temporal_patch_size": 2},
         "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]}, "vocab_size": 151936}
        """;

    [Fact]
    public void Qwen2_5_config_parses_with_derived_head_size_and_bias()
    {
        var config = QwenConfig.Parse(Qwen25Instruct);
        config.ModelType.Should().Be("qwen2");
        config.EffectiveHeadDim.Should().Be(64);
        config.NumKeyValueHeads.Should().Be(2);
        config.RopeTheta.Should().Be(1e6);
        config.TieWordEmbeddings.Should().BeTrue();
        config.AttentionBias.Should().BeTrue();
        config.QueryKeyNorm.Should().BeFalse();
        config.TorchDtype.Should().Be("bfloat16");
    }

    [Fact]
    public void Qwen2_VL_config_parses_its_text_fields_and_multimodal_rope_sections()
    {
        var config = QwenConfig.Parse(Qwen2VL);
        config.ModelType.Should().Be("qwen2_vl");
        config.HiddenSize.Should().Be(1536);
        config.EffectiveHeadDim.Should().Be(128);
        config.MropeSection.Should().Equal(16, 24, 24);
        config.Json!["vision_config"]!["depth"]!.GetValue<int>().Should().Be(32);
    }

    [Fact]
    public void Qwen2_VL_config_with_a_nested_text_config_reads_the_nested_fields()
    {
        const string Nested = """
            {"model_type": "qwen2_vl", "vision_config": {"depth": 2},
             "text_config": {"model_type": "qwen2_vl_text", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
               "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 300, "rope_theta": 1000000.0,
               "rope_scaling": {"type": "mrope", "mrope_section": [4, 6, 6]}}}
            """;
        var config = QwenConfig.Parse(Nested);
        config.HiddenSize.Should().Be(64);
        config.MropeSection.Should().Equal(4, 6, 6);
    }

    [Fact]
    public void Qwen3_reads_explicit_head_dim_and_attention_bias_and_v5_rope_parameters()
    {
        const string Qwen3 = """
            {"model_type": "qwen3", "hidden_size": 1024, "intermediate_size": 3072, "num_hidden_layers": 28,
             "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 151936,
             "attention_bias": false, "rope_parameters": {"rope_type": "default", "rope_theta": 1000000}, "tie_word_embeddings": true,
             "layer_types": ["full_attention", "full_attention"]}
            """;
        var config = QwenConfig.Parse(Qwen3);
        config.EffectiveHeadDim.Should().Be(128);
        config.AttentionBias.Should().BeFalse();
        config.QueryKeyNorm.Should().BeTrue();
        config.RopeTheta.Should().Be(1e6);
    }

    [Fact]
    public void Every_problem_is_listed_in_one_error()
    {
        const string Bad = """
            {"model_type": "qwen2", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2, "rope_scaling": {"type": "dynamic", "factor": 2}, "use_sliding_window": true,
             "layer_types": ["sliding_attention"]}
            """;
        var act = () => QwenConfig.Parse(Bad, "x/config.json");
        act.Should().Throw<SnapshotFormatException>()
            .WithMessage("*x/config.json*'rope_scaling' type 'dynamic' is not implemented*'use_sliding_window' is true*'layer_types' lists a layer other than full_attention*'vocab_size' is missing.")
            .Which.Message.Should().NotContain("must be positive");
    }

    [Fact]
    public void Mrope_is_refused_outside_qwen2_vl()
    {
        var act = () => QwenConfig.Parse(Qwen25Instruct.Replace("\"rope_theta\"", "\"rope_scaling\": {\"type\": \"mrope\", \"mrope_section\": [16, 24, 24]}, \"rope_theta\"", StringComparison.Ordinal));
        act.Should().Throw<SnapshotFormatException>().WithMessage("*'rope_scaling' type 'mrope' is not implemented (supported: null or default)*");
    }
}
