"""`berth build` against the CLI tests' berthd (busybox:local as the base):
tags, build args, --target, -q, --iidfile, .dockerignore, -f outside the
context and from stdin, a tar context on stdin, failures, the cache, and
the output lines next to the stock docker CLI's classic builder."""
import json
import os
import pathlib
import re
import subprocess
import tempfile

import pytest

from berthtest import TMP_PREFIX

DOCKER = "/usr/local/bin/docker"


@pytest.fixture
def ctxdir(cli):
    d = pathlib.Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "cli-build-"))
    yield d
    subprocess.run(["rm", "-rf", str(d)], check=False)


@pytest.fixture
def images(cli):
    made = []
    yield made
    if made:
        cli.berth("rmi", "-f", *made, check=False)


def _write(root, files):
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def _ls(cli, image, path="/app"):
    r = cli.berth("run", "--rm", image, "ls", "-a", path, timeout=60)
    return sorted(x for x in r.stdout.split() if x not in (".", ".."))


def test_build_tags_args_labels(cli, ctxdir, images):
    _write(ctxdir, {"Dockerfile": "FROM busybox:local\nARG GREETING=hi\nARG FROMENV\n"
                                  "RUN echo \"$GREETING $FROMENV\" > /greeting\n"
                                  "COPY a.txt /app/a.txt\nCMD [\"cat\", \"/greeting\"]\n",
                    "a.txt": "A\n"})
    images += ["bt-build-a:1", "bt-build-a:2"]
    r = cli.berth("build", "-t", "bt-build-a:1", "--tag", "bt-build-a:2", "--build-arg",
                  "GREETING=hello", "--build-arg", "FROMENV", "--label", "team=berth",
                  str(ctxdir), env={"FROMENV": "world"}, timeout=120)
    assert "Step 1/7 : FROM busybox:local" in r.stdout
    m = re.search(r"Successfully built ([0-9a-f]{12})", r.stdout)
    assert m, r.stdout
    assert "Successfully tagged bt-build-a:1" in r.stdout
    assert "Successfully tagged bt-build-a:2" in r.stdout
    out = cli.berth("run", "--rm", "bt-build-a:2", timeout=60).stdout
    assert out == "hello world\n"
    info = json.loads(cli.berth("image", "inspect", "bt-build-a:1").stdout)[0]
    assert info["Id"].startswith("sha256:" + m.group(1))
    assert info["Config"]["Labels"]["team"] == "berth"


def test_build_quiet_iidfile_target(cli, ctxdir, images):
    _write(ctxdir, {"Dockerfile": "FROM busybox:local AS one\nRUN echo one > /stage\n"
                                  "FROM busybox:local AS two\nRUN echo two > /stage\n"})
    iid = ctxdir / "out" / "iid"
    iid.parent.mkdir()
    iid.write_text("stale")
    images.append("bt-build-q")
    r = cli.berth("image", "build", "-q", "--iidfile", iid, "--target", "one", "-t", "bt-build-q",
                  str(ctxdir), timeout=120)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}\n", r.stdout), r.stdout
    assert iid.read_text() == r.stdout.strip()
    assert cli.berth("run", "--rm", "bt-build-q", "cat", "/stage", timeout=60).stdout == "one\n"


def test_dockerignore_excludes(cli, ctxdir, images):
    _write(ctxdir, {"Dockerfile": "FROM busybox:local\nCOPY . /app\n",
                    ".dockerignore": "secret.txt\n*.log\nsub/**\n!sub/keep.md\nDockerfile\n",
                    "keep.txt": "k", "secret.txt": "s", "x.log": "l",
                    "sub/drop.md": "d", "sub/keep.md": "k"})
    os.symlink("/etc/passwd", ctxdir / "link")
    os.link(ctxdir / "keep.txt", ctxdir / "keep2.txt")  # sent as a hard link
    images.append("bt-build-ign")
    r = cli.berth("build", "-t", "bt-build-ign", str(ctxdir), timeout=120, text=False)
    # the same tar size as the docker CLI's (the same files, symlinks and
    # hard links, Go tar's framing), byte for byte the same line
    d = cli.docker("build", str(ctxdir), env={"DOCKER_BUILDKIT": "0"}, timeout=120, text=False)
    first = r.stdout.split(b"\n")[0]
    assert first == d.stdout.split(b"\n")[0]
    assert re.fullmatch(rb"Sending build context to Docker daemon +[0-9.]+kB\r\r", first), first
    # the Dockerfile and .dockerignore are sent (docker's rule) but the
    # daemon leaves the ignored Dockerfile out of COPY
    files = _ls(cli, "bt-build-ign")
    assert "secret.txt" not in files and "x.log" not in files
    assert "keep.txt" in files and "link" in files
    r = cli.berth("run", "--rm", "bt-build-ign", "cat", "/app/keep2.txt", timeout=60)
    assert r.stdout == "k"
    assert _ls(cli, "bt-build-ign", "/app/sub") == ["keep.md"]
    # a symlink is sent as a symlink, never followed
    r = cli.berth("run", "--rm", "bt-build-ign", "readlink", "/app/link", timeout=60)
    assert r.stdout.strip() == "/etc/passwd"


