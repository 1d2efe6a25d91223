"""Containers on networks through berthd, with the stock docker CLI and
docker-py: the default bridge, user networks with embedded DNS, published
ports reached from the host over 127.0.0.1, isolation, connect/disconnect,
none/host modes, NetworkSettings, and no veth/rule left after removals or
after berthd was killed. Traffic stays on loopback and between the
containers' namespaces."""
import json
import os
import re
import socket
import subprocess
import time
import uuid

import pytest

from conftest import IMAGE, TAG, free_port, links, nft_tables


def uniq(prefix):
    return f"{prefix}-{TAG}-{uuid.uuid4().hex[:6]}"


def http_get(port, path="/", host="127.0.0.1", timeout=5):
    deadline = time.time() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=2) as s:
                s.sendall(f"GET {path} HTTP/1.0\r\nHost: x\r\n\r\n".encode())
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                return data.decode(errors="replace")
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def bridge_of(bd, net):
    nid = bd.docker("network", "inspect", "-f", "{{.Id}}", net).stdout.strip()
    return "br-" + nid[:12]


def veths_on(bridge):
    path = f"/sys/class/net/{bridge}/brif"
    return set(os.listdir(path)) if os.path.isdir(path) else set()


def veths_settled(bridge, count):
    """The veths on the bridge once a removal's deferred veth deletion is
    done: berthd releases a removed container's addresses, ports and names
    before it answers, and deletes the host end of its veth on a worker
    after. Waits up to 10 s for `count` of them; returns what is there."""
    deadline = time.time() + 10
    while time.time() < deadline and len(veths_on(bridge)) != count:
        time.sleep(0.02)
    return veths_on(bridge)


def run_in(bd, net, script, check=True, extra=()):
    return bd.docker("run", "--rm", "--network", net, *extra, IMAGE, "sh", "-c", script, check=check)


def web(bd, net, name, *extra):
    """busybox httpd serving /etc (its hostname is the answer to /hostname)."""
    bd.docker("run", "-d", "--name", name, "--network", net, *extra, IMAGE,
              "httpd", "-f", "-p", "80", "-h", "/etc")


NC_GET = "printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {host} 80"


def test_default_bridge_addresses_hosts_resolv(bd):
    r = bd.docker("run", "--rm", IMAGE, "sh", "-c",
                  "ip -o -4 addr show eth0; ip route; cat /etc/resolv.conf; cat /etc/hosts; "
                  "cat /etc/hostname; ip -o link show lo")
    out = r.stdout
    m = re.search(r"inet (\d+\.\d+\.\d+\.\d+)/(\d+)", out)
    assert m, out
    assert "default via" in out
    assert "state UNKNOWN" in out or ",UP" in out.split("lo:")[1]
    # the default bridge gets the host's resolvers minus localhost ones
    assert "nameserver 127." not in out
    hostname = out.strip().splitlines()[-2]
    assert f"{m.group(1)}\t{hostname}" in out
    # the default bridge is berthd's own device, on the subnet it picked
    dev = bd.network["bridge"]
    assert os.path.isdir(f"/sys/class/net/{dev}")
    assert veths_settled(dev, 0) == set(), "the run --rm container's veth stayed on the bridge"


def test_user_network_dns_names_aliases_and_removal(bd):
    net = uniq("net")
    bd.docker("network", "create", net)
    a, b = uniq("a"), uniq("b")
    web(bd, net, a, "--network-alias", "svc-" + TAG)
    bd.docker("run", "-d", "--name", b, "--network", net, IMAGE, "sleep", "300")
    hn_a = bd.docker("inspect", "-f", "{{.Config.Hostname}}", a).stdout.strip()
    r = bd.docker("exec", b, "sh", "-c",
                  f"cat /etc/resolv.conf; nslookup {a}; nslookup svc-{TAG}; "
                  + NC_GET.format(host=a) + "; " + NC_GET.format(host="svc-" + TAG))
    gw = bd.docker("network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}",
                   net).stdout.strip()
    ip_a = bd.docker("inspect", "-f", f"{{{{.NetworkSettings.Networks.{net}.IPAddress}}}}"
                     if "-" not in net else "{{json .NetworkSettings.Networks}}", a).stdout
    ip_a = json.loads(ip_a)[net]["IPAddress"]
    assert f"nameserver {gw}" in r.stdout, r.stdout
    assert r.stdout.count(f"Address: {ip_a}") >= 2, r.stdout
    assert r.stdout.count(hn_a) >= 2, r.stdout  # httpd answered both names
    # the short id resolves too (docker's DNSNames)
    assert ip_a in bd.docker("exec", b, "nslookup", hn_a).stdout
    # a removed container stops resolving at once
    bd.docker("rm", "-f", a)
    r = bd.docker("exec", b, "nslookup", a, check=False)
    assert ip_a not in r.stdout
    assert r.returncode != 0 or "NXDOMAIN" in r.stdout + r.stderr or "can't find" in r.stdout + r.stderr
    bridge = bridge_of(bd, net)
    assert len(veths_settled(bridge, 1)) == 1
    bd.docker("rm", "-f", b)
    assert veths_settled(bridge, 0) == set()
    bd.docker("network", "rm", net)
    assert bridge not in links()


