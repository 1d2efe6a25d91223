"""More of config.json and the command line: the seccomp notify listener
socket (runc's protocol: state JSON + the listener fd over SCM_RIGHTS),
joining a user namespace by path (the intermediate process), and `run` in
the foreground with a terminal (berth-runtime holds the pty itself)."""
import fcntl
import json
import os
import pty
import select
import socket
import struct
import subprocess
import threading
import time

import pytest

from conftest import unique_id

SECCOMP_IOCTL_NOTIF_RECV = 0xC0502100
SECCOMP_IOCTL_NOTIF_SEND = 0xC0182101


class NotifyAgent:
    """A seccomp agent: receives the container's listener fd and answers
    every notified syscall with EPERM."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(1)
        self.state = None
        self.notified = []
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        conn, _ = self.sock.accept()
        with conn:
            msg, fds, _, _ = socket.recv_fds(conn, 65536, 1)
        self.state = json.loads(msg)
        fd = fds[0]
        try:
            while True:
                buf = bytearray(80)
                fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, buf)
                nid, pid, _flags, nr = struct.unpack_from("=QIIi", buf)
                self.notified.append(nr)
                resp = struct.pack("=QqiI", nid, 0, -1, 0)  # error -EPERM
                fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, bytearray(resp))
        except OSError:
            pass
        finally:
            os.close(fd)

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("in_file", [False, True], ids=["inline", "profile-file"])
def test_seccomp_notify_listener(rt, cid, in_file):
    """inline, or in the file org.berth.seccomp.profile names (read for the
    listener's path on a cache hit too: run twice)"""
    cfg = rt.set_process(["sh", "-c", "mkdir /tmp/x 2>&1 || echo denied; test -d /tmp/x && echo exists; true"])
    cfg["root"]["readonly"] = False
    profile = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": str(rt.bundle / "agent.sock"),
        "listenerMetadata": "meta-data",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}],
    }
    if in_file:
        (rt.bundle / "profile.json").write_text(json.dumps(profile, sort_keys=True, separators=(",", ":")))
        cfg["annotations"] = {"org.berth.seccomp.profile": str(rt.bundle / "profile.json")}
    else:
        cfg["linux"]["seccomp"] = profile
    rt.write_config(cfg)
    for i in range(2 if in_file else 1):
        if (rt.bundle / "agent.sock").exists():
            (rt.bundle / "agent.sock").unlink()
        agent = NotifyAgent(rt.bundle / "agent.sock")
        try:
            out = rt("run", "--bundle", rt.bundle, cid + str(i)).stdout
        finally:
            agent.close()
        assert "denied" in out and "exists" not in out, out
        assert agent.state["fds"] == ["seccompFd"] and agent.state["metadata"] == "meta-data"
        assert agent.state["state"]["id"] == cid + str(i) and agent.state["pid"] > 0
        assert agent.notified, "the agent saw no syscall"


def test_notify_without_listener_path_is_an_error(rt, cid):
    cfg = rt.config()
    cfg["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}
    rt.write_config(cfg)
    res = rt("run", "--bundle", rt.bundle, cid, check=False)
    assert res.returncode != 0 and "listenerPath" in res.stderr


def test_join_user_namespace_by_path(rt, cid):
    os.chmod(rt.bundle, 0o755)
    cfg = rt.set_process(["sleep", "1000"])
    cfg["linux"]["namespaces"].append({"type": "user"})
    cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]
    rt.write_config(cfg)
    rt("run", "-d", "--bundle", rt.bundle, cid, capture_output=False,
       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid = rt.state(cid)["pid"]
    other = unique_id("userjoin")
    cfg = rt.set_process(["sh", "-c", "id -u; cat /proc/self/uid_map; readlink /proc/self/ns/user; readlink /proc/self/ns/pid; echo $$"])
    for ns in cfg["linux"]["namespaces"]:
        if ns["type"] == "user":
            ns["path"] = f"/proc/{pid}/ns/user"
    del cfg["linux"]["uidMappings"], cfg["linux"]["gidMappings"]
    rt.write_config(cfg)
    lines = rt("run", "--bundle", rt.bundle, other).stdout.splitlines()
    assert lines[0] == "0"
    assert lines[1].split() == ["0", "200000", "65536"]
    assert lines[2] == os.readlink(f"/proc/{pid}/ns/user")
    # a new pid namespace of its own, owned by the joined user namespace
    assert lines[3] != os.readlink(f"/proc/{pid}/ns/pid") and lines[4] == "1"
    rt("delete", "--force", cid)


def test_run_foreground_with_a_terminal(rt, cid):
    rt.set_process(["sh", "-c", "tty; echo fg-tty-ok"], terminal=True)
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(rt.bin), "--root", str(rt.root), "run", "--bundle", str(rt.bundle), cid],
                            stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 20
    try:
        while b"fg-tty-ok" not in out and time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 1)
            if r:
                try:
                    out += os.read(master, 4096)
                except OSError:
                    break
        assert proc.wait(timeout=20) == 0
    finally:
        os.close(master)
    assert b"/dev/pts/0" in out and b"fg-tty-ok" in out, out


def test_time_namespace_with_offsets(rt, cid):
    if not os.path.exists("/proc/self/ns/time"):
        pytest.skip("no time namespaces in this kernel")
    cfg = rt.set_process(["cat", "/proc/uptime"])
    cfg["linux"]["namespaces"].append({"type": "time"})
    cfg["linux"]["timeOffsets"] = {"boottime": {"secs": 10 * 86400, "nanosecs": 0},
                                   "monotonic": {"secs": 86400, "nanosecs": 0}}
    rt.write_config(cfg)
    inside = float(rt("run", "--bundle", rt.bundle, cid).stdout.split()[0])
    outside = float(open("/proc/uptime").read().split()[0])
    assert 10 * 86400 - 60 < inside - outside < 10 * 86400 + 60


def test_exec_from_a_multithreaded_caller(rt, cid):
    """berthd calls runtime_container_exec from a process with threads."""
    from berthtest import BUILD
    probe = BUILD / "tests" / "unit" / "runtime" / "exec-threaded-probe"
    if not probe.exists():
        pytest.skip("exec-threaded-probe is not built")
    rt.set_process(["sleep", "1000"])
    rt("run", "-d", "--bundle", rt.bundle, cid, capture_output=False,
       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid = rt.state(cid)["pid"]
    for _ in range(5):
        res = subprocess.run([str(probe), str(rt.root), cid, "/bin/sh", "-c",
                              "readlink /proc/self/ns/pid; exit 6"], capture_output=True, text=True, timeout=30)
        assert res.returncode == 6, res.stderr
        assert res.stdout.strip() == os.readlink(f"/proc/{pid}/ns/pid")
    rt("delete", "--force", cid)


def test_exec_into_a_user_namespace(rt, cid):
    os.chmod(rt.bundle, 0o755)
    cfg = rt.set_process(["sleep", "1000"])
    cfg["linux"]["namespaces"].append({"type": "user"})
    cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 300000, "size": 65536}]
    cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 300000, "size": 65536}]
    rt.write_config(cfg)
    rt("run", "-d", "--bundle", rt.bundle, cid, capture_output=False,
       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid = rt.state(cid)["pid"]
    out = rt("exec", "--user", "1000:1000", cid, "sh", "-c",
             "id -u; readlink /proc/self/ns/user; cat /proc/self/uid_map").stdout.splitlines()
    assert out[0] == "1000"
    assert out[1] == os.readlink(f"/proc/{pid}/ns/user")
    assert out[2].split() == ["0", "300000", "65536"]
    rt("delete", "--force", cid)