def test_dockerfile_outside_context_and_stdin(cli, ctxdir, images):
    ctx = ctxdir / "ctx"
    _write(ctx, {"f.txt": "F\n"})
    other = ctxdir / "elsewhere" / "My.Dockerfile"
    _write(ctxdir, {"elsewhere/My.Dockerfile": "FROM busybox:local\nCOPY . /app\n"})
    images += ["bt-build-out", "bt-build-stdin"]
    cli.berth("build", "-f", other, "-t", "bt-build-out", ctx, timeout=120)
    files = _ls(cli, "bt-build-out")
    # the Dockerfile rides along under a random name that COPY never sees
    # (.dockerignore is in the context as docker's CLI writes it, listing
    # that name)
    assert files == [".dockerignore", "f.txt"], files
    r = cli.berth("build", "-f", "-", "-t", "bt-build-stdin", ctx,
                  input="FROM busybox:local\nCOPY f.txt /app/g.txt\n", timeout=120)
    assert "Successfully tagged bt-build-stdin:latest" in r.stdout
    assert _ls(cli, "bt-build-stdin") == ["g.txt"]
    r = cli.berth("build", "-f", "-", "-", check=False, input="")
    assert r.returncode == 1 and "can't use stdin for both" in r.stderr


def test_tar_context_on_stdin(cli, ctxdir, images):
    _write(ctxdir, {"Dockerfile.alt": "FROM busybox:local\nCOPY t.txt /app/\n", "t.txt": "T"})
    tar = subprocess.run(["tar", "-C", str(ctxdir), "-cf", "-", "."], capture_output=True,
                         check=True).stdout
    images.append("bt-build-tar")
    cli.berth("build", "-f", "Dockerfile.alt", "-t", "bt-build-tar", "-", input=tar, text=False,
              timeout=120)
    assert _ls(cli, "bt-build-tar") == ["t.txt"]
    # a gzip-compressed tar works too (the daemon detects it)
    tgz = subprocess.run(["gzip", "-c"], input=tar, capture_output=True, check=True).stdout
    r = cli.berth("build", "-q", "-f", "Dockerfile.alt", "-", input=tgz, text=False, timeout=120)
    assert r.stdout.startswith(b"sha256:")
    images.append(r.stdout.decode().strip())


def test_dockerfile_alone_on_stdin(cli, images):
    """`berth build - < Dockerfile`: no context, the Dockerfile is sent alone."""
    images.append("bt-build-stdin-df")
    df = "FROM busybox:local\nRUN echo alone > /alone\n"
    r = cli.berth("build", "-t", "bt-build-stdin-df", "-", input=df, timeout=120)
    assert "Step 2/2 : RUN echo alone > /alone" in r.stdout
    out = cli.berth("run", "--rm", "bt-build-stdin-df", "cat", "/alone", timeout=60).stdout
    assert out == "alone\n"
    # the same bytes sent as docker sends them
    d = cli.docker("build", "-", input=df, env={"DOCKER_BUILDKIT": "0"}, timeout=120)
    assert r.stdout.splitlines()[0] == d.stdout.splitlines()[0]


