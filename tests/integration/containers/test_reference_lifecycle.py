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
