"""The network library on the real kernel, driven through berth-net-tool:
namespaces stand in for containers (and for another host), traffic goes
only between them and over loopback. Each test ends with nothing left
behind (checked by the nettool fixture)."""
import json
import secrets
import socket
import time

from conftest import (TAG, TABLE, FakeUpstream, container_id, free_ports, http_get_from_host,
                      http_get_in_ns, links, nft_tables, nslookup, one_shot, start_httpd,
                      start_udp_echo)
from berthtest import run


def bridge_name(i):
    return f"bt{TAG}{i}"


def create(tool, name, *args, bridge=None):
    extra = ["--opt", f"com.docker.network.bridge.name={bridge}"] if bridge else []
    return tool.ok("create", name, *extra, *args)


def connect(tool, net, ns, *args, cid=None):
    return tool.ok("connect", net, cid or container_id(), "--netns", f"/run/netns/{ns}", *args)


# ------------------------------------------------------------ by name -------

def test_containers_resolve_each_other_by_name_and_talk(nettool, netns, webroot, upstream):
    tool = nettool()
    net = create(tool, f"app{TAG}", bridge=bridge_name(0))
    gw = net["IPAM"]["Config"][0]["Gateway"]
    web_ns, client_ns = netns.add(), netns.add()
    web_id = container_id()
    web = connect(tool, net["Name"], web_ns, "--name", "web", "--alias", "frontend",
                  "--alias", "svc", cid=web_id)
    client = connect(tool, net["Name"], client_ns, "--name", "client", "--alias", "svc")
    assert web["dns_server"] == gw and web["ifname"] == "eth0"
    assert web["mac"] == "02:42:" + ":".join(f"{int(o):02x}" for o in web["ip"].split("."))

    # Inside the netns: eth0 with the address, the MTU, a default route, lo up.
    addr = netns.exec(web_ns, "ip", "-o", "-4", "addr", "show", "eth0").stdout
    assert f"{web['ip']}/{web['prefix_len']}" in addr
    link = netns.exec(web_ns, "ip", "-o", "link", "show", "eth0").stdout
    assert "mtu 1500" in link and web["mac"] in link
    assert f"default via {gw} dev eth0" in netns.exec(web_ns, "ip", "route").stdout
    assert "UP" in netns.exec(web_ns, "ip", "-o", "link", "show", "lo").stdout

    # Container name, network alias and short id resolve through the
    # embedded DNS; a shared alias (compose service) gives both addresses.
    for name in ("web", "frontend", web_id[:12], "WEB"):
        addrs, out = nslookup(netns, client_ns, name, gw)
        assert addrs == [web["ip"]], out
    addrs, out = nslookup(netns, client_ns, "svc", gw)
    assert sorted(addrs) == sorted([web["ip"], client["ip"]]), out
    # Reverse lookup answers <name>.<network>, as docker does.
    res = netns.exec(client_ns, "busybox", "nslookup", web["ip"], gw, check=False)
    assert f"web.{net['Name']}" in res.stdout, res.stdout

    # And the name is usable: fetch from the web container by what DNS said.
    start_httpd(netns, web_ns, webroot)
    addrs, _ = nslookup(netns, client_ns, "web", gw)
    assert f"hello from berth {TAG}" in http_get_in_ns(netns, client_ns, addrs[0], 80)

    # Names nobody here owns go to the upstream resolver (a fake one on
    # 127.0.0.1) and its answer comes back, NXDOMAIN included.
    addrs, out = nslookup(netns, client_ns, FakeUpstream.NAME, gw)
    assert addrs == [FakeUpstream.ADDR], out
    assert FakeUpstream.NAME in upstream.queries
    addrs, out = nslookup(netns, client_ns, "nope.berth-test", gw)
    assert addrs == [] and "NXDOMAIN" in out, out

    # A removed endpoint stops resolving at once; a new one resolves at once.
    tool.ok("disconnect", net["Name"], web_id)
    addrs, out = nslookup(netns, client_ns, "web", gw)
    assert addrs == [], out
    assert "web" in upstream.queries, (out, upstream.queries)  # not ours any more: forwarded
    late_ns = netns.add()
    late = connect(tool, net["Name"], late_ns, "--name", "late")
    addrs, out = nslookup(netns, client_ns, "late", gw)
    assert addrs == [late["ip"]], out


