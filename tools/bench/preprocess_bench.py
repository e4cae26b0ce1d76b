#!/usr/bin/python3
"""Preprocessing speed: EdgeBind (C#) against the Python reference, one thread each, same machine.

  vision: a 640x480 JPEG -> [3,224,224]   (PIL 9.4 + torchvision 0.14: ImageBind's image transform)
  audio:  a 10 s 44.1 kHz stereo WAV -> [3,1,128,204]   (torchaudio 0.13: ImageBind's waveform2melspec)

Inputs are made in a temporary directory (PIL for the JPEG, sox for the WAV). The C# side is
`edgebind bench preprocess` from the Release build of src/EdgeBind.Cli (built when missing); if it fails
(e.g. audio not built yet on this branch), its cells read "n/a". Each side runs `--rounds` times,
alternating, and the best round counts. Within a round both sides time batches of iterations/25 items and
take the median batch (a shared machine disturbs a few batches). Wall-clock and thread CPU time
(CLOCK_THREAD_CPUTIME_ID on both sides) are reported; CPU time does not count waiting for a core.

Usage: tools/bench/preprocess_bench.py [--iterations 200] [--warmup 20] [--rounds 3]
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torchaudio
from PIL import Image
from torchvision import transforms as T

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CLI_DLL = os.path.join(REPO, "src", "EdgeBind.Cli", "bin", "Release", "net10.0", "edgebind.dll")

VISION = T.Compose([
    T.Resize(224, interpolation=T.InterpolationMode.BICUBIC),
    T.CenterCrop(224),
    T.ToTensor(),
    T.Normalize((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
])


def vision_python(path):
    with open(path, "rb") as f:
        img = Image.open(f).convert("RGB")
    return VISION(img)


def audio_python(path):
    """ImageBind's audio loader: resample to 16 kHz, 3 clips of 2 s, Kaldi fbank, pad to 204, normalise."""
    waveform, sr = torchaudio.load(path)
    waveform = torchaudio.functional.resample(waveform, orig_freq=sr, new_freq=16000)
    duration = waveform.shape[1] / 16000
    starts = np.linspace(0, max(duration - 2.0, 0.0), 3)
    clips = []
    for s in starts:
        clip = waveform[:, int(s * 16000): int(s * 16000) + 32000]
        clip = clip - clip.mean()
        fbank = torchaudio.compliance.kaldi.fbank(
            clip, htk_compat=True, sample_frequency=16000, use_energy=False, window_type="hanning",
            num_mel_bins=128, dither=0.0, frame_length=25, frame_shift=10).transpose(0, 1)
        n = fbank.shape[1]
        fbank = torch.nn.functional.pad(fbank, (0, 204 - n)) if n < 204 else fbank[:, :204]
        clips.append(((fbank - (-4.268)) / 9.138)[None])
    out = torch.stack(clips)
    assert tuple(out.shape) == (3, 1, 128, 204)
    return out


def time_python(fn, path, iterations, warmup):
    """Same method as `edgebind bench preprocess`: batches of iterations/25, median batch, thread CPU time."""
    for _ in range(warmup):
        fn(path)
    batch = max(1, iterations // 25)
    walls, cpus = [], []
    done = 0
    while done < iterations:
        count = min(batch, iterations - done)
        wall, cpu = time.perf_counter(), time.thread_time()
        for _ in range(count):
            fn(path)
        walls.append((time.perf_counter() - wall) * 1e3 / count)
        cpus.append((time.thread_time() - cpu) * 1e3 / count)
        done += count
    return float(np.median(walls)), float(np.median(cpus))


def time_csharp(modality, path, iterations, warmup):
    cmd = ["dotnet", CLI_DLL, "bench", "preprocess", "--modality", modality, "--input", path,
           "--iterations", str(iterations), "--warmup", str(warmup)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        print(f"  C# {modality}: exit {run.returncode}: {(run.stderr or run.stdout).strip().splitlines()[:1]}", file=sys.stderr)
        return None
    values = dict(re.findall(r"^([a-z /]+): ([0-9.]+)", run.stdout, re.M))
    return float(values["ms/item"]), float(values["cpu ms/item"]), float(values["allocated bytes/item"])


def make_inputs(tmp):
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:480, 0:640].astype(np.float64)
    img = np.stack([128 + 100 * np.sin(x / 23.0) * np.cos(y / 31.0), 128 + 90 * np.cos((x + y) / 41.0), (x + 2 * y) * 255 / 1600], -1)
    img += rng.normal(0, 12, img.shape)  # texture, so the JPEG has a photo-like amount of detail
    jpeg = os.path.join(tmp, "bench_640x480.jpg")
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(jpeg, quality=90)
    wav = os.path.join(tmp, "bench_10s_44k1_stereo.wav")
    subprocess.run(["sox", "-n", "-r", "44100", "-c", "2", "-b", "16", wav, "synth", "10", "pinknoise", "sine", "440", "vol", "0.5"],
                   check=True)
    return jpeg, wav


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    if not os.path.exists(CLI_DLL):
        subprocess.run(["dotnet", "build", "-c", "Release", os.path.join(REPO, "src", "EdgeBind.Cli")], check=True)

    with tempfile.TemporaryDirectory() as tmp:
        jpeg, wav = make_inputs(tmp)
        cases = [
            ("vision", "640x480 JPEG -> [3,224,224]", vision_python, jpeg, args.iterations),
            ("audio", "10 s 44.1 kHz stereo WAV -> [3,1,128,204]", audio_python, wav, max(10, args.iterations // 10)),
        ]
        rows = []
        for modality, label, fn, path, iterations in cases:
            py, cs = [], []
            for _ in range(args.rounds):
                py.append(time_python(fn, path, iterations, args.warmup))
                result = time_csharp(modality, path, iterations, args.warmup)
                if result is not None:
                    cs.append(result)
            py_wall, py_cpu = min(p[0] for p in py), min(p[1] for p in py)
            if cs:
                cs_wall, cs_cpu, cs_alloc = min(c[0] for c in cs), min(c[1] for c in cs), min(c[2] for c in cs)
                rows.append((modality, label, f"{py_wall:.3f}", f"{cs_wall:.3f}", f"{py_wall / cs_wall:.1f}x",
                             f"{py_cpu:.3f}", f"{cs_cpu:.3f}", f"{py_cpu / cs_cpu:.1f}x", f"{cs_alloc:.0f}"))
            else:
                rows.append((modality, label, f"{py_wall:.3f}", "n/a", "n/a", f"{py_cpu:.3f}", "n/a", "n/a", "n/a"))

    print(f"\nPreprocessing, one thread each, median batch, best of {args.rounds} rounds ({os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f})\n")
    print("| modality | input | Python ms/item | C# ms/item | speed-up | Python CPU ms/item | C# CPU ms/item | CPU speed-up | C# allocated bytes/item |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
