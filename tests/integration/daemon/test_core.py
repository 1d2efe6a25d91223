"""berthd's core against the stock docker CLI, docker-py and raw HTTP:
version negotiation, /_ping, /version, /info, routing errors, bad input,
socket permissions, clean shutdown and crash safety."""
import json
import os
import re
import signal
import socket
import stat
import subprocess
import time

import pytest

from berthtest import ROOT


def test_ping_headers_and_body(berthd):
    for path in ("/_ping", "/v1.41/_ping", "/v1.24/_ping"):
        r = berthd.api("GET", path)
        assert r.status == 200
        assert r.body == b"OK"
        assert r.headers["Api-Version"] == "1.47"
        assert r.headers["Ostype"] == "linux"
        assert r.headers["Docker-Experimental"] == "false"
        assert r.headers["Server"].startswith("berth/")
        assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    r = berthd.api("HEAD", "/_ping")
    assert r.status == 200 and r.body == b""
    assert r.headers["Api-Version"] == "1.47"


def test_docker_version_and_info(berthd):
    out = berthd.docker("version", "--format", "{{json .}}").stdout
    v = json.loads(out)
    # the CLI negotiated down from its own version to ours (trace 01)
    assert v["Client"]["ApiVersion"] == "1.47"
    assert v["Server"]["ApiVersion"] == "1.47"
    assert v["Server"]["MinAPIVersion"] == "1.24"
    assert v["Server"]["Os"] == "linux"
    assert v["Server"]["KernelVersion"] == os.uname().release
    assert v["Server"]["Components"][0]["Name"] == "Engine"

    info = json.loads(berthd.docker("info", "--format", "{{json .}}").stdout)
    assert info["Driver"] == "overlay2"
    assert info["DockerRootDir"] == str(berthd.data_root)
    assert info["NCPU"] == os.cpu_count()
    assert info["OSType"] == "linux"
    assert info["CgroupVersion"] in ("1", "2")
    assert info["LiveRestoreEnabled"] is True
    assert info["Containers"] == 0 and info["Images"] == 0
    assert len(info["ID"].split(":")) == 12
    # the engine ID survives a restart (kept in the data root)
    berthd.restart()
    again = json.loads(berthd.docker("info", "--format", "{{json .}}").stdout)
    assert again["ID"] == info["ID"]
    human = berthd.docker("info").stdout
    assert "Storage Driver: overlay2" in human
    assert "Live Restore Enabled: true" in human


def test_version_names_the_build(berthd):
    """GitCommit and BuildTime come from the build: the commit of the tree
    berthd was built from (ROOT, which `make integration` builds first)
    and SOURCE_DATE_EPOCH or that commit's time, in dockerd's format."""
    def git(*args):
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    commit = git("rev-parse", "--short=7", "HEAD")
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH") or git("log", "-1", "--format=%ct", "HEAD"))
    when = time.strftime("%Y-%m-%dT%H:%M:%S.000000000+00:00", time.gmtime(epoch))
    v = berthd.api("GET", "/v1.41/version").json()
    engine = v["Components"][0]["Details"]
    for got in (v, engine):
        assert got["GitCommit"] in (commit, commit + "-dirty"), got
        assert got["BuildTime"] == when, got
    # the runtime containers ask for as "runc" is berth's, of the same build
    (runc,) = [c for c in v["Components"] if c["Name"] == "runc"]
    assert runc["Version"] == v["Version"] and runc["Details"]["GitCommit"] == engine["GitCommit"]
    info = berthd.api("GET", "/v1.41/info").json()
    assert info["RuncCommit"]["ID"] == engine["GitCommit"]
    human = berthd.docker("version").stdout
    server = human.split("Server:")[1]
    assert re.search(r"Git commit:\s+" + re.escape(engine["GitCommit"]) + "\n", server), server
    # the CLI reformats a BuildTime it can parse: the commit's year is there
    assert re.search(r"Built:\s+\S.*" + time.strftime("%Y", time.gmtime(epoch)), server), server


def test_docker_py(berthd):
    c = berthd.client()
    assert c.ping() is True
    assert c.version()["ApiVersion"] == "1.47"
    assert c.info()["OSType"] == "linux"
    assert c.api.api_version == "1.47"


