"""Export any model with ImageBind's module layout to an EdgeBind model package.

    # the bundled model
    python3 tools/export/export.py --preset edgebind-tiny --ckpt /tmp/edgebind-tiny/edgebind_tiny.pt \
        --vocab /tmp/edgebind-tiny/bpe_edgebind_tiny.txt.gz --evaluation /tmp/edgebind-tiny/evaluation.json \
        --out models/edgebind-tiny

    # the real ImageBind (workstation, see README.md "Using the real ImageBind")
    python3 tools/export/export.py --preset imagebind --ckpt .checkpoints/imagebind_huge.pth \
        --vocab ImageBind/imagebind/bpe/bpe_simple_vocab_16e6.txt.gz --out /data/edgebind-models/imagebind-huge

Per modality the exported graph is preprocessor -> trunk -> head -> L2 normalisation (the logit
scale is left out and recorded in the manifest). Inputs are named after the modality, the output
is "embedding", the batch axis is dynamic. Parity fixtures (batch 2: one random and one real
input, with the PyTorch outputs) go to <out>/parity/ for `edgebind models check <out>`.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
TINY = os.path.join(os.path.dirname(HERE), "edgebind-tiny")
sys.path.insert(0, TINY)
sys.path.insert(0, HERE)

MODALITIES = ["vision", "text", "audio", "depth", "thermal", "imu"]
INPUT_SHAPES = {"vision": [3, 224, 224], "text": [77], "audio": [1, 128, 204], "depth": [1, 224, 224],
                "thermal": [1, 224, 224], "imu": [6, 2000], "video": [3, 2, 224, 224]}
# exported graphs that run another modality's modules: ImageBind embeds a 2-frame clip
# [N,3,2,224,224] with the vision encoder (an image is that clip with the frame repeated)
SOURCE = {"video": "vision"}
# ImageBind's video loader: 5 clips of 2 s spread over the file, 2 frames each, 3 spatial crops
VIDEO_CLIPS, VIDEO_CROPS = 5, 3
CSHARP_CLI = "/work/main/src/EdgeBind.Cli"

# imagebind_model.imagebind_huge's arguments to ImageBindModel (the constructor's defaults fill the rest).
IMAGEBIND_HUGE_ARGS = {
    "vision_embed_dim": 1280, "vision_num_blocks": 32, "vision_num_heads": 16,
    "text_embed_dim": 1024, "text_num_blocks": 24, "text_num_heads": 16,
    "out_embed_dim": 1024, "audio_drop_path": 0.1, "imu_drop_path": 0.7,
}

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

PRESETS = {
    "edgebind-tiny": {
        "name": "edgebind-tiny", "version": "0.2.0",
        "license": "Apache-2.0 (weights and code of this repository); trained only on the synthetic world in tools/edgebind-tiny",
        "description": "Tiny ImageBind-style joint embedding (6 modalities, 256-d) trained on EdgeBind's synthetic sensor world",
        "vocab_name": "bpe_edgebind_tiny.txt.gz",
        "preprocess": None,  # filled from tools/edgebind-tiny/preprocess.py
    },
    "imagebind": {
        "name": "imagebind-huge", "version": "1.0.0",
        "license": "CC-BY-NC 4.0 (ImageBind weights by Meta AI); non-commercial use only; never commit",
        "description": "ImageBind (huge) exported to EdgeBind's package format",
        "vocab_name": "bpe_simple_vocab_16e6.txt.gz",
        "preprocess": {
            "depth": {"mean": 0.0418, "std": 0.0295, "disparity": False, "focal_px": None, "baseline_m": None},
            # ImageBind publishes no thermal or IMU loader: LLVIP frames are 8-bit; map the
            # camera's range to [0,1] and leave mean/std at 0/1 unless you know better.
            "thermal": {"min": 0.0, "max": 255.0, "unit": "raw8", "mean": 0.0, "std": 1.0},
            "imu": {"scale": [1.0] * 6},
        },
    },
}


# ------------------------------------------------------------------------------------------------
# the per-modality encoder

def _is_logit_scale(mod: nn.Module) -> bool:
    return hasattr(mod, "log_logit_scale")


def _logit_scale_value(mod: nn.Module) -> float:
    s = mod.log_logit_scale.detach().exp()
    mx = getattr(mod, "max_logit_scale", None)
    if mx is not None:
        s = torch.clip(s, max=mx)
    return float(s)


def postprocessor_parts(post: nn.Module):
    """(modules to keep, constant logit scale) of a postprocessor (Sequential or single module)."""
    children = list(post.children()) if isinstance(post, nn.Sequential) else [post]
    keep, scale = [], 1.0
    for c in children:
        if _is_logit_scale(c):
            scale *= _logit_scale_value(c)
        else:
            keep.append(c)
    return keep, scale


class ModalityEncoder(nn.Module):
    def __init__(self, model: nn.Module, modality: str):
        super().__init__()
        self.modality = modality
        self.pre = model.modality_preprocessors[modality]
        self.trunk = model.modality_trunks[modality]
        self.head = model.modality_heads[modality]
        keep, self.logit_scale = postprocessor_parts(model.modality_postprocessors[modality])
        self.post = nn.ModuleList(keep)

    def forward(self, x):
        out = self.pre(**{self.modality: x})
        y = self.trunk(**out["trunk"])
        y = self.head(y, **out["head"])
        for m in self.post:
            y = m(y)
        # always end L2-normalised (idempotent when the source already normalised)
        return F.normalize(y, dim=-1)


# ------------------------------------------------------------------------------------------------
# model loading

def load_model(preset: str, ckpt: str | None, model_args: dict | None = None):
    if preset == "edgebind-tiny":
        from model import EdgeBindTiny
        ck = torch.load(ckpt, map_location="cpu")
        model = EdgeBindTiny(ck["cfg"])
        model.load_state_dict(ck["state_dict"])
        return model.eval(), {"merges": ck.get("merges")}
    if preset == "imagebind":
        from imagebind.models import imagebind_model  # facebookresearch/ImageBind on PYTHONPATH
        args = dict(IMAGEBIND_HUGE_ARGS)
        args.update(model_args or {})
        try:
            model = imagebind_model.ImageBindModel(**args)
        except TypeError as e:  # an argument ImageBindModel does not take
            raise SystemExit(f"--model-args: ImageBindModel refused the arguments: {e}") from e
        if ckpt:
            state = torch.load(ckpt, map_location="cpu")
            try:
                missing, unexpected = model.load_state_dict(state, strict=False)
            except RuntimeError as e:  # a tensor of another shape
                raise SystemExit(f"--ckpt {ckpt} does not fit ImageBindModel({json.dumps(args)}): "
                                 f"{str(e).splitlines()[1].strip() if len(str(e).splitlines()) > 1 else e}; "
                                 "pass the checkpoint's --model-args") from e
            if missing or unexpected:
                raise SystemExit(f"--ckpt {ckpt} does not fit ImageBindModel({json.dumps(args)}): "
                                 f"{len(missing)} missing keys (first {missing[:3]}), "
                                 f"{len(unexpected)} unexpected (first {unexpected[:3]}); pass the checkpoint's --model-args")
        else:
            print("warning: no --ckpt; exporting randomly initialised weights", flush=True)
        return model.eval(), {"merges": 49152 - 256 - 2}
    raise SystemExit(f"unknown preset {preset!r}")


def tiny_preprocess():
    import preprocess as pp
    return {
        "vision": {"size": 224, "mean": CLIP_MEAN, "std": CLIP_STD},
        "text": {},
        "audio": {"sample_rate": 16000, "num_mel_bins": 128, "target_length": 204, "clip_duration_s": 2.0,
                  "clips_per_file": 3, "mean": pp.AUDIO_MEAN, "std": pp.AUDIO_STD},
        "depth": {"size": 224, "min_m": pp.DEPTH_MIN_M, "max_m": pp.DEPTH_MAX_M, "disparity": False, "focal_px": None,
                  "baseline_m": None, "mean": pp.DEPTH_MEAN, "std": pp.DEPTH_STD},
        "thermal": {"size": 224, "unit": "celsius", "min": pp.THERMAL_MIN_C, "max": pp.THERMAL_MAX_C,
                    "mean": pp.THERMAL_MEAN, "std": pp.THERMAL_STD},
        "imu": {"rate_hz": 200, "samples": 2000, "scale": [float(v) for v in pp.IMU_SCALE]},
    }


def default_preprocess(overrides: dict | None):
    base = {
        "vision": {"size": 224, "mean": CLIP_MEAN, "std": CLIP_STD},
        "text": {},
        "audio": {"sample_rate": 16000, "num_mel_bins": 128, "target_length": 204, "clip_duration_s": 2.0,
                  "clips_per_file": 3, "mean": -4.268, "std": 9.138},
        "depth": {"size": 224, "min_m": 0.01, "max_m": 75.0, "disparity": False, "focal_px": None, "baseline_m": None,
                  "mean": 0.0418, "std": 0.0295},
        "thermal": {"size": 224, "unit": "celsius", "min": -20.0, "max": 120.0, "mean": 0.0, "std": 1.0},
        "imu": {"rate_hz": 200, "samples": 2000, "scale": [1.0] * 6},
    }
    for m, o in (overrides or {}).items():
        base[m].update(o)
    return base


# ------------------------------------------------------------------------------------------------
# inputs for tracing and parity

def random_input(modality: str, batch: int, gen: torch.Generator, merges: int):
    if modality == "text":
        sot, eot = 512 + merges, 513 + merges
        ids = torch.zeros(batch, 77, dtype=torch.long)
        for b in range(batch):
            n = int(torch.randint(3, 20, (1,), generator=gen))
            ids[b, 0] = sot
            ids[b, 1:n] = torch.randint(1, 512 + merges, (n - 1,), generator=gen)
            ids[b, n] = eot
        return ids
    return torch.randn(batch, *INPUT_SHAPES[modality], generator=gen)


@contextlib.contextmanager
def _unfold_with_normalised_dimension(opset: int):
    """torch 1.13's ONNX symbolic for `Tensor.unfold` mishandles a negative dimension: ImageBind's IMU
    stem, `imu.unfold(-1, 8, 8)` on [N,6,2000], exports as [N,6,8,250] where torch gives [N,6,250,8],
    and ONNX Runtime then refuses the graph at the stem's MatMul. Within this context the symbolic
    turns a negative dimension into its positive index (from the traced rank) before torch's own
    symbolic builds the graph; a non-negative dimension passes through unchanged."""
    from torch.onnx import symbolic_helper, symbolic_opset12
    name = "aten::unfold"

    def unfold(g, input, dimension, size, step):
        dim = symbolic_helper._get_const(dimension, "i", "dimension")
        rank = symbolic_helper._get_tensor_rank(input)
        if dim < 0:
            if rank is None:
                raise RuntimeError("unfold with a negative dimension on a tensor of unknown rank cannot be exported")
            dim += rank
        k = symbolic_helper._maybe_get_const(size, "i")
        s = symbolic_helper._maybe_get_const(step, "i")
        sizes = symbolic_helper._get_tensor_sizes(input) or []
        length = sizes[dim] if dim < len(sizes) else None
        if rank is not None and dim == rank - 1 and isinstance(k, int) and k == s and isinstance(length, int):
            # non-overlapping windows along the last axis (ImageBind's IMU patches): one Slice and
            # one Reshape instead of torch's Slice/Transpose/Unsqueeze per window
            n = length // k
            x = input if n * k == length else symbolic_helper._slice_helper(g, input, axes=[dim], starts=[0], ends=[n * k])
            return g.op("Reshape", x, g.op("Constant", value_t=torch.tensor([0] * dim + [-1, k], dtype=torch.int64)))
        return symbolic_opset12.unfold(g, input, g.op("Constant", value_t=torch.tensor(dim)), size, step)

    torch.onnx.register_custom_op_symbolic(name, unfold, opset)
    try:
        yield
    finally:
        torch.onnx.unregister_custom_op_symbolic(name, opset)


TWO_GB = 2 ** 31
# room left under protobuf's limit for the graph itself
EXTERNAL_MARGIN = 256 * 2 ** 20


def export_modality(enc: ModalityEncoder, modality: str, path: str, opset: int, sample: torch.Tensor, emb_dim: int,
                    fp16: bool = False, share_with: str | None = None):
    """Writes <path> (and <path>.data beside it when the weights exceed protobuf's 2 GB) and returns the
    graph without its weights."""
    out_dir = os.path.dirname(os.path.abspath(path))
    data_name = os.path.basename(path) + ".data"
    # torch writes a > 2 GB graph with one loose file per tensor beside it: export into a scratch
    # directory and gather the weights into one file per encoder (a package stays easy to move).
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=f".export-{modality}-") as scratch:
        traced = os.path.join(scratch, f"{modality}.onnx")
        with _unfold_with_normalised_dimension(opset):
            torch.onnx.export(
                enc, (sample,), traced, input_names=[modality], output_names=["embedding"],
                dynamic_axes={modality: {0: "batch"}, "embedding": {0: "batch"}}, opset_version=opset,
                do_constant_folding=True)
        m = onnx.load(traced)  # with its weights, wherever torch put them
        # the exporter's shape inference leaves the embedding width symbolic after the normalisation
        out_dim = m.graph.output[0].type.tensor_type.shape.dim
        if len(out_dim) == 2 and not out_dim[1].dim_value:
            out_dim[1].Clear()
            out_dim[1].dim_value = int(emb_dim)
        if fp16:
            weights_to_fp16(m)
        for stale in (path, os.path.join(out_dir, data_name)):
            if os.path.exists(stale):
                os.remove(stale)
        if share_with is not None and reference_shared_weights(m, share_with):
            onnx.save(m, path)  # weights stay in the other encoder's data file
            del m
            onnx.checker.check_model(path)
            return onnx.load(path, load_external_data=False)
        save_graph(m, path)
        del m
    onnx.checker.check_model(path)  # by path: works for > 2 GB models too
    return onnx.load(path, load_external_data=False)


def save_graph(m: onnx.ModelProto, path: str) -> None:
    """Writes one file, or the graph plus all its weights in one <path>.data when they pass protobuf's 2 GB."""
    data = path + ".data"
    if os.path.exists(data):
        os.remove(data)
    if sum(t.ByteSize() for t in m.graph.initializer) < TWO_GB - EXTERNAL_MARGIN:
        onnx.save(m, path)
    else:
        onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=os.path.basename(data), size_threshold=1024)


