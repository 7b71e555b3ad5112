// The tokenizer agreement corpus: hand-picked cases per class (digits, whitespace, newlines, code, accents in NFC and NFD, CJK,
// emoji, mixed scripts, every added token and look-alikes, long words) plus seeded random strings over a mixed alphabet.
import fs from "node:fs";

export function buildCorpus(addedTokens) {
  const c = [];
  // Empty and single characters, whitespace runs, newlines.
  c.push("", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "\r\n\r\n", "\r", " \n ", "a\n\n\nb", "abc   ", "   abc", "a  b   c    d",
    "line1\nline2\r\nline3\rline4", "\n\n\n\n\n\n\n\n", "  \n  \n", "\t\tindented\n\t\t\tdeeper", "tab\there", " \t \t ", "end.\n",
    "x \n\n y", "x\n \ny", "trailing space \n", "   \n\n   \n", "a\u00A0b", "a\u3000b", "a\u2003b", "a\u2028b\u2029c", "a\u0085b",
    "x \u0085 y", "\uFEFFbom", "zero\u200Bwidth", "a\u200Db\u200Cc", "ctrl\u0000\u0001\u001F\u007Fend", "\u000B\u000Cvt-ff",
    // Noncharacters, private use and unassigned code points: valid Unicode scalar values that must encode, not throw.
    "a\uFFFEb", "\uFDD0x\uFDEF", "\uFFFF", "\u{1FFFE}\u{10FFFF}", "e\uFFFE\u0301", "ca\uFFFEfe\u0301", "\uE000\u{F0000}", "\u0378\u{E0000}x");
  // Digits: Qwen splits every digit.
  c.push("0", "7", "42", "1234567890", "3.14159265358979", "1,000,000.00", "-273.15", "x2y3z4", "2024-12-04T18:27:57Z", "v1.2.3-rc.4",
    "0x1F600", "1e-9", "٣٤٥ ۱۲۳", "१२३", "①②③", "Ⅻ ⅻ", "½ ¾ ²³", "１２３４", "𝟎𝟏𝟐𝟑", "9".repeat(200), "phone: +1 (555) 010-9999");
  // Contractions (case-insensitive in the pattern).
  c.push("I'm here, don't go; they'll see we've done what she'd said. It's ok.", "IT'S I'M DON'T THEY'LL WE'VE SHE'D", "'s 't 're 've 'm 'll 'd",
    "O'Neil's rock'n'roll", "'Tis", "can’t won’t", "' s", "''s", "x'S", "rock 'n' roll");
  // Code.
  c.push(
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "public static int Add(int a, int b) => a + b;\n",
    "for (int i = 0; i < 10; ++i) {\n\tsum += a[i] * b[i];\n}",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null, \"b\": true}}",
    "<div class=\"x\"><p>Hello &amp; welcome</p></div>",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
    "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); return 0; }",
    "x = re.compile(r'^(?P<name>[A-Za-z_]\\w*)\\s*=\\s*(.+)$')",
    "    ",
    "if x:\n\n\n    pass",
    "$ ls -la | grep \"*.cs\" && echo done",
    "a==b!=c<=d>=e&&f||g->h=>i::j",
    "// comment\n/* block */\n# hash\n-- sql",
    "https://example.com/path?q=1&r=2#frag",
    "user@example.org",
    "```python\nprint('hi')\n```",
  );
  // Accents, NFC vs NFD, compatibility characters.
  c.push("café", "cafe\u0301", "naïve résumé", "nai\u0308ve re\u0301sume\u0301", "Ångström", "A\u030Angstro\u0308m", "Tiếng Việt có dấu",
    "Tie\u0302\u0301ng Vie\u0323\u0302t", "\u1100\u1161\u11A8", "Ω vs \u2126", "K vs \u212A", "ﬁ ﬂ ﬀ", "≮ vs <\u0338", "e\u0301\u0301\u0301", "\u0301start",
    "Straße STRASSE", "İstanbul ıi", "ÆØÅ æøå", "Zoë Brontë", "ǅemal");
  // CJK.
  c.push("你好，世界！", "我爱自然语言处理和NLP123。", "日本語のテキストとカタカナ、ひらがな。", "한국어 텍스트입니다", "中文 English 混合 mixed",
    "𠀀𠮷𩸽 (Ext B)", "「引用」『二重』【括弧】", "全角スペース\u3000あり", "漢字漢字漢字漢字漢字漢字漢字漢字漢字漢字", "ｶﾀｶﾅ半角");
  // Emoji.
  c.push("😀", "👍🏽", "👨‍👩‍👧‍👦", "🤷🏽‍♀️", "🏳️‍🌈", "🇺🇸🇯🇵", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "1️⃣#️⃣", "🎉Congrats", "Hi😀there", "emoji😀123",
    "😀😀😀 😀", "❤️ ♥ ☺️", "🧑🏿‍🤝‍🧑🏻", "a👋b 👋c", "✅ done ❌ fail", "🤖:\n🙂");
  // Mixed scripts.
  c.push("Привет, мир!", "Γειά σου Κόσμε", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก", "Hello, Мир, 世界, عالم!",
    "\u202Eright-to-left override\u202C", "ქართული", "Հայերեն", "ⴰⵣⵓⵍ", "𝐀𝐁𝐂 𝒶𝒷𝒸 𝔄𝔅", "Go\u0332thic 𐌰𐌱𐌲", "ᚠᚢᚦ");
  // Added tokens: alone, in context, adjacent, and look-alikes that must stay text.
  for (const t of addedTokens) c.push(t, `x${t}y`, ` ${t} `);
  c.push("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
    "<|im_end|><|im_start|>", "<|vision_start|><|image_pad|><|image_pad|><|image_pad|><|vision_end|>Describe.",
    "<|im_end|", "<|IM_END|>", "< |im_end|>", "<|im_end |>", "<<|im_end|>>", "<|im_end|>>", "<|endoftext", "|endoftext|>",
    "<|im_<|im_end|>start|>", "<|im_end|>\u0338", "<think>\nreasoning\n</think>\n\nanswer", "<think></think>", "<THINK>", "</think",
    "<tool_call>\n{\"name\": \"f\", \"arguments\": {}}\n</tool_call>", "<|fim_prefix|>def f(<|fim_suffix|>)<|fim_middle|>",
    "text<|endoftext|>more<|endoftext|>", "<|image_pad|>".repeat(16), "<|unknown_token|>", "<|endoftext|><|endoftext|>");
  // Long words and runs.
  c.push("supercalifragilisticexpialidocious", "pneumonoultramicroscopicsilicovolcanoconiosis", "Donaudampfschifffahrtsgesellschaftskapitänswitwe",
    "a".repeat(1000), "ab".repeat(300), " ".repeat(100), "\n".repeat(50), "-".repeat(120), "=".repeat(64) + "\n", "!?".repeat(40),
    "The quick brown fox jumps over the lazy dog. ".repeat(8),
    // Pieces longer than 128 UTF-16 units (QwenTokenizer merges those with its own O(n log n) merger).
    "漢字仮名交じり文".repeat(40), "😀👍🏽🇫🇷".repeat(30), "\t \n".repeat(80), "Lorem" + "ipsumdolorsitamet".repeat(12),
    "x" + "é".repeat(150) + "e\u0301".repeat(20), "_-+=".repeat(60), "аб".repeat(100), "https://example.com/" + "averyveryverylongpathsegment".repeat(6));
  // Seeded random strings over a mixed alphabet (xorshift32; reproducible).
  const alphabet = [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", ..." \t\n\r", ...".,;:!?'\"()[]{}<>-_=+*/\\|@#$%^&~`",
    ..."éèêëàâäôöûüçñÅßøæ", "e\u0301", "a\u0308", "\u0301", ..."中文字日本語한국어", ..."αβγδΑΒΓ", ..."абвгд", ..."٠١٢", "𝟏", "𠮷", "😀", "👍🏽",
    "🤷‍♀️", "🇫🇷", "\u00A0", "\u3000", "\u200D", "  ", "\n\n", "\r\n", "'s", "'LL", "<|im_end|>", "<|image_pad|>", "<think>", "<|im_end"];
  let state = 0x9E3779B9;
  const next = () => { state ^= state << 13; state >>>= 0; state ^= state >>> 17; state ^= state << 5; state >>>= 0; return state; };
  for (let i = 0; i < 120; i++) {
    const length = 5 + (next() % 120);
    let s = "";
    for (let j = 0; j < length; j++) s += alphabet[next() % alphabet.length];
    c.push(s);
  }
  return c;
}

export function loadAddedTokens(tokenizerJson) {
  return tokenizerJson.added_tokens.map((t) => t.content);
}

if (process.argv[1] && process.argv[1].endsWith("corpus.mjs")) {
  const t = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  console.log(buildCorpus(loadAddedTokens(t)).length);
}