HOSTILE_DNS = r"""
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.3)
server = (sys.argv[1], 53)
hdr = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
packets = [b"", b"\x00", hdr, hdr + b"\xc0\x0c\x00\x01\x00\x01",          # pointer to itself
           hdr + b"\x01a\xc0\x0e\x00\x01\x00\x01",                           # forward pointer
           hdr + b"\x3f" + b"a" * 20,                                            # label runs past the end
           hdr + (b"\x3fx" + b"x" * 62) * 5 + b"\x00\x00\x01\x00\x01",            # name > 255
           b"\x12\x34\x81\x80" + hdr[4:] + b"\x00\x00\x01\x00\x01",          # a response
           os.urandom(4000)] + [os.urandom(n) for n in range(1, 200, 7)]
answered = 0
for p in packets:
    s.sendto(p, server)
    try:
        s.recvfrom(4096)
        answered += 1
    except socket.timeout:
        pass
print(answered)
"""


def test_dns_server_survives_hostile_packets(nettool, netns):
    tool = nettool()
    net = create(tool, f"hostile{TAG}", bridge=bridge_name(0))
    gw = net["IPAM"]["Config"][0]["Gateway"]
    ns, ns2 = netns.add(), netns.add()
    # Connected by pid this time: a process that lives in the netns.
    holder = netns.spawn(ns2, "sleep", "300")
    target = connect(tool, net["Name"], ns, "--name", "target")
    tool.ok("connect", net["Name"], container_id(), "--pid", holder.pid, "--name", "bypid")
    res = netns.exec(ns, "/usr/bin/python3", "-c", HOSTILE_DNS, gw)
    # Malformed queries get FORMERR (some), responses and runts are dropped.
    assert 0 < int(res.stdout) < 40
    for name, want in (("target", target["ip"]), ("bypid", None)):
        addrs, out = nslookup(netns, ns, name, gw)
        assert len(addrs) == 1 and (want is None or addrs == [want]), out
    assert tool.proc.poll() is None


DNS_CLIENT = r"""
import socket, struct, sys
server, name, proto = sys.argv[1], sys.argv[2], sys.argv[3]
q = b"\xab\xcd\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\x00\x00\x01\x00\x01"
if proto == "udp-edns":  # with an OPT record (ARCOUNT 1), as glibc's edns0 sends
    q = q[:11] + b"\x01" + q[12:] + b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
    proto = "udp"
if proto == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(q, (server, 53))
    r = s.recv(65535)
else:
    s = socket.create_connection((server, 53), timeout=3)
    s.sendall(struct.pack("!H", len(q)) + q + struct.pack("!H", len(q)) + q)  # two, pipelined
    buf = b""
    while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
        buf += s.recv(65535)
    r = buf[2:2 + struct.unpack("!H", buf[:2])[0]]
flags, an = struct.unpack("!H", r[2:4])[0], struct.unpack("!H", r[6:8])[0]
print(an, "TC" if flags & 0x0200 else "-", flags & 0xf)
"""


def test_dns_over_tcp_gives_what_udp_truncates(nettool, netns, upstream):
    tool = nettool()
    net = create(tool, f"tcpdns{TAG}", bridge=bridge_name(0))
    gw = net["IPAM"]["Config"][0]["Gateway"]
    members = [netns.add() for _ in range(34)]
    for ns in members:
        connect(tool, net["Name"], ns, "--alias", "many")
    asker = members[0]
    udp = netns.exec(asker, "/usr/bin/python3", "-c", DNS_CLIENT, gw, "many", "udp").stdout.split()
    assert udp[1] == "TC" and int(udp[0]) < 34, udp  # 512 bytes hold about 30
    tcp = netns.exec(asker, "/usr/bin/python3", "-c", DNS_CLIENT, gw, "many", "tcp").stdout.split()
    assert tcp == ["34", "-", "0"], tcp
    # A forwarded name whose answer the upstream truncates over UDP: a UDP
    # client gets TC (and retries over TCP), a TCP client gets it all
    # because the server asks the upstream again over TCP.
    big = FakeUpstream.BIG
    udp = netns.exec(asker, "/usr/bin/python3", "-c", DNS_CLIENT, gw, big, "udp").stdout.split()
    assert udp == ["0", "TC", "0"], udp
    tcp = netns.exec(asker, "/usr/bin/python3", "-c", DNS_CLIENT, gw, big, "tcp").stdout.split()
    assert tcp == [str(FakeUpstream.BIG_COUNT), "-", "0"], tcp
    assert big in upstream.tcp_queries
    # Queries with EDNS are forwarded and answered too.
    edns = netns.exec(asker, "/usr/bin/python3", "-c", DNS_CLIENT, gw, FakeUpstream.NAME,
                      "udp-edns").stdout.split()
    assert edns == ["1", "-", "0"], edns


