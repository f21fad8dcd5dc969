#!/usr/bin/python3
"""Print the closing line of a test run, "N passed, N failed", counting the
meson test cases of every build folder given. Skipped tests are listed on a line
of their own (they are neither passes nor failures). Exits 1 if any failed."""
import json
import sys

passed = failed = 0
skipped = []
for build in sys.argv[1:]:
    try:
        lines = open(f"{build}/meson-logs/testlog.json").read().splitlines()
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
        result = t.get("result")
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            skipped.append(f"{build}:{t['name']}")
        else:
            failed += 1
            print(f"FAILED {build}: {t['name']} ({result})")
if skipped:
    print(f"{len(skipped)} skipped: " + ", ".join(skipped))
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
