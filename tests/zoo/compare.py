#!/usr/bin/python3
"""Run inferd-run on the exported zoo models and compare with torch's output.

    compare.py --runner PATH/inferd-run --models DIR [--threads N] [MODEL ...]

For each model (default: every model export.py knows) it runs
`inferd-run DIR/MODEL/model.onnx --input input_0.pb --output-dir TMP` and
compares TMP/output_0.pb with torch's DIR/MODEL/output_0.pb: same shape and
dtype, relative L2 error ||a-b||/||b|| <= 1e-4 and max abs error <= 1e-3.
Prints one table row per model and exits 1 if any model fails, 77 (skip) if the
models could not be exported on this machine (no torch).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import MODELS  # noqa: E402  (the list lives in one place)

REL_L2_MAX = 1e-4
MAX_ABS_MAX = 1e-3
SKIP = 77
# A sanitizer report fails the model even when the exit status is 0.
SANITIZER = re.compile(r"ERROR: \w+Sanitizer.*|runtime error:.*")


def read_tensor(path):
    from onnx import TensorProto, numpy_helper

    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def first_line(text):
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "(no message)"


def check_model(args, name):
    """Returns (ok, rel_l2, max_abs, note)."""
    folder = os.path.join(args.models, name)
    err = os.path.join(folder, "ERROR")
    if os.path.exists(err):
        with open(err) as f:
            return False, None, None, "export failed: " + f.read().strip()
    model = os.path.join(folder, "model.onnx")
    if not os.path.isfile(model):
        return False, None, None, (f"{model} missing: build the export target "
                                   "(ninja -C BUILD) or run export.py")
    want = read_tensor(os.path.join(folder, "output_0.pb"))
    with tempfile.TemporaryDirectory(prefix=f"zoo-{name}-") as tmp:
        cmd = [args.runner, model, "--backend", args.backend, "--threads", str(args.threads),
               "--input", os.path.join(folder, "input_0.pb"), "--output-dir", tmp]
        t0 = time.monotonic()
        try:
            p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, errors="replace", timeout=args.timeout)
        except subprocess.TimeoutExpired:
            return False, None, None, f"timed out after {args.timeout} s"
        secs = time.monotonic() - t0
        if args.verbose:
            print(" ".join(cmd), file=sys.stderr)
            sys.stderr.write(p.stderr)
        if SANITIZER.search(p.stderr):
            return False, None, None, f"sanitizer: {SANITIZER.search(p.stderr).group(0)}"
        if p.returncode != 0:
            how = (f"killed by signal {-p.returncode}" if p.returncode < 0
                   else f"exit {p.returncode}")
            return False, None, None, f"inferd-run {how}: {first_line(p.stderr)}"
        out = os.path.join(tmp, "output_0.pb")
        if not os.path.isfile(out):
            return False, None, None, "inferd-run wrote no output_0.pb"
        got = read_tensor(out)
    if got.shape != want.shape or got.dtype != want.dtype:
        return False, None, None, (f"got {got.dtype}{list(got.shape)}, "
                                   f"want {want.dtype}{list(want.shape)}")
    a = got.astype(np.float64)
    b = want.astype(np.float64)
    if not np.all(np.isfinite(a)):
        return False, None, None, "output has NaN or Inf"
    rel = float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))
    mx = float(np.max(np.abs(a - b)))
    ok = rel <= REL_L2_MAX and mx <= MAX_ABS_MAX
    return ok, rel, mx, f"{secs:.1f} s"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runner", required=True, help="path of inferd-run")
    ap.add_argument("--models", required=True, help="folder export.py wrote")
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=280, help="seconds per model")
    ap.add_argument("-v", "--verbose", action="store_true", help="show inferd-run's stderr")
    ap.add_argument("names", nargs="*", metavar="MODEL", help="models to check (default: all)")
    args = ap.parse_args()

    if os.sep in args.runner:
        args.runner = os.path.abspath(args.runner)
    skip = os.path.join(args.models, "SKIP")
    if os.path.exists(skip):
        with open(skip) as f:
            print(f"zoo: skipped: {f.read().strip()}")
        return SKIP
    names = args.names or list(MODELS)
    for n in names:
        if n not in MODELS:
            ap.error(f"unknown model {n!r} (known: {', '.join(MODELS)})")

    print(f"{'model':20s} {'rel L2':>10s} {'max abs':>10s}  result")
    failed = 0
    for name in names:
        ok, rel, mx, note = check_model(args, name)
        failed += not ok
        rel_s = f"{rel:10.2e}" if rel is not None else f"{'-':>10s}"
        mx_s = f"{mx:10.2e}" if mx is not None else f"{'-':>10s}"
        print(f"{name:20s} {rel_s} {mx_s}  {'ok' if ok else 'FAIL'}  ({note})", flush=True)
    print(f"zoo: {len(names) - failed} of {len(names)} models match torch "
          f"(rel L2 <= {REL_L2_MAX:g}, max abs <= {MAX_ABS_MAX:g})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
