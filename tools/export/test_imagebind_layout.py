"""python3 -m unittest test_imagebind_layout   (from tools/export)

ImageBind's module layout (re-implemented in testdata/imagebind_layout, small widths) through the
documented `--preset imagebind --model-args ...` command: the IMU stem's unfold(-1, 8, 8), a parity
check that reports what it cannot run instead of stopping the export, one external-data file per
encoder, and fp16 weights measured against fp32."""
import json
import os
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

import numpy as np
import onnx
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
LAYOUT = os.path.join(HERE, "testdata", "imagebind_layout")
VOCAB = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "imagebind", "bpe_simple_vocab_16e6.txt.gz"))
sys.path.insert(0, HERE)
sys.path.insert(0, LAYOUT)
import export  # noqa: E402
import onnx_numpy  # noqa: E402
from imagebind.models import imagebind_model  # noqa: E402  (the test layout, not ImageBind's code)

SMALL = {"out_embed_dim": 24, "vision_embed_dim": 32, "vision_num_blocks": 1, "vision_num_heads": 2,
         "text_embed_dim": 32, "text_num_blocks": 1, "text_num_heads": 2, "audio_embed_dim": 32,
         "audio_num_blocks": 1, "audio_num_heads": 2, "depth_embed_dim": 32, "depth_num_blocks": 1,
         "depth_num_heads": 2, "thermal_embed_dim": 32, "thermal_num_blocks": 1, "thermal_num_heads": 2,
         "imu_embed_dim": 32, "imu_num_blocks": 1, "imu_num_heads": 2}


class Unfold(torch.nn.Module):
    def __init__(self, dim, size, step):
        super().__init__()
        self.args = (dim, size, step)

    def forward(self, x):
        return x.unfold(*self.args)


class UnfoldExportTest(unittest.TestCase):
    def test_unfold_exports_as_torch_computes_it(self):
        x = torch.randn(2, 6, 40)
        for dim, size, step in [(-1, 8, 8), (-1, 8, 4), (2, 8, 8), (-2, 2, 2), (1, 3, 1)]:
            with self.subTest(dim=dim, size=size, step=step), tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "u.onnx")
                with export._unfold_with_normalised_dimension(14):
                    torch.onnx.export(Unfold(dim, size, step), (x,), path, input_names=["x"],
                                      dynamic_axes={"x": {0: "b"}}, opset_version=14)
                y = onnx_numpy.run(onnx.load(path), {"x": x.numpy()})[0]
                np.testing.assert_array_equal(y, x.unfold(dim, size, step).numpy())


class ImageBindLayoutExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(2)
        torch.manual_seed(0)
        cls.dir = tempfile.mkdtemp()
        cls.ckpt = os.path.join(cls.dir, "small.pth")
        cls.model = imagebind_model.ImageBindModel(**SMALL).eval()
        torch.save(cls.model.state_dict(), cls.ckpt)
        cls.out = os.path.join(cls.dir, "pkg")
        env = dict(os.environ, PYTHONPATH=LAYOUT)
        # the command tools/export/README.md documents, with the test layout standing in for ImageBind
        cls.proc = subprocess.run(
            [sys.executable, os.path.join(HERE, "export.py"), "--preset", "imagebind", "--model-args", json.dumps(SMALL),
             "--ckpt", cls.ckpt, "--vocab", VOCAB, "--out", cls.out, "--no-csharp-check"],
            env=env, capture_output=True, text=True, timeout=900)

    def test_command_succeeds_and_reports_every_modality(self):
        self.assertEqual(self.proc.returncode, 0, self.proc.stderr[-3000:])
        for m in export.MODALITIES + ["video"]:
            self.assertIn(f"exported {m}:", self.proc.stdout)
            self.assertRegex(self.proc.stdout, rf"\| {m} \| (0\.99999|1\.0000)\d+ \| (0\.99999|1\.0000)\d+ \|")

    def test_imu_graph_keeps_imagebind_patch_order(self):
        g = onnx.load(os.path.join(self.out, "imu.onnx"))
        x = torch.randn(3, 6, 2000)
        with torch.no_grad():
            want = torch.nn.functional.normalize(self.model({"imu": x})["imu"], dim=-1).numpy()
        got = onnx_numpy.run(g, {"imu": x.numpy()})[0]
        self.assertEqual(got.shape, (3, 24))
        self.assertGreater(onnx_numpy.cosine_rows(got, want).min(), 0.99999)

    def test_manifest_records_imagebind_scales(self):
        man = json.load(open(os.path.join(self.out, "edgebind-model.json")))
        self.assertEqual(man["embedding_dim"], 24)
        self.assertEqual(sorted(man["modalities"]), sorted(export.MODALITIES + ["video"]))
        self.assertEqual({m: e["logit_scale"] for m, e in man["modalities"].items() if m != "text"},
                         {"vision": 1.0, "video": 1.0, "audio": 20.0, "depth": 5.0, "thermal": 10.0, "imu": 5.0})
        self.assertAlmostEqual(man["modalities"]["text"]["logit_scale"], 1 / 0.07, places=4)
        self.assertEqual(man["tokenizer"]["merges"], 48894)

    def test_model_args_refused_with_a_clear_message(self):
        for args, words in [('{"vision_embed_dim": 32,', "not valid JSON"), ('[1, 2]', "JSON object"),
                            ('{"no_such_argument": 1}', "no_such_argument")]:
            p = subprocess.run([sys.executable, os.path.join(HERE, "export.py"), "--preset", "imagebind",
                                "--model-args", args, "--vocab", VOCAB, "--out", os.path.join(self.dir, "bad")],
                               env=dict(os.environ, PYTHONPATH=LAYOUT), capture_output=True, text=True, timeout=300)
            self.assertNotEqual(p.returncode, 0)
            self.assertIn(words, p.stderr)

    def test_checkpoint_that_does_not_fit_the_arguments_is_refused(self):
        args = dict(SMALL, out_embed_dim=16)
        p = subprocess.run([sys.executable, os.path.join(HERE, "export.py"), "--preset", "imagebind",
                            "--model-args", json.dumps(args), "--ckpt", self.ckpt, "--vocab", VOCAB,
                            "--out", os.path.join(self.dir, "bad2")],
                           env=dict(os.environ, PYTHONPATH=LAYOUT), capture_output=True, text=True, timeout=300)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("does not fit", p.stderr)


class ExportRobustnessTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(2)
        torch.manual_seed(1)
        cls.model = imagebind_model.ImageBindModel(**SMALL).eval()

    def _export(self, out, modalities=("imu", "audio"), **kw):
        return export.export_package(self.model, out, merges=48894, vocab=None, vocab_name="v.txt.gz", name="t",
                                     version="0", license="test", description="test",
                                     preprocess=export.default_preprocess(None), modalities=list(modalities), **kw)

    def test_a_failing_numpy_check_is_reported_and_the_manifest_is_written(self):
        real = onnx_numpy.run

        def flaky(g, feeds):
            if "imu" in feeds:
                raise ValueError("operands could not be broadcast together")
            return real(g, feeds)

        with tempfile.TemporaryDirectory() as d, mock.patch.object(onnx_numpy, "run", flaky):
            man = self._export(d)
            self.assertTrue(os.path.exists(os.path.join(d, "edgebind-model.json")))
            self.assertIn("ValueError", man["_numpy_parity"]["imu"]["skipped"])
            self.assertGreater(man["_numpy_parity"]["audio"]["cos2"], 0.99999)

    def test_weights_over_the_limit_go_to_one_file_per_encoder(self):
        with tempfile.TemporaryDirectory() as d, mock.patch.object(export, "TWO_GB", 300 * 2 ** 20):
            # a limit below the encoders' size forces the external-data layout a > 2 GB encoder gets
            with mock.patch.object(export, "EXTERNAL_MARGIN", 300 * 2 ** 20 - 1024):
                man = self._export(d)
            names = sorted(os.listdir(d))
            self.assertEqual(names, ["audio.onnx", "audio.onnx.data", "edgebind-model.json", "imu.onnx",
                                     "imu.onnx.data", "parity"])
            self.assertGreater(man["_numpy_parity"]["imu"]["cos2"], 0.99999)
            self.assertEqual(export.package_file_bytes(d, "imu.onnx"),
                             os.path.getsize(os.path.join(d, "imu.onnx")) + os.path.getsize(os.path.join(d, "imu.onnx.data")))

    def test_video_graph_shares_the_vision_weights_file(self):
        with tempfile.TemporaryDirectory() as d, mock.patch.object(export, "TWO_GB", 300 * 2 ** 20), \
                mock.patch.object(export, "EXTERNAL_MARGIN", 300 * 2 ** 20 - 1024):
            man = self._export(d, modalities=["vision", "video"])
            self.assertEqual(sorted(n for n in os.listdir(d) if n.startswith(("vision", "video"))),
                             ["video.onnx", "vision.onnx", "vision.onnx.data"])
            self.assertLess(os.path.getsize(os.path.join(d, "video.onnx")), 100_000)
            self.assertGreater(man["_numpy_parity"]["video"]["cos2"], 0.99999)
            self.assertEqual(man["modalities"]["video"]["input"]["shape"], [-1, 3, 2, 224, 224])
            self.assertEqual(man["modalities"]["video"]["clips"], 15)
            self.assertEqual(man["modalities"]["video"]["preprocess"]["frames"], 2)
            # a clip with two equal frames embeds as the image does (ImageBind repeats an image)
            g = onnx.load(os.path.join(d, "video.onnx"))
            img = np.load(os.path.join(d, "parity", "vision.input.npy"))
            clip = np.repeat(img[:, :, None], 2, axis=2)
            got = onnx_numpy.run(g, {"video": clip})[0]
            want = np.load(os.path.join(d, "parity", "vision.expected.npy"))
            self.assertGreater(onnx_numpy.cosine_rows(got, want).min(), 0.99999)

    def test_fp16_weights_halve_the_size_and_keep_cosine(self):
        with tempfile.TemporaryDirectory() as d32, tempfile.TemporaryDirectory() as d16:
            self._export(d32, numpy_check=False)
            man = self._export(d16, fp16=True)
            def weight_bytes(d, m):
                return sum(len(t.raw_data) for t in onnx.load(os.path.join(d, f"{m}.onnx")).graph.initializer)

            for m in ["imu", "audio"]:
                self.assertLess(weight_bytes(d16, m), 0.52 * weight_bytes(d32, m), m)
                g = onnx.load(os.path.join(d16, f"{m}.onnx"))
                self.assertEqual(g.graph.input[0].type.tensor_type.elem_type, onnx.TensorProto.FLOAT)
                self.assertTrue(any(t.data_type == onnx.TensorProto.FLOAT16 for t in g.graph.initializer))
                self.assertEqual(man["modalities"][m]["weights"], "float16")
                # against the float32 PyTorch embeddings in parity/
                self.assertGreater(man["_numpy_parity"][m]["cos2"], 0.999, m)


if __name__ == "__main__":
    unittest.main()
