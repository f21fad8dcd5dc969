#!/usr/bin/python3
"""Export the model-zoo test models: torchvision CNNs with random weights and a
fixed seed, as ONNX (opset 13, 1x3x224x224, static shapes), each with one random
input and torch's output for it.

    export.py --out DIR [--stamp FILE] [--force] [MODEL ...]
    export.py --list

writes DIR/<model>/model.onnx, input_0.pb, output_0.pb (ONNX TensorProto) and
meta.json. A model whose meta.json carries the current recipe key is kept as it
is, so a second run imports nothing heavy and takes well under a second. A model
that fails to export gets DIR/<model>/ERROR instead (compare.py reports it) and
the others go on: one broken model must not break the build.

Random weights with default BatchNorm statistics (mean 0, var 1) make the
activations shrink layer by layer (efficientnet_b0 ends near 1e-14), which would
make any comparison meaningless. So, before eval(), the BatchNorm running
statistics (and only those) are re-estimated on a few random batches. The
exporter then folds BatchNorm into Conv, as it does for a trained model.
"""
import argparse
import hashlib
import json
import os
import shutil
import sys
import time

# name -> keyword arguments for the torchvision constructor (weights=None always).
MODELS = {
    "mobilenet_v2": {},
    "resnet18": {},
    "resnet50": {},
    "squeezenet1_1": {},
    "shufflenet_v2_x1_0": {},
    "mnasnet1_0": {},
    "efficientnet_b0": {},
    "googlenet": {"aux_logits": False, "init_weights": True},
    "mobilenet_v3_small": {},
    "regnet_x_400mf": {},
}

SEED = 20240601
OPSET = 13
INPUT_SHAPE = (1, 3, 224, 224)
CALIB_BATCHES = 6
CALIB_BATCH_SIZE = 8
FILES = ("model.onnx", "input_0.pb", "output_0.pb")


# Bump when a change to the code below changes what gets exported: cached
# exports of an older recipe are then redone (the settings above count already).
RECIPE_VERSION = 1


def recipe_key():
    settings = [RECIPE_VERSION, SEED, OPSET, INPUT_SHAPE, CALIB_BATCHES, CALIB_BATCH_SIZE,
                sorted(MODELS.items())]
    return hashlib.sha256(repr(settings).encode()).hexdigest()[:16]


def is_cached(folder, key):
    try:
        with open(os.path.join(folder, "meta.json")) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return False
    if meta.get("recipe") != key:
        return False
    return all(os.path.isfile(os.path.join(folder, n)) for n in FILES)


def calibrate_batchnorm(torch, model, gen):
    """Re-estimate the BatchNorm running statistics on random batches. Only the
    BatchNorm layers are put in train mode, so dropout and stochastic depth stay
    off and every BatchNorm sees the activations the eval model produces."""
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    model.eval()
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over all calibration batches
        bn.train()
    with torch.no_grad():
        for _ in range(CALIB_BATCHES):
            model(torch.randn((CALIB_BATCH_SIZE,) + INPUT_SHAPE[1:], generator=gen))
    model.eval()
    return len(bns)


def export_one(torch, torchvision, numpy_helper, name, folder, key):
    kwargs = MODELS[name]
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    model = getattr(torchvision.models, name)(weights=None, **kwargs)
    nbn = calibrate_batchnorm(torch, model, gen)

    x = torch.randn(INPUT_SHAPE, generator=gen)
    with torch.no_grad():
        y = model(x)
    if not isinstance(y, torch.Tensor):
        raise RuntimeError(f"forward returned {type(y).__name__}, not a tensor")

    tmp = folder + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    torch.onnx.export(model, x, os.path.join(tmp, "model.onnx"),
                      opset_version=OPSET, do_constant_folding=True,
                      input_names=["input"], output_names=["output"],
                      training=torch.onnx.TrainingMode.EVAL)
    xa = x.numpy()
    ya = y.numpy()
    with open(os.path.join(tmp, "input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(xa, "input").SerializeToString())
    with open(os.path.join(tmp, "output_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(ya, "output").SerializeToString())
    meta = {
        "recipe": key, "model": name, "seed": SEED, "opset": OPSET,
        "input_shape": list(xa.shape), "output_shape": list(ya.shape),
        "output_std": float(ya.std()), "output_absmax": float(abs(ya).max()),
        "batchnorm_layers": nbn, "torch": torch.__version__,
        "torchvision": torchvision.__version__,
    }
    with open(os.path.join(tmp, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")
    shutil.rmtree(folder, ignore_errors=True)
    os.rename(tmp, folder)
    return meta


def write_stamp(path, text):
    if path:
        with open(path, "w") as f:
            f.write(text + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="cache folder (one subfolder per model)")
    ap.add_argument("--list", action="store_true", help="print the model names and exit")
    ap.add_argument("--stamp", help="file to write when done (for the build system)")
    ap.add_argument("--force", action="store_true", help="export again even if cached")
    ap.add_argument("models", nargs="*", help=f"models to export (default: all {len(MODELS)})")
    args = ap.parse_args()
    if args.list:
        print("\n".join(MODELS))
        return 0
    if not args.out:
        ap.error("--out is required")

    names = args.models or list(MODELS)
    for n in names:
        if n not in MODELS:
            ap.error(f"unknown model {n!r} (known: {', '.join(MODELS)})")
    os.makedirs(args.out, exist_ok=True)
    key = recipe_key()
    todo = [n for n in names if args.force or not is_cached(os.path.join(args.out, n), key)]
    if not todo:
        print(f"export: all {len(names)} models cached in {args.out}")
        write_stamp(args.stamp, "ok")
        return 0

    try:  # only now: importing torch takes seconds
        import torch
        import torchvision
        from onnx import numpy_helper
    except ImportError as e:
        msg = f"torch, torchvision or onnx missing for {sys.executable}: {e}"
        print(f"export: {msg}; zoo tests will be skipped")
        with open(os.path.join(args.out, "SKIP"), "w") as f:
            f.write(msg + "\n")
        write_stamp(args.stamp, "skip")
        return 0
    try:
        os.remove(os.path.join(args.out, "SKIP"))
    except FileNotFoundError:
        pass
    torch.set_num_threads(2)

    failed = 0
    t_all = time.monotonic()
    for name in todo:
        folder = os.path.join(args.out, name)
        t0 = time.monotonic()
        try:
            meta = export_one(torch, torchvision, numpy_helper, name, folder, key)
        except Exception as e:  # noqa: BLE001 - any failure is reported per model
            failed += 1
            shutil.rmtree(folder, ignore_errors=True)
            os.makedirs(folder)
            with open(os.path.join(folder, "ERROR"), "w") as f:
                f.write(f"{type(e).__name__}: {e}\n")
            print(f"export: {name}: FAILED: {type(e).__name__}: {e}")
            continue
        print(f"export: {name:20s} {time.monotonic() - t0:6.1f} s  "
              f"output std {meta['output_std']:.3g}, max |y| {meta['output_absmax']:.3g}")
    print(f"export: {len(todo) - failed} of {len(todo)} models exported in "
          f"{time.monotonic() - t_all:.1f} s into {args.out}")
    write_stamp(args.stamp, "failed" if failed else "ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
