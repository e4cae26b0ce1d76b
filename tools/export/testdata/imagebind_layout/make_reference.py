"""Test helper: a seeded random ImageBind-layout model (this folder's re-implementation), its state dict,
and reference embeddings of real files made the way ImageBind's own loaders make their tensors.

    python3 make_reference.py --model-args JSON --ckpt OUT.pth [--audio WAV...] [--image IMG...] [--ref DIR]

The audio tensors come from tools/fixtures/make_audio_fixtures.transform (ImageBind's audio loader
re-implemented, in-place mean subtraction on overlapping clips included); images from PIL and
torchvision as ImageBind's vision loader uses them. Embeddings go through the model's forward (into DIR/<modality>.npy, [N, D]), which
averages the clips of a [1, clips, ...] input as ImageBind's does.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "fixtures"))
from imagebind.models.imagebind_model import ImageBindModel  # noqa: E402


def image_tensor(path):
    from PIL import Image
    from torchvision import transforms as T
    t = T.Compose([T.Resize(224, interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(224), T.ToTensor(),
                   T.Normalize((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))])
    with open(path, "rb") as f:
        return t(Image.open(f).convert("RGB"))


def video_tensor(path, clips=5, clip_s=2, frames=2, size=224, crops=3):
    """ImageBind's video loader re-implemented: [clips x crops, 3, frames, size, size]. Frames come from
    the ffmpeg CLI as RGB (ImageBind reads them with decord; both are FFmpeg), indexed as decord is:
    clip [start, end) takes frames ceil(fps x start) .. ceil(fps x end) - 1."""
    import math
    import subprocess
    from fractions import Fraction
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=avg_frame_rate,width,height", "-of", "json", path],
                           check=True, capture_output=True, text=True)
    st = json.loads(probe.stdout)["streams"][0]
    fps = float(Fraction(st["avg_frame_rate"]))
    w, h = int(st["width"]), int(st["height"])
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, capture_output=True).stdout
    video = torch.from_numpy(np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3).copy())
    count = video.shape[0]
    duration = count / fps
    max_start = Fraction(max(duration - clip_s, 0))
    mean = torch.tensor((0.48145466, 0.4578275, 0.40821073))[:, None, None, None]
    std = torch.tensor((0.26862954, 0.26130258, 0.27577711))[:, None, None, None]
    out = []
    for i in range(clips):
        start = Fraction(max_start, max(clips - 1, 1)) * i
        end = start + Fraction(clip_s)
        idx = list(range(math.ceil(fps * start), min(math.ceil(fps * end), count)))
        clip = video[idx].permute(3, 0, 1, 2).float()  # C,T,H,W
        pick = torch.linspace(0, clip.shape[1] - 1, frames).clamp(0, clip.shape[1] - 1).long()
        clip = clip.index_select(1, pick) / 255.0
        c, t, hh, ww = clip.shape
        nh, nw = (int(math.floor(hh / ww * size)), size) if ww < hh else (size, int(math.floor(ww / hh * size)))
        clip = torch.nn.functional.interpolate(clip, size=(nh, nw), mode="bilinear", align_corners=False)
        clip = (clip - mean) / std
        for k in ([0, 1, 2] if crops == 3 else [1]):
            y, x = math.ceil((nh - size) / 2), math.ceil((nw - size) / 2)
            if nh > nw:
                y = 0 if k == 0 else nh - size if k == 2 else y
            else:
                x = 0 if k == 0 else nw - size if k == 2 else x
            out.append(clip[:, :, y:y + size, x:x + size])
    return torch.stack(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-args", required=True)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--audio", nargs="*", default=[])
    ap.add_argument("--image", nargs="*", default=[])
    ap.add_argument("--video", nargs="*", default=[])
    ap.add_argument("--ref")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    model = ImageBindModel(**json.loads(args.model_args)).eval()
    torch.save(model.state_dict(), args.ckpt)
    if not args.ref:
        return
    out = {}
    with torch.no_grad():
        if args.audio:
            import make_audio_fixtures as audio_loader
            x = torch.stack([torch.from_numpy(audio_loader.transform(p)) for p in args.audio])  # [N,3,1,128,204]
            out["audio"] = model({"audio": x})["audio"].numpy()
        if args.image:
            x = torch.stack([image_tensor(p) for p in args.image])
            out["vision"] = model({"vision": x})["vision"].numpy()
        if args.video:
            x = torch.stack([video_tensor(p) for p in args.video])  # [N,15,3,2,224,224]
            out["video"] = model({"vision": x})["vision"].numpy()
    os.makedirs(args.ref, exist_ok=True)
    for m, e in out.items():
        np.save(os.path.join(args.ref, f"{m}.npy"), e.astype(np.float32))


if __name__ == "__main__":
    main()
