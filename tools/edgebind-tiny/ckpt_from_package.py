"""Rebuild a training checkpoint (edgebind_tiny.pt) from an exported EdgeBind-tiny package.

    python3 tools/edgebind-tiny/ckpt_from_package.py --pkg models/edgebind-tiny --out /tmp/edgebind-tiny-pkg

The package's ONNX graphs hold every weight, but the exporter folds some of them (linear weights are
transposed into MatMul constants, the vision stem's BatchNorm is folded into its convolutions, the
logit scales become constants). Continuing training from the shipped weights (train.py --init, e.g. to
retrain the depth/thermal/IMU encoders against the same frozen image encoder) needs them back in the
model's own layout: a fresh model with distinct random weights is exported the same way, each of its
ONNX initializers is matched by value to the parameter it came from, and that mapping is applied to
the package's graphs. The result is checked against the package's parity tensors (parity/*.npy).
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import sys
import tempfile

import numpy as np
import onnx
import torch
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "export"))
import export as ex  # noqa: E402
from model import MODALITIES, EdgeBindTiny  # noqa: E402


def vocab_size(vocab_path: str) -> tuple[int, int]:
    """(vocab size, merges) of a CLIP-format vocabulary: 256 bytes x 2 (with </w>) + merges + 2 specials."""
    with gzip.open(vocab_path, "rt", encoding="utf-8") as fh:
        merges = len(fh.read().split("\n")[1:-1])
    return 512 + merges + 2, merges


def initializers(path: str) -> dict[str, np.ndarray]:
    return {t.name: numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}


def fresh_mapping(model: EdgeBindTiny, modality: str, scratch: str) -> dict[str, tuple[str, str]]:
    """ONNX initializer name -> (parameter name, how it was stored: 'same', 'T' or 'bnfold:<bn name>')."""
    enc = ex.ModalityEncoder(model, modality).eval()
    sample = ex.random_input(modality, 2, torch.Generator().manual_seed(0), model.cfg["vocab_size"] - 514)
    path = os.path.join(scratch, f"{modality}.onnx")
    with torch.no_grad():
        ex.export_modality(enc, modality, path, 14, sample, model.cfg["out_dim"])
    prefix = {"pre": f"modality_preprocessors.{modality}.", "trunk": f"modality_trunks.{modality}.",
              "head": f"modality_heads.{modality}."}
    params = {k: v.detach().numpy() for k, v in model.state_dict().items()
              if any(k.startswith(p) for p in prefix.values())}
    out = {}
    for name, arr in initializers(path).items():
        head = name.split(".")[0]
        if head in prefix and prefix[head] + name[len(head) + 1:] in params:
            out[name] = (prefix[head] + name[len(head) + 1:], "same")
            continue
        hit = None
        for k, v in params.items():
            if v.shape == arr.shape and np.allclose(v, arr, rtol=0, atol=1e-6):
                hit = (k, "same")
            elif v.ndim == 2 and v.T.shape == arr.shape and np.allclose(v.T, arr, rtol=0, atol=1e-6):
                hit = (k, "T")
            elif v.ndim == 4 and v.shape == arr.shape and np.allclose(v / math.sqrt(1 + 1e-5), arr, rtol=1e-4, atol=1e-7):
                hit = (k, "bnfold")
            if hit:
                break
        if hit is None and arr.ndim == 1:
            # a folded BatchNorm bias of a fresh model is beta - mean * scale = 0: it belongs to the conv before it
            hit = ("", "bnbias")
        if hit is None:
            raise SystemExit(f"{modality}: initializer {name} {arr.shape} matches no parameter")
        out[name] = hit
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pkg", default="models/edgebind-tiny")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    manifest = json.load(open(os.path.join(args.pkg, "edgebind-model.json")))
    vocab = os.path.join(args.pkg, manifest["tokenizer"]["vocab"])
    vsize, merges = vocab_size(vocab)
    torch.manual_seed(12345)
    fresh = EdgeBindTiny({"vocab_size": vsize})
    with torch.no_grad():  # distinct values everywhere (BatchNorm/LayerNorm start at exact 1s and 0s)
        for k, p in fresh.named_parameters():
            p.add_(torch.randn_like(p) * 0.05)
        for mod in fresh.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):  # identity BatchNorms: their fold is a known scale
                mod.weight.fill_(1.0)
                mod.bias.zero_()
    model = EdgeBindTiny({"vocab_size": vsize})
    state = model.state_dict()
    with tempfile.TemporaryDirectory() as scratch:
        for m in MODALITIES:
            mapping = fresh_mapping(fresh, m, scratch)
            real = initializers(os.path.join(args.pkg, manifest["modalities"][m]["file"]))
            if set(real) != set(mapping):
                raise SystemExit(f"{m}: package graph has other initializers than this model exports: "
                                 f"{sorted(set(real) ^ set(mapping))[:5]}")
            # vision stem: conv (no bias) -> BatchNorm -> GELU; the export folds the BatchNorm into a conv
            # with a bias. Set the BatchNorm to scale sqrt(1 + eps) / sqrt(1 + eps) = 1 and shift = the bias.
            conv_bias = {}
            order = list(real)
            for i, name in enumerate(order):
                pname, how = mapping[name]
                arr = torch.from_numpy(real[name].copy())
                if how == "same":
                    state[pname].copy_(arr)
                elif how == "T":
                    state[pname].copy_(arr.t())
                elif how == "bnfold":
                    state[pname].copy_(arr)
                    conv_bias[pname] = order[i + 1]
                elif how == "bnbias":
                    pass
            for conv, bias_name in conv_bias.items():
                # modality_preprocessors.vision.proj.<i>.weight -> BatchNorm at proj.<i+1>
                parts = conv.split(".")
                bn = ".".join(parts[:-2] + [str(int(parts[-2]) + 1)])
                if bn + ".running_var" not in state:
                    continue  # the last conv has no BatchNorm
                eps = 1e-5
                state[bn + ".running_mean"].zero_()
                state[bn + ".running_var"].fill_(1.0)
                state[bn + ".weight"].fill_(math.sqrt(1 + eps))
                state[bn + ".bias"].copy_(torch.from_numpy(real[bias_name].copy()))
        text_scale = manifest["modalities"]["text"]["logit_scale"]
        state["modality_postprocessors.text.1.log_logit_scale"].fill_(math.log(text_scale))
        model.load_state_dict(state)
    model.eval()
    worst = {}
    with torch.no_grad():
        for m in MODALITIES:
            x = torch.from_numpy(np.load(os.path.join(args.pkg, "parity", f"{m}.input.npy")))
            want = np.load(os.path.join(args.pkg, "parity", f"{m}.expected.npy"))
            got = model.encode(m, x).numpy()
            worst[m] = float(np.abs(got - want).max())
    print("max |torch - package parity| per modality:", worst, flush=True)
    if max(worst.values()) > 1e-4:
        raise SystemExit("the rebuilt checkpoint does not reproduce the package's parity outputs")
    os.makedirs(args.out, exist_ok=True)
    torch.save({"state_dict": model.state_dict(), "cfg": model.cfg, "merges": merges, "seed": None,
                "from_package": os.path.abspath(args.pkg)}, os.path.join(args.out, "edgebind_tiny.pt"))
    print("wrote", os.path.join(args.out, "edgebind_tiny.pt"))


if __name__ == "__main__":
    main()
