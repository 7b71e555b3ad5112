using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Vepa.Models.Tests;

/// <summary>Every kind of bad snapshot gets a <see cref="SnapshotFormatException"/> naming the file and the tensor or field.</summary>
public class SnapshotErrorTests
{
    [Fact]
    public void A_truncated_shard_names_the_file_and_the_tensor_past_its_end()
    {
        string folder = TextFixtures.CopyToTemp("qwen2-tied-sharded");
        string shard = Path.Combine(folder, "model-00002-of-00003.safetensors");
        using (var stream = new FileStream(shard, FileMode.Open))
        {
            stream.SetLength(stream.Length - 100);
        }

        var e = Load(folder).Which;
        e.FilePath.Should().Be(shard);
        e.TensorName.Should().NotBeNullOrEmpty();
        e.Message.Should().Contain(shard).And.Contain(e.TensorName!).And.Contain("truncated");
    }

    [Fact]
    public void A_shard_cut_inside_its_header_is_reported_as_truncated()
    {
        string folder = TextFixtures.CopyToTemp("qwen2-untied");
        string file = Path.Combine(folder, "model.safetensors");
        using (var stream = new FileStream(file, FileMode.Open))
        {
            stream.SetLength(200);
        }

        Load(folder).Which.Message.Should().Contain(file).And.Contain("truncated");
    }

    [Fact]
    public void An_unsupported_dtype_names_the_file_and_the_tensor()
    {
        string folder = TextFixtures.CopyToTemp("qwen2-untied");
        string file = Path.Combine(folder, "model.safetensors");
        RewriteHeader(file, header => header["model.norm.weight"]!["dtype"] = "F8_E4M3");
        var e = Load(folder).Which;
        e.TensorName.Should().Be("model.norm.weight");
        e.Message.Should().Contain(file).And.Contain("'model.norm.weight'").And.Contain("unsupported dtype 'F8_E4M3'");
    }

    [Fact]
    public void A_dtype_that_disagrees_with_the_byte_count_is_refused()
    {
        string folder = TextFixtures.CopyToTemp("qwen2-untied");
        string file = Path.Combine(folder, "model.safetensors");
        RewriteHeader(file, header => header["model.norm.weight"]!["dtype"] = "F16");
        Load(folder).Which.Message.Should().Contain("'model.norm.weight'").And.Contain("needs 128 bytes");
    }

    [Fact]
    public void An_index_without_an_entry_for_a_needed_tensor_names_the_index_and_the_tensor()
    {
        string folder = TextFixtures.CopyToTemp("qwen2-tied-sharded");
        string index = Path.Combine(folder, "model.safetensors.index.json");
        var json = JsonNode.Parse(File.ReadAllText(index))!;
        json["weight_map"]!.AsObject().Remove("model.layers.1.mlp.up_proj.weight");
        File.WriteAllText(index, json.ToJsonString());
        var e = Load(folder).Which;
        e.FilePath.Should().Be(index);
        e.TensorName.Should().Be("model.layers.1.mlp.up_proj.weight");
    }

    [Fact]
    public void An_index_entry_pointing_to_a_missing_file_names_the_file_and_a_tensor()
    {
        string folder = TextFixtures.CopyToTemp("qwen2-tied-sharded");
        File.Delete(Path.Combine(folder, "model-00003-of-00003.safetensors"));
        var e = Load(folder).Which;
        e.Message.Should().Contain("model-00003-of-00003.safetensors").And.Contain("does not exist");
        e.TensorName.Should().NotBeNullOrEmpty();
    }

    [Fact]
    public void A_missing_tensor_is_named()
    {
        string folder = TextFixtures.CopyToTemp("qwen2-untied");
        RemoveTensor(Path.Combine(folder, "model.safetensors"), "model.layers.1.self_attn.k_proj.bias");
        var e = Load(folder).Which;
        e.TensorName.Should().Be("model.layers.1.self_attn.k_proj.bias");
        e.Message.Should().Contain("missing");
    }

    [Fact]
    public void An_unexpected_tensor_is_named_with_its_file()
    {
        // A Qwen2 snapshot relabelled Qwen3: its q/k/v biases are not Qwen3 parameters (attention_bias false).
        string folder = TextFixtures.CopyToTemp("qwen2-untied");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!;
        config["model_type"] = "qwen3";
        config["head_dim"] = 16;
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        var e = Load(folder).Which;
        e.Message.Should().Contain("unexpected tensor").And.Contain(Path.Combine(folder, "model.safetensors"));
        e.TensorName.Should().MatchRegex(@"^model\.layers\.\d\.self_attn\.[qkv]_proj\.bias$");
    }

