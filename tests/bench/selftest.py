#!/usr/bin/python3
"""The benchmark's tools without ONNX Runtime or npm: ort_run against a fake
library (fake_ort.c) through loading, the API version, the function-table check
and error reporting, coreprobe's output, and how --profile reads both engines'
profiles and pairs ONNX Runtime's nodes with inferd's, which CPUs each timed
pair is pinned to, the row's ratio as the median of its pairs' and per CPU, that --busy-cpu's loop spins on its CPU alone and is gone
when stopped; given inferd-run, that its --profile with --bench covers
the timed runs only.

    selftest.py ORT_RUN FAKE_ORT_LIB COREPROBE [INFERD_RUN PLUGIN_DIR MODEL]
"""
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def profile_check():
    """bench.py's --profile pieces on a four-node graph: Conv -> Relu -> Mul
    -> Gemm, inferd fusing the Relu and the Mul into the Conv (its rows:
    the Conv and the Gemm). ONNX Runtime's trace names one node by its
    output plus _nchwc, one as a fusion NODE/XFusion/, one by its node name,
    and has a layout node of its own. Returns the failures."""
    import bench
    from onnx import TensorProto, helper

    nodes = [helper.make_node("Conv", ["x", "w"], ["c_out"], name="/c/Conv"),
             helper.make_node("Relu", ["c_out"], ["r_out"], name="/r/Relu"),
             helper.make_node("Mul", ["r_out", "r_out"], ["m_out"], name="/m/Mul"),
             helper.make_node("Conv", ["m_out", "w"], ["e_out"], name="/e/Conv"),
             helper.make_node("Relu", ["e_out"], ["er_out"], name="/er/Relu"),
             helper.make_node("Conv", ["er_out", "w"], ["d_out"], name="/d/Conv"),
             helper.make_node("Gemm", ["d_out", "g"], ["y"], name="/g/Gemm")]
    info = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1]) for n in ("x", "w", "g")]
    out = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])]
    model = helper.make_model(helper.make_graph(nodes, "g", info, out))
    mine = bench.inferd_profile(
        "profile: 3 nodes, 1.100 ms per run\n"
        "   share     ms/run  op                   kernel                   node\n"
        "   63.6%     0.7000  Conv                 conv_gemm_avx512         /c/Conv\n"
        "   27.3%     0.3000  Gemm                 gemv_avx512              /g/Gemm\n"
        "    9.1%     0.1000  Conv                 mbconv_avx512            /d/Conv\n")
    trace = []
    # er_out: a convolution inferd runs inside its reader (/d/Conv, mbconv)
    for name, us in (("r_out_nchwc", 400), ("/m/Mul/QuickGeluFusion/", 100),
                     ("er_out_nchwc", 30), ("/d/Conv", 70), ("/g/Gemm", 250),
                     ("ReorderOutput_token_1", 5)):
        for run_us in (us, us * 3, us):  # the median is the middle one
            trace.append({"cat": "Node", "name": name + "_kernel_time", "dur": run_us,
                          "args": {"op_name": "Op"}})
    trace.append({"cat": "Session", "name": "model_run", "dur": 9999})
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "m.onnx")
        with open(path, "wb") as f:
            f.write(model.SerializeToString())
        tpath = os.path.join(tmp, "t.json")
        with open(tpath, "w") as f:
            json.dump(trace, f)
        theirs = bench.ort_profile(tpath)
        matched, unmatched = bench.ort_match(path, mine, theirs)
    want = {"/c/Conv": 0.5, "/g/Gemm": 0.25, "/d/Conv": 0.1}
    got = {k: round(v, 6) for k, v in matched.items()}
    ok = (mine == {"/c/Conv": (0.7, "Conv", "conv_gemm_avx512"),
                   "/g/Gemm": (0.3, "Gemm", "gemv_avx512"),
                   "/d/Conv": (0.1, "Conv", "mbconv_avx512")}
          and got == want and [u[0] for u in unmatched] == ["ReorderOutput_token_1"])
    print(f"{'ok  ' if ok else 'FAIL'} profile pairing: inferd {mine}, ORT {got}, "
          f"unmatched {[u[0] for u in unmatched]}")
    return 0 if ok else 1