def test_dns_is_scoped_per_network(nettool, netns):
    tool = nettool()
    a = create(tool, f"scopea{TAG}", bridge=bridge_name(0))
    b = create(tool, f"scopeb{TAG}", bridge=bridge_name(1))
    ns_a, ns_b, ns_both = netns.add(), netns.add(), netns.add()
    connect(tool, a["Name"], ns_a, "--name", "only-a")
    on_b = connect(tool, b["Name"], ns_b, "--name", "only-b")
    both = container_id()
    first = connect(tool, a["Name"], ns_both, "--name", "both", cid=both)
    second = connect(tool, b["Name"], ns_both, "--name", "both", cid=both)
    assert first["ifname"] == "eth0" and second["ifname"] == "eth1"
    gw_a = a["IPAM"]["Config"][0]["Gateway"]
    # only-a cannot see only-b (different networks) ...
    addrs, out = nslookup(netns, ns_a, "only-b", gw_a)
    assert addrs == [], out
    # ... but a container on both networks resolves names of either.
    addrs, out = nslookup(netns, ns_both, "only-b", gw_a)
    assert addrs == [on_b["ip"]], out
    # Queries from outside the network's subnet are refused: the server is
    # not an open resolver for whoever can route to a gateway address.
    addrs, out = nslookup(netns, ns_b, "only-a", gw_a)
    assert addrs == [] and "REFUSED" in out, out


# ------------------------------------------------------- published ports ----

def test_published_ports_from_host_loopback_and_other_host(nettool, netns, outside, webroot):
    tool = nettool()
    net = create(tool, f"pub{TAG}", bridge=bridge_name(0))
    ns = netns.add()
    port = free_ports(2)
    web_id = container_id()
    web = connect(tool, net["Name"], ns, "--name", "web", "-p", f"{port}:80",
                  "-p", f"127.0.0.1:{port + 1}:80", "-p", "80", cid=web_id)
    ports = web["ports"]["80/tcp"]
    assert {"HostIp": "0.0.0.0", "HostPort": str(port)} in ports
    assert {"HostIp": "127.0.0.1", "HostPort": str(port + 1)} in ports
    ephemeral = [p for p in ports if p["HostPort"] not in (str(port), str(port + 1))]
    lo, hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
    assert len(ephemeral) == 1 and lo <= int(ephemeral[0]["HostPort"]) <= hi
    start_httpd(netns, ns, webroot)
    want = f"hello from berth {TAG}"
    # From the host itself, through 127.0.0.1 (DNAT in output + route_localnet).
    assert want in http_get_from_host("127.0.0.1", port)
    assert want in http_get_from_host("127.0.0.1", port + 1)
    assert want in http_get_from_host("127.0.0.1", int(ephemeral[0]["HostPort"]))
    # From the host through the bridge's (host's) address.
    gw = net["IPAM"]["Config"][0]["Gateway"]
    assert want in http_get_from_host(gw, port)
    # From another host: the outside namespace to the host's address on its link.
    out_ns, _, host_ip = outside
    assert want in http_get_in_ns(netns, out_ns, host_ip, port)
    # Hairpin: the container reaches its own published port through the
    # host's address.
    assert want in http_get_in_ns(netns, ns, gw, port)
    # The 127.0.0.1-only mapping is not reachable from the other host.
    assert want not in http_get_in_ns(netns, out_ns, host_ip, port + 1, timeout=2)

    # Released on disconnect: the port is free again and nothing answers.
    tool.ok("disconnect", net["Name"], web_id)
    rules = run(["nft", "list", "table", "ip", TABLE]).stdout
    assert str(port) not in rules
    s = socket.socket()
    s.bind(("0.0.0.0", port))
    s.close()


def test_udp_published_port_and_port_range(nettool, netns):
    tool = nettool()
    net = create(tool, f"udp{TAG}", bridge=bridge_name(0))
    ns = netns.add()
    port = free_ports(2, socket.SOCK_DGRAM)
    connect(tool, net["Name"], ns, "-p", f"{port}-{port + 1}:5000-5001/udp")
    start_udp_echo(netns, ns, 5000)
    start_udp_echo(netns, ns, 5001)
    for host_port in (port, port + 1):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        s.sendto(b"ping", ("127.0.0.1", host_port))
        assert s.recvfrom(100)[0] == b"echo:ping"
        s.close()


