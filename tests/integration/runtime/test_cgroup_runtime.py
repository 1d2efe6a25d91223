"""cgroups and seccomp end to end through berth-runtime (config.json →
the container on the real kernel): memory OOM, pids, devices, hugetlb on
the hybrid layout's cgroup2 mount (where Debian's crun 1.8 refuses to run),
the cgroup mount inside the container, update, seccomp rules from the
spec, and no cgroup left after delete."""
import json
import os
import pathlib

import pytest

from cgtools import existing_dirs, unique, v1_mount, v2_mount


def resources(rt, **res):
    cfg = rt.config()
    cfg["linux"].setdefault("resources", {}).update(res)
    rt.write_config(cfg)


def set_path(rt, path):
    cfg = rt.config()
    cfg["linux"]["cgroupsPath"] = path
    rt.write_config(cfg)


def test_memory_limit_oom_kills_the_container(rt, cid):
    parent = unique()
    set_path(rt, f"/{parent}/{cid}")
    resources(rt, memory={"limit": 32 << 20, "swap": 32 << 20})
    # The shell keeps 64 MiB in a variable: beyond the limit.
    rt.set_process(["/bin/sh", "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo survived"])
    res = rt("run", "--bundle", rt.bundle, cid, check=False)
    assert "survived" not in res.stdout
    assert res.returncode == 137, (res.returncode, res.stderr)
    assert existing_dirs("/" + parent) == []


def test_pids_limit_in_the_container(rt, cid):
    resources(rt, pids={"limit": 6})
    rt.set_process(["/bin/sh", "-c",
                    "n=0; for i in 1 2 3 4 5 6 7 8 9 10; do sleep 30 & n=$((n+1)); done; "
                    "echo started; kill $(jobs -p) 2>/dev/null; true"])
    res = rt("run", "--bundle", rt.bundle, cid, check=False)
    assert "can't fork" in res.stderr or "Resource temporarily unavailable" in res.stderr, res.stderr


def test_device_rules(rt, cid):
    """The spec's deny-all plus the runtime's defaults (appended last, as
    runc does): /dev/null works; any node may be made (runc and Docker allow
    "m" on every device) but one outside the list cannot be opened; an allow
    rule in the spec opens exactly that one."""
    script = ("echo hi > /dev/null && echo null-ok; "
              "mknod /dev/t-kmsg c 1 11 && echo mknod-ok; "
              "echo berth-device-rule-test > /dev/t-kmsg && echo kmsg-ok")
    rt.set_process(["/bin/sh", "-c", script])
    res = rt("run", "--bundle", rt.bundle, cid, check=False)
    assert "null-ok" in res.stdout and "mknod-ok" in res.stdout, res.stderr
    assert "kmsg-ok" not in res.stdout
    assert "Operation not permitted" in res.stderr, res.stderr
    cfg = rt.config()
    cfg["linux"]["resources"]["devices"].append(
        {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "rw"})
    rt.write_config(cfg)
    res = rt("run", "--bundle", rt.bundle, cid + "-2", check=False)
    assert "kmsg-ok" in res.stdout, res.stderr


def test_hugetlb_on_the_hybrid_layout(rt, cid):
    if not pathlib.Path("/sys/kernel/mm/hugepages/hugepages-2048kB").exists():
        pytest.skip("no 2MB huge pages")
    parent = unique()
    set_path(rt, f"/{parent}/{cid}")
    resources(rt, hugepageLimits=[{"pageSize": "2MB", "limit": 2 << 20}])
    # Inside the container, through its cgroup mount (v1 hugetlb or cgroup2).
    rt.set_process(["/bin/sh", "-c", "cat /sys/fs/cgroup/hugetlb/hugetlb.2MB.limit_in_bytes "
                    "/sys/fs/cgroup/unified/hugetlb.2MB.max /sys/fs/cgroup/hugetlb.2MB.max 2>/dev/null"])
    out = rt("run", "--bundle", rt.bundle, cid, check=False).stdout
    assert out.split() == [str(2 << 20)], out
    assert existing_dirs("/" + parent) == []


