"""Answers where berthd matched dockerd 20.10 only after a request-by-request
diff against the reference engine: the stats of a stopped container, the
nulls of inspect, system df's builder fields, and error messages clients
print as they are."""
import json

from conftest import IMAGE


def test_stats_of_a_running_container_without_network(clean):
    """Go's omitempty: no networks, no pids limit, no failcnt of 0."""
    d = clean
    d.docker("run", "-d", "--name", "sn", "--network", "none", IMAGE, "sleep", "300")
    s = d.api("GET", "/v1.41/containers/sn/stats?stream=0").json()
    assert "networks" not in s and "limit" not in s["pids_stats"], s
    assert s["pids_stats"]["current"] >= 1
    assert "failcnt" not in s["memory_stats"] or s["memory_stats"]["failcnt"] > 0


def test_inspect_lists_every_field_of_a_minimal_create(clean):
    """docker-py sends only what it was given; inspect still has every
    field dockerd's structs print, as their zero values."""
    d = clean
    r = d.api("POST", "/v1.41/containers/create?name=mini", {"Image": IMAGE, "Cmd": ["true"]})
    assert r.status == 201, r
    c = d.api("GET", "/v1.41/containers/mini/json").json()
    hc, cfg = c["HostConfig"], c["Config"]
    assert (hc["Memory"], hc["Privileged"], hc["CgroupParent"], hc["Binds"]) == (0, False, "", None)
    assert hc["ConsoleSize"] == [0, 0] and hc["MemorySwappiness"] is None
    assert hc["PidsLimit"] is None and hc["PortBindings"] is None
    assert not {"Tmpfs", "Sysctls", "StorageOpt", "Init", "Mounts"} & set(hc), sorted(hc)
    assert (cfg["Tty"], cfg["OpenStdin"], cfg["Domainname"], cfg["OnBuild"]) == (False, False, "", None)
    assert not {"Healthcheck", "StopSignal", "Shell", "MacAddress"} & set(cfg), sorted(cfg)


def test_stats_of_a_stopped_container(clean):
    d = clean
    d.docker("create", "--name", "st", IMAGE, "true")
    s = d.api("GET", "/v1.41/containers/st/stats?stream=0").json()
    assert s["read"] == s["preread"] == "0001-01-01T00:00:00Z"
    assert "networks" not in s and s["memory_stats"] == {} and s["num_procs"] == 0
    assert s["cpu_stats"]["cpu_usage"]["total_usage"] == 0
    assert s["cpu_stats"]["throttling_data"] == {"periods": 0, "throttled_periods": 0,
                                                 "throttled_time": 0}
    assert s["blkio_stats"]["io_service_bytes_recursive"] is None
    assert s["name"] == "/st"


def test_inspect_nulls_and_df(clean):
    d = clean
    # the CLI sends MemorySwappiness -1 and PidsLimit 0: "unset" for dockerd
    d.docker("create", "--name", "nl", IMAGE, "true")
    c = json.loads(d.docker("inspect", "nl").stdout)[0]
    assert c["HostConfig"]["MemorySwappiness"] is None and c["HostConfig"]["PidsLimit"] is None
    assert c["HostConfig"]["KernelMemory"] == 0
    assert c["Config"]["Volumes"] is None
    df = d.api("GET", "/v1.41/system/df").json()
    assert df["BuildCache"] is None and df["BuilderSize"] == 0


def test_error_messages(clean):
    d = clean
    r = d.api("GET", "/v1.41/images/nosuch/json")
    assert r.status == 404 and r.json()["message"] == "no such image: nosuch: No such image: nosuch:latest"
    r = d.api("DELETE", "/v1.41/images/nosuch")
    assert r.status == 404 and r.json()["message"] == "No such image: nosuch:latest"
    r = d.api("POST", "/v1.41/containers/create", {"Image": "nosuch"})
    assert r.status == 404 and r.json()["message"] == "No such image: nosuch:latest"
    r = d.api("GET", '/v1.41/containers/json?filters={"bogus":["x"]}')
    assert r.status == 400 and r.json()["message"] == "Invalid filter 'bogus'"
    d.docker("run", "-d", "--name", "ps1", IMAGE, "sleep", "300")
    r = d.api("POST", "/v1.41/containers/ps1/rename")
    assert r.status == 400 and r.json()["message"] == "Neither old nor new names may be empty"
    d.docker("pause", "ps1")
    r = d.api("POST", "/v1.41/containers/ps1/exec", {"Cmd": ["true"]})
    assert r.status == 409
    assert r.json()["message"] == "Container ps1 is paused, unpause the container before exec"
    d.docker("unpause", "ps1")
    r = d.api("POST", "/v1.41/volumes/create", {"Name": "v1", "Driver": "nosuch"})
    assert r.status == 404
    assert r.json()["message"] == 'create v1: error looking up volume plugin nosuch: plugin "nosuch" not found'
    r = d.api("POST", "/v1.41/networks/create", {"Name": "n1", "Driver": "nosuchdriver"})
    assert r.status == 404 and r.json()["message"] == 'plugin "nosuchdriver" not found'
    r = d.api("POST", "/v1.41/containers/nosuch/kill")
    assert r.status == 404
    assert r.json()["message"] == "Cannot kill container: nosuch: No such container: nosuch"


