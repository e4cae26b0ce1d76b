"""python3 -m unittest discover -s tools/edgebind-tiny -p 'test_*.py'"""
import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import preprocess as pp  # noqa: E402
import tokenizer as tk  # noqa: E402
import world  # noqa: E402

CLIP_VOCAB = "/work/shared/imagebind/bpe_simple_vocab_16e6.txt.gz"
CLIP_REF = "/work/shared/reference/tokenizer.jsonl"
KEYS = ["image", "depth", "thermal", "audio", "imu"]


class WorldTest(unittest.TestCase):
    def test_same_seed_same_sample(self):
        for seed in (0, 5, world.EVAL_SEED_BASE + 3):
            a, b = world.render(seed), world.render(seed)
            for k in KEYS:
                np.testing.assert_array_equal(a[k], b[k], err_msg=f"{k} differs for seed {seed}")
            self.assertEqual(a["caption"], b["caption"])

    def test_different_seeds_differ(self):
        a, b = world.render(0), world.render(world.NUM_CONCEPTS)  # same concept, other nuisances
        self.assertEqual(a["concept"], b["concept"])
        for k in KEYS:
            self.assertFalse(np.array_equal(a[k], b[k]), k)

    def test_shapes_units_ranges(self):
        for c in range(world.NUM_CONCEPTS):
            s = world.render(c)
            self.assertEqual(s["concept"], c)
            self.assertEqual(s["image"].shape, (224, 224, 3))
            self.assertEqual(s["image"].dtype, np.uint8)
            self.assertEqual(s["depth"].shape, (224, 224))
            self.assertTrue(0.01 <= s["depth"].min() and s["depth"].max() < 65.5)
            self.assertEqual(s["thermal"].shape, (224, 224))
            self.assertTrue(-40 < s["thermal"].min() < 60, s["thermal"].min())
            self.assertEqual(s["audio"].shape, (32000,))
            self.assertLessEqual(float(np.abs(s["audio"]).max()), 1.0)
            self.assertEqual(s["imu"].shape, (2000, 6))
            # gravity: |acc| averages about 1 g for every activity
            self.assertAlmostEqual(float(np.linalg.norm(s["imu"][:, :3], axis=1).mean()), 9.8, delta=2.5)

    def test_hot_things_are_hot(self):
        fire = world.render(world.CONCEPT_KEYS.index("fire"))
        self.assertGreater(float(fire["thermal"].max()), 150)
        dog = world.render(world.CONCEPT_KEYS.index("dog"))
        self.assertLess(float(dog["thermal"].max()), 45)

    def test_background_scene_has_no_concept(self):
        seed = world.BACKGROUND_SEED_BASE + 7
        a, b = world.render(seed, world.BACKGROUND), world.render(seed, world.BACKGROUND)
        for k in KEYS:
            np.testing.assert_array_equal(a[k], b[k], err_msg=f"{k} differs for background seed {seed}")
        self.assertEqual(a["key"], "background")
        self.assertTrue(any(s in a["caption"] for s in world.BACKGROUND_SYNONYMS), a["caption"])
        self.assertFalse(any(syn in a["caption"] for _, _, _, syns in world.CONCEPTS for syn in syns), a["caption"])
        # nobody and nothing hot in the empty scene
        self.assertLess(float(a["thermal"].max()), 45)
        self.assertIn("an empty scene", world.caption_corpus())

    def test_train_and_eval_seeds_disjoint(self):
        self.assertGreater(world.EVAL_SEED_BASE, 100000)


class PreprocessTest(unittest.TestCase):
    def test_tensor_shapes(self):
        s = world.render(3)
        self.assertEqual(pp.vision_tensor(s["image"]).shape, (3, 224, 224))
        self.assertEqual(pp.audio_clip_tensor(s["audio"]).shape, (1, 128, 204))
        self.assertEqual(pp.depth_tensor(s["depth"]).shape, (1, 224, 224))
        self.assertEqual(pp.thermal_tensor(s["thermal"]).shape, (1, 224, 224))
        self.assertEqual(pp.imu_tensor(s["imu"]).shape, (6, 2000))

    def test_file_round_trip(self):
        s = world.render(7)
        with tempfile.TemporaryDirectory() as d:
            pp.write_depth_png16(os.path.join(d, "d.png"), s["depth"])
            back = pp.read_depth_png16(os.path.join(d, "d.png"))
            self.assertLess(float(np.abs(back - s["depth"]).max()), 0.0006)
            pp.write_imu_csv(os.path.join(d, "i.csv"), s["imu"])
            rows = pp.read_imu_csv(os.path.join(d, "i.csv"))
            self.assertEqual(rows.shape, (2000, 7))
            self.assertLess(float(np.abs(pp.imu_from_csv_rows(rows) - s["imu"]).max()), 6e-4)

    def test_audio_matches_reference_fixture(self):
        ref = "/work/shared/reference/dog_audio.audio.npy"
        wav = "/work/shared/imagebind/assets/dog_audio.wav"
        if not os.path.exists(ref):
            self.skipTest("shared reference fixtures not present")
        import torchaudio
        w, sr = torchaudio.load(wav)
        w = torchaudio.functional.resample(w, sr, 16000)[0].numpy()
        got = pp.audio_file_clips(w)
        exp = np.load(ref)
        self.assertEqual(got.shape, exp.shape)
        self.assertLess(float(np.abs(got - exp).mean()), 0.002)


