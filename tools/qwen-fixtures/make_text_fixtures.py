#!/usr/bin/python3
"""Tiny Qwen2 / Qwen3 snapshot folders with expected logits, from an independent PyTorch implementation.

The forward pass below is written from the formulas of Hugging Face transformers' modeling_qwen2.py / modeling_qwen3.py
(RMSNorm in float32 cast back before the weight, rotate-half RoPE with float32 cos/sin cast to the weights' dtype,
grouped-query attention with q/k/v bias (Qwen2) or per-head q/k RMSNorm before RoPE (Qwen3), eager attention with a
float32 softmax, SwiGLU MLP, tied or untied head). It does not share code with Vepa. Each sequence is run alone and
unpadded: that is the ground truth a padded batch with an attention mask must reproduce at its real positions.

Reference precisions:
  float64  every op in float64 (rotary and norms too): the target for Vepa loaded in float64 (<= 1e-9).
  float32  Hugging Face's float32 path (norms, softmax and rotary in float32): the target for Vepa in float32 (<= 1e-4).
  bfloat16 Hugging Face's bf16 path (weights and activations bf16, norms/softmax/rotary in float32 and cast back).

Safetensors are written by hand (8-byte little-endian header length, JSON header padded with spaces, raw data).

Usage:  /usr/bin/python3 tools/qwen-fixtures/make_text_fixtures.py [OUT_DIR]
        (default OUT_DIR: tests/Vepa.Models.Tests/Fixtures)
        /usr/bin/python3 tools/qwen-fixtures/make_text_fixtures.py --verify SNAPSHOT_DIR
        (parses a snapshot's safetensors headers independently and prints the logits of ids 1..8, for checking a folder
        that Vepa saved)
"""
import json
import os
import struct
import sys

import torch