def reference_shared_weights(m: onnx.ModelProto, other_path: str) -> bool:
    """When the encoder at `other_path` keeps its weights in an external-data file, points every
    initializer of `m` with the same bytes there instead of writing them again (ImageBind's video
    graph runs the vision encoder's 2.5 GB of weights). Returns whether the rest fits one file."""
    other = onnx.load(other_path, load_external_data=False)
    base = os.path.dirname(os.path.abspath(other_path))
    by_size = {}
    for t in other.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            info = {e.key: e.value for e in t.external_data}
            by_size.setdefault((t.data_type, tuple(t.dims)), []).append(info)
    if not by_size:
        return False
    files = {}
    for t in m.graph.initializer:
        if not t.HasField("raw_data"):
            continue
        for info in by_size.get((t.data_type, tuple(t.dims)), []):
            fh = files.get(info["location"]) or files.setdefault(info["location"], open(os.path.join(base, info["location"]), "rb"))
            fh.seek(int(info.get("offset", 0)))
            if fh.read(int(info["length"])) == t.raw_data:
                t.ClearField("raw_data")
                t.data_location = onnx.TensorProto.EXTERNAL
                del t.external_data[:]
                for k in ("location", "offset", "length"):
                    if k in info:
                        t.external_data.add(key=k, value=info[k])
                break
    for fh in files.values():
        fh.close()
    return sum(t.ByteSize() for t in m.graph.initializer) < TWO_GB - EXTERNAL_MARGIN


