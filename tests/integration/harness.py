"""Integration-test harness: starts the real daemon on temporary socket paths,
talks the wire protocol over its Unix socket, and checks how it ends.

Used by the test_*.py scripts in this folder, each run by meson with the paths
of the programs under test on its command line."""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

MAGIC = b"INFD"
HEADER = struct.Struct("<4sHHIIQQ")  # magic, version, kind, flags, meta_len, request_id, data_len
KIND_REQUEST, KIND_RESPONSE, KIND_ERROR, KIND_PING, KIND_PONG = 1, 2, 3, 4, 5
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.path.join(SRC, "config", "models")
SAMPLES = os.path.join(SRC, "config", "samples")

failures = []


def check(cond, what):
    """Records a failed check (the test goes on, to report every problem)."""
    if cond:
        print(f"ok: {what}")
    else:
        print(f"FAIL: {what}")
        failures.append(what)
    return cond


def finish():
    if failures:
        print(f"{len(failures)} check(s) failed:")
        for f in failures:
            print(f"  - {f}")
        sys.exit(1)
    print("all checks passed")
    sys.exit(0)


def frame(kind, request_id, meta=b"", data=b"", version=1, magic=MAGIC, flags=0):
    if isinstance(meta, (dict, list)):
        meta = json.dumps(meta).encode()
    return HEADER.pack(magic, version, kind, flags, len(meta), request_id, len(data)) + meta + data


def request(model, inputs, request_id, outputs=None, parameters=None):
    """inputs: list of (name, datatype, shape, bytes, image kind or None)."""
    meta = {"model": model, "inputs": []}
    data = b""
    for name, dt, shape, raw, image in inputs:
        t = {"name": name, "datatype": dt, "parameters": {"binary_data_size": len(raw)}}
        if shape is not None:
            t["shape"] = shape
        if image:
            t["parameters"]["image"] = image
        meta["inputs"].append(t)
        data += raw
    if outputs is not None:
        meta["outputs"] = outputs
    if parameters:
        meta["parameters"] = parameters
    return frame(KIND_REQUEST, request_id, meta, data)


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def recv_frame(sock):
    """(kind, request_id, meta dict, data bytes)."""
    magic, version, kind, flags, meta_len, rid, data_len = HEADER.unpack(recv_exact(sock, HEADER.size))
    if magic != MAGIC or version != 1:
        raise ValueError(f"bad reply header {magic!r} v{version}")
    meta = json.loads(recv_exact(sock, meta_len)) if meta_len else {}
    data = recv_exact(sock, data_len) if data_len else b""
    return kind, rid, meta, data


def error_code(meta):
    return meta.get("error", {}).get("code")


