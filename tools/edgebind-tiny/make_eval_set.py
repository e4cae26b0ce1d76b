"""Write the committed held-out evaluation set in the runtime's FILE formats, with the expected
embeddings computed from the files as the runtime reads them.

    python3 tools/edgebind-tiny/make_eval_set.py --ckpt /tmp/edgebind-tiny/edgebind_tiny.pt \
        --vocab models/edgebind-tiny/bpe_edgebind_tiny.txt.gz --out models/edgebind-tiny-eval

Files (per concept, --per-concept samples; seeds from world.EVAL_SEED_BASE, never used in training):
  vision/<concept>_<k>.png    224x224 RGB PNG
  audio/<concept>_<k>.wav     16-bit PCM, 16 kHz, mono, 2 s
  depth/<concept>_<k>.png     16-bit greyscale PNG, millimetres
  thermal/<concept>_<k>.npy   float32 [224,224], degrees C
  imu/<concept>_<k>.csv       t,ax,ay,az,gx,gy,gz (200 Hz, 2000 rows)
  index.json                  files, concepts, prompts, zero-shot accuracies on this set
  expected_embeddings.npz     per modality [n,256] float32 in index order (key = modality; "text"
                              holds the prompt embeddings in concept order)
  vision_boxes.json           per image the concept's box [x, y, width, height] in pixels
                              (--boxes-only rewrites just this file, checking each image re-renders identically)
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch
from PIL import Image
from scipy.io import wavfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import preprocess as pp  # noqa: E402
import tokenizer as tk  # noqa: E402
import world  # noqa: E402
from evaluate import load_model  # noqa: E402

MODS = ["vision", "audio", "depth", "thermal", "imu"]
EXT = {"vision": "png", "audio": "wav", "depth": "png", "thermal": "npy", "imu": "csv"}



def eval_dir_for(pkg: str) -> str:
    """Where a package's evaluation set lives: beside it, so that it does not ship with the model."""
    return os.path.normpath(pkg) + "-eval"

def write_files(out: str, per_concept: int) -> list[dict]:
    for m in MODS:
        os.makedirs(os.path.join(out, m), exist_ok=True)
    files = []
    counts = [0] * world.NUM_CONCEPTS
    seed = world.EVAL_SEED_BASE
    while min(counts) < per_concept:
        c = world.concept_for_seed(seed)
        if counts[c] < per_concept:
            s = world.render(seed)
            k = counts[c]
            key = world.CONCEPT_KEYS[c]
            paths = {m: f"{m}/{key}_{k}.{EXT[m]}" for m in MODS}
            Image.fromarray(s["image"]).save(os.path.join(out, paths["vision"]), optimize=True)
            pcm = np.clip(np.round(s["audio"] * 32767.0), -32768, 32767).astype(np.int16)
            wavfile.write(os.path.join(out, paths["audio"]), world.SR, pcm)
            pp.write_depth_png16(os.path.join(out, paths["depth"]), s["depth"])
            np.save(os.path.join(out, paths["thermal"]), s["thermal"].astype(np.float32))
            pp.write_imu_csv(os.path.join(out, paths["imu"]), s["imu"])
            for m in MODS:
                files.append({"path": paths[m], "modality": m, "concept": key, "seed": seed})
            counts[c] += 1
        seed += 1
    return files