def video_preprocess(vision: dict) -> dict:
    """The manifest's video parameters: the vision normalisation plus ImageBind's clip sampling."""
    return {"size": vision["size"], "mean": vision["mean"], "std": vision["std"], "frames": 2,
            "clip_duration_s": 2.0, "clips_per_video": VIDEO_CLIPS, "crops": VIDEO_CROPS}


def weights_to_fp16(m: onnx.ModelProto, min_elements: int = 64) -> int:
    """Stores every float32 initializer of at least `min_elements` values as float16, read back through
    a Cast to float32: the file halves, inputs and outputs stay float32, any runtime runs the graph
    (TensorRT builds its fp16 engine from it; ONNX Runtime on CPU computes in float32 with the rounded
    weights, which is what parity measures). Returns the number of initializers converted."""
    from onnx import numpy_helper
    casts, converted = [], 0
    for init in m.graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT or int(np.prod(init.dims)) < min_elements:
            continue
        w = numpy_helper.to_array(init)
        if np.abs(w).max(initial=0.0) > np.finfo(np.float16).max:
            continue  # would overflow to inf: keep float32
        name = init.name
        half = numpy_helper.from_array(w.astype(np.float16), name + "_fp16")
        init.CopyFrom(half)
        casts.append(onnx.helper.make_node("Cast", [name + "_fp16"], [name], to=onnx.TensorProto.FLOAT,
                                           name=name + "_to_fp32"))
        converted += 1
    for i, node in enumerate(casts):
        m.graph.node.insert(i, node)
    return converted


