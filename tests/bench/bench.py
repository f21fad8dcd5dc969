#!/usr/bin/python3
"""Side-by-side benchmark: inferd's CPU backend against ONNX Runtime's CPU
provider on the model zoo, same ONNX file, same input, same thread count, same
machine, same run (README.md).

    bench.py --build BUILD [--threads 1,2] [--runs 10] [--alternations 5]
             [--warmup 5] [--json FILE] [--check-targets] [--busy-cpu CPU]
             [MODEL ...]
    bench.py --build BUILD --profile MODEL [--threads N] [--runs N]
             (time per node in both engines, side by side, worst first)

For each model it first checks that `inferd-run` and `ort_run` give the same
output for the zoo's input (relative L2 <= 1e-4 against each other), then, for
each thread count, runs `inferd-run --bench RUNS` and `ort_run --bench RUNS`
alternately (A B A B ..., each a fresh process, --alternations times; where the
thread count leaves CPUs over, both processes of a pair pinned to the same
CPUs, the pairs taking the CPUs in turn) and takes the median of the
per-process medians for each engine; the ratio is the median of the pairs'
ratios (each pair ran on the same CPUs within seconds); peak RSS is the
median of the per-process peaks. Pinned rows also give the ratio on each CPU.
Around each timing at 2 or more threads, `coreprobe` says whether the CPUs
are two real cores just then; a row where either probe says otherwise is
marked SMT and left out of the multi-thread geometric mean.

It prints one row per model and thread count, the geometric means of the
inferd/ORT latency ratios and a verdict against the targets of the CPU speed
work. Exit status: 0 when every model ran and matched (whatever the verdict; 3
instead with --check-targets when a target is missed), 1 when a model failed or
its outputs differ, 2 on bad usage.

With --busy-cpu CPU a spinning shell loop keeps that CPU busy all through the
timing, as another program on the device would: the table then says how each
engine holds up when it cannot have every core to itself. coreprobe would only
report the busy core, so the rows are not probed, and no verdict is given: the
targets are for a machine the engines have to themselves.
"""
import argparse
import json
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "zoo"))
from export import MODELS  # noqa: E402  (the model list lives in one place)

REL_L2_MAX = 1e-4
SCALE_TWO_CORES = 1.6  # coreprobe's own threshold, repeated for the table
TARGET_GEOMEAN = 0.9
TARGET_WORST = 1.1
TARGET_RSS = 0.5
RUN_TIMEOUT = 900
# Linux keeps a process's peak RSS across exec, so a program started straight
# from this Python process (40 MiB with numpy loaded) would report at least
# that. A shell that forks the program gives it a fresh count.
LAUNCH = ["/bin/sh", "-c", '"$@"; exit $?', "sh"]

LATENCY = re.compile(r"latency over (\d+) runs: median ([\d.]+) ms  p90 ([\d.]+) ms  "
                     r"min ([\d.]+) ms")
RSS = re.compile(r"peak RSS: ([\d.]+) MiB")
SCALE = re.compile(r"scale ([\d.]+)")


class Failure(Exception):
    pass


def read_tensor(path):
    from onnx import TensorProto, numpy_helper

    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def last_line(text):
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "(no message)"


