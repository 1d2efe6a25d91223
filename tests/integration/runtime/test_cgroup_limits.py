"""Resource limits on the real kernel, through the runtime's cgroup code
(cgroup-probe): memory (an OOM kill), pids (fork fails), cpu and hugetlb
values where the layout puts them, update, stats, and bad input."""
import json
import os
import pathlib

import pytest

from berthtest import run
from cgtools import (cgroup_factory, existing_dirs, hierarchies, probe, unique, v1_mount,  # noqa: F401
                     v2_mount)

PY = "/usr/bin/python3"


def controller_dir(controller, path):
    """Where the kernel keeps this controller for the cgroup: the v1
    hierarchy that has it, else cgroup2 (computed from mountinfo here)."""
    mp = v1_mount(controller)
    if mp is None:
        mp = v2_mount()
    return pathlib.Path(mp + path)


def run_probe(tmpdir, resources, *cmd, path=None):
    parent = unique()
    res_file = tmpdir / f"{parent}.json"
    res_file.write_text(json.dumps(resources))
    out = run([probe("cgroup-probe"), "run", "--id", "x", "--path", path or f"/{parent}/x",
               "--resources", res_file, "--", *cmd], check=False)
    assert existing_dirs("/" + parent) == [], "run left its cgroup behind"
    return out, parent


def test_layout_matches_the_kernel():
    out = run([probe("cgroup-probe"), "layout"]).stdout.splitlines()
    kinds = {fstype for _, fstype, _ in hierarchies()}
    want = "hybrid" if kinds == {"cgroup", "cgroup2"} else "v2" if kinds == {"cgroup2"} else "v1"
    assert out[0] == f"layout {want}"
    # Each v1 controller is driven where it is mounted; hugetlb is on cgroup2
    # when no v1 hierarchy has it (this machine).
    if v1_mount("hugetlb") is None and v2_mount():
        controllers = pathlib.Path(v2_mount(), "cgroup.controllers").read_text().split()
        if "hugetlb" in controllers:
            assert any(line.startswith("v2 unified") and "hugetlb" in line.split()[3:]
                       for line in out), out


def test_memory_limit_oom_kills(tmpdir_berth):
    limit = 48 << 20
    res = {"memory": {"limit": limit, "swap": limit}}
    hog = "b = bytearray(160 << 20); print('survived')"
    out, _ = run_probe(tmpdir_berth, res, PY, "-c", hog)
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["signal"] == 9, result            # the kernel's OOM killer
    assert "survived" not in out.stdout
    assert result["stats"]["memory_stats"]["limit"] == limit
    # The same program under a roomy limit finishes.
    out, _ = run_probe(tmpdir_berth, {"memory": {"limit": 512 << 20}}, PY, "-c", hog)
    assert json.loads(out.stdout.splitlines()[-1])["exit"] == 0


FORK_COUNTER = """
import os, errno
r, w = os.pipe()
kids, failed = [], None
for i in range(12):
    try:
        pid = os.fork()
    except OSError as e:
        failed = errno.errorcode[e.errno]
        break
    if pid == 0:
        os.close(w)
        os.read(r, 1)
        os._exit(0)
    kids.append(pid)
os.close(w)
for k in kids:
    os.waitpid(k, 0)
print(len(kids), failed)
"""


def test_pids_limit_makes_fork_fail(tmpdir_berth):
    out, _ = run_probe(tmpdir_berth, {"pids": {"limit": 5}}, PY, "-c", FORK_COUNTER)
    result = json.loads(out.stdout.splitlines()[-1])
    forked, failed = out.stdout.splitlines()[0].split()
    assert (int(forked), failed) == (4, "EAGAIN"), out.stdout  # python + 4 children = 5
    assert result["exit"] == 0
    out, _ = run_probe(tmpdir_berth, {"pids": {"limit": -1}}, PY, "-c", FORK_COUNTER)
    assert out.stdout.splitlines()[0] == "12 None"


def test_cpu_values_written(cgroup_factory):
    cg = cgroup_factory({"cpu": {"shares": 512, "quota": 25000, "period": 50000, "cpus": "0"}})
    cpu = v1_mount("cpu")
    if cpu is None:
        text = (pathlib.Path(v2_mount() + cg.path) / "cpu.max").read_text()
        assert text.split() == ["25000", "50000"]
        assert (pathlib.Path(v2_mount() + cg.path) / "cpu.weight").read_text().strip() == "20"
    else:
        d = pathlib.Path(cpu + cg.path)
        assert (d / "cpu.shares").read_text().strip() == "512"
        assert (d / "cpu.cfs_quota_us").read_text().strip() == "25000"
        assert (d / "cpu.cfs_period_us").read_text().strip() == "50000"
    assert controller_dir("cpuset", cg.path).joinpath("cpuset.cpus").read_text().strip() == "0"


