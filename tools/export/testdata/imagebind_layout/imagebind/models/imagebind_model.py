"""ImageBind's module layout, re-implemented for the exporter's tests (no network in CI, and
ImageBind's own code is not copied into this repository).

What matters to the exporter is reproduced: the constructor's keyword arguments and defaults, the
`modality_preprocessors` / `modality_trunks` / `modality_heads` / `modality_postprocessors`
dictionaries with their call convention, and the operators each stem traces to: a 3-D convolution
over frames repeated to two (vision), causal masking and end-of-text selection (text), convolution
stems with a LayerNorm (audio, depth, thermal), and the IMU stem that cuts [N,6,2000] with
`unfold(-1, 8, 8)` (the call torch 1.13's ONNX exporter got wrong). Trunks use
`torch.nn.MultiheadAttention` on sequence-first tokens with key/value bias where ImageBind has it.
Parameter names need not match ImageBind's checkpoints; these models are only built at random.
"""
from __future__ import annotations

import torch
import torch.nn as nn

HUGE = dict(vision_embed_dim=1280, vision_num_blocks=32, vision_num_heads=16, text_embed_dim=1024,
            text_num_blocks=24, text_num_heads=16, out_embed_dim=1024, audio_drop_path=0.1, imu_drop_path=0.7)


class Tokens(nn.Module):
    """Stem output -> [N, L, D] tokens, a class token in front, learned positions added."""

    def __init__(self, stem: nn.Module, norm: nn.Module, patches: int, dim: int):
        super().__init__()
        self.stem = stem
        self.norm = norm
        self.cls_token = nn.Parameter(torch.randn(1, 1, dim) * dim ** -0.5)
        self.pos_embed = nn.Parameter(torch.randn(1, patches + 1, dim) * 0.02)

    def forward(self, x):
        x = self.stem(x)
        if x.ndim > 3:
            x = x.flatten(2).transpose(1, 2)
        x = self.norm(x)
        return torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embed


class VideoStem(nn.Module):
    """Images become two identical frames; a video clip [N,3,T,H,W] passes through; then a 3-D
    convolution whose kernel covers two frames and a 14x14 patch."""

    def __init__(self, dim: int, frames: int, kernel):
        super().__init__()
        self.frames = frames
        self.proj = nn.Conv3d(3, dim, kernel_size=kernel, stride=kernel, bias=False)

    def forward(self, x):
        if x.ndim == 4:
            x = x.unsqueeze(2)
        if x.shape[2] == 1:
            x = x.repeat(1, 1, self.frames, 1, 1)
        return self.proj(x)


class ImagePre(nn.Module):
    def __init__(self, key: str, tokens: Tokens):
        super().__init__()
        self.key = key
        self.tokens = tokens

    def forward(self, **inputs):
        return {"trunk": {"tokens": self.tokens(inputs[self.key])}, "head": {}}


class ImuPre(nn.Module):
    def __init__(self, dim: int, kernel: int = 8, samples: int = 2000):
        super().__init__()
        self.kernel = kernel
        self.tokens = Tokens(nn.Linear(6 * kernel, dim, bias=False), nn.LayerNorm(dim), samples // kernel, dim)

    def forward(self, imu):
        # [N,6,2000] -> [N,6,250,8] -> [N,250,6,8] -> [N,250,48], as ImageBind cuts IMU windows
        patches = imu.unfold(-1, self.kernel, self.kernel).permute(0, 2, 1, 3)
        patches = patches.reshape(patches.size(0), patches.size(1), -1)
        return {"trunk": {"tokens": self.tokens(patches)}, "head": {}}


class TextPre(nn.Module):
    def __init__(self, dim: int, vocab: int = 49408, context: int = 77):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, dim)
        self.pos_embed = nn.Parameter(torch.randn(1, context, dim) * 0.01)
        self.register_buffer("mask", torch.full((context, context), float("-inf")).triu(1), persistent=False)

    def forward(self, text):
        tokens = self.token_embedding(text) + self.pos_embed
        # the end-of-text token has the highest id, so argmax finds it
        return {"trunk": {"tokens": tokens, "attn_mask": self.mask}, "head": {"seq_len": text.argmax(dim=-1)}}


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, kv_bias: bool):
        super().__init__()
        self.norm_1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = nn.MultiheadAttention(dim, heads, bias=True, add_bias_kv=kv_bias)
        self.norm_2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x, attn_mask=None):
        h = self.norm_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=attn_mask)[0]
        return x + self.mlp(self.norm_2(x))


class Trunk(nn.Module):
    def __init__(self, dim: int, blocks: int, heads: int, pre_ln: bool, kv_bias: bool):
        super().__init__()
        self.pre = nn.LayerNorm(dim, eps=1e-6) if pre_ln else nn.Identity()
        self.blocks = nn.ModuleList(Block(dim, heads, kv_bias) for _ in range(blocks))

    def forward(self, tokens, attn_mask=None):
        x = self.pre(tokens).transpose(0, 1)  # sequence first, as nn.MultiheadAttention expects
        for b in self.blocks:
            x = b(x, attn_mask)
        return x.transpose(0, 1)


class First(nn.Module):
    def forward(self, x):
        return x[:, 0]


class EosHead(nn.Module):
    def __init__(self, dim: int, out: int):
        super().__init__()
        self.proj = nn.Sequential(nn.LayerNorm(dim, eps=1e-6), nn.Linear(dim, out, bias=False))

    def forward(self, x, seq_len):
        return self.proj(x[torch.arange(x.shape[0]), seq_len])


class Normalize(nn.Module):
    def forward(self, x):
        return nn.functional.normalize(x, dim=-1, p=2)


