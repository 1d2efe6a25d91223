"""The head of hijacked attach and exec start as dockerd writes it: "101"
with Upgrade: tcp for clients that ask for the upgrade (raw-stream, or
multiplexed-stream from API 1.42 without a tty), "200 OK" with the
raw-stream type and its usual headers (no Date, Connection or length) for
clients that do not, whose connection is then raw both ways: their bytes
are stdin (checked against dockerd 20.10 with the same raw requests)."""
import json
import socket

from berthtest import read_to_eof
from conftest import IMAGE, wait_for


def raw_request(d, method, path, body=b"", headers=(), stdin=None):
    """Send one request on a fresh socket; return (head lines, the bytes
    after the head) read until the server closes the connection. With
    stdin: once the head is in, send it and shut down our writing side
    (stdin EOF)."""
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(d.socket))
    s.settimeout(10)
    head = [f"{method} {path} HTTP/1.1", "Host: docker", f"Content-Length: {len(body)}"]
    if body:
        head.append("Content-Type: application/json")
    head += list(headers)
    s.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
    data = b""
    if stdin is not None:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            assert chunk, f"closed before the end of the head: {data!r}"
            data += chunk
        s.sendall(stdin)
        s.shutdown(socket.SHUT_WR)
    data += read_to_eof(s)
    s.close()
    top, _, rest = data.partition(b"\r\n\r\n")
    return top.decode().split("\r\n"), rest


def header(lines, name):
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == name.lower():
            return v.strip()
    return None


def exec_create(d, version, cmd, tty=False):
    r = d.api("POST", f"/{version}/containers/hj/exec",
              {"Cmd": cmd, "AttachStdout": True, "AttachStderr": True, "Tty": tty})
    assert r.status == 201, r
    return r.json()["Id"]


UPGRADE = ("Connection: Upgrade", "Upgrade: tcp")
FRAMES = b"\x01\x00\x00\x00\x00\x00\x00\x04out\n" + b"\x02\x00\x00\x00\x00\x00\x00\x04err\n"
CMD = ["sh", "-c", "echo out; sleep 0.1; echo err >&2"]


def test_exec_start_without_upgrade_is_200_and_the_raw_stream(clean):
    d = clean
    d.docker("run", "-d", "--name", "hj", IMAGE, "sleep", "300")
    eid = exec_create(d, "v1.41", CMD)
    lines, body = raw_request(d, "POST", f"/v1.41/exec/{eid}/start",
                              json.dumps({"Detach": False, "Tty": False}).encode())
    assert lines[0] == "HTTP/1.1 200 OK"
    assert header(lines, "Content-Type") == "application/vnd.docker.raw-stream"
    assert header(lines, "Content-Length") is None
    assert header(lines, "Transfer-Encoding") is None
    assert body == FRAMES
    wait_for(lambda: d.api("GET", f"/v1.41/exec/{eid}/json").json()["ExitCode"] == 0,
             what="exec exit code")


def test_exec_start_upgrade_content_type_by_version(clean):
    d = clean
    d.docker("run", "-d", "--name", "hj", IMAGE, "sleep", "300")
    for version, tty, ctype in (("v1.41", False, "application/vnd.docker.raw-stream"),
                                ("v1.43", False, "application/vnd.docker.multiplexed-stream"),
                                ("v1.43", True, "application/vnd.docker.raw-stream")):
        eid = exec_create(d, version, ["echo", "out"], tty=tty)
        lines, body = raw_request(d, "POST", f"/{version}/exec/{eid}/start",
                                  json.dumps({"Detach": False, "Tty": tty}).encode(), UPGRADE)
        assert lines[0].startswith("HTTP/1.1 101 "), lines
        assert header(lines, "Upgrade") == "tcp"
        assert header(lines, "Connection").lower() == "upgrade"
        assert header(lines, "Content-Type") == ctype, (version, tty)
        if tty:
            assert body == b"out\r\n"
        else:
            assert body == b"\x01\x00\x00\x00\x00\x00\x00\x04out\n"


def test_attach_without_upgrade_is_200_and_the_raw_stream(clean):
    d = clean
    d.docker("create", "--name", "hj", IMAGE, "sh", "-c", "echo out; sleep 0.1; echo err >&2")
    # the logs of a finished container, then the end of the stream
    d.docker("start", "-a", "hj")
    lines, body = raw_request(d, "POST", "/v1.41/containers/hj/attach?logs=1&stdout=1&stderr=1")
    assert lines[0] == "HTTP/1.1 200 OK"
    assert header(lines, "Content-Type") == "application/vnd.docker.raw-stream"
    assert body == FRAMES


