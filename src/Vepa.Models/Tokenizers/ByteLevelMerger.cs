using System.Text;

namespace Vepa.Models;

/// <summary>Byte-level BPE merging of one pre-token in O(n log n): the lowest-ranked adjacent pair is merged first, the leftmost among
/// equals (Hugging Face's <c>Word::merge_all</c>).</summary>
/// <remarks>Microsoft.ML.Tokenizers' <see cref="Microsoft.ML.Tokenizers.BpeTokenizer"/> does ordinary pieces; its merge loop grows
/// quadratically with a piece's length (a 50,000-character run of CJK letters, which the pattern keeps as one piece, took seconds),
/// so pieces longer than <see cref="QwenTokenizer"/>'s threshold come here. Both are tested against the same reference ids.
/// Immutable and thread-safe.</remarks>
internal sealed class ByteLevelMerger
{
    private readonly Dictionary<long, (int Rank, int Id)> _merges;
    private readonly int[] _byteIds = new int[256];

    public ByteLevelMerger(IReadOnlyDictionary<string, int> vocabulary, IReadOnlyList<string> merges, string path)
    {
        for (int b = 0; b < 256; b++)
        {
            string token = ByteLevelAlphabet.CharOf((byte)b).ToString();
            _byteIds[b] = vocabulary.TryGetValue(token, out int id)
                ? id
                : throw new InvalidDataException($"'{path}': the field 'model.vocab' lacks the byte token \"{token}\" (byte 0x{b:X2}); a byte-level vocabulary must hold all 256.");
        }

        _merges = new Dictionary<long, (int Rank, int Id)>(merges.Count);
        for (int rank = 0; rank < merges.Count; rank++)
        {
            string merge = merges[rank];
            int space = merge.IndexOf(' ', StringComparison.Ordinal);
            string left = merge[..space];
            string right = merge[(space + 1)..];
            _merges.TryAdd(Key(vocabulary[left], vocabulary[right]), (rank, vocabulary[left + right]));
        }
    }

    /// <summary>Appends the ids of one pre-token.</summary>
    public void Encode(string piece, List<long> ids)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(piece);
        int n = bytes.Length;
        var symbol = new int[n];
        var next = new int[n];
        var prev = new int[n];
        for (int i = 0; i < n; i++)
        {
            symbol[i] = _byteIds[bytes[i]];
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }

        // (rank, position) ordered; an entry is stale when its left symbol changed or was merged away.
        var queue = new PriorityQueue<(int Left, int LeftId, int RightId, int NewId), (int Rank, int Position)>();
        void Push(int left)
        {
            int right = next[left];
            if (right >= 0 && _merges.TryGetValue(Key(symbol[left], symbol[right]), out var merge))
            {
                queue.Enqueue((left, symbol[left], symbol[right], merge.Id), (merge.Rank, left));
            }
        }

        for (int i = 0; i + 1 < n; i++)
        {
            Push(i);
        }

        while (queue.TryDequeue(out var pair, out _))
        {
            int left = pair.Left;
            int right = next[left];
            if (symbol[left] != pair.LeftId || right < 0 || symbol[right] != pair.RightId)
            {
                continue;
            }

            symbol[left] = pair.NewId;
            symbol[right] = -1;
            next[left] = next[right];
            if (next[right] >= 0)
            {
                prev[next[right]] = left;
            }

            if (prev[left] >= 0)
            {
                Push(prev[left]);
            }

            Push(left);
        }

        for (int i = 0; i >= 0 && n > 0; i = next[i])
        {
            ids.Add(symbol[i]);
        }
    }

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;
}
