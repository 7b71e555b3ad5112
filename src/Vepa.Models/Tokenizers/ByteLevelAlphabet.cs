namespace Vepa.Models;

/// <summary>GPT-2's byte-level alphabet: each byte is one printable character, so byte strings are BPE-able text.</summary>
/// <remarks>Bytes 33-126, 161-172 and 174-255 stand for themselves; the other 68 bytes (controls, space, 127-160, 173) map in
/// order to U+0100 onwards (space is 'Ġ' U+0120, '\n' is 'Ċ' U+010A).</remarks>
internal static class ByteLevelAlphabet
{
    private static readonly Dictionary<char, byte> CharToByte = Build();
    private static readonly char[] ByteToChar = CharToByte.OrderBy(p => p.Value).Select(p => p.Key).ToArray();

    /// <summary>Gets the character that stands for a byte.</summary>
    public static char CharOf(byte value) => ByteToChar[value];

    /// <summary>Gets the byte a character of the alphabet stands for.</summary>
    public static bool TryGetByte(char c, out byte value) => CharToByte.TryGetValue(c, out value);

    /// <summary>Appends the bytes a token stands for: its alphabet bytes, or its own UTF-8 bytes when a character is outside the alphabet (as Hugging Face's ByteLevel decoder does).</summary>
    public static void AppendBytes(string token, List<byte> bytes)
    {
        int start = bytes.Count;
        foreach (char c in token)
        {
            if (!CharToByte.TryGetValue(c, out byte b))
            {
                bytes.RemoveRange(start, bytes.Count - start);
                bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(token));
                return;
            }

            bytes.Add(b);
        }
    }

    private static Dictionary<char, byte> Build()
    {
        var map = new Dictionary<char, byte>(256);
        int extra = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
            map[printable ? (char)b : (char)(256 + extra++)] = (byte)b;
        }

        return map;
    }
}
