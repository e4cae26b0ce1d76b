"""Write models/edgebind-tiny/MODEL_CARD.md and tools/edgebind-tiny/REPORT.md from a run's logs.

    python3 tools/edgebind-tiny/write_model_card.py --run /tmp/edgebind-tiny --pkg models/edgebind-tiny
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_eval_set  # noqa: E402
import world  # noqa: E402

MODS = ["vision", "audio", "depth", "thermal", "imu"]
TARGETS = {"vision": 95, "audio": 80, "depth": 70, "thermal": 70, "imu": 70}
ANCHOR = {"vision": "77.7 (IN1k)", "audio": "66.9 (ESC)", "depth": "54.0 (NYU-D)", "thermal": "63.4 (LLVIP)", "imu": "25.0 (Ego4D)"}


def pct(v):
    return f"{100 * v:.1f}"


def package_size(pkg):
    total = 0
    for root, _, files in os.walk(pkg):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def tables(ev, idx):
    zs = ev["zero_shot_top1"]
    rows = ["| modality | trained against | zero-shot top-1, held-out (%d) | committed eval set (%d/modality) | target | ImageBind-huge anchor |" % (ev["heldout_samples"], len(idx["files"]) // 5 if idx else 0),
            "|---|---|---|---|---|---|"]
    for m in MODS:
        committed = f"{idx['zero_shot_top1_percent'][m]:.1f} ({idx['zero_shot_correct'][m]})" if idx else "-"
        rows.append(f"| {'image' if m == 'vision' else m} | {'text' if m == 'vision' else 'images only (emergent)'} | {pct(zs[m])} | {committed} | {TARGETS[m]} | {ANCHOR[m]} |")
    a = ev["arithmetic"]
    extra = [
        "",
        f"Chance for zero-shot is {pct(ev['chance_zero_shot'])} % ({world.NUM_CONCEPTS} concepts).",
        "",
        "| other metric (held-out) | value | chance |",
        "|---|---|---|",
        f"| audio -> image R@1, the paired image (instance) | {pct(ev['audio_to_image_R@1_instance'])} % | {100 * ev['audio_to_image_R@1_instance_chance']:.2f} % |",
        f"| audio -> image R@1, an image of the same concept | {pct(ev['audio_to_image_R@1_concept'])} % | {pct(ev['chance_zero_shot'])} % |",
        f"| arithmetic: image(A) + audio(B) -> top-1 of {a['gallery']} two-concept images contains A and B | {pct(a['top1_contains_both']['sum'])} % | {100 * a['chance']:.2f} % |",
        f"| same, image(A) alone | {pct(a['top1_contains_both']['image_only'])} % | |",
        f"| same, audio(B) alone | {pct(a['top1_contains_both']['audio_only'])} % | |",
    ]
    if "background" in ev:
        b = ev["background"]
        extra += [
            "",
            f"Background (\"nothing of interest\"): {b['samples']} held-out empty scenes against the 14 prompts plus "
            f"\"{b['prompt']}\", and the held-out concept samples against the same 15 prompts:",
            "",
            "| modality | empty scenes recognised as background | concept samples still top-1 correct |",
            "|---|---|---|",
        ] + [f"| {'image' if m == 'vision' else m} | {pct(b['background_recognised'][m])} % | {pct(b['concepts_kept'][m])} % |" for m in MODS]
    per = ev["zero_shot_top1_per_concept"]
    pc = ["", "Per concept (held-out zero-shot top-1 %):", "", "| concept | " + " | ".join(MODS) + " |", "|---|" + "---|" * len(MODS)]
    for c in world.CONCEPT_KEYS:
        pc.append(f"| {c} | " + " | ".join(f"{100 * per[m][c]:.0f}" for m in MODS) + " |")
    return "\n".join(rows + extra + pc)


def stream_section(args, ev):
    """Per-window accuracy on rendered streams (stream_eval.py) beside held-out zero-shot."""
    if not args.stream_eval:
        return ""
    now = json.load(open(args.stream_eval))
    before = json.load(open(args.stream_eval_before)) if args.stream_eval_before else None
    names = [n for n in now if n != "all"]
    head = "| modality | held-out zero-shot top-1 % | streams, per window % (all " + str(len(names)) + " scenarios) | " + \
        " | ".join(names) + (" | streams before stream retraining % |" if before else " |")
    rows = [head, "|---" * (3 + len(names) + (1 if before else 0)) + "|"]
    for m in ["vision", "audio", "depth", "thermal", "imu"]:
        cells = [m, pct(ev["zero_shot_top1"][m]),
                 f"{100 * now['all'][m]['accuracy']:.1f} ({now['all'][m]['right']}/{now['all'][m]['windows']})"]
        cells += [f"{100 * now[n][m]['accuracy']:.1f}" for n in names]
        if before:
            cells.append(f"{100 * before['all'][m]['accuracy']:.1f}")
        rows.append("| " + " | ".join(cells) + " |")
    return ("\n## Per-window accuracy on streams\n\n"
            "Held-out zero-shot scores one rendered sample at the encoder's own resolution. A stream is harder: "
            "tools/edgebind-tiny/stream_eval.py renders the demo scenario and three others (make_demo.py, other seeds and "
            "layouts: tools/edgebind-tiny/layouts/), cuts them into windows as pipelines/demo.yaml does (camera, depth, "
            "thermal: a frame a second, thermal from a 160x120 sensor scaled up; audio 2 s windows, hop 1 s; IMU 10 s "
            "windows, hop 2 s, most of which straddle two activities) and classifies each window over the 14 prompts "
            "and the empty-scene prompt. A window is right when its class covers at least half of it.\n\n"
            + "\n".join(rows) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", default="/tmp/edgebind-tiny")
    ap.add_argument("--pkg", default="models/edgebind-tiny")
    ap.add_argument("--report", default="tools/edgebind-tiny/REPORT.md")
    ap.add_argument("--notes", default="", help="extra markdown appended to the report")
    ap.add_argument("--stream-eval", help="stream_eval.py's JSON for this model: per-window accuracy on rendered streams")
    ap.add_argument("--stream-eval-before", help="the same for the weights before stream retraining (shown beside it)")
    args = ap.parse_args()
    ev = json.load(open(os.path.join(args.run, "evaluation.json")))
    log = json.load(open(os.path.join(args.run, "train_log.json")))
    idx_path = os.path.join(make_eval_set.eval_dir_for(args.pkg), "index.json")
    idx = json.load(open(idx_path)) if os.path.exists(idx_path) else None
    man = json.load(open(os.path.join(args.pkg, "edgebind-model.json")))
    import torch  # the checkpoint's config names the vision stem
    stem = torch.load(os.path.join(args.run, "edgebind_tiny.pt"), map_location="cpu")["cfg"].get("vision_stem", "patch")
    vision_stem = {
        "patch": "vision 2x2 average pool then 16x16 patches (49 tokens)",
        "conv": "vision a convolutional stem (4x4/4, 2x2/2, 4x4/4 convolutions with BatchNorm and GELU) to 7x7 = 49 tokens",
        "conv3": "vision a convolutional stem (a 4x4/4 convolution, then 3x3/2, 3x3/2 and 2x2/2, BatchNorm and GELU between) to 7x7 = 49 tokens",
    }[stem]
    a = log["args"]
    size = package_size(args.pkg)
    onnx_size = sum(os.path.getsize(os.path.join(args.pkg, m["file"])) for m in man["modalities"].values())
    tab = tables(ev, idx)
    g = a.get("groups", 0)
    if g and g > 0:
        batch_desc = (f"batches of {g} groups x one sample of each of the {world.NUM_CONCEPTS} concepts ({g * world.NUM_CONCEPTS} samples); "
                      "InfoNCE runs inside each group, so no negative shares the positive's concept. The world's "
                      "nuisances are drawn independently per modality, so the concept is the only information the "
                      "modalities share and same-concept negatives would only be false negatives.")
    elif a.get("stage1_positives", "pair") == "concept":
        batch_desc = (f"uniform random batches of {a['batch']}; in stage 1 every caption of an image's concept is a "
                      "positive (targets spread evenly over them), because a batch of 64 from 14 concepts holds about "
                      "4.6 captions per concept and plain InfoNCE would push all but one away. Stage 2 keeps "
                      "ImageBind's instance pairs: only an X sample's own image is its positive")
    else:
        batch_desc = f"uniform random batches of {a['batch']} (same-concept samples act as negatives)"
    concepts = ", ".join(f"{k} (\"{world.zero_shot_prompt(i)}\")" for i, k in enumerate(world.CONCEPT_KEYS))
    streams = stream_section(args, ev)
    retrain = ""
    if a.get("stream_prob", 0) > 0:
        retrain = (f"- stream conditions (tools/edgebind-tiny/stream.py): stage 2 was continued from the {a.get('init', 'previous')} "
                   f"weights for the {a.get('stage2_modalities')} encoders only (image, text and audio encoders unchanged), "
                   f"{a['stage2_steps']} steps at lr {a.get('stage2_lr') or a['lr']}, with {int(a['stream_prob'] * 100)} % of each batch "
                   "under stream conditions: thermal as a 160x120 / 80x60 / 32x24 / 320x240 4:3 sensor scaled back up "
                   "(as the runtime does), depth in whole millimetres from other resolutions with holes, IMU windows "
                   "joined from two samples (the end of one activity and the start of the next, or two draws of one activity), "
                   f"and {int(a.get('background_frac', 0) * 100)} % of each batch empty scenes (streams spend much of their time on "
                   "nothing of interest). Still ImageBind's recipe: every pair is X <-> its image, never X <-> text.\n")
    card = f"""# EdgeBind-tiny {man['version']}

