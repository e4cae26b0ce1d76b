"""Copy an exported package with its encoders' weights stored as float16, to measure or ship the fp16
variant without tracing the model again (export.py --fp16 does the same while exporting).

    python3 tools/export/to_fp16.py PKG PKG-fp16
    edgebind models check PKG-fp16     # min cosine per modality against the float32 PyTorch outputs

Parity fixtures, vocabulary and the rest of the manifest are copied unchanged; each modality gains
"weights": "float16". A graph whose weights shared another encoder's data file (video with vision)
is written with its own weights.
"""
import argparse
import json
import os
import shutil
import sys

import onnx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("dst")
    args = ap.parse_args()
    man = json.load(open(os.path.join(args.src, "edgebind-model.json")))
    if os.path.abspath(args.src) == os.path.abspath(args.dst):
        raise SystemExit("to_fp16: DST must differ from SRC")
    os.makedirs(args.dst, exist_ok=True)
    for name in os.listdir(args.src):
        if name == "parity" or name.endswith(".gz"):
            src = os.path.join(args.src, name)
            dst = os.path.join(args.dst, name)
            (shutil.copytree if os.path.isdir(src) else shutil.copyfile)(src, dst, **({"dirs_exist_ok": True} if os.path.isdir(src) else {}))
    for m, e in man["modalities"].items():
        g = onnx.load(os.path.join(args.src, e["file"]))
        n = export.weights_to_fp16(g)
        path = os.path.join(args.dst, e["file"])
        export.save_graph(g, path)
        e["weights"] = "float16"
        print(f"{m}: {n} weight tensors to float16, {export.package_file_bytes(args.dst, e['file']) / 1e6:.1f} MB "
              f"(was {export.package_file_bytes(args.src, e['file']) / 1e6:.1f} MB)", flush=True)
        del g
    with open(os.path.join(args.dst, "edgebind-model.json"), "w") as fh:
        json.dump(man, fh, indent=2)
        fh.write("\n")


if __name__ == "__main__":
    main()
