using System.IO.Compression;
using System.Text.Json.Nodes;

namespace Vepa.Models.Tests;

/// <summary>Bad snapshot folders get errors that name the file and the field.</summary>
public class TokenizerErrorTests
{
    [Fact]
    public void Missing_folder_and_files_are_named()
    {
        string missing = Path.Combine(Path.GetTempPath(), "vepa-no-such-folder-" + Guid.NewGuid().ToString("N"));
        FluentActions.Invoking(() => QwenTokenizer.FromPretrained(missing)).Should().Throw<DirectoryNotFoundException>().WithMessage($"*{missing}*");
        string empty = TokenizerFixtures.CopyToTemp(TokenizerFixtures.TinyFolder);
        FluentActions.Invoking(() => QwenTokenizer.FromPretrained(empty)).Should().Throw<FileNotFoundException>().WithMessage("*tokenizer.json*does not exist*");
        FluentActions.Invoking(() => GenerationConfig.FromPretrained(empty)).Should().Throw<FileNotFoundException>().WithMessage("*generation_config.json*");
    }

    [Fact]
    public void Malformed_json_is_named_with_its_position()
    {
        string folder = TokenizerFixtures.CopyToTemp(TokenizerFixtures.TinyFolder, "tokenizer.json");
        string path = Path.Combine(folder, "tokenizer.json");
        File.WriteAllText(path, File.ReadAllText(path)[..5000]);
        FluentActions.Invoking(() => QwenTokenizer.FromPretrained(folder)).Should().Throw<InvalidDataException>().WithMessage($"*{path}*not valid JSON*line*");
    }