def test_port_already_in_use_is_refused_and_nothing_half_made(nettool, netns):
    tool = nettool()
    net = create(tool, f"busy{TAG}", bridge=bridge_name(0))
    ns = netns.add()
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    before = links()
    try:
        ans = tool.fails("connect", net["Name"], container_id(), "--netns", f"/run/netns/{ns}",
                         "-p", f"{port}:80", status=409, msg="port is already allocated")
        assert str(port) in ans["error"]
    finally:
        holder.close()
    assert links() == before  # no veth
    assert netns.exec(ns, "ip", "-o", "link").stdout.count(": eth") == 0
    assert tool.ok("inspect", net["Name"])["Containers"] == {}
    # A port we published ourselves is just as taken.
    p2 = free_ports()
    connect(tool, net["Name"], ns, "-p", f"127.0.0.1:{p2}:80")
    other = netns.add()
    tool.fails("connect", net["Name"], container_id(), "--netns", f"/run/netns/{other}",
               "-p", f"127.0.0.1:{p2}:81", status=409)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p2))
        raise AssertionError("a published port could be bound by another process")
    except OSError:
        pass
    finally:
        s.close()


# ------------------------------------------------------ isolation, internal --

def test_isolation_between_user_networks(nettool, netns, webroot):
    tool = nettool()
    a = create(tool, f"isoa{TAG}", bridge=bridge_name(0))
    b = create(tool, f"isob{TAG}", bridge=bridge_name(1))
    ns_a, ns_a2, ns_b = netns.add(), netns.add(), netns.add()
    web = connect(tool, a["Name"], ns_a, "--name", "web")
    connect(tool, a["Name"], ns_a2)
    connect(tool, b["Name"], ns_b)
    start_httpd(netns, ns_a, webroot)
    want = f"hello from berth {TAG}"
    assert want in http_get_in_ns(netns, ns_a2, web["ip"], 80)   # same network: yes
    assert want not in http_get_in_ns(netns, ns_b, web["ip"], 80, timeout=2)  # other: no
    rules = run(["nft", "list", "table", "ip", TABLE]).stdout
    # (nft prints a one-element set without braces)
    assert f'iifname "{bridge_name(1)}" oifname "{bridge_name(0)}" drop' in rules
    # A published port stays open to everyone, other networks included
    # (through the host's address on their own bridge).
    port = free_ports()
    ns_pub = netns.add()
    connect(tool, a["Name"], ns_pub, "-p", f"{port}:80")
    start_httpd(netns, ns_pub, webroot)
    gw_b = b["IPAM"]["Config"][0]["Gateway"]
    assert want in http_get_in_ns(netns, ns_b, gw_b, port)


def test_icc_false_separates_containers_of_one_network(nettool, netns, webroot):
    tool = nettool()
    opt = ["--opt", "com.docker.network.bridge.enable_icc=false"]
    try:
        brnf = open("/proc/sys/net/bridge/bridge-nf-call-iptables").read().strip() == "1"
    except FileNotFoundError:
        brnf = False
    if not brnf:
        # Without br_netfilter the rule could not work: refused, not faked.
        tool.fails("create", f"noicc{TAG}", *opt, status=400, msg="br_netfilter")
        return
    net = create(tool, f"noicc{TAG}", *opt, bridge=bridge_name(0))
    ns1, ns2 = netns.add(), netns.add()
    web = connect(tool, net["Name"], ns1)
    connect(tool, net["Name"], ns2)
    start_httpd(netns, ns1, webroot)
    want = f"hello from berth {TAG}"
    gw = net["IPAM"]["Config"][0]["Gateway"]
    assert want not in http_get_in_ns(netns, ns2, web["ip"], 80, timeout=2)
    # The gateway (the host) still answers them: e.g. its DNS.
    addrs, out = nslookup(netns, ns2, "nothing-here", gw)
    assert "NXDOMAIN" in out or "SERVFAIL" in out, out


