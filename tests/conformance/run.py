#!/usr/bin/python3
"""Run the ONNX node tests through inferd-run and compare with onnx's outputs.

    run.py --runner PATH/inferd-run --data DIR [--expected FILE] [options] [TEST ...]

DIR is what generate.py wrote: DIR/<test>/model.onnx and
DIR/<test>/test_data_set_N/{input,output}_K.pb. Each test is first classified:

  in scope      every op of its graph is in the engine's op list (OPS below), it
                is not a training test, and every float tensor among its inputs
                and outputs is float32 (integer and bool tensors are fine)
  out of scope  anything else; the reason is recorded (--list, --report)

In-scope tests are run (inputs in graph-input order, one --input per file) and
every output is compared with numpy: same shape, same dtype, and
np.allclose(rtol=1e-3, atol=1e-5) for floats, exact for integers and bools.
A result is one of:

  passed        all outputs match
  failed        wrong numbers, shape or dtype, a missing output, an error
                that does not say "unsupported", a timeout, or a crash
  unsupported   a clean non-zero exit whose message says "unsupported",
                "not supported" or "unknown operator"

A crash is a death by signal, an exit status >= 128, or a sanitizer report on
stderr. Out-of-scope tests are run too, but only to look for crashes and hangs
(--in-scope-only skips them): an unsupported op or dtype must be refused at
load with a message, never crash.

The exit status is 1 if a test listed in the expected file does not pass (or
is missing, or out of scope), or if any test crashes or hangs; passing tests
that are not listed are printed as "newly passing" without failing. 77 (skip)
if the data could not be generated on this machine.
"""
import argparse
import concurrent.futures
import fnmatch
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

# The engine's operators (the engine issue's list). A test is in scope only if
# all of its graph's ops are here.
OPS = frozenset("""
    Conv ConvTranspose BatchNormalization Relu LeakyRelu PRelu Clip Sigmoid
    HardSigmoid HardSwish Tanh Softmax LogSoftmax Add Sub Mul Div Pow Sqrt Exp Log
    Neg Abs Reciprocal Erf Sum Max Min MaxPool AveragePool GlobalAveragePool
    GlobalMaxPool LRN Gemm MatMul Flatten Reshape Transpose Concat Split Slice
    Squeeze Unsqueeze Shape Gather Constant ConstantOfShape Identity Dropout Pad
    Resize Upsample ReduceMean ReduceMax ReduceSum Cast Expand Tile Where Equal
    Less Greater ArgMax InstanceNormalization DepthToSpace SpaceToDepth
    ArgMin ReduceMin ReduceProd ReduceL1 ReduceL2 ReduceSumSquare ReduceLogSum
    ReduceLogSumExp LessOrEqual GreaterOrEqual Not And Or Xor Mod Mean Elu Selu Celu
    Softplus Softsign Floor Ceil Round Sign ThresholdedRelu Shrink IsNaN IsInf
    CastLike Sin Cos Tan Asin Acos Atan Sinh Cosh Asinh Acosh Atanh
""".split())

RTOL = 1e-3
ATOL = 1e-5
SKIP = 77
UNSUPPORTED = re.compile(r"unsupported|not supported|unknown operator", re.IGNORECASE)
SANITIZER = re.compile(r"ERROR: \w+Sanitizer.*|runtime error:.*|\w+Sanitizer:DEADLYSIGNAL")

PASSED, FAILED, UNSUP = "passed", "failed", "unsupported"
OUT_OF_SCOPE = "out-of-scope"


# --- classification --------------------------------------------------------


def graph_ops(graph, onnx):
    """(domain, op_type) of every node, subgraphs included."""
    ops = set()
    for node in graph.node:
        ops.add((node.domain or "", node.op_type))
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                ops |= graph_ops(attr.g, onnx)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    ops |= graph_ops(g, onnx)
    return ops


# Tensor element types a test may use besides float32: shapes, indices, masks.
# (Whether the engine computes on them is for the run to tell.)
OK_TYPES = frozenset("float int8 int16 int32 int64 uint8 uint16 uint32 uint64 bool".split())
TYPE_NAMES = {"float": "float32", "double": "float64"}