def test_hugetlb_limit_where_the_layout_puts_it(cgroup_factory):
    sizes = [p.name.split("-")[1] for p in pathlib.Path("/sys/kernel/mm/hugepages").iterdir()]
    if "2048kB" not in sizes:
        pytest.skip("no 2MB huge pages on this kernel")
    cg = cgroup_factory({"hugepageLimits": [{"pageSize": "2MB", "limit": 4 << 20}]})
    mp = v1_mount("hugetlb")
    if mp:
        value = pathlib.Path(mp + cg.path, "hugetlb.2MB.limit_in_bytes").read_text()
    else:
        # This machine: hugetlb lives on the cgroup2 mount of the hybrid layout.
        value = pathlib.Path(v2_mount() + cg.path, "hugetlb.2MB.max").read_text()
        assert pathlib.Path(v2_mount() + cg.path, "hugetlb.2MB.rsvd.max").read_text().strip() == str(4 << 20)
    assert value.strip() == str(4 << 20)


HUGE_MMAP = """
import mmap, sys
try:
    m = mmap.mmap(-1, 4 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x40000)
    m[0] = 1; m[2 << 20] = 1
    print("mapped")
except OSError as e:
    print("refused", e.errno)
"""


def test_hugetlb_limit_enforced(tmpdir_berth):
    """With two free 2MB pages, a 2MB limit refuses a 4MB huge mapping
    (hugetlb.*.rsvd: at mmap time) and a 4MB limit allows it."""
    nr = pathlib.Path("/proc/sys/vm/nr_hugepages")
    before = int(nr.read_text())
    nr.write_text(str(before + 2))
    try:
        if int(pathlib.Path("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages").read_text()) < 2:
            pytest.skip("the kernel could not reserve two huge pages")
        out, _ = run_probe(tmpdir_berth, {"hugepageLimits": [{"pageSize": "2MB", "limit": 2 << 20}]},
                           PY, "-c", HUGE_MMAP)
        assert out.stdout.splitlines()[0].startswith("refused"), out.stdout
        out, _ = run_probe(tmpdir_berth, {"hugepageLimits": [{"pageSize": "2MB", "limit": 4 << 20}]},
                           PY, "-c", HUGE_MMAP)
        assert out.stdout.splitlines()[0] == "mapped", out.stdout
    finally:
        nr.write_text(str(before))


def test_update_changes_only_what_is_given(cgroup_factory, tmpdir_berth):
    cg = cgroup_factory({"pids": {"limit": 10}, "memory": {"limit": 64 << 20}})
    pids = controller_dir("pids", cg.path) / "pids.max"
    mem = v1_mount("memory")
    assert pids.read_text().strip() == "10"
    upd = tmpdir_berth / "update.json"
    upd.write_text(json.dumps({"pids": {"limit": 20}}))
    cg.probe("update", "--resources", upd)
    assert pids.read_text().strip() == "20"
    if mem:
        assert pathlib.Path(mem + cg.path, "memory.limit_in_bytes").read_text().strip() == str(64 << 20)
    upd.write_text(json.dumps({"memory": {"limit": -5}}))
    res = cg.probe("update", "--resources", upd, check=False)
    assert res.returncode != 0
    assert "linux.resources.memory.limit: must be -1" in res.stderr


def test_stats_shape_while_running(cgroup_factory):
    cg = cgroup_factory({"pids": {"limit": 50}})
    pid = cg.spawn("/bin/sh", "-c", "sleep 100 & sleep 100 & wait")
    from cgtools import reap, wait_until
    wait_until(lambda: len(cg.pids()) == 3, what="3 tasks in the cgroup")
    s = cg.stats()
    assert s["pids_stats"] == {"current": 3, "limit": 50}
    assert s["memory_stats"]["usage"] > 0
    assert s["memory_stats"]["limit"] > 0
    assert s["cpu_stats"]["cpu_usage"]["total_usage"] > 0
    assert s["cpu_stats"]["online_cpus"] == os.cpu_count()
    assert s["cpu_stats"]["system_cpu_usage"] > 0
    assert "throttling_data" in s["cpu_stats"]
    assert isinstance(s["blkio_stats"]["io_service_bytes_recursive"], list)
    cg.probe("kill", "--signal", "9")
    assert os.WTERMSIG(reap(pid)) == 9


