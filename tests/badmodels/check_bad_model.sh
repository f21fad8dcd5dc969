#!/bin/sh
# check_bad_model.sh INFERD_RUN MODEL 'expected message part'
#
# Runs INFERD_RUN on a malformed MODEL and passes when it refuses it cleanly:
# a non-zero exit that is neither a signal nor a sanitizer report, and a line
# "MODEL: ..." containing the expected part. Sanitizers are told to exit 66 so
# that a report cannot pass for an ordinary error exit (ASan's default is 1).
set -u
if [ $# -ne 3 ]; then
    echo "usage: $0 INFERD_RUN MODEL 'expected message part'" >&2
    exit 2
fi
run=$1
model=$2
want=$3

ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=66"
UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}exitcode=66:halt_on_error=1:print_stacktrace=1"
export ASAN_OPTIONS UBSAN_OPTIONS
out=$("$run" "$model" 2>&1)
rc=$?
printf '%s\n' "$out"

if [ "$rc" -eq 0 ]; then
    echo "FAIL: $run accepted $model (exit 0)"
    exit 1
fi
if [ "$rc" -eq 66 ] || [ "$rc" -ge 128 ]; then
    echo "FAIL: $run crashed on $model (exit $rc: a signal or a sanitizer report)"
    exit 1
fi
found=$(printf '%s\n' "$out" | while IFS= read -r line; do
    case $line in
    "$model: "*)
        case $line in
        *"$want"*) echo yes; break ;;
        esac
        ;;
    esac
done)
if [ "$found" != yes ]; then
    echo "FAIL: no line starts with '$model: ' and contains '$want'"
    exit 1
fi
echo "ok: exit $rc"
exit 0