class Bench:
    def __init__(self, args):
        self.args = args
        b = os.path.abspath(args.build)
        self.inferd_run = os.path.join(b, "clients", "inferd-run")
        self.ort_run = os.path.join(b, "tests", "bench", "ort_run")
        self.coreprobe = os.path.join(b, "tests", "bench", "coreprobe")
        with open(os.path.join(b, "tests", "bench", "ort.json")) as f:
            self.ort = json.load(f)
        self.env = dict(os.environ, INFERD_PLUGIN_PATH=os.path.join(b, "backends", "cpu"),
                        ORT_LIB=self.ort["lib"])
        self.models = args.models or zoo_folder(b)
        self.probes = []

    def run(self, cmd, what, cpus=None):
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        p = subprocess.Popen(LAUNCH + cmd, env=self.env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True,
                             preexec_fn=pin)
        try:
            out, err = p.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            raise Failure(f"{what}: no answer in {RUN_TIMEOUT} s")
        if p.returncode != 0:
            raise Failure(f"{what}: exit {p.returncode}: {last_line(err or out)}")
        return out

    def files(self, name):
        folder = os.path.join(self.models, name)
        err = os.path.join(folder, "ERROR")
        if os.path.exists(err):
            with open(err) as f:
                raise Failure("export failed: " + f.read().strip())
        model = os.path.join(folder, "model.onnx")
        inp = os.path.join(folder, "input_0.pb")
        if not (os.path.isfile(model) and os.path.isfile(inp)):
            raise Failure(f"{model} or input_0.pb missing: build the zoo export "
                          "(ninja -C BUILD) first")
        return model, inp

    def engines(self, model, inp, threads):
        """The two commands, without the timing options: (name, argv)."""
        return [("inferd", [self.inferd_run, model, "-i", inp, "-t", str(threads)]),
                ("ort", [self.ort_run, model, "-i", inp, "-t", str(threads)])]

    def check(self, name):
        """Both engines' outputs for the zoo input agree; returns the worst rel L2."""
        model, inp = self.files(name)
        worst = 0.0
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
            dirs = {}
            for engine, cmd in self.engines(model, inp, 1):
                dirs[engine] = os.path.join(tmp, engine)
                self.run(cmd + ["-o", dirs[engine]], f"{engine} output")
            k = 0
            while os.path.exists(os.path.join(dirs["ort"], f"output_{k}.pb")):
                ref = read_tensor(os.path.join(dirs["ort"], f"output_{k}.pb"))
                path = os.path.join(dirs["inferd"], f"output_{k}.pb")
                if not os.path.exists(path):
                    raise Failure(f"inferd-run wrote no output_{k}.pb")
                got = read_tensor(path)
                if got.shape != ref.shape:
                    raise Failure(f"output {k}: shape {list(got.shape)}, ORT {list(ref.shape)}")
                ref = ref.astype(np.float64)
                diff = np.linalg.norm(got.astype(np.float64) - ref)
                norm = np.linalg.norm(ref)
                rel = diff / norm if norm > 0 else diff
                worst = max(worst, float(rel))
                k += 1
            if k == 0:
                raise Failure("ort_run wrote no output")
        if not worst <= REL_L2_MAX:
            raise Failure(f"outputs differ: rel L2 {worst:.2e} > {REL_L2_MAX:g}")
        return worst

    def probe(self):
        out = self.run([self.coreprobe], "coreprobe")
        m = SCALE.search(out)
        if not m:
            raise Failure(f"coreprobe: no scale in '{out.strip()}'")
        self.probes.append(out.strip())
        return float(m.group(1))

    def time_one(self, name, threads):
        model, inp = self.files(name)
        a = self.args
        timing = ["--bench", str(a.runs), "--warmup", str(a.warmup)]
        samples = {"inferd": [], "ort": []}
        probe = threads > 1 and a.busy_cpu is None
        probes = [self.probe()] if probe else []
        for i in range(a.alternations):
            cpus = pinned_cpus(i, threads)
            for engine, cmd in self.engines(model, inp, threads):
                out = self.run(cmd + timing, f"{engine} at {threads} threads", cpus)
                lat, rss = LATENCY.search(out), RSS.search(out)
                if not lat or not rss:
                    raise Failure(f"{engine}: no latency or RSS line in its output")
                samples[engine].append((float(lat.group(2)), float(rss.group(1)), cpus))
        if probe:
            probes.append(self.probe())
        row = {"model": name, "threads": threads, "probes": probes,
               "trusted": all(p >= SCALE_TWO_CORES for p in probes)}
        for engine, s in samples.items():
            row[engine + "_ms"] = statistics.median(x[0] for x in s)
            row[engine + "_mib"] = statistics.median(x[1] for x in s)
            row[engine + "_all_ms"] = [x[0] for x in s]
        row["ratio"] = pair_ratio(samples)
        row["rss_ratio"] = row["inferd_mib"] / row["ort_mib"]
        row["by_cpus"] = ratios_by_cpus(samples)
        return row


