#!/usr/bin/python3
"""Bad input gets its error code while another client keeps being served:
garbage, wrong magic/version, a 100 GB header, non-JSON meta, size/shape
disagreement, wrong dtype, unknown model, corrupt JPEG, a full queue, expired
deadlines, clients that vanish mid-frame or mid-request, and an idle client.

usage: test_badinput.py INFERD INFERD_RUN"""
import os
import socket
import struct
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (HEADER, KIND_ERROR, KIND_REQUEST, KIND_RESPONSE, MAGIC, Daemon, check,
                     digits_models, error_code, finish, floats, frame, heldout, make_slow_model,
                     recv_frame, request, run_reference, unfloats)

inferd, inferd_run = sys.argv[1], sys.argv[2]
models = digits_models()
slow_path = os.path.join(tempfile.mkdtemp(prefix="inferd-slow-"), "slow.onnx")
make_slow_model(slow_path)
models.append({"name": "slow", "path": slow_path, "max_queue": 64, "instances": 1})
# A slow model behind a queue of 2: a burst must find it full.
models.append({"name": "tiny_queue", "path": slow_path, "max_queue": 2, "instances": 1})
d = Daemon(inferd, models, extra={"limits": {"max_frame_bytes": 1 << 20, "idle_timeout_ms": 800,
                                             "request_timeout_ms": 30000}}, tag="bad")
d.start()

label, px = heldout()[0]
want = run_reference(inferd_run, models[0]["path"], px, tempfile.mkdtemp(prefix="inferd-bad-"))
good_req = lambda rid: request("digits", [("image", "FP32", [1, 1, 8, 8], floats(px), None)], rid)

# A well-behaved client served all along.
stop = threading.Event()
good = {"ok": 0, "bad": 0, "why": ""}


def good_client():
    try:
        s = d.connect()
        rid = 1
        while not stop.is_set():
            s.sendall(good_req(rid))
            kind, got_id, meta, data = recv_frame(s)
            out = unfloats(data)
            if kind == KIND_RESPONSE and got_id == rid and all(
                    abs(a - b) <= 1e-6 for a, b in zip(out, want)):
                good["ok"] += 1
            else:
                good["bad"] += 1
                good["why"] = str(meta)
            rid += 1
        s.close()
    except Exception as e:  # noqa: BLE001 - reported as a failed check
        good["bad"] += 1
        good["why"] = repr(e)


t = threading.Thread(target=good_client)
t.start()


def closed(s, timeout=5):
    """True when the daemon closes s (EOF) within timeout."""
    s.settimeout(timeout)
    try:
        while True:
            if not s.recv(65536):
                return True
    except OSError:
        return False


def expect_stream_error(raw, code, what):
    s = d.connect()
    s.sendall(raw)
    try:
        kind, rid, meta, _ = recv_frame(s)
        check(kind == KIND_ERROR and rid == 0 and error_code(meta) == code,
              f"{what}: error frame '{code}' for the connection (got {error_code(meta)})")
    except Exception as e:  # noqa: BLE001
        check(False, f"{what}: an error frame ({e!r})")
    check(closed(s), f"{what}: the daemon then hangs up")
    s.close()


def expect_request_error(raw, code, what, rid=9):
    s = d.connect()
    s.sendall(raw)
    kind, got, meta, _ = recv_frame(s)
    check(kind == KIND_ERROR and got == rid and error_code(meta) == code,
          f"{what}: '{code}' for request {rid} (got {error_code(meta)}: "
          f"{meta.get('error', {}).get('message')})")
    # The stream is still in step: the same connection serves a good request.
    s.sendall(good_req(rid + 1))
    kind, got, meta, data = recv_frame(s)
    check(kind == KIND_RESPONSE and got == rid + 1, f"{what}: the connection still serves")
    s.close()


expect_stream_error(bytes(range(256)) * 4, "bad_frame", "binary garbage")
expect_stream_error(frame(KIND_REQUEST, 1, {"model": "digits"}, magic=b"INFX"), "bad_frame",
                    "wrong magic")
expect_stream_error(frame(KIND_REQUEST, 1, {"model": "digits"}, version=2), "unsupported_version",
                    "wrong version")
