"""berth with a registry (trace 17), Debian's docker-registry on a free
127.0.0.1 port: tag, push and pull with docker's progress output, the
implicit pull of `run`, login/logout and the credentials file, search."""
import base64
import json
import socket
import subprocess
import time

import pytest

REGISTRY_BIN = "/usr/bin/docker-registry"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def registry(tmp_path):
    import os
    if not os.path.exists(REGISTRY_BIN):
        pytest.skip("docker-registry is not installed")
    port = free_port()
    cfg = tmp_path / "registry.yml"
    cfg.write_text("\n".join([
        "version: 0.1", "log:", "  level: error", "storage:", "  filesystem:",
        f"    rootdirectory: {tmp_path / 'data'}", "  delete:", "    enabled: true", "http:",
        f"  addr: 127.0.0.1:{port}", f"  secret: berth-cli-test-{port}", ""]))
    log = open(tmp_path / "registry.log", "wb")
    proc = subprocess.Popen([REGISTRY_BIN, "serve", str(cfg)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None and time.time() < deadline, "docker-registry did not start"
            time.sleep(0.05)
    yield f"127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)
    log.close()


def test_push_pull_run(cli, registry):
    cli.require("POST", "/v1.41/images/create?fromImage=", "pull")
    ref = f"{registry}/team/app:1"
    cli.berth("tag", "busybox:local", ref)
    out = cli.berth("push", ref).stdout
    assert f"The push refers to repository [{registry}/team/app]" in out
    assert "1: digest: sha256:" in out
    assert "\x1b[" not in out  # no progress bars when not on a terminal
    cli.berth("rmi", ref)
    out = cli.berth("pull", ref).stdout
    assert "Digest: sha256:" in out
    assert f"Status: Downloaded newer image for {ref}" in out
    assert out.rstrip().splitlines()[-1] == ref  # docker prints the reference last
    assert cli.berth("pull", "-q", ref).stdout == f"{ref}\n"
    digests = cli.berth("images", "--digests", "--format", "{{.Repository}} {{.Digest}}").stdout
    assert f"{registry}/team/app sha256:" in digests
    # run pulls a missing image first, as docker does (trace 17)
    cli.berth("rmi", ref)
    r = cli.berth("run", "--name", "bt-pulled", ref, "echo", "pulled")
    assert r.stdout == "pulled\n"
    assert r.stderr.startswith(f"Unable to find image '{ref}' locally\n")
    cli.berth("rm", "bt-pulled")
    # --pull never refuses to pull
    cli.berth("rmi", ref)
    r = cli.berth("run", "--pull", "never", ref, "true", check=False)
    assert r.returncode == 125 and "Unable to find image" not in r.stderr
    # errors from the registry read like docker's
    r = cli.berth("pull", f"{registry}/team/app:nope", check=False)
    assert r.returncode == 1
    assert r.stderr == cli.docker("pull", f"{registry}/team/app:nope", check=False).stderr
    r = cli.berth("push", f"{registry}/team/none:1", check=False)
    assert r.returncode == 1 and "does not exist locally" in r.stderr
    out = cli.berth("search", "--format", "{{.Name}}", f"{registry}/app", check=False)
    if out.returncode == 0:
        assert out.stdout.split() == [f"{registry}/team/app"]


def test_login_logout(cli, registry):
    cli.require("POST", "/v1.41/auth", "login")
    r = cli.berth("login", "-u", "someone", "--password-stdin", registry, input="s3cret\n")
    assert r.stdout == "Login Succeeded\n"
    cfg = json.loads((cli.home / ".docker" / "config.json").read_text())
    assert base64.b64decode(cfg["auths"][registry]["auth"]) == b"someone:s3cret"
    # the same file the docker CLI reads: it agrees it is logged in
    r = cli.berth("logout", registry)
    assert r.stdout == f"Removing login credentials for {registry}\n"
    cfg = json.loads((cli.home / ".docker" / "config.json").read_text())
    assert registry not in cfg.get("auths", {})
    assert cli.berth("logout", registry).stdout == f"Not logged in to {registry}\n"
    r = cli.berth("login", "--password-stdin", registry, input="x\n", check=False)
    assert r.returncode == 1 and "Must provide --username with --password-stdin" in r.stderr
    r = cli.berth("login", registry, check=False, input="")
    assert r.returncode == 1 and "Cannot perform an interactive login from a non TTY device" in r.stderr