@pytest.mark.parametrize("resources, error", [
    ({"memory": {"limit": -3}}, "linux.resources.memory.limit: must be -1"),
    ({"cpu": {"shares": 1}}, "linux.resources.cpu.shares: must be between 2 and 262144"),
    ({"hugepageLimits": [{"pageSize": "3MB", "limit": 1}]},
     "linux.resources.hugepageLimits[0].pageSize: 3MB is not a huge page size of this host"),
    ({"devices": [{"allow": True, "type": "q"}]}, "linux.resources.devices[0].type: must be"),
    ({"blockIO": {"weight": 5000}}, "linux.resources.blockIO.weight: must be between 10 and 1000"),
])
def test_bad_resources_fail_and_leave_nothing(cgroup_factory, resources, error):
    cg = cgroup_factory(resources, check=False)
    assert cg.create_result.returncode != 0
    assert error in cg.create_result.stderr
    assert existing_dirs("/" + cg.parent) == []


def test_bad_cgroups_path(tmpdir_berth):
    res = run([probe("cgroup-probe"), "create", "--id", "x", "--path", "/a/../../etc",
               "--state", tmpdir_berth / "s.json"], check=False)
    assert res.returncode != 0
    assert 'linux.cgroupsPath: "/a/../../etc" must not contain' in res.stderr


def root_disk():
    """major:minor of a real disk on this host (not loop/zram/ram)."""
    for dev in sorted(pathlib.Path("/sys/block").iterdir()):
        if dev.name.startswith(("loop", "ram", "zram", "dm-", "sr")):
            continue
        major, minor = (dev / "dev").read_text().strip().split(":")
        return dev.name, int(major), int(minor)
    pytest.skip("no disk")


def test_blkio_weight_and_throttle(tmpdir_berth):
    """Throttle rules on the disk under /tmp; an O_DIRECT read of a file
    there shows up per device in the blkio stats."""
    st = os.stat(tmpdir_berth)
    major, minor = os.major(st.st_dev), os.minor(st.st_dev)
    if not pathlib.Path(f"/sys/dev/block/{major}:{minor}").exists():
        pytest.skip("/tmp is not on a block device")
    data = tmpdir_berth / "data"
    data.write_bytes(os.urandom(64 << 10))
    os.sync()
    res = {"blockIO": {"throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 8 << 20}],
                       "throttleWriteIOPSDevice": [{"major": major, "minor": minor, "rate": 100}]}}
    blkio = v1_mount("blkio")
    # A proportional weight needs an I/O scheduler that has one (bfq; cfq on
    # old kernels): mq-deadline and none offer no weight file, and then the
    # runtime refuses the request by name, as runc does.
    if blkio:
        has_weight = any(pathlib.Path(blkio, f).exists() for f in ("blkio.weight", "blkio.bfq.weight"))
    else:
        # cgroup2: io.weight (iocost) or io.bfq.weight in every child with io
        has_weight = "io" in pathlib.Path(v2_mount(), "cgroup.controllers").read_text().split()
    if has_weight:
        res["blockIO"]["weight"] = 300
    else:
        refused, _ = run_probe(tmpdir_berth, {"blockIO": dict(res["blockIO"], weight=300)}, "/bin/true")
        assert refused.returncode != 0
        assert "linux.resources.blockIO.weight" in refused.stderr, refused.stderr
    script = (f"cat {blkio}/$(grep :blkio: /proc/self/cgroup | cut -d: -f3)/blkio.throttle.read_bps_device; "
              if blkio else "")
    script += f"dd if={data} of=/dev/null bs=4096 iflag=direct"
    out, _ = run_probe(tmpdir_berth, res, "/bin/sh", "-c", script)
    lines = out.stdout.splitlines()
    result = json.loads(lines[-1])
    assert result["exit"] == 0, out.stderr
    if blkio:
        assert f"{major}:{minor} {8 << 20}" in lines, out.stdout
    entries = result["stats"]["blkio_stats"]["io_service_bytes_recursive"]
    reads = [e for e in entries if (e["major"], e["minor"], e["op"].lower()) == (major, minor, "read")]
    assert reads and reads[0]["value"] >= 64 << 10, entries


def test_blkio_bad_device_names_the_field(cgroup_factory):
    cg = cgroup_factory({"blockIO": {"throttleReadBpsDevice": [{"major": 250, "minor": 99, "rate": 1}]}},
                        check=False)
    assert cg.create_result.returncode != 0
    assert "linux.resources.blockIO.throttleReadBpsDevice[0]: write \"250:99 1\"" in cg.create_result.stderr
    assert "No such device" in cg.create_result.stderr