def busy_start(cpu):
    """A process that keeps `cpu` busy until busy_stop: a shell loop, pinned."""
    return subprocess.Popen(["/bin/sh", "-c", "while :; do :; done"], start_new_session=True,
                            preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))


def busy_stop(p):
    if p is None:
        return
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.wait()


def pair_ratios(samples):
    """inferd/ORT of each pair: the two processes that ran one after the
    other (on the same CPUs where pinned), as (ratio, cpus)."""
    return [(i[0] / o[0], i[2]) for i, o in zip(samples["inferd"], samples["ort"])]


def pair_ratio(samples):
    """The row's ratio: the median of its pairs' ratios. Each pair ran on the
    same CPUs within seconds, so a vCPU or a minute that is slower for both
    engines cancels out; a ratio of the two engines' own medians can take
    them from different CPUs and move either way (regnet at 1 thread read
    0.87 so, while its runs on each CPU alone gave 1.04 and 0.99)."""
    return statistics.median(r for r, _ in pair_ratios(samples))


def ratios_by_cpus(samples):
    """The median pair ratio on each set of CPUs the pairs were pinned to
    ({"0": 0.98, "1": 1.12}), or {} when they were not pinned: a ratio that
    differs from one vCPU to another points at the machine (a busy neighbour
    on that core), not at either engine."""
    by = {}
    for r, cpus in pair_ratios(samples):
        if cpus:
            by.setdefault(",".join(str(c) for c in sorted(cpus)), []).append(r)
    return {k: statistics.median(v) for k, v in sorted(by.items())}


def pinned_cpus(i, threads, allowed=None):
    """The CPUs the i-th inferd/ORT pair runs on, or None for all of them
    (allowed: the CPUs to choose from, by default this process's).

    On a shared machine one vCPU can be a third slower than the other for
    minutes at a time (a neighbour on its core). Left to the scheduler, the
    engines' processes land on either at random, and a ratio can move by that
    third. When the thread count leaves CPUs over, both processes of a pair
    get the same CPUs and the pairs take the CPUs in turn, so each engine sees
    the same CPUs the same number of times."""
    if allowed is None:
        try:
            allowed = os.sched_getaffinity(0)
        except (AttributeError, OSError):
            return None
    allowed = sorted(allowed)
    n = len(allowed) // threads
    if n < 2:
        return None
    k = i % n
    return set(allowed[k * threads:(k + 1) * threads])


def zoo_folder(build):
    """Where the zoo export lives: the zoo_cache option when set, else the build tree."""
    try:
        with open(os.path.join(build, "meson-info", "intro-buildoptions.json")) as f:
            for opt in json.load(f):
                if opt.get("name") == "zoo_cache" and opt.get("value"):
                    return opt["value"]
    except (OSError, ValueError):
        pass
    return os.path.join(build, "tests", "zoo", "models")


def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


HEADER = (f"{'model':<20} {'thr':>3} {'inferd ms':>10} {'ORT ms':>9} {'ratio':>6} "
          f"{'inferd MiB':>10} {'ORT MiB':>8} {'RSS ratio':>9}  probe, or ratio per CPU")


def row_text(r):
    if "error" in r:
        return f"{r['model']:<20} {r.get('threads', ''):>3} {r['error']}"
    probe = ""
    if r["probes"]:
        probe = "/".join(f"{p:.2f}" for p in r["probes"]) + ("" if r["trusted"] else " SMT")
    if len(r.get("by_cpus", {})) > 1:
        per_cpu = " ".join(f"cpu{k} {v:.2f}" for k, v in r["by_cpus"].items())
        probe = f"{probe}  {per_cpu}" if probe else per_cpu
    return (f"{r['model']:<20} {r['threads']:>3} {r['inferd_ms']:>10.3f} {r['ort_ms']:>9.3f} "
            f"{r['ratio']:>6.2f} {r['inferd_mib']:>10.1f} {r['ort_mib']:>8.1f} "
            f"{r['rss_ratio']:>9.2f}  {probe}")