class TokenizerTest(unittest.TestCase):
    def test_matches_clip_reference_ids(self):
        if not (os.path.exists(CLIP_VOCAB) and os.path.exists(CLIP_REF)):
            self.skipTest("CLIP vocabulary not present")
        import json
        t = tk.Tokenizer(CLIP_VOCAB, 49152 - 256 - 2)
        with open(CLIP_REF) as fh:
            lines = fh.readlines()
        for line in lines:
            d = json.loads(line)
            self.assertEqual(t(d["text"])[0], d["ids"], d["text"])

    def test_own_vocab_round_trip_and_ids(self):
        merges = tk.train_bpe(world.caption_corpus(), 2000)
        self.assertTrue(100 < len(merges) <= 2000)
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "v.txt.gz")
            tk.write_vocab(p, merges)
            t = tk.Tokenizer(p)
            self.assertEqual(t.num_merges, len(merges))
            self.assertEqual(t.sot, 512 + len(merges))
            self.assertEqual(t.eot, 513 + len(merges))
            ids = t("A photo of a   DOG &amp; a fan")[0]
            self.assertEqual(len(ids), 77)
            self.assertEqual(ids[0], t.sot)
            words = [t.decoder[i] for i in ids[1:] if i not in (0, t.eot)]
            self.assertEqual("".join(words).replace("</w>", " ").strip(), "a photo of a dog & a fan")
            # whole caption words are single tokens
            self.assertEqual(len(t.encode("a barking dog")), 3)
            long = t(" ".join(["dog"] * 200))[0]
            self.assertEqual(long[76], t.eot)
            self.assertNotIn(0, long)


class BoxTest(unittest.TestCase):
    REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

    def test_box_lies_in_the_frame_around_something(self):
        for c in ("dog", "siren", "glass_breaking", "walking"):
            rng = world.rng_for(world.LOC_TUNE_SEED_BASE + 7)
            img, _, _, attrs = world.render_visual(rng, c)
            x, y, w, h = attrs["box"]
            self.assertTrue(0 <= x and 0 <= y and x + w <= 224 and y + h <= 224, (c, attrs["box"]))
            self.assertTrue(8 <= w and 8 <= h, (c, attrs["box"]))
            # the image inside the box is not all background colour: the object is there
            self.assertGreater(float(img[y:y + h, x:x + w].std()), 5.0, c)

    def test_boxes_leave_renders_unchanged(self):
        # The committed evaluation images re-render to the same pixels and their boxes to the committed ones.
        import json
        from PIL import Image
        root = os.path.join(self.REPO, "models", "edgebind-tiny-eval")
        with open(os.path.join(root, "vision_boxes.json")) as fh:
            doc = json.load(fh)
        for entry in doc["images"][:6]:
            s = world.render(entry["seed"])
            committed = np.asarray(Image.open(os.path.join(root, entry["path"])).convert("RGB"))
            np.testing.assert_array_equal(committed, s["image"], err_msg=entry["path"])
            self.assertEqual(entry["objects"][0]["box"], s["box"], entry["path"])

    def test_composite_boxes_are_on_their_sides(self):
        # render_composite paints the first concept left of centre and the second right of it.
        img, boxes = world.render_composite(world.LOC_TUNE_SEED_BASE + 11, [world.CONCEPT_KEYS.index("dog"), world.CONCEPT_KEYS.index("car")])
        self.assertEqual(list(boxes), ["dog", "car"])
        dx, _, dw, _ = boxes["dog"]
        cx, _, cw, _ = boxes["car"]
        self.assertLess(dx + dw / 2, cx + cw / 2)
        np.testing.assert_array_equal(img, world.render_composite_image(world.LOC_TUNE_SEED_BASE + 11, [1, 13]))

    def test_empty_scene_has_no_box(self):
        _, _, _, attrs = world.render_visual(world.rng_for(5), None)
        self.assertIsNone(attrs["box"])


if __name__ == "__main__":
    unittest.main()
