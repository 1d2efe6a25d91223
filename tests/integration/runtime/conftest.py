"""Fixtures for berth-runtime's black-box tests: a busybox bundle whose
config.json comes from `berth-runtime spec`, a private state root, and a
helper that runs the real binary with it."""
import json
import os
import pathlib
import subprocess
import uuid

import pytest

from berthtest import binary, run


class Runtime:
    def __init__(self, root, bundle):
        self.bin = binary("berth-runtime")
        self.root = root
        self.bundle = bundle

    def __call__(self, *args, check=True, log=None, json_log=False, **kw):
        cmd = [self.bin, "--root", self.root]
        if log:
            cmd += ["--log", log]
            if json_log:
                cmd += ["--log-format", "json"]
        return run(cmd + [str(a) for a in args], check=check, **kw)

    def config(self):
        return json.loads((self.bundle / "config.json").read_text())

    def write_config(self, cfg):
        (self.bundle / "config.json").write_text(json.dumps(cfg, indent=1))

    def set_process(self, args, terminal=False, **extra):
        cfg = self.config()
        cfg["process"]["args"] = args
        cfg["process"]["terminal"] = terminal
        cfg["process"].update(extra)
        self.write_config(cfg)
        return cfg

    def state(self, cid):
        return json.loads(self("state", cid).stdout)

    def create_detached(self, cid, out_path, *extra):
        """create with the container's stdio on a file, so nothing of ours
        stays open in it (a pipe to us would hold subprocess.run)."""
        with open(out_path, "wb") as out:
            res = subprocess.run([str(self.bin), "--root", str(self.root), "create",
                                  "--bundle", str(self.bundle), *map(str, extra), cid],
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=out, timeout=60)
        return res


def reap_orphans():
    """pytest is the child subreaper: detached exec'd processes and created
    inits are re-parented to it when berth-runtime exits (containerd's shim
    plays this role in production). Reap the ones that exited, so a pid 1
    waiting for its namespace's zombies can finish exiting."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def unique_id(prefix="t"):
    return f"{prefix}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def rt(tmpdir_berth, busybox_rootfs):
    bundle = tmpdir_berth
    root = tmpdir_berth / "state"
    r = Runtime(root, bundle)
    run([r.bin, "spec", "--bundle", bundle])
    cfg = r.config()
    cfg["process"]["terminal"] = False
    r.write_config(cfg)
    yield r
    # Nothing may survive a test: every container is gone, and so is its state.
    reap_orphans()
    left = []
    if root.exists():
        for cid in os.listdir(root):
            left.append(cid)
            run([r.bin, "--root", root, "delete", "--force", cid], check=False)
    assert not left, f"containers left behind: {left}"
    mine = f"-{os.getpid()}-"
    stray = [str(p) for p in pathlib.Path("/sys/fs/cgroup").glob("*/berth/*") if mine in p.name]
    assert not stray, f"cgroups left behind: {stray}"


@pytest.fixture
def cid():
    return unique_id()


def cgroup_paths_of(pid):
    """Host paths of a process's cgroups, one per hierarchy."""
    paths = []
    for line in pathlib.Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        if ctrls == "":
            paths.append(f"/sys/fs/cgroup/unified{path}" if os.path.isdir("/sys/fs/cgroup/unified")
                         else f"/sys/fs/cgroup{path}")
        else:
            name = ctrls.split(",")[0].replace("name=", "")
            paths.append(f"/sys/fs/cgroup/{name}{path}")
    return paths
