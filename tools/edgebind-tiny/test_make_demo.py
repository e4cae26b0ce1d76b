"""python3 -m unittest test_make_demo (from tools/edgebind-tiny): scenarios with other seeds and layouts."""
import filecmp
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np
from scipy.io import wavfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_demo  # noqa: E402
import world  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SHIPPED = os.path.join(REPO, "pipelines", "demo-scenario")

LAYOUT = {"segments": [
    {"start_s": 0, "end_s": 4, "concepts": {}},
    {"start_s": 4, "end_s": 10, "concepts": {"all": "bird"}},
    {"start_s": 10, "end_s": 14, "concepts": {"vision": "engine", "audio": "knocking", "imu": "walking"}},
]}


class LayoutTest(unittest.TestCase):
    def test_layout_becomes_segments(self):
        segments = make_demo.parse_layout(LAYOUT)
        self.assertEqual([(0.0, 4.0), (4.0, 10.0), (10.0, 14.0)], [(a, b) for a, b, _ in segments])
        self.assertEqual({m: "bird" for m in make_demo.ALL}, segments[1][2])
        self.assertEqual({"vision": "engine", "audio": "knocking", "imu": "walking"}, segments[2][2])

    def test_bad_layouts_name_the_field(self):
        cases = [
            ({}, "segments"),
            ({"segments": []}, "segments"),
            ({"segments": [{"start_s": 1, "end_s": 4}]}, "segments[0].start_s"),
            ({"segments": [{"start_s": 0, "end_s": 4}, {"start_s": 5, "end_s": 8}]}, "segments[1].start_s"),
            ({"segments": [{"start_s": 0, "end_s": 0}]}, "segments[0].end_s"),
            ({"segments": [{"start_s": 0, "end_s": float("nan")}]}, "segments[0].end_s"),
            ({"segments": [{"start_s": 0, "end_s": "8"}]}, "segments[0].end_s"),
            ({"segments": [{"start_s": 0, "end_s": 4000}]}, "segments[0].end_s"),
            ({"segments": [{"start_s": 0, "end_s": 4, "concepts": {"smell": "dog"}}]}, "segments[0].concepts.smell"),
            ({"segments": [{"start_s": 0, "end_s": 4, "concepts": {"audio": "dgo"}}]}, "segments[0].concepts.audio"),
            ({"segments": [{"start_s": 0, "end_s": 4, "concept": {}}]}, "segments[0]"),
        ]
        for data, where in cases:
            with self.assertRaises(SystemExit, msg=json.dumps(data, default=str)) as ctx:
                make_demo.parse_layout(data, "bad.json")
            self.assertIn(f"layout bad.json: {where}:", str(ctx.exception))

    def test_layout_file_errors_name_the_file(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "layout.json")
            with open(path, "w") as fh:
                fh.write("{not json")
            with self.assertRaises(SystemExit) as ctx:
                make_demo.load_layout(path)
            self.assertIn(path, str(ctx.exception))
            with self.assertRaises(SystemExit) as ctx:
                make_demo.load_layout(os.path.join(d, "missing.json"))
            self.assertIn("missing.json", str(ctx.exception))


FAULTS = [{"modality": "vision", "kind": "black", "start_s": 4, "end_s": 8},
          {"modality": "depth", "kind": "missing", "start_s": 6, "end_s": 10},
          {"modality": "thermal", "kind": "missing", "start_s": 10},
          {"modality": "imu", "kind": "truncated", "start_s": 12}]