def test_wait_and_logs_as_dockerd_writes_them(clean):
    """wait's object in dockerd's field order (Error first); the logs'
    Content-Type names the frames only from API 1.42 (dockerd 23+)."""
    d = clean
    d.docker("run", "--name", "wl", IMAGE, "sh", "-c", "echo out; exit 2", check=False)
    r = d.api("POST", "/v1.41/containers/wl/wait")
    assert r.status == 200 and r.body == b'{"Error":null,"StatusCode":2}\n', r.body
    for version, ctype in (("v1.41", "application/vnd.docker.raw-stream"),
                           ("v1.42", "application/vnd.docker.multiplexed-stream")):
        r = d.api("GET", f"/{version}/containers/wl/logs?stdout=1")
        assert r.headers["Content-Type"] == ctype, version
        assert r.body == b"\x01\x00\x00\x00\x00\x00\x00\x04out\n"


def test_runtime_name_as_dockerd(clean):
    """HostConfig.Runtime holds the default runtime's name, the one /info
    lists (the only one: berthd runs every container itself); another
    name is refused at create with dockerd's message."""
    d = clean
    info = d.api("GET", "/v1.41/info").json()
    assert info["DefaultRuntime"] == "runc" and list(info["Runtimes"]) == ["runc"]
    d.docker("create", "--name", "rt", IMAGE, "true")
    assert d.docker("inspect", "-f", "{{.HostConfig.Runtime}}", "rt").stdout.strip() == "runc"
    assert d.docker("run", "--rm", "--runtime", "runc", IMAGE, "echo", "ran").stdout == "ran\n"
    r = d.docker("create", "--runtime", "nosuch", IMAGE, "true", check=False)
    assert r.returncode != 0
    assert "Error response from daemon: unknown or invalid runtime name: nosuch" in r.stderr, r.stderr
    r = d.api("POST", "/v1.41/containers/create", {"Image": IMAGE, "HostConfig": {"Runtime": "crun"}})
    assert r.status == 400 and r.json()["message"] == "unknown or invalid runtime name: crun"
    assert d.docker("ps", "-a", "--format", "{{.Names}}").stdout.split() == ["rt"]


MASKED = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
          "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
          "/sys/firmware", "/sys/devices/virtual/powercap"]
READONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]


def mount_points(d, name):
    mi = d.docker("exec", name, "cat", "/proc/self/mountinfo").stdout
    return {line.split()[4] for line in mi.splitlines()}


def test_system_paths_stored_at_create_and_applied(clean):
    """dockerd stores the default MaskedPaths/ReadonlyPaths at create (none
    for --privileged) and the container gets exactly the stored lists: the
    CLI's --security-opt systempaths=unconfined sends empty ones."""
    d = clean
    hc_of = lambda n: json.loads(d.docker("inspect", n).stdout)[0]["HostConfig"]
    d.docker("run", "-d", "--name", "sp-def", IMAGE, "sleep", "300")
    hc = hc_of("sp-def")
    assert hc["MaskedPaths"] == MASKED and hc["ReadonlyPaths"] == READONLY
    points = mount_points(d, "sp-def")
    assert {"/proc/keys", "/proc/timer_list", "/proc/sys"} <= points, points
    d.docker("run", "-d", "--name", "sp-unc", "--security-opt", "systempaths=unconfined", IMAGE,
             "sleep", "300")
    hc = hc_of("sp-unc")
    assert hc["MaskedPaths"] == [] and hc["ReadonlyPaths"] == [] and not hc["SecurityOpt"]
    points = mount_points(d, "sp-unc")
    assert not {"/proc/keys", "/proc/timer_list", "/proc/sys"} & points, points
    d.docker("create", "--name", "sp-priv", "--privileged", IMAGE, "true")
    hc = hc_of("sp-priv")
    assert hc["MaskedPaths"] is None and hc["ReadonlyPaths"] is None
    # a client's own lists are what the container gets
    r = d.api("POST", "/v1.41/containers/create?name=sp-own", {
        "Image": IMAGE, "Cmd": ["sleep", "300"],
        "HostConfig": {"MaskedPaths": ["/proc/keys"], "ReadonlyPaths": ["/proc/fs"]}})
    assert r.status == 201, r
    d.docker("start", "sp-own")
    hc = hc_of("sp-own")
    assert hc["MaskedPaths"] == ["/proc/keys"] and hc["ReadonlyPaths"] == ["/proc/fs"]
    points = mount_points(d, "sp-own")
    assert "/proc/keys" in points and "/proc/fs" in points, points
    assert not {"/proc/timer_list", "/proc/sys"} & points, points


