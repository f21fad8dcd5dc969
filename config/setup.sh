#!/bin/sh
# One command to get from a fresh Debian 12 machine to a running inferd.
#
#   config/setup.sh demo   install what is missing, build, run the main job
#   config/setup.sh test   install what is missing, build (plain + ASan/UBSan),
#                          run the whole test suite, end with "N passed, N failed"
#   config/setup.sh build  install build packages and build only
#   config/setup.sh bench [OPTIONS]
#                          install what is missing (Node.js and npm only when
#                          there is no npm yet), build, run the side-by-side
#                          benchmark against ONNX Runtime (tests/bench/run.sh)
#
# Idempotent: packages already installed are not touched, existing build
# folders are reused, so a second run only rebuilds what changed.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
pkgfile=config/debian-packages.txt
BUILD=${INFERD_BUILD:-build}
BUILD_ASAN=${INFERD_BUILD_ASAN:-build-asan}

say() { printf '==> %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "setup.sh: need root (or sudo) to run: $*" >&2
        exit 1
    fi
}

# Packages of the named groups in $pkgfile.
packages_list() {
    awk -v groups=" $* " '
        /^[[:space:]]*(#|$)/ { next }
        /^\[/ { g = substr($0, 2, length($0) - 2); next }
        index(groups, " " g " ") { print $1 }' "$pkgfile" | sort -u
}

packages_install() {
    missing=""
    for p in $(packages_list "$@"); do
        st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        case "$st" in *" installed") ;; *) missing="$missing $p" ;; esac
    done
    if [ -z "$missing" ]; then
        say "packages ($*): all installed"
        return 0
    fi
    say "installing:$missing"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    # shellcheck disable=SC2086
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
}

# build_dir DIR [meson options...]
build_dir() {
    dir=$1
    shift
    if [ ! -f "$dir/build.ninja" ]; then
        say "configuring $dir"
        meson setup "$dir" -Dwerror=true "$@"
    fi
    say "building $dir"
    ninja -C "$dir"
}

tests_run() {
    status=0
    for dir in "$@"; do
        say "testing $dir"
        meson test -C "$dir" --print-errorlogs --num-processes "${INFERD_TEST_JOBS:-2}" || status=1
    done
    # CI reads the last line: check that it is the count, whatever the
    # summary did (a missing interpreter, a crash)
    out=$(/usr/bin/python3 tests/summary.py "$@" 2>&1) || status=1
    [ -z "$out" ] || printf '%s\n' "$out"
    last=$(printf '%s\n' "$out" | tail -n 1)
    case "$last" in
    [0-9]*" passed, "[0-9]*" failed") ;;
    *)
        say "the test summary printed no count"
        echo "0 passed, 1 failed"
        status=1
        ;;
    esac
    summary_done=1
    return $status
}

cmd=${1:-demo}
case "$cmd" in
build)
    packages_install build
    build_dir "$BUILD"
    ;;
demo)
    packages_install build demo
    build_dir "$BUILD"
    sh config/demo.sh "$BUILD"
    ;;
test)
    # CI reads the last line: a run that stops before the tests (a package
    # that will not install, a build error) still ends with the count.
    trap 'rc=$?; [ $rc -eq 0 ] || [ -n "${summary_done:-}" ] || {
        say "set-up or build failed (status $rc): no test ran"; echo "0 passed, 1 failed"; }' EXIT
    # killed (a CI time limit, ^C): the EXIT trap does not run on a signal
    # in every sh, so say it here and leave through it
    trap 'say "stopped by a signal"; [ -n "${summary_done:-}" ] || echo "0 passed, 1 failed";
        summary_done=1; exit 1' HUP INT TERM
    packages_install build demo test
    build_dir "$BUILD"
    build_dir "$BUILD_ASAN" -Dbuildtype=debug -Db_sanitize=address,undefined \
        -Db_lundef=false -Dc_args=-fno-sanitize-recover=all \
        -Dzoo_cache="$top/$BUILD/tests/zoo/models"
    tests_run "$BUILD" "$BUILD_ASAN"
    ;;
bench)
    shift
    packages_install build test
    # A Node.js from elsewhere (NodeSource, nvm) brings its own npm, and
    # Debian's npm package conflicts with NodeSource's nodejs: install Debian's
    # only where there is no npm at all.
    if command -v npm >/dev/null 2>&1; then
        say "npm: $(command -v npm)"
    else
        packages_install bench
    fi
    exec sh tests/bench/run.sh "$@"
    ;;
-h | --help | help)
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    ;;
*)
    echo "setup.sh: unknown command '$cmd' (try: demo, test, build, bench)" >&2
    exit 2
    ;;
esac