def verdict(rows, threads, busy_cpu=None):
    """Prints the geometric means and the targets; returns the number missed
    (none judged when a CPU was kept busy)."""
    ok_rows = [r for r in rows if "error" not in r]
    print()
    means = {}
    for t in threads:
        at = [r for r in ok_rows if r["threads"] == t]
        counted = [r for r in at if r["trusted"]]
        g = geomean([r["ratio"] for r in counted])
        means[t] = g
        note = f"{len(counted)} models" if t == 1 else \
            f"{len(counted)} of {len(at)} rows on two real cores"
        if busy_cpu is not None:
            note = f"{len(counted)} models, CPU {busy_cpu} busy"
        print(f"geomean inferd/ORT latency at {t} thread{'s' if t > 1 else ''}: "
              + (f"{g:.3f}" if g else "-") + f"  ({note})")
    counted = [r for r in ok_rows if r["trusted"]]
    missed = 0
    lines = []
    for t in threads:
        g = means[t]
        what = f"geomean at {t} thread{'s' if t > 1 else ''} <= {TARGET_GEOMEAN}"
        if g is None:
            lines.append((what, "no trustworthy rows", None))
        else:
            lines.append((what, f"{g:.3f}", g <= TARGET_GEOMEAN))
    if counted:
        worst = max(counted, key=lambda r: r["ratio"])
        lines.append((f"no model above {TARGET_WORST}",
                      f"worst {worst['model']} at {worst['threads']}: {worst['ratio']:.2f}",
                      worst["ratio"] <= TARGET_WORST))
    if ok_rows:
        worst = max(ok_rows, key=lambda r: r["rss_ratio"])
        lines.append((f"peak RSS inferd/ORT <= {TARGET_RSS}",
                      f"worst {worst['model']} at {worst['threads']}: {worst['rss_ratio']:.2f}",
                      worst["rss_ratio"] <= TARGET_RSS))
    if busy_cpu is not None:
        print(f"verdict: not judged: CPU {busy_cpu} was kept busy (--busy-cpu)")
        return len(rows) - len(ok_rows)
    print("targets:")
    for what, value, ok in lines:
        mark = "-" if ok is None else ("met" if ok else "MISSED")
        print(f"  {what:<32} {value:<40} {mark}")
        missed += ok is False
    failed = len(rows) - len(ok_rows)
    if failed:
        print(f"verdict: {failed} row(s) failed to run or match; the targets cannot be met")
    elif missed:
        print(f"verdict: {missed} of {len(lines)} targets missed")
    else:
        print("verdict: all targets met")
    return missed + failed


PROFILE_ROW = re.compile(r"^\s*[\d.]+%\s+([\d.]+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$")


def inferd_profile(text):
    """inferd-run --profile's rows: {node: (ms, op, kernel)}."""
    rows = {}
    for line in text.splitlines():
        m = PROFILE_ROW.match(line)
        if m:
            rows[m.group(4)] = (float(m.group(1)), m.group(2), m.group(3))
    return rows


def ort_profile(path):
    """ONNX Runtime's trace: {output tensor name: (median ms, op)}. ORT names a
    node by its output (fused nodes by the last output of the fusion;
    NCHWc ones with a suffix)."""
    with open(path) as f:
        events = json.load(f)
    runs = {}
    for e in events:
        if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time"):
            name = e["name"][:-len("_kernel_time")]
            runs.setdefault(name, ([], e.get("args", {}).get("op_name", "?")))[0].append(
                e["dur"] / 1000.0)
    return {k: (statistics.median(v), op) for k, (v, op) in runs.items()}


ACTIVATIONS = {"Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh"}


def reader_row(node, consumers, inferd_rows):
    """The inferd node that is the only reader of node's output, past
    activations it fused, or None."""
    for _ in range(4):
        readers = consumers.get(node.output[0], [])
        if len(readers) != 1:
            return None
        node = readers[0]
        if node.name in inferd_rows:
            return node.name
        if node.op_type not in ACTIVATIONS:
            return None
    return None


