"""EdgeBind-tiny: ImageBind's module layout at a small width and depth.

Layout (same attribute names and call convention as ImageBind's `ImageBindModel`, so one exporter
serves both):

    model.modality_preprocessors[m](**{m: x})   -> {"trunk": {...}, "head": {...}}
    model.modality_trunks[m](**trunk_kwargs)     -> tokens [N, L, W]
    model.modality_heads[m](tokens, **head_kwargs) -> [N, D]
    model.modality_postprocessors[m](emb)        -> L2-normalised (and logit-scaled) [N, D]

Inputs keep ImageBind's shapes; to fit 2 CPU cores the stems use larger strides than ImageBind
(vision/depth/thermal: 2x2 average pool, then 16x16 patches -> 49 tokens; audio: 16x34 (mel x
frames) patches -> 48 tokens; IMU: 40-sample patches -> 50 tokens). Text runs the full 77 positions at inference; under the causal
mask the EOT output does not depend on later positions, so training may feed a shorter prefix.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

MODALITIES = ["vision", "text", "audio", "depth", "thermal", "imu"]


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, attn_mask=None):
        n, l, d = x.shape
        h = self.heads
        qkv = self.qkv(x).reshape(n, l, 3, h, d // h).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // h))
        if attn_mask is not None:
            att = att + attn_mask
        att = att.softmax(dim=-1)
        out = (att @ v).transpose(1, 2).reshape(n, l, d)
        return self.proj(out)


class Block(nn.Module):
    """Pre-LN transformer block."""

    def __init__(self, dim, heads, mlp_ratio=4):
        super().__init__()
        self.norm_1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm_2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, dim * mlp_ratio), nn.GELU(), nn.Linear(dim * mlp_ratio, dim))

    def forward(self, x, attn_mask=None):
        x = x + self.attn(self.norm_1(x), attn_mask)
        return x + self.mlp(self.norm_2(x))


class Trunk(nn.Module):
    def __init__(self, dim, depth, heads, pre_ln=True):
        super().__init__()
        self.pre_transformer_layer = nn.LayerNorm(dim, eps=1e-6) if pre_ln else nn.Identity()
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(depth)])

    def forward(self, tokens, attn_mask=None):
        x = self.pre_transformer_layer(tokens)
        for b in self.blocks:
            x = b(x, attn_mask)
        return x


class PatchStem(nn.Module):
    """Conv patch embedding + cls token + learned positional embedding (vision/audio/depth/thermal)."""

    def __init__(self, key, in_ch, dim, kernel, stride, in_hw, pool=1):
        super().__init__()
        self.key = key
        # optional average-pool before the patch conv: keeps the input shape, cuts the conv's cost
        self.pool = nn.AvgPool2d(pool) if pool > 1 else nn.Identity()
        in_hw = (in_hw[0] // pool, in_hw[1] // pool)
        self.proj = nn.Conv2d(in_ch, dim, kernel_size=kernel, stride=stride, bias=False)
        gh = (in_hw[0] - kernel[0]) // stride[0] + 1
        gw = (in_hw[1] - kernel[1]) // stride[1] + 1
        self.num_patches = gh * gw
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, self.num_patches + 1, dim) * 0.02)
        self.norm = nn.LayerNorm(dim, eps=1e-6) if in_ch == 1 else nn.Identity()

    def forward(self, **kw):
        x = kw[self.key]
        x = self.proj(self.pool(x)).flatten(2).transpose(1, 2)
        x = self.norm(x)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos_embed
        return {"trunk": {"tokens": x}, "head": {}}


class ConvPatchStem(nn.Module):
    """Vision stem: three strided convolutions (stride 4, 2, 4) turn 224x224 RGB into 7x7 patch tokens,
    then class token and learned positions as in PatchStem. A single linear patch projection learns
    poorly from a few thousand images; early convolutions give the trunk local shape features (limb
    angles, edges) to work with."""

    # (out channels, kernel, stride, padding) per convolution; each but the last is followed by BatchNorm + GELU.
    LAYOUTS = {
        "conv": [(32, 4, 4, 0), (64, 2, 2, 0), (None, 4, 4, 0)],
        # overlapping 3x3 kernels after the first patchify step: 56 -> 28 -> 14 -> 7
        "conv3": [(32, 4, 4, 0), (64, 3, 2, 1), (128, 3, 2, 1), (None, 2, 2, 0)],
    }

    def __init__(self, key, in_ch, dim, in_hw=(224, 224), layout="conv"):
        super().__init__()
        self.key = key
        layers = []
        ch = in_ch
        spec = self.LAYOUTS[layout]
        for i, (out, k, s, p) in enumerate(spec):
            out = dim if out is None else out
            layers.append(nn.Conv2d(ch, out, kernel_size=k, stride=s, padding=p, bias=False))
            if i < len(spec) - 1:
                layers += [nn.BatchNorm2d(out), nn.GELU()]
            ch = out
        self.proj = nn.Sequential(*layers)
        self.num_patches = (in_hw[0] // 32) * (in_hw[1] // 32)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, self.num_patches + 1, dim) * 0.02)

    def forward(self, **kw):
        x = self.proj(kw[self.key]).flatten(2).transpose(1, 2)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos_embed
        return {"trunk": {"tokens": x}, "head": {}}


class IMUStem(nn.Module):
    """[N,6,2000] -> non-overlapping patches of `patch` samples x 6 channels -> Linear -> tokens."""

    def __init__(self, dim, patch=20, samples=2000):
        super().__init__()
        self.patch = patch
        self.num_patches = samples // patch
        self.proj = nn.Linear(6 * patch, dim, bias=False)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, self.num_patches + 1, dim) * 0.02)

    def forward(self, imu):
        n = imu.shape[0]
        x = imu.reshape(n, 6, self.num_patches, self.patch).permute(0, 2, 1, 3).reshape(n, self.num_patches, 6 * self.patch)
        x = self.norm(self.proj(x))
        cls = self.cls_token.expand(n, -1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos_embed
        return {"trunk": {"tokens": x}, "head": {}}


class TextStem(nn.Module):
    def __init__(self, vocab_size, dim, context_length=77):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, dim)
        self.pos_embed = nn.Parameter(torch.randn(1, context_length, dim) * 0.01)
        mask = torch.full((context_length, context_length), float("-inf")).triu_(1)
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, text):
        l = text.shape[1]
        x = self.token_embedding(text) + self.pos_embed[:, :l]
        # the head picks the EOT position: CLIP's EOT has the largest id, so argmax finds it.
        # (argmax over float: ONNX Runtime's CPU ArgMax has no int64 kernel.)
        eot = text.float().argmax(dim=-1)
        return {"trunk": {"tokens": x, "attn_mask": self.mask[:l, :l]}, "head": {"seq_len": eot}}


class SelectCls(nn.Module):
    def __init__(self, dim, out_dim):
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.proj = nn.Linear(dim, out_dim, bias=False)

    def forward(self, x):
        return self.proj(self.norm(x)[:, 0, :])


class SelectEOS(nn.Module):
    def __init__(self, dim, out_dim):
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.proj = nn.Linear(dim, out_dim, bias=False)

    def forward(self, x, seq_len):
        x = self.norm(x)
        x = x[torch.arange(x.shape[0], device=x.device), seq_len]
        return self.proj(x)


class Normalize(nn.Module):
    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.normalize(x, dim=self.dim, p=2)


class LearnableLogitScaling(nn.Module):
    """Multiplies by exp(log_logit_scale) clipped at max_logit_scale (learnable or a constant)."""

    def __init__(self, logit_scale_init=1 / 0.07, learnable=True, max_logit_scale=100.0):
        super().__init__()
        self.max_logit_scale = max_logit_scale
        self.learnable = learnable
        t = torch.ones([]) * math.log(logit_scale_init)
        if learnable:
            self.log_logit_scale = nn.Parameter(t)
        else:
            self.register_buffer("log_logit_scale", t)

    def scale(self):
        return torch.clip(self.log_logit_scale.exp(), max=self.max_logit_scale)

    def forward(self, x):
        return self.scale() * x


DEFAULT_CFG = {
    "dim": 128, "out_dim": 256, "heads": 4,
    "depth": {"vision": 3, "text": 3, "audio": 2, "depth": 2, "thermal": 2, "imu": 2},
    "vocab_size": 49408, "context_length": 77,
    "vision_stem": "conv3",  # "conv3" / "conv" (ConvPatchStem layouts) or "patch" (2x2 pool + 16x16 linear patches)
}


class EdgeBindTiny(nn.Module):
    def __init__(self, cfg=None):
        super().__init__()
        cfg = {**DEFAULT_CFG, **(cfg or {})}
        self.cfg = cfg
        w, d, h = cfg["dim"], cfg["out_dim"], cfg["heads"]
        self.modality_preprocessors = nn.ModuleDict({
            "vision": ConvPatchStem("vision", 3, w, layout=cfg["vision_stem"]) if cfg["vision_stem"] in ConvPatchStem.LAYOUTS else
            PatchStem("vision", 3, w, (16, 16), (16, 16), (224, 224), pool=2),
            "text": TextStem(cfg["vocab_size"], w, cfg["context_length"]),
            "audio": PatchStem("audio", 1, w, (16, 34), (16, 34), (128, 204)),
            "depth": PatchStem("depth", 1, w, (16, 16), (16, 16), (224, 224), pool=2),
            "thermal": PatchStem("thermal", 1, w, (16, 16), (16, 16), (224, 224), pool=2),
            "imu": IMUStem(w, patch=40),
        })
        self.modality_trunks = nn.ModuleDict({m: Trunk(w, cfg["depth"][m], h, pre_ln=(m != "text")) for m in MODALITIES})
        self.modality_heads = nn.ModuleDict({m: (SelectEOS(w, d) if m == "text" else SelectCls(w, d)) for m in MODALITIES})
        self.modality_postprocessors = nn.ModuleDict({
            "vision": Normalize(),
            "text": nn.Sequential(Normalize(), LearnableLogitScaling(learnable=True)),
            "audio": nn.Sequential(Normalize(), LearnableLogitScaling(20.0, learnable=False)),
            "depth": nn.Sequential(Normalize(), LearnableLogitScaling(5.0, learnable=False)),
            "thermal": nn.Sequential(Normalize(), LearnableLogitScaling(10.0, learnable=False)),
            "imu": nn.Sequential(Normalize(), LearnableLogitScaling(5.0, learnable=False)),
        })

    def encode(self, modality, x, normalize_only=True):
        """Embedding before the logit scale (what the exporter exports)."""
        out = self.modality_preprocessors[modality](**{modality: x})
        y = self.modality_trunks[modality](**out["trunk"])
        y = self.modality_heads[modality](y, **out["head"])
        return F.normalize(y, dim=-1) if normalize_only else self.modality_postprocessors[modality](y)

    def forward(self, inputs: dict):
        return {m: self.encode(m, x, normalize_only=False) for m, x in inputs.items()}

    def text_logit_scale(self):
        return self.modality_postprocessors["text"][1].scale()
