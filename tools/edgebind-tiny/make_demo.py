"""Render the demo scenario: a 100 s multimodal recording from EdgeBind-tiny's world.

    python3 tools/edgebind-tiny/make_demo.py --out pipelines/demo-scenario
    python3 tools/edgebind-tiny/make_demo.py --out /tmp/scenario-b --seed-base 3000000 --layout layout.json

Other scenarios of the same world: --seed-base picks every random draw (scenes, sounds, IMU windows, noise)
and --layout the segments (which concept each modality shows when). A layout is JSON:

    {"segments": [{"start_s": 0, "end_s": 8, "concepts": {}},
                  {"start_s": 8, "end_s": 20, "concepts": {"all": "dog"}},
                  {"start_s": 20, "end_s": 32, "concepts": {"vision": "car", "audio": "siren"}}]}

Segments are contiguous from 0 s (the last end is the duration, at most 3600 s); "concepts" maps a modality
(vision, depth, thermal, audio, imu, or all) to a concept key of the world; modalities not named show
nothing of interest. With neither option the shipped scenario renders exactly as committed.

A layout may also list sensor faults (a sensor that dies), each over [start_s, end_s):

    "faults": [{"modality": "vision", "kind": "black", "start_s": 30, "end_s": 50},
               {"modality": "depth", "kind": "missing", "start_s": 60, "end_s": 80},
               {"modality": "imu", "kind": "truncated", "start_s": 70}]

black: the camera's frames are black (a capped lens, a lost signal); missing: the depth or thermal folder has
no frames, or imu.csv no rows, in the stretch (end_s omitted: to the end); truncated: imu.csv ends at start_s
in the middle of a row, as a file cut off by a crash. The ground truth (segments) is unchanged: the concept is
still there, the sensor just does not see it; timeline.json lists the faults.

Writes video.mp4 (H.264, 10 fps, 224x224), audio.wav (16 kHz mono 16-bit), depth/ (16-bit PNG in
mm, 2 fps), thermal/ (float32 .npy in degrees C, 160x120, 1 fps), imu.csv (200 Hz), per-folder
timestamps.csv and timeline.json (ground truth: which concept is present in which modality when).
Deterministic: the same seed base and layout give the same files.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image
from scipy.io import wavfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import preprocess as pp  # noqa: E402
import world  # noqa: E402

VIDEO_FPS = 10
DEPTH_FPS = 2
THERMAL_FPS = 1
THERMAL_W, THERMAL_H = 160, 120
KEYFRAME_S = 3.0
NOISE_FLOOR_DBFS = -38.0
VIDEO_CRF = 18  # H.264 quality: thin limbs and small objects survive at 224x224
ALL = ("vision", "depth", "thermal", "audio", "imu")

# The shipped scenario's layout: (start_s, end_s, {modality: concept}); modalities not named show nothing of interest
SEGMENTS = [
    (0, 8, {}),
    (8, 20, {m: "dog" for m in ALL}),
    (20, 26, {}),
    (26, 38, {"vision": "car", "depth": "car", "thermal": "car", "audio": "siren", "imu": "siren"}),
    (38, 50, {m: "walking" for m in ALL}),
    (50, 58, {"audio": "speech"}),
    (58, 70, {"vision": "fire", "depth": "fire", "thermal": "fire", "audio": "fire", "imu": "fire"}),
    (70, 80, {m: "running" for m in ALL}),
    (80, 88, {m: "falling" for m in ALL}),
    (88, 96, {"vision": "glass_breaking", "depth": "glass_breaking", "thermal": "glass_breaking", "audio": "glass_breaking"}),
    (96, 100, {}),
]


MAX_DURATION_S = 3600.0
# Seed offsets of the draws within a scenario; a segment's keyframe seeds (1000 per segment) stay below the
# audio block's as long as there are fewer than 500 segments.
AUDIO_SEEDS, IMU_SEEDS = 500_000, 700_000
MAX_SEGMENTS = 499


FAULT_KINDS = {"black": ("vision",), "missing": ("depth", "thermal", "imu"), "truncated": ("imu",)}


class Scenario:
    """What to render: the segments (start_s, end_s, {modality: concept}), the seed base of every draw and the
    sensor faults ({modality, kind, start_s, end_s})."""

    def __init__(self, segments=None, seed_base=world.DEMO_SEED_BASE, faults=()):
        self.segments = SEGMENTS if segments is None else segments
        self.seed_base = int(seed_base)
        self.duration = float(self.segments[-1][1])
        self.faults = list(faults)

    def faulty(self, modality, kind, t):
        """True when `modality` has a fault of `kind` at time t (s)."""
        return any(f["modality"] == modality and f["kind"] == kind and f["start_s"] <= t < f["end_s"] for f in self.faults)

    def cut_at(self, modality):
        """Where `modality`'s file is truncated (s), or None."""
        cuts = [f["start_s"] for f in self.faults if f["modality"] == modality and f["kind"] == "truncated"]
        return min(cuts) if cuts else None


