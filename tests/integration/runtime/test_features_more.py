"""config.json features runc and crun support beyond the basics, end to
end on the real kernel: process.scheduler (sched_setattr) in the init and
in exec, process.execCPUAffinity for exec'd processes, and their bad-input
errors naming the field."""
import json
import os
import subprocess

from conftest import unique_id

SCHED_BATCH, SCHED_IDLE = 3, 5


def _stat_fields(line):
    # /proc/<pid>/stat: fields after the `(comm)` one; index 0 is field 3.
    rest = line[line.rindex(")") + 2:].split()
    return {"nice": int(rest[19 - 3]), "rt_priority": int(rest[40 - 3]),
            "policy": int(rest[41 - 3])}


def _run_detached(rt, cid):
    rt("run", "--detach", "--bundle", rt.bundle, cid, stdout=open(os.devnull, "w"),
       stderr=open(os.devnull, "w"), capture_output=False)


def _process_file(rt, args, **extra):
    p = rt.bundle / f"process-{unique_id()}.json"
    p.write_text(json.dumps({"args": args, "cwd": "/", "env": ["PATH=/bin"],
                             "user": {"uid": 0, "gid": 0}, **extra}))
    return p


def test_scheduler_in_init(rt, cid):
    rt.set_process(["cat", "/proc/self/stat"],
                   scheduler={"policy": "SCHED_BATCH", "nice": 7})
    out = rt("run", "--bundle", rt.bundle, cid).stdout
    assert _stat_fields(out) == {"nice": 7, "rt_priority": 0, "policy": SCHED_BATCH}, out


def test_scheduler_and_cpu_affinity_in_exec(rt, cid):
    rt.set_process(["sleep", "1000"])
    _run_detached(rt, cid)
    try:
        init = rt.state(cid)["pid"]
        # The init keeps the default policy: exec's scheduler is its own.
        assert _stat_fields(open(f"/proc/{init}/stat").read())["policy"] == 0
        proc = _process_file(rt, ["sh", "-c", "cat /proc/self/stat; grep Cpus_allowed_list /proc/self/status"],
                             scheduler={"policy": "SCHED_IDLE"},
                             execCPUAffinity={"initial": "0", "final": "0"})
        out = rt("exec", "--process", proc, cid).stdout.splitlines()
        assert _stat_fields(out[0]) == {"nice": 0, "rt_priority": 0, "policy": SCHED_IDLE}, out
        assert out[1].split() == ["Cpus_allowed_list:", "0"], out
        # A CPU the machine does not have: the error names the field.
        bad = _process_file(rt, ["true"], execCPUAffinity={"final": "1023"})
        res = rt("exec", "--process", bad, cid, check=False)
        assert res.returncode != 0 and "execCPUAffinity.final" in res.stderr, res.stderr
        # Without execCPUAffinity the exec'd process keeps every CPU of the host.
        plain = _process_file(rt, ["grep", "Cpus_allowed_list", "/proc/self/status"])
        out = rt("exec", "--process", plain, cid).stdout
        assert out.split()[1] == open("/proc/self/status").read().split("Cpus_allowed_list:")[1].split()[0]
    finally:
        rt("kill", cid, "KILL", check=False)
        rt("delete", "--force", cid, check=False)


def test_affinity_seen_from_host(rt, cid):
    rt.set_process(["sleep", "1000"])
    _run_detached(rt, cid)
    try:
        proc = _process_file(rt, ["sleep", "1000"], execCPUAffinity={"final": "0"})
        pidfile = rt.bundle / "exec.pid"
        rt("exec", "--detach", "--pid-file", pidfile, "--process", proc, cid,
           stdout=open(os.devnull, "w"), stderr=open(os.devnull, "w"), capture_output=False)
        pid = int(pidfile.read_text())
        assert os.sched_getaffinity(pid) == {0}
        host = subprocess.run(["taskset", "-p", str(pid)], capture_output=True, text=True, check=True)
        assert host.stdout.strip().endswith("affinity mask: 1"), host.stdout
    finally:
        rt("kill", cid, "KILL", check=False)
        rt("delete", "--force", cid, check=False)


def test_bad_scheduler_names_the_field(rt):
    for sched, field in [({"policy": "SCHED_WARP"}, "process.scheduler.policy"),
                         ({"policy": "SCHED_FIFO", "priority": 0}, "process.scheduler.priority"),
                         ({"policy": "SCHED_OTHER", "nice": 40}, "process.scheduler.nice")]:
        rt.set_process(["true"], scheduler=sched)
        res = rt("run", "--bundle", rt.bundle, unique_id(), check=False)
        assert res.returncode != 0 and field in res.stderr, (sched, res.stderr)


