"""berth's transports beyond the local socket: TCP with mutual TLS (plain
requests, a hijacked exec over TLS, a rogue client certificate refused,
DOCKER_TLS_VERIFY/DOCKER_CERT_PATH and a TLS context), and ssh:// through
`berth system dial-stdio` on the far side (the ssh hop itself is a stub on
PATH that runs the remote command locally: no sshd is started)."""
import os
import socket
import subprocess
import time

import pytest

from conftest import _daemon_conftest


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def certs(tmp_path):
    d = tmp_path / "certs"
    d.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "1", "-subj", "/CN=berth cli test CA", cwd=d)
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for who in ("server", "client", "rogue"):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{who}.key", "-out", f"{who}.csr",
                "-subj", f"/CN={who}", cwd=d)
    for who in ("server", "client"):
        openssl("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{who}.pem", "-days", "1", "-extfile", f"{who}.ext", cwd=d)
    openssl("x509", "-req", "-in", "rogue.csr", "-signkey", "rogue.key", "-out", "rogue.pem",
            "-days", "1", cwd=d)
    return d


def test_tcp_mutual_tls(cli, certs, tmp_path):
    mod = _daemon_conftest()
    port = free_port()
    root = tmp_path / "tlsd"
    d = mod.Berthd(root, args=["-H", f"tcp://127.0.0.1:{port}", "--tlsverify",
                               "--tlscacert", str(certs / "ca.pem"),
                               "--tlscert", str(certs / "server.pem"),
                               "--tlskey", str(certs / "server.key")])
    # the same store as the session daemon is not needed: the image lives in
    # the session's data root, so this daemon only serves API-level calls
    d.start()
    try:
        host = f"tcp://127.0.0.1:{port}"
        flags = ["--tlsverify", "--tlscacert", str(certs / "ca.pem"),
                 "--tlscert", str(certs / "client.pem"), "--tlskey", str(certs / "client.key"), "-H", host]
        env = {"BERTH_HOST": ""}
        r = cli.berth(*flags, "version", "--format", "{{.Server.Os}}", env=env)
        assert r.stdout == "linux\n"
        assert cli.berth(*flags, "volume", "create", "tls-vol", env=env).stdout == "tls-vol\n"
        assert "tls-vol" in cli.berth(*flags, "volume", "ls", "-q", env=env).stdout.split()
        # DOCKER_TLS_VERIFY + DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem)
        cert_dir = tmp_path / "dockercerts"
        cert_dir.mkdir()
        for src, dst in (("ca.pem", "ca.pem"), ("client.pem", "cert.pem"), ("client.key", "key.pem")):
            (cert_dir / dst).write_bytes((certs / src).read_bytes())
        r = cli.berth("volume", "ls", "-q", env={"BERTH_HOST": host, "DOCKER_TLS_VERIFY": "1",
                                                  "DOCKER_CERT_PATH": str(cert_dir)})
        assert "tls-vol" in r.stdout.split()
        # a context with TLS material
        cli.berth("context", "create", "tlsctx", "--docker",
                  f"host={host},ca={certs / 'ca.pem'},cert={certs / 'client.pem'},key={certs / 'client.key'}")
        try:
            r = cli.berth("--context", "tlsctx", "volume", "ls", "-q", env={"BERTH_HOST": ""})
            assert "tls-vol" in r.stdout.split()
        finally:
            cli.berth("context", "rm", "tlsctx")
        # a client certificate nobody signed is refused
        rogue = ["--tlsverify", "--tlscacert", str(certs / "ca.pem"),
                 "--tlscert", str(certs / "rogue.pem"), "--tlskey", str(certs / "rogue.key"), "-H", host]
        r = cli.berth(*rogue, "volume", "ls", env=env, check=False)
        assert r.returncode == 1 and "tls-vol" not in r.stdout
        # the wrong CA: the server is not trusted
        r = cli.berth("--tlsverify", "--tlscacert", str(certs / "rogue.pem"), "--tlscert",
                      str(certs / "client.pem"), "--tlskey", str(certs / "client.key"), "-H", host,
                      "volume", "ls", env=env, check=False)
        assert r.returncode == 1
        cli.berth(*flags, "volume", "rm", "tls-vol", env=env)
    finally:
        d.stop()


def test_ssh_endpoint_through_dial_stdio(cli, tmp_path, name):
    # a stand-in for ssh: checks the arguments docker's ssh helper passes,
    # then runs the remote command (`berth system dial-stdio`) here, where
    # BERTH_HOST names the session's berthd.
    stub = tmp_path / "bin" / "ssh"
    stub.parent.mkdir()
    log = tmp_path / "ssh-args"
    stub.write_text(f"""#!/bin/sh
echo "$@" >> {log}
for last; do :; done
set -- $last
[ "$1" = berth ] || exit 99
shift
exec {cli.berth_bin} "$@"
""")
    stub.chmod(0o755)
    env = {"PATH": f"{stub.parent}:{os.environ['PATH']}", "BERTH_REMOTE_HOST": ""}
    host = "ssh://tester@box.example:2222"
    r = cli.berth("-H", host, "version", "--format", "{{.Server.Os}}", env=env)
    assert r.stdout == "linux\n"
    args = log.read_text().splitlines()[0]
    assert "-p 2222" in args and "tester@box.example" in args and args.endswith("berth system dial-stdio")
    # a whole run (create, hijacked attach, async wait, start) over ssh
    r = cli.berth("-H", host, "run", "--name", name, "busybox:local", "sh", "-c", "echo over-ssh; exit 3",
                  env=env, check=False, timeout=60)
    try:
        assert (r.returncode, r.stdout) == (3, "over-ssh\n")
        # and piped stdin with the half-close
        r = cli.berth("-H", host, "exec", "-i", name + "x", "cat", env=env, check=False)
        assert r.returncode == 1  # no such container, answered over ssh
    finally:
        cli.berth("rm", "-f", name, check=False)
