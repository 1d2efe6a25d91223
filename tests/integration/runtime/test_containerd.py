"""berth-runtime as containerd's runtime: a private containerd (its own
socket, root and state on temp paths) runs containers through the stock
io.containerd.runc.v2 shim with BinaryName (ctr --runc-binary) pointing at
berth-runtime: create/start/state/kill/delete/exec as the shim calls them."""
import os
import pathlib
import shutil
import signal
import subprocess
import time

import pytest

from berthtest import binary, run
from conftest import reap_orphans, unique_id


@pytest.fixture
def containerd(tmpdir_berth):
    if shutil.which("containerd") is None or shutil.which("ctr") is None:
        pytest.skip("containerd is not installed")
    base = tmpdir_berth / "containerd"
    base.mkdir()
    sock = base / "c.sock"
    cfg = base / "config.toml"
    cfg.write_text(f"""version = 2
root = "{base}/root"
state = "{base}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
""")
    log = open(base / "containerd.log", "w")
    proc = subprocess.Popen(["containerd", "-c", str(cfg)], stdout=log, stderr=log)
    deadline = time.monotonic() + 20
    while run(["ctr", "-a", sock, "version"], check=False).returncode != 0:
        assert proc.poll() is None, (base / "containerd.log").read_text()
        assert time.monotonic() < deadline, "containerd did not come up"
        time.sleep(0.1)
    ns = unique_id("berth")
    yield sock, ns
    # tasks and shims first, then containerd itself
    for c in run(["ctr", "-a", sock, "-n", ns, "containers", "ls", "-q"], check=False).stdout.split():
        run(["ctr", "-a", sock, "-n", ns, "task", "kill", "-s", "KILL", c], check=False)
        run(["ctr", "-a", sock, "-n", ns, "task", "delete", "-f", c], check=False)
        run(["ctr", "-a", sock, "-n", ns, "containers", "delete", c], check=False)
    run(["ctr", "-a", sock, "namespaces", "remove", ns], check=False)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    log.close()
    shutil.rmtree(f"/run/containerd/runc/{ns}", ignore_errors=True)
    reap_orphans()


def ctr(sock, ns, *args, **kw):
    return run(["ctr", "-a", sock, "-n", ns, *args], **kw)


def test_ctr_run_with_berth_runtime(containerd, busybox_rootfs):
    sock, ns = containerd
    rt = binary("berth-runtime")
    cid = unique_id("ctr")
    res = ctr(sock, ns, "run", "--rm", "--runc-binary", rt, "--rootfs", busybox_rootfs, cid,
              "/bin/sh", "-c", "echo hello from containerd; echo $$; exit 3", check=False)
    assert res.returncode == 3, res.stderr
    assert res.stdout.split() == ["hello", "from", "containerd", "1"]
    # the shim deleted it through berth-runtime: no state left
    assert not pathlib.Path(f"/run/containerd/runc/{ns}/{cid}").exists()


def test_ctr_detached_task_exec_kill(containerd, busybox_rootfs):
    sock, ns = containerd
    rt = binary("berth-runtime")
    cid = unique_id("ctrd")
    ctr(sock, ns, "run", "-d", "--runc-binary", rt, "--rootfs", busybox_rootfs, cid,
        "/bin/sleep", "1000")
    state = pathlib.Path(f"/run/containerd/runc/{ns}/{cid}/state.json")
    assert state.exists()
    res = ctr(sock, ns, "task", "exec", "--exec-id", "e1", cid, "/bin/sh", "-c", "echo in-exec; exit 4",
              check=False)
    assert res.returncode == 4 and "in-exec" in res.stdout, res.stderr
    ps = ctr(sock, ns, "task", "ps", cid).stdout
    assert len(ps.strip().splitlines()) == 2  # header + the init
    ctr(sock, ns, "task", "pause", cid)
    assert "PAUSED" in ctr(sock, ns, "task", "ls").stdout
    ctr(sock, ns, "task", "resume", cid)
    ctr(sock, ns, "task", "kill", "-s", "KILL", cid)
    deadline = time.monotonic() + 10
    while "STOPPED" not in ctr(sock, ns, "task", "ls").stdout:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    ctr(sock, ns, "task", "delete", cid)
    ctr(sock, ns, "containers", "delete", cid)
    assert not state.exists()
