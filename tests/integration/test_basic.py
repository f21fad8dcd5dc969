#!/usr/bin/python3
"""The daemon with two models: text commands over socat and nanocat, tensor and
image requests over the Unix socket, answers equal to inferd-run's, pipelined
requests answered by id, ping, clean SIGTERM.

usage: test_basic.py INFERD INFERD_RUN"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (KIND_ERROR, KIND_PING, KIND_PONG, KIND_RESPONSE, SAMPLES, Daemon, check,
                     digits_models, error_code, finish, floats, frame, heldout, recv_frame,
                     request, run_reference, unfloats)

inferd, inferd_run = sys.argv[1], sys.argv[2]
models = digits_models()
d = Daemon(inferd, models, tag="basic")
h = d.start()
check(h["status"] == "ok" and len(h["models"]) == 2, "health is ok with two models: %s" % h)

# --- text mode ------------------------------------------------------------
for cmd in ("health", "stats", "models", "version"):
    line = d.text(cmd)
    try:
        json.loads(line)
        check(line.endswith("\n") and line.count("\n") == 1, f"'{cmd}' answers one JSON line")
    except ValueError:
        check(False, f"'{cmd}' answers JSON: {line!r}")
metrics = d.text("metrics")
check("inferd_requests_total" in metrics, "metrics answers Prometheus text")
err = json.loads(d.text("frobnicate"))
check(err.get("error", {}).get("code") == "bad_input" and "frobnicate" in err["error"]["message"],
      "an unknown command gets a JSON error line")
v = json.loads(d.text("version"))
check(v.get("backends") == ["cpu"] and v.get("protocol") == 1, "version names protocol and backends")

if shutil.which("socat"):
    out = subprocess.run(["socat", "-", "UNIX-CONNECT:" + d.sock], input=b"health\n",
                         capture_output=True, timeout=20).stdout.decode()
    check(json.loads(out)["status"] == "ok", "socat gets health")
else:
    check(False, "socat is installed (config/debian-packages.txt lists it)")
if shutil.which("nanocat"):
    out = subprocess.run(["nanocat", "--req", "--connect", d.ipc, "-D", "health", "-A"],
                         capture_output=True, timeout=20).stdout.decode()
    check('"status":"ok"' in out, "nanocat gets health: %r" % out[:200])
else:
    check(False, "nanocat is installed (nanomsg-utils)")

# --- inference over the Unix socket -------------------------------------
tmp = tempfile.mkdtemp(prefix="inferd-basic-ref-")
sample = heldout()[:6]
s = d.connect()
for model in models:
    for i, (label, px) in enumerate(sample[:3]):
        want = run_reference(inferd_run, model["path"], px, tmp)
        s.sendall(request(model["name"], [("image" if model["name"] == "digits" else "x", "FP32",
                                            [1, 1, 8, 8], floats(px), None)], 100 + i))
        kind, rid, meta, data = recv_frame(s)
        ok = kind == KIND_RESPONSE and rid == 100 + i
        got = unfloats(data) if ok else []
        same = ok and len(got) == len(want) and all(abs(a - b) <= 1e-6 for a, b in zip(got, want))
        check(same, f"{model['name']} sample {i}: the daemon's output equals inferd-run's")
        if ok and model["name"] == "digits":
            top = meta.get("topk", [{}])[0].get("classes", [])
            best = max(range(10), key=lambda k: got[k])
            check(len(top) == 3 and top[0]["index"] == best and top[0]["label"] == [
                "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"][best],
                f"digits sample {i}: top-3 with labels, best first")

# JPEG samples: the file names carry the label.
for path in sorted(glob.glob(os.path.join(SAMPLES, "*.jpg"))):
    label = os.path.basename(path).split("-")[1]
    jpg = open(path, "rb").read()
    s.sendall(request("digits", [("image", "BYTES", None, jpg, "jpeg")], 7))
    kind, rid, meta, data = recv_frame(s)
    got = meta.get("topk", [{}])[0].get("classes", [{}])[0].get("label") if kind == KIND_RESPONSE else meta
    check(got == label, f"{os.path.basename(path)} is classified as {label} (got {got})")

# Raw RGB pixels (8x8 gray replicated to 3 channels) give the same class as the tensor.
label, px = sample[0]
rgb = bytes(v for p in px for v in (round(p * 255),) * 3)
s.sendall(request("digits", [("image", "UINT8", [8, 8, 3], rgb, "rgb8")], 8))
kind, rid, meta, data = recv_frame(s)
check(kind == KIND_RESPONSE and meta["topk"][0]["classes"][0]["index"] == label,
      "an rgb8 frame is classified like its tensor")

# Requested output, top-k only.
s.sendall(request("digits", [("image", "FP32", [1, 1, 8, 8], floats(px), None)], 9,
                  outputs=[{"name": "logits", "parameters": {"topk": 1, "tensor": False}}]))
kind, rid, meta, data = recv_frame(s)
check(kind == KIND_RESPONSE and data == b"" and len(meta["topk"][0]["classes"]) == 1,
      "an output asked for without its tensor comes back as top-1 only")

# Ping.
s.sendall(frame(KIND_PING, 55))
kind, rid, meta, data = recv_frame(s)
check(kind == KIND_PONG and rid == 55, "ping is answered by pong with its id")

# Pipelining: 40 requests over both models on one connection, answers by id.
want = {}
for i in range(40):
    model = models[i % 2]
    label, px = sample[i % len(sample)]
    want[1000 + i] = model["name"]
    s.sendall(request(model["name"], [("image" if i % 2 == 0 else "x", "FP32", [1, 1, 8, 8],
                                       floats(px), None)], 1000 + i))
seen = {}
for _ in range(40):
    kind, rid, meta, data = recv_frame(s)
    seen[rid] = (kind, meta.get("model"))
check(sorted(seen) == sorted(want), "40 pipelined requests get 40 answers, one per id")
check(all(seen[r] == (KIND_RESPONSE, want[r]) for r in want),
      "each pipelined answer comes from the model its request named")
s.close()

stats = json.loads(d.text("stats"))
n = {m["name"]: m["requests"] for m in stats["models"]}
check(n.get("digits", 0) >= 20 and n.get("linear", 0) >= 20, "stats count requests per model: %s" % n)
lat = stats["models"][0]["latency_us"]["total"]
check(lat["p50"] > 0 and lat["p99"] >= lat["p50"], "stats report latency percentiles")

rc = d.stop()
check(rc == 0, "SIGTERM stops the daemon with status 0 (got %s)" % rc)
finish()