@pytest.mark.skipif(v2_mount() is None, reason="no cgroup2 mount")
def test_unified_keys_go_to_cgroup2(cgroup_factory):
    controllers = pathlib.Path(v2_mount(), "cgroup.controllers").read_text().split()
    if "hugetlb" in controllers and pathlib.Path("/sys/kernel/mm/hugepages/hugepages-2048kB").exists():
        cg = cgroup_factory({"unified": {"hugetlb.2MB.max": str(6 << 20)}})
        assert pathlib.Path(v2_mount() + cg.path, "hugetlb.2MB.max").read_text().strip() == str(6 << 20)
    # A key whose controller is not on cgroup2 here is an error naming it.
    missing = next((c for c in ("memory", "pids", "cpu") if c not in controllers), None)
    if missing is None:
        pytest.skip("every controller is on cgroup2")
    key = {"memory": "memory.high", "pids": "pids.max", "cpu": "cpu.weight"}[missing]
    cg = cgroup_factory({"unified": {key: "1"}}, check=False)
    assert cg.create_result.returncode != 0
    assert f'linux.resources.unified["{key}"]: write "1"' in cg.create_result.stderr


def test_network_without_net_cls_is_ignored_with_a_warning(cgroup_factory):
    """net_cls/net_prio exist only on v1 and are not mounted on every host
    (nor on any pure v2 one): like runc and crun, berth skips them, but says so."""
    cg = cgroup_factory({"network": {"classID": 1048577, "priorities": [{"name": "lo", "priority": 1}]},
                         "pids": {"limit": 9}})
    if v1_mount("net_cls"):
        value = pathlib.Path(v1_mount("net_cls") + cg.path, "net_cls.classid").read_text()
        assert value.strip() == "1048577"
    else:
        assert "linux.resources.network: the net_cls controller is not mounted; ignored" in \
            cg.create_result.stderr
    assert controller_dir("pids", cg.path).joinpath("pids.max").read_text().strip() == "9"


def test_check_before_update_refuses_a_limit_below_usage(cgroup_factory, tmpdir_berth):
    from cgtools import reap, wait_until
    cg = cgroup_factory({"memory": {"limit": 256 << 20}})
    ready = tmpdir_berth / "ready"
    pid = cg.spawn(PY, "-c", f"b = bytearray(40 << 20); open({str(ready)!r}, 'w').close(); "
                   "import time; time.sleep(1000)")
    wait_until(ready.exists, what="the process to hold 40 MiB")
    upd = tmpdir_berth / "upd.json"
    upd.write_text(json.dumps({"memory": {"limit": 16 << 20, "checkBeforeUpdate": True}}))
    res = cg.probe("update", "--resources", upd, check=False)
    assert res.returncode != 0
    assert f"linux.resources.memory.limit: {16 << 20} is below the current usage" in res.stderr
    assert cg.stats()["memory_stats"]["limit"] == 256 << 20  # unchanged
    cg.probe("kill", "--signal", "9")
    assert os.WTERMSIG(reap(pid)) == 9


def test_rdma_needs_the_rdma_controller(cgroup_factory):
    v2 = v2_mount()
    on_v2 = v2 and "rdma" in pathlib.Path(v2, "cgroup.controllers").read_text().split()
    if v1_mount("rdma") or on_v2:
        pytest.skip("this host has the rdma controller (no RDMA device to limit here)")
    cg = cgroup_factory({"rdma": {"mlx5_1": {"hcaHandles": 3}}}, check=False)
    assert cg.create_result.returncode != 0
    assert "linux.resources.rdma: the rdma controller is not available on this host" in \
        cg.create_result.stderr


def test_kernel_tcp_on_v1(cgroup_factory):
    mem = v1_mount("memory")
    if mem is None:
        pytest.skip("kernelTCP exists only on cgroup v1")
    cg = cgroup_factory({"memory": {"limit": 64 << 20, "kernelTCP": 8 << 20, "kernel": 1 << 20}})
    d = pathlib.Path(mem + cg.path)
    assert (d / "memory.kmem.tcp.limit_in_bytes").read_text().strip() == str(8 << 20)


def test_realtime_budget_lets_a_task_become_realtime(tmpdir_berth):
    cpu = v1_mount("cpu")
    if cpu is None or not pathlib.Path(cpu, "cpu.rt_runtime_us").exists():
        pytest.skip("no v1 real-time group scheduling")
    cmd = ("/usr/bin/chrt", "-f", "10", "/bin/true")
    # A new cgroup has no real-time budget: SCHED_FIFO is refused.
    out, _ = run_probe(tmpdir_berth, {"pids": {"limit": 5}}, *cmd)
    assert json.loads(out.stdout.splitlines()[-1])["exit"] != 0
    # With a budget (berth gives its own parents the same), it is allowed.
    out, parent = run_probe(tmpdir_berth, {"cpu": {"realtimeRuntime": 10000, "realtimePeriod": 1000000}},
                            *cmd)
    assert json.loads(out.stdout.splitlines()[-1])["exit"] == 0, out.stderr