def package_file_bytes(out_dir: str, file: str) -> int:
    """Bytes of an ONNX file plus its external-data files."""
    total = os.path.getsize(os.path.join(out_dir, file))
    m = onnx.load(os.path.join(out_dir, file), load_external_data=False)
    seen = set()
    for t in m.graph.initializer:
        if t.data_location == onnx.TensorProto.EXTERNAL:
            loc = next(e.value for e in t.external_data if e.key == "location")
            if loc not in seen:
                seen.add(loc)
                total += os.path.getsize(os.path.join(out_dir, loc))
    return total


def describe_graph(m: onnx.ModelProto):
    def dims(vi):
        return [d.dim_param if d.dim_param else d.dim_value for d in vi.type.tensor_type.shape.dim]
    inp = [(i.name, dims(i), i.type.tensor_type.elem_type) for i in m.graph.input]
    out = [(o.name, dims(o), o.type.tensor_type.elem_type) for o in m.graph.output]
    return inp, out


def _cli_has_models_check() -> bool:
    """Cheap look before paying for a `dotnet run` build: does the CLI source mention the command?"""
    for root, _, files in os.walk(CSHARP_CLI):
        if "/bin" in root or "/obj" in root:
            continue
        for f in files:
            if f.endswith(".cs"):
                text = open(os.path.join(root, f), encoding="utf-8", errors="replace").read()
                if '"models"' in text and '"check"' in text:
                    return True
    return False


