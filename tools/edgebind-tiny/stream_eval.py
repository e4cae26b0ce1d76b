"""Per-window accuracy of EdgeBind-tiny on rendered streams (the demo scenario and other layouts/seeds).

    python3 tools/edgebind-tiny/stream_eval.py --ckpt /tmp/edgebind-tiny/edgebind_tiny.pt --out stream_eval.json
    python3 tools/edgebind-tiny/stream_eval.py --write-layouts     # (re)writes layouts/scenario-*.json
    python3 tools/edgebind-tiny/stream_eval.py --write-eval-set /tmp/edgebind-tiny-stream-eval
        # stream windows of four calibration scenarios (other seeds and layouts than the four above) as files in
        # the layout of models/edgebind-tiny-eval, for `edgebind models calibrate DIR --eval DIR`

Held-out zero-shot (evaluate.py) scores one rendered sample per concept at the encoder's own resolution. A
stream is harder: thermal comes from a 160x120 sensor scaled up, IMU windows (10 s, hop 2 s) straddle two
activities, depth and camera frames fall on scene changes, the video is H.264. This renders each scenario with
make_demo.py, cuts it into windows as pipelines/demo.yaml does (camera, depth, thermal: the first frame at or
after each 1 s tick; audio: 2 s windows, hop 1 s; IMU: 2000 samples at 200 Hz, hop 2 s), preprocesses them as
the runtime does (docs/DESIGN.md) and classifies each window over the 14 concept prompts plus the empty-scene
prompt (as demo.yaml's classification groups do, by argmax).

A window counts as right when the class it picks covers at least half of the window in that modality's ground
truth (or, where no class covers half, the most: a 10 s IMU window over three segments), `background` being
the class of stretches where the modality shows nothing of interest.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_demo  # noqa: E402
import preprocess as pp  # noqa: E402
import stream  # noqa: E402
import tokenizer as tk  # noqa: E402
import world  # noqa: E402
from model import EdgeBindTiny  # noqa: E402

LAYOUT_DIR = os.path.join(HERE, "layouts")
# name -> (seed base, layout file or None for the shipped layout); seed bases clear of every training,
# validation, evaluation and localisation range of world.py
SCENARIOS = {
    "demo": (world.DEMO_SEED_BASE, None),
    "scenario-a": (7_000_000, "scenario-a.json"),
    "scenario-b": (7_100_000, "scenario-b.json"),
    "scenario-c": (7_200_000, "scenario-c.json"),
}
# calibration scenarios: random layouts of these seeds (never the scored scenarios above)
CALIBRATION = {"cal-a": 7_300_000, "cal-b": 7_400_000, "cal-c": 7_500_000, "cal-d": 7_600_000}
MODALITIES = ["vision", "audio", "depth", "thermal", "imu"]
BACKGROUND = "background"


def random_layout(seed: int, duration_s: float = 90.0) -> dict:
    """Segments of 5-13 s (on half seconds, so IMU and audio windows straddle joins at every offset), mostly one
    concept in every modality, some empty (never two in a row), some where only the sound and motion or only the picture show it."""
    rng = np.random.default_rng(seed)
    segments, t, last = [], 0.0, None
    while t < duration_s - 4:
        length = float(rng.integers(10, 27)) / 2
        end = min(duration_s, t + length)
        r = rng.random()
        concept = str(rng.choice([k for k in world.CONCEPT_KEYS if k != last]))
        if r < 0.25 and segments and segments[-1]["concepts"]:
            concepts = {}
        elif r < 0.8:
            concepts = {"all": concept}
        elif r < 0.9:
            concepts = {"audio": concept, "imu": concept}
        else:
            concepts = {"vision": concept, "depth": concept, "thermal": concept}
        if concepts:
            last = concept
        segments.append({"start_s": t, "end_s": end, "concepts": concepts})
        t = end
    segments[-1]["end_s"] = duration_s
    return {"segments": segments}


def write_layouts():
    os.makedirs(LAYOUT_DIR, exist_ok=True)
    for k, (name, (base, file)) in enumerate(SCENARIOS.items()):
        if file is None:
            continue
        with open(os.path.join(LAYOUT_DIR, file), "w") as fh:
            json.dump(random_layout(base + k, 90.0), fh, indent=1)
            fh.write("\n")
        print("wrote", os.path.join(LAYOUT_DIR, file))


def scenario(name: str) -> make_demo.Scenario:
    if name in CALIBRATION:
        base = CALIBRATION[name]
        return make_demo.Scenario(make_demo.parse_layout(random_layout(base, 90.0), name), base)
    base, file = SCENARIOS[name]
    segments = None if file is None else make_demo.load_layout(os.path.join(LAYOUT_DIR, file))
    return make_demo.Scenario(segments, base)


def render(name: str, cache: str) -> tuple[make_demo.Scenario, str]:
    sc = scenario(name)
    out = os.path.join(cache, f"{name}-{sc.seed_base}")
    if not os.path.exists(os.path.join(out, "timeline.json")):
        make_demo.render(sc, out)
    return sc, out


def coverage(sc: make_demo.Scenario, modality: str, a: float, b: float) -> dict[str, float]:
    """Fraction of [a, b] (a point when a == b) each class covers in `modality`."""
    if b <= a:
        _, c = make_demo.segment_at(sc, a)
        return {c.get(modality, BACKGROUND): 1.0}
    out: dict[str, float] = {}
    for s, e, c in sc.segments:
        o = min(b, e) - max(a, s)
        if o > 0:
            k = c.get(modality, BACKGROUND)
            out[k] = out.get(k, 0.0) + o / (b - a)
    return out


def right(pred: str, cov: dict[str, float]) -> bool:
    return cov.get(pred, 0.0) >= min(0.5, max(cov.values())) - 1e-9


def write_eval_set(out: str, names: list[str], cache: str) -> None:
    """Each window of each scenario as a runtime input file, labelled by the class that covers at least half of it
    (windows without one are left out); files of one scenario second share a seed (one moment, several sensors)."""
    from PIL import Image
    from scipy.io import wavfile
    for m in MODALITIES:
        os.makedirs(os.path.join(out, m), exist_ok=True)
    files = []
    for k, name in enumerate(names):
        sc, folder = render(name, cache)
        raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", os.path.join(folder, "video.mp4"), "-f", "rawvideo",
                              "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
        frames = np.frombuffer(raw, np.uint8).reshape(-1, 224, 224, 3)
        _, pcm = wavfile.read(os.path.join(folder, "audio.wav"))
        with open(os.path.join(folder, "imu.csv")) as fh:
            imu_lines = fh.read().splitlines()

        def add(m, a, b, write, ext):
            cov = coverage(sc, m, a, b)
            label, share = max(cov.items(), key=lambda kv: kv[1])
            if share < 0.5:
                return
            rel = f"{m}/{name}_{a:07.2f}.{ext}"
            write(os.path.join(out, rel))
            files.append({"path": rel, "modality": m, "concept": label, "seed": k * 100000 + int(round((a + b) / 2)),
                          "window_s": [a, b]})

        for i in range(0, len(frames), make_demo.VIDEO_FPS):
            t = i / make_demo.VIDEO_FPS
            add("vision", t, t, lambda p, i=i: Image.fromarray(frames[i]).save(p), "png")
        for i in range(0, int(sc.duration * make_demo.DEPTH_FPS), make_demo.DEPTH_FPS):
            t = i / make_demo.DEPTH_FPS
            src = os.path.join(folder, "depth", f"{i:06d}.png")
            add("depth", t, t, lambda p, src=src: shutil.copyfile(src, p), "png")
        for i in range(int(sc.duration * make_demo.THERMAL_FPS)):
            src = os.path.join(folder, "thermal", f"{i:06d}.npy")
            add("thermal", float(i), float(i), lambda p, src=src: shutil.copyfile(src, p), "npy")
        sr = world.SR
        for s in range(0, len(pcm) - 2 * sr + 1, sr):
            add("audio", s / sr, s / sr + 2, lambda p, s=s: wavfile.write(p, sr, pcm[s:s + 2 * sr]), "wav")
        for s in range(0, len(imu_lines) - 1 - world.IMU_SAMPLES + 1, 2 * world.IMU_RATE):
            rows = imu_lines[1 + s:1 + s + world.IMU_SAMPLES]
            add("imu", s / world.IMU_RATE, (s + world.IMU_SAMPLES) / world.IMU_RATE,
                lambda p, rows=rows: open(p, "w").write(imu_lines[0] + "\n" + "\n".join(rows) + "\n"), "csv")
    concepts = [{"key": world.CONCEPT_KEYS[i], "prompt": world.zero_shot_prompt(i)} for i in range(world.NUM_CONCEPTS)]
    concepts.append({"key": BACKGROUND, "prompt": world.BACKGROUND_PROMPT})
    index = {"description": "Stream windows of EdgeBind-tiny calibration scenarios " + ", ".join(names) +
             " (make_demo.py renders, cut as pipelines/demo.yaml windows them; written by stream_eval.py --write-eval-set). "
             "A file's concept covers at least half of its window; files with one seed show one scenario second.",
             "concepts": concepts, "files": files}
    with open(os.path.join(out, "index.json"), "w") as fh:
        json.dump(index, fh, indent=1)
        fh.write("\n")
    print(f"{len(files)} windows written to {out}")


def windows(sc: make_demo.Scenario, folder: str) -> dict[str, tuple[np.ndarray, list[tuple[float, float]]]]:
    """modality -> (preprocessed tensors [N,...], [(start_s, end_s)] of the ground truth each window covers)."""
    out = {}
    dur = sc.duration
    # camera: decode the H.264 file as the runtime does (every frame), keep the frame of each 1 s tick
    raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", os.path.join(folder, "video.mp4"), "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, 224, 224, 3)
    ticks = list(range(0, len(frames), make_demo.VIDEO_FPS))
    out["vision"] = (np.stack([pp.vision_tensor(frames[i]) for i in ticks]), [(i / make_demo.VIDEO_FPS,) * 2 for i in ticks])
    # depth 2 fps -> the frame of each whole second
    n_depth = int(dur * make_demo.DEPTH_FPS)
    idx = list(range(0, n_depth, make_demo.DEPTH_FPS))
    out["depth"] = (np.stack([pp.depth_tensor(pp.read_depth_png16(os.path.join(folder, "depth", f"{i:06d}.png"))) for i in idx]),
                    [(i / make_demo.DEPTH_FPS,) * 2 for i in idx])
    # thermal 1 fps, 160x120 degrees C: short side to 224 (antialiased bicubic on [0,1] values), centre crop
    tens, spans = [], []
    for i in range(int(dur * make_demo.THERMAL_FPS)):
        t = np.load(os.path.join(folder, "thermal", f"{i:06d}.npy"))
        x = np.clip((t - pp.THERMAL_MIN_C) / (pp.THERMAL_MAX_C - pp.THERMAL_MIN_C), 0.0, 1.0)
        x = stream.short_side_crop(x.astype(np.float32), 224, "bicubic")
        tens.append(((x - pp.THERMAL_MEAN) / pp.THERMAL_STD)[None].astype(np.float32))
        spans.append((float(i), float(i)))
    out["thermal"] = (np.stack(tens), spans)
    # audio: 2 s windows, hop 1 s, one clip each
    wave, sr = pp.read_wav_file(os.path.join(folder, "audio.wav"))
    tens, spans = [], []
    s = 0
    while s + 2 * sr <= len(wave):
        tens.append(pp.audio_clip_tensor(wave[s:s + 2 * sr]))
        spans.append((s / sr, s / sr + 2.0))
        s += sr
    out["audio"] = (np.stack(tens), spans)
    # IMU: 2000 samples (10 s), hop 2 s
    imu = pp.read_imu_csv(os.path.join(folder, "imu.csv"))[:, 1:].astype(np.float32)  # uniform 200 Hz: drop t
    tens, spans = [], []
    s = 0
    while s + world.IMU_SAMPLES <= len(imu):
        tens.append(pp.imu_tensor(imu[s:s + world.IMU_SAMPLES]))
        spans.append((s / world.IMU_RATE, (s + world.IMU_SAMPLES) / world.IMU_RATE))
        s += 2 * world.IMU_RATE
    out["imu"] = (np.stack(tens), spans)
    return out


@torch.no_grad()
def evaluate(model: EdgeBindTiny, tok, names: list[str], cache: str) -> dict:
    classes = list(world.CONCEPT_KEYS) + [BACKGROUND]
    prompts = world.zero_shot_prompts() + [world.BACKGROUND_PROMPT]
    text = model.encode("text", torch.tensor(tok(prompts), dtype=torch.long))
    result = {}
    for name in names:
        sc, folder = render(name, cache)
        per = {}
        for m, (x, spans) in windows(sc, folder).items():
            e = torch.cat([model.encode(m, torch.from_numpy(np.ascontiguousarray(x[i:i + 64], np.float32)))
                           for i in range(0, len(x), 64)])
            pred = (e @ text.t()).argmax(1).numpy()
            ok = [right(classes[p], coverage(sc, m, a, b)) for p, (a, b) in zip(pred, spans)]
            per[m] = {"right": int(sum(ok)), "windows": len(ok), "accuracy": round(float(np.mean(ok)), 4)}
        result[name] = per
        print(name, {m: v["accuracy"] for m, v in per.items()}, flush=True)
    return result


def load_model(ckpt: str) -> EdgeBindTiny:
    ck = torch.load(ckpt, map_location="cpu")
    model = EdgeBindTiny(ck["cfg"])
    model.load_state_dict(ck["state_dict"])
    return model.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt")
    ap.add_argument("--vocab", default=os.path.join(HERE, "..", "..", "models", "edgebind-tiny", "bpe_edgebind_tiny.txt.gz"))
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--cache", default="/tmp/edgebind-tiny-streams")
    ap.add_argument("--out")
    ap.add_argument("--write-layouts", action="store_true")
    ap.add_argument("--write-eval-set", metavar="DIR", help="write the calibration scenarios' windows as an evaluation set")
    args = ap.parse_args()
    if args.write_layouts:
        write_layouts()
        return
    if args.write_eval_set:
        write_eval_set(args.write_eval_set, list(CALIBRATION), args.cache)
        return
    if not args.ckpt:
        ap.error("--ckpt is required")
    torch.set_num_threads(1)
    res = evaluate(load_model(args.ckpt), tk.Tokenizer(args.vocab), args.scenarios.split(","), args.cache)
    total = {}
    for m in MODALITIES:
        r = sum(res[n][m]["right"] for n in res)
        w = sum(res[n][m]["windows"] for n in res)
        total[m] = {"right": r, "windows": w, "accuracy": round(r / w, 4)}
    res["all"] = total
    print("all", {m: v["accuracy"] for m, v in total.items()}, flush=True)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(res, fh, indent=1)
            fh.write("\n")


if __name__ == "__main__":
    main()
