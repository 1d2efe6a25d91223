"""Fixtures of the network tests: berth-net-tool (the library's test driver)
running `serve` the way berthd would drive the library, network namespaces
standing in for containers, an "outside" namespace standing in for another
host, and a fake upstream DNS server on 127.0.0.1. Every machine-global
name carries this run's unique tag; everything is removed afterwards."""
import json
import os
import pathlib
import secrets
import select
import socket
import struct
import subprocess
import threading

import pytest

from berthtest import BUILD, LEAK_SCOPE, run

TAG = secrets.token_hex(3)  # unique per run: bridges bt<TAG>.., netns bn<TAG>..
TABLE = f"berth_test_{os.getpid()}_{TAG}"


def tool_path():
    path = BUILD / "tests" / "unit" / "network" / "berth-net-tool"
    if not path.exists():
        pytest.skip(f"berth-net-tool is not built at {path}")
    return path


def container_id():
    return secrets.token_hex(32)


def free_ports(count=1, kind=socket.SOCK_STREAM):
    """`count` consecutive host ports free right now (on 0.0.0.0), outside
    the ephemeral range so outgoing connections do not take them meanwhile."""
    for _ in range(200):
        base = 10000 + secrets.randbelow(20000)
        socks = []
        try:
            for p in range(base, base + count):
                s = socket.socket(socket.AF_INET, kind)
                socks.append(s)
                s.bind(("0.0.0.0", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise AssertionError("no free ports")


def links():
    return set(os.listdir("/sys/class/net"))


def nft_tables():
    out = run(["nft", "list", "tables"]).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


class NetTool:
    """berth-net-tool serve: one command per line, one JSON answer per line,
    the embedded DNS served from the same poll loop in between."""

    def __init__(self, state, table=TABLE, args=(), upstream=None, log=None):
        self.argv = [str(tool_path()), "--state", str(state), "--table", table,
                     "--dns-timeout-ms", "700", *args]
        if upstream:
            self.argv += ["--upstream", upstream]
        self.log = open(log or os.devnull, "a")
        self.proc = subprocess.Popen(self.argv + ["serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     bufsize=1)
        self.made_links = set()

    def cmd(self, *words, timeout=60):
        self.proc.stdin.write(" ".join(str(w) for w in words) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert ready, f"berth-net-tool did not answer `{' '.join(map(str, words))}`"
        line = self.proc.stdout.readline()
        assert line, f"berth-net-tool exited (status {self.proc.poll()}) on `{words}`"
        answer = json.loads(line)
        if answer.get("ok") and isinstance(answer.get("result"), dict):
            r = answer["result"]
            for key in ("host_ifname",):
                if key in r:
                    self.made_links.add(r[key])
            bridge = (r.get("Options") or {}).get("com.docker.network.bridge.name")
            if bridge:
                self.made_links.add(bridge)
            elif r.get("Id") and r.get("Driver") == "bridge":
                self.made_links.add("br-" + r["Id"][:12])
        return answer

    def ok(self, *words):
        answer = self.cmd(*words)
        assert answer["ok"], f"`{' '.join(map(str, words))}` failed: {answer}"
        return answer["result"]

    def fails(self, *words, status=None, msg=None):
        answer = self.cmd(*words)
        assert not answer["ok"], f"`{' '.join(map(str, words))}` succeeded: {answer}"
        if status:
            assert answer["status"] == status, answer
        if msg:
            assert msg in answer["error"], answer
        return answer

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()

    def close(self):
        if self.proc.poll() is None:
            try:
                self.ok("destroy")
            finally:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
                status = self.proc.wait(timeout=30)
            self.log.close()
            # Under ASan a leak or memory error makes this non-zero.
            if status != 0:
                with open(self.log.name) as f:
                    raise AssertionError(f"berth-net-tool exited {status}:\n{f.read()[-6000:]}")
        self.log.close()


def one_shot(state, *words, table=TABLE, args=()):
    res = run([tool_path(), "--state", state, "--table", table, *args, *words], check=False)
    return json.loads(res.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------- namespaces --

class Namespaces:
    def __init__(self):
        self.names = []

    def add(self):
        name = f"bn{TAG}{len(self.names)}"
        run(["ip", "netns", "add", name])
        self.names.append(name)
        return name

    def exec(self, ns, *cmd, **kw):
        return run(["ip", "netns", "exec", ns, *cmd], **kw)

    def spawn(self, ns, *cmd, **kw):
        kw.setdefault("stdout", subprocess.DEVNULL)
        kw.setdefault("stderr", subprocess.DEVNULL)
        return subprocess.Popen(["ip", "netns", "exec", ns, *map(str, cmd)], **kw)

    def kill_all(self, ns):
        pids = run(["ip", "netns", "pids", ns], check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), 9)
            except ProcessLookupError:
                pass
        for pid in pids:  # reap the ones that are our children
            try:
                os.waitpid(int(pid), 0)
            except ChildProcessError:
                pass

    def delete(self, ns):
        if ns in self.names:
            self.kill_all(ns)
            run(["ip", "netns", "del", ns], check=False)
            self.names.remove(ns)

    def cleanup(self):
        for ns in list(self.names):
            self.delete(ns)


@pytest.fixture
def netns():
    ns = Namespaces()
    yield ns
    ns.cleanup()


@pytest.fixture
def outside(netns):
    """A namespace standing in for another host: a veth to the host with a
    private /30, a default route via the host. Yields (ns, its address,
    the host's address on that link)."""
    octet = secrets.randbelow(200) + 20
    host_ip, out_ip = f"10.253.{octet}.1", f"10.253.{octet}.2"
    ns = netns.add()
    host_if, peer_if = f"bo{TAG}h", f"bo{TAG}p"
    run(["ip", "link", "add", host_if, "type", "veth", "peer", "name", peer_if, "netns", ns])
    run(["ip", "addr", "add", f"{host_ip}/30", "dev", host_if])
    run(["ip", "link", "set", host_if, "up"])
    netns.exec(ns, "ip", "addr", "add", f"{out_ip}/30", "dev", peer_if)
    netns.exec(ns, "ip", "link", "set", peer_if, "up")
    netns.exec(ns, "ip", "link", "set", "lo", "up")
    netns.exec(ns, "ip", "route", "add", "default", "via", host_ip)
    yield ns, out_ip, host_ip
    run(["ip", "link", "del", host_if], check=False)


# ------------------------------------------------------ fake upstream DNS --

class FakeUpstream:
    """A resolver on 127.0.0.1 (UDP and TCP, one port) that knows two names,
    so forwarding is tested without any packet leaving the machine. BIG has
    more addresses than 512 bytes hold: over UDP it answers truncated."""

    NAME = "outside.berth-test"
    ADDR = "192.0.2.77"
    BIG = "big.berth-test"
    BIG_COUNT = 40

    def __init__(self):
        for _ in range(20):
            self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.tcp.bind(("127.0.0.1", 0))
            self.port = self.tcp.getsockname()[1]
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                self.sock.bind(("127.0.0.1", self.port))
                break
            except OSError:
                self.tcp.close()
                self.sock.close()
        self.tcp.listen(8)
        self.tcp.settimeout(0.2)
        self.sock.settimeout(0.2)
        self.queries = []
        self.tcp_queries = []
        self.stop = False
        self.threads = [threading.Thread(target=self.serve, daemon=True),
                        threading.Thread(target=self.serve_tcp, daemon=True)]
        for t in self.threads:
            t.start()

    def answer(self, data, tcp):
        qd_end = 12
        labels = []
        while qd_end < len(data) and data[qd_end]:
            n = data[qd_end]
            labels.append(data[qd_end + 1:qd_end + 1 + n].decode(errors="replace"))
            qd_end += 1 + n
        qd_end += 5
        name = ".".join(labels)
        qtype = struct.unpack("!H", data[qd_end - 4:qd_end - 2])[0]
        (self.tcp_queries if tcp else self.queries).append(name)
        flags = 0x8180
        records = []
        if name.lower() == self.NAME and qtype == 1:
            records = [socket.inet_aton(self.ADDR)]
        elif name.lower() == self.BIG and qtype == 1:
            records = [bytes([198, 51, 100, i]) for i in range(self.BIG_COUNT)]
            if not tcp:
                flags |= 0x0200  # TC: does not fit, ask over TCP
                records = []
        elif name.lower() not in (self.NAME, self.BIG):
            flags |= 3  # NXDOMAIN
        answers = b"".join(b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + r
                           for r in records)
        header = data[:2] + struct.pack("!HHHHH", flags, 1, len(records), 0, 0)
        return header + data[12:qd_end] + answers

    def serve(self):
        while not self.stop:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            if len(data) >= 12:
                self.sock.sendto(self.answer(data, False), peer)

    def serve_tcp(self):
        while not self.stop:
            try:
                conn, _ = self.tcp.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    n = struct.unpack("!H", conn.recv(2))[0]
                    data = b""
                    while len(data) < n:
                        data += conn.recv(n - len(data))
                    reply = self.answer(data, True)
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
                except (OSError, struct.error):
                    pass

    def close(self):
        self.stop = True
        for t in self.threads:
            t.join()
        self.sock.close()
        self.tcp.close()


@pytest.fixture
def upstream():
    up = FakeUpstream()
    yield up
    up.close()


@pytest.fixture
def nettool(tmpdir_berth, upstream):
    """A serving berth-net-tool on a fresh state dir; on teardown everything
    it made must be gone (devices, the nft table, state files)."""
    tools = []

    def start(args=(), table=TABLE):
        t = NetTool(tmpdir_berth / "state", table=table, args=args,
                    upstream=f"127.0.0.1:{upstream.port}", log=tmpdir_berth / "tool.log")
        tools.append(t)
        return t

    before_links = links()
    before_ruleset = run(["nft", "list", "ruleset"]).stdout
    yield start
    for t in tools:
        t.close()
    left = {name for t in tools for name in t.made_links} & links()
    assert not left, f"links left behind: {left}"
    assert f"table ip {TABLE}" not in nft_tables()
    networks = tmpdir_berth / "state" / "networks"
    if networks.exists():
        assert not list(networks.glob("*.json")), "network state left behind"
    if LEAK_SCOPE != "own":
        # Nobody else runs on a CI machine: the whole host must be as before.
        assert links() == before_links
        assert run(["nft", "list", "ruleset"]).stdout == before_ruleset


# ------------------------------------------------------------------ traffic --

HTTP_GET = "GET / HTTP/1.0\r\nHost: x\r\n\r\n"


def http_get_from_host(ip, port, timeout=3):
    with socket.create_connection((ip, port), timeout=timeout) as s:
        s.sendall(HTTP_GET.encode())
        chunks = []
        while True:
            b = s.recv(4096)
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks).decode(errors="replace")


def http_get_in_ns(netns, ns, ip, port, timeout=3):
    res = netns.exec(ns, "busybox", "nc", "-w", str(timeout), ip, str(port), input=HTTP_GET,
                     check=False, timeout=timeout + 10)
    return res.stdout


def nslookup(netns, ns, name, server):
    """(addresses, raw output) — busybox's own resolver, no libc NSS."""
    res = netns.exec(ns, "busybox", "nslookup", "-type=a", name, server, check=False,
                     timeout=20)
    addrs = []
    seen_name = False
    for line in res.stdout.splitlines():
        if line.startswith("Name:"):
            seen_name = True
        elif seen_name and line.startswith("Address:"):
            addrs.append(line.split()[-1])
    return addrs, res.stdout + res.stderr


@pytest.fixture
def webroot(tmpdir_berth):
    root = tmpdir_berth / "www"
    root.mkdir()
    (root / "index.html").write_text(f"hello from berth {TAG}\n")
    return root


def start_httpd(netns, ns, webroot, port=80):
    proc = netns.spawn(ns, "busybox", "httpd", "-f", "-p", port, "-h", webroot)
    # Ready when the netns has a TCP socket listening on the port.
    want = f":{port:04X} "
    for _ in range(200):
        tcp = netns.exec(ns, "cat", "/proc/net/tcp", "/proc/net/tcp6").stdout
        if any(want in line and line.split()[3] == "0A" for line in tcp.splitlines()[1:]):
            return proc
        if proc.poll() is not None:
            break
        threading.Event().wait(0.02)
    raise AssertionError(f"httpd did not start in {ns}")


UDP_ECHO = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
print("ready", flush=True)
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(b"echo:" + data, peer)
"""


def start_udp_echo(netns, ns, port):
    proc = netns.spawn(ns, "/usr/bin/python3", "-c", UDP_ECHO, port, stdout=subprocess.PIPE,
                       text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def pathlib_of(p):
    return pathlib.Path(p)
