"""The runtime's preprocessing (docs/DESIGN.md table), for arrays and for files.

Training feeds the model tensors made here from in-memory renders; the evaluation set's expected
embeddings are made here from the committed FILES, exactly as the C# runtime reads them.
"""
from __future__ import annotations

import csv
import math

import numpy as np
import torch
import torchaudio
from PIL import Image

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
AUDIO_MEAN, AUDIO_STD = -4.268, 9.138
AUDIO_FRAMES = 204
DEPTH_MIN_M, DEPTH_MAX_M = 0.01, 75.0
# EdgeBind-tiny's own depth/thermal statistics (measured on training renders; see MODEL_CARD.md)
DEPTH_MEAN, DEPTH_STD = 0.2, 0.3
THERMAL_MIN_C, THERMAL_MAX_C = -20.0, 120.0
THERMAL_MEAN, THERMAL_STD = 0.26, 0.17
IMU_SCALE = [1 / 9.80665] * 3 + [1 / 2.0] * 3  # acc in g, gyro in units of 2 rad/s

_MEAN = np.array(CLIP_MEAN, np.float32)[:, None, None]
_STD = np.array(CLIP_STD, np.float32)[:, None, None]


# --- arrays ------------------------------------------------------------------------------------

def vision_tensor(img_hwc_uint8: np.ndarray) -> np.ndarray:
    """224x224 RGB uint8 -> [3,224,224] (resize and crop are identities at 224)."""
    assert img_hwc_uint8.shape == (224, 224, 3), img_hwc_uint8.shape
    x = img_hwc_uint8.astype(np.float32).transpose(2, 0, 1) / 255.0
    return (x - _MEAN) / _STD


def audio_clip_tensor(wave: np.ndarray) -> np.ndarray:
    """One mono clip (16 kHz float) -> [1,128,204]."""
    w = torch.from_numpy(np.asarray(wave, np.float32))[None, :]
    w = w - w.mean()
    fb = torchaudio.compliance.kaldi.fbank(
        w, htk_compat=True, sample_frequency=16000, use_energy=False, window_type="hanning",
        num_mel_bins=128, dither=0.0, frame_length=25, frame_shift=10)
    fb = fb.transpose(0, 1)  # [128, frames]
    n = fb.shape[1]
    if n < AUDIO_FRAMES:
        fb = torch.nn.functional.pad(fb, (0, AUDIO_FRAMES - n))
    else:
        fb = fb[:, :AUDIO_FRAMES]
    fb = (fb - AUDIO_MEAN) / AUDIO_STD
    return fb[None].numpy().astype(np.float32)


def audio_file_clips(wave: np.ndarray, sr: int = 16000, clips: int = 3, clip_s: float = 2.0) -> np.ndarray:
    """File mode: `clips` clips of 2 s with starts evenly spaced over [0, duration-2] -> [clips,1,128,204]."""
    dur = len(wave) / sr
    span = max(dur - clip_s, 0.0)
    starts = [span * i / (clips - 1) for i in range(clips)] if clips > 1 else [0.0]
    n = int(round(clip_s * sr))
    out = []
    for s in starts:
        i = int(round(s * sr))
        out.append(audio_clip_tensor(wave[i:i + n]))
    return np.stack(out)


def depth_tensor(depth_m: np.ndarray) -> np.ndarray:
    x = np.clip(depth_m.astype(np.float32), DEPTH_MIN_M, DEPTH_MAX_M) / DEPTH_MAX_M
    return ((x - DEPTH_MEAN) / DEPTH_STD)[None].astype(np.float32)


def thermal_tensor(temp_c: np.ndarray) -> np.ndarray:
    x = np.clip((temp_c.astype(np.float32) - THERMAL_MIN_C) / (THERMAL_MAX_C - THERMAL_MIN_C), 0.0, 1.0)
    return ((x - THERMAL_MEAN) / THERMAL_STD)[None].astype(np.float32)


def imu_tensor(imu_tc: np.ndarray) -> np.ndarray:
    """[2000,6] (ax,ay,az,gx,gy,gz) -> [6,2000] channel-major, scaled per channel."""
    assert imu_tc.shape == (2000, 6), imu_tc.shape
    return (imu_tc.astype(np.float32).T * np.array(IMU_SCALE, np.float32)[:, None]).astype(np.float32)


# --- files -------------------------------------------------------------------------------------

def read_image_file(path: str) -> np.ndarray:
    """decode, convert('RGB'), bicubic short side 224, center crop 224 (torchvision's rounding)."""
    im = Image.open(path).convert("RGB")
    w, h = im.size
    if min(w, h) != 224:
        if w <= h:
            nw, nh = 224, int(224 * h / w)
        else:
            nw, nh = int(224 * w / h), 224
        im = im.resize((nw, nh), Image.BICUBIC)
    w, h = im.size
    top = int(round((h - 224) / 2.0))
    left = int(round((w - 224) / 2.0))
    im = im.crop((left, top, left + 224, top + 224))
    return np.asarray(im, dtype=np.uint8)


def read_wav_file(path: str) -> tuple[np.ndarray, int]:
    w, sr = torchaudio.load(path)  # float in [-1,1], as the runtime decodes
    return w[0].numpy(), sr


def read_depth_png16(path: str) -> np.ndarray:
    with Image.open(path) as im:
        mm = np.array(im).astype(np.float32)  # "I;16" -> uint16, "I" -> int32
    return mm / 1000.0


def write_depth_png16(path: str, depth_m: np.ndarray) -> None:
    mm = np.clip(np.round(depth_m * 1000.0), 0, 65535).astype(np.uint16)
    Image.fromarray(mm, mode="I;16").save(path)


def read_imu_csv(path: str) -> np.ndarray:
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["t", "ax", "ay", "az", "gx", "gy", "gz"], rows[0]
    arr = np.array(rows[1:], dtype=np.float64)
    return arr


def write_imu_csv(path: str, imu: np.ndarray, t0: float = 0.0, rate: float = 200.0) -> None:
    with open(path, "w", newline="") as fh:
        fh.write("t,ax,ay,az,gx,gy,gz\n")
        # 1 mm/s^2 and 0.1 mrad/s: about a 16-bit MEMS IMU's resolution
        for i, r in enumerate(imu):
            fh.write(f"{t0 + i / rate:.3f}," + ",".join(f"{v:.3f}" for v in r[:3]) + "," +
                     ",".join(f"{v:.4f}" for v in r[3:]) + "\n")


def imu_from_csv_rows(arr: np.ndarray, rate: float = 200.0, samples: int = 2000) -> np.ndarray:
    """Linear resample onto the uniform grid starting at the first timestamp."""
    t = arr[:, 0]
    grid = t[0] + np.arange(samples) / rate
    return np.stack([np.interp(grid, t, arr[:, c]) for c in range(1, 7)], 1).astype(np.float32)
