"""Pre-rendered, pre-processed dataset cache (under /tmp, never committed).

Each split is a directory of .npy arrays (memory-mapped on load):
  vision  uint8   [N,224,224,3]  (normalised on the fly; resize/crop are identities at 224)
  audio   float16 [N,1,128,204]  (fbank, normalised)
  depth   float16 [N,1,224,224]  (normalised)
  thermal float16 [N,1,224,224]  (normalised)
  imu     float32 [N,6,2000]     (scaled)
  depth_stream, thermal_stream  float16 [N,1,224,224]: the same scenes as a depth camera / a low-resolution
          thermal sensor delivers them to the runtime (stream.py)
  concept int64   [N]
  seed    int64   [N]
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import time

import numpy as np

import preprocess as pp
import stream
import world

CACHE_VERSION = 4
STREAM_SEED = 0x57EA


def _one(job):
    import torch
    torch.set_num_threads(1)
    seed, concept = job
    s = world.render(seed, concept)
    rng = world.rng_for(seed + STREAM_SEED)
    return (seed, s["concept"], s["image"], pp.audio_clip_tensor(s["audio"]).astype(np.float16),
            pp.depth_tensor(s["depth"]).astype(np.float16), pp.thermal_tensor(s["thermal"]).astype(np.float16),
            pp.imu_tensor(s["imu"]), stream.depth_view(s["depth"], rng).astype(np.float16),
            stream.thermal_view(s["thermal"], rng).astype(np.float16))


def build(dirpath: str, seeds: list[int], workers: int = 2, label: int | None = None) -> dict:
    """Renders and preprocesses `seeds` (each seed's own concept, or concept `label` for all of them)."""
    meta_path = os.path.join(dirpath, "meta.json")
    want = {"version": CACHE_VERSION, "n": len(seeds), "first": int(seeds[0]), "last": int(seeds[-1])}
    if label is not None:
        want["concept"] = int(label)
    if os.path.exists(meta_path) and json.load(open(meta_path)) == want:
        return load(dirpath)
    os.makedirs(dirpath, exist_ok=True)
    n = len(seeds)
    arrs = {
        "vision": np.lib.format.open_memmap(os.path.join(dirpath, "vision.npy"), "w+", np.uint8, (n, 224, 224, 3)),
        "audio": np.lib.format.open_memmap(os.path.join(dirpath, "audio.npy"), "w+", np.float16, (n, 1, 128, 204)),
        "depth": np.lib.format.open_memmap(os.path.join(dirpath, "depth.npy"), "w+", np.float16, (n, 1, 224, 224)),
        "thermal": np.lib.format.open_memmap(os.path.join(dirpath, "thermal.npy"), "w+", np.float16, (n, 1, 224, 224)),
        "imu": np.lib.format.open_memmap(os.path.join(dirpath, "imu.npy"), "w+", np.float32, (n, 6, 2000)),
        "depth_stream": np.lib.format.open_memmap(os.path.join(dirpath, "depth_stream.npy"), "w+", np.float16, (n, 1, 224, 224)),
        "thermal_stream": np.lib.format.open_memmap(os.path.join(dirpath, "thermal_stream.npy"), "w+", np.float16, (n, 1, 224, 224)),
    }
    concept = np.zeros(n, np.int64)
    t0 = time.time()
    ctx = mp.get_context("fork")
    with ctx.Pool(workers) as pool:
        for i, (seed, c, im, au, de, th, imu, de_s, th_s) in enumerate(pool.imap(_one, [(s, label) for s in seeds], chunksize=16)):
            assert seed == seeds[i]
            concept[i] = c
            arrs["vision"][i] = im
            arrs["audio"][i] = au
            arrs["depth"][i] = de
            arrs["thermal"][i] = th
            arrs["imu"][i] = imu
            arrs["depth_stream"][i] = de_s
            arrs["thermal_stream"][i] = th_s
            if (i + 1) % 500 == 0:
                print(f"  rendered {i + 1}/{n} ({time.time() - t0:.0f}s)", flush=True)
    for a in arrs.values():
        a.flush()
    np.save(os.path.join(dirpath, "concept.npy"), concept)
    np.save(os.path.join(dirpath, "seed.npy"), np.asarray(seeds, np.int64))
    json.dump(want, open(meta_path, "w"))
    return load(dirpath)


def load(dirpath: str) -> dict:
    out = {}
    for k in ["vision", "audio", "depth", "thermal", "imu", "depth_stream", "thermal_stream", "concept", "seed"]:
        out[k] = np.load(os.path.join(dirpath, k + ".npy"), mmap_mode="r")
    return out


_MEAN = np.array(pp.CLIP_MEAN, np.float32)[None, :, None, None]
_STD = np.array(pp.CLIP_STD, np.float32)[None, :, None, None]


def vision_batch(u8: np.ndarray) -> np.ndarray:
    x = u8.astype(np.float32).transpose(0, 3, 1, 2) / 255.0
    return (x - _MEAN) / _STD


def batch(ds: dict, modality: str, idx) -> np.ndarray:
    idx = np.asarray(idx)
    if modality == "vision":
        return vision_batch(ds["vision"][idx])
    return np.asarray(ds[modality][idx], dtype=np.float32)
