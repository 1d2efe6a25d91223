"""Where berthd's container lifecycle must look like the reference dockerd
(Debian's 20.10, observed side by side): the order of the events of a stop
and of an exit, the volume mount/unmount events, HostConfig.IpcMode and the
ExecIDs of a stopped container."""
import json
import time

from conftest import IMAGE, wait_for


def events_of(d, cid, since):
    """The events about container cid since `since`: its own, and those of
    networks and volumes naming it (or, for a volume, created for it)."""
    out = d.docker("events", "--since", f"{since:.3f}", "--until", f"{time.time() + 1:.3f}",
                   "--format", "{{json .}}").stdout
    evs = []
    for e in map(json.loads, out.splitlines()):
        a = e["Actor"]["Attributes"]
        if e["Actor"]["ID"] == cid or a.get("container") == cid:
            evs.append(e)
    return evs


def test_stop_events_in_dockerd_order(clean):
    """docker stop: kill (15) → kill (9) → die → network disconnect (one per
    network, the network as actor) → stop; --rm: die → network disconnect →
    destroy. dockerd sends die before releasing the network: compose and
    friends act on die."""
    d = clean
    net = d.docker("network", "create", "evorder").stdout.strip()
    try:
        since = time.time() - 1
        cid = d.docker("run", "-d", "--network", "evorder", IMAGE, "sleep", "300").stdout.strip()
        d.docker("stop", "-t", "0", cid)
        seq = [(e["Type"], e["Action"]) for e in events_of(d, cid, since)
               if e["Type"] in ("container", "network")]
        assert seq[-5:] == [("container", "kill"), ("container", "kill"), ("container", "die"),
                            ("network", "disconnect"), ("container", "stop")], seq
        disc = [e for e in events_of(d, cid, since) if e["Action"] == "disconnect"]
        assert [e["Actor"]["ID"] for e in disc] == [net]
        d.docker("rm", cid)

        since = time.time() - 1
        cid = d.docker("run", "-d", "--rm", "--network", "evorder", IMAGE, "true").stdout.strip()
        d.docker("wait", cid, check=False)

        def lifecycle():
            seq = [(e["Type"], e["Action"]) for e in events_of(d, cid, since)
                   if e["Type"] in ("container", "network")]
            return seq if seq and seq[-1] == ("container", "destroy") else None
        seq = wait_for(lifecycle, what="the destroy of the --rm container")
        assert seq[-3:] == [("container", "die"), ("network", "disconnect"),
                            ("container", "destroy")], seq
    finally:
        d.docker("network", "rm", "evorder", check=False)


def test_volume_events_of_run_stop_and_rm(clean):
    """dockerd: `volume create` for a volume a run creates, `volume mount`
    (container, destination, driver, propagation, read/write) per volume
    before `start`, `volume unmount` (container, driver) after the network
    disconnect of the exit; --rm: unmount, then the anonymous volume's
    destroy, then the container's."""
    d = clean
    since = time.time() - 1
    cid = d.docker("run", "-d", "-v", "evvol:/data:ro", "-v", "/anon", IMAGE,
                   "sleep", "300").stdout.strip()
    anon = [m["Name"] for m in json.loads(d.docker("inspect", cid).stdout)[0]["Mounts"]
            if m["Destination"] == "/anon"][0]
    d.docker("stop", "-t", "0", cid)
    evs = events_of(d, cid, since)
    out = d.docker("events", "--since", f"{since:.3f}", "--until", f"{time.time() + 1:.3f}",
                   "--filter", "type=volume", "--filter", "event=create",
                   "--format", "{{.Actor.ID}}").stdout.split()
    assert "evvol" in out and anon in out
    seq = [(e["Type"], e["Action"], e["Actor"]["ID"]) for e in evs]
    assert seq.index(("volume", "mount", "evvol")) < seq.index(("container", "start", cid))
    assert seq.index(("volume", "mount", anon)) < seq.index(("container", "start", cid))
    mounts = {e["Actor"]["ID"]: e["Actor"]["Attributes"] for e in evs if e["Action"] == "mount"}
    assert mounts == {
        "evvol": {"container": cid, "destination": "/data", "driver": "local",
                  "propagation": "", "read/write": "false"},
        anon: {"container": cid, "destination": "/anon", "driver": "local",
               "propagation": "", "read/write": "true"}}
    unmounts = [(e["Actor"]["ID"], e["Actor"]["Attributes"]) for e in evs
                if e["Action"] == "unmount"]
    assert sorted(unmounts) == sorted([("evvol", {"container": cid, "driver": "local"}),
                                       (anon, {"container": cid, "driver": "local"})])
    die = seq.index(("container", "die", cid))
    disc = [i for i, s in enumerate(seq) if s[1] == "disconnect"]
    first_unmount = min(i for i, s in enumerate(seq) if s[1] == "unmount")
    assert die < max(disc) < first_unmount < seq.index(("container", "stop", cid)), seq
    # a start again mounts again; removing a stopped container unmounts nothing
    since = time.time() - 1
    d.docker("start", cid)
    d.docker("rm", "-f", "-v", cid)
    seq = [(e["Type"], e["Action"]) for e in events_of(d, cid, since)]
    assert seq.count(("volume", "mount")) == 2 and seq.count(("volume", "unmount")) == 2, seq
    d.docker("volume", "rm", "evvol")

    since = time.time() - 1
    cid = d.docker("run", "-d", "--rm", "-v", "/anon2", IMAGE, "true").stdout.strip()

    def removed():
        out = d.docker("events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}",
                       "--format", "{{json .}}").stdout
        seq = [(e["Type"], e["Action"]) for e in map(json.loads, out.splitlines())
               if e["Type"] in ("container", "volume", "network")]
        return seq if seq and seq[-1] == ("container", "destroy") else None
    seq = removed() or wait_for(removed, what="the destroy of the --rm container")
    assert seq[-5:] == [("container", "die"), ("network", "disconnect"), ("volume", "unmount"),
                        ("volume", "destroy"), ("container", "destroy")], seq


