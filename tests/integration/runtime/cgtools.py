"""Helpers for the cgroup and seccomp black-box tests: the probe binaries
(tests/unit/runtime/cgroup-probe.c, seccomp-probe.c) that drive the
runtime's cgroup and seccomp code on the real kernel, unique cgroup names
per test run, and the check that a cgroup left nothing in any hierarchy."""
import itertools
import json
import os
import pathlib
import time

import pytest

from berthtest import BUILD, run

_counter = itertools.count()


def probe(name):
    path = BUILD / "tests" / "unit" / "runtime" / name
    if not path.exists():
        pytest.skip(f"{name} is not built at {path}")
    return path


def unique(prefix="berth-it"):
    """A cgroup name no other test run on this machine uses."""
    return f"{prefix}-{os.getpid()}-{next(_counter)}"


def hierarchies():
    """(mountpoint, fstype, super options) of every cgroup mount, as the
    kernel reports them — computed here independently of berth's parser."""
    found, seen = [], set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            fstype, _src, opts = right.split()[:3]
            if fstype not in ("cgroup", "cgroup2"):
                continue
            mp = left.split()[4].replace("\\040", " ")
            key = (fstype, opts)
            if key in seen:
                continue
            seen.add(key)
            found.append((mp, fstype, opts))
    return found


def v2_mount():
    for mp, fstype, _ in hierarchies():
        if fstype == "cgroup2":
            return mp
    return None


def v1_mount(controller):
    for mp, fstype, opts in hierarchies():
        if fstype == "cgroup" and controller in opts.split(","):
            return mp
    return None


def existing_dirs(rel):
    """Which hierarchies still have the cgroup directory rel ("/a/b")."""
    return [mp + rel for mp, _, _ in hierarchies() if os.path.exists(mp + rel)]


def wait_until(cond, timeout=10.0, what="condition"):
    """Poll a condition the kernel will reach (no fixed sleeps as sync)."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def reap(pid):
    """Wait for a process the probe spawned (pytest is its subreaper)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            got, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if got == pid:
            return status
        time.sleep(0.005)
    raise AssertionError(f"pid {pid} did not exit")


class Cgroup:
    def __init__(self, tmpdir, parent, name, state):
        self.tmpdir = tmpdir
        self.parent = parent
        self.path = f"/{parent}/{name}"
        self.state = state

    def probe(self, cmd, *args, check=True, **kw):
        return run([probe("cgroup-probe"), cmd, "--state", self.state, *args], check=check, **kw)

    def spawn(self, *cmd):
        pid = int(self.probe("spawn", "--", *cmd).stdout.strip())
        return pid

    def exec(self, *cmd):
        """Run cmd inside; returns (kind, number, stdout) e.g. ("exit", 0, ...)."""
        res = self.probe("exec", "--", *cmd, check=False)
        last = res.stdout.strip().splitlines()[-1] if res.stdout.strip() else ""
        kind, _, num = last.partition(" ")
        return kind, int(num or -1), res

    def pids(self):
        return [int(p) for p in self.probe("pids").stdout.split()]

    def stats(self):
        return json.loads(self.probe("stats").stdout)

    def state_json(self):
        return json.loads(pathlib.Path(self.state).read_text())


@pytest.fixture
def cgroup_factory(tmpdir_berth):
    """make(resources=None) → a Cgroup created through cgroup-probe under a
    parent unique to this test; every one is destroyed afterwards and
    checked to leave no directory in any hierarchy."""
    made = []

    def make(resources=None, name="ctr", check=True, extra=()):
        parent = unique()
        state = tmpdir_berth / f"{parent}.json"
        args = [probe("cgroup-probe"), "create", "--id", name, "--path", f"/{parent}/{name}",
                "--state", state, *extra]
        if resources is not None:
            res_file = tmpdir_berth / f"{parent}-resources.json"
            res_file.write_text(json.dumps(resources))
            args += ["--resources", res_file]
        res = run(args, check=check)
        cg = Cgroup(tmpdir_berth, parent, name, state)
        made.append(cg)
        cg.create_result = res
        return cg

    yield make
    for cg in made:
        if pathlib.Path(cg.state).exists():
            run([probe("cgroup-probe"), "destroy", "--state", cg.state])
        assert existing_dirs("/" + cg.parent) == [], f"{cg.parent} left behind"
