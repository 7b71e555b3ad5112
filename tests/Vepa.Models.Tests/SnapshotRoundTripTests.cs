using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Models.Tests;

/// <summary>SavePretrained → an independent safetensors parse → FromPretrained: identical tensors and logits.</summary>
public class SnapshotRoundTripTests
{
    [Theory]
    [InlineData("qwen2-untied", 60_000)]
    [InlineData("qwen3-bf16-tied", long.MaxValue)]
    [InlineData("qwen2-tied-sharded", 100_000)]
    public void Saved_snapshots_are_valid_safetensors_that_load_back_identically(string fixture, long maxShardBytes)
    {
        using var scope = NewDisposeScope();
        var storage = fixture.Contains("bf16", StringComparison.Ordinal) ? ScalarType.BFloat16 : ScalarType.Float32;
        using var model = QwenForCausalLM.FromPretrained(TextFixtures.Folder(fixture), dtype: storage);
        string folder = Path.Combine(Path.GetTempPath(), "vepa-models-tests", "save-" + Guid.NewGuid().ToString("N")[..8]);
        model.SavePretrained(folder, maxShardBytes);

        // The published names, read back by an independent parser; a tied head is omitted.
        var files = Directory.GetFiles(folder, "*.safetensors").Select(f => Path.GetFileName(f)).Order().ToList();
        var stored = new Dictionary<string, Tensor>();
        foreach (string file in files)
        {
            foreach (var (name, t) in IndependentSafetensors.Read(Path.Combine(folder, file)))
            {
                stored.Add(name, t);
            }
        }

        var original = IndependentFixtureWeights(fixture);
        stored.Keys.Should().BeEquivalentTo(original.Keys);
        foreach (var (name, t) in original)
        {
            stored[name].shape.Should().Equal(t.shape, name);
            (stored[name] - t).abs().max().item<double>().Should().Be(0, name);
        }

        if (maxShardBytes == long.MaxValue)
        {
            files.Should().Equal("model.safetensors");
        }
        else
        {
            files.Count.Should().BeGreaterThan(1);
            files.Should().AllSatisfy(f => f.Should().MatchRegex(@"^model-\d{5}-of-\d{5}\.safetensors$"));
            using var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "model.safetensors.index.json")));
            var map = index.RootElement.GetProperty("weight_map").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
            map.Keys.Should().BeEquivalentTo(original.Keys);
            long size = stored.Values.Sum(t => t.NumberOfElements) * (storage == ScalarType.BFloat16 ? 2 : 4);
            index.RootElement.GetProperty("metadata").GetProperty("total_size").GetInt64().Should().Be(size);
        }

        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, "config.json")));
        config.RootElement.GetProperty("torch_dtype").GetString().Should().Be(storage == ScalarType.BFloat16 ? "bfloat16" : "float32");
        config.RootElement.GetProperty("sliding_window").GetInt32().Should().Be(4096, "fields Vepa does not use are kept");
        File.ReadAllText(Path.Combine(folder, "generation_config.json")).Should().Contain("\"temperature\"");

        using var reloaded = QwenForCausalLM.FromPretrained(folder, dtype: storage);
        var ids = TextFixtures.Expected(fixture)["left.input_ids"].to(ScalarType.Int64);
        var mask = TextFixtures.Expected(fixture)["left.attention_mask"].to(ScalarType.Int64);
        using var noGrad = no_grad();
        var before = model.ComputeLogits(model.Forward(ids, mask)).to(ScalarType.Float64);
        var after = reloaded.ComputeLogits(reloaded.Forward(ids, mask)).to(ScalarType.Float64);
        (after - before).abs().max().item<double>().Should().Be(0);
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public void Saving_again_with_fewer_shards_removes_the_stale_shards()
    {
        using var scope = NewDisposeScope();
        using var model = QwenForCausalLM.FromPretrained(TextFixtures.Folder("qwen2-untied"));
        string folder = Path.Combine(Path.GetTempPath(), "vepa-models-tests", "resave-" + Guid.NewGuid().ToString("N")[..8]);
        model.SavePretrained(folder, 50_000);
        model.SavePretrained(folder);
        Directory.GetFiles(folder, "*.safetensors").Select(Path.GetFileName).Should().Equal("model.safetensors");
        File.Exists(Path.Combine(folder, "model.safetensors.index.json")).Should().BeFalse();
        Directory.Delete(folder, recursive: true);
    }

    private static Dictionary<string, Tensor> IndependentFixtureWeights(string fixture)
    {
        var result = new Dictionary<string, Tensor>();
        foreach (string file in Directory.GetFiles(TextFixtures.Folder(fixture), "*.safetensors"))
        {
            foreach (var (name, t) in IndependentSafetensors.Read(file))
            {
                result.Add(name, t);
            }
        }

        return result;
    }
}