def test_internal_network_has_no_way_out(nettool, netns, outside, webroot):
    tool = nettool()
    internal = create(tool, f"int{TAG}", "--internal", bridge=bridge_name(0))
    public = create(tool, f"pubo{TAG}", bridge=bridge_name(1))
    out_ns, out_ip, _ = outside
    start_httpd(netns, out_ns, webroot)
    want = f"hello from berth {TAG}"
    ns_pub, ns_int, ns_int2 = netns.add(), netns.add(), netns.add()
    connect(tool, public["Name"], ns_pub)
    inner = connect(tool, internal["Name"], ns_int)
    connect(tool, internal["Name"], ns_int2)
    # The control: a normal network reaches the "outside" host (masqueraded).
    assert want in http_get_in_ns(netns, ns_pub, out_ip, 80)
    # Internal: no default route is given ...
    assert "default" not in netns.exec(ns_int, "ip", "route").stdout
    # ... and even with one added by hand, the host drops what would leave.
    gw = internal["IPAM"]["Config"][0]["Gateway"]
    netns.exec(ns_int, "ip", "route", "add", "default", "via", gw)
    assert want not in http_get_in_ns(netns, ns_int, out_ip, 80, timeout=2)
    # Containers on the internal network still reach each other.
    start_httpd(netns, ns_int, webroot)
    assert want in http_get_in_ns(netns, ns_int2, inner["ip"], 80)
    # No ports on an internal network, and its DNS does not forward.
    tool.fails("connect", internal["Name"], container_id(), "--netns",
               f"/run/netns/{netns.add()}", "-p", "80", status=400, msg="internal")
    addrs, out = nslookup(netns, ns_int2, FakeUpstream.NAME, gw)
    assert addrs == [], out


# --------------------------------------------------------------- lifecycle --

def test_dns_moves_aside_when_port_53_is_taken(nettool, netns):
    """A host DNS server bound to the gateway's port 53 (or to every
    address): the embedded DNS listens elsewhere and nftables redirects."""
    octet = 100 + secrets.randbelow(100)
    gw = f"10.{octet}.53.1"
    squatter = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    squatter.setsockopt(socket.IPPROTO_IP, 15, 1)  # IP_FREEBIND: the bridge is not up yet
    squatter.bind((gw, 53))
    try:
        tool = nettool()
        net = create(tool, f"dns53{TAG}", "--subnet", f"10.{octet}.53.0/24",
                     bridge=bridge_name(0))
        ns, ns2 = netns.add(), netns.add()
        web = connect(tool, net["Name"], ns, "--name", "web")
        connect(tool, net["Name"], ns2)
        addrs, out = nslookup(netns, ns2, "web", gw)
        assert addrs == [web["ip"]], out
        rules = run(["nft", "list", "table", "ip", TABLE]).stdout
        assert f"ip daddr {gw} udp dport 53 dnat to {gw}:" in rules
    finally:
        squatter.close()


