"""The pass/fail bookkeeping both Python sidecar tests share: `check` records, `finish` prints
the "<name>: N passed, M failed" line scripts/test.sh counts and exits non-zero on failures."""

import sys

failures = []
passed = 0


def check(name, cond, detail=""):
    global passed
    if cond:
        passed += 1
    else:
        failures.append(f"{name}: {detail}")


def finish(name):
    print(f"{name}: {passed} passed, {len(failures)} failed")
    for f in failures:
        print("  FAILED", f)
    sys.exit(1 if failures else 0)
