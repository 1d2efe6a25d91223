"""The machinery of the Engine API differential suite
(test_reference_api.py): one engine as a Side (raw HTTP, hijacked
streams, the docker CLI), the shape of a JSON answer (key paths and value
types), a Diff that collects the differences not allow-listed, and the
stream framing helpers."""
import fnmatch
import json
import re
import secrets
import socket
import struct
import time

from berthtest import read_to_eof
from conftest import Response, UnixHTTPConnection


# objects whose keys are data, not schema
DATA_KEYED = {"Labels", "Options", "ExposedPorts", "Volumes", "PortBindings", "Networks",
              "Containers", "Tmpfs", "Sysctls", "StorageOpt", "Config.LogConfig.Config",
              "IndexConfigs", "Runtimes", "memory_stats.stats"}



# ------------------------------------------------------------ two engines --

class Side:
    """One engine: raw HTTP over its socket and the stock docker CLI."""

    def __init__(self, name, sock, docker):
        self.name, self.sock, self.docker = name, str(sock), docker

    def api(self, method, path, body=None, timeout=60):
        hdrs = {}
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        conn = UnixHTTPConnection(self.sock, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            return Response(resp.status, resp.reason, resp.headers, resp.read())
        finally:
            conn.close()

    def upgrade(self, path, body=None, timeout=30):
        """POST with Upgrade: tcp, as the CLI's attach and exec start:
        (status, headers, the socket, the stream's bytes read so far)."""
        data = json.dumps(body).encode() if body is not None else b""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(self.sock)
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                  f"Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: {len(data)}\r\n\r\n"
                  .encode() + data)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode(errors="replace").split("\r\n")
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        return int(lines[0].split()[1]), headers, s, rest

    def hijack(self, path, body, timeout=30):
        """upgrade() and the stream until EOF: (status, headers, bytes)."""
        status, headers, s, buf = self.upgrade(path, body, timeout)
        with s:
            buf += read_to_eof(s)
        return status, headers, buf



# -------------------------------------------------------------- shapes --

def tname(v):
    return {dict: "object", list: "list", str: "string", int: "number", float: "number",
            bool: "bool", type(None): "null"}[type(v)]


def shape(v, path="", out=None):
    """{key path: set of type names}, every element of a list merged."""
    out = {} if out is None else out
    if path:
        out.setdefault(path, set()).add(tname(v))
    if isinstance(v, dict):
        keyed = path.rsplit(".", 1)[-1] in DATA_KEYED or path in DATA_KEYED
        for k, x in v.items():
            shape(x, f"{path}.{'*' if keyed else k}".lstrip("."), out)
    elif isinstance(v, list):
        for x in v:
            shape(x, f"{path}[]", out)
    return out


ID_RE = re.compile(r"\b[0-9a-f]{64}\b|\b[0-9a-f]{12}\b")


def norm(msg):
    return ID_RE.sub("<id>", msg)


class Diff:
    """The differences of one test; those matching a glob of allow
    ({"step | key path": reason}) are printed, not counted."""

    used = set()  # the allow-list's globs that matched, in this session

    def __init__(self, allow):
        self.allow = allow
        self.found = []

    def add(self, step, path, b, r):
        key = f"{step} | {path}"
        # "[]" is literal here, not fnmatch's character set
        used = [g for g in self.allow
                if fnmatch.fnmatchcase(key.replace("[]", "@"), g.replace("[]", "@"))]
        Diff.used.update(used)
        if used:
            print(f"allowed: {key}: berth {b}, dockerd {r}")
        else:
            self.found.append(f"{key}: berth {b}, dockerd {r}")

    def value(self, step, path, b, r):
        if b != r:
            self.add(step, path, repr(b), repr(r))

    def shapes(self, step, b, r):
        sb, sr = shape(b), shape(r)
        if not sb and not sr:  # scalars at the top
            return self.value(step, "(type)", tname(b), tname(r))
        for p in sorted(set(sb) | set(sr)):
            # a key below a missing object is reported once, at the object;
            # an empty list has no element to compare
            if p.endswith("[]") and (p not in sb or p not in sr):
                continue
            if p not in sb:
                if _parent(p) in sb or not _parent(p):
                    self.add(step, p, "has no such key", "/".join(sorted(sr[p])))
            elif p not in sr:
                if _parent(p) in sr or not _parent(p):
                    self.add(step, p, "/".join(sorted(sb[p])), "has no such key")
            elif sb[p] != sr[p]:
                self.add(step, p, "/".join(sorted(sb[p])), "/".join(sorted(sr[p])))

    def check(self):
        assert not self.found, ("berthd's answers differ from dockerd's:\n  " +
                                "\n  ".join(self.found))


