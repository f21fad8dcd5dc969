#!/usr/bin/python3
"""16 concurrent clients x 200 requests over both transports (even clients on
the Unix socket, 4 requests in flight each; odd ones on nanomsg), mixed
models; every answer must equal inferd-run's output for its input.

usage: test_stress.py INFERD INFERD_RUN STRESS [CLIENTS REQUESTS]"""
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, check, digits_models, finish, floats, heldout, run_reference

inferd, inferd_run, stress = sys.argv[1:4]
clients = sys.argv[4] if len(sys.argv) > 4 else "16"
requests = sys.argv[5] if len(sys.argv) > 5 else "200"
models = digits_models()
ref = tempfile.mkdtemp(prefix="inferd-stress-")
with open(os.path.join(ref, "models.txt"), "w") as f:
    for m in models:
        f.write(f"{m['name']} {'image' if m['name'] == 'digits' else 'x'}\n")
for s, (label, px) in enumerate(heldout()[:8]):
    open(os.path.join(ref, f"in_{s}.bin"), "wb").write(floats(px))
    for m in models:
        out = run_reference(inferd_run, m["path"], px, ref)
        open(os.path.join(ref, f"{m['name']}_{s}.bin"), "wb").write(floats(out))

d = Daemon(inferd, models, extra={"limits": {"max_clients": 64, "idle_timeout_ms": 60000,
                                             "request_timeout_ms": 60000}}, tag="stress")
d.start()
r = subprocess.run([stress, "unix:" + d.sock, d.ipc, ref, clients, requests],
                   capture_output=True, text=True, timeout=900)
print(r.stdout + r.stderr)
check(r.returncode == 0, f"every request of {clients} clients x {requests} got its right answer")
rc = d.stop()
check(rc == 0, "exit status 0 (got %s)" % rc)
finish()
