"""Optional differential suite: the same Dockerfiles built by the reference
engine's classic builder (a private dockerd from Debian's docker.io on
temp paths, when installed) and by berthd; the image configs and the file
trees must match. Skipped when dockerd is not installed."""
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time

import pytest

from berthtest import TMP_PREFIX

DOCKER = "/usr/local/bin/docker"
pytestmark = pytest.mark.skipif(shutil.which("dockerd") is None, reason="reference dockerd not installed")


@pytest.fixture(scope="module")
def ref(bd):
    root = pathlib.Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "dockerd-"))
    sock = root / "docker.sock"
    (root / "daemon.json").write_text("{}")
    log = open(root / "dockerd.log", "wb")
    p = subprocess.Popen(["dockerd", "--config-file", str(root / "daemon.json"), "--data-root", str(root / "data"),
                          "--exec-root", str(root / "exec"), "--pidfile", str(root / "pid"), "-H", f"unix://{sock}",
                          "--bridge", "none", "--iptables=false", "--ip6tables=false", "--ip-masq=false",
                          "--storage-driver", "overlay2", "--log-level", "error"], stdout=log, stderr=subprocess.STDOUT)
    env = dict(os.environ, DOCKER_HOST=f"unix://{sock}", DOCKER_CONFIG=str(root / "cfg"), DOCKER_BUILDKIT="0")

    def docker(*args, check=True):
        r = subprocess.run([DOCKER, *map(str, args)], env=env, capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError(f"reference docker {args}: {r.stdout} {r.stderr}")
        return r

    try:
        deadline = time.time() + 30
        while docker("version", check=False).returncode != 0:
            if time.time() > deadline or p.poll() is not None:
                pytest.skip("reference dockerd did not start")
            time.sleep(0.2)
        # the same busybox:local as berthd's: export berth's and import it
        tar = root / "bb.tar"
        cid = bd.docker("create", "busybox:local", "true").stdout.strip()
        with open(tar, "wb") as f:
            f.write(bd.docker("export", cid, binary_output=True).stdout)
        bd.docker("rm", cid)
        docker("import", tar, "busybox:local")
        yield docker
    finally:
        p.terminate()
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        log.close()
        with open("/proc/self/mountinfo") as f:
            mounts = [l.split()[4] for l in f if str(root) in l.split()[4]]
        for m in reversed(mounts):
            subprocess.run(["umount", "-l", m], check=False)
        shutil.rmtree(root, ignore_errors=True)


CASES = {
    "config": """FROM busybox:local
MAINTAINER someone
ENV A=1 B="two words"
ENV C $A-x
LABEL l1=one "l 2"=two
EXPOSE 80 53/udp
WORKDIR /app
USER nobody
VOLUME /data
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --retries=2 CMD true
ONBUILD RUN echo x
ENTRYPOINT ["/bin/echo"]
CMD ["hi"]
""",
    "shell-forms": """FROM busybox:local
SHELL ["/bin/sh", "-e", "-c"]
CMD echo $HOME
ENTRYPOINT echo ep
""",
    "args": """ARG BASE=busybox:local
FROM $BASE
ARG V=1
ENV E=$V
RUN echo $V > /v
""",
    "copy": """FROM busybox:local
COPY dir /d1
COPY dir/ /d2/
COPY *.txt /texts/
COPY --chown=nobody:nogroup one.txt /owned
WORKDIR /w
COPY one.txt .
""",
    "multistage": """FROM busybox:local AS one
RUN mkdir /out && echo a > /out/a
FROM busybox:local
COPY --from=one /out /in
COPY --from=0 /out/a /single
WORKDIR rel
WORKDIR ../other
""",
    "quoting": """FROM busybox:local
ENV P="a \\"quoted\\" $HOME" Q='single $HOME' R=x\\ y
LABEL "multi word"="v 1" esc=a\\$b
ARG NOVAL
ARG WITH=def
RUN echo "$WITH" > /with
""",
}
FILES = {"dir/x": "x", "dir/sub/y": "y", "one.txt": "1", "two.txt": "2"}


def _config_view(insp):
    c = insp["Config"]
    keys = ["Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Volumes", "Labels",
            "Healthcheck", "StopSignal", "OnBuild", "Shell"]
    return {k: c.get(k) for k in keys} | {"Author": insp.get("Author"), "n_layers": len(insp["RootFS"]["Layers"])}


def _history(docker_fn, image):
    out = docker_fn("history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Size}}", image).stdout
    return [l.split("|")[0] for l in out.splitlines()]


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_config_as_docker_classic_builder(b, ref, name):
    files = dict(FILES, Dockerfile=CASES[name])
    ctx = b.ctx(files)
    b.build(ctx, "--network", "host", "-t", f"diff-{name}")
    ref("build", "--network", "host", "-t", f"diff-{name}", ctx)
    mine = b.inspect(f"diff-{name}")
    theirs = json.loads(ref("image", "inspect", f"diff-{name}").stdout)[0]
    assert _config_view(mine) == _config_view(theirs)
    # history, newest first: the same created_by strings except COPY's
    # content hashes (docker's tarsum vs berth's checksum)
    def norm(lines):
        import re
        return [re.sub(r"(file|dir|multi):[0-9a-f]{64}", r"\1:<sum>", l) for l in lines]
    mh = norm(_history(b.d.docker, f"diff-{name}"))
    th = norm(_history(ref, f"diff-{name}"))
    assert mh[:len(th) - 1] == th[:-1]  # the base image's own entry differs (import)
    if name == "copy":
        cmd = ["sh", "-c", "cd / && find d1 d2 texts owned w -exec stat -c '%n %u:%g %a %s' {} + | sort"]
        assert b.run(f"diff-{name}", *cmd) == ref("run", "--rm", "--network", "none", f"diff-{name}", *cmd).stdout


def test_secret_mount_refused_like_docker(b, ref):
    """Docker's classic builder refuses RUN --mount ("requires BuildKit");
    berth runs cache/bind/tmpfs mounts but refuses secrets the same way."""
    ctx = b.ctx({"Dockerfile": "FROM busybox:local\nRUN --mount=type=secret,id=x cat /run/secrets/x\n"})
    mine = b.build(ctx, check=False)
    theirs = ref("build", ctx, check=False)
    assert mine.returncode != 0 and theirs.returncode != 0
    assert "requires BuildKit" in theirs.stdout + theirs.stderr
    assert "requires BuildKit" in mine.stderr


def test_from_pull_output_like_docker(b, ref, tmp_path):
    """FROM pulls a missing image from a loopback registry on both engines:
    the same lines around the pull, the same base image id."""
    from conftest import load_regutil
    reg = load_regutil().Registry(tmp_path).start()
    try:
        img = f"{reg.host}/team/bb:1"
        b.d.docker("tag", "busybox:local", img)
        b.d.docker("push", img)
        b.d.docker("rmi", img)
        ctx = b.ctx({"Dockerfile": f"FROM {img}\nRUN echo pulled\n"})
        mine = b.build(ctx, "--network", "host").stdout
        theirs = ref("build", "--network", "host", ctx).stdout

        def pull_lines(out):
            # per-layer lines differ (docker downloads, berth has the layer)
            import re
            head = out.split("Step 2/2")[0].splitlines()
            return [l for l in head if l and not l.startswith("Sending") and not re.match(r"[0-9a-f]{12}: ", l)]

        assert pull_lines(theirs)[:2] == [f"Step 1/2 : FROM {img}", "1: Pulling from team/bb"], theirs
        assert pull_lines(mine) == pull_lines(theirs)
        base = lambda out: out.split("Step 2/2")[0].strip().splitlines()[-1]
        assert base(mine) == base(theirs)
    finally:
        reg.stop()


@pytest.mark.parametrize("flags", [[], ["--rm=false"], ["--force-rm"]])
def test_intermediate_containers_like_docker(b, ref, flags):
    """Which RUN containers stay after a build whose last RUN fails, with
    their exit codes and commands, and which removals are announced."""
    ctx = b.ctx({"Dockerfile": "FROM busybox:local\nRUN echo ok\nRUN echo bad && exit 3\n"})

    def run(engine_build, engine_docker):
        before = set(engine_docker("ps", "-aq").stdout.split())
        res = engine_build(ctx)
        after = engine_docker("ps", "-a", "--format", "{{.ID}}|{{.Status}}|{{.Command}}").stdout.splitlines()
        kept = sorted((l.split("|")[1][:10], l.split("|")[2]) for l in after if l.split("|")[0] not in before)
        new_ids = [l.split("|")[0] for l in after if l.split("|")[0] not in before]
        if new_ids:
            engine_docker("rm", *new_ids)
        return res.stdout.count("Removing intermediate container"), res.returncode, kept

    mine = run(lambda c: b.build(c, "--network", "host", "--no-cache", *flags, check=False), b.d.docker)
    theirs = run(lambda c: ref("build", "--network", "host", "--no-cache", *flags, c, check=False), ref)
    assert mine == theirs