def test_version_prefix_errors(berthd):
    r = berthd.api("GET", "/v1.12/info")
    assert r.status == 400
    assert r.json()["message"] == ("client version 1.12 is too old. Minimum supported API "
                                   "version is 1.24, please upgrade your client to a newer version")
    r = berthd.api("GET", "/v1.99/info")
    assert r.status == 400
    assert "is too new. Maximum supported API version is 1.47" in r.json()["message"]


def test_routing_errors(berthd):
    r = berthd.api("GET", "/v1.41/nope")
    assert r.status == 404 and r.json() == {"message": "page not found"}
    r = berthd.api("DELETE", "/v1.41/info")
    assert r.status == 405 and "method not allowed" in r.json()["message"]


def test_bad_bodies(berthd):
    r = berthd.api("POST", "/v1.41/volumes/create", body=b"{not json",
                   headers={"Content-Type": "application/json"})
    assert r.status == 400
    assert "invalid JSON" in r.json()["message"] and "line 1" in r.json()["message"]
    r = berthd.api("POST", "/v1.41/volumes/create", body={"Name": 12})
    assert r.status == 400 and r.json()["message"] == "Name: expected a string"
    r = berthd.api("POST", "/v1.41/volumes/create", body=[1, 2])
    assert r.status == 400
    # bodies over the limit are refused before any handler runs
    big = b'{"Name":"' + b"a" * (5 * 1024 * 1024) + b'"}'
    r = berthd.api("POST", "/v1.41/volumes/create", body=big,
                   headers={"Content-Type": "application/json"})
    assert r.status == 413 and "too large" in r.json()["message"]
    # the daemon is fine afterwards
    assert berthd.api("GET", "/_ping").status == 200


