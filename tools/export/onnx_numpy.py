"""A small NumPy evaluator for the ONNX operators EdgeBind-tiny's graphs use.

There is no ONNX Runtime for Python on this machine; this lets the exporter check in Python that
each exported graph reproduces PyTorch (and at another batch size than the one traced). It is
a reference for the operator subset below only, not a runtime; the authoritative parity check is
`edgebind models check` with ONNX Runtime in C#.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import onnx
from onnx import numpy_helper

# math.erf in float64, element by element: exact where a rational approximation would add its own
# error to the check, and no SciPy needed on the exporting machine.
_erf = np.vectorize(math.erf, otypes=[np.float64])

_DT = {onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.INT64: np.int64, onnx.TensorProto.INT32: np.int32,
       onnx.TensorProto.BOOL: np.bool_, onnx.TensorProto.DOUBLE: np.float64}


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _window(x, k, s, pads):
    """Yields (kernel offset, strided view) over every offset of an N-d kernel (pads: begins then ends)."""
    r = len(k)
    if any(pads):
        x = np.pad(x, [(0, 0), (0, 0)] + [(pads[i], pads[i + r]) for i in range(r)])
    out = [(x.shape[2 + i] - k[i]) // s[i] + 1 for i in range(r)]
    for off in itertools.product(*[range(ki) for ki in k]):
        yield off, x[(slice(None), slice(None)) + tuple(slice(o, o + s[i] * out[i], s[i]) for i, o in enumerate(off))]


def run(model: onnx.ModelProto, feeds: dict) -> list:
    env = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    env.update(feeds)
    env[""] = None
    for node in model.graph.node:
        a = _attrs(node)
        x = [env[n] if n else None for n in node.input]
        op = node.op_type
        if op == "Constant":
            y = numpy_helper.to_array(a["value"])
        elif op == "Identity":
            y = x[0]
        elif op == "Add":
            y = x[0] + x[1]
        elif op == "Sub":
            y = x[0] - x[1]
        elif op == "Mul":
            y = x[0] * x[1]
        elif op == "Div":
            y = (x[0] // x[1]) if np.issubdtype(np.asarray(x[0]).dtype, np.integer) else x[0] / x[1]
        elif op == "Pow":
            y = np.power(x[0], x[1]).astype(x[0].dtype)
        elif op == "Sqrt":
            y = np.sqrt(x[0])
        elif op == "Erf":
            y = _erf(x[0].astype(np.float64)).astype(x[0].dtype)
        elif op == "Equal":
            y = np.equal(x[0], x[1])
        elif op == "Where":
            y = np.where(x[0], x[1], x[2])
        elif op == "Cast":
            y = np.asarray(x[0]).astype(_DT[a["to"]])
        elif op == "Clip":
            y = x[0]
            if len(x) > 1 and x[1] is not None:
                y = np.maximum(y, x[1])
            if len(x) > 2 and x[2] is not None:
                y = np.minimum(y, x[2])
        elif op == "Concat":
            y = np.concatenate(x, axis=a["axis"])
        elif op == "ConstantOfShape":
            v = numpy_helper.to_array(a["value"]) if "value" in a else np.zeros(1, np.float32)
            y = np.full(tuple(int(d) for d in x[0]), v.reshape(-1)[0], dtype=v.dtype)
        elif op == "Conv":
            k = a["kernel_shape"]
            s = a.get("strides", [1] * len(k))
            if a.get("group", 1) != 1 or any(d != 1 for d in a.get("dilations", [1] * len(k))):
                raise NotImplementedError("onnx_numpy: grouped or dilated Conv")
            w = x[1]
            y = 0
            for off, v in _window(x[0], k, s, a.get("pads", [0] * (2 * len(k)))):
                y = y + np.tensordot(v, w[(slice(None), slice(None)) + off], axes=([1], [1])).transpose(0, -1, *range(1, len(k) + 1))
            if len(x) > 2 and x[2] is not None:
                y = y + x[2].reshape((1, -1) + (1,) * len(k))
            y = y.astype(np.float32)
        elif op == "AveragePool":
            k = a["kernel_shape"]
            s = a.get("strides", [1] * len(k))
            if a.get("ceil_mode", 0) or any(a.get("pads", [])):
                raise NotImplementedError("onnx_numpy: AveragePool with ceil_mode or pads")
            y = sum(v for _, v in _window(x[0], k, s, [0] * (2 * len(k)))) / float(np.prod(k))
            y = y.astype(np.float32)
        elif op == "Pad":
            pads = [int(p) for p in x[1]]
            r = len(pads) // 2
            assert a.get("mode", b"constant") in (b"constant", "constant")
            cval = x[2].reshape(-1)[0] if len(x) > 2 and x[2] is not None else 0
            y = np.pad(x[0], [(pads[i], pads[i + r]) for i in range(r)], constant_values=cval)
        elif op == "Expand":
            shape = np.broadcast_shapes(x[0].shape, tuple(int(d) for d in x[1]))
            y = np.broadcast_to(x[0], shape).copy()
        elif op == "Flatten":
            ax = a.get("axis", 1)
            y = x[0].reshape(int(np.prod(x[0].shape[:ax])), -1)
        elif op == "Gather":
            y = np.take(x[0], x[1].astype(np.int64), axis=a.get("axis", 0))
        elif op == "MatMul":
            y = np.matmul(x[0], x[1])
        elif op == "Gemm":
            m0 = x[0].T if a.get("transA", 0) else x[0]
            m1 = x[1].T if a.get("transB", 0) else x[1]
            y = a.get("alpha", 1.0) * np.matmul(m0, m1)
            if len(x) > 2 and x[2] is not None:
                y = y + a.get("beta", 1.0) * x[2]
            y = y.astype(x[0].dtype)
        elif op == "Tile":
            y = np.tile(x[0], tuple(int(r) for r in x[1]))
        elif op == "Neg":
            y = -x[0]
        elif op == "Squeeze":
            axes = x[1] if len(x) > 1 and x[1] is not None else a.get("axes")
            y = np.squeeze(x[0], axis=None if axes is None else tuple(int(v) for v in axes))
        elif op == "Range":
            y = np.arange(x[0], x[1], x[2]).astype(np.asarray(x[0]).dtype)
        elif op in ("ReduceL2", "ReduceMean"):
            axes = tuple(a["axes"]) if "axes" in a else None
            kd = bool(a.get("keepdims", 1))
            if op == "ReduceL2":
                y = np.sqrt(np.sum(np.square(x[0]), axis=axes, keepdims=kd))
            else:
                y = np.mean(x[0], axis=axes, keepdims=kd)
            y = y.astype(x[0].dtype)
        elif op == "Reshape":
            shape = [int(d) for d in x[1]]
            shape = [x[0].shape[i] if d == 0 else d for i, d in enumerate(shape)]
            y = x[0].reshape(shape)
        elif op == "Shape":
            y = np.array(x[0].shape, dtype=np.int64)[a.get("start", 0):a.get("end", None)]
        elif op == "Slice":
            starts, ends = x[1], x[2]
            axes = x[3] if len(x) > 3 and x[3] is not None else range(len(starts))
            steps = x[4] if len(x) > 4 and x[4] is not None else [1] * len(starts)
            sl = [slice(None)] * x[0].ndim
            for st, en, ax, sp in zip(starts, ends, axes, steps):
                sl[int(ax)] = slice(int(st), int(min(en, np.iinfo(np.int64).max)), int(sp))
            y = x[0][tuple(sl)]
        elif op == "Softmax":
            ax = a.get("axis", -1)
            m = np.max(x[0], axis=ax, keepdims=True)
            e = np.exp(x[0] - np.where(np.isfinite(m), m, 0))
            y = (e / np.sum(e, axis=ax, keepdims=True)).astype(x[0].dtype)
        elif op == "Transpose":
            y = np.transpose(x[0], a.get("perm"))
        elif op == "Unsqueeze":
            axes = [int(v) for v in (x[1] if len(x) > 1 else a["axes"])]
            y = x[0]
            for ax in sorted(axes):
                y = np.expand_dims(y, ax if ax >= 0 else ax + y.ndim + 1)
        elif op == "ArgMax":
            ax = a.get("axis", 0)
            assert not a.get("select_last_index", 0)
            y = np.argmax(x[0], axis=ax).astype(np.int64)
            if a.get("keepdims", 1):
                y = np.expand_dims(y, ax)
        else:
            raise NotImplementedError(f"onnx_numpy: operator {op}")
        outs = y if isinstance(y, (list, tuple)) else [y]
        for name, v in zip(node.output, outs):
            env[name] = np.asarray(v) if not isinstance(v, np.ndarray) else v
    return [env[o.name] for o in model.graph.output]


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.sum(a * b, axis=1)
