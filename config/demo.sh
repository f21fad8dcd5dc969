#!/bin/sh
# The main job: start the daemon built in BUILD on the default configuration
# (config/inferd.json), classify the bundled sample digits through inferctl
# over both transports, show health and stats, then stop the daemon cleanly.
#
# The default config listens on /run/inferd/; without the rights to create it,
# the same config is used with its sockets moved to a private temporary folder.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build}
case "$BUILD" in /*) ;; *) BUILD="$top/$BUILD" ;; esac
inferd="$BUILD/daemon/inferd"
inferctl="$BUILD/clients/inferctl"
config="$top/config/inferd.json"
rundir=/run/inferd

say() { printf '==> %s\n' "$*"; }

"$inferd" --version
"$inferd" --check-config "$config"

tmp=$(mktemp -d /tmp/inferd-demo.XXXXXX)
if ! mkdir -p "$rundir" 2>/dev/null || [ ! -w "$rundir" ]; then
    rundir="$tmp"
    sed "s|/run/inferd/|$rundir/|g; s|\"models/|\"$top/config/models/|g" "$config" >"$tmp/inferd.json"
    config="$tmp/inferd.json"
    say "no write access to /run/inferd: sockets in $rundir"
fi
unix="unix:$rundir/inferd.sock"
ipc="ipc://$rundir/inferd.ipc"

say "starting: $inferd --config $config"
"$inferd" --config "$config" 2>"$tmp/inferd.log" &
pid=$!
cleanup() {
    kill -TERM "$pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

i=0
until "$inferctl" --address "$unix" --timeout 2000 health >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "demo: the daemon did not become healthy; its log:" >&2
        cat "$tmp/inferd.log" >&2
        exit 1
    fi
    sleep 0.1
done
say "health"
"$inferctl" --address "$unix" health
echo

say "classifying the sample digits (Unix socket)"
for f in "$top"/config/samples/*.jpg; do
    printf '%s\n' "$(basename "$f")"
    "$inferctl" --address "$unix" infer "$f" --model digits --topk 3
done

say "the same over nanomsg ($ipc)"
for f in "$top"/config/samples/digit-seven-*.jpg "$top"/config/samples/digit-three-*.jpg; do
    printf '%s\n' "$(basename "$f")"
    "$inferctl" --address "$ipc" infer "$f" --model digits --topk 1
done

say "stats"
"$inferctl" --address "$unix" stats
echo

say "stopping the daemon (SIGTERM)"
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
trap - EXIT INT TERM
sed 's/^/  inferd: /' "$tmp/inferd.log"
rm -rf "$tmp"
if [ "$status" -ne 0 ]; then
    echo "demo: the daemon exited with status $status" >&2
    exit 1
fi
say "done"