A tiny ImageBind-style joint embedding: six encoders (image, text, audio, depth, thermal, IMU) map
into one 256-d L2-normalised space. It is the model bundled with EdgeBind so that the runtime,
its tests and the demo work offline. **It only knows EdgeBind's synthetic world**: 14 procedurally
rendered concepts. It has never seen a real photo, sound, depth map, thermal frame or IMU trace and
will produce meaningless similarities on real sensor data. Use an exported ImageBind
(tools/export/README.md) for the real world.

## What it was trained on

`tools/edgebind-tiny/world.py`: each sample draws one concept and nuisances (position, distance,
scale, colours, indoor/outdoor background, day/night lighting, tint, pixel/depth/thermal noise,
background noise type and SNR 3-30 dB, loudness -34..-14 dBFS, speed/pitch of the sound and the
activity, mounting tilt of the IMU) and renders all modalities from the same scene: a 224x224 RGB
image; metric depth (a pinhole camera over a floor plane, walls or sky at 60 m, objects at the
distance implied by their size); temperatures in degrees C (ambient, sky, warm bodies, hot
engines, fires of 300-750 C); 2 s of 16 kHz audio synthesised for the concept; 10 s of 200 Hz IMU
of the camera wearer doing the concept's activity (walking, running, falling, crouching to the
dog, startled by the siren or the glass, knocking, riding in the car, standing by the engine,
fan or fire ...); and a caption from templates and synonyms.

