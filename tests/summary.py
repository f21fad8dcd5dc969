#!/usr/bin/python3
"""Print the closing line of a test run, "N passed, N failed", counting the
meson test cases of every build folder given. Skipped tests are listed on a line
of their own (they are neither passes nor failures). Exits 1 if any failed.

CI reads only that last line, so it is printed whatever happens here: a log
that cannot be read or parsed counts as a failure, and so does an error of
this script itself."""
import json
import sys


def count(builds):
    passed = failed = 0
    skipped = []
    for build in builds:
        try:
            with open(f"{build}/meson-logs/testlog.json") as f:
                lines = f.read().splitlines()
        except OSError as e:
            print(f"{build}: no test log ({e.strerror})")
            failed += 1
            continue
        for n, line in enumerate(lines, 1):
            try:
                t = json.loads(line)
            except ValueError:
                # a run killed mid-write leaves half a line: count it, go on
                print(f"{build}: testlog.json line {n} is not JSON")
                failed += 1
                continue
            result = t.get("result") if isinstance(t, dict) else None
            name = t.get("name", f"line {n}") if isinstance(t, dict) else f"line {n}"
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped.append(f"{build}:{name}")
            else:
                failed += 1
                print(f"FAILED {build}: {name} ({result})")
    if skipped:
        print(f"{len(skipped)} skipped: " + ", ".join(skipped))
    return passed, failed


def main(argv):
    try:
        passed, failed = count(argv)
    except Exception as e:  # noqa: BLE001 - the closing line must come out
        print(f"summary: {type(e).__name__}: {e}")
        passed, failed = 0, 1
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
