"""Write a localisation set: rendered scenes with the box of every concept in them, and the sound
that triggers the search, for `edgebind bench detection`.

    python3 tools/edgebind-tiny/make_localisation_set.py --split heldout --out models/edgebind-tiny-loc
    python3 tools/edgebind-tiny/make_localisation_set.py --split tune --per-concept 3 --out /tmp/edgebind-loc-tune

Splits draw seeds from world.LOC_TUNE_SEED_BASE (thresholds and options are tuned on it; regenerate it,
never commit it) or world.LOC_HELDOUT_SEED_BASE (figures are reported on it). Neither overlaps the
training, evaluation or demo seeds.

Per concept and k < --per-concept:
  images/single_<concept>_<k>.jpg        the concept alone (render_visual, as in training)
  images/pair_<concept>_<other>_<k>.jpg  the concept and another one (render_composite); the sound names
                                         only <concept>, the box must land on it, not on <other>
  audio/<concept>_<k>.wav                the sound heard with both scenes (2 s, 16 kHz, 16-bit, noise and
                                         level drawn as the world draws them): the live window's audio
  images/<scene>.plate.jpg               the same scene without its objects (same draws otherwise): the
                                         background a camera saw before the object came into view, for
                                         motion proposals
plus --empty empty scenes (images/empty_<k>.jpg) and index.json:
  scenes[]: image, plate, kind (single | pair | empty), sounding (concept key or null), audio (or null),
            objects[]: concept, box [x, y, width, height] in image pixels (visible painted pixels)
Every image also serves as an "absent" case for every concept it does not show.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
from PIL import Image
from scipy.io import wavfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import world  # noqa: E402

# Rain covers the whole frame; painted into another scene it would hide the other object.
PARTNERS = [k for k in world.CONCEPT_KEYS if k != "rain"]
MIN_VISIBLE = 0.6  # fraction of an object's painted pixels not hidden by the other one
MIN_SIDE_PX = 20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=["tune", "heldout"], required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--per-concept", type=int, default=2)
    ap.add_argument("--empty", type=int, default=6)
    args = ap.parse_args()
    base = world.LOC_TUNE_SEED_BASE if args.split == "tune" else world.LOC_HELDOUT_SEED_BASE
    os.makedirs(os.path.join(args.out, "images"), exist_ok=True)
    os.makedirs(os.path.join(args.out, "audio"), exist_ok=True)
    scenes = []

    def save(name, image):
        # JPEG (quality 92, no chroma subsampling) keeps the committed set small; the camera path is lossy too.
        Image.fromarray(image).save(os.path.join(args.out, "images", name), quality=92, subsampling=0, optimize=True)
        return f"images/{name}"

    for ci, key in enumerate(world.CONCEPT_KEYS):
        for k in range(args.per_concept):
            seed = base + 1000 * ci + k
            r_vis, r_aud, r_pair = world.streams(seed, 3)
            plate_state = r_vis.bit_generator.state
            image, _, _, attrs = world.render_visual(r_vis, key)
            r_vis.bit_generator.state = plate_state
            plate, _, _, _ = world.render_visual(r_vis, key, paint=False)
            audio = world.render_audio(r_aud, key)
            wav = f"audio/{key}_{k}.wav"
            wavfile.write(os.path.join(args.out, wav), world.SR, np.clip(np.round(audio * 32767.0), -32768, 32767).astype(np.int16))
            scenes.append({"image": save(f"single_{key}_{k}.jpg", image), "plate": save(f"single_{key}_{k}.plate.jpg", plate),
                           "kind": "single", "sounding": key, "audio": wav,
                           "seed": seed, "objects": [{"concept": key, "box": attrs["box"]}]})
            others = [p for p in PARTNERS if p != key]
            other = others[int(r_pair.integers(len(others)))]
            order = [key, other] if r_pair.random() < 0.5 else [other, key]
            indices = [world.CONCEPT_KEYS.index(c) for c in order]
            # A scene where one object hides most of the other, or pushes it out of the frame, asks
            # nothing of a detector but luck; the next seed is taken instead.
            for pair_seed in range(seed + 500, seed + 600):
                visible = {}
                image, boxes = world.render_composite(pair_seed, indices, visible=visible)
                if all(visible[c] >= MIN_VISIBLE and boxes[c] is not None and min(boxes[c][2:]) >= MIN_SIDE_PX for c in order):
                    break
            else:
                raise SystemExit(f"no two-object scene of {order} with both objects visible from seed {seed + 500}")
            plate, _ = world.render_composite(pair_seed, indices, paint=False)
            scenes.append({"image": save(f"pair_{key}_{other}_{k}.jpg", image), "plate": save(f"pair_{key}_{other}_{k}.plate.jpg", plate),
                           "kind": "pair", "sounding": key, "audio": wav,
                           "seed": pair_seed, "order": order,
                           "objects": [{"concept": c, "box": boxes[c], "visible": round(visible[c], 3)} for c in order]})
    for k in range(args.empty):
        seed = base + 900_000 + k
        image, _, _, _ = world.render_visual(world.rng_for(seed), None)
        scenes.append({"image": save(f"empty_{k}.jpg", image), "plate": save(f"empty_{k}.plate.jpg", image),
                       "kind": "empty", "sounding": None, "audio": None,
                       "seed": seed, "objects": []})
    doc = {
        "description": f"EdgeBind-tiny localisation set, split '{args.split}' (seeds from {base}); boxes are "
                       "[x, y, width, height] in pixels of the 224x224 image around each concept's visible painted pixels",
        "split": args.split,
        "concepts": {world.CONCEPT_KEYS[i]: world.zero_shot_prompt(i) for i in range(world.NUM_CONCEPTS)},
        "scenes": scenes,
    }
    with open(os.path.join(args.out, "index.json"), "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    print(len(scenes), "scenes written to", args.out)


if __name__ == "__main__":
    main()
