#!/usr/bin/python3
"""Generate the official ONNX node tests with the installed onnx package.

    generate.py --out DIR [--stamp FILE]

Writes DIR/<test name>/model.onnx and DIR/<test name>/test_data_set_N/
input_K.pb / output_K.pb, the layout of onnx's `backend-test-tools
generate-data`, for the node tests only (the real-model tests download their
data, which a test run must never do). DIR is emptied first.

The onnx 1.12 generators still use np.float, np.object, np.bool and np.int,
which numpy 1.24 removed: the aliases are restored before the generators are
imported. Numpy is seeded so that the data is the same on every run (onnx also
reseeds before each generator).

If onnx is not installed for this python, DIR/SKIP says so and run.py skips;
if generation fails, DIR/ERROR says why and run.py fails with it (the build
itself goes on: a broken generator must not stop `ninja`).
"""
import argparse
import builtins
import os
import shutil
import sys
import time

SEED = 0


def restore_numpy_aliases(np):
    for name in ("float", "int", "bool", "object", "complex", "str"):
        if name not in np.__dict__:
            setattr(np, name, getattr(builtins, name))


def write_tensor(path, proto):
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())


def to_proto(numpy_helper, type_proto, value, name):
    if type_proto.HasField("sequence_type"):
        return numpy_helper.from_list(value, name)
    if type_proto.HasField("map_type"):
        return numpy_helper.from_dict(value, name)
    if type_proto.HasField("optional_type"):
        return numpy_helper.from_optional(value, name)
    return numpy_helper.from_array(value, name)


def generate(out):
    import numpy as np

    restore_numpy_aliases(np)
    np.random.seed(SEED)
    from onnx import numpy_helper
    import onnx.backend.test.case.node as node_cases

    cases = node_cases.collect_testcases(None)
    names = set()
    for case in cases:
        folder = os.path.join(out, case.name)
        if case.name in names:
            # onnx 1.12 has two such pairs; like generate-data, the later wins.
            print(f"generate: two node tests named {case.name}: keeping the later one")
            shutil.rmtree(folder)
        names.add(case.name)
        os.makedirs(folder)
        graph = case.model.graph
        write_tensor(os.path.join(folder, "model.onnx"), case.model)
        for i, (inputs, outputs) in enumerate(case.data_sets):
            ds = os.path.join(folder, f"test_data_set_{i}")
            os.makedirs(ds)
            for j, value in enumerate(inputs):
                write_tensor(os.path.join(ds, f"input_{j}.pb"),
                             to_proto(numpy_helper, graph.input[j].type, value,
                                      graph.input[j].name))
            for j, value in enumerate(outputs):
                write_tensor(os.path.join(ds, f"output_{j}.pb"),
                             to_proto(numpy_helper, graph.output[j].type, value,
                                      graph.output[j].name))
    return len(names)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="folder to (re)create")
    ap.add_argument("--stamp", help="file to write when done (for the build system)")
    args = ap.parse_args()

    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    t0 = time.monotonic()
    try:
        import onnx
    except ImportError as e:
        msg = f"onnx is not installed for {sys.executable}: {e}"
        print(f"generate: {msg}; the conformance test will be skipped")
        with open(os.path.join(args.out, "SKIP"), "w") as f:
            f.write(msg + "\n")
    else:
        try:
            n = generate(args.out)
        except Exception as e:  # noqa: BLE001 - reported by run.py, not the build
            msg = f"generating the ONNX {onnx.__version__} node tests failed: {type(e).__name__}: {e}"
            print(f"generate: {msg}")
            with open(os.path.join(args.out, "ERROR"), "w") as f:
                f.write(msg + "\n")
        else:
            print(f"generate: {n} ONNX {onnx.__version__} node tests in {args.out} "
                  f"({time.monotonic() - t0:.1f} s)")
    if args.stamp:
        with open(args.stamp, "w") as f:
            f.write("ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