expect_stream_error(HEADER.pack(MAGIC, 1, KIND_REQUEST, 0, 10, 1, 100 << 30), "too_large",
                    "a header claiming 100 GB")

s = d.connect()
s.sendall(b"hello world\n")
line = s.recv(4096).decode()
check('"code":"bad_input"' in line and "hello" in line, "a text line that is no command: %r" % line)
s.close()

expect_request_error(frame(KIND_REQUEST, 9, b"{not json"), "bad_frame", "meta that is not JSON")
expect_request_error(frame(KIND_REQUEST, 9, b"[1,2]"), "bad_frame", "meta that is not an object")
meta = {"model": "digits", "inputs": [{"name": "image", "datatype": "FP32", "shape": [1, 1, 8, 8],
                                       "parameters": {"binary_data_size": 100}}]}
expect_request_error(frame(KIND_REQUEST, 9, meta, b"\0" * 100), "bad_input",
                     "a tensor whose size disagrees with its shape")
expect_request_error(request("digits", [("image", "INT64", [1, 1, 8, 8], b"\0" * 512, None)], 9),
                     "bad_input", "a tensor of the wrong dtype")
expect_request_error(request("digits", [("image", "FP32", [1, 1, 4, 4], b"\0" * 64, None)], 9),
                     "bad_input", "a tensor of the wrong shape")
expect_request_error(request("nosuchmodel", [("x", "FP32", [1], b"\0" * 4, None)], 9),
                     "model_not_found", "an unknown model")
expect_request_error(request("digits", [("image", "BYTES", None, b"\xff\xd8\xff\xe0garbage" * 10,
                                         "jpeg")], 9), "bad_input", "a corrupt JPEG")
expect_request_error(request("digits", [("image", "BYTES", None, b"\xff\xd8", "jpeg")], 9),
                     "bad_input", "a truncated JPEG")

# A full queue answers busy at once; every request is answered.
s = d.connect()
n = 50
s.sendall(b"".join(request("tiny_queue", [("x", "FP32", [1, 1, 8, 8], floats(px), None)],
                           1000 + i) for i in range(n)))
codes = {}
for _ in range(n):
    kind, rid, meta, _ = recv_frame(s)
    c = "ok" if kind == KIND_RESPONSE else error_code(meta)
    codes[c] = codes.get(c, 0) + 1
check(sum(codes.values()) == n and codes.get("busy", 0) > 0 and codes.get("ok", 0) > 0,
      f"50 requests at a queue of 2: all answered, some busy ({codes})")

# Deadlines: 1 ms each, queued behind one another on a model that takes tens
# of milliseconds per request, so they cannot all be met.
s.sendall(b"".join(request("slow", [("x", "FP32", [1, 1, 8, 8], floats(px), None)],
                           2000 + i, parameters={"timeout_ms": 1}) for i in range(20)))
codes = {}
for _ in range(20):
    kind, rid, meta, _ = recv_frame(s)
    c = "ok" if kind == KIND_RESPONSE else error_code(meta)
    codes[c] = codes.get(c, 0) + 1
check(sum(codes.values()) == 20 and codes.get("timeout", 0) >= 19,
      f"1 ms deadlines behind a slow queue: all answered, all but at most one timeout ({codes})")
s.close()

# Clients that vanish: mid-frame, and with requests running.
s = d.connect()
s.sendall(good_req(5)[:40])
s.close()
s = d.connect()
s.sendall(b"".join(good_req(3000 + i) for i in range(50)))
s.close()
time.sleep(0.5)
check('"status":"ok"' in d.text("health"), "the daemon is healthy after clients vanished")

# A client that sends nothing is closed after the idle timeout (800 ms here).
s = d.connect()
t0 = time.time()
gone = closed(s, 5)
check(gone and 0.5 < time.time() - t0 < 4, "an idle client is closed after ~0.8 s (%.2f s)"
      % (time.time() - t0))
s.close()

stop.set()
t.join()
check(good["bad"] == 0 and good["ok"] > 10,
      f"the well-behaved client was served throughout ({good['ok']} ok, {good['bad']} wrong "
      f"{good['why']})")
rc = d.stop()
check(rc == 0, "SIGTERM stops the daemon with status 0 (got %s)" % rc)
finish()
