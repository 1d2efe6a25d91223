"""A container cgroup's life on the real kernel, through the runtime's
cgroup code (cgroup-probe): freeze/thaw (the v1 freezer here, and the v2
cgroup.freeze on the cgroup2 mount), kill_all, cgroup.kill, devices (v1
devices.deny and the v2 eBPF program), destroy with live tasks, default,
relative and systemd-style paths — and nothing left behind."""
import os
import pathlib
import time

import pytest

from berthtest import run
from cgtools import (cgroup_factory, existing_dirs, probe, reap, unique, v1_mount, v2_mount,  # noqa: F401
                     wait_until)

PY = "/usr/bin/python3"


def counter(tmpdir):
    """A process that bumps a number in a file every 5 ms."""
    f = tmpdir / f"count-{time.monotonic_ns()}"
    f.write_text("0")
    code = ("import time, sys\ni = 0\nwhile True:\n    i += 1\n"
            f"    open({str(f)!r}, 'w').write(str(i))\n    time.sleep(0.005)\n")
    return f, (PY, "-c", code)


def value(f):
    try:
        return int(f.read_text() or 0)
    except ValueError:
        return 0  # read during a rewrite


def assert_stands_still(f):
    """Frozen: the number does not move over a window of 300 ms (the
    process would bump it ~60 times)."""
    first = value(f)
    time.sleep(0.3)
    assert value(f) == first


def test_freeze_stops_and_thaw_resumes(cgroup_factory, tmpdir_berth):
    cg = cgroup_factory()
    f, cmd = counter(tmpdir_berth)
    pid = cg.spawn(*cmd)
    wait_until(lambda: value(f) > 3, what="the counter to run")
    cg.probe("freeze")
    assert cg.probe("is-frozen").stdout.strip() == "paused"
    if v1_mount("freezer"):
        assert pathlib.Path(v1_mount("freezer") + cg.path, "freezer.state").read_text().strip() == "FROZEN"
    assert_stands_still(f)
    cg.probe("thaw")
    assert cg.probe("is-frozen").stdout.strip() == "running"
    start = value(f)
    wait_until(lambda: value(f) > start + 3, what="the counter to resume")
    cg.probe("kill", "--signal", "9")
    assert os.WTERMSIG(reap(pid)) == 9


@pytest.mark.skipif(v2_mount() is None, reason="no cgroup2 mount")
def test_v2_freeze_on_the_cgroup2_mount(cgroup_factory, tmpdir_berth):
    """The v2 code path (cgroup.freeze + cgroup.events) on the real cgroup2
    hierarchy, even where the freezer controller is v1 (hybrid)."""
    cg = cgroup_factory()
    f, cmd = counter(tmpdir_berth)
    pid = cg.spawn(*cmd)
    wait_until(lambda: value(f) > 3, what="the counter to run")
    events = pathlib.Path(v2_mount() + cg.path, "cgroup.events")
    cg.probe("v2-freeze")
    assert "frozen 1" in events.read_text()
    assert_stands_still(f)
    cg.probe("v2-thaw")
    assert "frozen 0" in events.read_text()
    start = value(f)
    wait_until(lambda: value(f) > start + 3, what="the counter to resume")
    cg.probe("v2-kill")  # cgroup.kill
    assert os.WTERMSIG(reap(pid)) == 9


def test_kill_all_signals_every_task(cgroup_factory):
    cg = cgroup_factory()
    pid = cg.spawn("/bin/sh", "-c", "sleep 1000 & sleep 1000 & sleep 1000 & wait")
    wait_until(lambda: len(cg.pids()) == 4, what="4 tasks")
    cg.probe("kill", "--signal", "15")
    wait_until(lambda: cg.pids() == [], what="every task to exit")
    status = reap(pid)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == 15


def test_kill_all_sigkill_while_frozen(cgroup_factory):
    """SIGKILL freezes first (no fork can escape) and still kills a
    frozen cgroup completely."""
    cg = cgroup_factory()
    pid = cg.spawn("/bin/sh", "-c", "sleep 1000 & sleep 1000 & wait")
    wait_until(lambda: len(cg.pids()) == 3, what="3 tasks")
    cg.probe("freeze")
    cg.probe("kill", "--signal", "9")
    cg.probe("thaw")
    wait_until(lambda: cg.pids() == [], what="every task to die")
    assert os.WTERMSIG(reap(pid)) == 9


def test_destroy_kills_what_is_left_and_removes_every_dir(tmpdir_berth):
    parent = unique()
    state = tmpdir_berth / "state.json"
    run([probe("cgroup-probe"), "create", "--id", "d", "--path", f"/{parent}/d", "--state", state])
    assert len(existing_dirs(f"/{parent}/d")) >= 1
    pid = int(run([probe("cgroup-probe"), "spawn", "--state", state, "--", "/bin/sh", "-c",
                   "sleep 1000 & sleep 1000 & wait"]).stdout)
    # A nested cgroup the container made itself must go too.
    for d in existing_dirs(f"/{parent}/d"):
        os.mkdir(d + "/nested")
    run([probe("cgroup-probe"), "destroy", "--state", state])
    assert os.WTERMSIG(reap(pid)) == 9
    assert existing_dirs(f"/{parent}") == []
    # Destroying again is not an error (delete --force after a crash).
    run([probe("cgroup-probe"), "destroy", "--state", state])


