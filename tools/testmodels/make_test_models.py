#!/usr/bin/env python3
"""Builds the small ONNX test package used by EdgeBind.Inference tests and benchmarks.

Writes tests/fixtures/models/tiny-test/: one tiny network per modality with the package contract's
input/output shapes (dynamic batch), an edgebind-model.json manifest, a small self-made CLIP-format BPE
merges file, and parity/<modality>.input.npy + parity/<modality>.expected.npy (raw ONNX outputs from
PyTorch) so the runtime can be checked against PyTorch to 1e-5.

Deterministic: fixed seeds, so re-running reproduces the committed files (up to exporter versions).
Run with Debian's python3 (torch 1.13, onnx 1.12):  python3 tools/testmodels/make_test_models.py
"""
import gzip
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "models", "tiny-test")
DIM = 16
OPSET = 13
PARITY_BATCH = 3  # audio file mode needs 3 clips of one file in the parity set


class ImageNet(nn.Module):
    """Strided patch conv, flatten, linear. No global pooling: every input position moves the output,
    so a wrong layout or a wrong item in a batch shows up as a different embedding."""

    def __init__(self, channels, patch, grid, normalize):
        super().__init__()
        self.c1 = nn.Conv2d(channels, 8, patch, stride=patch)
        self.fc = nn.Linear(8 * grid[0] * grid[1], DIM)
        self.normalize = normalize

    def forward(self, x):
        x = torch.tanh(self.c1(x)).flatten(1)
        x = self.fc(x)
        return F.normalize(x, dim=-1) if self.normalize else x


class ImuNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv1d(6, 8, 20, stride=20)
        self.fc = nn.Linear(8 * 100, DIM)

    def forward(self, x):
        return self.fc(torch.tanh(self.c1(x)).flatten(1))


class TextNet(nn.Module):
    """Token ids hashed into a small table (CLIP ids go to 49407), masked mean over non-pad tokens."""

    def __init__(self):
        super().__init__()
        self.table = nn.Embedding(1024, DIM)
        self.fc = nn.Linear(DIM, DIM)

    def forward(self, ids):
        e = self.table(torch.remainder(ids, 1024))
        mask = (ids != 0).to(e.dtype).unsqueeze(-1)
        x = (e * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return F.normalize(self.fc(x), dim=-1)


# modality -> (net, input name, item shape, dtype, normalized in graph, clips, preprocess)
def specs():
    return {
        "vision": (ImageNet(3, 16, (14, 14), True), "vision", [3, 224, 224], "float32", True, 1,
                   {"size": 224, "mean": [0.48145466, 0.4578275, 0.40821073], "std": [0.26862954, 0.26130258, 0.27577711]}),
        "text": (TextNet(), "text", [77], "int64", True, 1, {}),
        "audio": (ImageNet(1, (8, 12), (16, 17), False), "audio", [1, 128, 204], "float32", False, 3,
                  {"sample_rate": 16000, "num_mel_bins": 128, "target_length": 204, "clip_duration_s": 2.0,
                   "clips_per_file": 3, "mean": -4.268, "std": 9.138}),
        "depth": (ImageNet(1, 16, (14, 14), False), "depth", [1, 224, 224], "float32", False, 1,
                  {"size": 224, "min_m": 0.01, "max_m": 75.0, "disparity": False, "focal_px": 0.0, "baseline_m": 0.0,
                   "mean": 0.0418, "std": 0.0295}),
        "thermal": (ImageNet(1, 16, (14, 14), True), "thermal", [1, 224, 224], "float32", True, 1,
                    {"size": 224, "unit": "celsius", "min": -20.0, "max": 120.0, "mean": 0.5, "std": 0.5}),
        "imu": (ImuNet(), "imu", [6, 2000], "float32", False, 1,
                {"rate_hz": 200.0, "samples": 2000, "scale": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]}),
    }


def export(net, path, input_name, example):
    net.eval()
    torch.onnx.export(net, (example,), path, input_names=[input_name], output_names=["embedding"],
                      dynamic_axes={input_name: {0: "batch"}, "embedding": {0: "batch"}}, opset_version=OPSET,
                      do_constant_folding=True)