def test_published_port_from_host_ps_and_port(bd):
    net = uniq("pub")
    bd.docker("network", "create", net)
    name = uniq("web")
    port = free_port()
    web(bd, net, name, "-p", f"{port}:80")
    hn = bd.docker("inspect", "-f", "{{.Config.Hostname}}", name).stdout.strip()
    assert hn in http_get(port, "/hostname")
    # and on another address of the host (the gateway of the network is one)
    gw = bd.docker("network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}",
                   net).stdout.strip()
    assert hn in http_get(port, "/hostname", host=gw)
    ps = bd.docker("ps", "--filter", f"name={name}", "--format", "{{.Ports}}").stdout
    assert f"0.0.0.0:{port}->80/tcp" in ps
    assert bd.docker("port", name, "80").stdout.strip().splitlines()[0] == f"0.0.0.0:{port}"
    # a second container cannot take the same host port: 4xx, nothing half-made
    other = uniq("clash")
    r = bd.docker("run", "-d", "--name", other, "--network", net, "-p", f"{port}:80", IMAGE,
                  "sleep", "30", check=False)
    assert r.returncode != 0
    assert str(port) in r.stderr, r.stderr
    assert bd.docker("inspect", "-f", "{{.State.Running}}", other).stdout.strip() == "false"
    bridge = bridge_of(bd, net)
    assert len(veths_on(bridge)) == 1
    # a start that fails after the network was connected (no such binary)
    # releases the endpoint and its port
    port2 = free_port()
    bad = uniq("bad")
    r = bd.docker("run", "-d", "--name", bad, "--network", net, "-p", f"{port2}:80", IMAGE,
                  "/no/such/binary", check=False)
    assert r.returncode != 0
    assert len(veths_settled(bridge, 1)) == 1, "the failed start left its veth"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port2), timeout=1).close()
    bd.docker("rm", "-f", name, other, bad)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    bd.docker("network", "rm", net)


def test_publish_all_and_default_bridge(bd):
    name = uniq("pall")
    bd.docker("run", "-d", "--name", name, "--expose", "80", "-P", IMAGE,
              "httpd", "-f", "-p", "80", "-h", "/etc")
    out = bd.docker("port", name).stdout
    m = re.search(r"80/tcp -> 0\.0\.0\.0:(\d+)", out)
    assert m, out
    hn = bd.docker("inspect", "-f", "{{.Config.Hostname}}", name).stdout.strip()
    assert hn in http_get(int(m.group(1)), "/hostname")
    cl = bd.client()
    c = cl.containers.get(name)
    assert c.ports["80/tcp"][0]["HostPort"] == m.group(1)
    ps = json.loads(bd.api("GET", "/v1.41/containers/json").body)
    entry = [e for e in ps if e["Names"] == ["/" + name]][0]
    assert {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": int(m.group(1)),
            "Type": "tcp"} in entry["Ports"]
    bd.docker("rm", "-f", name)
    cl.close()


