"""The harness itself: the leak tracker must see what a test leaves behind,
or every 'assert cleanup' in the suite would be a test that cannot fail."""
import os
import subprocess
import tempfile

import pytest

import berthtest as conftest


def test_leak_tracker_sees_a_mount_and_a_tempdir():
    before = conftest.snapshot()
    d = tempfile.mkdtemp(prefix=conftest.TMP_PREFIX)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", d], check=True)
    try:
        left = conftest.leaks(before, conftest.snapshot())
        assert any(d in m for m in left.get("mounts", [])), left
        assert os.path.basename(d) in left.get("tempdirs", []), left
    finally:
        subprocess.run(["umount", d], check=True)
        os.rmdir(d)
    assert conftest.leaks(before, conftest.snapshot()) == {}


@pytest.mark.skipif(conftest.LEAK_SCOPE != "strict", reason="cgroups and links are checked only in strict scope")
def test_leak_tracker_sees_a_cgroup_and_a_link():
    before = conftest.snapshot()
    cg = "/sys/fs/cgroup/pids/berth-it-harness"
    os.mkdir(cg)
    try:
        subprocess.run(["ip", "link", "add", "berthit0", "type", "bridge"], check=True)
        left = conftest.leaks(before, conftest.snapshot())
        assert cg in left.get("cgroups", []), left
        assert "berthit0" in left.get("links", []), left
    finally:
        subprocess.run(["ip", "link", "del", "berthit0"], check=False)
        os.rmdir(cg)
    assert conftest.leaks(before, conftest.snapshot()) == {}


def test_busybox_rootfs_is_runnable(busybox_rootfs):
    res = subprocess.run(["chroot", str(busybox_rootfs), "/bin/sh", "-c", "echo ok"],
                         capture_output=True, text=True, check=True)
    assert res.stdout == "ok\n"


def test_leak_tracker_sees_an_orphaned_process():
    # A daemonized child (double fork) re-parents to pytest, the subreaper.
    subprocess.run(["sh", "-c", "sleep 30 & exit 0"], check=True)
    try:
        assert any("sleep" in p for p in conftest.leaks({k: set() for k in
                   ("mounts", "cgroups", "links", "netns", "tempdirs")},
                   {k: set() for k in ("mounts", "cgroups", "links", "netns", "tempdirs")})
                   .get("processes", [])), "orphan not seen"
    finally:
        subprocess.run(["pkill", "-x", "-P", str(os.getpid()), "sleep"], check=False)
        # reap it so the session-level check does not see it
        import time
        for _ in range(100):
            if not conftest._descendants_of_me():
                break
            time.sleep(0.02)
