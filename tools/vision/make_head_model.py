#!/usr/bin/env python3
"""Builds a tiny ONNX "detector" whose output has a YOLO head layout with known values, for the
package decoder tests (crates/vigil-vision/tests/packages.rs).

    make_head_model.py SPEC_JSON OUT.onnx

SPEC_JSON: {"size": [H, W], "layout": "NCHW"|"NHWC", "rows": [[...], ...],
            "transpose": bool, "probe": [row, col]}
The output is `rows` as a [1, N, K] tensor ([1, K, N] when `transpose`), plus, at `probe`, the
mean of input channel 0 over the image: so the decoded score there checks the preprocessing
(channel order, mean/std, letterbox padding) through a real ONNX Runtime inference.
"""
import json
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build(spec):
    h, w = spec["size"]
    nhwc = spec.get("layout", "NCHW") == "NHWC"
    rows = np.array(spec["rows"], dtype=np.float32)
    n, k = rows.shape
    pr, pc = spec["probe"]
    base = rows.T.copy() if spec.get("transpose") else rows
    mask = np.zeros_like(base)
    if spec.get("transpose"):
        mask[pc, pr] = 1.0
    else:
        mask[pr, pc] = 1.0
    out_shape = [1, *base.shape]
    in_shape = [1, h, w, 3] if nhwc else [1, 3, h, w]
    nodes = []
    x = "images"
    if nhwc:
        nodes.append(helper.make_node("Transpose", [x], ["nchw"], perm=[0, 3, 1, 2]))
        x = "nchw"
    # Mean of channel 0: GlobalAveragePool -> [1, 3, 1, 1] -> Reshape [1, 3] -> MatMul [3, 1].
    nodes += [
        helper.make_node("GlobalAveragePool", [x], ["gap"]),
        helper.make_node("Reshape", ["gap", "shape13"], ["gap2"]),
        helper.make_node("MatMul", ["gap2", "pick0"], ["m0"]),  # [1, 1]
        helper.make_node("Reshape", ["m0", "shape111"], ["m0r"]),  # [1, 1, 1]
        helper.make_node("Mul", ["m0r", "mask"], ["probe"]),
        helper.make_node("Add", ["probe", "base"], ["output0"]),
    ]
    inits = [
        numpy_helper.from_array(np.array([1, 3], dtype=np.int64), "shape13"),
        numpy_helper.from_array(np.array([[1.0], [0.0], [0.0]], dtype=np.float32), "pick0"),
        numpy_helper.from_array(np.array([1, 1, 1], dtype=np.int64), "shape111"),
        numpy_helper.from_array(mask[None], "mask"),
        numpy_helper.from_array(base[None], "base"),
    ]
    graph = helper.make_graph(
        nodes,
        "head",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, out_shape)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="vigil-test")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    onnx.save(build(json.loads(sys.argv[1])), sys.argv[2])