def test_isolation_between_user_networks(bd):
    n1, n2 = uniq("iso1"), uniq("iso2")
    bd.docker("network", "create", n1)
    bd.docker("network", "create", n2)
    a = uniq("isoa")
    web(bd, n1, a)
    ip_a = json.loads(bd.docker("inspect", "-f", "{{json .NetworkSettings.Networks}}",
                                a).stdout)[n1]["IPAddress"]
    same = run_in(bd, n1, NC_GET.format(host=ip_a))
    assert "200 OK" in same.stdout
    other = run_in(bd, n2, NC_GET.format(host=ip_a) + "; nslookup " + a, check=False)
    assert "200 OK" not in other.stdout
    assert ip_a not in other.stdout.split("Server")[-1].replace(ip_a + ":", "") or "can't" in other.stdout
    bd.docker("rm", "-f", a)
    bd.docker("network", "rm", n1, n2)


def test_connect_disconnect_running_and_rm_in_use(bd):
    n1, n2 = uniq("cd1"), uniq("cd2")
    bd.docker("network", "create", n1)
    bd.docker("network", "create", n2)
    a, b = uniq("cda"), uniq("cdb")
    web(bd, n1, a)
    bd.docker("run", "-d", "--name", b, "--network", n2, IMAGE, "sleep", "300")
    assert run_in(bd, n2, f"nslookup {a}", check=False).returncode != 0
    bd.docker("network", "connect", "--alias", "late-" + TAG, n2, a)
    nets = json.loads(bd.docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", a).stdout)
    assert set(nets) == {n1, n2}
    assert "late-" + TAG in nets[n2]["Aliases"]
    hosts = bd.docker("exec", a, "cat", "/etc/hosts").stdout
    assert nets[n1]["IPAddress"] in hosts and nets[n2]["IPAddress"] in hosts, hosts
    r = bd.docker("exec", b, "sh", "-c", NC_GET.format(host="late-" + TAG) + "; "
                  + NC_GET.format(host=a))
    assert r.stdout.count("200 OK") == 2, r.stdout
    # in use: 403 with docker's message, the network stays
    r = bd.api("DELETE", f"/v1.41/networks/{n2}")
    assert r.status == 403, r
    assert r.json()["message"].endswith(" has active endpoints")
    bd.docker("network", "disconnect", n2, a)
    assert nets[n2]["IPAddress"] not in bd.docker("exec", a, "cat", "/etc/hosts").stdout
    assert n2 not in json.loads(bd.docker("inspect", "-f", "{{json .NetworkSettings.Networks}}",
                                          a).stdout)
    r = bd.docker("exec", b, "nslookup", a, check=False)
    assert r.returncode != 0
    r = bd.docker("network", "disconnect", n2, a, check=False)
    assert r.returncode != 0 and "not connected" in r.stderr
    r = bd.api("POST", f"/v1.41/networks/{n2}/connect", body={"Container": "no-such-" + TAG})
    assert r.status == 404, r
    r = bd.api("POST", f"/v1.41/networks/{n2}/connect", body={"Container": a,
                                                               "EndpointConfig": "x"})
    assert r.status == 400, r
    # a stopped container connects to a network and joins it at start
    c = uniq("cdc")
    bd.docker("create", "--name", c, "--network", n1, IMAGE, "sleep", "300")
    bd.docker("network", "connect", n2, c)
    bd.docker("start", c)
    assert set(json.loads(bd.docker("inspect", "-f", "{{json .NetworkSettings.Networks}}",
                                    c).stdout)) == {n1, n2}
    assert bd.docker("exec", c, "sh", "-c", "ip -o -4 addr | grep -c eth").stdout.strip() == "2"
    bd.docker("rm", "-f", a, b, c)
    bd.docker("network", "rm", n1, n2)


def test_network_none_and_host(bd):
    r = bd.docker("run", "--rm", "--network", "none", IMAGE, "sh", "-c",
                  "ls /sys/class/net; ip -o link show lo; ping -c1 -W1 127.0.0.1")
    assert r.stdout.split()[0:1] == ["lo"] and "eth0" not in r.stdout, r.stdout
    assert "1 packets received" in r.stdout
    host_links = len(os.listdir("/sys/class/net"))
    r = bd.docker("run", "--rm", "--network", "host", IMAGE, "ls", "/sys/class/net")
    assert abs(len(r.stdout.split()) - host_links) <= 3  # other runs may add links meanwhile
    r = bd.docker("run", "--name", "nonet-" + TAG, "--network", "no-such-" + TAG, IMAGE,
                  "true", check=False)
    assert r.returncode != 0 and f"no-such-{TAG}" in r.stderr, r.stderr
    # as docker: the start failed, the created container stays, nothing half-made
    assert bd.docker("inspect", "-f", "{{.State.Running}}", "nonet-" + TAG).stdout.strip() == "false"
    bd.docker("rm", "nonet-" + TAG)
    r = bd.api("POST", "/v1.41/containers/create", body={
        "Image": IMAGE, "HostConfig": {"NetworkMode": "bridge"},
        "NetworkingConfig": {"EndpointsConfig": {"bridge": {"Aliases": "x"}}}})
    assert r.status == 400 and b"Aliases" in r.body, r


def test_inspect_network_settings_shape_static_ip_mac(bd):
    net = uniq("shape")
    bd.docker("network", "create", "--subnet", "10.251.77.0/24", net)
    name = uniq("st")
    bd.docker("run", "-d", "--name", name, "--network", net, "--ip", "10.251.77.77",
              "--mac-address", "02:42:aa:bb:cc:dd", "--network-alias", "al", IMAGE,
              "sleep", "300")
    ns = bd.client().api.inspect_container(name)["NetworkSettings"]
    assert ns["IPAddress"] == "10.251.77.77" and ns["Gateway"] == "10.251.77.1"
    assert ns["IPPrefixLen"] == 24 and ns["MacAddress"] == "02:42:aa:bb:cc:dd"
    ep = ns["Networks"][net]
    nid = bd.docker("network", "inspect", "-f", "{{.Id}}", net).stdout.strip()
    assert ep["NetworkID"] == nid and len(ep["EndpointID"]) == 64
    assert "al" in ep["Aliases"]
    assert ep["IPAMConfig"]["IPv4Address"] == "10.251.77.77"
    inside = bd.docker("exec", name, "ip", "-o", "link", "show", "eth0").stdout
    assert "02:42:aa:bb:cc:dd" in inside
    ninsp = json.loads(bd.docker("network", "inspect", net).stdout)[0]
    cid = bd.docker("inspect", "-f", "{{.Id}}", name).stdout.strip()
    assert ninsp["Containers"][cid]["IPv4Address"] == "10.251.77.77/24"
    bd.docker("stop", "-t", "1", name)
    ns = bd.client().api.inspect_container(name)["NetworkSettings"]
    assert ns["IPAddress"] == "" and net in ns["Networks"]
    assert json.loads(bd.docker("network", "inspect", net).stdout)[0]["Containers"] == {}
    bd.docker("rm", "-f", name)
    bd.docker("network", "rm", net)


def test_kill9_berthd_restart_no_leaks(bd):
    net = uniq("k9")
    bd.docker("network", "create", net)
    bridge = bridge_of(bd, net)
    a, b = uniq("k9a"), uniq("k9b")
    port = free_port()
    bd.docker("run", "-d", "--name", a, "--network", net, "-p", f"{port}:80", IMAGE,
              "httpd", "-f", "-p", "80", "-h", "/etc")
    bd.docker("run", "-d", "--name", b, "--network", net, IMAGE, "sleep", "300")
    pid_b = int(bd.docker("inspect", "-f", "{{.State.Pid}}", b).stdout)
    assert len(veths_on(bridge)) == 2
    bd.kill()
    os.kill(pid_b, 9)  # b dies while berthd is away
    time.sleep(0.5)
    bd.start()
    assert len(veths_settled(bridge, 1)) == 1, "the dead container's veth was not cleaned up"
    assert "200 OK" in http_get(port, "/hostname")  # the live one still serves
    # and still resolves by name (the DNS records came back from the state)
    assert "200 OK" in run_in(bd, net, NC_GET.format(host=a)).stdout
    assert run_in(bd, net, f"nslookup {b}", check=False).returncode != 0
    bd.docker("rm", "-f", a, b)
    assert veths_settled(bridge, 0) == set()
    table = bd.network["nft-table"]
    rules = subprocess.run(["nft", "list", "table", "ip", table], capture_output=True,
                           text=True).stdout
    assert f"dport {port}" not in rules
    bd.docker("network", "rm", net)
    assert bridge not in links()


@pytest.fixture
def outside():
    """A namespace made by the test standing in for the world outside the
    host: a veth to it from the host, a TCP listener in it."""
    ns, host_if = f"nwo{TAG}", f"nwh{TAG}"
    octet = 100 + secrets_below(100)
    host_ip, out_ip = f"10.252.{octet}.1", f"10.252.{octet}.2"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "link", "add", host_if, "type", "veth", "peer", "name", "eth0",
                        "netns", ns], check=True)
        subprocess.run(["ip", "addr", "add", f"{host_ip}/30", "dev", host_if], check=True)
        subprocess.run(["ip", "link", "set", host_if, "up"], check=True)
        for cmd in (["ip", "addr", "add", f"{out_ip}/30", "dev", "eth0"],
                    ["ip", "link", "set", "eth0", "up"], ["ip", "link", "set", "lo", "up"],
                    ["ip", "route", "add", "default", "via", host_ip]):
            subprocess.run(["ip", "netns", "exec", ns, *cmd], check=True)
        server = ("import socket\ns = socket.socket(); s.setsockopt(socket.SOL_SOCKET, "
                  "socket.SO_REUSEADDR, 1); s.bind(('0.0.0.0', 8080)); s.listen(8)\n"
                  "print('ready', flush=True)\n"
                  "while True:\n  c, _ = s.accept(); c.sendall(b'outside-answered\\n'); c.close()\n")
        listener = subprocess.Popen(["ip", "netns", "exec", ns, "/usr/bin/python3", "-c", server],
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert listener.stdout.readline().strip() == "ready"
        yield out_ip
        listener.kill()
        listener.wait()
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], check=True)
    assert host_if not in links()


