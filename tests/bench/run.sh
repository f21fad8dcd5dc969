#!/bin/sh
# The side-by-side benchmark against ONNX Runtime (tests/bench/README.md), on a
# machine that has the packages already (`sh config/setup.sh bench` installs
# them first, then runs this). Configures the build folder when it is missing,
# builds what the benchmark needs (inferd-run, the CPU plugin, the zoo export,
# ort_run, coreprobe; npm installs the pinned onnxruntime-node only when it is
# not in the build tree yet), then runs bench.py with the options given:
#
#   sh tests/bench/run.sh                      all ten models, 1 and 2 threads
#   sh tests/bench/run.sh --threads 1 resnet18 mobilenet_v2
#   sh tests/bench/run.sh --profile resnet50   inferd's time per node
#   sh tests/bench/run.sh --help
#
# The build folder is build/ (or $INFERD_BUILD).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
BUILD=${INFERD_BUILD:-build}

if [ ! -f "$BUILD/build.ninja" ]; then
    echo "==> configuring $BUILD"
    meson setup "$BUILD" -Dwerror=true
fi
echo "==> building what the benchmark needs in $BUILD"
ninja -C "$BUILD" bench-deps
exec /usr/bin/python3 tests/bench/bench.py --build "$BUILD" "$@"
