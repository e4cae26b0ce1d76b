"""Held-out evaluation of EdgeBind-tiny (seeds disjoint from training).

    python3 tools/edgebind-tiny/evaluate.py --ckpt /tmp/edgebind-tiny/edgebind_tiny.pt \
        --out /tmp/edgebind-tiny/evaluation.json

- zero-shot X -> text top-1 over the concept prompts ("a photo of a dog", ...): vision is trained
  against text; audio, depth, thermal and IMU never saw text (emergent).
- audio -> image retrieval R@1: instance level (the paired image is the nearest of all held-out
  images) and concept level (the nearest image shows the same concept).
- embedding arithmetic: query = image(A) + audio(B) over a gallery of two-concept images (every
  unordered pair); success when the top-1 image contains both A and B. Compared with chance and
  with the image-only / audio-only queries.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import preprocess as pp  # noqa: E402
import tokenizer as tk  # noqa: E402
import world  # noqa: E402
from model import EdgeBindTiny  # noqa: E402

X = ["audio", "depth", "thermal", "imu"]
HELDOUT_BASE = world.EVAL_SEED_BASE + 100000
ARITH_BASE = world.EVAL_SEED_BASE + 200000


def load_model(ckpt_path):
    ck = torch.load(ckpt_path, map_location="cpu")
    model = EdgeBindTiny(ck["cfg"])
    model.load_state_dict(ck["state_dict"])
    model.eval()
    return model, ck


@torch.no_grad()
def embed(model, modality, x, bs=128):
    out = []
    for i in range(0, len(x), bs):
        out.append(model.encode(modality, torch.as_tensor(np.asarray(x[i:i + bs]))))
    return torch.cat(out)


@torch.no_grad()
def text_embeddings(model, tok, prompts):
    return model.encode("text", torch.tensor(tok(prompts), dtype=torch.long))


def top1(emb, txt, labels):
    pred = (emb @ txt.t()).argmax(1).numpy()
    return float((pred == np.asarray(labels)).mean())


@torch.no_grad()
def evaluate(model, tok, per_concept=30, arith_per_pair=2, cache="/tmp/edgebind-tiny-cache"):
    n = per_concept * world.NUM_CONCEPTS
    ds = data.build(os.path.join(cache, f"heldout_{n}"), list(range(HELDOUT_BASE, HELDOUT_BASE + n)))
    labels = np.asarray(ds["concept"])
    txt = text_embeddings(model, tok, world.zero_shot_prompts())
    emb = {m: embed(model, m, data.batch(ds, m, np.arange(n))) for m in ["vision"] + X}
    res = {"heldout_samples": n, "heldout_seeds": [HELDOUT_BASE, HELDOUT_BASE + n - 1],
           "chance_zero_shot": 1.0 / world.NUM_CONCEPTS}
    res["zero_shot_top1"] = {m: top1(emb[m], txt, labels) for m in ["vision"] + X}
    # per-concept accuracy (for the model card)
    res["zero_shot_top1_per_concept"] = {}
    for m in ["vision"] + X:
        pred = (emb[m] @ txt.t()).argmax(1).numpy()
        res["zero_shot_top1_per_concept"][m] = {world.CONCEPT_KEYS[c]: float((pred[labels == c] == c).mean()) for c in range(world.NUM_CONCEPTS)}
    # "nothing of interest": held-out empty scenes against the 14 prompts plus the background prompt
    # (what a runtime's classification group with a background class sees)
    nb = per_concept
    bg = data.build(os.path.join(cache, f"heldout_background_{nb}"),
                    list(range(world.BACKGROUND_SEED_BASE + 500000, world.BACKGROUND_SEED_BASE + 500000 + nb)), label=world.BACKGROUND)
    txt15 = text_embeddings(model, tok, world.zero_shot_prompts() + [world.BACKGROUND_PROMPT])
    res["background"] = {"prompt": world.BACKGROUND_PROMPT, "samples": nb, "background_recognised": {}, "concepts_kept": {}}
    for m in ["vision"] + X:
        eb = embed(model, m, data.batch(bg, m, np.arange(nb)))
        res["background"]["background_recognised"][m] = float(((eb @ txt15.t()).argmax(1) == world.BACKGROUND).float().mean())
        res["background"]["concepts_kept"][m] = top1(emb[m], txt15, labels)
    # audio -> image retrieval
    sim = emb["audio"] @ emb["vision"].t()
    nn_idx = sim.argmax(1).numpy()
    res["audio_to_image_R@1_instance"] = float((nn_idx == np.arange(n)).mean())
    res["audio_to_image_R@1_concept"] = float((labels[nn_idx] == labels).mean())
    res["audio_to_image_R@1_instance_chance"] = 1.0 / n
    # embedding arithmetic
    pairs = list(itertools.combinations(range(world.NUM_CONCEPTS), 2))
    gallery, glab = [], []
    for k, (a, b) in enumerate(pairs):
        for j in range(arith_per_pair):
            seed = ARITH_BASE + k * 10 + j
            order = [a, b] if j % 2 == 0 else [b, a]
            gallery.append(pp.vision_tensor(world.render_composite_image(seed, order)))
            glab.append((a, b))
    g = embed(model, "vision", np.stack(gallery))
    hits = {"sum": 0, "image_only": 0, "audio_only": 0}
    trials = 0
    rng = np.random.default_rng(0)
    for (a, b) in pairs:
        for (p, q) in ((a, b), (b, a)):
            ia = rng.choice(np.flatnonzero(labels == p))
            ib = rng.choice(np.flatnonzero(labels == q))
            queries = {"sum": emb["vision"][ia] + emb["audio"][ib], "image_only": emb["vision"][ia], "audio_only": emb["audio"][ib]}
            for name, qv in queries.items():
                qv = qv / qv.norm()
                best = int((g @ qv).argmax())
                if set(glab[best]) == {p, q}:
                    hits[name] += 1
            trials += 1
    res["arithmetic"] = {
        "gallery": len(gallery), "pairs": len(pairs), "trials": trials,
        "top1_contains_both": {k: v / trials for k, v in hits.items()},
        "chance": 1.0 / len(pairs),
    }
    return res


TARGETS = {"vision": 95.0, "audio": 80.0, "depth": 70.0, "thermal": 70.0, "imu": 70.0}
IMAGEBIND_ANCHORS = {"vision": "IN1k 77.7", "audio": "ESC 66.9", "depth": "NYU-D 54.0", "thermal": "LLVIP 63.4", "imu": "Ego4D 25.0"}


def summary_table(res, ckpt_dir):
    """The manifest's evaluation table."""
    pct = lambda v: round(100.0 * v, 1)  # noqa: E731
    tab = {
        "dataset": "EdgeBind-tiny synthetic world, held-out seeds %d-%d (%d samples, %d concepts)" % (
            res["heldout_seeds"][0], res["heldout_seeds"][1], res["heldout_samples"], world.NUM_CONCEPTS),
        "metric": "zero-shot top-1 %% over the %d concept prompts ('a photo of ...'); vision is trained against text, "
                  "audio/depth/thermal/imu only against images (emergent)" % world.NUM_CONCEPTS,
        "zero_shot_top1": {m: pct(v) for m, v in res["zero_shot_top1"].items()},
        "targets": TARGETS,
        "chance": pct(res["chance_zero_shot"]),
        "imagebind_huge_emergent_zero_shot_anchor": IMAGEBIND_ANCHORS,
        "audio_to_image_R@1": {"instance": pct(res["audio_to_image_R@1_instance"]),
                               "same_concept": pct(res["audio_to_image_R@1_concept"]),
                               "instance_chance": round(100.0 * res["audio_to_image_R@1_instance_chance"], 2)},
        "arithmetic_image_plus_audio_top1_contains_both": {k: pct(v) for k, v in res["arithmetic"]["top1_contains_both"].items()},
        "arithmetic_chance": round(100.0 * res["arithmetic"]["chance"], 2),
    }
    log_path = os.path.join(ckpt_dir, "train_log.json")
    if os.path.exists(log_path):
        log = json.load(open(log_path))
        tab["training"] = {"seed": log["args"]["seed"], "wall_time_s": round(log["total_s"]),
                           "train_samples": log["args"]["train_per_concept"] * world.NUM_CONCEPTS,
                           "stage1_steps": log["args"]["stage1_steps"], "stage2_steps": log["args"]["stage2_steps"],
                           "batch": log["args"]["batch"]}
    return tab


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default="/tmp/edgebind-tiny/edgebind_tiny.pt")
    ap.add_argument("--vocab", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--per-concept", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, ck = load_model(args.ckpt)
    vocab = args.vocab or os.path.join(os.path.dirname(args.ckpt), "bpe_edgebind_tiny.txt.gz")
    tok = tk.Tokenizer(vocab, ck["merges"])
    t0 = time.time()
    res = evaluate(model, tok, args.per_concept)
    res["eval_s"] = time.time() - t0
    print(json.dumps(res, indent=1))
    out = args.out or os.path.join(os.path.dirname(args.ckpt), "evaluation.json")
    json.dump(res, open(out, "w"), indent=1)
    json.dump(summary_table(res, os.path.dirname(args.ckpt)), open(os.path.join(os.path.dirname(out), "evaluation_table.json"), "w"), indent=1)
    # one real input per modality for the exporter's parity fixtures
    s = world.render(HELDOUT_BASE + 1)
    real = {"vision": pp.vision_tensor(s["image"])[None], "audio": pp.audio_clip_tensor(s["audio"])[None],
            "depth": pp.depth_tensor(s["depth"])[None], "thermal": pp.thermal_tensor(s["thermal"])[None],
            "imu": pp.imu_tensor(s["imu"])[None], "text": np.asarray(tok([s["caption"]]), dtype=np.int64)}
    np.savez(os.path.join(os.path.dirname(out), "real_inputs.npz"), **real)


if __name__ == "__main__":
    main()