def test_hugetlb_limit_visible_while_running(rt, cid, tmpdir_berth):
    parent = unique()
    set_path(rt, f"/{parent}/{cid}")
    resources(rt, hugepageLimits=[{"pageSize": "2MB", "limit": 4 << 20}])
    rt.set_process(["/bin/sleep", "1000"])
    assert rt.create_detached(cid, tmpdir_berth / "out").returncode == 0
    try:
        hugetlb_v1 = v1_mount("hugetlb")
        if hugetlb_v1:
            f = pathlib.Path(hugetlb_v1, parent, cid, "hugetlb.2MB.limit_in_bytes")
        else:
            f = pathlib.Path(v2_mount(), parent, cid, "hugetlb.2MB.max")
        assert f.read_text().strip() == str(4 << 20)
    finally:
        rt("delete", "--force", cid)
    assert existing_dirs("/" + parent) == []


def test_cgroup_mount_inside_the_container(rt, cid):
    rt.set_process(["/bin/sh", "-c", "ls /sys/fs/cgroup; cat /sys/fs/cgroup/pids/pids.max; "
                    "mkdir /sys/fs/cgroup/pids/x 2>&1 || true"])
    resources(rt, pids={"limit": 33})
    out = rt("run", "--bundle", rt.bundle, cid).stdout
    with open("/proc/self/cgroup") as f:
        v1 = [line.split(":")[1] for line in f if line.split(":")[1]]
    for ctrl in v1:
        assert ctrl.replace("name=", "") in out.split(), out
    assert "33" in out.split()
    assert "Read-only file system" in out


def test_update_memory_and_pids(rt, cid, tmpdir_berth):
    parent = unique()
    set_path(rt, f"/{parent}/{cid}")
    resources(rt, memory={"limit": 64 << 20}, pids={"limit": 20})
    rt.set_process(["/bin/sleep", "1000"])
    assert rt.create_detached(cid, tmpdir_berth / "out").returncode == 0
    try:
        res = tmpdir_berth / "res.json"
        res.write_text(json.dumps({"memory": {"limit": 128 << 20}, "pids": {"limit": 30}}))
        rt("update", "--resources", res, cid)
        if v1_mount("memory"):
            mem = pathlib.Path(v1_mount("memory"), parent, cid, "memory.limit_in_bytes")
        else:
            mem = pathlib.Path(v2_mount(), parent, cid, "memory.max")
        assert mem.read_text().strip() == str(128 << 20)
        pids = pathlib.Path(v1_mount("pids") or v2_mount(), parent, cid, "pids.max")
        assert pids.read_text().strip() == "30"
        res.write_text(json.dumps({"cpu": {"shares": 1}}))
        bad = rt("update", "--resources", res, cid, check=False)
        assert bad.returncode != 0
        assert "linux.resources.cpu.shares" in bad.stderr
    finally:
        rt("delete", "--force", cid)
    assert existing_dirs("/" + parent) == []


def test_seccomp_from_the_spec(rt, cid):
    cfg = rt.config()
    cfg["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18},
                     {"names": ["chmod", "fchmodat"], "action": "SCMP_ACT_KILL_PROCESS"}]}
    rt.write_config(cfg)
    rt.set_process(["/bin/sh", "-c", "mkdir /tmp/x; echo rc=$?"])
    res = rt("run", "--bundle", rt.bundle, cid, check=False)
    assert "Invalid cross-device link" in res.stderr, res.stderr
    assert "rc=1" in res.stdout
    rt.set_process(["/bin/chmod", "755", "/tmp"])
    res = rt("run", "--bundle", rt.bundle, cid + "-k", check=False)
    assert res.returncode == 128 + 31, (res.returncode, res.stderr)  # SIGSYS


def test_bad_seccomp_in_the_spec_names_the_field(rt, cid):
    cfg = rt.config()
    cfg["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                               "syscalls": [{"names": ["read"], "action": "SCMP_ACT_MAYBE"}]}
    rt.write_config(cfg)
    res = rt("run", "--bundle", rt.bundle, cid, check=False)
    assert res.returncode != 0
    assert 'linux.seccomp.syscalls[0].action: unknown action "SCMP_ACT_MAYBE"' in res.stderr


def test_bad_resources_in_the_spec_leave_nothing(rt, cid):
    parent = unique()
    set_path(rt, f"/{parent}/{cid}")
    resources(rt, memory={"limit": -7})
    rt.set_process(["/bin/true"])
    res = rt("run", "--bundle", rt.bundle, cid, check=False)
    assert res.returncode != 0
    assert "linux.resources.memory.limit" in res.stderr
    assert existing_dirs("/" + parent) == []
    assert not (rt.root / cid).exists()
