"""NetworkSettings.Networks.<net>.Aliases and DNSNames by API version, as
dockerd 25+ answers them: from 1.45 Aliases are the user's aliases exactly
and DNSNames the names the embedded DNS answers (name, aliases, short id,
hostname); below 1.45 inspect's Aliases of a user-defined network also carry
the short id and the hostname; below 1.44 (the version that added it) there
is no DNSNames. And docker-compose 1.29's create/disconnect/connect of
trace 15 keeps working."""
import uuid

from conftest import IMAGE, TAG


def uniq(prefix):
    return f"{prefix}-{TAG}-{uuid.uuid4().hex[:6]}"


def endpoint(bd, version, ref, net):
    r = bd.api("GET", f"/v{version}/containers/{ref}/json")
    assert r.status == 200, r
    return r.json()["NetworkSettings"]["Networks"][net]


def listed_endpoint(bd, version, ref, net):
    r = bd.api("GET", f'/v{version}/containers/json?all=1&filters={{"name":["{ref}"]}}')
    assert r.status == 200, r
    (entry,) = r.json()
    return entry["NetworkSettings"]["Networks"][net]


def test_aliases_and_dns_names_by_api_version(bd):
    net = uniq("names")
    bd.docker("network", "create", net)
    name = uniq("ep")
    cid = bd.docker("run", "-d", "--name", name, "--network", net, "--network-alias", "al1",
                    "--hostname", "hn" + TAG, IMAGE, "sleep", "300").stdout.strip()
    short = cid[:12]
    try:
        ep = endpoint(bd, "1.47", name, net)
        assert ep["Aliases"] == ["al1"]
        assert ep["DNSNames"] == [name, "al1", short, "hn" + TAG]
        ep = endpoint(bd, "1.44", name, net)
        assert ep["Aliases"] == ["al1", short, "hn" + TAG]
        assert ep["DNSNames"] == [name, "al1", short, "hn" + TAG]
        ep = endpoint(bd, "1.41", name, net)
        assert ep["Aliases"] == ["al1", short, "hn" + TAG]
        assert "DNSNames" not in ep
        # a list entry has the addresses only (dockerd's snapshot copies
        # no names); DNSNames from 1.44 only
        for version in ("1.41", "1.47"):
            ep = listed_endpoint(bd, version, name, net)
            assert ep["Aliases"] is None and ep["IPAddress"], (version, ep)
            assert ("DNSNames" in ep) == (version == "1.47") and ep.get("DNSNames") is None
        # the stock CLI (it speaks 1.47 to berthd) sees the same
        assert bd.docker("inspect", "-f", f"{{{{json (index .NetworkSettings.Networks \"{net}\").Aliases}}}}",
                         name).stdout.strip() == '["al1"]'
        # every DNSName resolves from a container on the network, the
        # --hostname too (docker 25+)
        ip = endpoint(bd, "1.47", name, net)["IPAddress"]
        script = "; ".join(f"nslookup {n} | tail -n +3" for n in (name, "al1", short, "hn" + TAG))
        out = bd.docker("run", "--rm", "--network", net, IMAGE, "sh", "-c", script).stdout
        assert out.count(ip) == 4, out
        # a stopped container keeps its DNSNames (dockerd keeps the endpoint
        # settings of the last start)
        bd.docker("stop", "-t", "0", name)
        assert endpoint(bd, "1.47", name, net)["DNSNames"] == [name, "al1", short, "hn" + TAG]
    finally:
        bd.docker("rm", "-f", name)
        bd.docker("network", "rm", net)