def pin_check():
    """Which CPUs each inferd/ORT pair is pinned to. Returns the failures."""
    import bench

    cases = [((0, 1, {0, 1}), {0}), ((1, 1, {0, 1}), {1}), ((2, 1, {1, 0}), {0}),
             ((0, 2, {0, 1}), None), ((0, 1, {5}), None), ((1, 2, {0, 1, 2, 3}), {2, 3}),
             ((2, 2, {0, 1, 2, 3}), {0, 1}), ((1, 2, {0, 1, 2}), None)]
    failures = 0
    for args, want in cases:
        got = bench.pinned_cpus(*args)
        if got != want:
            print(f"FAIL pinned_cpus{args}: {got}, want {want}")
            failures += 1
    mine = bench.pinned_cpus(0, 1)
    if mine is not None and len(mine) != 1:
        print(f"FAIL pinned_cpus(0, 1) on this machine: {mine}")
        failures += 1
    # the pin reaches the timed program: Bench.run's child reports its own
    # affinity (Bench.run needs only env from its instance)
    runner = type("Runner", (), {"env": dict(os.environ)})()
    cmd = ["/usr/bin/python3", "-c", "import os; print(sorted(os.sched_getaffinity(0)))"]
    for cpus in ({min(os.sched_getaffinity(0))}, None):
        got = bench.Bench.run(runner, cmd, "affinity probe", cpus).strip()
        want = str(sorted(cpus or os.sched_getaffinity(0)))
        if got != want:
            print(f"FAIL Bench.run pinned to {cpus}: the child runs on {got}, want {want}")
            failures += 1
    # the row's ratio: the median of the pairs' ratios, and per CPU the same
    samples = {"inferd": [(1.0, 0, {0}), (3.0, 0, {1}), (2.0, 0, {0}), (9.0, 0, {0}),
                          (5.0, 0, {1})],
               "ort": [(2.0, 0, {0}), (4.0, 0, {1}), (2.0, 0, {0}), (2.5, 0, {0}),
                       (4.0, 0, {1})]}
    # pairs: 0.5 (cpu 0), 0.75 (1), 1.0 (0), 3.6 (0), 1.25 (1); the engines'
    # own medians, 3.0 and 2.5, would give 1.2
    checks = [("pair_ratio", bench.pair_ratio(samples), 1.0),
              ("ratios_by_cpus", bench.ratios_by_cpus(samples), {"0": 1.0, "1": 1.0})]
    unpinned = {e: [(x[0], 0, None) for x in v] for e, v in samples.items()}
    checks += [("pair_ratio unpinned", bench.pair_ratio(unpinned), 1.0),
               ("ratios_by_cpus unpinned", bench.ratios_by_cpus(unpinned), {})]
    for what, got, want in checks:
        if got != want:
            print(f"FAIL {what}: {got}, want {want}")
            failures += 1
    if not failures:
        print("ok   pinned_cpus: each pair on the same CPUs, the CPUs in turn; "
              "the ratio of the pairs, on each")
    return failures


def busy_check():
    """--busy-cpu's loop: pinned to the CPU asked, using it, gone when stopped.
    Returns the failures."""
    import time

    import bench

    cpu = max(os.sched_getaffinity(0))
    p = bench.busy_start(cpu)
    failures = 0
    try:
        time.sleep(0.3)
        got = os.sched_getaffinity(p.pid)
        if got != {cpu}:
            print(f"FAIL busy_start({cpu}): the loop may run on {sorted(got)}")
            failures += 1
        with open(f"/proc/{p.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        used = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
        # spinning, even on a CPU the test run shares with another test
        if used < 0.05:
            print(f"FAIL busy_start({cpu}): the loop used {used:.2f} s of CPU in 0.3 s")
            failures += 1
    finally:
        bench.busy_stop(p)
    if p.poll() is None or os.path.exists(f"/proc/{p.pid}"):
        print(f"FAIL busy_stop: process {p.pid} is still there")
        failures += 1
    bench.busy_stop(None)
    if not failures:
        print(f"ok   busy_start: a loop spinning on CPU {cpu} alone, gone when stopped")
    return failures


def main(ort_run, fake, coreprobe, inferd_run=None, plugin_dir=None, model_file=None):
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
    bench_py = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench.py")
    expect("--busy-cpu with --profile", [sys.executable, bench_py, "--build", ".", "--profile",
                                         "resnet50", "--busy-cpu", "0"], 2,
           r"--busy-cpu times whole models; --profile runs without it")
    expect("--busy-cpu on a CPU not there", [sys.executable, bench_py, "--build", ".",
                                             "--busy-cpu", "4096"], 2,
           r"--busy-cpu 4096: not one of this process's CPUs")
    if inferd_run:
        # the cold first run and the warm-up are not in the profile
        expect("inferd-run --profile counts the timed runs",
               [inferd_run, model_file, "--plugin-path", plugin_dir, "--bench", "7",
                "--warmup", "3", "--profile"], 0,
               r"profile: \d+ nodes, [\d.]+ ms per run over 7 runs\n")
    failures += profile_check()
    failures += pin_check()
    failures += busy_check()
    print(f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) not in (4, 7):
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
