"""Train EdgeBind-tiny with ImageBind's recipe, in one seeded command.

    python3 tools/edgebind-tiny/train.py --seed 0 --out /tmp/edgebind-tiny

1. BPE vocabulary from the caption corpus (CLIP file format).
2. Render + preprocess the training and held-out sets once (cache under /tmp).
3. Stage 1: image <-> text, symmetric InfoNCE, learnable temperature (the text logit scale).
4. Stage 2: image and text frozen; audio, depth, thermal and IMU encoders each trained only
   against (precomputed, frozen) image embeddings with symmetric InfoNCE. Never against text.
Writes <out>/edgebind_tiny.pt (weights + config + tokenizer info) and <out>/train_log.json.
"""
from __future__ import annotations

import os

# one BLAS/OpenMP thread: on a shared 2-core machine a second thread mostly spins at barriers
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import stream  # noqa: E402
import tokenizer as tk  # noqa: E402
import world  # noqa: E402
from model import EdgeBindTiny  # noqa: E402

X_MODALITIES = ["audio", "depth", "thermal", "imu"]


def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def info_nce(a, b, scale):
    logits = scale * a @ b.t()
    target = torch.arange(a.shape[0])
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))


def info_nce_concepts(a, b, scale, concepts):
    """Symmetric InfoNCE where every pair of the same concept is a positive (targets spread evenly
    over them). With 14 concepts a batch of 64 holds about 4.6 captions per concept; plain InfoNCE
    calls all but one of them negatives, which caps how far the loss can fall and blurs the
    concept boundaries that zero-shot classification needs."""
    logits = scale * a @ b.t()
    pos = (concepts[:, None] == concepts[None, :]).float()
    target = pos / pos.sum(1, keepdim=True)
    l1 = -(target * F.log_softmax(logits, dim=1)).sum(1).mean()
    l2 = -(target * F.log_softmax(logits.t(), dim=1)).sum(1).mean()
    return 0.5 * (l1 + l2)


def info_nce_groups(a, b, scale, groups):
    """Symmetric InfoNCE inside each group of the batch (rows [g*k, (g+1)*k) form group g)."""
    if groups <= 1:
        return info_nce(a, b, scale)
    k = a.shape[0] // groups
    a = a.reshape(groups, k, -1)
    b = b.reshape(groups, k, -1)
    logits = scale * torch.einsum("gid,gjd->gij", a, b)
    target = torch.arange(k).repeat(groups)
    l1 = F.cross_entropy(logits.reshape(groups * k, k), target)
    l2 = F.cross_entropy(logits.transpose(1, 2).reshape(groups * k, k), target)
    return 0.5 * (l1 + l2)


def sample_batch(rng, concepts, batch, groups):
    """groups > 0: `groups` groups, each one random sample of every concept (no two samples of a
    group share a concept, so InfoNCE has no false negatives); otherwise a uniform batch."""
    if groups <= 0:
        return np.sort(rng.choice(len(concepts), batch, replace=False)), 1
    by_c = sample_batch.by_c if hasattr(sample_batch, "by_c") and sample_batch.n == len(concepts) else None
    if by_c is None:
        by_c = [np.flatnonzero(concepts == c) for c in range(int(concepts.max()) + 1)]
        sample_batch.by_c, sample_batch.n = by_c, len(concepts)
    idx = [rng.choice(ix) for _ in range(groups) for ix in by_c]
    return np.asarray(idx), groups


def cosine_lr(step, total, base, warmup):
    if step < warmup:
        return base * (step + 1) / warmup
    p = (step - warmup) / max(1, total - warmup)
    return base * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * p)))


def tokens_for(tok, texts):
    ids = torch.tensor(tok(texts), dtype=torch.long)
    # causal mask: the EOT output only sees positions <= EOT, so a prefix up to the longest EOT is exact
    l = int((ids != 0).sum(1).max())
    return ids[:, :l]


@torch.no_grad()
def embed_all(model, ds, modality, bs=256, view=None):
    """Embeds every sample of `ds`; `view` names another cached array of the modality (e.g. depth_stream)."""
    model.eval()
    out = []
    n = len(ds["concept"])
    for i in range(0, n, bs):
        x = torch.from_numpy(data.batch(ds, view or modality, np.arange(i, min(n, i + bs))))
        out.append(model.encode(modality, x))
    return torch.cat(out)