def test_shared_dockerignore_symlink(cli, ctxdir, images):
    """A .dockerignore that links to a shared file outside the context
    (monorepos) applies its rules, like docker."""
    ctx = ctxdir / "ctx"
    _write(ctxdir, {"shared.ignore": "drop.txt\n"})
    _write(ctx, {"Dockerfile": "FROM busybox:local\nCOPY . /app\n", "drop.txt": "d",
                 "keep.txt": "k"})
    os.symlink("../shared.ignore", ctx / ".dockerignore")
    images.append("bt-build-shared")
    cli.berth("build", "-t", "bt-build-shared", ctx, timeout=120)
    files = _ls(cli, "bt-build-shared")
    assert "drop.txt" not in files and "keep.txt" in files, files


def test_failed_run_and_bad_input(cli, ctxdir):
    _write(ctxdir, {"Dockerfile": "FROM busybox:local\nRUN echo boom >&2; exit 3\n"})
    r = cli.berth("build", str(ctxdir), check=False, timeout=120)
    assert r.returncode != 0
    assert "returned a non-zero code: 3" in r.stderr, r.stderr
    assert "boom" in r.stdout + r.stderr
    # the exit code and message as the docker CLI gives them (same daemon)
    d = cli.docker("build", str(ctxdir), check=False, env={"DOCKER_BUILDKIT": "0"}, timeout=120)
    if "buildx" not in d.stderr:
        assert r.returncode == d.returncode
        assert r.stderr.strip().splitlines()[-1] == d.stderr.strip().splitlines()[-1]
    empty = ctxdir / "empty"
    empty.mkdir()
    for args in ([ctxdir / "nope"], ["-f", ctxdir / "missing", ctxdir], [empty]):
        r = cli.berth("build", *args, check=False)
        d = cli.docker("build", *args, check=False, env={"DOCKER_BUILDKIT": "0"})
        assert r.returncode == d.returncode == 1
        assert r.stderr.strip() == d.stderr.strip().splitlines()[-1], (r.stderr, d.stderr)
    r = cli.berth("build", "-t", "Bad:Tag:x", str(ctxdir), check=False)
    assert r.returncode == 125 and '"Bad:Tag:x" for "-t, --tag" flag' in r.stderr
    # quiet: the output is shown on stderr only when the build fails
    r = cli.berth("build", "-q", str(ctxdir), check=False, timeout=120)
    assert r.returncode != 0 and r.stdout == "" and "boom" in r.stderr


def test_cache_and_output_like_docker(cli, ctxdir, images):
    _write(ctxdir, {"Dockerfile": "FROM busybox:local\nENV A=1\nRUN echo built > /b\n"
                                  "COPY c.txt /c.txt\n",
                    "c.txt": "c"})
    images.append("bt-build-cache")
    cli.berth("build", "-t", "bt-build-cache", str(ctxdir), timeout=120)
    r = cli.berth("build", "-t", "bt-build-cache", str(ctxdir), timeout=120)
    assert r.stdout.count("Using cache") == 3, r.stdout
    d = cli.docker("build", "-t", "bt-build-cache", str(ctxdir), env={"DOCKER_BUILDKIT": "0"},
                   check=False, timeout=120)
    if d.returncode != 0 and "buildx" in d.stderr:
        pytest.skip("the docker CLI refuses the classic builder here")
    assert d.returncode == 0, d.stderr

    def shape(text):
        # ids differ between builds (container ids), lines must not
        return [re.sub(r"[0-9a-f]{12}", "<id>", line) for line in text.splitlines()
                if line.strip()]

    assert shape(r.stdout) == shape(d.stdout)
    # the remaining pass-through flags are accepted by the daemon
    r = cli.berth("build", "--cache-from", "bt-build-cache", "--platform", "linux/amd64",
                  "--network", "none", "--force-rm", "-t", "bt-build-cache",
                  str(ctxdir), timeout=120)
    assert "Successfully tagged bt-build-cache:latest" in r.stdout
    # a changed file reruns from the COPY that reads it
    (ctxdir / "c.txt").write_text("changed")
    r = cli.berth("build", "-t", "bt-build-cache", str(ctxdir), timeout=120)
    assert r.stdout.count("Using cache") == 2, r.stdout


