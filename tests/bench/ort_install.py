#!/usr/bin/python3
"""Install the pinned onnxruntime-node package into the build tree, for the
libonnxruntime.so it ships, and say where that library is.

    ort_install.py --package tests/bench/package.json --dir BUILD/tests/bench/ort
                   --stamp BUILD/tests/bench/ort.json

The version is the one in package.json (the only place it is written). npm runs
only when the installed package is missing or of another version, so a second
run takes well under a second and needs no network. The package's install
script is not run (--ignore-scripts): it only fetches the CUDA provider from
outside the npm registry, and the benchmark uses the CPU provider that the
package itself carries. The binaries for other systems (macOS, Windows) are
deleted after install: about 220 MiB nobody here loads.

The stamp is JSON: {"package": "onnxruntime-node", "version": ..., "lib": ...}.
"""
import argparse
import glob
import json
import os
import platform
import shutil
import subprocess
import sys

PACKAGE = "onnxruntime-node"
# platform.machine() -> the folder name the package uses.
ARCH = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}


def pinned_version(package_json):
    with open(package_json) as f:
        deps = json.load(f).get("dependencies", {})
    version = deps.get(PACKAGE)
    if not version or not version[0].isdigit():
        sys.exit(f"ort_install: {package_json}: dependencies.{PACKAGE} must be an exact version")
    return version


def installed(folder):
    """(version, lib) of the package installed under folder, or (None, None)."""
    pkg = os.path.join(folder, "node_modules", PACKAGE)
    try:
        with open(os.path.join(pkg, "package.json")) as f:
            version = json.load(f).get("version")
    except (OSError, ValueError):
        return None, None
    arch = ARCH.get(platform.machine().lower())
    if arch is None:
        return version, None
    libs = sorted(glob.glob(os.path.join(pkg, "bin", "napi-v*", "linux", arch,
                                         "libonnxruntime.so*")))
    return version, (os.path.abspath(libs[-1]) if libs else None)


def npm_install(package_json, folder):
    npm = shutil.which("npm")
    if not npm:
        sys.exit("ort_install: npm not found: install Node.js with npm "
                 "(config/debian-packages.txt, group [bench])")
    os.makedirs(folder, exist_ok=True)
    shutil.copyfile(package_json, os.path.join(folder, "package.json"))
    cmd = [npm, "install", "--ignore-scripts", "--no-audit", "--no-fund",
           "--no-package-lock", "--omit=dev", "--loglevel=error"]
    env = dict(os.environ, npm_config_update_notifier="false")
    print("ort_install: " + " ".join(cmd[1:]) + "  (in " + folder + ")", flush=True)
    rc = subprocess.run(cmd, cwd=folder, env=env).returncode
    if rc != 0:
        sys.exit(f"ort_install: npm install failed (exit {rc})")


def prune_other_systems(folder):
    for d in glob.glob(os.path.join(folder, "node_modules", PACKAGE, "bin", "napi-v*", "*")):
        if os.path.basename(d) != "linux":
            shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--package", required=True, help="package.json holding the pin")
    ap.add_argument("--dir", required=True, help="folder to install into")
    ap.add_argument("--stamp", required=True, help="JSON file to write")
    args = ap.parse_args()

    want = pinned_version(args.package)
    version, lib = installed(args.dir)
    if version != want or not lib:
        npm_install(args.package, args.dir)
        prune_other_systems(args.dir)
        version, lib = installed(args.dir)
        if version != want:
            sys.exit(f"ort_install: {PACKAGE} {want} wanted, {version} installed")
        if not lib:
            sys.exit(f"ort_install: {PACKAGE} {want} ships no libonnxruntime.so for "
                     f"{platform.machine()}")
        print(f"ort_install: {PACKAGE} {version}: {lib}")
    stamp = {"package": PACKAGE, "version": version, "lib": lib}
    tmp = args.stamp + ".tmp"
    with open(tmp, "w") as f:
        json.dump(stamp, f, indent=1)
        f.write("\n")
    os.replace(tmp, args.stamp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