def run_csharp_check(out_dir: str, timeout: int = 900) -> int | None:
    if not os.path.isdir(CSHARP_CLI) or shutil.which("dotnet") is None or not _cli_has_models_check():
        print(f"parity: the C# `models check` command is not available yet; run "
              f"`dotnet run --project {CSHARP_CLI} -- models check {os.path.abspath(out_dir)}` once it exists "
              f"(expects cosine >= 0.9999 for every row of parity/<modality>.expected.npy)")
        return None
    cmd = ["dotnet", "run", "--project", CSHARP_CLI, "--", "models", "check", os.path.abspath(out_dir)]
    print("parity:", " ".join(cmd), flush=True)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        print("parity: C# check timed out; run it by hand")
        return None
    print(p.stdout)
    if p.returncode != 0:
        print(p.stderr[-3000:])
        if "models" in (p.stdout + p.stderr) and ("Unknown" in p.stdout + p.stderr or "unknown" in p.stdout + p.stderr):
            print(f"parity: `models check` is not implemented yet; run `dotnet run --project {CSHARP_CLI} -- models check {out_dir}` later")
    return p.returncode


def export_package(model: nn.Module, out_dir: str, *, merges: int, vocab: str | None, vocab_name: str,
                   name: str, version: str, license: str, description: str, preprocess: dict,
                   evaluation: dict | None = None, real_inputs: dict | None = None, opset: int = 14,
                   modalities=None, clips: dict | None = None, parity: bool = True, numpy_check: bool = True,
                   fp16: bool = False, video: bool = False) -> dict:
    os.makedirs(out_dir, exist_ok=True)
    model.eval()
    gen = torch.Generator().manual_seed(1234)
    modalities = modalities or [m for m in MODALITIES if m in model.modality_preprocessors] + (["video"] if video else [])
    manifest_mods = {}
    checks = []
    emb_dim = None
    if parity:
        os.makedirs(os.path.join(out_dir, "parity"), exist_ok=True)
    for m in modalities:
        enc = ModalityEncoder(model, SOURCE.get(m, m)).eval()
        sample = random_input(m, 2, gen, merges)
        if real_inputs is not None and m in real_inputs:
            real = torch.as_tensor(np.asarray(real_inputs[m]))[:1]
            sample = torch.cat([sample[:1], real.to(sample.dtype)], 0)
        path = os.path.join(out_dir, f"{m}.onnx")
        with torch.no_grad():
            expected = enc(sample)
            onx = export_modality(enc, m, path, opset, sample, int(expected.shape[1]), fp16=fp16,
                                  share_with=os.path.join(out_dir, f"{SOURCE[m]}.onnx") if m in SOURCE else None)
        emb_dim = int(expected.shape[1])
        checks.append((m, sample.numpy(), expected.numpy()))
        inp, out = describe_graph(onx)
        assert inp[0][0] == m and out[0][0] == "embedding", (inp, out)
        if parity:
            np.save(os.path.join(out_dir, "parity", f"{m}.input.npy"), sample.numpy())
            np.save(os.path.join(out_dir, "parity", f"{m}.expected.npy"), expected.numpy().astype(np.float32))
        manifest_mods[m] = {
            "file": f"{m}.onnx",
            "input": {"name": m, "shape": [-1] + INPUT_SHAPES[m], "dtype": "int64" if m == "text" else "float32"},
            "output": {"name": "embedding", "shape": [-1, emb_dim], "dtype": "float32"},
            "normalized": True,
            "logit_scale": round(enc.logit_scale, 6),
            "clips": (clips or {}).get(m, {"audio": 3, "video": VIDEO_CLIPS * VIDEO_CROPS}.get(m, 1)),
            "preprocess": preprocess[m] if m != "video" else video_preprocess(preprocess["vision"]),
        }
        if fp16:
            manifest_mods[m]["weights"] = "float16"
        size = package_file_bytes(out_dir, f"{m}.onnx")
        print(f"exported {m}: {size / 1e6:.2f} MB{' (fp16 weights)' if fp16 else ''} "
              f"(graph and weights), logit_scale {enc.logit_scale:.4f}", flush=True)
        del enc, onx
    if vocab:
        shutil.copyfile(vocab, os.path.join(out_dir, vocab_name))
    manifest = {
        "schema": "edgebind-model/1",
        "name": name, "version": version, "license": license, "description": description,
        "embedding_dim": emb_dim,
        "tokenizer": {"type": "clip-bpe", "vocab": vocab_name, "merges": int(merges), "context_length": 77},
        "modalities": manifest_mods,
        "evaluation": evaluation or {},
    }
    # the manifest is written before any check: a check that cannot run must not cost the package
    with open(os.path.join(out_dir, "edgebind-model.json"), "w") as fh:
        json.dump(manifest, fh, indent=2)
        fh.write("\n")
    total = sum(package_file_bytes(out_dir, e["file"]) for e in manifest_mods.values())
    print(f"package: {out_dir}, {total / 1e9:.2f} GB of encoders", flush=True)
    numpy_results = {}
    if numpy_check:
        for m, x, expected in checks:
            numpy_results[m] = numpy_parity(os.path.join(out_dir, f"{m}.onnx"), m, x, expected)
        print("NumPy reference evaluation of the ONNX graphs (batch 2 parity inputs, then batch 3); "
              "ONNX Runtime's `edgebind models check` is the check that decides:")
        print("| modality | min cosine b=2 | min cosine b=3 | max abs diff |")
        for m, r in numpy_results.items():
            if "skipped" in r:
                print(f"| {m} | skipped: {r['skipped']} | | |")
            else:
                print(f"| {m} | {r['cos2']:.7f} | {r['cos3']:.7f} | {r['maxabs']:.2e} |")
    manifest["_numpy_parity"] = numpy_results
    return manifest