def value_type(value_info, onnx):
    """The element type name of a tensor ('float', 'int64', ...), or the kind of
    a non-tensor value ('sequence', 'map', 'optional', ...)."""
    t = value_info.type
    which = t.WhichOneof("value")
    if which != "tensor_type":
        return (which or "untyped").replace("_type", "")
    return onnx.TensorProto.DataType.Name(t.tensor_type.elem_type).lower()


def classify(folder, onnx):
    """Returns None when the test is in scope, else why it is not."""
    name = os.path.basename(folder)
    try:
        model = onnx.load(os.path.join(folder, "model.onnx"))
    except Exception as e:  # noqa: BLE001 - a broken test file is reported, not fatal
        return f"model.onnx unreadable: {e}"
    ops = graph_ops(model.graph, onnx)
    missing = sorted(f"{d}.{o}" if d not in ("", "ai.onnx") else o
                     for d, o in ops if d not in ("", "ai.onnx") or o not in OPS)
    if missing:
        return "op not in the engine's list: " + ", ".join(missing)
    if "training" in name:
        return "training test"
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.name == "training_mode" and attr.i != 0:
                return f"training test ({node.op_type} training_mode=1)"
    types = {value_type(vi, onnx) for vi in list(model.graph.input) + list(model.graph.output)}
    bad = sorted(TYPE_NAMES.get(t, t) for t in types - OK_TYPES)
    if bad:
        return "dtype not supported by the engine: " + ", ".join(bad)
    if not data_sets(folder):
        return "no test_data_set_N folder"
    return None


def data_sets(folder):
    return sorted(d for d in os.listdir(folder)
                  if d.startswith("test_data_set_") and os.path.isdir(os.path.join(folder, d)))


def numbered(folder, prefix):
    """folder/prefix_0.pb, prefix_1.pb, ... in index order."""
    files = []
    while os.path.isfile(os.path.join(folder, f"{prefix}_{len(files)}.pb")):
        files.append(os.path.join(folder, f"{prefix}_{len(files)}.pb"))
    return files


# --- running and comparing ---------------------------------------------------


def read_tensor(path):
    from onnx import TensorProto, numpy_helper

    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def last_line(text):
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else "(no message on stderr)"


def compare(name, got, want):
    """None if equal within tolerance, else what differs."""
    if got.dtype != want.dtype:
        return f"{name}: dtype {got.dtype}, want {want.dtype}"
    if got.shape != want.shape:
        return f"{name}: shape {list(got.shape)}, want {list(want.shape)}"
    if got.dtype.kind == "f":
        close = np.isclose(got, want, rtol=RTOL, atol=ATOL, equal_nan=True)
    else:
        close = got == want
    if close.all():
        return None
    bad = np.argwhere(~close)
    idx = tuple(int(i) for i in bad[0])
    msg = f"{name}: {len(bad)} of {got.size} values differ; first at {list(idx)}: " \
          f"got {got[idx]!r}, want {want[idx]!r}"
    if got.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            err = np.nanmax(np.abs(got.astype(np.float64) - want.astype(np.float64)))
        msg += f"; max abs error {err:.3g}"
    return msg


def run_cmd(cmd, timeout):
    """subprocess.run, but a timeout kills the whole process group (a wrapper
    such as valgrind leaves no child behind) and returns None."""
    with subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, errors="replace",
                          start_new_session=True) as p:
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            return None
    return subprocess.CompletedProcess(cmd, p.returncode, out, err)