DTYPE_NAMES = {torch.float64: "F64", torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16", torch.int64: "I64"}
NAME_DTYPES = {v: k for k, v in DTYPE_NAMES.items()}


# ---------------------------------------------------------------- safetensors by hand

def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def write_safetensors(path, tensors):
    header = {"__metadata__": {"format": "pt"}}
    offset = 0
    blobs = []
    for name, t in tensors.items():
        b = tensor_bytes(t)
        header[name] = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    body = data[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        dt = NAME_DTYPES[e["dtype"]]
        raw = bytearray(body[b:end])
        if dt == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16)
        else:
            t = torch.frombuffer(raw, dtype=dt)
        out[name] = t.reshape(e["shape"]).clone()
    return out


def read_snapshot(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        files = sorted(set(json.load(open(index))["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    weights = {}
    for f in files:
        weights.update(read_safetensors(os.path.join(folder, f)))
    return weights


# ---------------------------------------------------------------- the reference forward pass

def rms_norm(x, weight, eps, exact):
    dtype = x.dtype
    h = x if exact else x.to(torch.float32)
    h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + eps)
    return weight * h.to(dtype)


def rotate_half(x):
    d = x.shape[-1] // 2
    return torch.cat((-x[..., d:], x[..., :d]), dim=-1)


def rotary(positions, head_dim, theta, exact):
    dt = torch.float64 if exact else torch.float32
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).to(dt) / head_dim))
    angles = positions.to(dt)[:, :, None] * inv_freq[None, None, :]
    emb = torch.cat((angles, angles), dim=-1)
    return emb.cos(), emb.sin()


def linear(x, w, b=None):
    y = x @ w.t()
    return y if b is None else y + b


def forward(cfg, weights, ids, dtype):
    """Logits [L, V] for one unpadded sequence, in `dtype` (float64 = exact math, else Hugging Face's mixed precision)."""
    exact = dtype == torch.float64
    W = {k: v.to(dtype) for k, v in weights.items()}
    qwen3 = cfg["model_type"] == "qwen3"
    heads, kv_heads = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // heads
    eps = cfg["rms_norm_eps"]
    L = len(ids)
    x = W["model.embed_tokens.weight"][torch.tensor(ids)][None]
    cos, sin = rotary(torch.arange(L)[None], head_dim, cfg["rope_theta"], exact)
    cos, sin = cos.to(dtype)[:, None], sin.to(dtype)[:, None]
    causal = torch.triu(torch.ones(L, L, dtype=torch.bool), diagonal=1)
    softmax_dtype = torch.float64 if exact else torch.float32
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, W[p + "input_layernorm.weight"], eps, exact)
        q = linear(h, W[p + "self_attn.q_proj.weight"], W.get(p + "self_attn.q_proj.bias")).view(1, L, heads, head_dim)
        k = linear(h, W[p + "self_attn.k_proj.weight"], W.get(p + "self_attn.k_proj.bias")).view(1, L, kv_heads, head_dim)
        v = linear(h, W[p + "self_attn.v_proj.weight"], W.get(p + "self_attn.v_proj.bias")).view(1, L, kv_heads, head_dim)
        if qwen3:
            q = rms_norm(q, W[p + "self_attn.q_norm.weight"], eps, exact)
            k = rms_norm(k, W[p + "self_attn.k_norm.weight"], eps, exact)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(heads // kv_heads, dim=1)
        v = v.repeat_interleave(heads // kv_heads, dim=1)
        scores = (q @ k.transpose(2, 3)) * head_dim ** -0.5
        scores = scores.masked_fill(causal, float("-inf"))
        probs = torch.softmax(scores, dim=-1, dtype=softmax_dtype).to(dtype)
        o = (probs @ v).transpose(1, 2).reshape(1, L, heads * head_dim)
        x = x + linear(o, W[p + "self_attn.o_proj.weight"])
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], eps, exact)
        gate = linear(h, W[p + "mlp.gate_proj.weight"])
        x = x + linear(torch.nn.functional.silu(gate) * linear(h, W[p + "mlp.up_proj.weight"]), W[p + "mlp.down_proj.weight"])
    x = rms_norm(x, W["model.norm.weight"], eps, exact)
    head = W["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else W["lm_head.weight"]
    return linear(x, head)[0]


# ---------------------------------------------------------------- fixtures

def make_weights(cfg, gen):
    H, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    heads, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or H // heads
    qwen3 = cfg["model_type"] == "qwen3"
    bias = (not qwen3) or cfg.get("attention_bias", False)

    def mat(*shape, std=0.08):
        return torch.randn(*shape, generator=gen, dtype=torch.float64) * std

    def norm(n):
        return 1.0 + mat(n, std=0.2)

    W = {"model.embed_tokens.weight": mat(V, H, std=0.5)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        W[p + "self_attn.q_proj.weight"] = mat(heads * hd, H)
        W[p + "self_attn.k_proj.weight"] = mat(kv * hd, H)
        W[p + "self_attn.v_proj.weight"] = mat(kv * hd, H)
        if bias:
            W[p + "self_attn.q_proj.bias"] = mat(heads * hd, std=0.1)
            W[p + "self_attn.k_proj.bias"] = mat(kv * hd, std=0.1)
            W[p + "self_attn.v_proj.bias"] = mat(kv * hd, std=0.1)
        W[p + "self_attn.o_proj.weight"] = mat(H, heads * hd)
        if qwen3:
            W[p + "self_attn.q_norm.weight"] = norm(hd)
            W[p + "self_attn.k_norm.weight"] = norm(hd)
        W[p + "mlp.gate_proj.weight"] = mat(I, H)
        W[p + "mlp.up_proj.weight"] = mat(I, H)
        W[p + "mlp.down_proj.weight"] = mat(H, I)
        W[p + "input_layernorm.weight"] = norm(H)
        W[p + "post_attention_layernorm.weight"] = norm(H)
    W["model.norm.weight"] = norm(H)
    if not cfg["tie_word_embeddings"]:
        W["lm_head.weight"] = mat(V, H, std=0.15)
    return W


def base_config(model_type, **kw):
    cfg = {
        "architectures": ["Qwen3ForCausalLM" if model_type == "qwen3" else "Qwen2ForCausalLM"],
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "hidden_act": "silu",
        "initializer_range": 0.02,
        "max_position_embeddings": 512,
        "max_window_layers": 2,
        "model_type": model_type,
        "rms_norm_eps": 1e-6,
        "rope_scaling": None,
        "rope_theta": 10000.0,
        "sliding_window": 4096,
        "use_cache": True,
        "use_sliding_window": False,
        "transformers_version": "4.51.0",
    }
    cfg.update(kw)
    return cfg


FIXTURES = [
    # name, config, storage dtype, number of shards
    ("qwen2-untied", base_config("qwen2", vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                 num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False), torch.float32, 1),
    ("qwen2-tied-sharded", base_config("qwen2", vocab_size=300, hidden_size=48, intermediate_size=96, num_hidden_layers=3,
                                       num_attention_heads=4, num_key_value_heads=1, tie_word_embeddings=True,
                                       rope_theta=1000000.0), torch.float32, 3),
    ("qwen3-untied", base_config("qwen3", vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                 num_attention_heads=4, num_key_value_heads=2, head_dim=32, attention_bias=False,
                                 tie_word_embeddings=False, rms_norm_eps=1e-5), torch.float32, 1),
    ("qwen3-bf16-tied", base_config("qwen3", vocab_size=272, hidden_size=64, intermediate_size=112, num_hidden_layers=2,
                                    num_attention_heads=4, num_key_value_heads=2, head_dim=24, attention_bias=True,
                                    tie_word_embeddings=True, rope_theta=1000000.0), torch.bfloat16, 1),
]

LENGTHS = [9, 6, 3]  # one full row and two shorter rows, padded to 9 on the left and on the right


def write_snapshot(folder, cfg, weights, storage, shards):
    os.makedirs(folder, exist_ok=True)
    for f in os.listdir(folder):
        os.remove(os.path.join(folder, f))
    stored = {k: v.to(storage) for k, v in weights.items()}
    cfg = dict(cfg, torch_dtype={torch.float32: "float32", torch.bfloat16: "bfloat16"}[storage])
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(folder, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 1, "eos_token_id": [2, 3], "do_sample": True, "temperature": 0.7, "top_p": 0.8,
                   "transformers_version": "4.51.0"}, f, indent=2)
    names = list(stored)
    if shards == 1:
        write_safetensors(os.path.join(folder, "model.safetensors"), stored)
        return stored
    per = (len(names) + shards - 1) // shards
    weight_map, total = {}, 0
    for s in range(shards):
        part = names[s * per:(s + 1) * per]
        fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        write_safetensors(os.path.join(folder, fname), {n: stored[n] for n in part})
        for n in part:
            weight_map[n] = fname
            total += stored[n].numel() * stored[n].element_size()
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    return stored


def make_fixture(out, name, cfg, storage, shards, seed):
    gen = torch.Generator().manual_seed(seed)
    weights = make_weights(cfg, gen)
    stored = write_snapshot(os.path.join(out, name), cfg, weights, storage, shards)
    # The reference uses exactly the stored values (bf16-rounded for a bf16 snapshot), widened.
    exact = {k: v.to(torch.float64) for k, v in stored.items()}
    V, T = cfg["vocab_size"], max(LENGTHS)
    rows = [torch.randint(4, V, (n,), generator=gen).tolist() for n in LENGTHS]
    expected = {}
    for side in ("left", "right"):
        ids = torch.zeros(len(rows), T, dtype=torch.int64)
        mask = torch.zeros(len(rows), T, dtype=torch.int64)
        for b, r in enumerate(rows):
            start = T - len(r) if side == "left" else 0
            ids[b, start:start + len(r)] = torch.tensor(r)
            mask[b, start:start + len(r)] = 1
        expected[f"{side}.input_ids"] = ids
        expected[f"{side}.attention_mask"] = mask
        for tag, dt in (("f64", torch.float64), ("f32", torch.float32), ("bf16", torch.bfloat16)):
            logits = torch.zeros(len(rows), T, V, dtype=dt)
            for b, r in enumerate(rows):
                start = T - len(r) if side == "left" else 0
                logits[b, start:start + len(r)] = forward(cfg, exact, r, dt)
            expected[f"{side}.logits.{tag}"] = logits if dt != torch.bfloat16 else logits.to(torch.float32)
    write_safetensors(os.path.join(out, name + ".expected.safetensors"), expected)
    f64, f32 = expected["left.logits.f64"], expected["left.logits.f32"]
    print(f"{name}: {sum(v.numel() for v in stored.values())} parameters, {storage}, {shards} file(s); "
          f"reference f32 vs f64 max rel {((f32.double() - f64).abs().max() / f64.abs().max()).item():.2e}")


def verify(folder):
    cfg = json.load(open(os.path.join(folder, "config.json")))
    weights = {k: v.to(torch.float64) for k, v in read_snapshot(folder).items()}
    logits = forward(cfg, weights, list(range(1, 9)), torch.float64)
    print(json.dumps({"tensors": len(weights), "logits_row0": logits[0, :8].tolist()}))


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--verify":
        verify(sys.argv[2])
        return
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "tests", "Vepa.Models.Tests", "Fixtures")
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    for seed, (name, cfg, storage, shards) in enumerate(FIXTURES):
        make_fixture(out, name, cfg, storage, shards, 1000 + seed)


if __name__ == "__main__":
    main()
