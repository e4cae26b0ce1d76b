"""Check an EdgeBind model package in Python, without onnxruntime (NumPy reference evaluator).

    python3 tools/export/check_package.py models/edgebind-tiny [--eval]

- every ONNX file: onnx.checker, input/output names, dtypes and shapes as the manifest says;
- parity fixtures: cosine of the graph's output to parity/<m>.expected.npy (>= 0.9999);
- with --eval (EdgeBind-tiny's evaluation set, models/edgebind-tiny-eval/): re-reads every file as the runtime does, runs the graphs,
  compares with its expected_embeddings.npz (>= 0.999) and recomputes the zero-shot accuracies.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "edgebind-tiny"))
import onnx_numpy  # noqa: E402

DT = {"float32": onnx.TensorProto.FLOAT, "int64": onnx.TensorProto.INT64}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pkg")
    ap.add_argument("--eval", action="store_true")
    ap.add_argument("--eval-dir", default=None,
                    help="the evaluation set (default: <pkg>-eval beside the package, where EdgeBind-tiny keeps it)")
    args = ap.parse_args()
    man = json.load(open(os.path.join(args.pkg, "edgebind-model.json")))
    ok = True
    graphs = {}
    print("| modality | checker | io | parity min cosine |")
    print("|---|---|---|---|")
    for m, e in man["modalities"].items():
        path = os.path.join(args.pkg, e["file"])
        onnx.checker.check_model(path)
        g = onnx.load(path)
        graphs[m] = g
        gi, go = g.graph.input[0], g.graph.output[0]
        dims = [d.dim_value if d.dim_value else -1 for d in gi.type.tensor_type.shape.dim]
        odims = [d.dim_value if d.dim_value else -1 for d in go.type.tensor_type.shape.dim]
        io_ok = (gi.name == e["input"]["name"] and go.name == e["output"]["name"] and dims == e["input"]["shape"]
                 and odims == e["output"]["shape"] and gi.type.tensor_type.elem_type == DT[e["input"]["dtype"]])
        cos = float("nan")
        pin = os.path.join(args.pkg, "parity", f"{m}.input.npy")
        if os.path.exists(pin):
            y = onnx_numpy.run(g, {e["input"]["name"]: np.load(pin)})[0]
            cos = float(onnx_numpy.cosine_rows(y, np.load(os.path.join(args.pkg, "parity", f"{m}.expected.npy"))).min())
        ok &= io_ok and not (cos < 0.9999)
        print(f"| {m} | ok | {'ok' if io_ok else 'MISMATCH'} | {cos:.7f} |")
    if args.eval:
        import make_eval_set as me
        ev = args.eval_dir or me.eval_dir_for(args.pkg)
        idx = json.load(open(os.path.join(ev, "index.json")))
        exp = np.load(os.path.join(ev, "expected_embeddings.npz"))
        ids = np.array([c["prompt_token_ids"] for c in idx["concepts"]], dtype=np.int64)
        txt = onnx_numpy.run(graphs["text"], {"text": ids})[0]
        tcos = float(onnx_numpy.cosine_rows(txt, exp["text"]).min())
        print(f"\neval set: text prompts min cosine {tcos:.6f}")
        keys = [c["key"] for c in idx["concepts"]]
        for m in ["vision", "audio", "depth", "thermal", "imu"]:
            files = [f for f in idx["files"] if f["modality"] == m]
            cos, right = [], 0
            for f in files:
                x = me.file_tensor(ev, f)
                y = onnx_numpy.run(graphs[m], {m: x})[0].mean(0)
                y = y / np.linalg.norm(y)
                cos.append(float(y @ exp[m][f["row"]]))
                right += keys[int(np.argmax(txt @ y))] == f["concept"]
            acc = 100.0 * right / len(files)
            ok &= min(cos) >= 0.999 and abs(acc - idx["zero_shot_top1_percent"][m]) <= 2.0
            print(f"eval {m}: {len(files)} files, min cosine {min(cos):.6f}, zero-shot {acc:.2f} % (index.json {idx['zero_shot_top1_percent'][m]} %)")
    print("OK" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
