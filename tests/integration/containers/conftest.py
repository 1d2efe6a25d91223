"""Fixtures of the container suite: one berthd per test module (starting
one per test would dominate the suite's time), the busybox:local image
built from Debian's busybox-static, and a cleanup that removes every
container and checks that no monitor, mount or container process is left.
The Berthd class (socket, data root, docker CLI, docker-py, raw HTTP) is
daemon-core's, from tests/integration/daemon/conftest.py."""
import os
import pathlib
import shutil
import subprocess
import tarfile
import tempfile
import time

import pytest

import importlib.util

from berthtest import BUILD, ROOT, TMP_PREFIX, make_busybox_rootfs

# daemon-core's fixture module, loaded by path ("daemon" is also the name
# of an unrelated Debian python package)
_spec = importlib.util.spec_from_file_location(
    "berth_daemon_fixtures", ROOT / "tests" / "integration" / "daemon" / "conftest.py")
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
Berthd = _mod.Berthd

IMAGE = "busybox:local"


def _image_tool():
    return BUILD / "tests" / "unit" / "image" / "berth-image-tool"


def _import_busybox(d, root):
    """docker import through berthd when the image endpoints exist; the
    image library's test driver on the stopped daemon's root otherwise."""
    rootfs = make_busybox_rootfs(root / "bb-rootfs")
    tar = root / "bb.tar"
    with tarfile.open(tar, "w") as t:
        t.add(rootfs, arcname=".")
    res = d.docker("import", tar, IMAGE, check=False)
    if res.returncode != 0:
        d.stop()
        subprocess.run([str(_image_tool()), "--root", str(d.data_root), "import", str(tar), IMAGE],
                       check=True, capture_output=True)
        d.start()
    shutil.rmtree(rootfs)


def monitors_of(d):
    """berth-monitor processes whose exec dir is under this daemon's root."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if len(argv) > 1 and (argv[0].endswith(b"berth-monitor") or argv[0].endswith(b"berth-monitor-hold")) and argv[1].startswith(str(d.exec_root).encode()):
            found.append(int(pid))
    return found


def remove_all(d):
    ids = d.docker("ps", "-aq", check=False).stdout.split()
    if ids:
        d.docker("rm", "-f", "-v", *ids, check=False)


@pytest.fixture(scope="module")
def bd():
    root = pathlib.Path(tempfile.mkdtemp(prefix=TMP_PREFIX))
    d = Berthd(root)
    (root).mkdir(parents=True, exist_ok=True)
    d.start()
    try:
        _import_busybox(d, root)
        yield d
    finally:
        if d.proc is None or d.proc.poll() is not None:
            d.proc = None
            d.start()  # killed by a failing test: rm needs the daemon
        remove_all(d)
        left = monitors_of(d)
        stop_error = None
        try:
            d.stop()
        except AssertionError as e:  # still clean up, then report it
            stop_error = e
        d.destroy_network()  # the default bridge and nft table of this berthd
        for m in left:
            # never leave a container behind, even when a test broke: kill
            # what the monitor runs, the monitor then cleans up and exits
            try:
                with open(f"/proc/{m}/task/{m}/children") as f:
                    for child in f.read().split():
                        os.kill(int(child), 9)
            except OSError:
                pass
        deadline = time.time() + 10
        while time.time() < deadline and any(os.path.exists(f"/proc/{m}/cmdline") and open(f"/proc/{m}/cmdline").read() for m in left):
            time.sleep(0.1)
        # nothing of ours may stay mounted under the temp root
        with open("/proc/self/mountinfo") as f:
            mounts = [l.split()[4] for l in f if str(root) in l.split()[4]]
        for m in reversed(mounts):
            subprocess.run(["umount", "-l", m], check=False)
        shutil.rmtree(root, ignore_errors=True)
        assert stop_error is None, stop_error
        assert not left, f"container monitors left running: {left}"
        assert not mounts, f"mounts left behind: {mounts}"


@pytest.fixture
def clean(bd):
    """Every test starts and ends without containers."""
    remove_all(bd)
    yield bd
    if bd.proc is None or bd.proc.poll() is not None:
        bd.proc = None
        bd.start()  # a test that killed berthd and failed before restarting it
    remove_all(bd)
    assert bd.docker("ps", "-aq").stdout.split() == []


def wait_for(pred, timeout=10, interval=0.05, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")