def run_one(args, folder, in_scope):
    """Returns (result, reason, crashed)."""
    model = os.path.join(folder, "model.onnx")
    for ds in data_sets(folder):
        ds_dir = os.path.join(folder, ds)
        inputs = numbered(ds_dir, "input")
        outputs = numbered(ds_dir, "output")
        tmp = tempfile.mkdtemp(prefix="conformance-")
        try:
            cmd = [args.runner, model, "--backend", args.backend, "--threads", str(args.threads)]
            for f in inputs:
                cmd += ["--input", f]
            cmd += ["--output-dir", tmp]
            p = run_cmd(cmd, args.timeout)
            if p is None:
                return FAILED, f"timed out after {args.timeout:g} s (hang)", True
            san = SANITIZER.search(p.stderr)
            if san:
                return FAILED, f"CRASH: {san.group(0).strip()}", True
            if p.returncode < 0:
                return FAILED, f"CRASH: killed by signal {-p.returncode}: {last_line(p.stderr)}", True
            if p.returncode >= 128:
                return FAILED, f"CRASH: exit {p.returncode}: {last_line(p.stderr)}", True
            if p.returncode != 0:
                msg = last_line(p.stderr)
                if UNSUPPORTED.search(p.stderr):
                    return UNSUP, msg, False
                return FAILED, f"exit {p.returncode}: {msg}", False
            if not in_scope:
                return PASSED, "exit 0", False  # out of scope: only crashes matter
            for k, want_path in enumerate(outputs):
                got_path = os.path.join(tmp, f"output_{k}.pb")
                if not os.path.isfile(got_path):
                    return FAILED, f"output_{k}.pb not written", False
                try:
                    got = read_tensor(got_path)
                except Exception as e:  # noqa: BLE001 - a bad file is a failure
                    return FAILED, f"output_{k}.pb unreadable: {e}", False
                diff = compare(f"{ds}/output_{k}", got, read_tensor(want_path))
                if diff:
                    return FAILED, diff, False
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return PASSED, "", False


# --- the expected list --------------------------------------------------------

HEADER = """\
# ONNX node tests (onnx 1.12, see generate.py) that inferd must pass.
# run.py fails if one of these does not pass; it reports passing tests that are
# missing here. Regenerate with: run.py ... --update-expected
"""


def read_expected(path):
    names = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                names.append(line)
    return names


def write_expected(path, names):
    header = []
    try:
        with open(path) as f:
            for line in f:
                if not line.startswith("#"):
                    break
                header.append(line)
    except FileNotFoundError:
        pass
    with open(path, "w") as f:
        f.write("".join(header) or HEADER)
        for n in sorted(names):
            f.write(n + "\n")


