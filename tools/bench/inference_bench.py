#!/usr/bin/env python3
"""PyTorch eager (1 thread) timing of the tiny-test encoders, for the ratio against EdgeBind's ONNX Runtime path.

Rebuilds each network from tools/testmodels/make_test_models.py, loads the weights from the committed ONNX
file (so it is the same encoder, checked against parity/<modality>.expected.npy), and times one forward pass
at batch 1 and 8 (median of repeated runs after warm-up). Compare with
`dotnet run -c Release --project tests/EdgeBind.Benchmarks -- --filter '*InferenceBenchmarks*'`.

Usage: python3 tools/bench/inference_bench.py [--repeat 200]
"""
import argparse
import os
import sys
import time

import numpy as np
import onnx
import torch
from onnx import numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools", "testmodels"))
import make_test_models as tm  # noqa: E402

PACKAGE = os.path.join(ROOT, "tests", "fixtures", "models", "tiny-test")


def load_weights(net, onnx_path):
    """Copies initializers whose names match the module's parameters (the exporter keeps them)."""
    inits = {i.name: numpy_helper.to_array(i) for i in onnx.load(onnx_path).graph.initializer}
    state = net.state_dict()
    loaded = 0
    for name in state:
        if name in inits and tuple(inits[name].shape) == tuple(state[name].shape):
            state[name] = torch.from_numpy(inits[name].copy())
            loaded += 1
    net.load_state_dict(state)
    return loaded, len(state)


def median_ms(fn, repeat):
    for _ in range(max(10, repeat // 10)):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--modalities", default="vision,audio,imu")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, median of {args.repeat} runs")
    print(f"{'modality':<9}{'batch':>6}{'ms/batch':>11}{'us/item':>10}{'max |diff| vs expected':>26}")
    specs = tm.specs()
    for modality in args.modalities.split(","):
        net, _, shape, dtype, _, _, _ = specs[modality]
        loaded, total = load_weights(net, os.path.join(PACKAGE, f"{modality}.onnx"))
        if loaded != total:
            print(f"{modality}: only {loaded}/{total} weights found in the ONNX file", file=sys.stderr)
            return 1
        net.eval()
        x = torch.from_numpy(np.load(os.path.join(PACKAGE, "parity", f"{modality}.input.npy")))
        expected = np.load(os.path.join(PACKAGE, "parity", f"{modality}.expected.npy"))
        with torch.no_grad():
            diff = float(np.abs(net(x).numpy() - expected).max())
            for batch in (1, 8):
                xb = x[:1].repeat(batch, *([1] * (x.dim() - 1)))
                ms = median_ms(lambda: net(xb), args.repeat)
                print(f"{modality:<9}{batch:>6}{ms:>11.3f}{ms * 1e3 / batch:>10.1f}{diff:>26.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
