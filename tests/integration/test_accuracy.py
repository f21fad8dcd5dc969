#!/usr/bin/python3
"""The 360 held-out digits through the daemon reach the accuracy the model had
in torch when it was trained (config/models/digits.json), both as tensors and
as 8-bit grey frames the daemon normalizes itself.

usage: test_accuracy.py INFERD INFERD_RUN"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (KIND_RESPONSE, MODELS, Daemon, check, digits_models, finish, floats, heldout,
                     recv_frame, request)

inferd = sys.argv[1]
torch_acc = json.load(open(os.path.join(MODELS, "digits.json")))["accuracy"]["heldout_torch"]
d = Daemon(inferd, digits_models()[:1], tag="acc")
d.start()
rows = heldout()
s = d.connect()
reqs = [(1 + i, request("digits", [("image", "FP32", [1, 1, 8, 8], floats(px), None)], 1 + i))
        for i, (label, px) in enumerate(rows)]
reqs += [(1001 + i, request("digits", [("image", "UINT8", [8, 8, 3],
                                        bytes(v for p in px for v in (round(p * 255),) * 3),
                                        "rgb8")], 1001 + i))
         for i, (label, px) in enumerate(rows)]
right = {"tensor": 0, "rgb8": 0}
answered = 0
window = 64  # requests in flight at once, well under the queue limit
for start in range(0, len(reqs), window):
    batch = reqs[start:start + window]
    s.sendall(b"".join(r for _, r in batch))
    for _ in batch:
        kind, rid, meta, data = recv_frame(s)
        if kind != KIND_RESPONSE:
            continue
        answered += 1
        form, i = ("tensor", rid - 1) if rid <= 1000 else ("rgb8", rid - 1001)
        right[form] += meta["topk"][0]["classes"][0]["index"] == rows[i][0]
s.close()
check(answered == 2 * len(rows), f"all {2 * len(rows)} requests answered ({answered})")
for form, n in right.items():
    acc = n / len(rows)
    print(f"{form}: {n}/{len(rows)} = {acc:.4f} (torch at training: {torch_acc:.4f})")
    # Tensors are exact; 8-bit frames round each pixel to 1/255.
    tol = 0.0005 if form == "tensor" else 0.006
    check(abs(acc - torch_acc) <= tol, f"held-out accuracy as {form} matches torch's {torch_acc}")
rc = d.stop()
check(rc == 0, "exit status 0 (got %s)" % rc)
finish()