# --- main -------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("--runner", help="path of inferd-run (not needed with --list)")
    ap.add_argument("--data", required=True, help="folder generate.py wrote")
    ap.add_argument("--expected", help="list of tests expected to pass")
    ap.add_argument("--update-expected", action="store_true",
                    help="rewrite --expected with the tests that pass now")
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="inferd-run --threads")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="tests run at once")
    ap.add_argument("--timeout", type=float, default=20, help="seconds per test")
    ap.add_argument("--in-scope-only", action="store_true",
                    help="do not run out-of-scope tests (crash check)")
    ap.add_argument("--list", action="store_true",
                    help="print each test's scope (and why not) and exit")
    ap.add_argument("--report", help="write every test's result and reason to this file")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="also print passing and out-of-scope tests")
    ap.add_argument("tests", nargs="*", metavar="TEST",
                    help="run only these tests (shell patterns, e.g. 'test_conv*')")
    args = ap.parse_args()

    for marker, status in (("SKIP", SKIP), ("ERROR", 1)):
        path = os.path.join(args.data, marker)
        if os.path.exists(path):
            with open(path) as f:
                print(f"conformance: {'skipped' if status == SKIP else 'error'}: {f.read().strip()}")
            return status
    if not args.list and not args.runner:
        ap.error("--runner is required")
    if args.runner and os.sep in args.runner:
        args.runner = os.path.abspath(args.runner)
    if args.update_expected and (not args.expected or args.tests):
        ap.error("--update-expected needs --expected and the whole suite (no TEST)")
    try:
        import onnx
    except ImportError as e:
        print(f"conformance: skipped: onnx is not installed for {sys.executable}: {e}")
        return SKIP

    names = sorted(n for n in os.listdir(args.data)
                   if os.path.isfile(os.path.join(args.data, n, "model.onnx")))
    if not names:
        print(f"conformance: no tests in {args.data} (run generate.py)")
        return 1
    if args.tests:
        names = [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in args.tests)]
    scope = {n: classify(os.path.join(args.data, n), onnx) for n in names}
    in_scope = [n for n in names if scope[n] is None]

    if args.list:
        for n in names:
            print(f"{n}\t{'in scope' if scope[n] is None else 'out of scope: ' + scope[n]}")
        print(f"conformance: {len(in_scope)} of {len(names)} tests in scope")
        return 0

    to_run = names if not args.in_scope_only else in_scope
    t0 = time.monotonic()
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futs = {pool.submit(run_one, args, os.path.join(args.data, n), scope[n] is None): n
                for n in to_run}
        for fut in concurrent.futures.as_completed(futs):
            results[futs[fut]] = fut.result()
    secs = time.monotonic() - t0

    expected = read_expected(args.expected) if args.expected else []
    expected_set = set(expected)
    problems = {"expected tests not passing": 0, "crashes or hangs": 0,
                "listed tests missing or out of scope": 0}
    counts = {PASSED: 0, FAILED: 0, UNSUP: 0}
    for n in in_scope:
        result, reason, crashed = results[n]
        counts[result] += 1
        tag = " [expected to pass]" if n in expected_set else ""
        if result != PASSED:
            print(f"{result.upper()} {n}: {reason}{tag}")
            if crashed:
                problems["crashes or hangs"] += 1
            elif n in expected_set:
                problems["expected tests not passing"] += 1
        elif args.verbose:
            print(f"PASSED {n}")

    oos_run = [n for n in to_run if scope[n] is not None]
    oos_crashed = [n for n in oos_run if results[n][2]]
    for n in oos_crashed:
        print(f"FAILED {n} (out of scope: {scope[n]}): {results[n][1]}")
    problems["crashes or hangs"] += len(oos_crashed)
    if args.verbose:
        for n in oos_run:
            if not results[n][2]:
                print(f"OUT-OF-SCOPE {n} ({scope[n]}): "
                      f"{results[n][0]} {results[n][1]}".rstrip())

    for n in expected:
        if args.tests and not any(fnmatch.fnmatchcase(n, p) for p in args.tests):
            continue
        if n not in scope:
            print(f"MISSING {n}: listed in {os.path.basename(args.expected)} but not generated")
            problems["listed tests missing or out of scope"] += 1
        elif scope[n] is not None:
            print(f"MISSING {n}: listed in {os.path.basename(args.expected)} "
                  f"but out of scope ({scope[n]})")
            problems["listed tests missing or out of scope"] += 1

    newly = [n for n in in_scope if results[n][0] == PASSED and n not in expected_set]
    print(f"conformance: {counts[PASSED]} passed, {counts[FAILED]} failed, "
          f"{counts[UNSUP]} unsupported (of {len(in_scope)} in scope)")
    if oos_run:
        print(f"conformance: {len(oos_run)} out-of-scope tests run for crashes only, "
              f"{len(oos_crashed)} crashed or hung")
    print(f"conformance: {len(to_run)} tests in {secs:.1f} s")

    if args.report:
        with open(args.report, "w") as f:
            for n in names:
                if scope[n] is None:
                    r = results[n]
                    f.write(f"{n}\t{r[0]}\t{r[1]}\n")
                else:
                    r = results.get(n)
                    ran = ""
                    if r:
                        ran = f" (crash check: {r[1] if r[0] == PASSED else r[0] + ': ' + r[1]})"
                    f.write(f"{n}\t{OUT_OF_SCOPE}\t{scope[n]}{ran}\n")

    if args.update_expected:
        passing = [n for n in in_scope if results[n][0] == PASSED]
        write_expected(args.expected, passing)
        print(f"conformance: wrote {len(passing)} tests to {args.expected}")
    elif newly:
        print(f"newly passing: add them to {os.path.basename(args.expected or 'expected_pass.txt')} "
              f"(or run run.py --update-expected): {len(newly)} tests")
        for n in newly:
            print(f"  {n}")

    if any(problems.values()):
        print("conformance: FAILED: " + ", ".join(f"{v} {k}" for k, v in problems.items() if v))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
