"""config.json features end to end: terminal over a console socket, user
namespaces, each mount type, masked and read-only paths, read-only root,
rlimits (and the error when one is above the caller's hard limit), hooks,
sysctl, namespaces joined by path, and JSON error lines in --log."""
import array
import json
import os
import pathlib
import socket
import subprocess
import threading
import time

import pytest

import fcntl
import select

from conftest import reap_orphans, unique_id

TIOCGPTPEER = 0x5441


# ------------------------------------------------------------------ tty --

class ConsoleReceiver:
    """The caller's end of runc's console-socket protocol: accept one
    connection and receive the pty master over SCM_RIGHTS."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(1)
        self.master = None
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        conn, _ = self.sock.accept()
        with conn:
            _, fds, _, _ = socket.recv_fds(conn, 256, 1)
            self.master = fds[0]
            # Hold a slave too: the master then never reads EIO (which can
            # drop output still queued) when the container's side closes.
            self.slave = fcntl.ioctl(self.master, TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY)

    slave = None

    def read_until(self, marker, timeout=10):
        self.thread.join(timeout)
        assert self.master is not None, "no pty master received"
        out = ""
        deadline = time.monotonic() + timeout
        while marker not in out:
            left = deadline - time.monotonic()
            assert left > 0, f"{marker!r} never came on the terminal, got {out!r}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                out += os.read(self.master, 4096).decode(errors="replace")
        return out

    def close(self):
        for fd in (self.master, self.slave):
            if fd is not None:
                os.close(fd)
        self.sock.close()


def test_terminal_through_console_socket(rt, cid):
    rt.set_process(["sh", "-c", "tty; stty size; echo tty-ok"], terminal=True,
                   consoleSize={"height": 30, "width": 100})
    rx = ConsoleReceiver(rt.bundle / "console.sock")
    try:
        res = rt.create_detached(cid, rt.bundle / "out.log", "--console-socket",
                                 rt.bundle / "console.sock")
        assert res.returncode == 0, (rt.bundle / "out.log").read_text()
        rt("start", cid)
        out = rx.read_until("tty-ok")
    finally:
        rx.close()
    assert "/dev/pts/0" in out and "30 100" in out and "tty-ok" in out, out
    rt("delete", "--force", cid)


def test_terminal_without_console_socket_is_an_error(rt, cid):
    rt.set_process(["true"], terminal=True)
    res = rt("create", "--bundle", rt.bundle, cid, check=False)
    assert res.returncode != 0 and "console" in res.stderr
    assert not (rt.root / cid).exists()


def test_exec_with_tty(rt, cid):
    rt.set_process(["sleep", "1000"])
    rt("run", "-d", "--bundle", rt.bundle, cid, capture_output=False,
       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rx = ConsoleReceiver(rt.bundle / "exec.sock")
    try:
        rt("exec", "--tty", "--detach", "--console-socket", rt.bundle / "exec.sock", cid,
           "sh", "-c", "tty; echo exec-tty-ok")
        out = rx.read_until("exec-tty-ok")
    finally:
        rx.close()
    assert "/dev/pts/" in out, out
    reap_orphans()
    rt("delete", "--force", cid)


# --------------------------------------------------------- user namespace --

def test_user_namespace_with_mappings(rt, cid):
    cfg = rt.set_process(["sh", "-c", "id -u; cat /proc/self/uid_map /proc/self/gid_map; touch /tmp/x && stat -c %u /tmp/x"])
    cfg["linux"]["namespaces"].append({"type": "user"})
    cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    cfg["root"]["readonly"] = False
    rt.write_config(cfg)
    # the container's root can only reach and write where host uid 100000 may
    os.chmod(rt.bundle, 0o755)
    os.chown(rt.bundle / "rootfs" / "tmp", 100000, 100000)
    res = rt("run", "--bundle", rt.bundle, cid)
    lines = res.stdout.split("\n")
    assert lines[0] == "0"
    assert lines[1].split() == ["0", "100000", "65536"]
    assert lines[2].split() == ["0", "100000", "65536"]
    assert lines[3] == "0"
    assert (rt.bundle / "rootfs" / "tmp" / "x").stat().st_uid == 100000


def test_user_namespace_needs_mappings(rt, cid):
    cfg = rt.config()
    cfg["linux"]["namespaces"].append({"type": "user"})
    rt.write_config(cfg)
    res = rt("run", "--bundle", rt.bundle, cid, check=False)
    assert res.returncode != 0 and "uidMappings" in res.stderr


# ------------------------------------------------------------------ mounts --

def test_each_mount_type(rt, cid):
    host_dir = rt.bundle / "hostdir"
    (host_dir / "sub").mkdir(parents=True)
    (host_dir / "file").write_text("from host\n")
    sub_src = rt.bundle / "submnt"
    sub_src.mkdir()
    (sub_src / "inner").write_text("inner\n")
    cfg = rt.set_process(["sh", "-c", "; ".join([
        "cat /bind/file",
        "cat /rbind/sub/inner",
        "echo x > /ro/new 2>/dev/null && echo ro-writable || echo ro-ok",
        "echo x > /rro/sub/new 2>/dev/null && echo rro-writable || echo rro-ok",
        "grep ' /scratch ' /proc/self/mountinfo | grep -q 'size=1024k' && echo tmpfs-ok",
        "grep -q ' /dev/mqueue ' /proc/self/mountinfo && echo mqueue-ok",
        "grep ' /sys ' /proc/self/mountinfo | grep -q ' ro,' && echo sysfs-ro-ok",
        "cat /file-bind",
    ])])
    # a bind of a sub-mount: rbind carries it, bind would not
    subprocess.run(["mount", "--bind", sub_src, host_dir / "sub"], check=True)
    try:
        cfg["root"]["readonly"] = False
        cfg["mounts"] += [
            {"destination": "/bind", "type": "bind", "source": str(host_dir), "options": ["bind"]},
            {"destination": "/rbind", "type": "bind", "source": str(host_dir), "options": ["rbind"]},
            {"destination": "/ro", "type": "bind", "source": str(host_dir), "options": ["bind", "ro"]},
            {"destination": "/rro", "type": "bind", "source": str(host_dir), "options": ["rbind", "rro"]},
            {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1024k", "nosuid"]},
            {"destination": "/file-bind", "type": "bind", "source": str(host_dir / "file"), "options": ["bind", "ro"]},
        ]
        rt.write_config(cfg)
        out = rt("run", "--bundle", rt.bundle, cid).stdout.split("\n")
    finally:
        subprocess.run(["umount", host_dir / "sub"], check=True)
    assert out[:8] == ["from host", "inner", "ro-ok", "rro-ok", "tmpfs-ok", "mqueue-ok",
                       "sysfs-ro-ok", "from host"], out
    assert not (host_dir / "new").exists()


def test_bad_mount_options_are_named(rt, cid):
    cfg = rt.config()
    cfg["mounts"].append({"destination": "/x", "type": "tmpfs", "source": "tmpfs", "options": ["size=banana"]})
    rt.write_config(cfg)
    res = rt("run", "--bundle", rt.bundle, cid, check=False)
    assert res.returncode != 0
    assert "mounts[" in res.stderr and "/x" in res.stderr and "size" in res.stderr
    assert not (rt.root / cid).exists()


def test_masked_and_readonly_paths_and_readonly_root(rt, cid):
    rt.set_process(["sh", "-c", "; ".join([
        "wc -c < /proc/timer_list",
        "ls /proc/acpi | wc -l",
        "grep -c ' /proc/acpi ' /proc/self/mountinfo",
        "echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo sys-writable || echo sys-ro",
        "touch /newfile 2>/dev/null && echo root-writable || echo root-ro",
        "touch /dev/shm/ok && echo shm-ok",
    ])])
    out = rt("run", "--bundle", rt.bundle, cid).stdout.split()
    assert out == ["0", "0", "1", "sys-ro", "root-ro", "shm-ok"], out
    assert not (rt.bundle / "rootfs" / "newfile").exists()


def test_no_pivot(rt, cid):
    rt.set_process(["sh", "-c", "ls /; cat /proc/self/mountinfo | wc -l"])
    res = rt("run", "--no-pivot", "--bundle", rt.bundle, cid)
    assert "bin" in res.stdout.split() and "state" not in res.stdout.split()


# ----------------------------------------------------------------- rlimits --

def test_rlimits_applied(rt, cid):
    cfg = rt.set_process(["sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c"])
    cfg["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 600},
                                 {"type": "RLIMIT_CORE", "soft": 0, "hard": 0}]
    rt.write_config(cfg)
    assert rt("run", "--bundle", rt.bundle, cid).stdout.split() == ["512", "600", "0"]


def test_rlimit_above_hard_limit_is_an_error_naming_it(rt, cid):
    import resource
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    cfg = rt.config()
    cfg["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": hard + 1}]
    rt.write_config(cfg)
    res = rt("run", "--bundle", rt.bundle, cid, check=False)
    assert res.returncode != 0
    assert "RLIMIT_NOFILE" in res.stderr and str(hard + 1) in res.stderr
    assert not (rt.root / cid).exists()


def test_unknown_rlimit_is_named(rt, cid):
    cfg = rt.config()
    cfg["process"]["rlimits"] = [{"type": "RLIMIT_BANANA", "soft": 1, "hard": 1}]
    rt.write_config(cfg)
    res = rt("run", "--bundle", rt.bundle, cid, check=False)
    assert res.returncode != 0 and "process.rlimits[0].type" in res.stderr and "RLIMIT_BANANA" in res.stderr


# ------------------------------------------------------------------- hooks --

def test_all_hooks_with_state_on_stdin(rt, cid):
    out = rt.bundle / "hooks.log"
    def hook(kind):
        return {"path": "/bin/sh", "args": ["sh", "-c", f"read s; echo {kind} \"$s\" >> {out}"]}
    cfg = rt.set_process(["true"])
    cfg["hooks"] = {k: [hook(k)] for k in ("prestart", "createRuntime", "poststart", "poststop")}
    # createContainer and startContainer run inside the container's mount
    # namespace (the latter after pivot_root): they write into the rootfs.
    cfg["hooks"]["createContainer"] = [{"path": "/bin/sh", "args": ["sh", "-c", f"read s; echo createContainer \"$s\" >> {out}"]}]
    cfg["hooks"]["startContainer"] = [{"path": "/bin/sh", "args": ["sh", "-c", "read s; echo startContainer > /tmp/started"]}]
    cfg["root"]["readonly"] = False
    rt.write_config(cfg)
    rt("run", "--bundle", rt.bundle, cid)
    lines = out.read_text().splitlines()
    kinds = [l.split(" ", 1)[0] for l in lines]
    assert kinds == ["prestart", "createRuntime", "createContainer", "poststart", "poststop"], lines
    for l in lines:
        state = json.loads(l.split(" ", 1)[1])
        assert state["id"] == cid and state["bundle"] == str(rt.bundle)
        if not l.startswith("poststop"):
            assert state["pid"] > 0
    assert (rt.bundle / "rootfs" / "tmp" / "started").read_text().strip() == "startContainer"


def test_failing_and_timed_out_hooks(rt, cid):
    cfg = rt.config()
    cfg["hooks"] = {"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "echo nope >&2; exit 3"]}]}
    rt.write_config(cfg)
    res = rt("run", "--bundle", rt.bundle, cid, check=False)
    assert res.returncode != 0 and "prestart[0]" in res.stderr and "status 3" in res.stderr and "nope" in res.stderr
    assert not (rt.root / cid).exists()
    cfg["hooks"] = {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}
    rt.write_config(cfg)
    start = time.monotonic()
    res = rt("run", "--bundle", rt.bundle, cid, check=False)
    assert res.returncode != 0 and "timed out after 1 s" in res.stderr
    assert time.monotonic() - start < 10
    assert not (rt.root / cid).exists()


# ------------------------------------------------- sysctl, hostname, join --

def test_sysctl_hostname_domainname(rt, cid):
    cfg = rt.set_process(["sh", "-c", "cat /proc/sys/net/ipv4/ip_forward; hostname; cat /proc/sys/kernel/domainname"])
    cfg["hostname"] = "boat"
    cfg["domainname"] = "harbour"
    cfg["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    rt.write_config(cfg)
    assert rt("run", "--bundle", rt.bundle, cid).stdout.split() == ["1", "boat", "harbour"]
    cfg["linux"]["sysctl"] = {"kernel.panic": "1"}
    rt.write_config(cfg)
    res = rt("run", "--bundle", rt.bundle, cid, check=False)
    assert res.returncode != 0 and "linux.sysctl.kernel.panic" in res.stderr


def test_join_namespace_by_path(rt, cid):
    rt.set_process(["sleep", "1000"])
    rt("run", "-d", "--bundle", rt.bundle, cid, capture_output=False,
       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid = rt.state(cid)["pid"]
    other = unique_id("join")
    cfg = rt.set_process(["sh", "-c", "readlink /proc/self/ns/net; readlink /proc/self/ns/uts; readlink /proc/self/ns/pid"])
    for ns in cfg["linux"]["namespaces"]:
        if ns["type"] in ("network", "uts", "pid"):
            ns["path"] = f"/proc/{pid}/ns/{ {'network': 'net'}.get(ns['type'], ns['type']) }"
    rt.write_config(cfg)
    out = rt("run", "--bundle", rt.bundle, other).stdout.split()
    assert out == [os.readlink(f"/proc/{pid}/ns/net"), os.readlink(f"/proc/{pid}/ns/uts"),
                   os.readlink(f"/proc/{pid}/ns/pid")]
    rt("delete", "--force", cid)


# -------------------------------------------------------------- JSON log --

def test_errors_are_json_lines_in_log(rt, cid):
    cfg = rt.config()
    cfg["process"]["args"] = ["/no/such/program"]
    rt.write_config(cfg)
    log = rt.bundle / "runtime.log"
    res = rt("create", "--bundle", rt.bundle, cid, log=log, json_log=True, check=False)
    assert res.returncode != 0
    lines = [json.loads(l) for l in log.read_text().splitlines()]
    assert lines and lines[-1]["level"] == "error"
    assert "/no/such/program" in lines[-1]["msg"] and "create container" in lines[-1]["msg"]
    assert not (rt.root / cid).exists()
    bad = rt.bundle / "bad.json"
    (rt.bundle / "config.json").write_text('{"ociVersion": "1.0.2", "process": ')
    res = rt("create", "--bundle", rt.bundle, cid, log=log, json_log=True, check=False)
    last = json.loads(log.read_text().splitlines()[-1])
    assert res.returncode != 0 and "config.json" in last["msg"]


def test_home_from_passwd_when_unset(rt, cid):
    rt.set_process(["sh", "-c", "echo $HOME"], env=["PATH=/bin"])
    assert rt("run", "--bundle", rt.bundle, cid).stdout.strip() == "/root"
    rt.set_process(["sh", "-c", "echo $HOME"], env=["PATH=/bin", "HOME=/elsewhere"])
    assert rt("run", "--bundle", rt.bundle, unique_id()).stdout.strip() == "/elsewhere"
    rt.set_process(["sh", "-c", "echo $HOME"], env=["PATH=/bin"], user={"uid": 4242, "gid": 4242})
    assert rt("run", "--bundle", rt.bundle, unique_id()).stdout.strip() == "/"


def test_user_groups_umask_caps_and_no_new_privileges(rt, cid):
    caps = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
    rt.set_process(["sh", "-c", "id -u; id -g; id -G; umask; grep -E 'NoNewPrivs|CapEff|CapBnd|CapAmb' /proc/self/status"],
                   user={"uid": 1000, "gid": 1001, "additionalGids": [5, 6], "umask": 63},
                   noNewPrivileges=True,
                   capabilities={"bounding": caps, "effective": caps, "permitted": caps,
                                 "inheritable": caps, "ambient": caps})
    out = rt("run", "--bundle", rt.bundle, cid).stdout.split("\n")
    assert out[0] == "1000" and out[1] == "1001"
    assert sorted(out[2].split()) == ["1001", "5", "6"]
    assert out[3] == "0077"
    status = dict(l.split(":\t") for l in out[4:] if l)
    want = (1 << 5) | (1 << 10)  # CAP_KILL, CAP_NET_BIND_SERVICE
    assert int(status["CapEff"], 16) == want and int(status["CapBnd"], 16) == want
    assert int(status["CapAmb"], 16) == want
    assert status["NoNewPrivs"].strip() == "1"


def test_personality_and_io_priority(rt, cid):
    cfg = rt.set_process(["sh", "-c", "uname -m; ionice -p $$"],
                         ioPriority={"class": "IOPRIO_CLASS_BE", "priority": 6})
    cfg["linux"]["personality"] = {"domain": "LINUX32"}
    rt.write_config(cfg)
    out = rt("run", "--bundle", rt.bundle, cid).stdout.split("\n")
    assert out[0] in ("i686", "i386", "armv8l", "armv7l"), out
    assert "prio 6" in out[1] and "best-effort" in out[1], out
    cfg["linux"]["personality"] = {"domain": "WINDOWS"}
    rt.write_config(cfg)
    res = rt("run", "--bundle", rt.bundle, unique_id(), check=False)
    assert res.returncode != 0 and "linux.personality.domain" in res.stderr


@pytest.mark.parametrize("prop,tag", [("rshared", "shared:"), ("rslave", None), ("rprivate", None),
                                      ("runbindable", "unbindable")])
def test_rootfs_propagation(rt, cid, prop, tag):
    cfg = rt.set_process(["sh", "-c", "awk '$5 == \"/\"' /proc/self/mountinfo"])
    cfg["linux"]["rootfsPropagation"] = prop
    rt.write_config(cfg)
    line = rt("run", "--bundle", rt.bundle, cid).stdout.strip()
    assert line, "no / in the container's mountinfo"
    optional = line.split(" - ")[0].split()[6:]
    if tag:
        assert any(o.startswith(tag) for o in optional), line
    else:
        assert not any(o.startswith(("shared:", "unbindable")) for o in optional), line


def test_failing_poststart_and_poststop_hooks_are_warnings(rt, cid):
    """OCI: a failing poststart or poststop hook is logged as a warning; the
    remaining hooks run and the lifecycle goes on."""
    out = rt.bundle / "post.log"
    cfg = rt.set_process(["sh", "-c", "echo ran"])
    fail = {"path": "/bin/sh", "args": ["sh", "-c", "exit 9"]}
    note = lambda k: {"path": "/bin/sh", "args": ["sh", "-c", f"echo {k} >> {out}"]}
    cfg["hooks"] = {"poststart": [fail, note("poststart")], "poststop": [fail, note("poststop")]}
    rt.write_config(cfg)
    log = rt.bundle / "warn.log"
    res = rt("run", "--bundle", rt.bundle, cid, log=log, json_log=True)
    assert res.stdout.strip() == "ran"
    assert out.read_text().split() == ["poststart", "poststop"]
    warnings = [json.loads(l) for l in log.read_text().splitlines()]
    assert [w["level"] for w in warnings] == ["warning", "warning"]
    assert "poststart[0]" in warnings[0]["msg"] and "status 9" in warnings[0]["msg"]
    assert not (rt.root / cid).exists()


def test_oom_score_adj(rt, cid):
    rt.set_process(["cat", "/proc/self/oom_score_adj"], oomScoreAdj=523)
    assert rt("run", "--bundle", rt.bundle, cid).stdout.strip() == "523"


def test_mount_propagation_options(rt, cid, tmpdir_berth):
    src = tmpdir_berth / "prop-src"
    src.mkdir()
    cfg = rt.set_process(["sh", "-c", "for d in /shared /private; do awk -v d=$d '$5 == d' /proc/self/mountinfo; done"])
    cfg["mounts"] += [
        {"destination": "/shared", "type": "bind", "source": str(src), "options": ["rbind", "rshared"]},
        {"destination": "/private", "type": "bind", "source": str(src), "options": ["rbind", "rprivate"]},
    ]
    rt.write_config(cfg)
    shared, private = rt("run", "--bundle", rt.bundle, cid).stdout.splitlines()
    assert "shared:" in shared.split(" - ")[0], shared
    assert "shared:" not in private.split(" - ")[0] and "master:" not in private.split(" - ")[0], private


def test_devices_and_the_cgroup_allow_list(rt, cid):
    cfg = rt.set_process(["sh", "-c", "; ".join([
        "ls -ln /dev/kmsg | awk '{print $1, $3, $4, $5, $6}'",
        "echo x > /dev/null && echo null-ok",
        "head -c 4 /dev/zero | wc -c",
        "mknod /tmp/mem c 1 1 && (head -c 1 /tmp/mem >/dev/null 2>&1 && echo mem-open || echo mem-denied)",
    ])])
    cfg["root"]["readonly"] = False
    cfg["linux"]["devices"] = [{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11,
                                "fileMode": 0o640, "uid": 0, "gid": 4}]
    cfg["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
    rt.write_config(cfg)
    out = rt("run", "--bundle", rt.bundle, cid).stdout.splitlines()
    assert out[0] == "crw-r----- 0 4 1, 11", out
    assert out[1:] == ["null-ok", "4", "mem-denied"], out


def test_bind_source_relative_to_the_bundle(rt, cid):
    (rt.bundle / "data").mkdir()
    (rt.bundle / "data" / "f").write_text("relative\n")
    cfg = rt.set_process(["cat", "/data/f"])
    cfg["mounts"].append({"destination": "/data", "type": "bind", "source": "data", "options": ["rbind", "ro"]})
    rt.write_config(cfg)
    assert rt("run", "--bundle", rt.bundle, cid).stdout == "relative\n"
    cfg["mounts"][-1]["source"] = "missing-dir"
    rt.write_config(cfg)
    res = rt("run", "--bundle", rt.bundle, unique_id(), check=False)
    assert res.returncode != 0 and "missing-dir" in res.stderr and "mounts[" in res.stderr