def numpy_parity(path: str, modality: str, x: np.ndarray, expected: np.ndarray) -> dict:
    """Runs the ONNX graph with tools/export/onnx_numpy.py (no onnxruntime in Python). It covers the
    operators EdgeBind-tiny uses; any failure (an operator or attribute outside that subset, memory)
    is reported as skipped with its reason and never stops the export."""
    import onnx_numpy
    try:
        g = onnx.load(path)
        y2 = onnx_numpy.run(g, {modality: x})[0]
        y3 = onnx_numpy.run(g, {modality: np.concatenate([x, x[:1]])})[0]
        return {"cos2": float(onnx_numpy.cosine_rows(y2, expected).min()),
                "cos3": float(onnx_numpy.cosine_rows(y3[:2], expected).min()),
                "maxabs": float(np.abs(y2 - expected).max())}
    except Exception as e:  # noqa: BLE001 - a reference check that cannot run is reported, not fatal
        reason = f"{type(e).__name__}: {e}".splitlines()[0][:200]
        print(f"numpy parity skipped for {modality}: {reason}", flush=True)
        return {"skipped": reason}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", choices=sorted(PRESETS), default="edgebind-tiny")
    ap.add_argument("--ckpt", help="state dict (.pt/.pth); required for edgebind-tiny; for imagebind, without it the weights are random")
    ap.add_argument("--model-args", default=None,
                    help="imagebind: JSON object of ImageBindModel constructor arguments, over imagebind_huge's "
                         f"({json.dumps(IMAGEBIND_HUGE_ARGS)}), e.g. '{{\"out_embed_dim\": 128, \"vision_embed_dim\": 192}}'")
    ap.add_argument("--no-video", action="store_true",
                    help="imagebind: leave out video.onnx (2-frame clips [N,3,2,224,224] through the vision encoder)")
    ap.add_argument("--fp16", action="store_true",
                    help="store weights as float16 (half the size; inputs, outputs and parity fixtures stay float32)")
    ap.add_argument("--vocab", required=True, help="CLIP-format BPE vocabulary (.txt.gz)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--evaluation", help="JSON file whose content becomes the manifest's evaluation table")
    ap.add_argument("--real-inputs", help=".npz with one real preprocessed input per modality ([1,...] each)")
    ap.add_argument("--opset", type=int, default=14)
    ap.add_argument("--version", default=None)
    ap.add_argument("--no-csharp-check", action="store_true")
    ap.add_argument("--no-numpy-check", action="store_true", help="skip the NumPy evaluation of the graphs (slow for huge models)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    preset = PRESETS[args.preset]
    model_args = None
    if args.model_args:
        if args.preset != "imagebind":
            raise SystemExit("--model-args applies to --preset imagebind")
        try:
            model_args = json.loads(args.model_args)
        except json.JSONDecodeError as e:
            raise SystemExit(f"--model-args: not valid JSON ({e}): {args.model_args!r}") from e
        if not isinstance(model_args, dict):
            raise SystemExit(f"--model-args: expected a JSON object of constructor arguments, found {args.model_args!r}")
    if args.preset == "edgebind-tiny" and not args.ckpt:
        raise SystemExit("--ckpt is required for --preset edgebind-tiny")
    model, info = load_model(args.preset, args.ckpt, model_args)
    merges = info["merges"]
    pre = tiny_preprocess() if args.preset == "edgebind-tiny" else default_preprocess(preset["preprocess"])
    evaluation = json.load(open(args.evaluation)) if args.evaluation else None
    real = dict(np.load(args.real_inputs)) if args.real_inputs else None
    export_package(model, args.out, merges=merges, vocab=args.vocab, vocab_name=preset["vocab_name"],
                   name=preset["name"], version=args.version or preset["version"], license=preset["license"],
                   description=preset["description"], preprocess=pre, evaluation=evaluation, real_inputs=real,
                   opset=args.opset, numpy_check=not args.no_numpy_check, fp16=args.fp16,
                   video=args.preset == "imagebind" and not args.no_video)
    if args.no_csharp_check:
        print(f"parity: fixtures in {args.out}/parity; check with `dotnet run --project {CSHARP_CLI} -- models check {args.out}` (cosine >= 0.9999 each)")
    else:
        run_csharp_check(args.out)


if __name__ == "__main__":
    main()
