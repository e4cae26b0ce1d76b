"""Render the demo scenario: a 100 s multimodal recording from EdgeBind-tiny's world.

    python3 tools/edgebind-tiny/make_demo.py --out pipelines/demo-scenario

Writes video.mp4 (H.264, 10 fps, 224x224), audio.wav (16 kHz mono 16-bit), depth/ (16-bit PNG in
mm, 2 fps), thermal/ (float32 .npy in degrees C, 160x120, 1 fps), imu.csv (200 Hz), per-folder
timestamps.csv and timeline.json (ground truth: which concept is present in which modality when).
Deterministic (fixed seeds from world.DEMO_SEED_BASE).
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

DURATION = 100.0
VIDEO_FPS = 10
DEPTH_FPS = 2
THERMAL_FPS = 1
THERMAL_W, THERMAL_H = 160, 120
KEYFRAME_S = 3.0
NOISE_FLOOR_DBFS = -38.0
VIDEO_CRF = 18  # H.264 quality: thin limbs and small objects survive at 224x224
ALL = ("vision", "depth", "thermal", "audio", "imu")

# (start_s, end_s, {modality: concept}); modalities not named show nothing of interest
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


def segment_at(t):
    for k, (a, b, c) in enumerate(SEGMENTS):
        if a <= t < b:
            return k, c
    return len(SEGMENTS) - 1, SEGMENTS[-1][2]


def visual_keyframes():
    """One rendered scene per KEYFRAME_S within each segment (same scene for vision/depth/thermal):
    (segment, index) -> (image, depth, thermal, concept box or None)."""
    frames = {}
    for k, (a, b, c) in enumerate(SEGMENTS):
        t = a
        j = 0
        while t < b:
            concept = c.get("vision")
            rng = world.rng_for(world.DEMO_SEED_BASE + 1000 * k + j)
            img, dep, tmp, attrs = world.render_visual(rng, concept)
            frames[(k, j)] = (img, dep, tmp, attrs["box"])
            t += KEYFRAME_S
            j += 1
    return frames


def keyframe_entries(frames):
    """timeline.json's `keyframes`: each camera scene's time range and the box of what it shows."""
    out = []
    for (k, j), (_, _, _, box) in sorted(frames.items()):
        a, b, c = SEGMENTS[k]
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


def add_keyframes(timeline, frames):
    timeline["keyframes_note"] = KEYFRAMES_NOTE
    timeline["pan_px"] = 3
    timeline["pan_period_s"] = KEYFRAME_S
    timeline["keyframes"] = keyframe_entries(frames)


def write_boxes_only(out):
    """Adds the keyframes to the committed timeline.json, first checking that the committed depth frames
    (lossless) are what the keyframes render, so the boxes belong to the committed recording."""
    frames = visual_keyframes()
    for i in range(int(DURATION * DEPTH_FPS)):
        t = i / DEPTH_FPS
        path = os.path.join(out, "depth", f"{i:06d}.png")
        with Image.open(path) as im:
            want = np.array(im).astype(np.int64)
        got = np.clip(np.round(keyframe_for(t, frames)[1] * 1000.0), 0, 65535).astype(np.int64)  # as write_depth_png16
        if not np.array_equal(want, got):
            raise SystemExit(f"{path}: the keyframe at {t} s no longer renders this frame; boxes would not match it")
    path = os.path.join(out, "timeline.json")
    with open(path) as fh:
        timeline = json.load(fh)
    add_keyframes(timeline, frames)
    with open(path, "w") as fh:
        json.dump(timeline, fh, indent=1)
        fh.write("\n")


def keyframe_for(t, frames):
    k, _ = segment_at(t)
    j = int((t - SEGMENTS[k][0]) // KEYFRAME_S)
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


def make_audio(rng):
    n = int(DURATION * world.SR)
    track = np.zeros(n)
    for k, (a, b, c) in enumerate(SEGMENTS):
        concept = c.get("audio")
        if concept is None:
            continue
        level = 10 ** (rng.uniform(-24, -16) / 20)
        t = a
        while t < b - 0.01:
            r = world.rng_for(world.DEMO_SEED_BASE + 500000 + int(t * 10))
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


def make_imu():
    """Windows of the wearer's activity per segment, concatenated (a step at each join)."""
    n = int(DURATION * world.IMU_RATE)
    out = np.zeros((n, 6), np.float32)
    for k, (a, b, c) in enumerate(SEGMENTS):
        concept = c.get("imu", "none")  # "none": standing still
        pos, end = int(a * world.IMU_RATE), int(b * world.IMU_RATE)
        j = 0
        while pos < end:
            w = world.render_imu(world.rng_for(world.DEMO_SEED_BASE + 700000 + 100 * k + j), concept)
            take = min(world.IMU_SAMPLES, end - pos)
            out[pos:pos + take] = w[:take]
            pos += take
            j += 1
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="pipelines/demo-scenario")
    ap.add_argument("--boxes-only", action="store_true",
                    help="only add the keyframes' boxes to the committed timeline.json (checked against its depth frames)")
    args = ap.parse_args()
    out = args.out
    if args.boxes_only:
        write_boxes_only(out)
        print("keyframe boxes written to", os.path.join(out, "timeline.json"))
        return
    os.makedirs(os.path.join(out, "depth"), exist_ok=True)
    os.makedirs(os.path.join(out, "thermal"), exist_ok=True)
    rng = world.rng_for(world.DEMO_SEED_BASE)
    frames = visual_keyframes()

    # video: constant 10 fps, frame i at t = i / 10
    n_video = int(DURATION * VIDEO_FPS)
    cmd = ["ffmpeg", "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "224x224",
           "-r", str(VIDEO_FPS), "-i", "-", "-c:v", "libx264", "-preset", "medium", "-crf", str(VIDEO_CRF),
           "-pix_fmt", "yuv420p", "-g", str(VIDEO_FPS * 2), "-bf", "0", "-flags", "+bitexact", "-fflags", "+bitexact",
           "-map_metadata", "-1", os.path.join(out, "video.mp4")]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    for i in range(n_video):
        t = i / VIDEO_FPS
        img = keyframe_for(t, frames)[0]
        k, _ = segment_at(t)
        dx = int(round(3 * np.sin(2 * np.pi * (t - SEGMENTS[k][0]) / KEYFRAME_S)))
        proc.stdin.write(np.ascontiguousarray(shifted(img, dx)).tobytes())
    proc.stdin.close()
    assert proc.wait() == 0

    # depth 2 fps, thermal 1 fps
    with open(os.path.join(out, "depth", "timestamps.csv"), "w") as fh:
        fh.write("frame,t_s\n")
        for i in range(int(DURATION * DEPTH_FPS)):
            t = i / DEPTH_FPS
            name = f"{i:06d}.png"
            pp.write_depth_png16(os.path.join(out, "depth", name), keyframe_for(t, frames)[1])
            fh.write(f"{name},{t:.3f}\n")
    with open(os.path.join(out, "thermal", "timestamps.csv"), "w") as fh:
        fh.write("frame,t_s\n")
        for i in range(int(DURATION * THERMAL_FPS)):
            t = i / THERMAL_FPS
            name = f"{i:06d}.npy"
            tmp = keyframe_for(t, frames)[2]
            crop = tmp[28:196, :]  # 224x168 (4:3) centre band, then a 160x120 sensor
            small = np.asarray(Image.fromarray(crop, mode="F").resize((THERMAL_W, THERMAL_H), Image.BILINEAR), dtype=np.float32)
            np.save(os.path.join(out, "thermal", name), small)
            fh.write(f"{name},{t:.3f}\n")

    audio = make_audio(rng)
    pcm = np.clip(np.round(audio * 32767.0), -32768, 32767).astype(np.int16)
    wavfile.write(os.path.join(out, "audio.wav"), world.SR, pcm)
    imu = make_imu()
    pp.write_imu_csv(os.path.join(out, "imu.csv"), imu)

    timeline = {
        "duration_s": DURATION,
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
    for a, b, c in SEGMENTS:
        for m in ALL:
            if m in c:
                timeline["segments"].append({"concept": c[m], "modality": m, "start_s": float(a), "end_s": float(b)})
    add_keyframes(timeline, frames)
    with open(os.path.join(out, "timeline.json"), "w") as fh:
        json.dump(timeline, fh, indent=1)
        fh.write("\n")
    print("demo scenario written to", out)


if __name__ == "__main__":
    main()