def test_builder_prune(cli):
    r = cli.berth("builder", "prune", "-f")
    assert r.stdout.startswith("Total reclaimed space:"), r.stdout
    d = cli.docker("builder", "prune", "-f", check=False, env={"DOCKER_BUILDKIT": "0"})
    assert d.returncode == 0, d.stderr
    assert r.stdout == d.stdout
    # without -f it asks, and "n" keeps everything
    r = cli.berth("builder", "prune", input="n\n")
    assert r.stdout.startswith("WARNING! This will remove all dangling build cache.")
    assert "Total reclaimed space" not in r.stdout


@pytest.fixture
def auth_registry(tmp_path):
    """Debian's docker-registry on a free 127.0.0.1 port with basic auth
    (htpasswd -B), user builder / password b-s3cret."""
    import shutil
    import socket
    import time
    if not os.path.exists("/usr/bin/docker-registry") or shutil.which("htpasswd") is None:
        pytest.skip("docker-registry or htpasswd (apache2-utils) is not installed")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    htp = tmp_path / "htpasswd"
    subprocess.run(["htpasswd", "-Bbc", str(htp), "builder", "b-s3cret"], check=True,
                   capture_output=True)
    cfg = tmp_path / "registry.yml"
    cfg.write_text("\n".join([
        "version: 0.1", "log:", "  level: error", "storage:", "  filesystem:",
        f"    rootdirectory: {tmp_path / 'data'}", "auth:", "  htpasswd:", "    realm: berth",
        f"    path: {htp}", "http:", f"  addr: 127.0.0.1:{port}",
        f"  secret: berth-build-test-{port}", ""]))
    log = open(tmp_path / "registry.log", "wb")
    proc = subprocess.Popen(["/usr/bin/docker-registry", "serve", str(cfg)], stdout=log,
                            stderr=subprocess.STDOUT)
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


def test_from_private_registry_uses_logins(cli, ctxdir, images, auth_registry):
    """FROM an image of a registry that needs a login: the credentials of
    ~/.docker/config.json travel in X-Registry-Config; without them the
    pull fails with the registry's answer."""
    ref = f"{auth_registry}/team/base:1"
    cfgdir = cli.home / ".docker"
    cfgfile = cfgdir / "config.json"
    saved = cfgfile.read_text() if cfgfile.exists() else None
    try:
        cli.berth("login", "-u", "builder", "--password-stdin", auth_registry, input="b-s3cret\n")
        cli.berth("tag", "busybox:local", ref)
        cli.berth("push", ref, timeout=120)
        cli.berth("rmi", ref)
        _write(ctxdir, {"Dockerfile": f"FROM {ref}\nRUN echo private > /p\n"})
        images.append("bt-build-priv")
        r = cli.berth("build", "-t", "bt-build-priv", str(ctxdir), timeout=120)
        assert f"Step 1/2 : FROM {ref}" in r.stdout
        assert "Successfully tagged bt-build-priv:latest" in r.stdout
        assert "\x1b[" not in r.stdout  # no progress bars when not on a terminal
        assert cli.berth("run", "--rm", "bt-build-priv", "cat", "/p", timeout=60).stdout == "private\n"
        # logged out: the same FROM (not local any more) is refused
        cli.berth("rmi", "-f", "bt-build-priv", ref, check=False)
        images.remove("bt-build-priv")
        cli.berth("logout", auth_registry)
        r = cli.berth("build", "--no-cache", str(ctxdir), check=False, timeout=120)
        assert r.returncode != 0 and r.stderr.strip(), r
    finally:
        cli.berth("rmi", "-f", ref, check=False)
        if saved is not None:
            cfgfile.write_text(saved)


def test_build_on_a_terminal(cli, ctxdir, images):
    """On a tty the context size is redrawn in place and the build's lines
    follow as on a pipe."""
    import pty
    import select
    _write(ctxdir, {"Dockerfile": "FROM busybox:local\nCOPY big /big\n"})
    (ctxdir / "big").write_bytes(os.urandom(8_000_000))
    images.append("bt-build-tty")
    pid, fd = pty.fork()
    if pid == 0:
        env = cli.env()
        os.execve(cli.berth_bin, [cli.berth_bin, "build", "-t", "bt-build-tty", str(ctxdir)], env)
    out = b""
    while True:
        r, _, _ = select.select([fd], [], [], 120)
        assert r, out
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, out
    text = out.decode()
    assert re.search(r"Sending build context to Docker daemon +8\.0\d*MB\r", text), text[:300]
    assert "Successfully tagged bt-build-tty:latest" in text
