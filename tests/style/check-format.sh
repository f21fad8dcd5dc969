#!/bin/sh
# Fails when a C source or header is not formatted with the repo's .clang-format.
# Lists the offending files so the fix is one `clang-format -i` away.
set -eu
top=${1:-$(dirname "$0")/../..}
cd "$top"
command -v clang-format >/dev/null 2>&1 || { echo "SKIP: clang-format not installed"; exit 77; }
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    files=$(git ls-files --cached --others --exclude-standard -- '*.c' '*.h')
else
    files=$(find . -path ./build -prune -o \( -name '*.c' -o -name '*.h' \) -print | grep -v '^./build')
fi
bad=0
for f in $files; do
    [ -f "$f" ] || continue
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
        echo "not formatted: $f (run: clang-format -i $f)"
        bad=1
    fi
done
[ "$bad" -eq 0 ] && echo "all $(echo "$files" | wc -w) C files formatted"
exit "$bad"