    [Theory]
    [InlineData("model.type", "\"WordPiece\"", "*'model.type' is WordPiece*")]
    [InlineData("normalizer", "{\"type\": \"NFKC\"}", "*'normalizer.type' is NFKC*")]
    [InlineData("decoder", "{\"type\": \"Metaspace\"}", "*'decoder.type' is Metaspace*")]
    [InlineData("post_processor", "{\"type\": \"TemplateProcessing\"}", "*'post_processor.type' is TemplateProcessing*")]
    [InlineData("pre_tokenizer", "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": true}", "*'pre_tokenizer.type' is ByteLevel*")]
    [InlineData("pre_tokenizer.pretokenizers[1].use_regex", "true", "*'pre_tokenizer.pretokenizers[1].use_regex' is true*")]
    [InlineData("pre_tokenizer.pretokenizers[0].behavior", "\"Removed\"", "*'pre_tokenizer.pretokenizers[0].behavior' is Removed*")]
    [InlineData("pre_tokenizer.pretokenizers[0].pattern", "{\"Regex\": \"(?<=a\"}", "*'pre_tokenizer.pretokenizers[0].pattern.Regex' is not a pattern .NET can run*")]
    [InlineData("model.ignore_merges", "true", "*'model.ignore_merges' is true*")]
    [InlineData("model.byte_fallback", "true", "*'model.byte_fallback' is true*")]
    [InlineData("model.merges[3]", "\"Ġ zzz\"", "*'model.merges[3]' merges \"Ġ\" and \"zzz\", but \"zzz\" is not in model.vocab*")]
    [InlineData("model.merges[4]", "\"nospace\"", "*'model.merges[4]' must be two tokens separated by one space*")]
    [InlineData("model.vocab", "[1, 2]", "*'model.vocab' must be object*")]
    [InlineData("added_tokens[2].lstrip", "true", "*'added_tokens[2].lstrip' is true*")]
    [InlineData("added_tokens[0].id", "\"x\"", "*'added_tokens[0].id' must be integer*")]
    public void Unsupported_or_broken_tokenizer_json_fields_are_named(string field, string json, string message)
    {
        string folder = TokenizerFixtures.CopyToTemp(TokenizerFixtures.TinyFolder, "tokenizer.json");
        string path = Path.Combine(folder, "tokenizer.json");
        var root = JsonNode.Parse(File.ReadAllText(path))!;
        Set(root, field, JsonNode.Parse(json));
        File.WriteAllText(path, root.ToJsonString());
        FluentActions.Invoking(() => QwenTokenizer.FromPretrained(folder)).Should().Throw<InvalidDataException>().WithMessage($"*{path}*").WithMessage(message);
    }

    [Theory]
    [InlineData("eos_token", "\"<|no_such_token|>\"", "*'eos_token' names the token \"<|no_such_token|>\", which is not in the tokenizer*")]
    [InlineData("pad_token", "{\"content\": \"<|nope|>\"}", "*'pad_token' names the token \"<|nope|>\"*")]
    [InlineData("added_tokens_decoder", "{\"756\": {\"content\": \"<|im_start|>\"}}", "*'added_tokens_decoder[\"756\"].content' is \"<|im_start|>\" but tokenizer.json gives id 756 to \"<|endoftext|>\"*")]
    [InlineData("split_special_tokens", "\"yes\"", "*'split_special_tokens' must be true or false*")]
    public void Bad_tokenizer_config_fields_are_named(string field, string json, string message)
    {
        string folder = TokenizerFixtures.CopyToTemp(TokenizerFixtures.TinyFolder, "tokenizer.json", "tokenizer_config.json");
        string path = Path.Combine(folder, "tokenizer_config.json");
        var root = JsonNode.Parse(File.ReadAllText(path))!;
        root[field] = JsonNode.Parse(json);
        File.WriteAllText(path, root.ToJsonString());
        FluentActions.Invoking(() => QwenTokenizer.FromPretrained(folder)).Should().Throw<InvalidDataException>().WithMessage($"*{path}*").WithMessage(message);
    }

    [Fact]
    public void A_model_vocabulary_smaller_than_the_tokenizer_is_rejected()
    {
        string folder = TokenizerFixtures.CopyToTemp(TokenizerFixtures.TinyFolder, "tokenizer.json", "tokenizer_config.json");
        File.WriteAllText(Path.Combine(folder, "config.json"), "{\"vocab_size\": 700}");
        FluentActions.Invoking(() => QwenTokenizer.FromPretrained(folder)).Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage("*vocab_size in*config.json*at least the tokenizer's 782 ids*");
        File.WriteAllText(Path.Combine(folder, "config.json"), "{\"text_config\": {\"vocab_size\": 800}}");
        QwenTokenizer.FromPretrained(folder).VocabularySize.Should().Be(800);
        File.WriteAllText(Path.Combine(folder, "config.json"), "{\"vocab_size\": \"big\"}");
        FluentActions.Invoking(() => QwenTokenizer.FromPretrained(folder)).Should().Throw<InvalidDataException>().WithMessage("*config.json*'vocab_size' must be integer*");
        FluentActions.Invoking(() => QwenTokenizer.FromFiles(Path.Combine(folder, "tokenizer.json"), modelVocabularySize: 10)).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Unknown_token_names_are_rejected_with_the_list_of_added_tokens()
    {
        FluentActions.Invoking(() => TokenizerFixtures.Real.GetTokenId("<|img_pad|>")).Should().Throw<ArgumentException>()
            .WithMessage("*no token \"<|img_pad|>\"*<|image_pad|>*");
        TokenizerFixtures.Real.TryGetTokenId("<|img_pad|>", out _).Should().BeFalse();
    }

    private static void Set(JsonNode root, string path, JsonNode? value)
    {
        // A dotted path with [i] indexes, e.g. pre_tokenizer.pretokenizers[1].use_regex.
        var parts = path.Split('.');
        JsonNode node = root;
        for (int i = 0; i < parts.Length; i++)
        {
            string part = parts[i];
            int bracket = part.IndexOf('[', StringComparison.Ordinal);
            string name = bracket < 0 ? part : part[..bracket];
            int? index = bracket < 0 ? null : int.Parse(part[(bracket + 1)..^1], System.Globalization.CultureInfo.InvariantCulture);
            bool last = i == parts.Length - 1;
            if (last && index is null)
            {
                node[name] = value;
                return;
            }

            node = node[name]!;
            if (index is int k)
            {
                if (last)
                {
                    node[k] = value;
                    return;
                }

                node = node[k]!;
            }
        }
    }
}