DEMO = Scenario()


def layout_error(source, where, message):
    return SystemExit(f"make_demo.py: layout {source}: {where}: {message}")


def parse_faults(data, duration, source="<layout>"):
    """Checks a layout's "faults" (absent: none) and returns them as dicts with float times."""
    faults = data.get("faults", [])
    if not isinstance(faults, list):
        raise layout_error(source, "faults", "expected a list of {modality, kind, start_s, end_s}")
    out = []
    for i, f in enumerate(faults):
        where = f"faults[{i}]"
        if not isinstance(f, dict):
            raise layout_error(source, where, "expected an object {modality, kind, start_s, end_s}")
        unknown = set(f) - {"modality", "kind", "start_s", "end_s"}
        if unknown:
            raise layout_error(source, where, f"unknown field(s) {sorted(unknown)}; expected modality, kind, start_s, end_s")
        kind = f.get("kind")
        if kind not in FAULT_KINDS:
            raise layout_error(source, f"{where}.kind", f"{kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        modality = f.get("modality")
        if modality not in FAULT_KINDS[kind]:
            raise layout_error(source, f"{where}.modality", f"{modality!r}; a {kind} fault applies to {', '.join(FAULT_KINDS[kind])}")
        start = f.get("start_s")
        if isinstance(start, bool) or not isinstance(start, (int, float)) or not 0 <= start < duration:
            raise layout_error(source, f"{where}.start_s", f"expected seconds in [0, {duration:g}), found {start!r}")
        end = f.get("end_s", duration)
        if kind == "truncated" and "end_s" in f:
            raise layout_error(source, f"{where}.end_s", "a truncated file has no end; leave end_s out")
        if isinstance(end, bool) or not isinstance(end, (int, float)) or not start < end <= duration:
            raise layout_error(source, f"{where}.end_s", f"expected seconds in ({start:g}, {duration:g}], found {end!r}")
        out.append({"modality": modality, "kind": kind, "start_s": float(start), "end_s": float(end)})
    return out


def parse_layout(data, source="<layout>"):
    """Checks a layout (the parsed JSON) and returns its segments as (start_s, end_s, {modality: concept})."""
    if not isinstance(data, dict) or not isinstance(data.get("segments"), list) or not data["segments"]:
        raise layout_error(source, "segments", "expected an object with a non-empty list \"segments\"")
    if len(data["segments"]) > MAX_SEGMENTS:
        raise layout_error(source, "segments", f"{len(data['segments'])} segments; at most {MAX_SEGMENTS}")
    segments = []
    expected_start = 0.0
    for i, seg in enumerate(data["segments"]):
        where = f"segments[{i}]"
        if not isinstance(seg, dict):
            raise layout_error(source, where, "expected an object with start_s, end_s and concepts")
        unknown = set(seg) - {"start_s", "end_s", "concepts"}
        if unknown:
            raise layout_error(source, where, f"unknown field(s) {sorted(unknown)}; expected start_s, end_s, concepts")
        bounds = []
        for key in ("start_s", "end_s"):
            v = seg.get(key)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
                raise layout_error(source, f"{where}.{key}", f"expected a finite number of seconds, found {v!r}")
            bounds.append(float(v))
        a, b = bounds
        if a != expected_start:
            raise layout_error(source, f"{where}.start_s", f"{a:g} s; segments must be contiguous from 0 s (expected {expected_start:g})")
        if b <= a:
            raise layout_error(source, f"{where}.end_s", f"{b:g} s; must be after start_s ({a:g} s)")
        if b > MAX_DURATION_S:
            raise layout_error(source, f"{where}.end_s", f"{b:g} s; a scenario lasts at most {MAX_DURATION_S:g} s")
        concepts = seg.get("concepts", {})
        if not isinstance(concepts, dict):
            raise layout_error(source, f"{where}.concepts", "expected an object {modality: concept}")
        mapping = {}
        for modality, concept in concepts.items():
            if modality != "all" and modality not in ALL:
                raise layout_error(source, f"{where}.concepts.{modality}", f"unknown modality; expected one of all, {', '.join(ALL)}")
            if concept not in world.CONCEPT_KEYS:
                raise layout_error(source, f"{where}.concepts.{modality}", f"{concept!r} is not a concept of the world; expected one of {', '.join(world.CONCEPT_KEYS)}")
            for m in (ALL if modality == "all" else (modality,)):
                mapping[m] = concept
        segments.append((a, b, mapping))
        expected_start = b
    return segments


def read_layout(path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except OSError as e:
        raise SystemExit(f"make_demo.py: layout {path}: cannot read it: {e.strerror}")
    except json.JSONDecodeError as e:
        raise SystemExit(f"make_demo.py: layout {path}: not JSON: {e}")


def load_layout(path):
    return parse_layout(read_layout(path), path)


def load_scenario(path, seed_base):
    """The scenario a layout file describes: its segments and faults."""
    data = read_layout(path)
    segments = parse_layout(data, path)
    return Scenario(segments, seed_base, parse_faults(data, segments[-1][1], path))


def segment_at(sc, t):
    for k, (a, b, c) in enumerate(sc.segments):
        if a <= t < b:
            return k, c
    return len(sc.segments) - 1, sc.segments[-1][2]


def visual_keyframes(sc):
    """One rendered scene per KEYFRAME_S within each segment (same scene for vision/depth/thermal):
    (segment, index) -> (image, depth, thermal, concept box or None)."""
    frames = {}
    for k, (a, b, c) in enumerate(sc.segments):
        t = a
        j = 0
        while t < b:
            concept = c.get("vision")
            rng = world.rng_for(sc.seed_base + 1000 * k + j)
            img, dep, tmp, attrs = world.render_visual(rng, concept)
            frames[(k, j)] = (img, dep, tmp, attrs["box"])
            t += KEYFRAME_S
            j += 1
    return frames


def keyframe_entries(sc, frames):
    """timeline.json's `keyframes`: each camera scene's time range and the box of what it shows."""
    out = []
    for (k, j), (_, _, _, box) in sorted(frames.items()):
        a, b, c = sc.segments[k]
        start = a + j * KEYFRAME_S
        concept = c.get("vision")
        out.append({"start_s": float(start), "end_s": float(min(b, start + KEYFRAME_S)),
                    "objects": [] if concept is None else [{"concept": concept, "box": box}]})
    return out


KEYFRAMES_NOTE = ("Each keyframe is one camera scene; objects[].box is [x, y, width, height] in pixels of the "
                  "224x224 frame, around the concept's painted pixels. The video pans: the frame at t shows the "
                  "scene shifted right by round(pan_px * sin(2 pi (t - start of its segment) / pan_period_s)) "
                  "pixels (edge column repeated), so boxes move by that many pixels; depth and thermal frames "
                  "are not panned.")


def add_keyframes(sc, timeline, frames):
    timeline["keyframes_note"] = KEYFRAMES_NOTE
    timeline["pan_px"] = 3
    timeline["pan_period_s"] = KEYFRAME_S
    timeline["keyframes"] = keyframe_entries(sc, frames)


def write_boxes_only(sc, out):
    """Adds the keyframes to the committed timeline.json, first checking that the committed depth frames
    (lossless) are what the keyframes render, so the boxes belong to the committed recording."""
    frames = visual_keyframes(sc)
    for i in range(int(sc.duration * DEPTH_FPS)):
        t = i / DEPTH_FPS
        path = os.path.join(out, "depth", f"{i:06d}.png")
        with Image.open(path) as im:
            want = np.array(im).astype(np.int64)
        got = np.clip(np.round(keyframe_for(sc, t, frames)[1] * 1000.0), 0, 65535).astype(np.int64)  # as write_depth_png16
        if not np.array_equal(want, got):
            raise SystemExit(f"{path}: the keyframe at {t} s no longer renders this frame; boxes would not match it")
    path = os.path.join(out, "timeline.json")
    with open(path) as fh:
        timeline = json.load(fh)
    add_keyframes(sc, timeline, frames)
    with open(path, "w") as fh:
        json.dump(timeline, fh, indent=1)
        fh.write("\n")


def keyframe_for(sc, t, frames):
    k, _ = segment_at(sc, t)
    j = int((t - sc.segments[k][0]) // KEYFRAME_S)
    return frames[(k, j)]


def shifted(img, dx):
    """A slow camera pan: shift horizontally, repeating the edge column."""
    if dx == 0:
        return img
    out = np.empty_like(img)
    if dx > 0:
        out[:, dx:] = img[:, :-dx]
        out[:, :dx] = img[:, :1]
    else:
        out[:, :dx] = img[:, -dx:]
        out[:, dx:] = img[:, -1:]
    return out


def make_audio(sc, rng):
    n = int(sc.duration * world.SR)
    track = np.zeros(n)
    for k, (a, b, c) in enumerate(sc.segments):
        concept = c.get("audio")
        if concept is None:
            continue
        level = 10 ** (rng.uniform(-24, -16) / 20)
        t = a
        while t < b - 0.01:
            r = world.rng_for(sc.seed_base + AUDIO_SEEDS + int(t * 10))
            x = world.SOUNDS[concept](r, float(r.uniform(0.9, 1.1)))
            x = x / (np.sqrt(np.mean(x ** 2)) + 1e-9) * level
            # Limit each clip on its own, as the world does: impulsive sounds (glass, knocks) have peaks far
            # above their RMS, and one limiter over the whole track would turn everything else down with them.
            peak = float(np.max(np.abs(x)))
            if peak > 0.5:
                x = x * (0.5 / peak)
            seg = min(2.0, b - t)
            m = int(seg * world.SR)
            x = x[:m].copy()
            fade = int(0.03 * world.SR)
            x[:fade] *= np.linspace(0, 1, fade)
            x[-fade:] *= np.linspace(1, 0, fade)
            i = int(t * world.SR)
            track[i:i + m] += x
            t += 2.0
    # A noise floor inside the loudness range the world renders (-34..-14 dBFS): much quieter than that,
    # the quiet stretches would be a silence the model never heard.
    noise = world.background_noise(rng, n) * 10 ** (NOISE_FLOOR_DBFS / 20)
    y = track + noise
    peak = np.max(np.abs(y))
    if peak > 0.98:
        y *= 0.98 / peak
    return y.astype(np.float32)


def make_imu(sc):
    """Windows of the wearer's activity per segment, concatenated (a step at each join)."""
    n = int(sc.duration * world.IMU_RATE)
    out = np.zeros((n, 6), np.float32)
    for k, (a, b, c) in enumerate(sc.segments):
        concept = c.get("imu", "none")  # "none": standing still
        pos, end = int(a * world.IMU_RATE), int(b * world.IMU_RATE)
        j = 0
        while pos < end:
            w = world.render_imu(world.rng_for(sc.seed_base + IMU_SEEDS + 100 * k + j), concept)
            take = min(world.IMU_SAMPLES, end - pos)
            out[pos:pos + take] = w[:take]
            pos += take
            j += 1
    return out


def write_imu_faults(sc, path):
    """Drops the rows of missing stretches and cuts the file at a truncation, mid-row."""
    with open(path) as fh:
        lines = fh.readlines()
    kept = [lines[0]]
    cut = sc.cut_at("imu")
    for line in lines[1:]:
        t = float(line.split(",", 1)[0])
        if cut is not None and t >= cut:
            kept.append(line[:len(line) // 2])
            break
        if not sc.faulty("imu", "missing", t):
            kept.append(line)
    with open(path, "w", newline="") as fh:
        fh.writelines(kept)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="pipelines/demo-scenario")
    ap.add_argument("--seed-base", type=int, default=world.DEMO_SEED_BASE,
                    help=f"base of every random draw (default {world.DEMO_SEED_BASE}, the shipped scenario)")
    ap.add_argument("--layout", help="segment layout (JSON, see above); default: the shipped scenario's")
    ap.add_argument("--boxes-only", action="store_true",
                    help="only add the keyframes' boxes to the committed timeline.json (checked against its depth frames)")
    args = ap.parse_args(argv)
    if not 0 <= args.seed_base <= 2 ** 62:
        ap.error(f"--seed-base {args.seed_base}: expected an integer in [0, 2^62]")
    sc = load_scenario(args.layout, args.seed_base) if args.layout else Scenario(None, args.seed_base)
    render(sc, args.out, boxes_only=args.boxes_only)


def render(sc, out, boxes_only=False):
    """Writes scenario `sc` into the folder `out`."""
    if boxes_only:
        write_boxes_only(sc, out)
        print("keyframe boxes written to", os.path.join(out, "timeline.json"))
        return
    os.makedirs(os.path.join(out, "depth"), exist_ok=True)
    os.makedirs(os.path.join(out, "thermal"), exist_ok=True)
    rng = world.rng_for(sc.seed_base)
    frames = visual_keyframes(sc)

    # video: constant 10 fps, frame i at t = i / 10
    n_video = int(sc.duration * VIDEO_FPS)
    cmd = ["ffmpeg", "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "224x224",
           "-r", str(VIDEO_FPS), "-i", "-", "-c:v", "libx264", "-preset", "medium", "-crf", str(VIDEO_CRF),
           "-pix_fmt", "yuv420p", "-g", str(VIDEO_FPS * 2), "-bf", "0", "-flags", "+bitexact", "-fflags", "+bitexact",
           "-map_metadata", "-1", os.path.join(out, "video.mp4")]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    for i in range(n_video):
        t = i / VIDEO_FPS
        if sc.faulty("vision", "black", t):
            proc.stdin.write(bytes(224 * 224 * 3))
            continue
        img = keyframe_for(sc, t, frames)[0]
        k, _ = segment_at(sc, t)
        dx = int(round(3 * np.sin(2 * np.pi * (t - sc.segments[k][0]) / KEYFRAME_S)))
        proc.stdin.write(np.ascontiguousarray(shifted(img, dx)).tobytes())
    proc.stdin.close()
    assert proc.wait() == 0

    # depth 2 fps, thermal 1 fps
    with open(os.path.join(out, "depth", "timestamps.csv"), "w") as fh:
        fh.write("frame,t_s\n")
        for i in range(int(sc.duration * DEPTH_FPS)):
            t = i / DEPTH_FPS
            if sc.faulty("depth", "missing", t):
                continue
            name = f"{i:06d}.png"
            pp.write_depth_png16(os.path.join(out, "depth", name), keyframe_for(sc, t, frames)[1])
            fh.write(f"{name},{t:.3f}\n")
    with open(os.path.join(out, "thermal", "timestamps.csv"), "w") as fh:
        fh.write("frame,t_s\n")
        for i in range(int(sc.duration * THERMAL_FPS)):
            t = i / THERMAL_FPS
            if sc.faulty("thermal", "missing", t):
                continue
            name = f"{i:06d}.npy"
            tmp = keyframe_for(sc, t, frames)[2]
            crop = tmp[28:196, :]  # 224x168 (4:3) centre band, then a 160x120 sensor
            small = np.asarray(Image.fromarray(crop, mode="F").resize((THERMAL_W, THERMAL_H), Image.BILINEAR), dtype=np.float32)
            np.save(os.path.join(out, "thermal", name), small)
            fh.write(f"{name},{t:.3f}\n")

    audio = make_audio(sc, rng)
    pcm = np.clip(np.round(audio * 32767.0), -32768, 32767).astype(np.int16)
    wavfile.write(os.path.join(out, "audio.wav"), world.SR, pcm)
    imu = make_imu(sc)
    pp.write_imu_csv(os.path.join(out, "imu.csv"), imu)
    if sc.faults:
        write_imu_faults(sc, os.path.join(out, "imu.csv"))

    timeline = {
        "duration_s": sc.duration,
        "files": {
            "vision": {"path": "video.mp4", "format": "H.264 MP4, 224x224, constant 10 fps (frame i at i/10 s)"},
            "audio": {"path": "audio.wav", "format": "16-bit PCM WAV, 16 kHz, mono"},
            "depth": {"path": "depth/", "format": "16-bit greyscale PNG, millimetres (0 = no return), 224x224, 2 fps", "timestamps": "depth/timestamps.csv"},
            "thermal": {"path": "thermal/", "format": "float32 .npy [120,160], degrees C, 1 fps", "timestamps": "thermal/timestamps.csv"},
            "imu": {"path": "imu.csv", "format": "CSV t,ax,ay,az,gx,gy,gz; 200 Hz; m/s^2 with gravity, rad/s"},
        },
        "concepts": {world.CONCEPT_KEYS[i]: world.zero_shot_prompt(i) for i in range(world.NUM_CONCEPTS)},
        "segments": [],
    }
    if sc.seed_base != world.DEMO_SEED_BASE:
        timeline["seed_base"] = sc.seed_base
    if sc.faults:
        timeline["faults"] = sc.faults
    for a, b, c in sc.segments:
        for m in ALL:
            if m in c:
                timeline["segments"].append({"concept": c[m], "modality": m, "start_s": float(a), "end_s": float(b)})
    add_keyframes(sc, timeline, frames)
    with open(os.path.join(out, "timeline.json"), "w") as fh:
        json.dump(timeline, fh, indent=1)
        fh.write("\n")
    print("demo scenario written to", out)


if __name__ == "__main__":
    main()
