#!/usr/bin/python3
"""The benchmark's tools without ONNX Runtime or npm: ort_run against a fake
library (fake_ort.c) through loading, the API version, the function-table check
and error reporting, and coreprobe's output.

    selftest.py ORT_RUN FAKE_ORT_LIB COREPROBE
"""
import os
import re
import subprocess
import sys


def main(ort_run, fake, coreprobe):
    failures = 0

    def expect(what, cmd, code, pattern, **env):
        nonlocal failures
        full_env = {k: v for k, v in os.environ.items()
                    if k not in ("ORT_LIB", "FAKE_ORT_VERSION", "FAKE_ORT_BAD_TABLE")}
        full_env.update(env)
        p = subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=60)
        text = p.stdout + p.stderr
        ok = p.returncode == code and re.search(pattern, text)
        print(f"{'ok  ' if ok else 'FAIL'} {what}: exit {p.returncode}: {text.strip()}")
        if not ok:
            print(f"     wanted exit {code} and /{pattern}/")
            failures += 1

    model = "model.onnx"  # never opened: every case stops before
    expect("no library", [ort_run, model], 2, r"no library: give --lib or set ORT_LIB")
    expect("missing library", [ort_run, model, "--lib", "/nonexistent/libonnxruntime.so.1"],
           1, r"cannot load ONNX Runtime: /nonexistent/libonnxruntime\.so\.1: ")
    expect("not ONNX Runtime", [ort_run, model, "--lib", "libm.so.6"], 1,
           r"no OrtGetApiBase: not ONNX Runtime")
    expect("fake runtime", [ort_run, model, "--lib", fake], 1,
           r"^model\.onnx: onnxruntime: CreateEnv: fake runtime: no sessions here$")
    expect("library from ORT_LIB", [ort_run, model], 1, r"CreateEnv: fake runtime",
           ORT_LIB=fake)
    expect("table laid out otherwise", [ort_run, model, "--lib", fake], 1,
           r"ONNX Runtime 1\.30\.0: its function table is not laid out as ort_run expects",
           FAKE_ORT_BAD_TABLE="1")
    expect("API version asked", [ort_run, model, "--lib", fake], 1,
           r"CreateEnv: fake runtime", FAKE_ORT_VERSION="1.17.3")
    expect("not 1.x", [ort_run, model, "--lib", fake], 1,
           r"ONNX Runtime 2\.0\.0: only 1\.x is known here", FAKE_ORT_VERSION="2.0.0")
    expect("bad thread count", [ort_run, model, "--lib", fake, "-t", "0"], 2,
           r"--threads takes 1 to 256, not '0'")
    expect("coreprobe", [coreprobe], 0,
           r"^coreprobe: (cpus \d+,\d+  1 thread [\d.]+ GFLOP/s  2 threads [\d.]+ GFLOP/s  "
           r"scale \d+\.\d\d  (two cores|shared core)|one cpu  scale 1\.00  one cpu)$")
    expect("coreprobe usage", [coreprobe, "-1"], 2, r"usage: coreprobe")
    print(f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