def write_boxes(out: str) -> dict:
    """vision_boxes.json: each evaluation image's concept box, re-rendered from its seed. Re-rendering
    must give the committed PNG's pixels exactly (the box belongs to that image); otherwise this fails."""
    with open(os.path.join(out, "index.json")) as fh:
        index = json.load(fh)
    images = []
    for f in index["files"]:
        if f["modality"] != "vision":
            continue
        s = world.render(f["seed"])
        committed = np.asarray(Image.open(os.path.join(out, f["path"])).convert("RGB"))
        if s["key"] != f["concept"] or not np.array_equal(committed, s["image"]):
            raise SystemExit(f"{f['path']}: seed {f['seed']} no longer renders this image; boxes would not match it")
        images.append({"path": f["path"], "seed": f["seed"], "objects": [{"concept": f["concept"], "box": s["box"]}]})
    doc = {"description": "Ground truth boxes of the evaluation images: [x, y, width, height] in pixels of the "
                          "224x224 image, around the concept's visible painted pixels (world.py paints a coverage "
                          "mask beside the colour layer)",
           "images": images}
    with open(os.path.join(out, "vision_boxes.json"), "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    return doc


def file_tensor(out: str, f: dict) -> np.ndarray:
    """[clips, ...] runtime input tensors made from the file."""
    p = os.path.join(out, f["path"])
    m = f["modality"]
    if m == "vision":
        return pp.vision_tensor(pp.read_image_file(p))[None]
    if m == "audio":
        w, sr = pp.read_wav_file(p)
        assert sr == 16000
        return pp.audio_file_clips(w)
    if m == "depth":
        return pp.depth_tensor(pp.read_depth_png16(p))[None]
    if m == "thermal":
        return pp.thermal_tensor(np.load(p))[None]
    if m == "imu":
        return pp.imu_tensor(pp.imu_from_csv_rows(pp.read_imu_csv(p)))[None]
    raise ValueError(m)


@torch.no_grad()
def embed_files(model, out, files):
    emb = {m: [] for m in MODS}
    for f in files:
        x = torch.from_numpy(file_tensor(out, f))
        e = model.encode(f["modality"], x)  # [clips, D], L2-normalised
        e = torch.nn.functional.normalize(e.mean(0), dim=-1)  # runtime: average clips, re-normalise
        f["row"] = len(emb[f["modality"]])
        emb[f["modality"]].append(e.numpy())
    return {m: np.stack(v).astype(np.float32) for m, v in emb.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default="/tmp/edgebind-tiny/edgebind_tiny.pt")
    ap.add_argument("--vocab", default=None)
    ap.add_argument("--out", default="models/edgebind-tiny-eval")
    ap.add_argument("--per-concept", type=int, default=2)
    ap.add_argument("--boxes-only", action="store_true",
                    help="only (re)write vision_boxes.json for the committed images, checking they re-render identically")
    args = ap.parse_args()
    if args.boxes_only:
        print(len(write_boxes(args.out)["images"]), "image boxes written")
        return
    torch.set_num_threads(2)
    model, ck = load_model(args.ckpt)
    vocab = args.vocab or os.path.join(os.path.dirname(args.ckpt), "bpe_edgebind_tiny.txt.gz")
    tok = tk.Tokenizer(vocab, ck["merges"])
    files = write_files(args.out, args.per_concept)
    emb = embed_files(model, args.out, files)
    prompts = world.zero_shot_prompts()
    ids = tok(prompts)
    with torch.no_grad():
        txt = model.encode("text", torch.tensor(ids, dtype=torch.long)).numpy()
    emb["text"] = txt.astype(np.float32)
    np.savez(os.path.join(args.out, "expected_embeddings.npz"), **emb)
    acc = {}
    correct = {}
    for m in MODS:
        rows = [f for f in files if f["modality"] == m]
        pred = (emb[m] @ txt.T).argmax(1)
        ok = [world.CONCEPT_KEYS[int(p)] == f["concept"] for p, f in zip(pred, rows)]
        for f, p in zip(rows, pred):
            f["zero_shot_prediction"] = world.CONCEPT_KEYS[int(p)]
        acc[m] = round(100.0 * sum(ok) / len(ok), 2)
        correct[m] = f"{sum(ok)}/{len(ok)}"
    index = {
        "description": "EdgeBind-tiny held-out evaluation set (synthetic world, seeds disjoint from training). "
                       "Embeddings in expected_embeddings.npz were computed by PyTorch from these files, preprocessed as docs/DESIGN.md says; "
                       "audio: 3 clips (all identical for a 2 s file), embeddings averaged and re-normalised.",
        "model": "edgebind-tiny",
        "concepts": [{"index": i, "key": world.CONCEPT_KEYS[i], "prompt": prompts[i], "prompt_token_ids": ids[i]}
                     for i in range(world.NUM_CONCEPTS)],
        "prompt_template": "a photo of {article}{concept}",
        "per_concept": args.per_concept,
        "files": files,
        "expected_embeddings": {"file": "expected_embeddings.npz", "keys": MODS + ["text"],
                                "row": "files[i].row indexes the modality's array; text rows follow concepts[].index",
                                "min_cosine": 0.999},
        "zero_shot_top1_percent": acc,
        "zero_shot_correct": correct,
        "zero_shot_note": f"{args.per_concept} samples per concept and modality: one sample is {100 / (args.per_concept * world.NUM_CONCEPTS):.1f} points; "
                          "see the model card for the larger held-out evaluation",
    }
    import shutil
    shutil.copyfile(os.path.join(os.path.dirname(os.path.abspath(__file__)), "EVAL_README.md"), os.path.join(args.out, "README.md"))
    with open(os.path.join(args.out, "index.json"), "w") as fh:
        json.dump(index, fh, indent=1)
        fh.write("\n")
    write_boxes(args.out)
    print(json.dumps({"zero_shot_top1_percent": acc, "zero_shot_correct": correct}))


if __name__ == "__main__":
    main()
