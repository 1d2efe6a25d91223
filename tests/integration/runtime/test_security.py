"""Attacks on the runtime that must fail: reaching the host filesystem, a
symlink in the image redirecting a mount (and the CVE-2021-30465 swap race),
writing the runtime's binary from the container (CVE-2019-5736), and a
leaked fd or host cwd (CVE-2024-21626)."""
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import threading
import time

import pytest

from conftest import reap_orphans, unique_id


def test_container_cannot_reach_host_files(rt, cid, tmpdir_berth):
    secret_dir = pathlib.Path(tmpdir_berth, "host-secret")
    secret_dir.mkdir()
    (secret_dir / "secret").write_text("host secret\n")
    rel = str(secret_dir).lstrip("/")
    rt.set_process(["sh", "-c", "; ".join([
        f"cat /{rel}/secret",
        f"cat /../../../../{rel}/secret",
        f"cat /proc/1/root/{rel}/secret",
        f"cat /proc/self/cwd/../../{rel}/secret",
        "grep -c host-secret /proc/self/mountinfo",
        "echo done",
    ]) + " 2>/dev/null"])
    out = rt("run", "--bundle", rt.bundle, cid, check=False).stdout
    assert "host secret" not in out
    assert out.split() == ["0", "done"]


def test_symlink_in_image_cannot_redirect_a_mount(rt, cid, tmpdir_berth):
    host_side = pathlib.Path(tmpdir_berth, "host-side")
    host_side.mkdir()
    (host_side / "keep").write_text("untouched\n")
    rootfs = rt.bundle / "rootfs"
    # absolute and relative escapes planted in the image
    (rootfs / "abs").symlink_to(host_side)
    (rootfs / "rel").symlink_to("../../../../../../../.." + str(host_side))
    cfg = rt.set_process(["sh", "-c", "grep -E ' /(abs|rel|dots)' /proc/self/mountinfo | wc -l; ls /abs/; echo ok"])
    cfg["root"]["readonly"] = False
    cfg["mounts"] += [
        {"destination": "/abs", "type": "tmpfs", "source": "tmpfs", "options": ["size=64k"]},
        {"destination": "/rel/sub", "type": "tmpfs", "source": "tmpfs", "options": ["size=64k"]},
        {"destination": "/../../../../../dots", "type": "tmpfs", "source": "tmpfs", "options": ["size=64k"]},
    ]
    rt.write_config(cfg)
    host_mounts_before = pathlib.Path("/proc/self/mountinfo").read_text()
    out = rt("run", "--bundle", rt.bundle, cid).stdout.split()
    # the tmpfs went where the symlink leads *inside* the root, so the host
    # directory never got covered (its file is not hidden, nothing new in it)
    assert sorted(os.listdir(host_side)) == ["keep"]
    assert str(host_side) not in pathlib.Path("/proc/self/mountinfo").read_text()
    assert (rootfs / str(host_side).lstrip("/")).is_dir()
    assert (rootfs / "dots").is_dir()
    assert out[-1] == "ok"
    assert host_mounts_before.count(str(host_side)) == 0


def test_mount_target_swap_race_cannot_escape(rt, tmpdir_berth):
    """CVE-2021-30465: a target swapped for a symlink between check and use.
    A thread flips rootfs/target between a directory and a symlink to a host
    directory while containers mount a tmpfs there. Targets are opened once
    (openat2 RESOLVE_IN_ROOT) and mounted on that fd, so no run may ever
    cover the host directory."""
    host_side = pathlib.Path(tmpdir_berth, "race-host")
    host_side.mkdir()
    (host_side / "keep").write_text("x")
    rootfs = rt.bundle / "rootfs"
    target = rootfs / "target"
    cfg = rt.set_process(["sh", "-c", "touch /target/written 2>/dev/null; true"])
    cfg["root"]["readonly"] = False
    cfg["mounts"].append({"destination": "/target", "type": "tmpfs", "source": "tmpfs", "options": ["size=64k"]})
    rt.write_config(cfg)
    stop = threading.Event()

    def flipper():
        tmp_link = rootfs / "target.lnk"
        tmp_dir = rootfs / "target.dir"
        while not stop.is_set():
            try:
                if not tmp_link.is_symlink():
                    tmp_link.symlink_to(host_side)
                os.rename(tmp_link, target)  # atomically a symlink
                tmp_dir.mkdir(exist_ok=True)
                os.rename(tmp_dir, target) if not target.is_symlink() else None
                if target.is_symlink():
                    os.unlink(target)
                    os.mkdir(target)
            except OSError:
                pass

    t = threading.Thread(target=flipper, daemon=True)
    t.start()
    try:
        for i in range(25):
            rt("run", "--bundle", rt.bundle, unique_id("race"), check=False)
            assert sorted(os.listdir(host_side)) == ["keep"], f"run {i} wrote into the host"
    finally:
        stop.set()
        t.join()
    assert str(host_side) not in pathlib.Path("/proc/self/mountinfo").read_text()