def test_prunes_of_nothing_and_df_order(clean):
    """A prune that removes nothing answers null, but volumes' an empty
    list, as dockerd (trace 14);
    system df lists the containers as GET /containers/json does, newest
    first, entries without endpoint names."""
    d = clean
    for path, key, none in (("/v1.41/containers/prune", "ContainersDeleted", None),
                            ("/v1.41/volumes/prune", "VolumesDeleted", []),
                            ("/v1.41/networks/prune", "NetworksDeleted", None)):
        r = d.api("POST", path)
        assert r.status == 200 and key in r.json() and r.json()[key] == none, (path, r.json())
    for name in ("df-old", "df-mid", "df-new"):
        d.docker("create", "--name", name, IMAGE, "true")
    listed = [c["Names"][0] for c in d.api("GET", "/v1.41/containers/json?all=1").json()]
    df = d.api("GET", "/v1.41/system/df").json()["Containers"]
    assert [c["Names"][0] for c in df] == listed == ["/df-new", "/df-mid", "/df-old"]
    # in the request's API version: DNSNames came with 1.44
    eps = [ep for c in df for ep in c["NetworkSettings"]["Networks"].values()]
    assert eps and not any("DNSNames" in ep for ep in eps), eps
    eps = [ep for c in d.api("GET", "/v1.44/system/df").json()["Containers"]
           for ep in c["NetworkSettings"]["Networks"].values()]
    assert eps and all("DNSNames" in ep for ep in eps), eps
    ep = df[0]["NetworkSettings"]["Networks"]["bridge"]
    assert ep["Aliases"] is None
    r = d.api("POST", "/v1.41/containers/prune")
    assert sorted(r.json()["ContainersDeleted"]) == sorted(c["Id"] for c in df)


def test_rename_update_changes_as_dockerd(clean):
    """dockerd's words and nulls where the reference-engine diff showed
    berthd's differed: rename onto a used name, update's Warnings, and the
    changes of a container that changed nothing."""
    d = clean
    d.docker("create", "--name", "rn-a", IMAGE, "true")
    cid = d.docker("create", "--name", "rn-b", IMAGE, "true").stdout.strip()
    r = d.api("POST", "/v1.41/containers/rn-a/rename?name=rn-b")
    assert r.status == 409
    assert r.json()["message"] == (
        f'Error when allocating new name: Conflict. The container name "/rn-b" is already in use '
        f'by container "{cid}". You have to remove (or rename) that container to be able to '
        f'reuse that name.')
    r = d.api("POST", "/v1.41/containers/rn-a/update", {"RestartPolicy": {"Name": "always"}})
    assert r.status == 200 and r.body == b'{"Warnings":null}\n', r.body
    r = d.api("GET", "/v1.41/containers/rn-a/changes")
    assert r.status == 200 and r.json() is None
    assert d.docker("diff", "rn-a").stdout == ""


def test_create_stores_dockerds_defaults(clean):
    """ShmSize, MemorySwap and CgroupnsMode left unset are stored as what
    the container gets (dockerd stores its defaults at create): a 64 MiB
    /dev/shm, swap twice the memory limit, a private cgroup namespace."""
    d = clean
    d.docker("run", "-d", "--name", "df1", "--memory", "64m", IMAGE, "sleep", "300")
    hc = json.loads(d.docker("inspect", "df1").stdout)[0]["HostConfig"]
    assert hc["ShmSize"] == 64 << 20 and hc["MemorySwap"] == 128 << 20, hc
    assert hc["CgroupnsMode"] == "private"
    shm = d.docker("exec", "df1", "df", "-k", "/dev/shm").stdout.splitlines()[-1].split()
    assert int(shm[1]) == 64 << 10, shm
    # the container's cgroup is the root of its own cgroup namespace
    assert d.docker("exec", "df1", "cat", "/proc/self/cgroup").stdout.splitlines()[-1].endswith(":/")
    # what the client gives stays
    d.docker("create", "--name", "df2", "--shm-size", "8m", "--memory", "64m", "--memory-swap",
             "96m", "--cgroupns", "host", IMAGE, "true")
    hc = json.loads(d.docker("inspect", "df2").stdout)[0]["HostConfig"]
    assert (hc["ShmSize"], hc["MemorySwap"], hc["CgroupnsMode"]) == (8 << 20, 96 << 20, "host")