def test_bad_input_is_refused_with_clear_errors(nettool, netns):
    tool = nettool()
    octet = 100 + secrets.randbelow(100)
    sub = f"10.{octet}.7.0/24"
    net = create(tool, f"bad{TAG}", "--subnet", sub, "--gateway", f"10.{octet}.7.254",
                 "--ip-range", f"10.{octet}.7.128/25", "--label", "team=net",
                 bridge=bridge_name(0))
    assert net["IPAM"]["Config"] == [{"Subnet": sub, "Gateway": f"10.{octet}.7.254",
                                      "IPRange": f"10.{octet}.7.128/25"}]
    assert net["Labels"] == {"team": "net"}
    before = links()
    cases = [
        (("create", f"bad{TAG}"), 409, "already exists"),
        (("create", f"ovl{TAG}", "--subnet", f"10.{octet}.0.0/16"), 409, "overlaps"),
        (("create", f"hst{TAG}", "--subnet", "127.0.0.0/24"), 409, "already used on this host"),
        (("create", f"x{TAG}", "--subnet", "10.1.2.3/24"), 400, "host bits"),
        (("create", f"x{TAG}", "--subnet", "10.1.2.0/24", "--gateway", "10.9.9.9"), 400,
         "not a host address"),
        (("create", f"x{TAG}", "--subnet", "10.1.2.0/24", "--ip-range", "10.1.3.0/25"), 400,
         "not inside subnet"),
        (("create", f"x{TAG}", "--ipv6"), 400, "IPv6"),
        (("create", f"x{TAG}", "--driver", "overlay"), 400, "not supported"),
        (("create", "bad!name"), 400, "invalid network name"),
        (("create", f"x{TAG}", "--opt", "com.docker.network.driver.mtu=10"), 400, "MTU"),
        (("create", f"x{TAG}", "--opt", "com.docker.network.bridge.name=a/b"), 400,
         "interface name"),
        (("create", f"x{TAG}", "--opt", "com.docker.network.bridge.name=lo"), 409,
         "already exists"),
        (("create", f"x{TAG}", "--opt", "com.docker.network.bridge.enable_icc=maybe"), 400,
         "true or false"),
        (("rm", f"nonexistent{TAG}"), 404, "not found"),
        (("inspect", f"nonexistent{TAG}"), 404, "not found"),
        (("connect", f"nonexistent{TAG}", container_id(), "--netns", "/run/netns/x"), 404,
         "not found"),
        (("connect", net["Name"], "NOTHEX", "--netns", "/run/netns/x"), 400, "hex"),
        (("connect", net["Name"], container_id(), "--netns", f"/run/netns/missing{TAG}"), 404,
         "open network namespace"),
        (("connect", net["Name"], container_id(), "--netns", "/etc/hostname"), 400,
         "not a network namespace"),
        (("connect", net["Name"], container_id(), "--netns", "/proc/self/ns/uts"), 400,
         "not a network namespace"),
        (("connect", net["Name"], container_id(), "--netns", "/proc/self/ns/net"), 400,
         "host's own network namespace"),
        (("disconnect", net["Name"], container_id()), 404, "not connected"),
    ]
    for words, status, msg in cases:
        tool.fails(*words, status=status, msg=msg)
    assert links() == before

    ns = netns.add()
    c = connect(tool, net["Name"], ns, "--ip", f"10.{octet}.7.10", "--mac", "02:00:00:00:00:0a")
    assert c["ip"] == f"10.{octet}.7.10" and c["mac"] == "02:00:00:00:00:0a"
    ns2 = netns.add()
    tool.fails("connect", net["Name"], container_id(), "--netns", f"/run/netns/{ns2}", "--ip",
               f"10.{octet}.7.10", status=409, msg="already in use")
    tool.fails("connect", net["Name"], container_id(), "--netns", f"/run/netns/{ns2}", "--ip",
               f"10.{octet}.8.10", status=400, msg="not in subnet")
    tool.fails("connect", net["Name"], container_id(), "--netns", f"/run/netns/{ns2}", "--mac",
               "01:00:5e:00:00:01", status=400, msg="multicast")
    auto = connect(tool, net["Name"], ns2)
    assert auto["ip"] == f"10.{octet}.7.128"  # from the ip-range
    tool.fails("rm", net["Name"], status=403, msg="active endpoints")
    assert links() - before == {c["host_ifname"], auto["host_ifname"]}


def test_state_survives_restart_and_cleanup_after_kill9(nettool, netns, tmpdir_berth, webroot):
    tool = nettool()
    net = create(tool, f"crash{TAG}", bridge=bridge_name(0))
    ns_live, ns_dead, ns_gone = netns.add(), netns.add(), netns.add()
    live_id, dead_id, gone_id = container_id(), container_id(), container_id()
    port = free_ports()
    live = connect(tool, net["Name"], ns_live, "--name", "live", "-p", f"127.0.0.1:{port}:80",
                   cid=live_id)
    dead = connect(tool, net["Name"], ns_dead, "--name", "dead", cid=dead_id)
    gone = connect(tool, net["Name"], ns_gone, "--name", "gone", cid=gone_id)
    tool.kill9()  # berthd dies with everything in place

    # The container of ns_gone dies meanwhile: its netns (and veth) vanish.
    netns.delete(ns_gone)
    for _ in range(100):
        if gone["host_ifname"] not in links():
            break
        time.sleep(0.05)

    # Restart: state loads, the port is held again, rules are rebuilt.
    tool2 = nettool()
    tool2.ok("ls")  # answered once open() is done
    start_httpd(netns, ns_live, webroot)
    assert f"hello from berth {TAG}" in http_get_from_host("127.0.0.1", port)
    inspect = tool2.ok("inspect", net["Name"])
    assert set(inspect["Containers"]) == {live_id, dead_id, gone_id}
    # The daemon knows which containers live: dead_id is not among them.
    removed = tool2.ok("cleanup", live_id)
    assert removed == 2
    inspect = tool2.ok("inspect", net["Name"])
    assert set(inspect["Containers"]) == {live_id}
    assert dead["host_ifname"] not in links() and gone["host_ifname"] not in links()
    assert live["host_ifname"] in links()
    # Their addresses are free again: a new endpoint may take them.
    for ip in (dead["ip"], gone["ip"]):
        connect(tool2, net["Name"], netns.add(), "--ip", ip)
    tool2.ok("disconnect-all", live_id)
    assert live["host_ifname"] not in links()
    rules = run(["nft", "list", "table", "ip", TABLE]).stdout
    assert str(port) not in rules


