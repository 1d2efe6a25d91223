"""The /networks endpoints of berthd, driven by the stock docker CLI and
docker-py: create/ls/inspect/rm/prune in docker's shapes, errors as docker
gives them, persistence over a restart, events. The bridge device and the
nftables table carry this run's tag; they are removed after the test."""
import importlib.util
import json
import secrets
import time

import pytest

from berthtest import ROOT, run
from conftest import TAG, links, nft_tables, one_shot

_spec = importlib.util.spec_from_file_location(
    "daemon_conftest", ROOT / "tests" / "integration" / "daemon" / "conftest.py")
if _spec is None or not (ROOT / "tests" / "integration" / "daemon" / "conftest.py").exists():
    pytest.skip("berthd's test fixtures are not in this tree", allow_module_level=True)
daemon_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(daemon_conftest)

API_TABLE = f"berth_api_{TAG}"
DEVICE = f"bt{TAG}d"


@pytest.fixture
def daemon(tmpdir_berth):
    octet = 100 + secrets.randbelow(100)
    config = {"bridge": DEVICE, "bip": f"10.{octet}.1.1/24", "nft-table": API_TABLE,
              "default-address-pools": [{"base": f"10.{octet}.64.0/18", "size": 24}],
              "dns": ["127.0.0.1"]}
    d = daemon_conftest.Berthd(tmpdir_berth / "berthd", config=config)
    d.octet = octet
    try:
        d.start()
        yield d
    finally:
        try:
            d.stop()
        finally:
            # Networks outlive berthd (as docker0 does); the test removes
            # them, whatever happened to berthd.
            res = one_shot(d.data_root / "network", "destroy", table=API_TABLE)
            assert res["ok"], res
            assert not {n for n in links() if n.startswith(f"bt{TAG}")}
            assert f"table ip {API_TABLE}" not in nft_tables()