@torch.no_grad()
def zero_shot(model, tok, ds, modalities, suffix=""):
    model.eval()
    prompts = world.zero_shot_prompts()
    t = model.encode("text", torch.tensor(tok(prompts), dtype=torch.long))
    y = torch.from_numpy(np.asarray(ds["concept"]))
    res = {}
    for m in modalities:
        e = embed_all(model, ds, m, view=m + suffix if suffix else None)
        res[m] = float(((e @ t.t()).argmax(1) == y).float().mean())
    return res


def stream_batch(train, modality, idx, x, rng, prob, by_concept, concepts):
    """Replaces a fraction `prob` of the batch by stream conditions (stream.py): the cached sensor views for
    depth/thermal, windows joined with another sample for IMU/audio (a third of the partners of the same
    concept: a seam inside one activity)."""
    pick = np.flatnonzero(rng.random(len(idx)) < prob)
    if len(pick) == 0:
        return x
    if modality in ("depth", "thermal"):
        x[pick] = np.asarray(train[modality + "_stream"][idx[pick]], dtype=np.float32)
    elif modality in ("imu", "audio"):
        partners = np.array([rng.choice(by_concept[concepts[i]]) if rng.random() < 1 / 3 else rng.integers(len(concepts))
                             for i in idx[pick]])
        order = np.argsort(partners)  # memory-mapped fancy indexing wants sorted indices to be quick
        b = np.empty_like(x[pick])
        b[order] = data.batch(train, modality, partners[order])
        x[pick] = stream.join_time_series(x[pick], b, rng)
    return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="/tmp/edgebind-tiny")
    ap.add_argument("--cache", default="/tmp/edgebind-tiny-cache")
    ap.add_argument("--train-per-concept", type=int, default=240)
    ap.add_argument("--val-per-concept", type=int, default=20)
    ap.add_argument("--background", type=int, default=240,
                    help="training samples of empty scenes (label BACKGROUND, captions like 'an empty scene')")
    ap.add_argument("--stage1-steps", type=int, default=1800)
    ap.add_argument("--stage2-steps", type=int, default=500)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--merges", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--render-only", action="store_true")
    ap.add_argument("--stage2-modalities", default=",".join(X_MODALITIES),
                    help="comma-separated encoders stage 2 trains (the others keep their --init weights)")
    ap.add_argument("--init", default=None,
                    help="start from this checkpoint's weights (with --stage1-steps 0: retrain stage 2 only)")
    ap.add_argument("--stop-after-stage1", action="store_true")
    ap.add_argument("--warmup", type=int, default=40)
    ap.add_argument("--stage1-positives", choices=["concept", "pair"], default="pair",
                    help="stage 1 positives: every caption of the image's concept, or only its own caption")
    ap.add_argument("--stream-prob", type=float, default=0.0,
                    help="stage 2: fraction of each batch shown under stream conditions (stream.py); 0 = rendered samples only")
    ap.add_argument("--background-frac", type=float, default=0.0,
                    help="stage 2: expected fraction of each batch drawn from the empty scenes (0: uniform draws)")
    ap.add_argument("--stage2-lr", type=float, default=None, help="stage 2 learning rate (default --lr)")
    ap.add_argument("--time-budget-s", type=float, default=None,
                    help="stage 2: fewer steps than --stage2-steps if the measured step rate would not finish in this time")
    ap.add_argument("--groups", type=int, default=0,
                    help="batches of G groups x one sample per concept (0: uniform batches of --batch)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    seed_all(args.seed)
    os.makedirs(args.out, exist_ok=True)
    log = {"args": vars(args), "stage1": [], "stage2": [], "torch": torch.__version__,
           "blas": [l.strip() for l in torch.__config__.show().splitlines() if "BLAS_INFO" in l][:1]}
    t_start = time.time()

    # 1. tokenizer
    merges = tk.train_bpe(world.caption_corpus(), args.merges)
    vocab_path = os.path.join(args.out, "bpe_edgebind_tiny.txt.gz")
    tk.write_vocab(vocab_path, merges)
    tok = tk.Tokenizer(vocab_path)
    print(f"BPE: {len(merges)} merges, vocab {tok.vocab_size}", flush=True)

    # 2. data (training seeds [0, N); validation seeds from world.EVAL_SEED_BASE + 500000 so they
    #    also differ from the committed evaluation set, which starts at EVAL_SEED_BASE)
    n_train = args.train_per_concept * world.NUM_CONCEPTS
    n_val = args.val_per_concept * world.NUM_CONCEPTS
    t0 = time.time()
    train = data.build(os.path.join(args.cache, f"train_{n_train}"), list(range(n_train)))
    if args.background > 0:
        bg = data.build(os.path.join(args.cache, f"background_{args.background}"),
                        list(range(world.BACKGROUND_SEED_BASE, world.BACKGROUND_SEED_BASE + args.background)), label=world.BACKGROUND)
        train = {k: np.concatenate([np.asarray(train[k]), np.asarray(bg[k])]) for k in train}
    val = data.build(os.path.join(args.cache, f"val_{n_val}"), list(range(world.EVAL_SEED_BASE + 500000, world.EVAL_SEED_BASE + 500000 + n_val)))
    log["render_s"] = time.time() - t0
    print(f"data: {n_train} train, {n_val} val, {log['render_s']:.0f}s", flush=True)
    if args.render_only:
        return

    if args.init:
        init = torch.load(args.init, map_location="cpu")
        model = EdgeBindTiny(init["cfg"])
        model.load_state_dict(init["state_dict"])
        log["init"] = args.init
    else:
        model = EdgeBindTiny({"vocab_size": tok.vocab_size})
    g = torch.Generator().manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    # 3. stage 1: vision <-> text
    t1 = time.time()
    params = list(model.modality_preprocessors["vision"].parameters()) + list(model.modality_trunks["vision"].parameters()) + \
        list(model.modality_heads["vision"].parameters()) + list(model.modality_preprocessors["text"].parameters()) + \
        list(model.modality_trunks["text"].parameters()) + list(model.modality_heads["text"].parameters()) + \
        list(model.modality_postprocessors["text"].parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.05, betas=(0.9, 0.98))
    concepts = np.asarray(train["concept"])
    for step in range(args.stage1_steps):
        model.train()
        for pg in opt.param_groups:
            pg["lr"] = cosine_lr(step, args.stage1_steps, args.lr, args.warmup)
        idx, groups = sample_batch(rng, concepts, args.batch, args.groups)
        img = data.batch(train, "vision", idx)
        flip = rng.random(len(idx)) < 0.5
        img[flip] = img[flip][..., ::-1]
        # a fresh caption per sample and step (the world's caption sampler, seeded per draw)
        caps = [world.caption(np.random.default_rng([int(i), step, args.seed]), int(concepts[i]), {}) for i in idx]
        ids = tokens_for(tok, caps)
        zi = model.encode("vision", torch.from_numpy(np.ascontiguousarray(img)))
        zt = model.encode("text", ids)
        if args.stage1_positives == "concept" and groups <= 1:
            loss = info_nce_concepts(zi, zt, model.text_logit_scale(), torch.from_numpy(concepts[idx]))
        else:
            loss = info_nce_groups(zi, zt, model.text_logit_scale(), groups)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 10 == 0 or step == args.stage1_steps - 1:
            rec = {"step": step, "loss": round(float(loss), 4), "scale": round(float(model.text_logit_scale()), 2), "t": round(time.time() - t1, 1)}
            log["stage1"].append(rec)
            print("stage1", rec, flush=True)
    log["stage1_s"] = time.time() - t1
    if args.init and args.stage1_steps == 0:
        # stage 2 only: the report keeps the stage 1 that made these weights
        first = json.load(open(os.path.join(os.path.dirname(os.path.abspath(args.init)), "train_log.json")))
        log["stage1"], log["stage1_s"] = first["stage1"], first["stage1_s"]
        log["args"]["stage1_steps"] = first["args"]["stage1_steps"]
    log["stage1_val"] = zero_shot(model, tok, val, ["vision"])
    print("stage1 val zero-shot", log["stage1_val"], flush=True)
    if args.stop_after_stage1:
        return

    # 4. stage 2: X <-> frozen image embeddings
    t2 = time.time()
    for m in ["vision", "text"]:
        for mod in (model.modality_preprocessors[m], model.modality_trunks[m], model.modality_heads[m], model.modality_postprocessors[m]):
            for p in mod.parameters():
                p.requires_grad_(False)
    img_emb = embed_all(model, train, "vision")
    log["image_embed_s"] = time.time() - t2
    stage2 = [m for m in X_MODALITIES if m in args.stage2_modalities.split(",")]
    temps = torch.nn.Parameter(torch.full((len(stage2),), math.log(1 / 0.07)))
    params = [temps]
    for m in stage2:
        for mod in (model.modality_preprocessors[m], model.modality_trunks[m], model.modality_heads[m]):
            params += list(mod.parameters())
    lr2 = args.lr if args.stage2_lr is None else args.stage2_lr
    opt = torch.optim.AdamW(params, lr=lr2, weight_decay=0.05, betas=(0.9, 0.98))
    by_concept = [np.flatnonzero(concepts == c) for c in range(int(concepts.max()) + 1)]
    background_idx = np.flatnonzero(concepts == world.BACKGROUND)
    if args.background_frac > 0 and len(background_idx) == 0:
        raise SystemExit("--background-frac needs background samples (--background N)")
    step = 0
    while step < args.stage2_steps:
        if args.time_budget_s and step >= 20 and step % 50 == 20:
            # the machine is shared: re-measure the step rate as it goes and only ever shorten the run
            # (the final evaluation takes about as long as 60 steps)
            rate = (time.time() - t_loop) / step
            budget_steps = step + int((args.time_budget_s - (time.time() - t_start)) / rate) - 60
            if budget_steps < args.stage2_steps:
                print(f"stage2: {rate:.2f} s/step; {budget_steps} steps fit the time budget", flush=True)
                log["stage2_steps_budgeted"] = {"asked": log.get("stage2_steps_budgeted", {}).get("asked", args.stage2_steps),
                                                "ran": max(budget_steps, step + 1)}
                args.stage2_steps = max(budget_steps, step + 1)
        if step == 0:
            t_loop = time.time()
        model.train()
        for pg in opt.param_groups:
            pg["lr"] = cosine_lr(step, args.stage2_steps, lr2, args.warmup)
        idx, groups = sample_batch(rng, concepts, args.batch, args.groups)
        if args.background_frac > 0:
            # streams spend much of their time on nothing of interest: show stage 2 more empty scenes than the
            # uniform draw does (the background split is a small share of the training set)
            swap = np.flatnonzero(rng.random(len(idx)) < args.background_frac)
            idx[swap] = rng.choice(background_idx, len(swap), replace=False)
            idx = np.sort(idx)
        zi = img_emb[torch.from_numpy(idx)]
        losses = {}
        total = 0.0
        for k, m in enumerate(stage2):
            x = data.batch(train, m, idx)
            if args.stream_prob > 0:
                x = stream_batch(train, m, idx, x, rng, args.stream_prob, by_concept, concepts)
            zx = model.encode(m, torch.from_numpy(x))
            l = info_nce_groups(zx, zi, temps[k].exp().clamp(max=100), groups)
            losses[m] = round(float(l), 4)
            total = total + l
        opt.zero_grad()
        total.backward()
        opt.step()
        if step % 10 == 0 or step == args.stage2_steps - 1:
            rec = {"step": step, **losses, "t": round(time.time() - t2, 1)}
            log["stage2"].append(rec)
            print("stage2", rec, flush=True)
        step += 1
    log["stage2_s"] = time.time() - t2
    log["stage2_temperatures"] = {m: float(temps[k].exp()) for k, m in enumerate(stage2)}
    log["val_zero_shot"] = zero_shot(model, tok, val, ["vision"] + X_MODALITIES)
    print("val zero-shot", log["val_zero_shot"], flush=True)
    log["val_zero_shot_sensor_views"] = zero_shot(model, tok, val, ["depth", "thermal"], suffix="_stream")
    print("val zero-shot, sensor views (stream.py)", log["val_zero_shot_sensor_views"], flush=True)
    log["total_s"] = time.time() - t_start
    torch.save({"state_dict": model.state_dict(), "cfg": model.cfg, "merges": len(merges), "seed": args.seed},
               os.path.join(args.out, "edgebind_tiny.pt"))
    json.dump(log, open(os.path.join(args.out, "train_log.json"), "w"), indent=1)
    print(f"done in {log['total_s']:.0f}s -> {args.out}", flush=True)


if __name__ == "__main__":
    main()
