#!/usr/bin/python3
"""Lifecycle: a second daemon on the same socket is refused, a stale socket is
replaced, SIGHUP with a good config (model added, unchanged model kept) and
with a broken one (old config keeps serving), SIGTERM with requests in flight
(every one answered, exit 0), and a model whose backend cannot open is
reported by health.

usage: test_lifecycle.py INFERD INFERD_RUN"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (KIND_ERROR, KIND_RESPONSE, Daemon, check, digits_models, error_code, finish,
                     floats, heldout, recv_frame, request)

inferd = sys.argv[1]
models = digits_models()
label, px = heldout()[0]


def infer(d, model, rid=1):
    with d.connect() as s:
        name = "image" if model == "digits" else "x"
        s.sendall(request(model, [(name, "FP32", [1, 1, 8, 8], floats(px), None)], rid))
        return recv_frame(s)


def wait_log(d, text, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in d.logs():
            return True
        time.sleep(0.05)
    return False


# --- the socket path ------------------------------------------------------
d = Daemon(inferd, models[:1], tag="life")
# systemd's notification socket, as the service manager would set it.
notify_path = os.path.join(d.dir, "notify")
notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
notify.bind(notify_path)
notify.settimeout(10)


def notified(word):
    """Reads notifications until one carries word (READY=1, ...)."""
    try:
        while True:
            msg = notify.recv(4096).decode()
            if word in msg.split("\n"):
                return msg
    except OSError:
        return None


# A stale socket file left by a daemon that died is replaced.
stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
stale.bind(d.sock)
stale.close()
d.start(env_extra={"NOTIFY_SOCKET": notify_path})
check("removing stale socket" in d.logs(), "a stale socket file is replaced")
has_notify = json.loads(d.text("version")).get("systemd_notify")
if has_notify:
    msg = notified("READY=1")
    check(msg is not None and "STATUS=ok: 1 of 1 models ready" in msg,
          "sd_notify: READY=1 with a STATUS line once models are loaded (%r)" % msg)
else:
    print("skip: built without libsystemd, no sd_notify checks")
# A second daemon on a live socket refuses to start.
second = subprocess.run([inferd, "--config", d.config_path], capture_output=True, timeout=30)
check(second.returncode == 1 and b"another daemon is listening" in second.stderr,
      "a second daemon on the same socket refuses to start: %r" % second.stderr[-200:])
check(infer(d, "digits")[0] == KIND_RESPONSE, "the first daemon still serves")

# --- SIGHUP --------------------------------------------------------------
conf = json.loads(json.dumps(d.conf))
conf["models"] = models  # digits unchanged, linear added
d.write_config(conf)
d.signal(signal.SIGHUP)
check(wait_log(d, "configuration reloaded"), "SIGHUP with a good config reloads it")
if has_notify:
    check(notified("RELOADING=1") is not None and notified("READY=1") is not None,
          "sd_notify: RELOADING=1 then READY=1 around the reload")
names = [m["name"] for m in json.loads(d.text("models"))["models"]]
check(names == ["digits", "linear"], "the reload added a model: %s" % names)
check(d.logs().count("model digits: ready") == 1, "the unchanged model was kept, not reloaded")
check(infer(d, "linear")[0] == KIND_RESPONSE, "the added model serves")

with open(d.config_path, "w") as f:
    f.write('{"models": [ this is not json')
d.signal(signal.SIGHUP)
check(wait_log(d, "reload refused"), "SIGHUP with a broken config is refused and logged")
check(infer(d, "linear")[0] == KIND_RESPONSE and infer(d, "digits")[0] == KIND_RESPONSE,
      "after a refused reload the old config keeps serving")
d.write_config(conf)

# --- SIGTERM with requests in flight -------------------------------------
s = d.connect(60)
n = 200  # under the queue limit of 256: none is refused busy
s.sendall(b"".join(request("digits", [("image", "FP32", [1, 1, 8, 8], floats(px), None)], 10 + i)
                   for i in range(n)))
first = recv_frame(s)
d.signal(signal.SIGTERM)
answers = [first] + [recv_frame(s) for _ in range(n - 1)]
ok = sum(1 for a in answers if a[0] == KIND_RESPONSE)
late = [error_code(a[2]) for a in answers if a[0] == KIND_ERROR]
check(sorted(a[1] for a in answers) == list(range(10, 10 + n)), "all 200 requests got an answer")
check(ok + late.count("shutting_down") == n and ok > 0,
      f"each is a response or, if it arrived after SIGTERM, shutting_down ({ok} responses, "
      f"{len(late)} errors {set(late)})")
try:
    rest = s.recv(1)
    check(rest == b"", "the daemon closes the connection once everything is answered")
except OSError as e:
    check(False, f"the connection closes cleanly ({e!r})")
rc = d.stop()
check(rc == 0, "SIGTERM with requests in flight: exit status 0 (got %s)" % rc)
if has_notify:
    check(notified("STOPPING=1") is not None, "sd_notify: STOPPING=1 on SIGTERM")
check(not os.path.exists(d.sock), "the socket file is removed at exit")

# --- a backend that cannot open ---------------------------------------------
m = dict(models[1], name="on_fpga", backend="fpga", fallback=["cuda"])
m2 = dict(models[1], name="fallback", backend="cuda", fallback=["cpu"])
d = Daemon(inferd, [models[0], m, m2], tag="life2")
h = d.start()
by = {x["name"]: x for x in h["models"]}
check(h["status"] == "degraded", "health is degraded when a model cannot load: %s" % h["status"])
check(by["on_fpga"]["state"] == "failed" and "fpga" in by["on_fpga"].get("reason", ""),
      "health says why the fpga model failed: %s" % by["on_fpga"].get("reason"))
check(by["fallback"]["state"] == "ready" and by["fallback"]["backend"] == "cpu",
      "a model whose backend is missing runs on its fallback: %s" % by["fallback"])
kind, rid, meta, data = infer(d, "on_fpga")
check(kind == KIND_ERROR and error_code(meta) == "backend_failed",
      "requests to the failed model get backend_failed")
check(infer(d, "fallback")[0] == KIND_RESPONSE, "the fallback model serves")
rc = d.stop()
check(rc == 0, "exit status 0 (got %s)" % rc)
finish()
