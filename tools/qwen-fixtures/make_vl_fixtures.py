#!/usr/bin/python3
"""Qwen2-VL fixtures for tests/Vepa.Models.Tests: an independent PyTorch + PIL reference.

Run with Debian's python3 (apt-get install -y python3-torch python3-pil python3-numpy), from the repository root:

    /usr/bin/python3 tools/qwen-fixtures/make_vl_fixtures.py

It writes, under tests/Vepa.Models.Tests/Fixtures/:
  images/*.png                      synthetic RGB test images (seeded)
  qwen2-vl-processor/               preprocessor_config.json + expected.safetensors: for every image the PIL-resized
                                    uint8 image ("<name>.resized", [H, W, 3]), pixel_values ("<name>.pixel_values") and
                                    image_grid_thw ("<name>.grid_thw"), following Hugging Face's Qwen2VLImageProcessor
                                    (slow path: smart_resize, PIL BICUBIC resize, rescale, normalise, patchify)
  qwen2-vl-tiny/                    a tiny random Qwen2-VL snapshot folder (config.json, model.safetensors,
                                    preprocessor_config.json, generation_config.json)
  qwen2-vl-expected/expected.safetensors
                                    input ids, attention masks, image order (indices into the processor fixture's
                                    images, whose pixel values are concatenated), grids, mrope position ids, rope deltas and
                                    logits (float64 and float32) for: one image, two images of different sizes, and a
                                    left-padded batch of two prompts

The model below is written from the formulas of Hugging Face's modeling_qwen2_vl.py (vision tower: Conv3d patch
embedding, 2-D vision rotary, LayerNorm blocks with per-image attention, 2x2 patch merger; language model: Qwen2 decoder
with multimodal RoPE); it shares no code with the C# implementation under test.
"""
import json
import math
import os
import sys

import numpy as np
import torch
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "Vepa.Models.Tests", "Fixtures")

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


# safetensors files are written by make_text_fixtures.py's writer (also uint8 here, for the resized images).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_text_fixtures  # noqa: E402

make_text_fixtures.DTYPE_NAMES.setdefault(torch.uint8, "U8")
save_safetensors = make_text_fixtures.write_safetensors


