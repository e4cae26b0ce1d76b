#!/usr/bin/python3
"""The pipeline a user would write in Python instead of EdgeBind, for `edgebind bench scale --command`.

It does the work of an EdgeBind pipeline file (e.g. pipelines/demo.yaml) for N rigs at real-time pacing, the
way ImageBind's data loaders do it: PIL + torchvision transforms for images, torchaudio for audio (Kaldi fbank,
ImageBind's loader arithmetic; parameters from docs/DESIGN.md and the model manifest), plain torch for depth,
thermal and IMU; EdgeBind-tiny in PyTorch eager (tools/edgebind-tiny/model.py), one batch per modality per
pass as ImageBind's `model({modality: batch})` does; cosine against the file's queries; events printed as JSON
lines. One process, torch threads = cores. Written from the parameters, not copied from ImageBind.

Weights: the .pt checkpoint is not committed (tools/edgebind-tiny/.gitignore), so they are read from the
committed ONNX package (models/edgebind-tiny/*.onnx): named initializers by name, the exporter's anonymous
MatMul weights (transposed) and BatchNorm-folded convolutions in graph order; `--check` compares every
encoder with the ONNX graph (tools/export/onnx_numpy.py) on random input.

Usage (one rung; prints one JSON measurement on the last stdout line, in `bench scale`'s format):
  /usr/bin/python3 tools/bench/python_pipeline.py pipelines/demo.yaml --rigs 2 --duration 30 --warmup 5
  /usr/bin/python3 tools/bench/python_pipeline.py pipelines/demo.yaml --check
The ladder: edgebind bench scale pipelines/demo.yaml --command "/usr/bin/python3 tools/bench/python_pipeline.py"
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import resource
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn.functional as F
import torchaudio
import torchvision.transforms as T
import yaml
from onnx import numpy_helper
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "edgebind-tiny"))
sys.path.insert(0, os.path.join(ROOT, "tools", "export"))
from model import ConvPatchStem, EdgeBindTiny  # noqa: E402
from tokenizer import Tokenizer  # noqa: E402

ENCODERS = ["vision", "audio", "depth", "thermal", "imu", "text"]
FRAME_MODALITIES = {"vision", "depth", "thermal"}


# --- weights -----------------------------------------------------------------------------------

def model_from_onnx(package: str) -> EdgeBindTiny:
    """EdgeBind-tiny sized as the package's graphs say (vocabulary, blocks per trunk), with their weights."""
    depth, vocab, convs = {}, None, 0
    for m in ENCODERS:
        graph = onnx.load(os.path.join(package, f"{m}.onnx"), load_external_data=False).graph
        blocks = {int(i.name.split(".")[2]) for i in graph.initializer if i.name.startswith("trunk.blocks.")}
        depth[m] = max(blocks) + 1
        for i in graph.initializer:
            if i.name == "pre.token_embedding.weight":
                vocab = i.dims[0]
        if m == "vision":
            convs = sum(1 for n in graph.node if n.op_type == "Conv")
    layout = {len(spec): name for name, spec in ConvPatchStem.LAYOUTS.items()}.get(convs, "patch")
    model = EdgeBindTiny({"depth": depth, "vocab_size": vocab, "vision_stem": layout})
    load_weights_from_onnx(model, package)
    return model.eval()