class LearnableLogitScaling(nn.Module):
    def __init__(self, init: float, learnable: bool, max_logit_scale: float = 100.0):
        super().__init__()
        self.max_logit_scale = max_logit_scale
        value = torch.ones([]) * torch.log(torch.tensor(float(init)))
        if learnable:
            self.log_logit_scale = nn.Parameter(value)
        else:
            self.register_buffer("log_logit_scale", value)

    def forward(self, x):
        return torch.clip(self.log_logit_scale.exp(), max=self.max_logit_scale) * x


class ImageBindModel(nn.Module):
    def __init__(self, video_frames=2, kernel_size=(2, 14, 14), audio_kernel_size=16, audio_stride=10,
                 out_embed_dim=768, vision_embed_dim=1024, vision_num_blocks=24, vision_num_heads=16,
                 audio_embed_dim=768, audio_num_blocks=12, audio_num_heads=12, audio_num_mel_bins=128,
                 audio_target_len=204, audio_drop_path=0.1, text_embed_dim=768, text_num_blocks=12,
                 text_num_heads=12, depth_embed_dim=384, depth_kernel_size=16, depth_num_blocks=12,
                 depth_num_heads=8, depth_drop_path=0.0, thermal_embed_dim=768, thermal_kernel_size=16,
                 thermal_num_blocks=12, thermal_num_heads=12, thermal_drop_path=0.0, imu_embed_dim=512,
                 imu_kernel_size=8, imu_num_blocks=6, imu_num_heads=8, imu_drop_path=0.7):
        super().__init__()
        # drop paths are identity at inference; accepted so every ImageBind argument is
        del audio_drop_path, depth_drop_path, thermal_drop_path, imu_drop_path

        def grid(h, w, k, s):
            return ((h - k) // s + 1) * ((w - k) // s + 1)

        def conv_tokens(dim, k, s, hw):
            return Tokens(nn.Conv2d(1, dim, kernel_size=k, stride=s, bias=False), nn.LayerNorm(dim), grid(*hw, k, s), dim)

        vis_patches = (video_frames // kernel_size[0]) * (224 // kernel_size[1]) * (224 // kernel_size[2])
        self.modality_preprocessors = nn.ModuleDict({
            "vision": ImagePre("vision", Tokens(VideoStem(vision_embed_dim, video_frames, kernel_size), nn.Identity(),
                                                vis_patches, vision_embed_dim)),
            "text": TextPre(text_embed_dim),
            "audio": ImagePre("audio", conv_tokens(audio_embed_dim, audio_kernel_size, audio_stride,
                                                   (audio_num_mel_bins, audio_target_len))),
            "depth": ImagePre("depth", conv_tokens(depth_embed_dim, depth_kernel_size, depth_kernel_size, (224, 224))),
            "thermal": ImagePre("thermal", conv_tokens(thermal_embed_dim, thermal_kernel_size, thermal_kernel_size, (224, 224))),
            "imu": ImuPre(imu_embed_dim, imu_kernel_size),
        })
        dims = {"vision": vision_embed_dim, "text": text_embed_dim, "audio": audio_embed_dim,
                "depth": depth_embed_dim, "thermal": thermal_embed_dim, "imu": imu_embed_dim}
        self.modality_trunks = nn.ModuleDict({
            "vision": Trunk(vision_embed_dim, vision_num_blocks, vision_num_heads, True, False),
            "text": Trunk(text_embed_dim, text_num_blocks, text_num_heads, False, False),
            "audio": Trunk(audio_embed_dim, audio_num_blocks, audio_num_heads, False, True),
            "depth": Trunk(depth_embed_dim, depth_num_blocks, depth_num_heads, False, True),
            "thermal": Trunk(thermal_embed_dim, thermal_num_blocks, thermal_num_heads, False, True),
            "imu": Trunk(imu_embed_dim, imu_num_blocks, imu_num_heads, False, True),
        })
        heads = {m: nn.Sequential(nn.LayerNorm(d, eps=1e-6), First(), nn.Linear(d, out_embed_dim, bias=False))
                 for m, d in dims.items() if m != "text"}
        heads["imu"] = nn.Sequential(nn.LayerNorm(imu_embed_dim, eps=1e-6), First(), nn.Dropout(0.5),
                                     nn.Linear(imu_embed_dim, out_embed_dim, bias=False))
        heads["text"] = EosHead(text_embed_dim, out_embed_dim)
        self.modality_heads = nn.ModuleDict(heads)
        scales = {"text": (1 / 0.07, True), "audio": (20.0, False), "depth": (5.0, False),
                  "thermal": (10.0, False), "imu": (5.0, False)}
        self.modality_postprocessors = nn.ModuleDict({
            m: nn.Sequential(Normalize(), LearnableLogitScaling(*scales[m])) if m in scales else Normalize()
            for m in dims})

    def forward(self, inputs):
        """ImageBind's forward: a 5-d or higher input holds several clips per item, embedded one by one
        and averaged (after each is normalised and scaled)."""
        out = {}
        for m, x in inputs.items():
            clips = x.ndim >= 5
            if clips:
                b, s = x.shape[:2]
                x = x.reshape(b * s, *x.shape[2:])
            p = self.modality_preprocessors[m](**{m: x})
            y = self.modality_heads[m](self.modality_trunks[m](**p["trunk"]), **p["head"])
            y = self.modality_postprocessors[m](y)
            out[m] = y.reshape(b, s, -1).mean(1) if clips else y
        return out


def imagebind_huge(pretrained=False):
    if pretrained:
        raise RuntimeError("the test layout has no weights")
    return ImageBindModel(**HUGE)