def test_cwd_through_a_leaked_fd_is_refused(rt, cid, tmpdir_berth):
    """CVE-2024-21626: process.cwd = /proc/self/fd/N pointing at a host
    directory fd the runtime held. Every such cwd is refused, and the
    process never runs."""
    host_dir = os.open(str(tmpdir_berth), os.O_RDONLY | os.O_DIRECTORY)
    try:
        for n in range(3, 9):
            cfg = rt.set_process(["sh", "-c", "echo escaped; pwd"], cwd=f"/proc/self/fd/{n}")
            res = subprocess.run([str(rt.bin), "--root", str(rt.root), "run", "--bundle",
                                  str(rt.bundle), unique_id("cwd")], capture_output=True,
                                 text=True, pass_fds=(host_dir,), timeout=60)
            assert "escaped" not in res.stdout, f"cwd /proc/self/fd/{n} ran: {res.stdout}"
            assert res.returncode != 0 and "process.cwd" in res.stderr
    finally:
        os.close(host_dir)


def test_no_runtime_fd_leaks_into_the_container(rt, cid, tmpdir_berth):
    host_dir = os.open(str(tmpdir_berth), os.O_RDONLY | os.O_DIRECTORY)  # inheritable, like a careless caller's
    os.set_inheritable(host_dir, True)
    try:
        script = "for f in /proc/self/fd/*; do echo $f $(readlink $f); done"
        rt.set_process(["sh", "-c", script])
        res = subprocess.run([str(rt.bin), "--root", str(rt.root), "run", "--bundle",
                              str(rt.bundle), cid], capture_output=True, text=True,
                             pass_fds=(host_dir,), timeout=60)
        fds = {l.split()[0].rsplit("/", 1)[1] for l in res.stdout.splitlines()}
        # 0-2 and the fd the shell's glob itself opened: nothing of the runtime.
        assert fds <= {"0", "1", "2", "3"}, res.stdout
        assert str(tmpdir_berth) not in res.stdout and "berth" not in res.stdout.replace("berth-it", ""), res.stdout
        # with --preserve-fds the caller's fd 3 is passed on on purpose
        os.dup2(host_dir, 3) if host_dir != 3 else None
        res = subprocess.run([str(rt.bin), "--root", str(rt.root), "run", "--preserve-fds", "1",
                              "--bundle", str(rt.bundle), unique_id("keep")],
                             capture_output=True, text=True, pass_fds=(3,), timeout=60)
        assert "/proc/self/fd/3" in res.stdout
    finally:
        os.close(host_dir)


def test_exec_has_no_leaked_fds_and_refuses_proc_self_exe(rt, cid):
    rt.set_process(["sleep", "1000"])
    rt("run", "-d", "--bundle", rt.bundle, cid, capture_output=False,
       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = rt("exec", cid, "sh", "-c", "ls /proc/self/fd").stdout.split()
    assert set(out) <= {"0", "1", "2", "3"}, out
    res = rt("exec", cid, "/proc/self/exe", check=False)
    assert res.returncode != 0 and "/proc/self/exe" in res.stderr
    rt("delete", "--force", cid)


def _copy_runtime_libs(rootfs, exe):
    """What an attacker's image would carry: the shared libraries the runtime
    binary needs, so that exec'ing /proc/self/exe inside really runs it."""
    ldd = subprocess.run(["ldd", str(exe)], capture_output=True, text=True, check=True).stdout
    for line in ldd.splitlines():
        parts = line.split()
        path = next((p for p in parts if p.startswith("/")), None)
        if path:
            dest = rootfs / path.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)