def test_endpoints_live_in_the_run_dir_and_die_with_a_reboot(nettool, netns, tmpdir_berth):
    """With a run dir (berthd: <exec-root>/network, a tmpfs) a connect writes
    the endpoints there, never the network's synced file; a restart finds
    them, a reboot (the run dir emptied) finds none. A network file written
    without a run dir (an older berthd) gives its endpoints up once."""
    run_dir = tmpdir_berth / "run"
    state = tmpdir_berth / "state" / "networks"
    tool = nettool(args=["--run", run_dir])
    net = create(tool, f"runst{TAG}", bridge=bridge_name(0))
    netfile = state / f"{net['Id']}.json"
    before = netfile.read_bytes()
    cid = container_id()
    ep = connect(tool, net["Name"], netns.add(), "--name", "r1", cid=cid)
    assert netfile.read_bytes() == before  # the definition was not rewritten
    saved = json.loads((run_dir / f"{net['Id']}.json").read_text())
    assert [e["container_id"] for e in saved["endpoints"]] == [cid]
    assert "endpoints" not in json.loads(before)
    tool.kill9()
    tool2 = nettool(args=["--run", run_dir])
    assert set(tool2.ok("inspect", net["Name"])["Containers"]) == {cid}
    tool2.kill9()
    # a reboot: the veth and the run dir's files are gone
    run(["ip", "link", "del", ep["host_ifname"]], check=False)
    for f in run_dir.iterdir():
        f.unlink()
    tool3 = nettool(args=["--run", run_dir])
    assert tool3.ok("inspect", net["Name"])["Containers"] == {}
    # an older berthd's file: endpoints inside it
    tool3.kill9()
    old = json.loads(netfile.read_text())
    old["endpoints"] = saved["endpoints"]
    netfile.write_text(json.dumps(old))
    tool4 = nettool(args=["--run", run_dir])
    assert set(tool4.ok("inspect", net["Name"])["Containers"]) == {cid}
    assert "endpoints" not in json.loads(netfile.read_text())
    assert tool4.ok("cleanup") == 1  # not running: released, recorded in the run dir
    assert json.loads((run_dir / f"{net['Id']}.json").read_text())["endpoints"] == []


def test_subnet_choice_avoids_host_addresses_and_routes(nettool):
    """The pool's first subnets are taken on the host (an address, and a
    route through it): the network lands on the first free one."""
    octet = 100 + secrets.randbelow(100)
    dummy = f"bt{TAG}x"
    run(["ip", "link", "add", dummy, "type", "veth", "peer", "name", dummy + "p"])
    try:
        run(["ip", "addr", "add", f"10.{octet}.64.1/24", "dev", dummy])
        run(["ip", "link", "set", dummy + "p", "up"])
        run(["ip", "link", "set", dummy, "up"])
        run(["ip", "route", "add", f"10.{octet}.65.0/24", "via", f"10.{octet}.64.2"])
        tool = nettool(args=["--pool", f"base=10.{octet}.64.0/22,size=24"])
        net = create(tool, f"pick{TAG}", bridge=bridge_name(0))
        assert net["IPAM"]["Config"][0]["Subnet"] == f"10.{octet}.66.0/24"
        net2 = create(tool, f"pick2{TAG}", bridge=bridge_name(1))
        assert net2["IPAM"]["Config"][0]["Subnet"] == f"10.{octet}.67.0/24"
        tool.fails("create", f"pick3{TAG}", status=409, msg="fully subnetted")
        # An explicit subnet over the host's route is refused too.
        tool.fails("create", f"pick4{TAG}", "--subnet", f"10.{octet}.65.128/25", status=409,
                   msg="already used on this host")
        assert bridge_name(2) not in links()
    finally:
        run(["ip", "link", "del", dummy], check=False)


def test_open_recreates_what_a_reboot_removed(nettool, netns):
    tool = nettool()
    net = create(tool, f"reboot{TAG}", bridge=bridge_name(0))
    gw = net["IPAM"]["Config"][0]["Gateway"]
    tool.kill9()
    run(["ip", "link", "del", bridge_name(0)])  # as after a reboot
    tool2 = nettool()
    tool2.ok("ls")  # answered once open() is done
    addr = run(["ip", "-o", "-4", "addr", "show", bridge_name(0)]).stdout
    assert f"{gw}/" in addr
    ns1, ns2 = netns.add(), netns.add()
    a = connect(tool2, net["Name"], ns1, "--name", "a")
    connect(tool2, net["Name"], ns2)
    addrs, out = nslookup(netns, ns2, "a", gw)
    assert addrs == [a["ip"]], out