# ----------------------------------------------------------- idmapped mounts --

import contextlib
import subprocess


@contextlib.contextmanager
def _tmpfs(path):
    """A tmpfs of our own: idmapped mounts need a filesystem that supports
    them, whatever /tmp is on this machine."""
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "berth-idmap-test", path],
                   check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", path], check=True)


def _mounts_under(path):
    return [l for l in open("/proc/self/mountinfo") if f" {path}" in l]


def test_idmapped_bind_mount_with_its_own_maps(rt, cid):
    with _tmpfs(rt.bundle / "idmapped") as src:
        os.chown(src, 1000, 1000)  # root inside may write: the dir's owner is mapped
        (src / "owned").write_text("x")
        os.chown(src / "owned", 1000, 1000)
        (src / "other").write_text("y")
        os.chown(src / "other", 5, 5)
        cfg = rt.set_process(["sh", "-c", "stat -c '%u %g' /data/owned /data/other; "
                                          "touch /data/made-inside; stat -c '%u %g' /data/made-inside"])
        cfg["mounts"].append({"destination": "/data", "type": "bind", "source": str(src),
                              "options": ["bind"],
                              "uidMappings": [{"containerID": 1000, "hostID": 0, "size": 1}],
                              "gidMappings": [{"containerID": 1000, "hostID": 0, "size": 1}]})
        rt.write_config(cfg)
        out = rt("run", "--bundle", rt.bundle, cid).stdout.splitlines()
        # host uid 1000 is root inside; an id outside the maps is the overflow id
        assert out == ["0 0", "65534 65534", "0 0"], out
        st = (src / "made-inside").stat()
        assert (st.st_uid, st.st_gid) == (1000, 1000)
        # The host's own view of the source never changed.
        assert (src / "owned").stat().st_uid == 1000
    assert not _mounts_under(rt.bundle / "idmapped")


def test_idmap_option_uses_the_container_user_namespace(rt, cid):
    with _tmpfs(rt.bundle / "shared") as src:
        (src / "rootfile").write_text("x")
        (src / "u1000").write_text("x")
        os.chown(src / "u1000", 1000, 1000)
        cfg = rt.set_process(["sh", "-c", "stat -c %u /plain/rootfile /idm/rootfile /idm/u1000; "
                                          "grep ' /idm ' /proc/self/mountinfo | grep -c idmapped"])
        cfg["linux"]["namespaces"].append({"type": "user"})
        cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
        cfg["mounts"] += [
            {"destination": "/plain", "type": "bind", "source": str(src), "options": ["bind"]},
            {"destination": "/idm", "type": "bind", "source": str(src), "options": ["rbind", "idmap", "ro"]},
        ]
        for d in ("plain", "idm"):
            (rt.bundle / "rootfs" / d).mkdir()
        rt.write_config(cfg)
        os.chmod(rt.bundle, 0o755)
        out = rt("run", "--bundle", rt.bundle, cid).stdout.split()
        # without idmap host root is nobody in the container; with it, root
        assert out == ["65534", "0", "1000", "1"], out
    assert not _mounts_under(rt.bundle / "shared")


