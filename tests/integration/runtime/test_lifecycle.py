"""berth-runtime's runc command line on a busybox bundle: run, create,
start, state, kill, delete, exec, ps, pause, resume, update, list, and
cleanup after each (no state dir, cgroup or process left)."""
import json
import os
import pathlib
import signal
import subprocess
import time

import pytest

from conftest import cgroup_paths_of, unique_id


def wait_status(rt, cid, want, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        st = rt.state(cid)
        if st["status"] == want:
            return st
        assert time.monotonic() < deadline, f"{cid} stayed {st['status']}, wanted {want}"
        time.sleep(0.02)


def test_run_prints_and_returns_exit_code(rt, cid):
    rt.set_process(["sh", "-c", "echo hello from $(hostname); exit 7"])
    res = rt("run", "--bundle", rt.bundle, cid, check=False)
    assert res.returncode == 7, res.stderr
    assert res.stdout.strip() == "hello from berth"
    # run without --detach deletes the container when it exits.
    assert not (rt.root / cid).exists()


def test_run_is_pid_1_in_new_namespaces(rt, cid):
    rt.set_process(["sh", "-c", "echo $$; for n in pid mnt net ipc uts; do readlink /proc/1/ns/$n; done"])
    res = rt("run", "--bundle", rt.bundle, cid)
    pid1, *ns = res.stdout.split()
    assert pid1 == "1"
    for link in ns:
        kind = link.split(":")[0]
        assert link != os.readlink(f"/proc/self/ns/{kind}"), f"{kind} namespace is the host's"


def test_create_start_state_kill_delete(rt, cid):
    rt.set_process(["sleep", "1000"])
    pidfile = rt.bundle / "init.pid"
    res = rt.create_detached(cid, rt.bundle / "out.log", "--pid-file", pidfile)
    assert res.returncode == 0, (rt.bundle / "out.log").read_text()
    st = rt.state(cid)
    assert st["status"] == "created"
    assert st["id"] == cid and st["bundle"] == str(rt.bundle) and st["ociVersion"].startswith("1.")
    pid = st["pid"]
    assert int(pidfile.read_text()) == pid
    # created: the init waits before exec, still the runtime's image
    assert os.readlink(f"/proc/{pid}/exe") != "/bin/busybox"
    cgroups = cgroup_paths_of(pid)
    assert any(cid in p for p in cgroups), cgroups

    rt("start", cid)
    st = wait_status(rt, cid, "running")
    assert st["pid"] == pid
    # starting twice is an error that says why
    again = rt("start", cid, check=False)
    assert again.returncode != 0 and "not created" in again.stderr

    listed = json.loads(rt("list", "--format", "json").stdout)
    assert [c["id"] for c in listed] == [cid]

    rt("kill", cid, "KILL")
    wait_status(rt, cid, "stopped")
    rt("delete", cid)
    assert not (rt.root / cid).exists()
    for p in cgroups:
        if cid in p:
            assert not os.path.exists(p), f"cgroup {p} left behind"
    gone = rt("state", cid, check=False)
    assert gone.returncode != 0 and "does not exist" in gone.stderr


def test_delete_running_needs_force(rt, cid):
    rt.set_process(["sleep", "1000"])
    rt("run", "--detach", "--bundle", rt.bundle, cid, stdout=open(os.devnull, "w"),
       stderr=open(os.devnull, "w"), capture_output=False)
    pid = rt.state(cid)["pid"]
    res = rt("delete", cid, check=False)
    assert res.returncode != 0 and "running" in res.stderr
    rt("delete", "--force", cid)
    assert not (rt.root / cid).exists()
    assert not os.path.exists(f"/proc/{pid}") or \
        pathlib.Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


def test_exec_ps_pause_resume_update(rt, cid):
    rt.set_process(["sleep", "1000"], env=["PATH=/bin:/usr/bin", "FROM_CONFIG=1"])
    rt("run", "--detach", "--bundle", rt.bundle, cid, stdout=open(os.devnull, "w"),
       stderr=open(os.devnull, "w"), capture_output=False)
    init = rt.state(cid)["pid"]

    res = rt("exec", "--cwd", "/tmp", "--env", "EXTRA=2", "--user", "1000:1000", cid,
             "sh", "-c", "pwd; id -u; id -g; echo $FROM_CONFIG$EXTRA; readlink /proc/self/ns/pid; echo $$")
    cwd, uid, gid, env, pidns, mypid = res.stdout.split()
    assert (cwd, uid, gid, env) == ("/tmp", "1000", "1000", "12")
    assert pidns == os.readlink(f"/proc/{init}/ns/pid")
    assert mypid != "1"

    res = rt("exec", "--process", _process_file(rt, ["sh", "-c", "exit 5"]), cid, check=False)
    assert res.returncode == 5

    missing = rt("exec", cid, "no-such-binary", check=False)
    assert missing.returncode != 0 and "executable file not found" in missing.stderr

    pids = json.loads(rt("ps", "--format", "json", cid).stdout)
    assert pids == [init]

    rt("pause", cid)
    assert rt.state(cid)["status"] == "paused"
    assert pathlib.Path(f"/proc/{init}/stat").read_text().split()[2] in ("D", "S", "T")
    rt("resume", cid)
    assert rt.state(cid)["status"] == "running"

    rt("update", "--pids-limit", "42", cid)
    pids_max = [p for p in cgroup_paths_of(init) if "/pids/" in p or p.endswith("/pids")]
    if pids_max:
        assert pathlib.Path(pids_max[0], "pids.max").read_text().strip() == "42"
    res_file = rt.bundle / "res.json"
    res_file.write_text(json.dumps({"pids": {"limit": 77}}))
    rt("update", "--resources", res_file, cid)
    if pids_max:
        assert pathlib.Path(pids_max[0], "pids.max").read_text().strip() == "77"

    rt("kill", cid, "KILL")
    wait_status(rt, cid, "stopped")
    rt("delete", cid)


def _process_file(rt, args):
    p = rt.bundle / f"process-{len(args)}.json"
    p.write_text(json.dumps({"args": args, "cwd": "/", "env": ["PATH=/bin"],
                             "user": {"uid": 0, "gid": 0}}))
    return p


def test_kill_all_and_signal_names(rt, cid):
    rt.set_process(["sh", "-c", "sleep 1000 & sleep 1000 & wait"])
    rt("run", "--detach", "--bundle", rt.bundle, cid, stdout=open(os.devnull, "w"),
       stderr=open(os.devnull, "w"), capture_output=False)
    deadline = time.monotonic() + 5
    while len(json.loads(rt("ps", "--format", "json", cid).stdout)) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    bad = rt("kill", cid, "NOPE", check=False)
    assert bad.returncode != 0 and "NOPE" in bad.stderr
    rt("kill", "--all", cid, "SIGKILL")
    wait_status(rt, cid, "stopped")
    rt("delete", cid)


def test_features_and_spec(rt):
    f = json.loads(rt("features").stdout)
    assert "createRuntime" in f["hooks"] and "user" in f["linux"]["namespaces"]
    spec = rt.config()
    assert spec["root"]["path"] == "rootfs" and "CAP_KILL" in spec["process"]["capabilities"]["bounding"]
    again = rt("spec", "--bundle", rt.bundle, check=False)
    assert again.returncode != 0 and "exists" in again.stderr


def test_unique_ids_conflict(rt, cid):
    rt.set_process(["sleep", "1000"])
    rt("run", "--detach", "--bundle", rt.bundle, cid, stdout=open(os.devnull, "w"),
       stderr=open(os.devnull, "w"), capture_output=False)
    dup = rt("run", "--detach", "--bundle", rt.bundle, cid, check=False)
    assert dup.returncode != 0 and "already exists" in dup.stderr
    rt("delete", "--force", cid)
    bad = rt("run", "--bundle", rt.bundle, "../escape", check=False)
    assert bad.returncode != 0 and "container id" in bad.stderr


def test_run_forwards_signals_to_the_container(rt, cid):
    rt.set_process(["sh", "-c", "trap 'exit 42' TERM; echo ready; while :; do sleep 0.05; done"])
    proc = subprocess.Popen([str(rt.bin), "--root", str(rt.root), "run", "--bundle", str(rt.bundle), cid],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 42
    assert not (rt.root / cid).exists()


def test_start_of_a_killed_init_is_an_error(rt, cid):
    rt.set_process(["true"])
    assert rt.create_detached(cid, rt.bundle / "out.log").returncode == 0
    rt("kill", cid, "KILL")
    res = rt("start", cid, check=False)
    assert res.returncode != 0, res.stdout
    assert "not created" in res.stderr or "exited before starting" in res.stderr, res.stderr
    rt("delete", cid)
    assert not (rt.root / cid).exists()