def test_default_bridge_with_bip_and_prune(tmpdir_berth, nettool, netns):
    octet = 100 + secrets.randbelow(100)
    dev = bridge_name(9)
    tool = nettool(args=["--defaults", "--device", dev, "--bip", f"10.{octet}.9.1/24",
                         "--fixed-cidr", f"10.{octet}.9.64/26", "--mtu", "1400"])
    names = [n["Name"] for n in tool.ok("ls")]
    assert names == ["bridge", "host", "none"]
    tool.made_links.add(dev)
    br = tool.ok("inspect", "bridge")
    assert br["IPAM"]["Config"] == [{"Subnet": f"10.{octet}.9.0/24", "Gateway": f"10.{octet}.9.1",
                                     "IPRange": f"10.{octet}.9.64/26"}]
    assert br["Options"]["com.docker.network.bridge.default_bridge"] == "true"
    assert f"10.{octet}.9.1/24" in run(["ip", "-o", "-4", "addr", "show", dev]).stdout
    assert "mtu 1400" in run(["ip", "-o", "link", "show", dev]).stdout
    ns = netns.add()
    ep = connect(tool, "bridge", ns)
    assert ep["ip"] == f"10.{octet}.9.64" and ep["dns_server"] == "" and ep["mtu"] == 1400
    assert "mtu 1400" in netns.exec(ns, "ip", "-o", "link", "show", "eth0").stdout
    assert ep["settings"]["DNSNames"] is None
    tool.fails("rm", "bridge", status=403, msg="pre-defined")
    tool.fails("rm", "host", status=403)
    tool.fails("connect", "host", container_id(), "--netns", f"/run/netns/{ns}", status=400)
    # prune removes unused user networks only.
    create(tool, f"unused{TAG}", bridge=bridge_name(1))
    used = create(tool, f"used{TAG}", bridge=bridge_name(2))
    connect(tool, used["Name"], netns.add())
    assert tool.ok("prune") == [f"unused{TAG}"]
    assert bridge_name(1) not in links()


def test_two_data_roots_never_share_a_table_or_a_bridge(tmpdir_berth, nettool):
    """Two berthds on one host with the same table or default device name:
    the second is refused instead of replacing the first one's rules or
    adding its addresses to the first one's bridge."""
    octet = 100 + secrets.randbelow(100)
    dev = bridge_name(8)
    tool = nettool(args=["--defaults", "--device", dev, "--bip", f"10.{octet}.8.1/24"])
    tool.made_links.add(dev)
    create(tool, f"own{TAG}", bridge=bridge_name(0))
    other = tmpdir_berth / "other-state"
    ans = one_shot(other, "create", f"intruder{TAG}", "--opt",
                   f"com.docker.network.bridge.name={bridge_name(1)}")
    assert not ans["ok"] and "belongs to another berth data root" in ans["error"], ans
    assert bridge_name(1) not in links()
    ans = one_shot(other, "ls", table=f"{TABLE}_2", args=["--defaults", "--device", dev])
    assert not ans["ok"] and "this data root did not make it" in ans["error"], ans
    rules = run(["nft", "list", "table", "ip", TABLE]).stdout
    assert bridge_name(0) in rules  # the first one's rules are intact
    assert f"table ip {TABLE}_2" not in nft_tables()


def test_one_shot_commands_and_state_lock(tmpdir_berth, nettool):
    tool = nettool()
    create(tool, f"lock{TAG}", bridge=bridge_name(0))
    # The serving tool holds the state dir: a second manager is refused.
    ans = one_shot(tmpdir_berth / "state", "ls")
    assert not ans["ok"] and "lock" in ans["error"], ans
    spec = one_shot(tmpdir_berth / "state", "portspec", "127.0.0.1:8000-8001:80-81/udp")
    assert spec["result"] == [
        {"proto": 17, "container_port": 80, "host_ip": "127.0.0.1", "host_port_lo": 8000,
         "host_port_hi": 8000},
        {"proto": 17, "container_port": 81, "host_ip": "127.0.0.1", "host_port_lo": 8001,
         "host_port_hi": 8001}]
    bad = one_shot(tmpdir_berth / "state", "portspec", "1.2.3:80:80")
    assert not bad["ok"] and "invalid IP address" in bad["error"]
