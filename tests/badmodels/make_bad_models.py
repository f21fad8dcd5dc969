#!/usr/bin/python3
"""Writes one malformed ONNX model per case into the folder given as argument.

Each case is a file that inferd must refuse with a clear one-line message and
a non-zero exit, never a crash. tests/badmodels/meson.build lists the same
cases with the message part each must produce. Deterministic: same bytes on
every run.
"""
import os
import random
import sys

import numpy as np
from onnx import TensorProto, helper

OPSET = 13


def model(nodes, inputs, outputs, initializers=(), opset=OPSET):
    graph = helper.make_graph(nodes, "bad", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                             producer_name="inferd-badmodels")


def f32_input(name, dims):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def f32_output(name):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, None)


def weight(name, dims, raw):
    """A float initializer whose dims and raw_data are set independently."""
    t = TensorProto()
    t.name = name
    t.data_type = TensorProto.FLOAT
    t.dims.extend(dims)
    t.raw_data = raw
    return t


def conv_model():
    """A valid 1x3x8x8 -> Conv(4x3x3x3) -> Relu model, the base of several cases."""
    w = np.random.RandomState(0).standard_normal((4, 3, 3, 3)).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", kernel_shape=[3, 3]),
             helper.make_node("Relu", ["c"], ["y"], name="relu")]
    return model(nodes, [f32_input("x", [1, 3, 8, 8])], [f32_output("y")],
                 [weight("w", [4, 3, 3, 3], w.tobytes())])


def add_weight_model(w):
    """y = x + w for a 2x3 input and the given initializer w."""
    nodes = [helper.make_node("Add", ["x", "w"], ["y"], name="add")]
    return model(nodes, [f32_input("x", [2, 3])], [f32_output("y")], [w])


def cases():
    good = conv_model().SerializeToString()
    rng = random.Random(1234)
    out = {}
    out["empty"] = b""
    out["truncated"] = good[: len(good) // 2]
    out["random"] = bytes(rng.getrandbits(8) for _ in range(4096))

    out["cycle"] = model(
        [helper.make_node("Add", ["x", "b"], ["a"], name="add"),
         helper.make_node("Relu", ["a"], ["b"], name="relu")],
        [f32_input("x", [1, 4])], [f32_output("b")]).SerializeToString()

    out["dangling"] = model(
        [helper.make_node("Add", ["x", "ghost"], ["y"], name="add")],
        [f32_input("x", [1, 4])], [f32_output("y")]).SerializeToString()

    out["unknown_op"] = model(
        [helper.make_node("FrobnicateTensor", ["x"], ["y"], name="frob")],
        [f32_input("x", [1, 4])], [f32_output("y")]).SerializeToString()

    out["opset"] = model(
        [helper.make_node("Relu", ["x"], ["y"], name="relu")],
        [f32_input("x", [1, 4])], [f32_output("y")], opset=18).SerializeToString()

    # The weight has 3 input channels, the input 4.
    w = np.zeros((4, 3, 3, 3), np.float32)
    out["shape_mismatch"] = model(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", kernel_shape=[3, 3])],
        [f32_input("x", [1, 4, 8, 8])], [f32_output("y")],
        [weight("w", [4, 3, 3, 3], w.tobytes())]).SerializeToString()

    out["dims_overflow"] = add_weight_model(
        weight("w", [1 << 40, 1 << 40], b"")).SerializeToString()
    # 2^30 elements: over the default limit of 2^28, without needing the data.
    out["element_limit"] = add_weight_model(
        weight("w", [1 << 15, 1 << 15], b"")).SerializeToString()
    out["negative_dims"] = add_weight_model(
        weight("w", [2, -3], b"")).SerializeToString()

    ext = weight("w", [2, 3], b"")
    ext.ClearField("raw_data")
    ext.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "../../etc/passwd"), ("offset", "0"), ("length", "24")):
        e = ext.external_data.add()
        e.key, e.value = k, v
    out["external_escape"] = add_weight_model(ext).SerializeToString()

    out["raw_data_length"] = model(
        [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", kernel_shape=[7, 7])],
        [f32_input("x", [1, 3, 32, 32])], [f32_output("y")],
        [weight("w", [64, 3, 7, 7], bytes(100))]).SerializeToString()
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_bad_models.py OUTPUT_DIR")
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    for name, data in cases().items():
        with open(os.path.join(outdir, name + ".onnx"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