def test_default_bridge_and_created_containers(bd):
    name = uniq("br")
    bd.docker("run", "-d", "--name", name, IMAGE, "sleep", "300")
    net = uniq("cr")
    host = uniq("host")
    bd.docker("network", "create", net)
    created = uniq("cr")
    ccid = bd.docker("create", "--name", created, "--network", net, "--network-alias", "x",
                     IMAGE, "true").stdout.strip()
    try:
        for version in ("1.41", "1.47"):
            ep = endpoint(bd, version, name, "bridge")
            assert ep["Aliases"] is None and ep["IPAddress"], (version, ep)
        assert endpoint(bd, "1.47", name, "bridge")["DNSNames"] is None
        assert "DNSNames" not in endpoint(bd, "1.41", name, "bridge")
        # never started: no DNS names yet; old clients still see the short id
        ep = endpoint(bd, "1.47", created, net)
        assert ep["Aliases"] == ["x"] and ep["DNSNames"] is None
        assert endpoint(bd, "1.41", created, net)["Aliases"] == ["x", ccid[:12]]
        # host mode: not user-defined, nothing added
        bd.docker("create", "--name", host, "--network", "host", IMAGE, "true")
        assert endpoint(bd, "1.41", host, "host")["Aliases"] is None
        assert endpoint(bd, "1.47", host, "host")["DNSNames"] is None
    finally:
        bd.docker("rm", "-f", name, created, host, check=False)
        bd.docker("network", "rm", net)


def test_compose_v1_reconnect_with_short_id_alias(bd):
    """docker-compose 1.29 (trace 15) at API 1.41: create with the service
    alias, disconnect, connect with [short id, service], start; the
    service name resolves and nothing is listed twice."""
    net = uniq("trc")
    r = bd.api("POST", "/v1.41/networks/create", {"Name": net, "Driver": "bridge",
                                                  "CheckDuplicate": True, "Attachable": True})
    assert r.status == 201, r
    name = uniq("web")
    r = bd.api("POST", f"/v1.41/containers/create?name={name}", {
        "Image": IMAGE, "Cmd": ["httpd", "-f", "-p", "8080", "-h", "/"],
        "HostConfig": {"NetworkMode": net},
        "NetworkingConfig": {"EndpointsConfig": {net: {"Aliases": ["web"], "IPAMConfig": {}}}}})
    assert r.status == 201, r
    cid = r.json()["Id"]
    short = cid[:12]
    try:
        assert bd.api("POST", f"/v1.41/networks/{net}/disconnect", {"Container": cid}).status == 200
        r = bd.api("POST", f"/v1.41/networks/{net}/connect",
                   {"Container": cid, "EndpointConfig": {"Aliases": [short, "web"]}})
        assert r.status == 200, r
        assert bd.api("POST", f"/v1.41/containers/{cid}/start").status == 204
        assert endpoint(bd, "1.41", cid, net)["Aliases"] == [short, "web"]
        ep = endpoint(bd, "1.47", cid, net)
        assert ep["Aliases"] == [short, "web"]
        assert ep["DNSNames"] == [name, short, "web"]
        out = bd.docker("run", "--rm", "--network", net, IMAGE, "nslookup", "web").stdout
        assert ep["IPAddress"] in out, out
    finally:
        bd.docker("rm", "-f", cid)
        bd.docker("network", "rm", net)


def test_network_connect_disconnect_events_at_start_and_stop(bd):
    """dockerd emits "network connect" at every start and "network
    disconnect" at every stop, once per network, the network as the actor:
    on a user network and on the default bridge alike."""
    import json
    import time
    net = uniq("ev")
    nid = bd.docker("network", "create", net).stdout.strip()
    bid = bd.docker("network", "inspect", "-f", "{{.Id}}", "bridge").stdout.strip()
    since = int(time.time()) - 1
    on_net = bd.docker("run", "-d", "--network", net, IMAGE, "sleep", "300").stdout.strip()
    on_bridge = bd.docker("run", "-d", IMAGE, "sleep", "300").stdout.strip()
    bd.docker("stop", "-t", "0", on_net, on_bridge)
    bd.docker("rm", on_net, on_bridge)
    bd.docker("network", "rm", net)
    until = int(time.time()) + 1
    out = bd.docker("events", "--since", str(since), "--until", str(until), "--filter",
                    "type=network", "--format", "{{json .}}").stdout
    seen = [(e["Action"], e["Actor"]["ID"], e["Actor"]["Attributes"].get("container"),
             e["Actor"]["Attributes"].get("name"))
            for e in map(json.loads, out.splitlines())]
    for action in ("connect", "disconnect"):
        assert seen.count((action, nid, on_net, net)) == 1, seen
        assert seen.count((action, bid, on_bridge, "bridge")) == 1, seen
    assert seen.index(("connect", nid, on_net, net)) < seen.index(("disconnect", nid, on_net, net))