def ort_match(model_path, inferd_rows, ort_rows):
    """ORT's time per inferd node: an ORT node's output is produced, in the
    original graph, by a node inferd times, or by one inferd fused into such
    a node (an activation, a residual Add, a Flatten): walking back from the
    output, the first node inferd has a row for gets the ORT node's time.
    Returns {inferd node: ORT ms} and the ORT nodes matched to none."""
    import onnx
    g = onnx.load(model_path, load_external_data=False).graph
    producer = {o: n for n in g.node for o in n.output}
    consumers = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    by_name = {n.name: n for n in g.node}
    theirs, unmatched = {}, []
    for oname, (ms, op) in ort_rows.items():
        # ORT names a node as the graph does, a fusion "NODE/XFusion/", a
        # layout-changed (NCHWc) node by its output tensor plus "_nchwc"
        base = re.sub(r"/\w+Fusion/?$", "", oname)
        start = by_name.get(base) or producer.get(base[:-len("_nchwc")] if
                                                  base.endswith("_nchwc") else base)
        found, todo, seen = None, [start], set()
        while todo and not found:
            n = todo.pop(0)
            if n is None or n.name in seen:
                continue
            seen.add(n.name)
            if n.name in inferd_rows:
                found = n.name
            elif n.op_type == "Conv" and reader_row(n, consumers, inferd_rows):
                # a convolution inferd ran inside its only reader (a 1x1
                # expansion in the strided depthwise layer after it:
                # mbconv) belongs to that reader, not to the node before it
                found = reader_row(n, consumers, inferd_rows)
            else:
                todo.extend(producer.get(i) for i in n.input)
        if found:
            theirs[found] = theirs.get(found, 0.0) + ms
        else:
            unmatched.append((oname, ms, op))
    return theirs, unmatched


def profile(b, args):
    name = args.profile
    model, inp = b.files(name)
    t = str(args.threads[0])
    cmd = [b.inferd_run, model, "-i", inp, "-t", t, "--bench", str(args.runs), "--warmup",
           str(args.warmup), "--profile"]
    print(" ".join(cmd), flush=True)
    out = b.run(cmd, "inferd-run --profile")
    print(out)
    mine = inferd_profile(out)
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "ort")
        b.run([b.ort_run, model, "-i", inp, "-t", t, "--bench", str(args.runs), "--warmup",
               str(args.warmup), "--profile", prefix], "ort_run --profile")
        traces = [f for f in os.listdir(tmp) if f.endswith(".json")]
        if not traces:
            raise Failure("ort_run --profile wrote no trace")
        theirs = ort_profile(os.path.join(tmp, traces[0]))
    matched, unmatched = ort_match(model, mine, theirs)
    print(f"side by side at {t} thread(s), ms per run (ORT: median over its runs, nodes it "
          "fused or split summed per inferd node; inferd: mean over its timed runs); worst first")
    print(f"{'inferd ms':>10} {'ORT ms':>8} {'diff':>8}  {'kernel':24} node")
    rows = [(v[0], matched.get(k, 0.0), k, v[2]) for k, v in mine.items()]
    rows += [(0.0, ms, f"{oname} (ORT {op}, no inferd node)", "-")
             for oname, ms, op in unmatched]
    for im, om, node, kernel in sorted(rows, key=lambda r: r[1] - r[0]):
        print(f"{im:10.3f} {om:8.3f} {im - om:+8.3f}  {kernel:24} {node}")
    print(f"{sum(r[0] for r in rows):10.3f} {sum(r[1] for r in rows):8.3f}  total")
    return 0


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="inferd against ONNX Runtime on the model zoo (tests/bench/README.md)")
    ap.add_argument("--build", required=True, help="the meson build folder")
    ap.add_argument("--models", help="the zoo export (default: the build tree's)")
    ap.add_argument("--threads", default="1,2",
                    help="comma-separated thread counts (default: 1,2)")
    ap.add_argument("--runs", type=int, default=10, help="timed runs per process (default: 10)")
    ap.add_argument("--warmup", type=int, default=5, help="warm-up runs per process (default: 5)")
    ap.add_argument("--alternations", type=int, default=5,
                    help="processes per engine, alternating (default: 5)")
    ap.add_argument("--json", help="also write the rows to this file")
    ap.add_argument("--check-targets", action="store_true",
                    help="exit 3 when a target is missed")
    ap.add_argument("--profile", metavar="MODEL",
                    help="instead: time per node of MODEL in both engines, side by side")
    ap.add_argument("--busy-cpu", type=int, metavar="CPU",
                    help="keep CPU busy with a spinning loop while timing (another program "
                         "on the device); the targets are then not judged")
    ap.add_argument("names", nargs="*", metavar="MODEL", help="models (default: all ten)")
    args = ap.parse_args(argv)
    try:
        args.threads = [int(t) for t in args.threads.split(",")]
    except ValueError:
        ap.error("--threads takes numbers separated by commas")
    if not args.threads or min(args.threads) < 1 or args.runs < 1 or args.warmup < 0 \
            or args.alternations < 1:
        ap.error("--threads, --runs and --alternations take positive numbers")
    if args.busy_cpu is not None and args.profile:
        ap.error("--busy-cpu times whole models; --profile runs without it")
    if args.busy_cpu is not None:
        try:
            cpus = os.sched_getaffinity(0)
        except (AttributeError, OSError):
            cpus = set()
        if args.busy_cpu not in cpus:
            ap.error(f"--busy-cpu {args.busy_cpu}: not one of this process's CPUs "
                     f"({', '.join(str(c) for c in sorted(cpus)) or 'unknown'})")
    for n in args.names + ([args.profile] if args.profile else []):
        if n not in MODELS:
            ap.error(f"unknown model '{n}' (known: {', '.join(MODELS)})")
    return args