def test_docker_cli_network_lifecycle(daemon):
    o = daemon.octet
    ls = daemon.docker("network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}").stdout
    assert ls.split("\n")[:3] == ["bridge bridge local", "host host local", "none null local"]
    bridge = json.loads(daemon.docker("network", "inspect", "bridge").stdout)[0]
    assert bridge["IPAM"]["Config"] == [{"Subnet": f"10.{o}.1.0/24", "Gateway": f"10.{o}.1.1"}]
    assert f"10.{o}.1.1/24" in run(["ip", "-o", "-4", "addr", "show", DEVICE]).stdout

    name = f"web{TAG}"
    net_id = daemon.docker("network", "create", "--subnet", f"10.{o}.2.0/24",
                           "--gateway", f"10.{o}.2.254", "--ip-range", f"10.{o}.2.128/25",
                           "--label", "team=net", "--internal",
                           "--opt", f"com.docker.network.bridge.name=bt{TAG}w",
                           "--opt", "com.docker.network.driver.mtu=1400", name).stdout.strip()
    assert len(net_id) == 64
    n = json.loads(daemon.docker("network", "inspect", name).stdout)[0]
    assert n["Id"] == net_id and n["Driver"] == "bridge" and n["Internal"] is True
    assert n["IPAM"] == {"Driver": "default", "Options": None,
                         "Config": [{"Subnet": f"10.{o}.2.0/24", "Gateway": f"10.{o}.2.254",
                                     "IPRange": f"10.{o}.2.128/25"}]}
    assert n["Labels"] == {"team": "net"} and n["Containers"] == {}
    assert n["Options"]["com.docker.network.driver.mtu"] == "1400"
    assert "mtu 1400" in run(["ip", "-o", "link", "show", f"bt{TAG}w"]).stdout

    # An automatic subnet comes from the configured pool.
    auto = f"auto{TAG}"
    daemon.docker("network", "create", "--opt", f"com.docker.network.bridge.name=bt{TAG}a", auto)
    sub = json.loads(daemon.docker("network", "inspect", auto).stdout)[0]["IPAM"]["Config"][0]
    assert sub["Subnet"] == f"10.{o}.64.0/24"

    # Filters.
    fmt = ["--format", "{{.Name}}"]
    assert daemon.docker("network", "ls", "-f", "label=team=net", *fmt).stdout.split() == [name]
    assert set(daemon.docker("network", "ls", "-f", "type=custom", *fmt).stdout.split()) == {
        name, auto}
    assert daemon.docker("network", "ls", "-f", f"name=web{TAG}", *fmt).stdout.split() == [name]
    assert daemon.docker("network", "ls", "-f", f"id={net_id[:10]}", *fmt).stdout.split() == [name]

    # Errors, as docker words them where it matters.
    cases = [
        (("network", "create", name), "already exists"),
        (("network", "create", "--subnet", f"10.{o}.2.0/25", f"x{TAG}"), "overlaps"),
        (("network", "create", "--subnet", f"10.{o}.3.1/24", f"x{TAG}"), "host bits"),
        (("network", "create", "--driver", "overlay", f"x{TAG}"), "not supported"),
        (("network", "create", "--ipv6", f"x{TAG}"), "IPv6"),
        (("network", "rm", f"nope{TAG}"), "not found"),
        (("network", "inspect", f"nope{TAG}"), "not found"),
        (("network", "rm", "bridge"), "pre-defined"),
        (("network", "rm", "host"), "pre-defined"),
    ]
    for args, msg in cases:
        res = daemon.docker(*args, check=False)
        assert res.returncode != 0 and msg in res.stderr, (args, res.stderr)
    assert daemon.api("DELETE", "/v1.41/networks/bridge").status == 403
    assert daemon.api("GET", f"/v1.41/networks/nope{TAG}").status == 404
    bad = daemon.api("POST", "/v1.41/networks/create", body={"Name": f"y{TAG}", "IPAM": {
        "Config": [{"Subnet": "10.0.0.0/8"}, {"Subnet": "fd00::/64"}]}})
    assert bad.status == 400 and b"one IPv4 pool" in bad.body
    bad = daemon.api("POST", "/v1.41/networks/create", body={"Name": 7})
    assert bad.status == 400 and b"Name" in bad.body
    assert not {n for n in links() if n.startswith(f"bt{TAG}")} - {DEVICE, f"bt{TAG}w", f"bt{TAG}a"}

    def network_events():
        events = daemon.api("GET", "/v1.41/events", query={
            "since": "1", "until": str(int(time.time()) + 1),
            "filters": json.dumps({"type": ["network"]})}).lines()
        return [(e["Action"], e["Actor"]["Attributes"].get("name")) for e in events]

    assert ("create", name) in network_events()

    # Networks survive a restart of berthd.
    daemon.restart()
    assert set(daemon.docker("network", "ls", "-f", "type=custom", *fmt).stdout.split()) == {
        name, auto}

    # prune honours label filters; rm removes the device.
    pruned = daemon.docker("network", "prune", "-f", "--filter", "label=team=net").stdout
    assert name in pruned and auto not in pruned
    assert f"bt{TAG}w" not in links()
    daemon.docker("network", "rm", auto)
    assert f"bt{TAG}a" not in links()
    actions = network_events()
    assert ("destroy", name) in actions and ("destroy", auto) in actions


def test_docker_py_networks(daemon):
    client = daemon.client()
    net = client.networks.create(f"py{TAG}", driver="bridge", labels={"k": "v"},
                                 options={"com.docker.network.bridge.name": f"bt{TAG}p"})
    assert client.networks.get(net.id).name == f"py{TAG}"
    assert f"py{TAG}" in [n.name for n in client.networks.list()]
    assert [n.name for n in client.networks.list(filters={"label": "k=v"})] == [f"py{TAG}"]
    net.remove()
    assert f"bt{TAG}p" not in links()


def test_berthd_runs_without_networking_when_its_state_is_unusable(tmpdir_berth):
    """Another process holds <data-root>/network: berthd still starts (and
    serves everything else), /networks answers 503 saying why."""
    from conftest import NetTool
    d = daemon_conftest.Berthd(tmpdir_berth / "berthd", config={"nft-table": API_TABLE})
    holder = NetTool(d.data_root / "network", table=API_TABLE)
    try:
        holder.ok("ls")
        d.start()
        try:
            assert d.api("GET", "/_ping").status == 200
            r = d.api("GET", "/v1.41/networks")
            assert r.status == 503 and b"lock" in r.body, r
            res = d.docker("network", "ls", check=False)
            assert res.returncode != 0 and "networking is not available" in res.stderr
        finally:
            d.stop()
    finally:
        holder.close()