Concepts and their zero-shot prompts: {concepts}.
{streams}
- training samples: seeds 0-{a['train_per_concept'] * world.NUM_CONCEPTS - 1} ({a['train_per_concept']} per concept),
  plus {a.get('background', 0)} empty scenes (seeds {world.BACKGROUND_SEED_BASE}+: background only, noise only, a wearer
  standing still; captions such as "an empty scene", "nothing happening") so that "{world.BACKGROUND_PROMPT}"
  can serve a runtime as the "nothing of interest" class;
  validation seeds {world.EVAL_SEED_BASE + 500000}+; held-out evaluation seeds {ev['heldout_seeds'][0]}-{ev['heldout_seeds'][1]};
  committed evaluation files seeds {world.EVAL_SEED_BASE}+; demo scenario seeds {world.DEMO_SEED_BASE}+.
- recipe (ImageBind's): stage 1 image <-> text symmetric InfoNCE with a learnable temperature
  (the text logit scale, now {man['modalities']['text']['logit_scale']:.2f}); stage 2 image and text frozen, audio,
  depth, thermal and IMU encoders each trained only against image embeddings (symmetric InfoNCE,
  one learnable temperature per modality), never against text. Zero-shot X -> text is emergent.
- {batch_desc}
{retrain}- {a['stage1_steps']} + {a['stage2_steps']} steps, AdamW (lr {a['lr']}, wd 0.05, cosine), training seed {a['seed']},
  {log['total_s'] / 60:.1f} min wall time on 2 shared CPU cores (see tools/edgebind-tiny/REPORT.md).

## Architecture

ImageBind's module layout (`modality_preprocessors`, `modality_trunks`, `modality_heads`,
`modality_postprocessors`) at width {man.get('width', 128)}: pre-LN transformer trunks (vision 3 blocks, text 3,
audio/depth/thermal/IMU 2), heads = LayerNorm + class token (text: EOT position) + linear to 256,
postprocessors = L2 normalisation + logit scale (text learned; audio 20, depth 5, thermal 10,
IMU 5, as ImageBind). Inputs are ImageBind's shapes; to fit 2 CPU cores the stems downscale:
{vision_stem}; depth/thermal 2x2 average pool then 16x16 patches (49 tokens), audio 16x34 patches of the
128x204 fbank (48 tokens), IMU 40-sample patches (50 tokens). The text tokenizer is CLIP's byte
BPE with this model's own {man['tokenizer']['merges']}-merge vocabulary (`{man['tokenizer']['vocab']}`).