def test_exec_ids_as_dockerd_keeps_them(clean):
    """dockerd: ExecIDs lists a container's execs that did not end (created
    or running); an exec that exited leaves the list but stays inspectable;
    at the container's stop the ones never started are dropped (GET
    /exec/<id>/json: 404) and a stopped container shows "ExecIDs": null."""
    d = clean
    cid = d.docker("run", "-d", IMAGE, "sleep", "300").stdout.strip()

    def create(cmd):
        r = d.api("POST", f"/v1.41/containers/{cid}/exec", body={"Cmd": cmd})
        assert r.status == 201, r
        return r.json()["Id"]
    done, idle = create(["true"]), create(["true"])
    running = create(["sleep", "300"])
    ids = lambda: json.loads(d.docker("inspect", cid).stdout)[0]["ExecIDs"]
    assert sorted(ids()) == sorted([done, idle, running])
    assert d.api("POST", f"/v1.41/exec/{done}/start", body={"Detach": True}).status == 200
    assert d.api("POST", f"/v1.41/exec/{running}/start", body={"Detach": True}).status == 200
    wait_for(lambda: d.api("GET", f"/v1.41/exec/{done}/json").json()["Running"] is False
             and sorted(ids()) == sorted([idle, running]), what="the exited exec to leave ExecIDs")
    info = d.api("GET", f"/v1.41/exec/{done}/json")
    assert info.status == 200 and info.json()["ExitCode"] == 0
    d.docker("stop", "-t", "0", cid)
    assert ids() is None
    assert d.api("GET", f"/v1.41/exec/{idle}/json").status == 404
    assert d.api("GET", f"/v1.41/exec/{done}/json").status == 200
    # a start again begins with none
    d.docker("start", cid)
    assert ids() is None