def load_weights_from_onnx(model: EdgeBindTiny, package: str) -> None:
    """Fills `model` from the package's ONNX encoders (see the module docstring)."""
    state = model.state_dict()
    filled = set()
    for m in ENCODERS:
        graph = onnx.load(os.path.join(package, f"{m}.onnx")).graph
        inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
        prefixes = {"pre.": f"modality_preprocessors.{m}.", "trunk.": f"modality_trunks.{m}.", "head.": f"modality_heads.{m}."}
        keys = [k for k in state if any(k.startswith(p) for p in prefixes.values())]

        def put(key, value):
            value = torch.from_numpy(np.array(value, copy=True))
            if tuple(value.shape) != tuple(state[key].shape):
                raise ValueError(f"{m}.onnx: {key} expects {tuple(state[key].shape)}, found {tuple(value.shape)}")
            state[key].copy_(value)
            filled.add(key)

        for onnx_prefix, prefix in prefixes.items():
            for k in keys:
                name = onnx_prefix + k[len(prefix):]
                if k.startswith(prefix) and name in inits:
                    put(k, inits[name])
        anonymous = [n for n in graph.node if n.op_type in ("MatMul", "Conv") and len(n.input) > 1
                     and n.input[1] in inits and n.input[1].startswith("onnx::")]
        matmuls = [inits[n.input[1]] for n in anonymous if n.op_type == "MatMul"]
        convs = [(inits[n.input[1]], inits[n.input[2]]) for n in anonymous if n.op_type == "Conv"]
        linear = [k for k in keys if k not in filled and k.endswith(".weight") and state[k].dim() == 2]
        if len(linear) != len(matmuls):
            raise ValueError(f"{m}.onnx: {len(matmuls)} anonymous MatMul weights for {len(linear)} linear layers")
        for k, w in zip(linear, matmuls):
            put(k, w.T)
        # Conv + BatchNorm folded by the exporter: the conv takes the folded weight, the norm becomes the bias alone.
        conv_keys = [k for k in keys if k not in filled and k.endswith(".weight") and state[k].dim() == 4]
        if len(conv_keys) != len(convs):
            raise ValueError(f"{m}.onnx: {len(convs)} folded convolutions for {len(conv_keys)} conv layers")
        for k, (w, b) in zip(conv_keys, convs):
            put(k, w)
            bn = k.rsplit(".", 2)[0] + "." + str(int(k.rsplit(".", 2)[1]) + 1) + "."
            eps = 1e-5
            state[bn + "weight"].fill_(1.0)
            state[bn + "bias"].copy_(torch.from_numpy(b))
            state[bn + "running_mean"].zero_()
            state[bn + "running_var"].fill_(1.0 - eps)
            filled.update(bn + s for s in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"))
    missing = [k for k in state if k not in filled and "postprocessors" not in k]
    if missing:
        raise ValueError(f"no ONNX weight for {missing[:5]}{'...' if len(missing) > 5 else ''}")
    model.load_state_dict(state)


def check_weights(model: EdgeBindTiny, package: str) -> None:
    """Eager PyTorch against the ONNX graphs (NumPy reference evaluator) on random input."""
    import onnx_numpy
    shapes = {"vision": (2, 3, 224, 224), "audio": (2, 1, 128, 204), "depth": (2, 1, 224, 224), "thermal": (2, 1, 224, 224), "imu": (2, 6, 2000)}
    g = torch.Generator().manual_seed(0)
    for m, shape in list(shapes.items()) + [("text", None)]:
        x = torch.randint(1, 300, (2, 77), generator=g) if m == "text" else torch.randn(shape, generator=g)
        with torch.inference_mode():
            mine = model.encode(m, x).numpy()
        ref = onnx_numpy.run(onnx.load(os.path.join(package, f"{m}.onnx")), {m: x.numpy()})[0]
        diff = float(np.abs(mine - ref).max())
        print(f"{m}: max |eager - onnx| = {diff:.2e}")
        if diff > 1e-3:
            raise SystemExit(f"{m}: the eager model does not reproduce {m}.onnx")


# --- the loaders' arithmetic -------------------------------------------------------------------

class Preprocess:
    """Per-modality preprocessing with the manifest's parameters (ImageBind's loaders for vision and audio)."""

    def __init__(self, manifest: dict):
        p = {m: manifest["modalities"][m]["preprocess"] for m in manifest["modalities"]}
        self.p = p
        v = p["vision"]
        self.vision = T.Compose([
            T.Resize(v["size"], interpolation=T.InterpolationMode.BICUBIC),
            T.CenterCrop(v["size"]),
            T.ToTensor(),
            T.Normalize(mean=v["mean"], std=v["std"]),
        ])

    def image(self, rgb: Image.Image) -> torch.Tensor:
        return self.vision(rgb.convert("RGB"))

    def audio(self, wave: torch.Tensor, sr: int) -> torch.Tensor:
        """One clip (channels x samples) -> [1, mel, frames], as ImageBind's audio loader does per clip."""
        a = self.p["audio"]
        if sr != a["sample_rate"]:
            wave = torchaudio.functional.resample(wave, orig_freq=sr, new_freq=a["sample_rate"])
        wave = wave - wave.mean()
        fb = torchaudio.compliance.kaldi.fbank(wave, htk_compat=True, sample_frequency=a["sample_rate"], use_energy=False,
                                               window_type="hanning", num_mel_bins=a["num_mel_bins"], dither=0.0,
                                               frame_length=25, frame_shift=10)
        fb = fb.transpose(0, 1)
        target = a["target_length"]
        fb = F.pad(fb, (0, target - fb.shape[1])) if fb.shape[1] < target else fb[:, :target]
        return ((fb - a["mean"]) / a["std"]).unsqueeze(0)

    def _short_side(self, x: torch.Tensor, size: int, mode: T.InterpolationMode, mean: float, std: float) -> torch.Tensor:
        x = T.functional.resize(x.unsqueeze(0), size, interpolation=mode, antialias=True)
        return T.functional.normalize(T.functional.center_crop(x, size), [mean], [std])

    def depth(self, metres: np.ndarray) -> torch.Tensor:
        d = self.p["depth"]
        x = torch.from_numpy(metres.astype(np.float32))
        if d.get("disparity"):
            x = d["focal_px"] * d["baseline_m"] / x
        x = x.clamp(d["min_m"], d["max_m"]) / d["max_m"]
        return self._short_side(x, d["size"], T.InterpolationMode.BILINEAR, d["mean"], d["std"])

    def thermal(self, celsius: np.ndarray) -> torch.Tensor:
        t = self.p["thermal"]
        x = ((torch.from_numpy(celsius.astype(np.float32)) - t["min"]) / (t["max"] - t["min"])).clamp(0, 1)
        return self._short_side(x, t["size"], T.InterpolationMode.BICUBIC, t["mean"], t["std"])

    def imu(self, rows: np.ndarray, end_s: float) -> torch.Tensor:
        i = self.p["imu"]
        n, rate = i["samples"], i["rate_hz"]
        grid = end_s - (n - 1 - np.arange(n)) / rate
        x = np.stack([np.interp(grid, rows[:, 0], rows[:, c]) for c in range(1, 7)]).astype(np.float32)
        return torch.from_numpy(x * np.asarray(i["scale"], np.float32)[:, None])


# --- sources: each rig reads the same files on its own clock -----------------------------------

class Video:
    """Decodes a video file in real time (PyAV, every frame, as a camera delivers them) and keeps the newest frame."""

    def __init__(self, path: str, loop: bool):
        import av
        self.av, self.path, self.loop = av, path, loop
        self.offset_s = 0.0
        self.frames = 0
        self._open()

    def _open(self):
        self.container = self.av.open(self.path)
        self.stream = self.container.streams.video[0]
        self.it = self.container.decode(self.stream)
        self.newest = None
        self.pending = None
        self.last_t = 0.0

    def advance(self, t: float):
        """Decodes every frame captured by recording time t; the newest stays in self.newest."""
        while True:
            if self.pending is None:
                try:
                    f = next(self.it)
                except StopIteration:
                    if not self.loop:
                        return
                    self.offset_s += self.last_t + float(self.stream.average_rate and 1 / self.stream.average_rate or 0)
                    self.container.close()
                    self._open()
                    continue
                self.pending = (self.offset_s + float(f.pts * self.stream.time_base), f)
            ft, f = self.pending
            if ft > t:
                return
            self.newest = f.to_image()  # decoded to RGB as a frame grabber would hand it over
            self.frames += 1
            self.last_t = ft - self.offset_s
            self.pending = None


class FrameFolder:
    """A folder of frames with timestamps.csv (frame, t_s): the newest frame at a time, opened when a window needs it."""

    def __init__(self, folder: str):
        self.folder = folder
        with open(os.path.join(folder, "timestamps.csv"), newline="") as fh:
            rows = list(csv.DictReader(fh))
        self.files = [r["frame"] for r in rows]
        self.times = np.array([float(r["t_s"]) for r in rows])
        self.length = float(self.times[-1] + (self.times[-1] - self.times[-2] if len(self.times) > 1 else 1.0))

    def at(self, t: float) -> str:
        t = t % self.length
        i = max(0, int(np.searchsorted(self.times, t, side="right")) - 1)
        return os.path.join(self.folder, self.files[i])


class Rig:
    """One copy of the pipeline's sources, started `delay_s` after the others."""

    def __init__(self, sources: list, start_s: float):
        self.start_s = start_s
        self.videos, self.audio, self.folders, self.imu = {}, {}, {}, {}
        for s in sources:
            o, kind = s["options"], s["type"]
            if kind in ("camera.file", "camera.file.video"):
                self.videos[s["id"]] = Video(o["path"], loop=True)
            elif kind == "audio.wav":
                wave, sr = torchaudio.load(o["path"])  # float in [-1, 1], as ImageBind's loader reads audio
                self.audio[s["id"]] = (wave, sr)
            elif kind in ("depth.files", "thermal.files"):
                self.folders[s["id"]] = FrameFolder(o["path"])
            elif kind == "imu.file":
                with open(o["path"], newline="") as fh:
                    rows = np.array(list(csv.reader(fh))[1:], dtype=np.float64)
                self.imu[s["id"]] = rows
            else:
                raise SystemExit(f"source '{s['id']}': type {kind} is not supported by this script")


# --- the run -----------------------------------------------------------------------------------

def load_pipeline(path: str):
    with open(path) as fh:
        spec = yaml.safe_load(fh)
    base = os.path.dirname(os.path.abspath(path))
    for s in spec["sources"]:
        if "path" in s.get("options", {}):
            s["options"]["path"] = os.path.normpath(os.path.join(base, s["options"]["path"]))
    model_dir = os.path.normpath(os.path.join(base, spec["model"]["path"]))
    for q in spec.get("queries", []):
        for k in ("audio", "image"):
            if k in q:
                q[k] = os.path.normpath(os.path.join(base, q[k]))
    return spec, model_dir


MODALITY_OF = {"camera.file": "vision", "camera.file.video": "vision", "audio.wav": "audio", "depth.files": "depth",
               "thermal.files": "thermal", "imu.file": "imu"}


def windows_of(spec: dict) -> dict:
    """Per source: (modality, hop_s, window length_s)."""
    w = spec.get("windows", {})
    out = {}
    for s in spec["sources"]:
        m = MODALITY_OF.get(s["type"], "?")
        o = w.get(m, {})
        if m == "audio":
            out[s["id"]] = (m, float(o.get("hop_s", 0.5)), float(o.get("length_s", 2.0)))
        elif m == "imu":
            out[s["id"]] = (m, float(o.get("hop_s", 2.5)), int(o.get("samples", 2000)) / float(o.get("rate_hz", 200)))
        else:
            out[s["id"]] = (m, float(o.get("every_ms", 500)) / 1000, 0.0)
    return out


def embed_queries(model, spec, model_dir, pre, manifest):
    tok = Tokenizer(os.path.join(model_dir, manifest["tokenizer"]["vocab"]), context_length=manifest["tokenizer"]["context_length"])
    ids, rows = [], []
    with torch.inference_mode():
        for q in spec.get("queries", []):
            if "text" in q:
                e = model.encode("text", torch.tensor(tok([q["text"]]), dtype=torch.long))[0]
            elif "audio" in q:
                # file mode: clips of 2 s evenly spaced over the file, embeddings averaged (ImageBind's audio loader)
                wave, sr = torchaudio.load(q["audio"])
                a = manifest["modalities"]["audio"]["preprocess"]
                wave = torchaudio.functional.resample(wave, sr, a["sample_rate"]) if sr != a["sample_rate"] else wave
                n, clips = int(a["clip_duration_s"] * a["sample_rate"]), a["clips_per_file"]
                span = max(wave.shape[1] - n, 0)
                starts = [round(span * i / (clips - 1)) for i in range(clips)]
                e = model.encode("audio", torch.stack([pre.audio(wave[:, s:s + n], a["sample_rate"]) for s in starts])).mean(0)
            elif "image" in q:
                e = model.encode("vision", pre.image(Image.open(q["image"]))[None])[0]
            else:
                continue
            ids.append(q["id"])
            rows.append(F.normalize(e, dim=-1))
    return ids, torch.stack(rows)


def rss_mb(field="VmRSS"):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))]


OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-pthread"


def use_openblas() -> None:
    """Debian's torch calls whatever libblas.so.3 the alternatives system points at; a user with OpenBLAS installed
    gets it (its priority is highest), but this machine's link was set by hand to the reference BLAS. Run again
    with OpenBLAS first on the library path, leaving the system's setting alone."""
    if os.path.isdir(OPENBLAS) and os.environ.get("EDGEBIND_BENCH_BLAS") is None:
        env = dict(os.environ, EDGEBIND_BENCH_BLAS="openblas",
                   LD_LIBRARY_PATH=OPENBLAS + (":" + os.environ["LD_LIBRARY_PATH"] if os.environ.get("LD_LIBRARY_PATH") else ""))
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


def blas_loaded() -> str:
    """The BLAS library mapped into this process (what torch's matmuls run on)."""
    with open("/proc/self/maps") as fh:
        libs = {line.split()[-1] for line in fh if "blas" in line.split()[-1]}
    return ", ".join(sorted(libs)) or "none mapped"


def json_numbers(value):
    """NaN and infinities as the strings .NET's JSON reader accepts ("NaN", "Infinity"); bare NaN is not JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: json_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_numbers(v) for v in value]
    return value


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pipeline")
    ap.add_argument("--rigs", type=int, default=1)
    ap.add_argument("--duration", type=float, default=30)
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--aligned", action="store_true", help="start every rig together instead of spreading them over one hop")
    ap.add_argument("--idle", action="store_true", help="open every source but start no rig within the run (nothing due)")
    ap.add_argument("--check", action="store_true", help="compare the eager model with the ONNX graphs and exit")
    ap.add_argument("--system-blas", action="store_true", help="use the libblas.so.3 the system points at instead of OpenBLAS")
    args = ap.parse_args()
    if not args.system_blas:
        use_openblas()
    if args.rigs <= 0 or not args.duration > args.warmup + 1:
        raise SystemExit("--rigs must be positive and --duration at least 1 s longer than --warmup")

    threads = os.cpu_count() or 1
    torch.set_num_threads(threads)
    spec, model_dir = load_pipeline(args.pipeline)
    with open(os.path.join(model_dir, "edgebind-model.json")) as fh:
        manifest = json.load(fh)
    model = model_from_onnx(model_dir)
    if args.check:
        check_weights(model, model_dir)
        return
    pre = Preprocess(manifest)
    query_ids, queries = embed_queries(model, spec, model_dir, pre, manifest)
    enter = float(spec.get("events", {}).get("enter", 0.3))
    exit_ = float(spec.get("events", {}).get("exit", enter - 0.05))
    min_duration = float(spec.get("events", {}).get("min_duration_s", 0))

    wins = windows_of(spec)
    shortest_hop = min(h for _, h, _ in wins.values())
    rigs = [Rig(spec["sources"], 0.0) for _ in range(args.rigs)]
    with torch.inference_mode():
        # The first call of each encoder allocates and picks kernels; a service would have done it before its first window.
        for m, shape in {"vision": (1, 3, 224, 224), "audio": (1, 1, 128, 204), "depth": (1, 1, 224, 224), "thermal": (1, 1, 224, 224),
                         "imu": (1, 6, 2000)}.items():
            model.encode(m, torch.zeros(shape))
    t0 = time.monotonic()
    for k, rig in enumerate(rigs):
        rig.start_s = t0 + (86400 if args.idle else 0 if args.aligned else shortest_hop * k / args.rigs)
    # Next window end per (rig, source), recording seconds; a window is due when its last sample is captured.
    next_end = {(k, s["id"]): max(wins[s["id"]][1], wins[s["id"]][2]) for k in range(args.rigs) for s in spec["sources"]}
    measure_from = t0 + args.warmup
    end = t0 + args.duration
    lags = {}       # modality -> [lag ms] of windows due after the warm-up
    latencies = []
    event_lat = []
    in_interval = 0
    state = {}      # (rig, modality, query) -> (open, since_s)
    rss = []
    cpu_from = None
    next_rss = measure_from

    while True:
        now = time.monotonic()
        if cpu_from is None and now >= measure_from:
            cpu_from, wall_from = cpu_s(), now
        if now >= next_rss and now >= measure_from:
            rss.append(rss_mb())
            next_rss += 1.0
        if now >= end:
            break
        due = sorted((rigs[k].start_s + t, k, sid) for (k, sid), t in next_end.items() if rigs[k].start_s + t <= now)
        if not due:
            soonest = min(rigs[k].start_s + t for (k, _), t in next_end.items())
            # wake for the next window, the end, or the next memory sample (the first marks the warm-up's end)
            time.sleep(max(0.0, min(soonest, end, next_rss) - time.monotonic()))
            continue
        batches = {}
        for due_at, k, sid in due:
            modality, hop, _ = wins[sid]
            t = next_end[(k, sid)]
            next_end[(k, sid)] = t + hop
            rig = rigs[k]
            if modality == "vision":
                video = rig.videos[sid]
                video.advance(t)
                if video.newest is None:
                    continue
                x = pre.image(video.newest)
            elif modality == "audio":
                wave, sr = rig.audio[sid]
                length = wins[sid][2]
                total = wave.shape[1]
                stop = int(round(t * sr)) % total
                start = stop - int(round(length * sr))
                clip = wave[:, start:stop] if start >= 0 else torch.cat([wave[:, start:], wave[:, :stop]], 1)
                x = pre.audio(clip, sr)
            elif modality == "depth":
                with Image.open(rig.folders[sid].at(t)) as im:
                    x = pre.depth(np.array(im).astype(np.float32) / 1000.0)
            elif modality == "thermal":
                x = pre.thermal(np.load(rig.folders[sid].at(t)))
            else:
                rows = rig.imu[sid]
                length = rows[-1, 0] + (rows[1, 0] - rows[0, 0])
                x = pre.imu(rows, t % length) if t % length >= wins[sid][2] else pre.imu(rows, wins[sid][2])
            batches.setdefault(modality, []).append((due_at, k, t, x))
        # Rigs advance their videos between windows as a capture thread would (every frame decoded).
        for rig in rigs:
            for video in rig.videos.values():
                video.advance(time.monotonic() - rig.start_s)
        for modality, items in batches.items():
            with torch.inference_mode():
                emb = model.encode(modality, torch.stack([x for _, _, _, x in items]))
                scores = emb @ queries.T
            done = time.monotonic()
            for (due_at, k, t, _), row in zip(items, scores.tolist()):
                lag_ms = (done - due_at) * 1000
                if due_at >= measure_from:
                    lags.setdefault(modality, []).append(lag_ms)
                    latencies.append(lag_ms)
                    if due_at < end:
                        in_interval += 1
                best = max(range(len(row)), key=row.__getitem__)
                for qi, score in enumerate(row):
                    key = (k, modality, qi)
                    is_open, since = state.get(key, (False, None))
                    if not is_open and score >= enter and qi == best:
                        since = t if since is None else since
                        if t - since >= min_duration:
                            state[key] = (True, since)
                            print(json.dumps({"kind": "event", "state": "open", "query_id": query_ids[qi], "rig": k + 1,
                                              "target": modality, "score": round(score, 4), "latency_ms": round(lag_ms, 2)}), flush=True)
                            if due_at >= measure_from:
                                event_lat.append(lag_ms)
                        else:
                            state[key] = (False, since)
                    elif is_open and score < exit_:
                        state[key] = (False, None)
                    elif not is_open and score < enter:
                        state[key] = (False, None)

    wall = time.monotonic() - wall_from
    cpu = cpu_s() - cpu_from
    # Windows that fell due before the end and were never processed: work this process could not do in time.
    abandoned = sum(int((end - rigs[k].start_s - t) // wins[sid][1]) + 1 for (k, sid), t in next_end.items() if rigs[k].start_s + t <= end)
    all_lat = sorted(latencies)
    frames = sum(v.frames for r in rigs for v in r.videos.values())
    embedded = set(lags)
    lag = []
    for m in sorted(lags):
        v = sorted(lags[m])
        hop = min(h for mm, h, _ in wins.values() if mm == m)
        lag.append({"modality": m, "hop_s": hop, "windows": len(v), "p50_ms": percentile(v, 0.5), "p99_ms": percentile(v, 0.99)})
    ev = sorted(event_lat)
    print(json.dumps(json_numbers({
        "system": "python (idle)" if args.idle else "python",
        "rigs": args.rigs,
        "duration_s": args.duration,
        "warmup_s": args.warmup,
        "cpu_percent": 100 * cpu / wall,
        "rss_mb": sorted(rss)[len(rss) // 2] if rss else rss_mb(),
        "rss_peak_mb": rss_mb("VmHWM"),
        "windows_per_s": in_interval / wall,
        "expected_windows_per_s": 0 if args.idle else args.rigs * sum(1 / h for m, h, _ in wins.values() if m in embedded),
        "latency_p50_ms": percentile(all_lat, 0.5),
        "latency_p99_ms": percentile(all_lat, 0.99),
        "latency_max_ms": all_lat[-1] if all_lat else float("nan"),
        "events": len(ev),
        "event_latency_p50_ms": percentile(ev, 0.5) if ev else None,
        "event_latency_p99_ms": percentile(ev, 0.99) if ev else None,
        "lag": lag,
        "wait_drops": 0,
        "frame_drops": 0,
        "frames": frames,
        "abandoned": abandoned,
        "note": f"PyTorch {torch.__version__} eager, {threads} threads, BLAS {blas_loaded()}; Python {sys.version.split()[0]}",
    }), allow_nan=False))


if __name__ == "__main__":
    main()
