#!/usr/bin/python3
"""PyTorch eager peer of the Qwen2 benchmark (QwenForwardBenchmarks): the same layer stack and inputs, timed by the
BenchmarkDotNet run that drives it over stdin/stdout (one line per operation), so both sides run in the same session.

Qwen2 as Hugging Face's eager implementation computes it (RMSNorm in float32, rotate-half RoPE, grouped-query attention with
q/k/v bias and a float32 softmax over a causal mask, SwiGLU MLP); PyTorch 1.13 (Debian python3-torch) has no
scaled_dot_product_attention, so attention is the eager matmul-softmax-matmul. Random weights (normal, std 0.02).

Protocol: prints "ready"; then for each input line "forward" / "forward_backward" runs the operation and prints "ok";
"quit" exits.  Usage: qwen_peer.py HIDDEN HEADS KV_HEADS INTERMEDIATE VOCAB LAYERS BATCH LENGTH THREADS
"""
import sys

import torch
from torch import nn


class RmsNorm(nn.Module):
    def __init__(self, size, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x):
        dtype = x.dtype
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(dtype)


def rotate_half(x):
    d = x.shape[-1] // 2
    return torch.cat((-x[..., d:], x[..., :d]), dim=-1)


class Layer(nn.Module):
    def __init__(self, hidden, heads, kv_heads, intermediate):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, hidden // heads
        self.q_proj = nn.Linear(hidden, heads * self.head_dim)
        self.k_proj = nn.Linear(hidden, kv_heads * self.head_dim)
        self.v_proj = nn.Linear(hidden, kv_heads * self.head_dim)
        self.o_proj = nn.Linear(heads * self.head_dim, hidden, bias=False)
        self.gate_proj = nn.Linear(hidden, intermediate, bias=False)
        self.up_proj = nn.Linear(hidden, intermediate, bias=False)
        self.down_proj = nn.Linear(intermediate, hidden, bias=False)
        self.input_layernorm = RmsNorm(hidden)
        self.post_attention_layernorm = RmsNorm(hidden)

    def forward(self, x, cos, sin, mask):
        b, L, _ = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(b, L, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(h).view(b, L, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(h).view(b, L, self.kv_heads, self.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        n_rep = self.heads // self.kv_heads
        k = k[:, :, None].expand(b, self.kv_heads, n_rep, L, self.head_dim).reshape(b, self.heads, L, self.head_dim)
        v = v[:, :, None].expand(b, self.kv_heads, n_rep, L, self.head_dim).reshape(b, self.heads, L, self.head_dim)
        scores = torch.matmul(q, k.transpose(2, 3)) * self.head_dim ** -0.5 + mask
        probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        o = torch.matmul(probs, v).transpose(1, 2).reshape(b, L, -1)
        x = x + self.o_proj(o)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(nn.functional.silu(self.gate_proj(h)) * self.up_proj(h))


class Decoder(nn.Module):
    def __init__(self, hidden, heads, kv_heads, intermediate, vocab, layers):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, hidden)
        self.layers = nn.ModuleList([Layer(hidden, heads, kv_heads, intermediate) for _ in range(layers)])
        self.norm = RmsNorm(hidden)
        self.head_dim = hidden // heads

    def forward(self, ids):
        b, L = ids.shape
        x = self.embed_tokens(ids)
        inv = 1.0 / (1000000.0 ** (torch.arange(0, self.head_dim, 2, dtype=torch.int64).float() / self.head_dim))
        ang = torch.arange(L).float()[None, :, None] * inv[None, None, :]
        emb = torch.cat((ang, ang), dim=-1)
        cos, sin = emb.cos().to(x.dtype)[:, None], emb.sin().to(x.dtype)[:, None]
        mask = torch.full((L, L), torch.finfo(x.dtype).min).triu(1)[None, None]
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.norm(x)


def main():
    hidden, heads, kv, inter, vocab, layers, batch, length, threads = (int(a) for a in sys.argv[1:10])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Decoder(hidden, heads, kv, inter, vocab, layers)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                continue
            p.normal_(0.0, 0.02)
    ids = torch.randint(0, vocab, (batch, length))
    print("ready", flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "forward":
            with torch.no_grad():
                model(ids)
        elif cmd == "forward_backward":
            model.zero_grad(set_to_none=True)
            model(ids).square().mean().backward()
        elif cmd == "quit":
            break
        else:
            print("error unknown command " + cmd, flush=True)
            continue
        print("ok", flush=True)


if __name__ == "__main__":
    main()