Package: {len(man['modalities'])} ONNX files ({onnx_size / 1e6:.1f} MB fp32), manifest, vocabulary and
parity fixtures: {size / 1e6:.1f} MB in total. The evaluation set lives beside it in
`models/edgebind-tiny-eval/` and does not ship with the model.

## Preprocessing

Exactly docs/DESIGN.md's table, with this package's own parameters (all in `edgebind-model.json`):
depth metres clamped to [0.01, 75] / 75, mean {man['modalities']['depth']['preprocess']['mean']} std {man['modalities']['depth']['preprocess']['std']} (the world's depth range
makes ImageBind's 0.0418/0.0295 a poor fit); thermal degrees C mapped from
[{man['modalities']['thermal']['preprocess']['min']}, {man['modalities']['thermal']['preprocess']['max']}] to [0,1], mean {man['modalities']['thermal']['preprocess']['mean']} std {man['modalities']['thermal']['preprocess']['std']};
IMU [6,2000] with acceleration / 9.80665 and angular rate / 2.

## Evaluation

{tab}

The committed evaluation set (`models/edgebind-tiny-eval/`, kept beside the package so it does not ship with it; {len(idx['files']) // 5 if idx else 0} samples per modality) is small: one sample
is {100 / (len(idx['files']) // 5):.1f} points there. Its expected embeddings were computed from the files
(PNG, WAV, 16-bit PNG, .npy, CSV) through the runtime's preprocessing.

## Limitations

- Synthetic world only; 14 concepts; one concept per scene during training (two-concept scenes
  appear only in the arithmetic test).
- Text understanding is limited to the caption templates and synonyms it was trained on
  (words outside that vocabulary fall back to byte tokens the model barely saw).
- Emergent accuracy is bounded by the image encoder's: modalities are aligned only to images.
- Not a safety component: do not use it to detect real sirens, falls or fires.

## Licence

{man['license']}.
"""
    with open(os.path.join(args.pkg, "MODEL_CARD.md"), "w") as fh:
        fh.write(card)
    s1 = log["stage1"]
    s2 = log["stage2"]
    rep = [f"# EdgeBind-tiny training report", "",
           "Command (from the repository root): `tools/edgebind-tiny/build_package.sh {seed}` which runs".format(seed=a["seed"]),
           "", "```"] + ([
               f"python3 tools/edgebind-tiny/train.py --seed {a['seed']} --stage1-steps {a['stage1_steps']} --lr {a['lr']} --warmup {a.get('warmup', 20)} --groups {a.get('groups', 0)} --stage1-positives {a.get('stage1_positives', 'pair')} --background {a.get('background', 0)} --out /tmp/edgebind-tiny-base",
               f"python3 tools/edgebind-tiny/train.py --seed {a['seed']} --init /tmp/edgebind-tiny-base/edgebind_tiny.pt --stage1-steps 0 --stage2-steps {a['stage2_steps']} --stage2-modalities {a.get('stage2_modalities')} --out /tmp/edgebind-tiny"]
               if "init" in log else [
               f"python3 tools/edgebind-tiny/train.py --seed {a['seed']} --stage1-steps {a['stage1_steps']} --stage2-steps {a['stage2_steps']} --lr {a['lr']} --warmup {a.get('warmup', 20)} --groups {a.get('groups', 0)} --stage1-positives {a.get('stage1_positives', 'pair')} --background {a.get('background', 0)}"]) + [
           "python3 tools/edgebind-tiny/evaluate.py", "python3 tools/export/export.py --preset edgebind-tiny ...", "python3 tools/edgebind-tiny/make_eval_set.py ...", "```", "",
           f"- torch {log['torch']} (Debian build, BLAS through libblas.so.3 -> {os.path.realpath('/usr/lib/x86_64-linux-gnu/libblas.so.3')}), 1 thread (a second OpenMP/BLAS thread only spins on this shared 2-core machine)",
           f"- rendering + preprocessing the cache: {log['render_s']:.0f} s (0 when cached); stage 1: {log['stage1_s']:.0f} s; stage 2: {log['stage2_s']:.0f} s; total {log['total_s']:.0f} s",
           f"- stage 1 validation image->text top-1 after stage 1: {pct(log['stage1_val']['vision'])} %",
           f"- stage 2 learned temperatures: " + ", ".join(f"{k} {v:.1f}" for k, v in log["stage2_temperatures"].items()),
           f"- validation zero-shot top-1 at the end: " + ", ".join(f"{k} {pct(v)} %" for k, v in log["val_zero_shot"].items()),
           "", "## Losses", "", "Stage 1 (image <-> text InfoNCE; ln(batch) = %.2f at chance):" % __import__('math').log(a["batch"]), "",
           "| step | loss | text logit scale | s |", "|---|---|---|---|"]
    for r in s1[:: max(1, len(s1) // 15)] + [s1[-1]]:
        rep.append(f"| {r['step']} | {r['loss']} | {r['scale']} | {r['t']} |")
    rep += ["", "Stage 2 (X <-> frozen image embeddings):", "", "| step | audio | depth | thermal | imu | s |", "|---|---|---|---|---|---|"]
    for r in s2[:: max(1, len(s2) // 15)] + [s2[-1]]:
        rep.append(f"| {r['step']} | {r.get('audio', '-')} | {r.get('depth', '-')} | {r.get('thermal', '-')} | {r.get('imu', '-')} | {r['t']} |")
    rep += ["", "## Evaluation (tools/edgebind-tiny/evaluate.py)", "", tab, ""]
    if args.notes:
        rep += [open(args.notes).read() if os.path.exists(args.notes) else args.notes]
    with open(args.report, "w") as fh:
        fh.write("\n".join(rep) + "\n")
    print("wrote", os.path.join(args.pkg, "MODEL_CARD.md"), "and", args.report)


if __name__ == "__main__":
    main()