def test_runtime_binary_is_read_only_from_the_container(rt, cid):
    """CVE-2019-5736: the container's process is "#!/proc/self/exe --log
    /proc/self/exe", so the runtime's own binary runs inside the container
    and tries to append to itself. It must find it read-only."""
    digest = hashlib.sha256(pathlib.Path(rt.bin).read_bytes()).hexdigest()
    rootfs = rt.bundle / "rootfs"
    _copy_runtime_libs(rootfs, rt.bin)
    evil = rootfs / "evil"
    evil.write_text("#!/proc/self/exe --log=/proc/self/exe\n")
    evil.chmod(0o755)
    rt.set_process(["/evil"])
    res = rt("run", "--bundle", rt.bundle, cid, check=False)
    assert res.returncode != 0
    # refused: read-only (EROFS), or busy while it runs (ETXTBSY)
    assert "Read-only file system" in res.stderr or "Text file busy" in res.stderr, res.stderr
    assert hashlib.sha256(pathlib.Path(rt.bin).read_bytes()).hexdigest() == digest


def _wait_for(pred, what, timeout=10):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def _exe_exploit_sequence(pid):
    """Take an O_PATH handle on /proc/<pid>/exe while the runtime process
    lives; the caller lets it exit; then reopen the handle for writing."""
    assert os.statvfs(f"/proc/{pid}/exe").f_flag & os.ST_RDONLY
    return os.open(f"/proc/{pid}/exe", os.O_PATH)


def _assert_handle_not_writable(handle):
    try:
        with pytest.raises(OSError) as e:
            os.open(f"/proc/self/fd/{handle}", os.O_WRONLY | os.O_APPEND)
        assert e.value.errno == 30, e.value  # EROFS
    finally:
        os.close(handle)


def test_exec_runtime_process_exe_is_read_only(rt, cid):
    """The exploit's own sequence, from the host (a stronger position than a
    container's): take an O_PATH handle on /proc/<pid>/exe of `berth-runtime
    exec` (which puts a runtime-image process into the container's pid
    namespace) while it waits, let it exit, then reopen the handle for
    writing: it runs from a read-only view of its binary, so EROFS."""
    digest = hashlib.sha256(pathlib.Path(rt.bin).read_bytes()).hexdigest()
    rt.set_process(["sleep", "1000"])
    rt("run", "-d", "--bundle", rt.bundle, cid, capture_output=False,
       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc = subprocess.Popen([str(rt.bin), "--root", str(rt.root), "exec", cid, "sleep", "1000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: len(json.loads(rt("ps", "--format", "json", cid).stdout)) == 2,
                  "the exec'd process never showed up")
        handle = _exe_exploit_sequence(proc.pid)
    finally:
        rt("delete", "--force", cid, check=False)
        proc.wait(timeout=20)
    _assert_handle_not_writable(handle)
    assert hashlib.sha256(pathlib.Path(rt.bin).read_bytes()).hexdigest() == digest


def test_run_in_a_shared_pid_namespace_is_read_only(rt, cid):
    """create/run into a pid namespace that already has processes (joined
    by path) run from the read-only view too."""
    rt.set_process(["sleep", "1000"])
    rt("run", "-d", "--bundle", rt.bundle, cid, capture_output=False,
       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid = rt.state(cid)["pid"]
    cfg = rt.config()
    for ns in cfg["linux"]["namespaces"]:
        if ns["type"] == "pid":
            ns["path"] = f"/proc/{pid}/ns/pid"
    rt.write_config(cfg)
    other = unique_id("shared")
    proc = subprocess.Popen([str(rt.bin), "--root", str(rt.root), "run", "--bundle",
                             str(rt.bundle), other], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: (rt.root / other / "state.json").exists(), "no state")
        handle = _exe_exploit_sequence(proc.pid)
    finally:
        rt("delete", "--force", other, check=False)
        proc.wait(timeout=20)
        rt("delete", "--force", cid, check=False)
    _assert_handle_not_writable(handle)