def secrets_below(n):
    import secrets
    return secrets.randbelow(n)


def test_internal_network_has_no_route_out(bd, outside):
    normal, internal = uniq("out"), uniq("int")
    bd.docker("network", "create", normal)
    bd.docker("network", "create", "--internal", internal)
    probe = f"nc -w 3 {outside} 8080 </dev/null; ip route"
    r = run_in(bd, normal, probe, check=False)
    assert "outside-answered" in r.stdout, r.stdout + r.stderr  # NAT + forwarding work
    r = run_in(bd, internal, probe, check=False)
    assert "outside-answered" not in r.stdout
    assert "default" not in r.stdout, r.stdout  # docker: no default route on --internal
    # containers on the internal network still reach each other by name
    a = uniq("inta")
    web(bd, internal, a)
    assert "200 OK" in run_in(bd, internal, NC_GET.format(host=a)).stdout
    bd.docker("rm", "-f", a)
    bd.docker("network", "rm", normal, internal)


def test_network_events(bd):
    """create, connect, disconnect are network events naming the container."""
    net = uniq("fwd")
    since = str(int(time.time()) - 1)
    bd.docker("network", "create", net)
    c = uniq("evc")
    bd.docker("create", "--name", c, IMAGE, "true")
    bd.docker("network", "connect", net, c)
    bd.docker("network", "disconnect", net, c)
    bd.docker("rm", c)
    time.sleep(0.1)
    ev = bd.docker("events", "--since", since, "--until", str(int(time.time()) + 1),
                   "--filter", "type=network", "--format",
                   "{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.container}}"
                   ).stdout.splitlines()
    ev = [e.split() for e in ev if e.split()[1:2] == [net]]
    assert [e[0] for e in ev] == ["create", "connect", "disconnect"], ev
    assert ev[1][2:] == ev[2][2:] and len(ev[1][2]) == 64, ev
    bd.docker("network", "rm", net)