def make_input(modality, shape, dtype, gen):
    if dtype == "int64":
        ids = torch.zeros([PARITY_BATCH] + shape, dtype=torch.int64)
        for b in range(PARITY_BATCH):
            n = 5 + 7 * b
            ids[b, 0] = 49406
            ids[b, 1:n] = torch.randint(1, 49405, (n - 1,), generator=gen)
            ids[b, n] = 49407
        return ids
    return torch.randn([PARITY_BATCH] + shape, generator=gen)


def learn_bpe(corpus, merges_wanted):
    """A naive BPE learner (CLIP format: '</w>' marks a word's end) over a small corpus of our own."""
    words = {}
    for w in corpus.lower().split():
        key = tuple(w[:-1]) + (w[-1] + "</w>",)
        words[key] = words.get(key, 0) + 1
    merges = []
    while len(merges) < merges_wanted:
        pairs = {}
        for word, count in words.items():
            for a, b in zip(word, word[1:]):
                pairs[(a, b)] = pairs.get((a, b), 0) + count
        if not pairs:
            break
        best = max(sorted(pairs), key=lambda p: pairs[p])
        merges.append(best)
        merged = {}
        for word, count in words.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] = merged.get(tuple(out), 0) + count
        words = merged
    return merges


CORPUS = """a dog barking in the park a car horn on the street birds singing in the morning
a crane lifting steel beams waves on the shore rain on a window a person walking the dog
a truck engine idling a door closing a baby crying a train passing the station a cat on the roof"""


def main():
    torch.manual_seed(20261128)
    gen = torch.Generator().manual_seed(7)
    os.makedirs(os.path.join(OUT, "parity"), exist_ok=True)
    manifest = {
        "schema": "edgebind-model/1",
        "name": "tiny-test",
        "version": "1.0.0",
        "license": "Apache-2.0 (random weights made by tools/testmodels/make_test_models.py)",
        "description": "Tiny random encoders with the EdgeBind package contract's shapes, for tests and benchmarks only.",
        "embedding_dim": DIM,
        "tokenizer": None,
        "modalities": {},
        "evaluation": {"note": "random weights; no retrieval quality"},
    }
    merges = learn_bpe(CORPUS, 60)
    with gzip.GzipFile(os.path.join(OUT, "bpe_test.txt.gz"), "wb", mtime=0) as f:
        f.write(("#version: 0.2 (tiny test merges)\n" + "".join(f"{a} {b}\n" for a, b in merges)).encode("utf-8"))
    manifest["tokenizer"] = {"type": "clip-bpe", "vocab": "bpe_test.txt.gz", "merges": len(merges), "context_length": 77}

    for modality, (net, input_name, shape, dtype, normalized, clips, pre) in specs().items():
        example = make_input(modality, shape, dtype, gen)
        path = os.path.join(OUT, f"{modality}.onnx")
        export(net, path, input_name, example[:1])
        with torch.no_grad():
            expected = net(example).numpy().astype(np.float32)
        np.save(os.path.join(OUT, "parity", f"{modality}.input.npy"), example.numpy())
        np.save(os.path.join(OUT, "parity", f"{modality}.expected.npy"), expected)
        manifest["modalities"][modality] = {
            "file": f"{modality}.onnx",
            "input": {"name": input_name, "shape": [-1] + shape, "dtype": dtype},
            "output": {"name": "embedding", "shape": [-1, DIM], "dtype": "float32"},
            "normalized": normalized,
            "logit_scale": 1.0 if modality != "text" else 100.0,
            "clips": clips,
            "preprocess": pre,
        }
        print(f"{modality}: {path} ({os.path.getsize(path)} bytes)")

    # A variant whose vision input is 256x256: the loader must name the mismatch.
    variants = os.path.join(OUT, "variants")
    os.makedirs(variants, exist_ok=True)
    export(ImageNet(3, 16, (16, 16), True), os.path.join(variants, "vision_256.onnx"), "vision", torch.zeros(1, 3, 256, 256))

    with open(os.path.join(OUT, "edgebind-model.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
