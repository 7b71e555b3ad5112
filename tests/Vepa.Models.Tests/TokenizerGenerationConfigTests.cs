namespace Vepa.Models.Tests;

/// <summary>Stop ids and sampling settings from generation_config.json.</summary>
public class TokenizerGenerationConfigTests
{
    [Fact]
    public void Qwen2_VL_generation_config_gives_the_stop_and_pad_ids()
    {
        string folder = TokenizerFixtures.CopyToTemp(Path.Combine(TokenizerFixtures.Root, "tokenizer"), "qwen2-vl-generation_config.json");
        File.Move(Path.Combine(folder, "qwen2-vl-generation_config.json"), Path.Combine(folder, "generation_config.json"));
        var config = GenerationConfig.FromPretrained(folder);
        config.EosTokenIds.Should().Equal(151645, 151643);
        config.PadTokenId.Should().Be(151643);
        config.BosTokenId.Should().Be(151643);
        config.Temperature.Should().Be(0.01);
        config.TopK.Should().Be(1);
        config.RepetitionPenalty.Should().Be(1.0);

        // By default only the ids are taken; the base options' own settings stay.
        var options = config.ToSamplingOptions(new SamplingOptions { Temperature = 1.0, MaxNewTokens = 64, StopTokenIds = [151645] });
        options.StopTokenIds.Should().Equal(151645, 151643);
        options.PadTokenId.Should().Be(151643);
        options.Temperature.Should().Be(1.0);
        options.TopK.Should().BeNull();
        options.MaxNewTokens.Should().Be(64);
        options.Validate();

        var publisher = config.ToSamplingOptions(includeSamplingSettings: true);
        publisher.Temperature.Should().Be(0.01);
        publisher.TopP.Should().Be(0.001);
        publisher.TopK.Should().Be(1);
    }

    [Fact]
    public void The_tiny_snapshot_ids_match_its_tokenizer()
    {
        var config = GenerationConfig.FromPretrained(TokenizerFixtures.TinyFolder);
        var tiny = QwenTokenizer.FromPretrained(TokenizerFixtures.TinyFolder);
        config.EosTokenIds.Should().Equal(tiny.GetTokenId("<|im_end|>"), tiny.GetTokenId("<|endoftext|>"));
        config.PadTokenId.Should().Be(tiny.PadTokenId);
    }

    [Theory]
    [InlineData("{\"eos_token_id\": 7}", new long[] { 7 }, null)]
    [InlineData("{\"eos_token_id\": [3, 4], \"pad_token_id\": 0}", new long[] { 3, 4 }, 0L)]
    public void Eos_may_be_an_integer_or_a_list(string json, long[] eos, long? pad)
    {
        var config = Write(json);
        config.EosTokenIds.Should().Equal(eos);
        config.PadTokenId.Should().Be(pad);
    }

    [Fact]
    public void Greedy_publisher_settings_become_temperature_zero()
    {
        Write("{\"eos_token_id\": 1, \"do_sample\": false, \"temperature\": 0.7}").ToSamplingOptions(includeSamplingSettings: true).Temperature.Should().Be(0);
    }

    [Fact]
    public void A_config_without_eos_and_no_base_stop_ids_is_refused()
    {
        var config = Write("{\"pad_token_id\": 0}");
        config.EosTokenIds.Should().BeEmpty();
        FluentActions.Invoking(() => config.ToSamplingOptions()).Should().Throw<InvalidOperationException>().WithMessage("*no 'eos_token_id'*StopTokenIds*");
        config.ToSamplingOptions(new SamplingOptions { StopTokenIds = [5] }).StopTokenIds.Should().Equal(5);
    }

    [Theory]
    [InlineData("{\"eos_token_id\": \"<|im_end|>\"}", "*'eos_token_id' must be an integer or a list of integers*")]
    [InlineData("{\"eos_token_id\": [1, \"x\"]}", "*'eos_token_id[1]' must be integer*")]
    [InlineData("{\"eos_token_id\": [1, -2]}", "*'eos_token_id[1]' must be >= 0; got -2*")]
    [InlineData("{\"pad_token_id\": 1.5}", "*'pad_token_id' must be integer*")]
    [InlineData("{\"temperature\": -1}", "*'temperature' must be finite and >= 0; got -1*")]
    [InlineData("{\"top_p\": 0}", "*'top_p' must be in (0, 1]; got 0*")]
    [InlineData("{\"top_k\": -1}", "*'top_k' must be >= 0; got -1*")]
    [InlineData("{\"do_sample\": 1}", "*'do_sample' must be true or false*")]
    [InlineData("[1]", "*root must be a JSON object*")]
    public void Bad_fields_are_named(string json, string message)
    {
        FluentActions.Invoking(() => Write(json)).Should().Throw<InvalidDataException>().WithMessage("*generation_config.json*").WithMessage(message);
    }

    private static GenerationConfig Write(string json)
    {
        string folder = Path.Combine(Path.GetTempPath(), "vepa-gen-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "generation_config.json"), json);
        return GenerationConfig.FromPretrained(folder);
    }
}