def time_all(b, args, names):
    """Checks and times every model at every thread count, printing each row."""
    rows = []
    for name in names:
        try:
            b.check(name)
        except Failure as e:
            rows.append({"model": name, "error": f"FAILED: {e}"})
            print(row_text(rows[-1]), flush=True)
            continue
        for t in args.threads:
            try:
                rows.append(b.time_one(name, t))
            except Failure as e:
                rows.append({"model": name, "threads": t, "error": f"FAILED: {e}"})
            print(row_text(rows[-1]), flush=True)
    return rows


def main(argv):
    args = parse_args(argv)
    try:
        b = Bench(args)
    except OSError as e:
        print(f"bench: {e}: build the bench targets first (ninja -C BUILD bench-deps)",
              file=sys.stderr)
        return 1
    if args.profile:
        try:
            return profile(b, args)
        except Failure as e:
            print(f"bench: {args.profile}: {e}", file=sys.stderr)
            return 1
    names = args.names or list(MODELS)
    start = time.monotonic()
    print(f"inferd-run against ONNX Runtime {b.ort['version']} ({b.ort['package']}, "
          f"CPU provider, sequential, all graph optimizations)")
    print(f"each engine: {args.alternations} processes x ({args.warmup} warm-up + "
          f"{args.runs} timed runs), alternating; median of medians; zoo input_0.pb")
    print("ratio: the median of the pairs' ratios (inferd's process over the ORT process "
          "right after it)")
    print("where the thread count leaves CPUs over, each inferd/ORT pair runs on the same "
          "CPUs, the pairs taking the CPUs in turn")
    busy = None
    if args.busy_cpu is not None:
        print(f"CPU {args.busy_cpu} kept busy by a spinning loop all through; not probed")
        busy = busy_start(args.busy_cpu)
    else:
        print(f"first probe: {b.probe() if max(args.threads) > 1 else '-'}"
              f" (coreprobe scale; >= {SCALE_TWO_CORES} means two real cores)")
    print()
    print(HEADER)
    try:
        rows = time_all(b, args, names)
    finally:
        busy_stop(busy)
    bad = verdict(rows, args.threads, args.busy_cpu)
    print(f"took {time.monotonic() - start:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"ort": b.ort, "rows": rows, "probes": b.probes}, f, indent=1)
    if any("error" in r for r in rows):
        return 1
    return 3 if bad and args.check_targets else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
