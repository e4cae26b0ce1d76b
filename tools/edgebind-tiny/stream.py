"""Stream conditions for training: what a recording does to a sample that a single rendered sample does not.

A rendered sample shows one scene at the encoder's resolution. A stream from real sensors differs:
- thermal cameras are low-resolution and 4:3 (a 160x120 Lepton, an 80x60 one, a 32x24 MLX90640 array):
  the runtime scales the frame up (antialiased bicubic, short side 224) and centre-crops it, so the scene
  is zoomed and blurred (pipelines/demo-scenario's thermal is 160x120);
- depth cameras deliver other resolutions and aspect ratios too (resized and cropped the same way) and
  whole millimetres, with holes (0 = no return);
- IMU windows are 10 s long and slide by 2 s, so most of them join the end of one activity with the start
  of the next (or two draws of the same activity, with a step at the seam);
- audio windows (2 s, hop 1 s) straddle the change from one sound to the next.

`thermal_view` and `depth_view` are applied when a split is rendered (data.py caches both views); the joins
are made per batch from two samples of the cache (train.py). The image a joined window is paired with is
the image of the part that fills most of the window, as a stream's ground truth labels it.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

import preprocess as pp

# (width, height, probability) of the simulated thermal sensors
THERMAL_SENSORS = [(160, 120, 0.55), (80, 60, 0.2), (32, 24, 0.1), (320, 240, 0.15)]
# (width, height, probability) of the simulated depth sensors; None keeps the rendered 224x224 frame
DEPTH_SENSORS = [(None, None, 0.4), (320, 240, 0.25), (640, 480, 0.15), (160, 120, 0.2)]


def _resize(x: np.ndarray, h: int, w: int, mode: str) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(x, np.float32))[None, None]
    if mode == "bicubic":
        t = F.interpolate(t, size=(h, w), mode="bicubic", align_corners=False, antialias=True)
    else:
        t = F.interpolate(t, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
    return t[0, 0].numpy()


def short_side_crop(x: np.ndarray, size: int = 224, mode: str = "bicubic") -> np.ndarray:
    """The runtime's resize (short side to `size`) and centre crop."""
    h, w = x.shape
    if h <= w:
        nh, nw = size, int(size * w / h)
    else:
        nh, nw = int(size * h / w), size
    if (nh, nw) != (h, w):
        x = _resize(x, nh, nw, mode)
    top = int(round((nh - size) / 2.0))
    left = int(round((nw - size) / 2.0))
    return x[top:top + size, left:left + size]


def _sensor(rng, table):
    p = np.array([t[2] for t in table])
    w, h, _ = table[int(rng.choice(len(table), p=p / p.sum()))]
    return w, h


def _band_43(x: np.ndarray, rng) -> np.ndarray:
    """A 4:3 band of the square scene (a 4:3 sensor sees less height), its offset jittered a little."""
    band = x.shape[0] * 3 // 4
    top = (x.shape[0] - band) // 2 + int(rng.integers(-8, 9))
    top = min(max(top, 0), x.shape[0] - band)
    return x[top:top + band, :]


def thermal_view(temp_c: np.ndarray, rng) -> np.ndarray:
    """The thermal tensor [1,224,224] a low-resolution 4:3 sensor of the same scene gives after the runtime's
    preprocessing (the scene's temperatures sampled down to the sensor, then scaled back up)."""
    w, h = _sensor(rng, THERMAL_SENSORS)
    small = _resize(_band_43(temp_c, rng), h, w, "bilinear")
    small = small + rng.normal(0, 0.1, small.shape).astype(np.float32)  # the sensor's own noise (NETD ~0.1 C)
    x = np.clip((small - pp.THERMAL_MIN_C) / (pp.THERMAL_MAX_C - pp.THERMAL_MIN_C), 0.0, 1.0)
    x = short_side_crop(x, 224, "bicubic")
    return ((x - pp.THERMAL_MEAN) / pp.THERMAL_STD)[None].astype(np.float32)


def depth_view(depth_m: np.ndarray, rng) -> np.ndarray:
    """The depth tensor [1,224,224] of the scene as a depth camera delivers it: whole millimetres, some
    sensors at other resolutions and 4:3, with holes (no return, 0 mm: clamped to the minimum range)."""
    w, h = _sensor(rng, DEPTH_SENSORS)
    d = depth_m.astype(np.float32)
    if w is not None:
        d = _resize(_band_43(d, rng), h, w, "bilinear")
    d = np.round(d * 1000.0) / 1000.0
    if rng.random() < 0.3:
        holes = rng.random(d.shape) < rng.uniform(0.002, 0.03)
        d[holes] = 0.0
    x = np.clip(d, pp.DEPTH_MIN_M, pp.DEPTH_MAX_M) / pp.DEPTH_MAX_M
    if w is not None:
        x = short_side_crop(x, 224, "bilinear")
    return ((x - pp.DEPTH_MEAN) / pp.DEPTH_STD)[None].astype(np.float32)


def join_time_series(a: np.ndarray, b: np.ndarray, rng, axis: int = -1, min_major: float = 0.5) -> np.ndarray:
    """A window that ends in `a` and continues into `b` (batched: [N, ..., T]); `a` fills a fraction in
    [min_major, 1) of it and is taken from a random offset of its own window (a stream's window starts
    anywhere in an activity)."""
    n_t = a.shape[axis]
    out = np.empty_like(a)
    for i in range(a.shape[0]):
        k = int(rng.integers(int(min_major * n_t), n_t))
        o = int(rng.integers(0, n_t - k + 1))
        out[i, ..., :k] = a[i, ..., o:o + k]
        out[i, ..., k:] = b[i, ..., :n_t - k]
    return out