# ----------------------------------------------------------------------------------------------------------------------
# Image processor reference (Hugging Face Qwen2VLImageProcessor, slow path)
# ----------------------------------------------------------------------------------------------------------------------
def smart_resize(height, width, factor, min_pixels, max_pixels):
    if height < 10 or width < 10:
        raise ValueError("too small")
    if max(height, width) / min(height, width) > 200:
        raise ValueError("aspect ratio")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def process_image(img, cfg):
    """Returns (resized uint8 [H, W, 3], pixel_values float32 [t*h*w, C*T*P*P], (t, h, w))."""
    img = img.convert("RGB")
    patch, merge, temporal = cfg["patch_size"], cfg["merge_size"], cfg["temporal_patch_size"]
    h, w = img.height, img.width
    rh, rw = smart_resize(h, w, patch * merge, cfg["min_pixels"], cfg["max_pixels"])
    resized = np.array(img.resize((rw, rh), resample=Image.BICUBIC))  # PIL: separable bicubic a=-0.5, antialiased
    x = (resized.astype(np.float64) * cfg["rescale_factor"]).astype(np.float32)  # HF rescale: float64 product, float32
    mean = np.array(cfg["image_mean"], dtype=np.float32)
    std = np.array(cfg["image_std"], dtype=np.float32)
    x = (x - mean) / std  # HF normalize: float32, channels last
    x = np.transpose(x, (2, 0, 1))  # C, H, W
    patches = torch.from_numpy(np.ascontiguousarray(x))[None].expand(temporal, -1, -1, -1)  # one image repeated in time
    c = patches.shape[1]
    gt, gh, gw = patches.shape[0] // temporal, rh // patch, rw // patch
    flat = (patches.reshape(gt, temporal, c, gh // merge, merge, patch, gw // merge, merge, patch)
            .permute(0, 3, 6, 4, 7, 2, 1, 5, 8)
            .reshape(gt * gh * gw, c * temporal * patch * patch))
    return resized, flat.contiguous(), (gt, gh, gw)


def make_images(rng):
    """Synthetic RGB images: smooth gradients + sharp edges + noise, so resampling errors would show."""
    sizes = {"img_50x37": (50, 37), "img_200x90": (200, 90), "img_28x28": (28, 28), "img_12x11": (12, 11),
             "img_150x110": (150, 110), "img_84x56": (84, 56), "img_420x60": (420, 60)}
    out = {}
    for name, (w, h) in sizes.items():
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
        r = 127.5 + 127.5 * np.sin(xx / max(w, 1) * 6.3 + yy / max(h, 1) * 2.0)
        g = 255.0 * ((xx // 7 + yy // 5) % 2)
        b = 255.0 * yy / max(h - 1, 1)
        arr = np.stack([r, g, b], -1) + rng.normal(0, 25, (h, w, 3))
        arr = np.clip(np.round(arr), 0, 255).astype(np.uint8)
        out[name] = Image.fromarray(arr, "RGB")
    return out


def make_decoding_images(rng):
    h, w = 15, 20
    yy, xx = np.mgrid[0:h, 0:w]
    grey = np.clip(yy * 17 + xx * 5 + rng.normal(0, 10, (h, w)), 0, 255).astype(np.uint8)
    rgba = np.clip(np.stack([xx * 12, yy * 16, (xx + yy) * 7, 255 - xx * 12], -1) + rng.normal(0, 8, (h, w, 4)), 0, 255).astype(np.uint8)
    photo = np.clip(np.stack([xx * 6 + yy * 3, 128 + 60 * np.sin(xx / 4.0), yy * 8], -1) + rng.normal(0, 12, (48, 64, 3))[:h, :w], 0, 255)
    out = {"decode_grey.png": Image.fromarray(grey, "L"), "decode_rgba.png": Image.fromarray(rgba, "RGBA")}
    big = np.clip(np.kron(photo, np.ones((3, 3, 1))) + rng.normal(0, 6, (45, 60, 3)), 0, 255).astype(np.uint8)
    out["decode_photo.jpg"] = Image.fromarray(big, "RGB")
    return out


# ----------------------------------------------------------------------------------------------------------------------
# Tiny Qwen2-VL written from the published formulas
# ----------------------------------------------------------------------------------------------------------------------
def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], -1)


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


def gelu_erf(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def linear(x, p, name, bias=True):
    y = x @ p[name + ".weight"].t()
    return y + p[name + ".bias"] if bias else y


def vision_forward(p, vc, pixel_values, grids, dtype):
    e, heads, m = vc["embed_dim"], vc["num_heads"], vc["spatial_merge_size"]
    hd = e // heads
    # Conv3d with kernel = stride = (T, P, P) over one flattened patch is a dot product with the flattened kernel.
    w = p["visual.patch_embed.proj.weight"].reshape(e, -1)
    x = pixel_values.to(dtype) @ w.t()
    # 2-D rotary: per image, h and w indices listed in merge-window order; frequencies over hd/2 with theta 10000.
    rows = []
    for t, gh, gw in grids:
        hp = torch.arange(gh).view(gh, 1).expand(gh, gw).reshape(gh // m, m, gw // m, m).permute(0, 2, 1, 3).flatten()
        wp = torch.arange(gw).view(1, gw).expand(gh, gw).reshape(gh // m, m, gw // m, m).permute(0, 2, 1, 3).flatten()
        rows.append(torch.stack([hp, wp], -1).repeat(t, 1))
    pos = torch.cat(rows, 0)
    rdim = hd // 2
    inv = 1.0 / (10000.0 ** (torch.arange(0, rdim, 2, dtype=torch.float64) / rdim))
    ang = torch.cat([pos[:, :1].double() * inv, pos[:, 1:].double() * inv], -1)  # [N, hd/2]
    emb = torch.cat([ang, ang], -1)
    cos, sin = emb.cos().to(dtype)[:, None, :], emb.sin().to(dtype)[:, None, :]
    lens = [t * gh * gw for t, gh, gw in grids]
    for i in range(vc["depth"]):
        b = f"visual.blocks.{i}."
        h = layer_norm(x, p[b + "norm1.weight"], p[b + "norm1.bias"], 1e-6)
        qkv = linear(h, p, b + "attn.qkv").view(-1, 3, heads, hd)
        q, k, v = qkv[:, 0], qkv[:, 1], qkv[:, 2]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        outs, s = [], 0
        for n in lens:  # attention only within one image
            qi, ki, vi = (z[s:s + n].transpose(0, 1) for z in (q, k, v))
            a = torch.softmax(qi @ ki.transpose(1, 2) / math.sqrt(hd), -1)
            outs.append((a @ vi).transpose(0, 1).reshape(n, e))
            s += n
        x = x + linear(torch.cat(outs, 0), p, b + "attn.proj")
        h = layer_norm(x, p[b + "norm2.weight"], p[b + "norm2.bias"], 1e-6)
        act = quick_gelu if vc["hidden_act"] == "quick_gelu" else gelu_erf
        x = x + linear(act(linear(h, p, b + "mlp.fc1")), p, b + "mlp.fc2")
    x = layer_norm(x, p["visual.merger.ln_q.weight"], p["visual.merger.ln_q.bias"], 1e-6).reshape(-1, e * m * m)
    return linear(gelu_erf(linear(x, p, "visual.merger.mlp.0")), p, "visual.merger.mlp.2")


def rope_index(cfg, ids, mask, grids):
    """3-row multimodal positions [3, B, L] and deltas [B], written from get_rope_index's rules."""
    m = cfg["vision_config"]["spatial_merge_size"]
    B, L = ids.shape
    pos = torch.ones(3, B, L, dtype=torch.int64)
    deltas = []
    gi = 0
    for b in range(B):
        toks = ids[b][mask[b] == 1].tolist()
        cols, cur, i = [], 0, 0
        while i < len(toks):
            if toks[i] == cfg["image_token_id"] and i > 0 and toks[i - 1] == cfg["vision_start_token_id"]:
                t, gh, gw = grids[gi]
                gi += 1
                lh, lw = gh // m, gw // m
                for tt in range(t):
                    for hh in range(lh):
                        for ww in range(lw):
                            cols.append([cur + tt, cur + hh, cur + ww])
                cur = max(max(c) for c in cols) + 1
                i += t * lh * lw
            else:
                cols.append([cur, cur, cur])
                cur += 1
                i += 1
        arr = torch.tensor(cols, dtype=torch.int64).t()
        pos[:, b, mask[b] == 1] = arr
        deltas.append(int(arr.max()) + 1 - L)
    return pos, torch.tensor(deltas, dtype=torch.int64)


def lm_forward(p, cfg, embeds, pos, mask, dtype):
    H, nh, nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = H // nh
    B, L, _ = embeds.shape
    sec = cfg["rope_scaling"]["mrope_section"]
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))  # [hd/2]
    # Frequency j uses the t, h or w row according to mrope_section (the first half of the rotary dims, repeated).
    row_of = torch.cat([torch.full((n,), r, dtype=torch.int64) for r, n in enumerate(sec)])
    ang = pos.double()[row_of].permute(1, 2, 0) * inv  # [B, L, hd/2]: pos[row_of[j], b, l] * inv[j]
    emb = torch.cat([ang, ang], -1)
    cos, sin = emb.cos().to(dtype)[:, None], emb.sin().to(dtype)[:, None]
    causal = torch.tril(torch.ones(L, L, dtype=torch.bool))
    allowed = causal[None] & (mask[:, None, :] == 1)  # [B, Lq, Lk]
    neg = torch.full((), -1e300 if dtype == torch.float64 else -3.0e38, dtype=dtype)
    x = embeds
    for i in range(cfg["num_hidden_layers"]):
        b = f"model.layers.{i}."
        h = rms_norm(x, p[b + "input_layernorm.weight"], cfg["rms_norm_eps"])
        q = linear(h, p, b + "self_attn.q_proj").view(B, L, nh, hd).transpose(1, 2)
        k = linear(h, p, b + "self_attn.k_proj").view(B, L, nkv, hd).transpose(1, 2)
        v = linear(h, p, b + "self_attn.v_proj").view(B, L, nkv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, 1)
        v = v.repeat_interleave(nh // nkv, 1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        s = torch.where(allowed[:, None], s, neg)
        a = torch.softmax(s, -1)
        o = (a @ v).transpose(1, 2).reshape(B, L, nh * hd)
        x = x + linear(o, p, b + "self_attn.o_proj", bias=False)
        h = rms_norm(x, p[b + "post_attention_layernorm.weight"], cfg["rms_norm_eps"])
        g = linear(h, p, b + "mlp.gate_proj", bias=False)
        u = linear(h, p, b + "mlp.up_proj", bias=False)
        x = x + linear(g * torch.sigmoid(g) * u, p, b + "mlp.down_proj", bias=False)
    x = rms_norm(x, p["model.norm.weight"], cfg["rms_norm_eps"])
    return x @ p["lm_head.weight"].t()


def model_forward(p, cfg, ids, mask, pixel_values, grids, dtype):
    pd = {k: v.to(dtype) for k, v in p.items()}
    emb = pd["model.embed_tokens.weight"][ids]
    if pixel_values is not None:
        feats = vision_forward(pd, cfg["vision_config"], pixel_values, grids, dtype)
        where = (ids == cfg["image_token_id"]).nonzero()
        assert where.shape[0] == feats.shape[0], (where.shape, feats.shape)
        emb = emb.clone()
        emb[where[:, 0], where[:, 1]] = feats
    pos, deltas = rope_index(cfg, ids, mask, grids)
    return lm_forward(pd, cfg, emb, pos, mask, dtype), pos, deltas


def make_weights(cfg, gen):
    vc = cfg["vision_config"]
    e, H, V = vc["embed_dim"], cfg["hidden_size"], cfg["vocab_size"]
    hd = H // cfg["num_attention_heads"]
    kv = cfg["num_key_value_heads"] * hd
    I = cfg["intermediate_size"]
    mh = int(e * vc["mlp_ratio"])
    mm = e * vc["spatial_merge_size"] ** 2
    shapes = {"visual.patch_embed.proj.weight": (e, vc["in_chans"], vc["temporal_patch_size"], vc["patch_size"], vc["patch_size"])}
    for i in range(vc["depth"]):
        b = f"visual.blocks.{i}."
        shapes.update({b + "norm1.weight": (e,), b + "norm1.bias": (e,), b + "norm2.weight": (e,), b + "norm2.bias": (e,),
                       b + "attn.qkv.weight": (3 * e, e), b + "attn.qkv.bias": (3 * e,),
                       b + "attn.proj.weight": (e, e), b + "attn.proj.bias": (e,),
                       b + "mlp.fc1.weight": (mh, e), b + "mlp.fc1.bias": (mh,),
                       b + "mlp.fc2.weight": (e, mh), b + "mlp.fc2.bias": (e,)})
    shapes.update({"visual.merger.ln_q.weight": (e,), "visual.merger.ln_q.bias": (e,),
                   "visual.merger.mlp.0.weight": (mm, mm), "visual.merger.mlp.0.bias": (mm,),
                   "visual.merger.mlp.2.weight": (vc["hidden_size"], mm), "visual.merger.mlp.2.bias": (vc["hidden_size"],),
                   "model.embed_tokens.weight": (V, H), "model.norm.weight": (H,), "lm_head.weight": (V, H)})
    for i in range(cfg["num_hidden_layers"]):
        b = f"model.layers.{i}."
        shapes.update({b + "input_layernorm.weight": (H,), b + "post_attention_layernorm.weight": (H,),
                       b + "self_attn.q_proj.weight": (H, H), b + "self_attn.q_proj.bias": (H,),
                       b + "self_attn.k_proj.weight": (kv, H), b + "self_attn.k_proj.bias": (kv,),
                       b + "self_attn.v_proj.weight": (kv, H), b + "self_attn.v_proj.bias": (kv,),
                       b + "self_attn.o_proj.weight": (H, H),
                       b + "mlp.gate_proj.weight": (I, H), b + "mlp.up_proj.weight": (I, H),
                       b + "mlp.down_proj.weight": (H, I)})
    p = {}
    for name, shape in shapes.items():
        if name.endswith("norm1.weight") or name.endswith("norm2.weight") or "layernorm" in name or name.endswith("norm.weight") or name.endswith("ln_q.weight"):
            t = 1.0 + 0.1 * torch.randn(shape, generator=gen, dtype=torch.float64)
        elif name.endswith(".bias"):
            t = 0.05 * torch.randn(shape, generator=gen, dtype=torch.float64)
        else:
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
            std = 1.0 if name == "model.embed_tokens.weight" else 1.0 / math.sqrt(fan_in)
            t = std * torch.randn(shape, generator=gen, dtype=torch.float64)
        p[name] = t.float()  # stored in float32; the float64 reference upcasts these exact values
    return p


def main():
    rng = np.random.default_rng(20261204)
    gen = torch.Generator().manual_seed(1234)
    img_dir = os.path.join(ROOT, "images")
    os.makedirs(img_dir, exist_ok=True)
    images = make_images(rng)
    for name, im in images.items():
        im.save(os.path.join(img_dir, name + ".png"))
    # Re-read from disk, as the C# side will.
    images = {n: Image.open(os.path.join(img_dir, n + ".png")) for n in images}

    pre = {"min_pixels": 3136, "max_pixels": 12544, "patch_size": 14, "temporal_patch_size": 2, "merge_size": 2,
           "image_mean": CLIP_MEAN, "image_std": CLIP_STD, "do_resize": True, "do_rescale": True, "do_normalize": True,
           "rescale_factor": 0.00392156862745098, "do_convert_rgb": True, "resample": 3,
           "image_processor_type": "Qwen2VLImageProcessor", "processor_class": "Qwen2VLProcessor"}
    proc_dir = os.path.join(ROOT, "qwen2-vl-processor")
    os.makedirs(proc_dir, exist_ok=True)
    with open(os.path.join(proc_dir, "preprocessor_config.json"), "w") as f:
        json.dump(pre, f, indent=2)
    expected = {}
    processed = {}
    for name, im in images.items():
        resized, pv, grid = process_image(im, pre)
        processed[name] = (pv, grid)
        expected[name + ".resized"] = torch.from_numpy(resized.copy())
        expected[name + ".pixel_values"] = pv
        expected[name + ".grid_thw"] = torch.tensor(grid, dtype=torch.int64)
        print(f"{name}: {im.width}x{im.height} -> {resized.shape[1]}x{resized.shape[0]}, grid {grid}")
    # Decoding: a grey PNG, an RGBA PNG (alpha dropped, as convert("RGB") does) and a JPEG, as PIL decodes them.
    for name, im in make_decoding_images(rng).items():
        im.save(os.path.join(img_dir, name))
        expected["decode." + name] = torch.from_numpy(np.array(Image.open(os.path.join(img_dir, name)).convert("RGB")).copy())
    save_safetensors(os.path.join(proc_dir, "expected.safetensors"), expected)

    # ---------------- tiny model ----------------
    cfg = {
        "architectures": ["Qwen2VLForConditionalGeneration"], "model_type": "qwen2_vl",
        "vocab_size": 160, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2, "hidden_act": "silu", "max_position_embeddings": 4096,
        "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": False, "torch_dtype": "float32",
        "use_cache": True, "use_sliding_window": False, "sliding_window": 4096, "max_window_layers": 2,
        "attention_dropout": 0.0, "initializer_range": 0.02,
        "bos_token_id": 148, "eos_token_id": 149, "vision_start_token_id": 150, "vision_end_token_id": 151,
        "vision_token_id": 152, "image_token_id": 152, "video_token_id": 153,
        "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]},
        "vision_config": {"depth": 2, "embed_dim": 32, "mlp_ratio": 4, "num_heads": 4, "in_chans": 3,
                          "hidden_size": 64, "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2,
                          "hidden_act": "quick_gelu"},
    }
    p = make_weights(cfg, gen)
    snap = os.path.join(ROOT, "qwen2-vl-tiny")
    os.makedirs(snap, exist_ok=True)
    with open(os.path.join(snap, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(snap, "preprocessor_config.json"), "w") as f:
        json.dump(pre, f, indent=2)
    with open(os.path.join(snap, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 148, "eos_token_id": [149], "do_sample": False}, f, indent=2)
    save_safetensors(os.path.join(snap, "model.safetensors"), p)

    vs, ve, im_id = cfg["vision_start_token_id"], cfg["vision_end_token_id"], cfg["image_token_id"]

    def image_tokens(name):
        t, gh, gw = processed[name][1]
        return [vs] + [im_id] * (t * gh * gw // 4) + [ve]

    def text(n, seed):
        g = np.random.default_rng(seed)
        return [int(x) for x in g.integers(0, 148, n)]

    cases = {
        "one_image": ([text(3, 1) + image_tokens("img_50x37") + text(4, 2)], ["img_50x37"]),
        "two_images": ([text(2, 3) + image_tokens("img_50x37") + text(3, 4) + image_tokens("img_200x90") + text(5, 5)],
                       ["img_50x37", "img_200x90"]),
        "padded_batch": ([text(2, 6) + image_tokens("img_200x90") + text(3, 7) + image_tokens("img_50x37") + text(2, 8),
                          text(1, 9) + image_tokens("img_84x56") + text(2, 10)],
                         ["img_200x90", "img_50x37", "img_84x56"]),
        "text_only": ([text(9, 11)], []),
    }
    out = {}
    for case, (seqs, names) in cases.items():
        L = max(len(s) for s in seqs)
        ids = torch.tensor([[0] * (L - len(s)) + s for s in seqs], dtype=torch.int64)  # left padding with id 0
        mask = torch.tensor([[0] * (L - len(s)) + [1] * len(s) for s in seqs], dtype=torch.int64)
        pv = torch.cat([processed[n][0] for n in names], 0) if names else None
        grids = [processed[n][1] for n in names]
        for dt, suffix in ((torch.float64, "f64"), (torch.float32, "f32")):
            logits, pos, deltas = model_forward(p, cfg, ids, mask, pv, grids, dt)
            out[f"{case}.logits_{suffix}"] = logits
        out[f"{case}.input_ids"] = ids
        out[f"{case}.attention_mask"] = mask
        out[f"{case}.position_ids"] = pos
        out[f"{case}.rope_deltas"] = deltas
        if names:  # pixel values: the processor fixture's "<image>.pixel_values", concatenated in this order
            out[f"{case}.image_grid_thw"] = torch.tensor(grids, dtype=torch.int64)
            out[f"{case}.image_order"] = torch.tensor([list(images).index(n) for n in names], dtype=torch.int64)
        d = (out[f"{case}.logits_f32"].double() - out[f"{case}.logits_f64"]).abs().max().item()
        print(f"{case}: ids {tuple(ids.shape)}, deltas {deltas.tolist()}, max |f32 - f64| logits {d:.3g}")
    exp_dir = os.path.join(ROOT, "qwen2-vl-expected")
    os.makedirs(exp_dir, exist_ok=True)
    save_safetensors(os.path.join(exp_dir, "expected.safetensors"), out)


def compare_kernels():
    """Measures how far other bicubic kernels land from PIL's (the slow processor's): torch's bicubic without and with
    antialiasing on uint8 input rounded back to uint8 (what a tensor-based 'fast' processor does), on the fixture images."""
    import torch.nn.functional as F
    pre = json.load(open(os.path.join(ROOT, "qwen2-vl-processor", "preprocessor_config.json")))
    std = np.array(CLIP_STD, dtype=np.float32)
    for name in sorted(os.listdir(os.path.join(ROOT, "images"))):
        im = Image.open(os.path.join(ROOT, "images", name)).convert("RGB")
        rh, rw = smart_resize(im.height, im.width, 28, pre["min_pixels"], pre["max_pixels"])
        ref = np.array(im.resize((rw, rh), resample=Image.BICUBIC)).astype(np.int32)
        x = torch.from_numpy(np.array(im)).permute(2, 0, 1)[None].double()
        row = [f"{name:16s} {im.width}x{im.height} -> {rw}x{rh}"]
        for aa in (False, True):
            y = F.interpolate(x, size=(rh, rw), mode="bicubic", align_corners=False, antialias=aa)
            y = y.round().clamp(0, 255)[0].permute(1, 2, 0).numpy().astype(np.int32)
            d = np.abs(y - ref)
            pv = (d.astype(np.float32) / 255.0 / std).max()  # the largest pixel_values difference it causes
            row.append(f"antialias={aa}: max |d| {d.max():3d} levels, mean {d.mean():.3f}, "
                       f"{(d > 0).mean() * 100:5.1f}% differ, max pixel_values diff {pv:.4f}")
        print("  ".join(row))


if __name__ == "__main__":
    import sys
    if "--compare-kernels" in sys.argv:
        compare_kernels()
    else:
        main()