def test_idmap_bad_input_names_the_field(rt, tmpdir_berth):
    cases = [
        ({"destination": "/x", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"]},
         "mounts[", "idmapped mounts need a bind mount"),
        ({"destination": "/x", "type": "bind", "source": "/tmp", "options": ["bind"],
          "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]},
         "mounts[", "uidMappings and gidMappings go together"),
        ({"destination": "/x", "type": "bind", "source": "/tmp", "options": ["bind"],
          "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 0}],
          "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]},
         "uidMappings[0].size", ""),
        # procfs cannot be idmapped: the kernel's refusal names the mount
        ({"destination": "/x", "type": "bind", "source": "/proc", "options": ["bind"],
          "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
          "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]},
         "MOUNT_ATTR_IDMAP on `/proc`", "mounts["),
        # idmap alone needs the container's own user namespace maps
        ({"destination": "/x", "type": "bind", "source": "/tmp", "options": ["bind", "idmap"]},
         "linux.uidMappings", ""),
    ]
    base = rt.set_process(["true"])
    for mount, field, why in cases:
        cfg = json.loads(json.dumps(base))
        cfg["mounts"].append(mount)
        rt.write_config(cfg)
        res = rt("run", "--bundle", rt.bundle, unique_id(), check=False)
        assert res.returncode != 0 and field in res.stderr and why in res.stderr, (mount, res.stderr)


# ------------------------------------------------------------------- events --

def test_events_stats_once(rt, cid):
    rt.set_process(["sleep", "1000"])
    _run_detached(rt, cid)
    try:
        out = rt("events", "--stats", cid).stdout.strip().splitlines()
        assert len(out) == 1, out
        ev = json.loads(out[0])
        assert ev["type"] == "stats" and ev["id"] == cid
        data = ev["data"]
        assert data["pids"]["current"] >= 1
        assert data["memory"]["usage"]["usage"] > 0
        assert data["cpu"]["usage"]["total"] > 0
        bad = rt("events", "--interval", "fast", cid, check=False)
        assert bad.returncode != 0 and "--interval `fast`" in bad.stderr
    finally:
        rt("kill", cid, "KILL", check=False)
        rt("delete", "--force", cid, check=False)
    gone = rt("events", "--stats", cid, check=False)
    assert gone.returncode != 0 and cid in gone.stderr


def test_events_stream_reports_stats_and_oom(rt, cid):
    cfg = rt.set_process(["sh", "-c", "sleep 1.5; tail /dev/zero"])
    cfg["linux"].setdefault("resources", {})["memory"] = {"limit": 32 * 1024 * 1024}
    rt.write_config(cfg)
    assert rt.create_detached(cid, rt.bundle / "out.log").returncode == 0
    events = subprocess.Popen([str(rt.bin), "--root", str(rt.root), "events", "--interval", "300ms",
                               cid], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        rt("start", cid)
        out, err = events.communicate(timeout=60)  # ends when the container stops
    finally:
        if events.poll() is None:
            events.kill()
            events.wait()
        rt("delete", "--force", cid, check=False)
    assert events.returncode == 0, err
    evs = [json.loads(l) for l in out.splitlines()]
    kinds = [e["type"] for e in evs]
    assert kinds.count("stats") >= 2, kinds
    assert kinds.count("oom") >= 1, kinds
    assert all(e["id"] == cid for e in evs)
    # the stats saw the memory grow towards the limit
    assert max(e["data"]["memory"]["usage"]["usage"] for e in evs if e["type"] == "stats") > 0


def test_features_lists_the_new_features(rt):
    f = json.loads(rt("features").stdout)
    assert {"idmap", "ridmap"} <= set(f["mountOptions"])
    assert f["linux"]["mountExtensions"]["idmap"]["enabled"] is True
    ann = f["annotations"]
    assert "LINUX32" in ann["org.berth.runtime.linux.personality"].split(",")
    assert "SCHED_DEADLINE" in ann["org.berth.runtime.process.scheduler"].split(",")
    assert "IOPRIO_CLASS_IDLE" in ann["org.berth.runtime.process.ioPriority"].split(",")
    assert ann["org.berth.runtime.process.execCPUAffinity"] == "true"
    assert set(ann["org.berth.runtime.events"].split(",")) == {"stats", "oom"}


def test_realtime_scheduler_applies_or_names_the_field(rt, cid):
    # With CONFIG_RT_GROUP_SCHED (this machine) a new cgroup has no RT budget
    # and the kernel refuses SCHED_FIFO: the error must say which field.
    rt.set_process(["cat", "/proc/self/stat"], scheduler={"policy": "SCHED_FIFO", "priority": 10})
    res = rt("run", "--bundle", rt.bundle, cid, check=False)
    if res.returncode == 0:
        assert _stat_fields(res.stdout) == {"nice": 0, "rt_priority": 10, "policy": 1}
    else:
        assert "sched_setattr (process.scheduler" in res.stderr, res.stderr


def test_io_priority_in_exec(rt, cid):
    rt.set_process(["sleep", "1000"], ioPriority={"class": "IOPRIO_CLASS_BE", "priority": 2})
    _run_detached(rt, cid)
    try:
        plain = _process_file(rt, ["sh", "-c", "ionice -p 1"])
        assert "prio 2" in rt("exec", "--process", plain, cid).stdout
        # the host's util-linux sees the same on the init
        init = rt.state(cid)["pid"]
        host = subprocess.run(["ionice", "-p", str(init)], capture_output=True, text=True, check=True)
        assert host.stdout.strip() == "best-effort: prio 2", host.stdout
        idle = _process_file(rt, ["sh", "-c", "ionice -p $$"], ioPriority={"class": "IOPRIO_CLASS_IDLE"})
        assert "idle" in rt("exec", "--process", idle, cid).stdout
        bad = _process_file(rt, ["true"], ioPriority={"class": "IOPRIO_CLASS_BE", "priority": 9})
        res = rt("exec", "--process", bad, cid, check=False)
        assert res.returncode != 0 and "process.ioPriority.priority" in res.stderr
    finally:
        rt("kill", cid, "KILL", check=False)
        rt("delete", "--force", cid, check=False)