class FaultTest(unittest.TestCase):
    def test_bad_faults_name_the_field(self):
        cases = [
            ({"faults": {}}, "faults"),
            ({"faults": [{"modality": "vision", "kind": "smoke", "start_s": 1, "end_s": 2}]}, "faults[0].kind"),
            ({"faults": [{"modality": "audio", "kind": "black", "start_s": 1, "end_s": 2}]}, "faults[0].modality"),
            ({"faults": [{"modality": "depth", "kind": "missing", "start_s": 20}]}, "faults[0].start_s"),
            ({"faults": [{"modality": "depth", "kind": "missing", "start_s": 5, "end_s": 3}]}, "faults[0].end_s"),
            ({"faults": [{"modality": "imu", "kind": "truncated", "start_s": 5, "end_s": 6}]}, "faults[0].end_s"),
            ({"faults": [{"modality": "imu", "kind": "missing", "start_s": 1, "when": 2}]}, "faults[0]"),
        ]
        for data, where in cases:
            with self.assertRaises(SystemExit, msg=json.dumps(data)) as ctx:
                make_demo.parse_faults(data, 14.0, "bad.json")
            self.assertIn(f"layout bad.json: {where}:", str(ctx.exception))

    def test_faulty_sensors_render_as_described(self):
        with tempfile.TemporaryDirectory(prefix="edgebind-faults-") as out:
            layout = os.path.join(out, "layout.json")
            with open(layout, "w") as fh:
                json.dump({**LAYOUT, "faults": FAULTS}, fh)
            make_demo.main(["--out", os.path.join(out, "s"), "--seed-base", "3000000", "--layout", layout])
            s = os.path.join(out, "s")
            with open(os.path.join(s, "timeline.json")) as fh:
                timeline = json.load(fh)
            self.assertEqual(14.0, [f for f in timeline["faults"] if f["modality"] == "thermal"][0]["end_s"])
            # Every decoded frame in [4, 8) s is black, none outside it is.
            raw = subprocess.run(["ffmpeg", "-loglevel", "error", "-i", os.path.join(s, "video.mp4"), "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                                 capture_output=True, check=True).stdout
            frames = np.frombuffer(raw, np.uint8).reshape(-1, 224, 224)
            self.assertEqual(140, len(frames))
            black = [i / 10 for i, f in enumerate(frames) if f.std() < 2]
            self.assertEqual([i / 10 for i in range(40, 80)], black)
            depth = sorted(f for f in os.listdir(os.path.join(s, "depth")) if f.endswith(".png"))
            self.assertEqual([f"{i:06d}.png" for i in list(range(12)) + list(range(20, 28))], depth)
            thermal = sorted(f for f in os.listdir(os.path.join(s, "thermal")) if f.endswith(".npy"))
            self.assertEqual([f"{i:06d}.npy" for i in range(10)], thermal)
            with open(os.path.join(s, "thermal", "timestamps.csv")) as fh:
                self.assertEqual(11, len(fh.readlines()))
            with open(os.path.join(s, "imu.csv")) as fh:
                lines = fh.readlines()
            self.assertEqual(12 * world.IMU_RATE + 2, len(lines))
            self.assertFalse(lines[-1].endswith("\n"), "the truncated file ends mid-row")
            self.assertLess(lines[-1].count(","), 6)


class RenderTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="edgebind-scenario-")
        segments = make_demo.parse_layout(LAYOUT)
        cls.a = os.path.join(cls.dir, "a")
        cls.a2 = os.path.join(cls.dir, "a2")
        cls.b = os.path.join(cls.dir, "b")
        make_demo.render(make_demo.Scenario(segments, 3_000_000), cls.a)
        make_demo.render(make_demo.Scenario(segments, 3_000_000), cls.a2)
        make_demo.render(make_demo.Scenario(segments, 4_000_000), cls.b)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_files_follow_the_layout(self):
        with open(os.path.join(self.a, "timeline.json")) as fh:
            timeline = json.load(fh)
        self.assertEqual(14.0, timeline["duration_s"])
        self.assertEqual(3_000_000, timeline["seed_base"])
        got = sorted((s["modality"], s["concept"], s["start_s"], s["end_s"]) for s in timeline["segments"])
        want = sorted([(m, "bird", 4.0, 10.0) for m in make_demo.ALL]
                      + [("vision", "engine", 10.0, 14.0), ("audio", "knocking", 10.0, 14.0), ("imu", "walking", 10.0, 14.0)])
        self.assertEqual(want, got)
        rate, pcm = wavfile.read(os.path.join(self.a, "audio.wav"))
        self.assertEqual((world.SR, 14 * world.SR), (rate, len(pcm)))
        self.assertEqual(14 * make_demo.DEPTH_FPS, len([f for f in os.listdir(os.path.join(self.a, "depth")) if f.endswith(".png")]))
        self.assertEqual(14 * make_demo.THERMAL_FPS, len([f for f in os.listdir(os.path.join(self.a, "thermal")) if f.endswith(".npy")]))
        with open(os.path.join(self.a, "imu.csv")) as fh:
            self.assertEqual(14 * world.IMU_RATE, sum(1 for line in fh if line[:1].isdigit()))
        # The camera scenes cover the layout: 2 + 2 + 2 keyframes, the bird ones with a box.
        self.assertEqual([0.0, 3.0, 4.0, 7.0, 10.0, 13.0], [k["start_s"] for k in timeline["keyframes"]])
        birds = [k for k in timeline["keyframes"] if 4 <= k["start_s"] < 10]
        self.assertTrue(birds and all(k["objects"] and k["objects"][0]["concept"] == "bird" for k in birds))
        self.assertTrue(all(not k["objects"] for k in timeline["keyframes"] if k["start_s"] < 4))

    def test_same_seed_and_layout_give_the_same_files(self):
        for root, _, files in os.walk(self.a):
            for f in files:
                path = os.path.join(root, f)
                other = os.path.join(self.a2, os.path.relpath(path, self.a))
                self.assertTrue(filecmp.cmp(path, other, shallow=False), f"{os.path.relpath(path, self.a)} differs between two renders")

    def test_another_seed_gives_other_scenes_sounds_and_motion(self):
        _, pa = wavfile.read(os.path.join(self.a, "audio.wav"))
        _, pb = wavfile.read(os.path.join(self.b, "audio.wav"))
        self.assertFalse(np.array_equal(pa, pb))
        for name in ("depth/000010.png", "thermal/000005.npy", "imu.csv"):
            self.assertFalse(filecmp.cmp(os.path.join(self.a, name), os.path.join(self.b, name), shallow=False), f"{name} did not change with the seed")


@unittest.skipUnless(os.path.isdir(SHIPPED), "no shipped scenario")
class ShippedScenarioTest(unittest.TestCase):
    def test_defaults_render_the_shipped_scenario(self):
        """Every committed file but the video renders byte-identical with the defaults. The video is H.264:
        libx264's bitstream depends on its build and thread count (the committed file was encoded elsewhere;
        the pre-change script renders the identical file here, and it has PSNR 61.5 dB against the committed
        one), so the video is only checked to be written."""
        with tempfile.TemporaryDirectory(prefix="edgebind-demo-") as out:
            make_demo.main(["--out", out])
            compared = 0
            for root, _, files in os.walk(SHIPPED):
                for f in files:
                    rel = os.path.relpath(os.path.join(root, f), SHIPPED)
                    if rel in ("README.md", "video.mp4"):
                        continue
                    self.assertTrue(filecmp.cmp(os.path.join(SHIPPED, rel), os.path.join(out, rel), shallow=False), f"{rel} no longer renders as committed")
                    compared += 1
            self.assertGreater(compared, 300)
            self.assertGreater(os.path.getsize(os.path.join(out, "video.mp4")), 100_000)


if __name__ == "__main__":
    unittest.main()