def test_hostile_connections(berthd):
    # a header far over the limit: refused, the daemon keeps serving
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(str(berthd.socket))
    s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n")
    data = s.recv(4096)
    s.close()
    assert data == b"" or data.split(b" ")[1] in (b"413", b"431", b"400")
    # garbage instead of HTTP: an error answer, a close, or nothing (the
    # connection then times out); never a crash
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(2)
    s.connect(str(berthd.socket))
    s.sendall(b"\x00\x01\x02 not http at all\r\n\r\n")
    try:
        data = s.recv(4096)
    except socket.timeout:
        data = b""
    s.close()
    assert data == b"" or data.startswith(b"HTTP/1.1 4")
    # a client that goes away in the middle of its request
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(berthd.socket))
    s.sendall(b"POST /v1.41/volumes/create HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"Na")
    s.close()
    # and one that leaves in the middle of a stream
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(berthd.socket))
    s.sendall(b"GET /v1.41/events HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s.recv(4096).startswith(b"HTTP/1.1 200")
    s.close()
    berthd.docker("volume", "create", "after-hostile")
    assert berthd.api("GET", "/_ping").status == 200


def test_socket_mode_and_pidfile(berthd):
    st = os.stat(berthd.socket)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660
    assert int(berthd.pidfile.read_text()) == berthd.pid


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_clean_shutdown(berthd, sig):
    berthd.docker("volume", "create", "keep-me")
    assert berthd.stop(sig) == 0
    assert not berthd.socket.exists()
    assert not berthd.pidfile.exists()
    berthd.start()
    assert "keep-me" in berthd.docker("volume", "ls", "-q").stdout


def test_sigkill_then_restart(berthd):
    for i in range(3):
        berthd.docker("volume", "create", f"v{i}")
    berthd.kill()
    # the socket and pidfile are stale now; a new berthd takes over
    assert berthd.socket.exists()
    # an interrupted create and remove (as a kill -9 mid-way leaves them)
    (berthd.data_root / "volumes" / ".tmp-0123456789abcdef" / "_data").mkdir(parents=True)
    (berthd.data_root / "volumes" / ".trash-0123456789abcdef").mkdir()
    berthd.start()
    assert sorted(berthd.docker("volume", "ls", "-q").stdout.split()) == ["v0", "v1", "v2"]
    left = sorted(os.listdir(berthd.data_root / "volumes"))
    assert left == ["v0", "v1", "v2"]


def test_second_daemon_refused(berthd, berthd_factory):
    other = berthd_factory(name="other", start=False)
    cmd = other.command()
    # same socket and pidfile as the running one
    cmd[cmd.index("-H") + 1] = berthd.url
    cmd[cmd.index("--pidfile") + 1] = str(berthd.pidfile)
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    assert res.returncode != 0
    assert "berthd" in res.stderr
    # the first one is untouched
    assert berthd.api("GET", "/_ping").status == 200
    assert berthd.socket.exists() and berthd.pidfile.exists()


def test_bad_flags(berthd_factory):
    d = berthd_factory(start=False)
    for args, msg in (
        (["--bogus"], "unknown flag --bogus"),
        (["--default-ulimit", "nofile=abc"], "must be integers"),
        (["-H", "tcp://127.0.0.1:1"], "without mutual TLS"),
        (["-H", "fd://"], "unsupported address"),
        (["--group", "no-such-group-berth"], "group `no-such-group-berth` does not exist"),
    ):
        res = subprocess.run(d.command() + args, capture_output=True, text=True, timeout=20)
        assert res.returncode != 0, args
        assert msg in res.stderr, res.stderr
    assert not d.socket.exists()


def test_version_flag():
    from berthtest import binary
    res = subprocess.run([str(binary("berthd")), "--version"], capture_output=True, text=True)
    assert res.returncode == 0 and "berthd version" in res.stdout


def test_sigterm_with_live_streams(berthd, tmpdir_berth):
    """A stop while clients stream (events, a hijacked attach, logs -f, wait)
    ends them and exits 0: libmicrohttpd must never be stopped with a
    suspended connection (it aborts)."""
    from conftest import DOCKER
    procs = [subprocess.Popen([DOCKER, "events"], env=berthd.env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(berthd.socket))
    s.sendall(b"GET /v1.41/events?filters=%7B%22type%22%3A%5B%22volume%22%5D%7D HTTP/1.1\r\nHost: x\r\n\r\n")
    assert s.recv(4096).startswith(b"HTTP/1.1 200")
    container = None
    monitor = os.path.join(os.path.dirname(berthd.command()[0]), "berth-monitor")
    if os.path.exists(monitor):
        from berthtest import make_busybox_rootfs
        root = make_busybox_rootfs(tmpdir_berth / "rootfs")
        tar = tmpdir_berth / "rootfs.tar"
        subprocess.run(["tar", "-C", str(root), "-cf", str(tar), "."], check=True)
        berthd.docker("import", str(tar), "busybox:local")
        container = berthd.docker("run", "-d", "busybox:local", "sh", "-c",
                                  "while true; do echo tick; sleep 1; done").stdout.strip()
        for args in (["attach", container], ["logs", "-f", container], ["wait", container]):
            procs.append(subprocess.Popen([DOCKER, *args], env=berthd.env(),
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(1.0)
    try:
        code = berthd.stop(expect_code=None)
        socket_left, pidfile_left = berthd.socket.exists(), berthd.pidfile.exists()
        s.close()
        for p in procs:
            p.wait(10)
    finally:
        # whatever happened, leave no container behind (live restore kept
        # it running): a new berthd takes the stale socket over
        if berthd.proc is None:
            berthd.start()
        if container:
            berthd.docker("rm", "-f", container)
    assert code == 0, berthd.read_log()[-3000:]
    assert not socket_left and not pidfile_left


def test_socket_group(berthd_factory):
    import grp
    d = berthd_factory(args=["--group", "daemon"])
    st = os.stat(d.socket)
    assert st.st_gid == grp.getgrnam("daemon").gr_gid
    assert stat.S_IMODE(st.st_mode) == 0o660


def test_several_unix_sockets(berthd_factory, tmpdir_berth):
    extra = tmpdir_berth / "second.sock"
    d = berthd_factory(args=["-H", f"unix://{extra}"])
    assert d.api("GET", "/_ping").status == 200
    out = d.docker("version", "--format", "{{.Server.APIVersion}}",
                   env={"DOCKER_HOST": f"unix://{extra}"}).stdout
    assert out.strip() == "1.47"
    d.stop()
    assert not extra.exists() and not d.socket.exists()
