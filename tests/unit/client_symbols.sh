#!/bin/sh
# Fails when libinferd-client exports anything but the inferd_client_* API
# (the protocol code compiled into it must stay hidden), or lacks a function
# inferd_client.h declares.
set -eu
lib=$1
header=$(dirname "$0")/../../clients/inferd_client.h
command -v nm >/dev/null 2>&1 || { echo "SKIP: nm not installed"; exit 77; }
exported=$(nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sort)
bad=$(echo "$exported" | grep -v '^inferd_client_' || true)
if [ -n "$bad" ]; then
    echo "exported beyond the API:"; echo "$bad"; exit 1
fi
declared=$(grep -o 'inferd_client_[a-z_]*(' "$header" | tr -d '(' | sort -u)
missing=$(echo "$declared" | while read -r f; do echo "$exported" | grep -qx "$f" || echo "$f"; done)
if [ -n "$missing" ]; then
    echo "declared in inferd_client.h but not exported:"; echo "$missing"; exit 1
fi
echo "$(echo "$exported" | wc -l) symbols, all inferd_client_*"
