using System.Text;
using Microsoft.ML.Tokenizers;

namespace Vepa.Grpo.Tests.Training;

public sealed class MicrosoftMLTokenizerTests
{
    [Fact]
    public void A_BPE_tokenizer_round_trips_text_through_the_adapter()
    {
        // A tiny BPE vocabulary with one merge ("r e" → "re"), from memory.
        using var vocab = new MemoryStream(Encoding.UTF8.GetBytes("{\"r\":0,\"e\":1,\"d\":2,\"re\":3,\"b\":4,\"l\":5,\"u\":6}"));
        using var merges = new MemoryStream(Encoding.UTF8.GetBytes("#version: 0.2\nr e\n"));
        var bpe = BpeTokenizer.Create(vocab, merges);
        var tokenizer = new MicrosoftMLTokenizer(bpe, vocabularySize: 8);

        var ids = tokenizer.Encode("red");

        ids.Should().Equal(3L, 2L);
        tokenizer.Decode([3, 2]).Should().Be("red");
        tokenizer.Invoking(t => t.Decode([9])).Should().Throw<ArgumentOutOfRangeException>().WithMessage("Token id at position 0 must be in [0, 8).*");
    }
}