    [Fact]
    public void A_mis_shaped_tensor_names_both_shapes()
    {
        string folder = TextFixtures.CopyToTemp("qwen2-untied");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!;
        config["intermediate_size"] = 96;
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        var e = Load(folder).Which;
        e.TensorName.Should().StartWith("model.layers.0.mlp.");
        e.Message.Should().MatchRegex(@"shape \[(128, 64|64, 128)\] in the file, but the model expects \[(96, 64|64, 96)\]");
    }

    [Fact]
    public void A_tensor_stored_in_a_shard_other_than_the_index_says_is_refused()
    {
        string folder = TextFixtures.CopyToTemp("qwen2-tied-sharded");
        string index = Path.Combine(folder, "model.safetensors.index.json");
        var json = JsonNode.Parse(File.ReadAllText(index))!;
        json["weight_map"]!["model.norm.weight"] = "model-00001-of-00003.safetensors";
        File.WriteAllText(index, json.ToJsonString());
        Load(folder).Which.TensorName.Should().Be("model.norm.weight");
    }

    [Fact]
    public void Shards_without_an_index_are_refused()
    {
        string folder = TextFixtures.CopyToTemp("qwen2-tied-sharded");
        File.Delete(Path.Combine(folder, "model.safetensors.index.json"));
        Load(folder).Which.Message.Should().Contain("no 'model.safetensors.index.json'");
    }

    [Theory]
    [InlineData("model_type", "\"llama\"", "model_type 'llama' is not supported")]
    [InlineData("rope_scaling", "{\"type\": \"yarn\", \"factor\": 4.0}", "'rope_scaling' type 'yarn' is not implemented")]
    [InlineData("rope_scaling", "{\"rope_type\": \"linear\", \"factor\": 2.0}", "'rope_scaling' type 'linear' is not implemented")]
    [InlineData("use_sliding_window", "true", "sliding-window attention is not implemented")]
    [InlineData("hidden_act", "\"gelu\"", "only silu is implemented")]
    [InlineData("num_key_value_heads", "3", "must be a multiple of 'num_key_value_heads' (3)")]
    public void Unsupported_config_fields_are_named(string field, string value, string message)
    {
        string folder = TextFixtures.CopyToTemp("qwen2-untied");
        string path = Path.Combine(folder, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!;
        config[field] = JsonNode.Parse(value);
        File.WriteAllText(path, config.ToJsonString());
        var e = Load(folder).Which;
        e.FilePath.Should().Be(path);
        e.Message.Should().Contain(path).And.Contain(message);
    }

    [Fact]
    public void A_failed_load_throws_before_any_weight_is_copied()
    {
        // The truncated tensor is in the last shard; the first shard's tensors must not have been copied into the model.
        string folder = TextFixtures.CopyToTemp("qwen2-tied-sharded");
        string last = Path.Combine(folder, "model-00003-of-00003.safetensors");
        using (var stream = new FileStream(last, FileMode.Open))
        {
            stream.SetLength(stream.Length - 4);
        }

        var config = QwenConfig.FromFolder(folder);
        using var model = new QwenForCausalLM(config, initialize: false);
        using (no_grad())
        {
            foreach (var p in model.parameters())
            {
                p.fill_(7.0);
            }
        }

        var act = () => model.LoadWeights(folder);
        act.Should().Throw<SnapshotFormatException>();
        model.parameters().Should().AllSatisfy(p => p.eq(7.0).all().item<bool>().Should().BeTrue());
    }

    private static FluentAssertions.Specialized.ExceptionAssertions<SnapshotFormatException> Load(string folder)
    {
        var act = () => QwenForCausalLM.FromPretrained(folder).Dispose();
        return act.Should().Throw<SnapshotFormatException>();
    }

    private static void RewriteHeader(string file, Action<JsonObject> edit)
    {
        byte[] bytes = File.ReadAllBytes(file);
        long length = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, (int)length))!.AsObject();
        edit(header);
        byte[] json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8;
        using var stream = new FileStream(file, FileMode.Create);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(prefix, padded);
        stream.Write(prefix);
        stream.Write(json);
        stream.Write(Enumerable.Repeat((byte)' ', padded - json.Length).ToArray());
        stream.Write(bytes, 8 + (int)length, bytes.Length - 8 - (int)length);
    }

    private static void RemoveTensor(string file, string name) => RewriteHeader(file, header => header.Remove(name));
}