def _parent(p):
    return p[:-2] if p.endswith("[]") else p.rpartition(".")[0]


def both(sides, method, path, body=None, fmt=None, timeout=60):
    """The same request to each engine; with fmt, path.format(**fmt(side))
    (for what differs between them, as exec ids)."""
    out = []
    for s in sides:
        p = path.format(**fmt(s)) if fmt else path
        try:
            out.append(s.api(method, p, body, timeout=timeout))
        except TimeoutError:
            out.append(Response(0, "no answer", {}, f"no answer in {timeout} s".encode()))
    return out


def compare(diff, step, rb, rr, json_body=True):
    """Status, Content-Type and the JSON shape (or error message) of a pair."""
    diff.value(step, "status", rb.status, rr.status)
    ct_b = (rb.headers.get("Content-Type") or "").split(";")[0]
    ct_r = (rr.headers.get("Content-Type") or "").split(";")[0]
    if rb.body or rr.body:
        diff.value(step, "Content-Type", ct_b, ct_r)
    if not json_body or not (rb.body.strip() and rr.body.strip()):
        diff.value(step, "body is empty", not rb.body.strip(), not rr.body.strip())
        return None, None
    try:
        jb, jr = rb.json(), rr.json()
    except ValueError:
        diff.add(step, "body", rb.body[:120], rr.body[:120])
        return None, None
    if rr.status >= 400 and isinstance(jr, dict) and isinstance(jb, dict):
        diff.value(step, "message", norm(jb.get("message", "")), norm(jr.get("message", "")))
    diff.shapes(step, jb, jr)
    return jb, jr


def frames(raw):
    """The multiplexed stream as [(stream, bytes)], or None if raw is not one."""
    out, i = [], 0
    while i < len(raw):
        if len(raw) - i < 8 or raw[i] not in (0, 1, 2) or raw[i + 1:i + 4] != b"\0\0\0":
            return None
        (n,) = struct.unpack(">I", raw[i + 4:i + 8])
        out.append((raw[i], raw[i + 8:i + 8 + n]))
        i += 8 + n
    return out


def compare_hijacked(d, step, hb, hr):
    """Two (status, headers, stream) of a hijacked request without a tty:
    101 and its headers, then the same stdout and stderr, multiplexed."""
    d.value(step, "status", hb[0], hr[0])
    for h in ("content-type", "upgrade", "connection"):
        d.value(step, h, hb[1].get(h), hr[1].get(h))
    fb, fr = frames(hb[2]), frames(hr[2])
    d.value(step, "multiplexed", fb is not None, fr is not None)
    if fb is not None and fr is not None:
        d.value(step, "stdout", joined(fb, 1), joined(fr, 1))
        d.value(step, "stderr", joined(fb, 2), joined(fr, 2))


def joined(fr, stream):
    return b"".join(d for s, d in fr if s == stream)


def poll(what, fn, timeout=30):
    """fn() until it is truthy (a condition of the engine, not a sleep)."""
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v:
            return v
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def fresh(prefix):
    """A new name, the same on both engines (error messages quote it)."""
    return f"{prefix}-{secrets.token_hex(3)}"


def json_lines(resp):
    out = []
    for line in resp.body.decode(errors="replace").splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"<not JSON>": line[:80]})
    return out


def steps(lines):
    text = "".join(x.get("stream", "") for x in lines)
    return [t for t in text.splitlines() if t.startswith("Step ")]