def test_ipc_modes_as_dockerd_stores_and_applies_them(clean):
    """HostConfig.IpcMode: "" is stored as dockerd's default "private";
    none/private/shareable/host stay as given; container:<name> is stored
    by the donor's full id; a bad one is dockerd's "Invalid IPC mode". The
    OCI config follows: own namespace (none: without /dev/shm), the host's,
    or the donor's, which must share it (shareable, host or joined)."""
    d = clean
    mode = lambda c: json.loads(d.docker("inspect", c).stdout)[0]["HostConfig"]["IpcMode"]
    ns = lambda c: d.docker("exec", c, "readlink", "/proc/self/ns/ipc").stdout.strip()
    d.docker("create", "--name", "ipcdef", IMAGE, "true")
    assert mode("ipcdef") == "private"
    for m in ("none", "private", "shareable", "host"):
        d.docker("create", "--name", f"ipc{m}", "--ipc", m, IMAGE, "true")
        assert mode(f"ipc{m}") == m
    res = d.docker("create", "--ipc", "bogus", IMAGE, "true", check=False)
    assert res.returncode != 0 and "Invalid IPC mode: bogus" in res.stderr, res.stderr
    res = d.docker("create", "--ipc", "container:nosuch", IMAGE, "true", check=False)
    assert res.returncode != 0 and "No such container: nosuch" in res.stderr, res.stderr

    host_ns = __import__("os").readlink("/proc/self/ns/ipc")
    d.docker("run", "-d", "--name", "ipchostrun", "--ipc", "host", IMAGE, "sleep", "300")
    assert ns("ipchostrun") == host_ns
    out = d.docker("run", "--rm", "--ipc", "none", IMAGE, "sh", "-c",
                   "grep -c ' /dev/shm ' /proc/mounts; test -e /dev/shm || echo gone",
                   check=False).stdout
    assert out.split() == ["0", "gone"], out
    out = d.docker("run", "--rm", IMAGE, "grep", " /dev/shm ", "/proc/mounts").stdout
    assert out.split()[2] == "tmpfs", out

    private = d.docker("run", "-d", "--name", "donorp", IMAGE, "sleep", "300").stdout.strip()
    shared = d.docker("run", "-d", "--name", "donors", "--ipc", "shareable", IMAGE,
                      "sleep", "300").stdout.strip()
    assert ns("donorp") != host_ns and ns("donors") not in (host_ns, ns("donorp"))
    d.docker("create", "--name", "joinp", "--ipc", "container:donorp", IMAGE, "sleep", "300")
    assert mode("joinp") == f"container:{private}"
    res = d.docker("start", "joinp", check=False)
    assert res.returncode != 0 and (
        f"can't join IPC of container {private}: non-shareable IPC (hint: use "
        "IpcMode:shareable for the donor container)") in res.stderr, res.stderr
    d.docker("run", "-d", "--name", "joins", "--ipc", "container:donors", IMAGE, "sleep", "300")
    assert ns("joins") == ns("donors")
    # a container that joined a shareable one can be joined in turn, a
    # host one too
    d.docker("run", "-d", "--name", "joins2", "--ipc", "container:joins", IMAGE, "sleep", "300")
    assert ns("joins2") == ns("donors")
    d.docker("run", "-d", "--name", "joinh", "--ipc", "container:ipchostrun", IMAGE,
             "sleep", "300")
    assert ns("joinh") == host_ns
    d.docker("stop", "-t", "0", "donors")
    d.docker("create", "--name", "joinlate", "--ipc", "container:donors", IMAGE, "true")
    res = d.docker("start", "joinlate", check=False)
    assert res.returncode != 0 and (
        f"can't join IPC of container {shared}: container {shared} is not running"
        in res.stderr), res.stderr


def test_none_and_host_networks_connect_and_disconnect(clean):
    """dockerd joins a container of --network none or host to the predefined
    network of that name: one `network connect` at its start (actor the
    network, type null or host) and one `network disconnect` after its die,
    also when the removal of a --rm container follows the exit."""
    d = clean
    for mode, driver in (("none", "null"), ("host", "host")):
        net = d.docker("network", "inspect", "-f", "{{.Id}}", mode).stdout.strip()
        since = time.time() - 1
        cid = d.docker("run", "-d", "--network", mode, IMAGE, "sleep", "300").stdout.strip()
        d.docker("stop", "-t", "0", cid)
        evs = [e for e in events_of(d, cid, since) if e["Type"] in ("container", "network")]
        seq = [(e["Type"], e["Action"]) for e in evs]
        assert seq.count(("network", "connect")) == 1, seq
        assert seq.index(("network", "connect")) < seq.index(("container", "start")), seq
        assert seq[-3:] == [("container", "die"), ("network", "disconnect"),
                            ("container", "stop")], seq
        for e in evs:
            if e["Type"] == "network":
                assert e["Actor"]["ID"] == net, e
                assert e["Actor"]["Attributes"]["name"] == mode, e
                assert e["Actor"]["Attributes"]["type"] == driver, e
        d.docker("rm", cid)

        since = time.time() - 1
        cid = d.docker("run", "-d", "--rm", "--network", mode, IMAGE, "true").stdout.strip()
        d.docker("wait", cid, check=False)

        def lifecycle():
            seq = [(e["Type"], e["Action"]) for e in events_of(d, cid, since)
                   if e["Type"] in ("container", "network")]
            return seq if seq and seq[-1] == ("container", "destroy") else None
        seq = wait_for(lifecycle, what="the destroy of the --rm container")
        assert seq.count(("network", "disconnect")) == 1, seq
        assert seq[-3:] == [("container", "die"), ("network", "disconnect"),
                            ("container", "destroy")], seq
