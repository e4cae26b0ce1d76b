"""python3 -m unittest discover -s tools/export -p 'test_*.py'

Exports a tiny randomly initialised model with ImageBind's module layout and checks the ONNX
graphs and the manifest (no onnxruntime in Python: numerical parity is checked by the C# CLI)."""
import json
import os
import sys
import tempfile
import unittest

import numpy as np
import onnx
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "edgebind-tiny"))
import export  # noqa: E402
from model import EdgeBindTiny  # noqa: E402

SHAPES = {"vision": [-1, 3, 224, 224], "text": [-1, 77], "audio": [-1, 1, 128, 204], "depth": [-1, 1, 224, 224],
          "thermal": [-1, 1, 224, 224], "imu": [-1, 6, 2000]}


class ExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(2)
        torch.manual_seed(0)
        cls.merges = 40
        cls.model = EdgeBindTiny({"dim": 32, "heads": 2, "out_dim": 48, "vocab_size": 512 + cls.merges + 2,
                                  "depth": {m: 1 for m in export.MODALITIES}})
        cls.dir = tempfile.mkdtemp()
        vocab = os.path.join(cls.dir, "src_vocab.txt.gz")
        import tokenizer as tk
        tk.write_vocab(vocab, [("a", "b")] * 0 + [(chr(97 + i), chr(97 + j) + "</w>") for i in range(5) for j in range(8)])
        cls.out = os.path.join(cls.dir, "pkg")
        cls.manifest = export.export_package(
            cls.model, cls.out, merges=cls.merges, vocab=vocab, vocab_name="vocab.txt.gz", name="rand", version="0",
            license="test", description="random", preprocess=export.default_preprocess(None),
            evaluation={"note": "none"})

    def test_graphs_valid_with_names_shapes_dynamic_batch(self):
        for m, shape in SHAPES.items():
            p = os.path.join(self.out, f"{m}.onnx")
            g = onnx.load(p)
            onnx.checker.check_model(g)
            self.assertTrue(14 <= g.opset_import[0].version <= 17)
            (iname, idims, itype), = export.describe_graph(g)[0]
            (oname, odims, otype), = export.describe_graph(g)[1]
            self.assertEqual(iname, m)
            self.assertEqual(oname, "embedding")
            self.assertIsInstance(idims[0], str, "batch axis must be symbolic")
            self.assertEqual(idims[1:], shape[1:])
            self.assertEqual(itype, onnx.TensorProto.INT64 if m == "text" else onnx.TensorProto.FLOAT)
            self.assertIsInstance(odims[0], str)
            self.assertEqual(odims[1], 48)
            self.assertEqual(otype, onnx.TensorProto.FLOAT)

    def test_no_logit_scale_in_graph_and_recorded(self):
        man = self.manifest
        self.assertEqual(man["modalities"]["audio"]["logit_scale"], 20.0)
        self.assertEqual(man["modalities"]["depth"]["logit_scale"], 5.0)
        self.assertEqual(man["modalities"]["vision"]["logit_scale"], 1.0)
        for m in SHAPES:
            exp = np.load(os.path.join(self.out, "parity", f"{m}.expected.npy"))
            self.assertEqual(exp.shape, (2, 48))
            np.testing.assert_allclose(np.linalg.norm(exp, axis=1), 1.0, rtol=1e-5)
            inp = np.load(os.path.join(self.out, "parity", f"{m}.input.npy"))
            self.assertEqual(list(inp.shape[1:]), SHAPES[m][1:])

    def test_manifest_complete(self):
        man = json.load(open(os.path.join(self.out, "edgebind-model.json")))
        for k in ["schema", "name", "version", "license", "description", "embedding_dim", "tokenizer", "modalities", "evaluation"]:
            self.assertIn(k, man)
        self.assertEqual(man["schema"], "edgebind-model/1")
        self.assertEqual(man["embedding_dim"], 48)
        self.assertEqual(man["tokenizer"], {"type": "clip-bpe", "vocab": "vocab.txt.gz", "merges": 40, "context_length": 77})
        self.assertTrue(os.path.exists(os.path.join(self.out, "vocab.txt.gz")))
        self.assertEqual(sorted(man["modalities"]), sorted(SHAPES))
        for m, e in man["modalities"].items():
            for k in ["file", "input", "output", "normalized", "logit_scale", "clips", "preprocess"]:
                self.assertIn(k, e, (m, k))
            self.assertTrue(os.path.exists(os.path.join(self.out, e["file"])))
            self.assertEqual(e["input"], {"name": m, "shape": SHAPES[m], "dtype": "int64" if m == "text" else "float32"})
            self.assertEqual(e["output"], {"name": "embedding", "shape": [-1, 48], "dtype": "float32"})
            self.assertTrue(e["normalized"])
        self.assertEqual(man["modalities"]["audio"]["clips"], 3)
        self.assertEqual(man["modalities"]["audio"]["preprocess"]["target_length"], 204)
        self.assertEqual(len(man["modalities"]["imu"]["preprocess"]["scale"]), 6)

    def test_numpy_evaluation_matches_pytorch_at_two_batch_sizes(self):
        for m, r in self.manifest["_numpy_parity"].items():
            self.assertGreater(r["cos2"], 0.99999, m)
            self.assertGreater(r["cos3"], 0.99999, m)

    def test_postprocessor_scale_split(self):
        keep, scale = export.postprocessor_parts(self.model.modality_postprocessors["text"])
        self.assertEqual(len(keep), 1)
        self.assertAlmostEqual(scale, float(self.model.text_logit_scale()), places=4)


if __name__ == "__main__":
    unittest.main()