class Daemon:
    """The daemon under test, with its config and sockets in a temporary folder."""

    def __init__(self, binary, models, extra=None, tag="d"):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix=f"inferd-{tag}-")
        self.sock = os.path.join(self.dir, "inferd.sock")
        self.ipc = "ipc://" + os.path.join(self.dir, "inferd.ipc")
        self.config_path = os.path.join(self.dir, "inferd.json")
        self.conf = {
            "listen": {"unix": self.sock, "unix_mode": "0600", "nanomsg": [self.ipc]},
            "backends": {"cpu": {"threads": 1}},
            "models": models,
            "limits": {"max_frame_bytes": 4 << 20, "idle_timeout_ms": 30000,
                       "request_timeout_ms": 30000},
            "log_level": "debug",
        }
        if extra:
            self.conf.update(extra)
        self.write_config(self.conf)
        self.proc = None
        self.log_path = os.path.join(self.dir, "inferd.log")

    def write_config(self, conf):
        with open(self.config_path, "w") as f:
            json.dump(conf, f, indent=1)

    def start(self, timeout=60, env_extra=None):
        self.log = open(self.log_path, "w")
        env = dict(os.environ)
        env.update(env_extra or {})
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        self.proc = subprocess.Popen([self.binary, "--config", self.config_path],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited at start ({self.proc.returncode}):\n{self.logs()}")
            try:
                h = json.loads(self.text("health"))
                if h.get("status") in ("ok", "degraded"):
                    return h
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        raise RuntimeError("daemon did not become ready:\n" + self.logs())

    def logs(self):
        try:
            return open(self.log_path).read()
        except OSError:
            return ""

    def connect(self, timeout=30):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(self.sock)
        return s

    def text(self, command):
        """One text command on its own connection; returns the reply line."""
        with self.connect(10) as s:
            s.sendall(command.encode() + b"\n")
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
            return buf.decode()

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=60):
        """SIGTERM; returns the exit status (and checks the log is free of
        sanitizer reports)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            check(False, "daemon stopped within %d s of SIGTERM" % timeout)
        self.log.close()
        logs = self.logs()
        sanitizer = any(m in logs for m in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                            "runtime error:"))
        check(not sanitizer, "no sanitizer report in the daemon's log")
        if sanitizer or rc != 0:
            print(logs[-6000:])
        return rc


def digits_models():
    """Two different models: the bundled CNN, and a small generated softmax
    regression over the same 8x8 input (so responses crossing between models
    would show)."""
    linear = os.path.join(tempfile.mkdtemp(prefix="inferd-linear-"), "linear.onnx")
    make_linear_model(linear)
    return [
        {"name": "digits", "path": os.path.join(MODELS, "digits.onnx"),
         "labels": os.path.join(MODELS, "digits.labels"), "topk": 3, "instances": 2,
         "max_queue": 256, "image": {"mean": [0.0], "std": [1.0]}},
        {"name": "linear", "path": linear, "instances": 1, "max_queue": 256},
    ]


def make_linear_model(path):
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    rng = np.random.default_rng(7)
    w = numpy_helper.from_array(rng.normal(0, 0.5, (10, 64)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.normal(0, 0.1, (10,)).astype(np.float32), "b")
    nodes = [helper.make_node("Flatten", ["x"], ["f"], axis=1),
             helper.make_node("Gemm", ["f", "w", "b"], ["g"], transB=1),
             helper.make_node("Softmax", ["g"], ["prob"], axis=1)]
    graph = helper.make_graph(nodes, "linear",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
                              [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [1, 10])],
                              [w, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, path)


def make_slow_model(path):
    """A model that takes tens of milliseconds whatever the kernels: the 8x8
    input resized to 256x256, then three 32-channel 3x3 convolutions. For
    tests that need requests to wait (deadlines)."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    rng = np.random.default_rng(3)
    inits = [numpy_helper.from_array(np.array([1, 1, 32, 32], dtype=np.float32), "scales"),
             numpy_helper.from_array(rng.normal(0, 0.3, (32, 1, 3, 3)).astype(np.float32), "w0")]
    nodes = [helper.make_node("Resize", ["x", "", "scales"], ["r"], mode="nearest"),
             helper.make_node("Conv", ["r", "w0"], ["c0"], pads=[1, 1, 1, 1])]
    for i in range(1, 4):
        inits.append(numpy_helper.from_array(
            rng.normal(0, 0.05, (32, 32, 3, 3)).astype(np.float32), f"w{i}"))
        nodes.append(helper.make_node("Conv", [f"c{i - 1}", f"w{i}"], [f"c{i}"], pads=[1, 1, 1, 1]))
    nodes += [helper.make_node("GlobalAveragePool", ["c3"], ["g"]),
              helper.make_node("Flatten", ["g"], ["y"], axis=1)]
    graph = helper.make_graph(nodes, "slow",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 32])],
                              inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


def heldout():
    """The 360 held-out digits: (label, 64 floats in [0, 1])."""
    rows = []
    with open(os.path.join(MODELS, "digits-heldout.csv")) as f:
        next(f)
        for line in f:
            v = [int(x) for x in line.split(",")]
            rows.append((v[0], [p / 16.0 for p in v[1:]]))
    return rows


def floats(values):
    return struct.pack(f"<{len(values)}f", *values)


def unfloats(raw):
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def run_reference(inferd_run, model_path, values, tmp):
    """inferd-run's output for one [1,1,8,8] input: the reference answer."""
    import numpy as np
    from onnx import numpy_helper
    inp = os.path.join(tmp, "in.npy")
    np.save(inp, np.array(values, dtype=np.float32).reshape(1, 1, 8, 8))
    out = os.path.join(tmp, "out")
    subprocess.run([inferd_run, model_path, "--input", inp, "--output-dir", out], check=True,
                   capture_output=True)
    t = numpy_helper.to_array(__import__("onnx").load_tensor(os.path.join(out, "output_0.pb")))
    return [float(x) for x in t.reshape(-1)]