def test_exec_start_without_upgrade_has_dockerds_head_and_reads_stdin(clean):
    """dockerd hijacks the connection right after its 200 head: the head
    has no Date, Connection or length, and the client's bytes are stdin."""
    d = clean
    d.docker("run", "-d", "--name", "hj", IMAGE, "sleep", "300")
    r = d.api("POST", "/v1.41/containers/hj/exec",
              {"Cmd": ["sh", "-c", "cat; echo err >&2"], "AttachStdin": True,
               "AttachStdout": True, "AttachStderr": True})
    eid = r.json()["Id"]
    lines, body = raw_request(d, "POST", f"/v1.41/exec/{eid}/start",
                              json.dumps({"Detach": False, "Tty": False}).encode(), stdin=b"in\n")
    assert lines[0] == "HTTP/1.1 200 OK"
    assert [line.split(":")[0] for line in lines[1:]] == [
        "Content-Type", "Api-Version", "Docker-Experimental", "Ostype", "Server"], lines
    assert header(lines, "Content-Type") == "application/vnd.docker.raw-stream"
    assert body == b"\x01\x00\x00\x00\x00\x00\x00\x03in\n" + b"\x02\x00\x00\x00\x00\x00\x00\x04err\n"
    wait_for(lambda: d.api("GET", f"/v1.41/exec/{eid}/json").json()["ExitCode"] == 0,
             what="exec exit code")


def test_attach_without_upgrade_reads_stdin(clean):
    d = clean
    r = d.api("POST", "/v1.41/containers/create?name=hj",
              {"Image": IMAGE, "Cmd": ["cat"], "OpenStdin": True, "StdinOnce": True,
               "AttachStdin": True})
    assert r.status == 201, r
    d.docker("start", "hj")
    lines, body = raw_request(d, "POST", "/v1.41/containers/hj/attach?stream=1&stdin=1&stdout=1",
                              stdin=b"typed\n")
    assert lines[0] == "HTTP/1.1 200 OK"
    assert header(lines, "Date") is None and header(lines, "Connection") is None
    assert body == b"\x01\x00\x00\x00\x00\x00\x00\x06typed\n"
    # StdinOnce: the client's EOF closed cat's stdin
    assert d.docker("wait", "hj").stdout.strip() == "0"


def test_stdin_eof_ends_the_stream_where_docker_keeps_stdin_open(clean):
    """docker's stdin copy closes the container's stdin only for exec
    without a tty and for attach with StdinOnce; otherwise the client's EOF
    ends the stream and the process keeps running with its stdin open."""
    d = clean
    for name, tty, once in (("hj-tty", True, True), ("hj-keep", False, False)):
        r = d.api("POST", f"/v1.41/containers/create?name={name}",
                  {"Image": IMAGE, "Cmd": ["cat"], "OpenStdin": True, "StdinOnce": once,
                   "Tty": tty, "AttachStdin": True})
        assert r.status == 201, r
        d.docker("start", name)
        lines, _ = raw_request(d, "POST",
                               f"/v1.41/containers/{name}/attach?stream=1&stdin=1&stdout=1",
                               headers=UPGRADE, stdin=b"x\n")
        assert lines[0].startswith("HTTP/1.1 101 ")
        assert d.api("GET", f"/v1.41/containers/{name}/json").json()["State"]["Running"], name
    # exec with a tty: the stream ends, the process runs on
    d.docker("run", "-d", "--name", "hj", IMAGE, "sleep", "300")
    eid = d.api("POST", "/v1.41/containers/hj/exec",
                {"Cmd": ["cat"], "Tty": True, "AttachStdin": True,
                 "AttachStdout": True}).json()["Id"]
    lines, _ = raw_request(d, "POST", f"/v1.41/exec/{eid}/start",
                           json.dumps({"Detach": False, "Tty": True}).encode(), UPGRADE,
                           stdin=b"x\n")
    assert lines[0].startswith("HTTP/1.1 101 ")
    assert d.api("GET", f"/v1.41/exec/{eid}/json").json()["Running"]