def test_default_path_is_berth_id(tmpdir_berth):
    cid = unique("berthit")
    out = run([probe("cgroup-probe"), "run", "--id", cid, "--", "/bin/cat", "/proc/self/cgroup"]).stdout
    assert f":/berth/{cid}\n" in out
    assert existing_dirs(f"/berth/{cid}") == []


def test_relative_path_goes_below_our_own_cgroup(tmpdir_berth):
    parent = unique()
    out = run([probe("cgroup-probe"), "run", "--id", "r", "--path", f"{parent}/r", "--",
               "/bin/cat", "/proc/self/cgroup"]).stdout
    own = {}
    for line in pathlib.Path("/proc/self/cgroup").read_text().splitlines():
        hid, ctrls, path = line.split(":", 2)
        own[ctrls] = path
    seen = 0
    for line in out.splitlines():
        if line.startswith("{"):
            break
        hid, ctrls, path = line.split(":", 2)
        base = own[ctrls].rstrip("/")
        assert path == f"{base}/{parent}/r", (line, own[ctrls])
        # Gone, and so is the parent berth created below our own cgroup.
        assert existing_dirs(path) == [] and existing_dirs(f"{base}/{parent}") == []
        seen += 1
    assert seen == len(own)


def test_systemd_style_path_without_systemd(tmpdir_berth):
    """--systemd-cgroup with "slice:prefix:name": systemd does not run here,
    so the cgroup goes where systemd would put the scope, in cgroupfs, and
    the slices berth created are removed with it."""
    slice_name = unique("berthit").replace("-", "")
    out = run([probe("cgroup-probe"), "run", "--id", "s", "--systemd", "--path",
               f"{slice_name}.slice:berth:s1", "--", "/bin/cat", "/proc/self/cgroup"]).stdout
    assert f":/{slice_name}.slice/berth-s1.scope\n" in out
    assert existing_dirs(f"/{slice_name}.slice") == []
    res = run([probe("cgroup-probe"), "create", "--id", "s", "--systemd", "--path", "/not/a/slice",
               "--state", tmpdir_berth / "s.json"], check=False)
    assert res.returncode != 0
    assert "linux.cgroupsPath" in res.stderr and "slice:prefix:name" in res.stderr


def test_existing_busy_leaf_is_refused(cgroup_factory, tmpdir_berth):
    cg = cgroup_factory()
    pid = cg.spawn("/bin/sleep", "1000")
    dirs = existing_dirs(cg.path)
    for d in dirs:  # a nested cgroup of the running container
        os.mkdir(d + "/nested")
    res = run([probe("cgroup-probe"), "create", "--id", "again", "--path", cg.path,
               "--state", tmpdir_berth / "again.json"], check=False)
    assert res.returncode != 0
    assert "exists and has processes" in res.stderr
    # The failed create touched nothing of the running container.
    assert existing_dirs(cg.path) == dirs
    assert existing_dirs(cg.path + "/nested") == [d + "/nested" for d in dirs]
    assert cg.pids() == [pid]
    cg.probe("kill", "--signal", "9")
    assert os.WTERMSIG(reap(pid)) == 9


NULL_OPEN = """
import errno
for dev in ("/dev/null", "/dev/zero"):
    try:
        open(dev, "rb").close()
        print(dev, "ok")
    except OSError as e:
        print(dev, errno.errorcode[e.errno])
"""


@pytest.mark.skipif(v1_mount("devices") is None, reason="no v1 devices controller")
def test_v1_devices_deny_blocks_dev_null(cgroup_factory):
    cg = cgroup_factory({"devices": [
        {"allow": False, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]})
    kind, num, res = cg.exec(PY, "-c", NULL_OPEN)
    assert "/dev/null EPERM" in res.stdout and "/dev/zero ok" in res.stdout, res.stdout
    assert "c 1:3" not in pathlib.Path(v1_mount("devices") + cg.path, "devices.list").read_text()


@pytest.mark.skipif(v2_mount() is None, reason="no cgroup2 mount")
def test_v2_devices_bpf_program_blocks_dev_null(cgroup_factory, tmpdir_berth):
    """The eBPF device filter (the v2 code path), attached on the real
    cgroup2 hierarchy: the kernel enforces it for tasks in that cgroup."""
    import json
    cg = cgroup_factory()
    rules = tmpdir_berth / "rules.json"
    # Deny everything, then allow /dev/zero read-only: last match wins.
    rules.write_text(json.dumps({"devices": [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "r"}]}))
    cg.probe("v2-devices", "--resources", rules)
    kind, num, res = cg.exec(PY, "-c", NULL_OPEN)
    assert "/dev/null EPERM" in res.stdout and "/dev/zero ok" in res.stdout, res.stdout
    # Replacing the program (an update) takes effect: now allow all.
    rules.write_text(json.dumps({"devices": [{"allow": True, "access": "rwm"}]}))
    cg.probe("v2-devices", "--resources", rules)
    kind, num, res = cg.exec(PY, "-c", NULL_OPEN)
    assert "/dev/null ok" in res.stdout, res.stdout
