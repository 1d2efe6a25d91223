"""Shared fixtures for berth's black-box tests.

The tests drive the real binaries from the build directory on the real
kernel, as root. Every test session checks that it left nothing behind:
no mount, cgroup, network interface, network namespace, process or temp
directory that was not there before it started.
"""
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("BERTH_BUILD_DIR", ROOT / "build"))
TMP_PREFIX = "berth-it-"


def binary(name):
    """Path of a built binary; skips the test when that area is not built."""
    path = BUILD / "src" / "cmd" / name
    if not path.exists():
        pytest.skip(f"{name} is not built at {path}")
    return path


def run(cmd, check=True, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    res = subprocess.run([str(c) for c in cmd], check=False, **kw)
    if check and res.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, cmd))} exited {res.returncode}\n"
            f"stdout: {res.stdout}\nstderr: {res.stderr}")
    return res


# ------------------------------------------------------------ leak tracking --

def _mounts():
    with open("/proc/self/mountinfo") as f:
        return {" ".join(line.split()[3:5]) for line in f}


def _cgroups():
    """Every cgroup directory below the hierarchies (v1, v2, hybrid)."""
    found = set()
    base = "/sys/fs/cgroup"
    for top, dirs, _ in os.walk(base):
        depth = top[len(base):].count("/")
        if depth > 4:
            dirs[:] = []
            continue
        found.add(top)
    return found


def _links():
    return set(os.listdir("/sys/class/net"))


def _netns():
    try:
        return set(os.listdir("/run/netns"))
    except FileNotFoundError:
        return set()


def _processes():
    """(pid, comm) of every process, so a reused pid is not mistaken."""
    procs = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                procs.add((int(pid), f.read().strip()))
        except OSError:
            pass
    return procs


def _tempdirs():
    tmp = tempfile.gettempdir()
    return {n for n in os.listdir(tmp) if n.startswith(TMP_PREFIX)}


def snapshot():
    return {
        "mounts": _mounts(),
        "cgroups": _cgroups(),
        "links": _links(),
        "netns": _netns(),
        "tempdirs": _tempdirs(),
        "processes": _processes(),
    }


def leaks(before, after):
    """What appeared between two snapshots. Processes count only when they
    still exist and were started by a test (a child of this pytest or of
    init, re-parented), so unrelated system activity is not blamed."""
    found = {}
    for key in ("mounts", "cgroups", "links", "netns", "tempdirs"):
        new = after[key] - before[key]
        if new:
            found[key] = sorted(new)
    me = os.getpid()
    stray = []
    for pid, comm in after["processes"] - before["processes"]:
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid in (1, me) and comm not in ("pytest", "python3"):
            stray.append(f"{pid} {comm}")
    if stray:
        found["processes"] = sorted(stray)
    return found


@pytest.fixture(scope="session", autouse=True)
def assert_nothing_leaked():
    before = snapshot()
    yield
    after = snapshot()
    left = leaks(before, after)
    assert not left, f"the test session left these behind: {left}"


# ------------------------------------------------------------------ rootfs --

@pytest.fixture
def tmpdir_berth():
    """A temp directory that is removed (and checked) after the test."""
    path = pathlib.Path(tempfile.mkdtemp(prefix=TMP_PREFIX))
    yield path
    shutil.rmtree(path, ignore_errors=True)
    assert not path.exists()


def make_busybox_rootfs(dest):
    run(["bash", ROOT / "scripts" / "make-busybox-rootfs.sh", dest])
    return pathlib.Path(dest)


@pytest.fixture
def busybox_rootfs(tmpdir_berth):
    return make_busybox_rootfs(tmpdir_berth / "rootfs")