def test_exec_start_refusals_as_dockerd_answers_them(clean):
    """A start of an exec that already ran: an attached start gets its 101
    and then the error in the stream (a stdout frame ending in \\r\\n), a
    detached one a 409. A command that cannot be found: 400 when detached,
    exit code 127 (docker 23+; dockerd 20.10 said 126)."""
    d = clean
    d.docker("run", "-d", "--name", "hj", IMAGE, "sleep", "300")
    eid = exec_create(d, "v1.41", ["true"])
    start = json.dumps({"Detach": False, "Tty": False}).encode()
    raw_request(d, "POST", f"/v1.41/exec/{eid}/start", start, UPGRADE)
    lines, body = raw_request(d, "POST", f"/v1.41/exec/{eid}/start", start, UPGRADE)
    assert lines[0].startswith("HTTP/1.1 101 "), lines
    msg = f"Error: Exec command {eid} has already run\r\n".encode()
    assert body == b"\x01\x00\x00\x00" + len(msg).to_bytes(4, "big") + msg
    r = d.api("POST", f"/v1.41/exec/{eid}/start", {"Detach": True})
    assert r.status == 409, r
    eid = d.api("POST", "/v1.41/containers/hj/exec", {"Cmd": ["nonexist"]}).json()["Id"]
    r = d.api("POST", f"/v1.41/exec/{eid}/start", {"Detach": True})
    assert r.status == 400 and "nonexist" in r.json()["message"], r
    info = d.api("GET", f"/v1.41/exec/{eid}/json").json()
    assert info["ExitCode"] == 127 and not info["Running"]
    assert "user" not in info["ProcessConfig"]  # omitempty, as dockerd


def test_docker_py_reads_output_that_is_ready_at_once(clean):
    """docker-py reads the head through a buffered reader and then the
    socket beneath it: output queued right behind the head (attach logs=1
    of a finished container) must wait until the head was read."""
    d = clean
    d.docker("run", "--name", "hj", IMAGE, "sh", "-c", "echo a; echo b >&2")
    api = d.client().api
    for _ in range(5):
        assert api.attach("hj", logs=True, stream=False) == b"a\nb\n"
    # exec_start(socket=True): the connection is the stream, stdin included
    d.docker("run", "-d", "--name", "hj2", IMAGE, "sleep", "300")
    eid = api.exec_create("hj2", ["sh", "-c", "cat; echo done"], stdin=True)["Id"]
    sock = api.exec_start(eid, socket=True)._sock
    sock.sendall(b"in\n")
    sock.shutdown(socket.SHUT_WR)
    sock.settimeout(10)
    assert read_to_eof(sock) == b"\x01\x00\x00\x00\x00\x00\x00\x03in\n\x01\x00\x00\x00\x00\x00\x00\x05done\n"


def test_exec_over_tls_ends_with_the_process(clean):
    """Over TLS libmicrohttpd relays the hijacked connection; the end of the
    stream must reach the client when the process exits (a docker exec
    through tcp:// with --tlsverify used to wait for ever), and a client
    without Upgrade gets the 200 and the output."""
    import subprocess
    import urllib.request
    import ssl
    from berthtest import make_tls_certs
    d = clean
    certs = make_tls_certs(d.root / "certs")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    saved = list(d.args)
    d.stop()
    d.args += ["-H", f"tcp://127.0.0.1:{port}", "--tlsverify", "--tlscacert", str(certs / "ca.pem"),
               "--tlscert", str(certs / "server.pem"), "--tlskey", str(certs / "server.key")]
    d.start()
    try:
        d.docker("run", "-d", "--name", "hj", IMAGE, "sleep", "300")
        env = d.env({"DOCKER_HOST": f"tcp://127.0.0.1:{port}"})
        tls = ["--tlsverify", "--tlscacert", str(certs / "ca.pem"),
               "--tlscert", str(certs / "client.pem"), "--tlskey", str(certs / "client.key")]
        r = subprocess.run(["/usr/local/bin/docker", *tls, "exec", "hj", "sh", "-c", "echo tls; exit 3"],
                           env=env, capture_output=True, text=True, timeout=60)
        assert (r.returncode, r.stdout) == (3, "tls\n"), r.stderr
        eid = exec_create(d, "v1.41", ["echo", "plain"])
        ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
        ctx.load_cert_chain(str(certs / "client.pem"), str(certs / "client.key"))
        req = urllib.request.Request(f"https://127.0.0.1:{port}/v1.41/exec/{eid}/start",
                                     data=b'{"Detach":false}', method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
            assert resp.status == 200
            assert resp.read() == b"\x01\x00\x00\x00\x00\x00\x00\x06plain\n"
    finally:
        d.stop()
        d.args = saved
        d.start()
