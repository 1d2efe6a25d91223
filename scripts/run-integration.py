#!/usr/bin/python3
"""Run the black-box suites: the top-level tests and each area's folder as
its own pytest session (each ends with its own leak check, and each area's
conftest helpers stay its own), then print one closing line for everything.

Usage: run-integration.py [PATH ...]   (default: tests/integration)
Extra pytest arguments come from $PYTEST_ARGS."""
import os
import pathlib
import shlex
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

ROOT = pathlib.Path(__file__).resolve().parents[1]


def suites(paths):
    """A folder of tests becomes one suite for its top-level test files and
    one per sub-folder that holds tests."""
    for p in map(pathlib.Path, paths):
        if p.is_file() or "::" in str(p):
            yield [str(p)]
            continue
        top = sorted(str(f) for f in p.glob("test_*.py"))
        if top:
            yield top
        for sub in sorted(d for d in p.iterdir() if d.is_dir() and not d.name.startswith(("_", "."))):
            if any(sub.rglob("test_*.py")):
                yield [str(sub)]


def count(xml_path):
    totals = dict(tests=0, failures=0, errors=0, skipped=0)
    try:
        root = ET.parse(xml_path).getroot()
    except (ET.ParseError, FileNotFoundError):
        return None
    for suite in ([root] if root.tag == "testsuite" else root.iter("testsuite")):
        for k in totals:
            totals[k] += int(suite.get(k, 0))
    return totals


def main():
    paths = sys.argv[1:] or ["tests/integration"]
    extra = shlex.split(os.environ.get("PYTEST_ARGS", ""))
    passed = failed = skipped = 0
    broken = []
    with tempfile.TemporaryDirectory(prefix="berth-junit-") as tmp:
        for i, suite in enumerate(suites(paths)):
            xml = os.path.join(tmp, f"{i}.xml")
            print(f"\n=== pytest {' '.join(suite)}", flush=True)
            rc = subprocess.call([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-ra",
                                  f"--junitxml={xml}", *extra, *suite], cwd=ROOT)
            t = count(xml)
            if t is None:
                broken.append(f"{' '.join(suite)} (pytest exited {rc}, no report)")
                failed += 1
                continue
            f = t["failures"] + t["errors"]
            passed += t["tests"] - f - t["skipped"]
            failed += f
            skipped += t["skipped"]
            if rc not in (0, 5) and f == 0:
                broken.append(f"{' '.join(suite)} (pytest exited {rc})")
                failed += 1
    for b in broken:
        print(f"suite failed: {b}")
    print(f"integration: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
