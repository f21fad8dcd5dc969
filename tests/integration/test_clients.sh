#!/bin/sh
# inferctl against the real daemon on temporary sockets, over the Unix
# socket, nanomsg ipc:// and tcp://: health, models, version, metrics, ping,
# infer on the bundled digit samples (the top-1 label must be the digit the
# file is named after), error exit codes, bench, and what a stopped daemon
# looks like to a script.
# Usage: test_clients.sh INFERD INFERCTL SOURCE_ROOT PLUGIN_DIR
set -eu
inferd=$1 ctl=$2 src=$3 plugins=$4
model=$src/config/models/digits.onnx
labels=$src/config/models/digits.labels
samples=$src/config/samples
[ -f "$model" ] && [ -f "$labels" ] || { echo "SKIP: no $model"; exit 77; }

dir=$(mktemp -d /tmp/inferd-clients-XXXXXX)
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

port=$((20000 + $$ % 20000))
unix=$dir/d.sock
ipc=ipc://$dir/d.ipc
tcp=tcp://127.0.0.1:$port
cat >"$dir/inferd.json" <<JSON
{"listen": {"unix": "$unix", "nanomsg": ["$ipc", "$tcp"]},
 "models": [{"name": "digits", "path": "$model", "labels": "$labels", "topk": 3},
            {"name": "digits-nolabels", "path": "$model"}]}
JSON

failed=0
fail() { echo "FAIL: $*"; failed=1; }
# expect STATUS DESCRIPTION COMMAND...: runs it, keeps its output in $out
expect() {
    e_status=$1 e_what=$2
    shift 2
    set +e
    out=$("$@" 2>&1)
    e_got=$?
    set -e
    [ "$e_got" -eq "$e_status" ] || fail "$e_what: exit $e_got, expected $e_status: $out"
}

# Nothing listening yet: scripts see 2.
expect 2 "health before start" "$ctl" -a "$unix" health

INFERD_PLUGIN_PATH=$plugins "$inferd" -c "$dir/inferd.json" 2>"$dir/log" &
pid=$!
i=0
until "$ctl" -a "$unix" -t 1000 health >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "FAIL: the daemon did not become healthy"; cat "$dir/log"; exit 1
    fi
    sleep 0.1
done

for addr in "$unix" "$ipc" "$tcp"; do
    expect 0 "health on $addr" "$ctl" -a "$addr" health
    echo "$out" | grep -q '"status":"ok"' || fail "health on $addr: $out"
    expect 0 "models on $addr" "$ctl" -a "$addr" models
    echo "$out" | grep -q '"name":"digits"' || fail "models on $addr: $out"
    expect 0 "version on $addr" "$ctl" -a "$addr" version
    echo "$out" | grep -q '"protocol":1' || fail "version on $addr: $out"
    expect 0 "metrics on $addr" "$ctl" -a "$addr" metrics
    echo "$out" | grep -q '^inferd_up' || fail "metrics on $addr: $out"
    expect 0 "ping on $addr" "$ctl" -a "$addr" ping

    n=0
    for jpg in "$samples"/digit-*.jpg; do
        # digit-seven-5.jpg holds a seven
        want=$(basename "$jpg" | cut -d- -f2)
        expect 0 "infer $jpg on $addr" "$ctl" -a "$addr" infer "$jpg" --model digits
        top=$(echo "$out" | awk '$1 == "1." { print $2; exit }')
        [ "$top" = "$want" ] || fail "infer $jpg on $addr: top-1 '$top', expected '$want': $out"
        echo "$out" | grep -q '^latency ' || fail "infer $jpg on $addr: no latency line"
        n=$((n + 1))
    done
    [ "$n" -ge 1 ] || fail "no sample images in $samples"

    expect 0 "bench on $addr" "$ctl" -a "$addr" bench --model digits -c 4 -n 200
    echo "$out" | grep -q '^errors: *none' || fail "bench on $addr: $out"
    echo "$out" | grep -q '(200 of 200 ok' || fail "bench on $addr: $out"
    echo "$out" | grep -q '^latency: *p50 .* p90 .* p99 .* max ' || fail "bench on $addr: $out"
done

jpg=$(ls "$samples"/digit-*.jpg | head -n 1)
expect 0 "infer --json" "$ctl" -a "$unix" infer "$jpg" --model digits --json
echo "$out" | grep -q '"topk":\[{"output"' || fail "infer --json: $out"
expect 0 "infer --topk 1 without labels" "$ctl" -a "$ipc" infer "$jpg" --model digits-nolabels --topk 1
echo "$out" | grep -Eq '^ +1\. [0-9] +[0-9.]+$' || fail "infer without labels: $out"
[ "$(echo "$out" | grep -c '^ *[0-9]*\. ')" -eq 1 ] || fail "infer --topk 1 printed more: $out"
expect 0 "bench with an image, pipelined" "$ctl" -a "$unix" bench --model digits -c 2 -n 100 \
    --depth 4 --image "$jpg"
echo "$out" | grep -q '^errors: *none' || fail "bench --image: $out"

# The daemon's answers that are not success: exit 1 with the code.
expect 1 "unknown model" "$ctl" -a "$unix" infer "$jpg" --model nope
echo "$out" | grep -q 'model_not_found' || fail "unknown model: $out"
expect 1 "not a JPEG" "$ctl" -a "$ipc" infer "$labels" --model digits
echo "$out" | grep -q 'bad_input' || fail "not a JPEG: $out"
expect 1 "bench of an unknown model" "$ctl" -a "$unix" bench --model nope -n 10
expect 3 "bad usage" "$ctl" -a "$unix" infer "$jpg"

# A stopped daemon: 2, and quickly.
kill -TERM "$pid"
wait "$pid" || fail "the daemon did not exit 0 on SIGTERM"
pid=
expect 2 "health after stop (unix)" "$ctl" -a "$unix" -t 2000 health
expect 2 "health after stop (tcp)" "$ctl" -a "$tcp" -t 500 health

[ "$failed" -eq 0 ] && echo "inferctl: all checks passed on unix, ipc and tcp"
exit "$failed"