def test_dns_forwards_other_names_to_upstream(tmpdir_berth):
    """Names the embedded DNS does not know go to the upstream resolvers
    (daemon.json "dns": a fake resolver on 127.0.0.1 here, no packet
    leaves the machine); its own names never do."""
    import importlib.util
    from berthtest import ROOT
    spec = importlib.util.spec_from_file_location(
        "berth_network_fixtures_netwire", ROOT / "tests/integration/network/conftest.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    up = mod.FakeUpstream()
    from conftest import Berthd, import_busybox
    d = Berthd(tmpdir_berth / "b", config={"dns": [f"127.0.0.1:{up.port}"]})
    d.start()
    try:
        import_busybox(d, tmpdir_berth)
        net = uniq("up")
        d.docker("network", "create", net)
        a = uniq("upa")
        d.docker("run", "-d", "--name", a, "--network", net, IMAGE, "sleep", "60")
        r = d.docker("exec", a, "sh", "-c", f"nslookup {up.NAME}; nslookup {a}")
        assert up.ADDR in r.stdout, r.stdout
        assert up.NAME in up.queries
        assert a not in up.queries  # answered by the embedded DNS itself
        r = d.docker("exec", a, "nslookup", "nope.berth-test", check=False)
        assert r.returncode != 0 and "nope.berth-test" in up.queries
        d.docker("rm", "-f", a)
        d.docker("network", "rm", net)
    finally:
        up.close()
        d.stop()
        d.destroy_network()


def test_container_mode_restart_and_primary_disconnect(bd):
    net = uniq("cm")
    bd.docker("network", "create", net)
    a, b = uniq("cma"), uniq("cmb")
    web(bd, net, a)
    # container:<a> shares a's netns, so its address, hosts and resolv.conf
    bd.docker("run", "-d", "--name", b, "--network", f"container:{a}", IMAGE, "sleep", "300")
    ip_a = json.loads(bd.docker("inspect", "-f", "{{json .NetworkSettings.Networks}}",
                                a).stdout)[net]["IPAddress"]
    r = bd.docker("exec", b, "sh", "-c", "ip -o -4 addr show eth0; cat /etc/resolv.conf; "
                  + NC_GET.format(host="127.0.0.1"))
    assert ip_a in r.stdout and "200 OK" in r.stdout, r.stdout
    gw = bd.docker("network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}",
                   net).stdout.strip()
    assert f"nameserver {gw}" in r.stdout
    bd.docker("rm", "-f", b)
    # restart: disconnected at the exit, connected again at the start
    bridge = bridge_of(bd, net)
    bd.docker("restart", "-t", "1", a)
    assert len(veths_settled(bridge, 1)) == 1
    assert "200 OK" in run_in(bd, net, NC_GET.format(host=a)).stdout
    # disconnecting the NetworkMode network of a running container
    bd.docker("network", "disconnect", net, a)
    nets = json.loads(bd.docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", a).stdout)
    assert net not in nets and veths_settled(bridge, 0) == set()
    assert run_in(bd, net, f"nslookup {a}", check=False).returncode != 0
    bd.docker("network", "connect", net, a)
    assert "200 OK" in run_in(bd, net, NC_GET.format(host=a)).stdout
    bd.docker("rm", "-f", a)
    bd.docker("network", "rm", net)


def test_published_udp_port_rules(bd):
    """UDP publishing through berthd (traffic over UDP is proven by the
    network suite: busybox here has no UDP server)."""
    name = uniq("udp")
    port = free_port()
    bd.docker("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:5000/udp", IMAGE,
              "sleep", "300")
    assert bd.docker("port", name, "5000/udp").stdout.strip() == f"127.0.0.1:{port}"
    table = bd.network["nft-table"]
    rules = subprocess.run(["nft", "list", "table", "ip", table], capture_output=True,
                           text=True).stdout
    assert f"udp dport {port}" in rules, rules
    bd.docker("rm", "-f", name)
    rules = subprocess.run(["nft", "list", "table", "ip", table], capture_output=True,
                           text=True).stdout
    assert f"udp dport {port}" not in rules


def test_docker_py_default_bridge_mac_and_ports(bd):
    """docker-py 5 (API 1.41, Config.MacAddress) on the default bridge."""
    cl = bd.client()
    port = free_port()
    c = cl.containers.run(IMAGE, ["httpd", "-f", "-p", "80", "-h", "/etc"], detach=True,
                          name=uniq("py"), mac_address="02:42:12:34:56:78",
                          ports={"80/tcp": ("127.0.0.1", port)})
    try:
        c.reload()
        ns = c.attrs["NetworkSettings"]
        assert ns["MacAddress"] == "02:42:12:34:56:78"
        assert ns["Networks"]["bridge"]["IPAddress"] == ns["IPAddress"] != ""
        assert ns["Ports"]["80/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(port)}]
        hn = c.attrs["Config"]["Hostname"]
        assert hn in http_get(port, "/hostname")
    finally:
        c.remove(force=True)
        cl.close()
