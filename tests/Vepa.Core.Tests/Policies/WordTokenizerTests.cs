namespace Vepa.Core.Tests.Policies;

public sealed class WordTokenizerTests
{
    private static readonly WordTokenizer Tokenizer = new(["<eos>", "<unk>", "a", "red", "cube"], unknownToken: "<unk>");

    [Fact]
    public void Words_encode_to_their_index_and_decode_back_joined_by_single_spaces()
    {
        Tokenizer.Encode("  a red\tcube ").Should().Equal(2L, 3L, 4L);
        Tokenizer.Decode([2, 3, 4]).Should().Be("a red cube");
        Tokenizer.VocabularySize.Should().Be(5);
        Tokenizer.IdOf("cube").Should().Be(4);
    }

    [Fact]
    public void Unknown_words_map_to_the_unknown_token_or_are_rejected_naming_the_word()
    {
        Tokenizer.Encode("a blue cube").Should().Equal(2L, 1L, 4L);
        var strict = new WordTokenizer(["a", "b"]);

        strict.Invoking(t => t.Encode("a c")).Should().Throw<ArgumentException>()
            .WithMessage("Word 1 (\"c\") is not in the vocabulary and no unknown token was configured.*");
    }

    [Fact]
    public void Ids_outside_the_vocabulary_are_rejected_with_their_position()
    {
        Tokenizer.Invoking(t => t.Decode([2, 9])).Should().Throw<ArgumentOutOfRangeException>()
            .WithMessage("Token id at position 1 must be in [0, 5).*");
    }

    [Fact]
    public void A_vocabulary_with_a_duplicate_or_a_blank_entry_is_rejected()
    {
        var duplicate = () => new WordTokenizer(["a", "b", "a"]);
        var blank = () => new WordTokenizer(["a", "b c"]);

        duplicate.Should().Throw<ArgumentException>().WithMessage("vocabulary[2] (\"a\") duplicates vocabulary[0].*");
        blank.Should().Throw<ArgumentException>().WithMessage("vocabulary[1] must be a non-empty word without white space; got \"b c\".*");
    }
}
