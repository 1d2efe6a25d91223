"""docker build against berthd with the stock docker CLI (classic builder,
as DOCKER_BUILDKIT=0 and as the default that falls back, trace 08) and
docker-py: one small Dockerfile per feature, checked through `docker image
inspect`, the image's config blob (history, empty_layer), `docker run` of
the result, and the progress lines."""
import json
import os
import signal
import subprocess
import tarfile
import io
import time

import pytest

BASE = "busybox:local"


def config_blob(d, image):
    """The image's config document as stored (history with empty_layer)."""
    iid = json.loads(d.docker("image", "inspect", image).stdout)[0]["Id"]
    return json.loads((d.data_root / "blobs" / "sha256" / iid[7:]).read_text())


def test_run_copy_cmd_and_progress_lines(b):
    res = b.build({"Dockerfile": f"FROM {BASE}\nCOPY hello.txt /data/\nRUN echo built > /built && cat /data/hello.txt\nCMD [\"cat\", \"/built\"]\n",
                   "hello.txt": "hello from context\n"}, "-t", "t-basic")
    out = res.stdout
    assert "Step 1/4 : FROM busybox:local" in out
    assert "Step 3/4 : RUN echo built > /built && cat /data/hello.txt" in out
    assert " ---> Running in " in out and "Removing intermediate container" in out
    assert "hello from context" in out  # the RUN's output is streamed
    assert "Successfully tagged t-basic:latest" in out
    assert b.run("t-basic") == "built\n"
    assert b.run("t-basic", "cat", "/data/hello.txt") == "hello from context\n"


def test_config_instructions_match_docker(b):
    df = f"""FROM {BASE}
MAINTAINER Jo <jo@example.com>
ENV A=1 B="two words"
ENV C $A-x
LABEL com.example.a="x y" b=2
EXPOSE 80 53/udp 8000-8001
WORKDIR /app
WORKDIR sub
USER nobody
VOLUME /data /cache
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=3s --retries=2 CMD wget -q localhost || exit 1
ONBUILD RUN echo triggered
ENTRYPOINT ["/bin/echo"]
CMD ["hello"]
"""
    b.build({"Dockerfile": df}, "-t", "t-config")
    c = b.inspect("t-config")["Config"]
    assert "A=1" in c["Env"] and "B=two words" in c["Env"] and "C=1-x" in c["Env"]
    assert any(e.startswith("PATH=") for e in c["Env"])
    assert c["Labels"] == {"com.example.a": "x y", "b": "2"}
    assert set(c["ExposedPorts"]) == {"80/tcp", "53/udp", "8000/tcp", "8001/tcp"}
    assert c["WorkingDir"] == "/app/sub"
    assert c["User"] == "nobody"
    assert set(c["Volumes"]) == {"/data", "/cache"}
    assert c["StopSignal"] == "SIGINT"
    assert c["Healthcheck"] == {"Test": ["CMD-SHELL", "wget -q localhost || exit 1"],
                                "Interval": 5_000_000_000, "Timeout": 3_000_000_000, "Retries": 2}
    assert c["OnBuild"] == ["RUN echo triggered"]
    assert c["Entrypoint"] == ["/bin/echo"] and c["Cmd"] == ["hello"]
    assert b.inspect("t-config")["Author"] == "Jo <jo@example.com>"
    cfg = config_blob(b.d, "t-config")
    hist = cfg["history"]
    by = [h["created_by"] for h in hist]
    # docker's classic created_by forms: two spaces after #(nop) for
    # commit() instructions, one for WORKDIR; WORKDIR makes a layer
    assert "/bin/sh -c #(nop)  ENV A=1 B=two words" in by
    assert "/bin/sh -c #(nop)  EXPOSE 53/udp 80 8000-8001" in by
    assert "/bin/sh -c #(nop)  VOLUME [/data /cache]" in by
    assert '/bin/sh -c #(nop)  CMD ["hello"]' in by
    assert '/bin/sh -c #(nop)  ENTRYPOINT ["/bin/echo"]' in by
    wd = [h for h in hist if h["created_by"] == "/bin/sh -c #(nop) WORKDIR /app"]
    assert wd and not wd[0].get("empty_layer")
    env = [h for h in hist if "ENV A=1" in h["created_by"]][0]
    assert env["empty_layer"] is True
    # every non-empty history entry has its layer
    assert len([h for h in hist if not h.get("empty_layer")]) == len(cfg["rootfs"]["diff_ids"])
    # the directory WORKDIR made exists, owned by root
    assert b.run("t-config", "/app/sub") == "/app/sub\n"  # entrypoint echo
    # ONBUILD runs in a child build, and is not inherited further
    res = b.build({"Dockerfile": "FROM t-config\n"}, "-t", "t-child")
    assert "# Executing 1 build trigger" in res.stdout and "triggered" in res.stdout
    assert b.inspect("t-child")["Config"]["OnBuild"] is None


def test_shell_form_cmd_entrypoint_and_shell(b):
    b.build({"Dockerfile": f'FROM {BASE}\nSHELL ["/bin/sh", "-e", "-c"]\nRUN test "$0" = /bin/sh\nCMD echo $HOME\n'}, "-t", "t-shell")
    c = b.inspect("t-shell")["Config"]
    assert c["Cmd"] == ["/bin/sh", "-e", "-c", "echo $HOME"]
    assert c["Shell"] == ["/bin/sh", "-e", "-c"]
    # ENTRYPOINT resets a CMD inherited from the base image (docker does)
    b.build({"Dockerfile": "FROM t-shell\nENTRYPOINT [\"/bin/true\"]\n"}, "-t", "t-ep")
    assert b.inspect("t-ep")["Config"]["Cmd"] is None


def test_cached_rebuild_and_one_file_change(b):
    files = {"Dockerfile": f"FROM {BASE}\nRUN echo one > /one\nCOPY a.txt /a.txt\nRUN echo two > /two\nCOPY b.txt /b.txt\nRUN cat /b.txt > /copy\n",
             "a.txt": "a\n", "b.txt": "b1\n"}
    ctx = b.ctx(files)
    first = b.build(ctx, "-t", "t-cache")
    assert "Using cache" not in first.stdout
    id1 = b.inspect("t-cache")["Id"]
    again = b.build(ctx, "-t", "t-cache")
    assert again.stdout.count("---> Using cache") == 5
    assert "Running in" not in again.stdout
    assert b.inspect("t-cache")["Id"] == id1
    # change the file the 5th step reads: steps 2-4 cached, 5 and 6 rerun
    (ctx / "b.txt").write_text("b2\n")
    third = b.build(ctx, "-t", "t-cache")
    steps = third.stdout.split("Step ")
    assert all("Using cache" in s for s in steps[2:5]), third.stdout
    assert all("Using cache" not in s for s in steps[5:]), third.stdout
    assert b.run("t-cache", "cat", "/copy") == "b2\n"
    # a touch without a content change keeps the cache (docker's tarsum)
    os.utime(ctx / "a.txt", (1, 1))
    fourth = b.build(ctx, "-t", "t-cache")
    assert fourth.stdout.count("---> Using cache") == 5
    # --no-cache reruns everything
    nc = b.build(ctx, "--no-cache", "-t", "t-cache")
    assert "Using cache" not in nc.stdout


def test_failed_run_reports_command_output_and_code(b):
    res = b.build({"Dockerfile": f"FROM {BASE}\nRUN echo about to fail && exit 3\n"}, "-t", "t-fail", check=False)
    assert res.returncode == 3, (res.stdout, res.stderr)
    assert "about to fail" in res.stdout
    assert "The command '/bin/sh -c echo about to fail && exit 3' returned a non-zero code: 3" in res.stderr
    assert b.d.docker("image", "inspect", "t-fail", check=False).returncode != 0
    # the failed step's container stays, exited, as docker keeps it (no --force-rm)
    kept = b.d.docker("ps", "-a", "--format", "{{.Status}}").stdout.split("\n")
    assert [k[:10] for k in kept if k] == ["Exited (3)"]
    b.d.docker("rm", *b.d.docker("ps", "-aq").stdout.split())
    # -q hides the output, except when the step fails
    res = b.build({"Dockerfile": f"FROM {BASE}\nRUN echo quiet failure && exit 4\n"}, "-q", check=False)
    assert res.returncode == 4 and "quiet failure" in res.stdout + res.stderr


def test_syntax_error_names_file_line_column(b):
    res = b.build({"Dockerfile": f"FROM {BASE}\n\n  RNU echo\n"}, check=False)
    assert res.returncode != 0
    assert "Dockerfile:3:3: unknown instruction: RNU" in res.stderr
    res = b.build({"Dockerfile": f"FROM {BASE}\nCOPY --frm=x a b\n"}, check=False)
    assert "Dockerfile:2:6: unknown flag: frm" in res.stderr


def test_dockerignore(b):
    b.build({"Dockerfile": f"FROM {BASE}\nCOPY . /ctx/\n",
             ".dockerignore": "# comment\n*.log\n!keep.log\nsecret/\n**/tmp\n",
             "a.log": "x", "keep.log": "k", "secret/key": "s", "src/tmp/x": "t", "src/main.c": "m"}, "-t", "t-ignore")
    listing = b.run("t-ignore", "find", "/ctx", "-type", "f").split()
    assert sorted(listing) == sorted(["/ctx/Dockerfile", "/ctx/.dockerignore", "/ctx/keep.log", "/ctx/src/main.c"])


def test_multistage_copy_from_and_target(b):
    df = f"""FROM {BASE} AS builder
RUN mkdir -p /out && echo artifact > /out/app
FROM {BASE} AS other
RUN echo other > /other
FROM scratch
COPY --from=builder /out/app /app
COPY --from=1 /other /other
COPY --from={BASE} /bin/busybox /bin/busybox
COPY --from={BASE} /etc/passwd /etc/group /etc/
"""
    b.build({"Dockerfile": df}, "-t", "t-multi")
    assert b.run("t-multi", "/bin/busybox", "cat", "/app") == "artifact\n"
    assert b.run("t-multi", "/bin/busybox", "cat", "/other") == "other\n"
    cfg = b.inspect("t-multi")
    assert len(cfg["RootFS"]["Layers"]) == 4
    res = b.build({"Dockerfile": df}, "--target", "other", "-t", "t-target")
    assert "Step 4/4" in res.stdout and "Step 5" not in res.stdout, res.stdout
    assert b.run("t-target", "cat", "/other") == "other\n"
    res = b.build({"Dockerfile": df}, "--target", "nope", check=False)
    assert "failed to reach build target nope in Dockerfile" in res.stderr


def test_copy_rules_glob_dir_contents_chown_chmod(b):
    files = {"Dockerfile": f"""FROM {BASE}
COPY dir /d1
COPY dir /d2/
COPY *.txt /texts/
COPY one.txt /renamed
COPY --chown=nobody:nogroup --chmod=0640 one.txt /owned/
COPY --chown=1:users one.txt /owned2
""", "dir/x": "x", "dir/sub/y": "y", "one.txt": "1", "two.txt": "2", "skip.md": "s"}
    b.build(files, "-t", "t-copy")
    out = b.run("t-copy", "sh", "-c",
                "ls /d1 /d2 /texts; cat /renamed; echo; stat -c '%u:%g %a' /owned/one.txt /owned2")
    # a directory's contents are copied, not the directory
    assert out.split("\n")[:3] == ["/d1:", "sub", "x"]
    assert "one.txt\ntwo.txt" in out and "skip.md" not in out
    assert "\n1\n" in out
    assert "65534:65534 640" in out and "1:100 " in out
    # several sources need a directory destination
    res = b.build({"Dockerfile": f"FROM {BASE}\nCOPY a b /nodir\n", "a": "", "b": ""}, check=False)
    assert "the destination must be a directory and end with a /" in res.stderr
    res = b.build({"Dockerfile": f"FROM {BASE}\nCOPY missing /x\n"}, check=False)
    assert "file not found in build context or excluded by .dockerignore" in res.stderr
    res = b.build({"Dockerfile": f"FROM {BASE}\nCOPY ../../etc/passwd /x\n"}, check=False)
    assert "forbidden path outside the build context" in res.stderr
    res = b.build({"Dockerfile": f"FROM {BASE}\nCOPY --exclude=*.md . /x/\n"}, check=False)
    assert "COPY --exclude is not supported by this builder" in res.stderr


def test_add_extracts_local_tar(b):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        data = b"inside the tar\n"
        info = tarfile.TarInfo("pkg/file.txt")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    b.build({"Dockerfile": f"FROM {BASE}\nADD pkg.tar.gz /opt/\nADD plain.txt /opt/plain.txt\n",
             "pkg.tar.gz": buf.getvalue(), "plain.txt": "plain\n"}, "-t", "t-add")
    assert b.run("t-add", "cat", "/opt/pkg/file.txt", "/opt/plain.txt") == "inside the tar\nplain\n"


def test_context_data_reaches_every_reader(b):
    """The context arrives as sized files whose bytes wait in a spool: every
    way a step reads them must see the real content (COPY of a file, of a
    symlink to one, of a hard link, of a directory; a bind mount; the
    Dockerfile itself), and the cache must follow content, not size."""
    ctx = b.ctx({"Dockerfile": f"FROM {BASE}\nCOPY real.txt link.txt hard.txt /c/\nCOPY dir /d\n"
                               "RUN --mount=type=bind,source=dir,target=/m cat /m/sub/deep.txt > /from-mount\n",
                 "real.txt": "real content\n", "dir/sub/deep.txt": "deep\n"})
    os.symlink("real.txt", ctx / "link.txt")
    os.link(ctx / "real.txt", ctx / "hard.txt")
    b.build(ctx, "-t", "t-ctxdata")
    assert b.run("t-ctxdata", "cat", "/c/real.txt", "/c/link.txt", "/c/hard.txt", "/d/sub/deep.txt",
                 "/from-mount") == "real content\n" * 3 + "deep\ndeep\n"
    # same size, other bytes: the COPY and what follows rerun
    (ctx / "real.txt").write_text("REAL CONTENT\n")
    res = b.build(ctx, "-t", "t-ctxdata")
    assert res.stdout.count("Using cache") == 0, res.stdout
    assert b.run("t-ctxdata", "cat", "/c/link.txt", "/c/hard.txt") == "REAL CONTENT\n" * 2
    (ctx / "dir" / "sub" / "deep.txt").write_text("DEEP\n")
    res = b.build(ctx, "-t", "t-ctxdata")
    assert res.stdout.count("Using cache") == 1, res.stdout
    assert b.run("t-ctxdata", "cat", "/from-mount") == "DEEP\n"


def test_build_args_scoping_and_unused_warning(b):
    df = """ARG TAG=local
FROM busybox:${TAG}
ARG TAG
ARG GREETING=hello
ARG FROMCLI
RUN echo "$GREETING $FROMCLI $TAG" > /args
ENV E=$GREETING
"""
    res = b.build({"Dockerfile": df}, "--build-arg", "FROMCLI=cli", "--build-arg", "UNUSED=1", "-t", "t-args")
    assert "[Warning] One or more build-args [UNUSED] were not consumed" in res.stdout
    assert b.run("t-args", "cat", "/args") == "hello cli local\n"
    cfg = b.inspect("t-args")["Config"]
    assert "E=hello" in cfg["Env"]
    assert not any(e.startswith("FROMCLI") for e in cfg["Env"])  # ARGs do not persist
    hist = config_blob(b.d, "t-args")["history"]
    run = [h["created_by"] for h in hist if "echo" in h["created_by"]][0]
    assert run.startswith("|3 FROMCLI=cli GREETING=hello TAG=local /bin/sh -c ")


def test_heredocs(b):
    df = f"""FROM {BASE}
RUN <<EOF
echo line1 > /h1
echo line2 >> /h1
EOF
COPY <<EOT /etc/greeting
hello $HOSTNAME_UNSET-x it's
EOT
RUN cat <<'RAW' > /raw
$NOT_EXPANDED
RAW
"""
    b.build({"Dockerfile": df}, "-t", "t-here")
    assert b.run("t-here", "cat", "/h1", "/etc/greeting", "/raw") == "line1\nline2\nhello -x it's\n$NOT_EXPANDED\n"


def test_run_network_none_and_user(b):
    df = f"""FROM {BASE}
RUN --network=none ls /sys/class/net > /nets
USER nobody
RUN id -u > /tmp/uid
"""
    b.build({"Dockerfile": df}, "-t", "t-net")
    assert b.run("t-net", "cat", "/nets").split() == ["lo"]
    assert b.run("t-net", "cat", "/tmp/uid") == "65534\n"
    res = b.build({"Dockerfile": f"FROM {BASE}\nUSER ghost\nRUN true\n"}, check=False)
    assert "unable to find user ghost" in res.stderr


def test_quiet_and_labels_and_several_tags(b):
    res = b.build({"Dockerfile": f"FROM {BASE}\nRUN true\n"}, "-q", "-t", "t-q1", "-t", "t-q2:v2",
                  "--label", "org.x=1")
    assert res.stdout.strip().startswith("sha256:") and "Step" not in res.stdout
    iid = res.stdout.strip()
    assert b.inspect("t-q1")["Id"] == iid == b.inspect("t-q2:v2")["Id"]
    assert b.inspect("t-q1")["Config"]["Labels"] == {"org.x": "1"}


def test_default_docker_build_falls_back_to_classic(b):
    res = b.build({"Dockerfile": f"FROM {BASE}\nRUN echo fallback\n"}, "-t", "t-default", buildkit=True)
    assert "Successfully tagged t-default:latest" in res.stdout


def test_docker_py_build(b):
    ctx = b.ctx({"Dockerfile": f"FROM {BASE}\nARG V\nRUN echo $V > /v\n"})
    client = b.d.client()
    image, logs = client.images.build(path=str(ctx), tag="t-py", buildargs={"V": "py"})
    assert "t-py:latest" in image.tags
    assert any("Successfully built" in l.get("stream", "") for l in logs)
    assert b.run("t-py", "cat", "/v") == "py\n"
    import docker
    with pytest.raises(docker.errors.BuildError) as e:
        client.images.build(path=str(b.ctx({"Dockerfile": f"FROM {BASE}\nRUN exit 7\n"})))
    assert "returned a non-zero code: 7" in str(e.value)


def test_gzip_context_and_custom_dockerfile_via_api(b):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in [("build/My.Dockerfile", f"FROM {BASE}\nCOPY f /f\n".encode()), ("f", b"gz\n")]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    r = b.d.api("POST", "/v1.41/build?dockerfile=build/My.Dockerfile&t=t-gz&version=1", body=buf.getvalue(),
                headers={"Content-Type": "application/x-tar"})
    assert r.status == 200
    lines = r.lines()
    assert lines[0] == {"stream": "Step 1/2 : FROM busybox:local\n"}
    aux = [l["aux"]["ID"] for l in lines if "aux" in l]
    assert aux and aux[0].startswith("sha256:")
    assert b.run("t-gz", "cat", "/f") == "gz\n"
    # a body that is not a tar is a clear error, before any output
    r = b.d.api("POST", "/v1.41/build?t=t-bad", body=b"this is not a tar archive at all" * 40,
                headers={"Content-Type": "application/x-tar"})
    assert r.status in (400, 500) and "tar" in r.json()["message"]


def test_interrupted_build_leaves_nothing(b):
    from conftest import build_leftovers
    ctx = b.ctx({"Dockerfile": f"FROM {BASE}\nRUN echo started && sleep 60\n"})
    p = subprocess.Popen(["/usr/local/bin/docker", "build", "-t", "t-int", str(ctx)], env=b.d.env({"DOCKER_BUILDKIT": "0"}),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = ""
    deadline = time.time() + 30
    while "started" not in seen and time.time() < deadline:
        seen += p.stdout.readline()
    assert "started" in seen
    p.send_signal(signal.SIGINT)  # the CLI closes the connection
    p.wait(10)
    # the daemon notices, kills the RUN container and removes its snapshot
    deadline = time.time() + 15
    while build_leftovers(b.d) and time.time() < deadline:
        time.sleep(0.1)
    assert build_leftovers(b.d) == []
    assert b.d.docker("image", "inspect", "t-int", check=False).returncode != 0


def test_add_url_from_loopback(b):
    import http.server
    import threading

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.startswith("/files/remote.tar"):
                body = b"not extracted\n"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        port = srv.server_address[1]
        b.build({"Dockerfile": f"FROM {BASE}\nADD http://127.0.0.1:{port}/files/remote.tar?x=1 /dl/\n"}, "-t", "t-url")
        # fetched files are not extracted, get mode 0600 and the server's mtime
        assert b.run("t-url", "stat", "-c", "%n %a %Y", "/dl/remote.tar") == "/dl/remote.tar 600 1445412480\n"
        assert b.run("t-url", "cat", "/dl/remote.tar") == "not extracted\n"
        res = b.build({"Dockerfile": f"FROM {BASE}\nADD http://127.0.0.1:{port}/missing /x\n"}, check=False)
        assert "ADD failed: fetch http://127.0.0.1:" in res.stderr and "404" in res.stderr
        res = b.build({"Dockerfile": f"FROM {BASE}\nCOPY http://127.0.0.1:{port}/files/remote.tar /x\n"}, check=False)
        assert "source can't be a URL for COPY" in res.stderr
    finally:
        srv.shutdown()


def test_from_pulls_a_missing_image_from_a_registry(b, tmp_path):
    import importlib.util
    from berthtest import ROOT
    spec = importlib.util.spec_from_file_location("berth_regutil_build", ROOT / "tests" / "integration" / "registry" / "regutil.py")
    regutil = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(regutil)
    reg = regutil.Registry(tmp_path).start()
    try:
        ref = f"{reg.host}/team/bb:1"
        b.d.docker("tag", BASE, ref)
        b.d.docker("push", ref)
        b.d.docker("rmi", ref)
        res = b.build({"Dockerfile": f"FROM {ref}\nRUN echo pulled > /p\n"}, "-t", "t-pulled")
        assert b.run("t-pulled", "cat", "/p") == "pulled\n"
        assert b.d.docker("image", "inspect", ref).returncode == 0
        # --pull asks the registry even when the image is local
        res = b.build({"Dockerfile": f"FROM {ref}\n"}, "--pull", "-t", "t-pulled2")
        assert "/v2/team/bb/manifests/1" in reg.log()
        res = b.build({"Dockerfile": f"FROM {reg.host}/team/nope:1\n"}, check=False)
        assert res.returncode != 0 and "nope" in res.stderr
        # a built image's layers push and pull back intact
        built = f"{reg.host}/team/built:1"
        b.d.docker("tag", "t-pulled", built)
        b.d.docker("push", built)
        b.d.docker("rmi", "t-pulled", built)
        b.d.docker("pull", built)
        assert b.run(built, "cat", "/p") == "pulled\n"
    finally:
        reg.stop()


def test_from_pulls_with_the_clients_credentials(b, tmp_path):
    """The CLI sends its logins in X-Registry-Config; FROM uses them."""
    import importlib.util
    from berthtest import ROOT
    spec = importlib.util.spec_from_file_location("berth_regutil_build2", ROOT / "tests" / "integration" / "registry" / "regutil.py")
    regutil = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(regutil)
    reg = regutil.Registry(tmp_path, auth=regutil.htpasswd_auth(tmp_path, {"bob": "s3cret"})).start()
    try:
        ref = f"{reg.host}/private/bb:1"
        b.d.docker("login", "-u", "bob", "--password-stdin", reg.host, input="s3cret\n")
        b.d.docker("tag", BASE, ref)
        b.d.docker("push", ref)
        b.d.docker("rmi", ref)
        b.build({"Dockerfile": f"FROM {ref}\n"}, "-t", "t-authpull")
        b.d.docker("rmi", ref)
        b.d.docker("logout", reg.host)
        res = b.build({"Dockerfile": f"FROM {ref}\n"}, check=False)
        assert res.returncode != 0
    finally:
        reg.stop()


def test_cache_from_an_image(b):
    files = {"Dockerfile": f"FROM {BASE}\nENV X=1\nRUN echo a > /a\nCOPY f /f\nWORKDIR /w\nCMD [\"cat\", \"/a\"]\n", "f": "f\n"}
    ctx = b.ctx(files)
    b.build(ctx, "-t", "t-cf-src")
    # the step cache index is gone (docker builder prune): nothing hits …
    b.d.docker("builder", "prune", "-f")
    res = b.build(ctx, "-t", "t-cf-1")
    assert "Using cache" not in res.stdout
    b.d.docker("builder", "prune", "-f")
    # … unless an image with the same history is named with --cache-from
    res = b.build(ctx, "--cache-from", "t-cf-src", "-t", "t-cf-2")
    assert res.stdout.count("---> Using cache") == 5, res.stdout
    assert "Running in" not in res.stdout
    assert b.run("t-cf-2") == "a\n" and b.run("t-cf-2", "cat", "/f") == "f\n"
    assert b.inspect("t-cf-2")["RootFS"] == b.inspect("t-cf-src")["RootFS"]
    # a changed file stops the reuse at its step
    (ctx / "f").write_text("g\n")
    b.d.docker("builder", "prune", "-f")
    res = b.build(ctx, "--cache-from", "t-cf-src", "-t", "t-cf-3")
    assert res.stdout.count("---> Using cache") == 2, res.stdout
    assert b.run("t-cf-3", "cat", "/f") == "g\n"


def test_dockerfile_outside_context_stdin_and_iidfile(b, tmp_path):
    ctx = b.ctx({"data.txt": "d\n"})
    other = tmp_path / "elsewhere.Dockerfile"
    other.write_text(f"FROM {BASE}\nCOPY data.txt /\n")
    iid = tmp_path / "iid"
    b.build(ctx, "-f", other, "--iidfile", iid, "-t", "t-outside")
    assert b.run("t-outside", "cat", "/data.txt") == "d\n"
    assert iid.read_text().strip() == b.inspect("t-outside")["Id"]
    env = b.d.env({"DOCKER_BUILDKIT": "0"})
    res = subprocess.run(["/usr/local/bin/docker", "build", "-f", "-", "-t", "t-stdin", str(ctx)],
                         input=f"FROM {BASE}\nRUN echo stdin > /s\n", env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert b.run("t-stdin", "cat", "/s") == "stdin\n"


def test_concurrent_builds_and_platform(b):
    ctxs = [b.ctx({"Dockerfile": f"FROM {BASE}\nRUN echo {i} > /n && sleep 0.3\nCOPY f /f\n", "f": str(i)}) for i in range(2)]
    env = b.d.env({"DOCKER_BUILDKIT": "0"})
    procs = [subprocess.Popen(["/usr/local/bin/docker", "build", "-t", f"t-conc{i}", str(c)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i, c in enumerate(ctxs)]
    for p in procs:
        out, errs = p.communicate(timeout=120)
        assert p.returncode == 0, errs
    for i in range(2):
        assert b.run(f"t-conc{i}", "cat", "/n", "/f") == f"{i}\n{i}"
    # --platform: the host's builds, another is refused with a clear error
    import platform as pyplatform
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(pyplatform.machine(), pyplatform.machine())
    b.build({"Dockerfile": f"FROM {BASE}\n"}, "--platform", f"linux/{arch}", "-t", "t-plat")
    other = "linux/s390x" if arch != "s390x" else "linux/amd64"
    res = b.build({"Dockerfile": f"FROM {BASE}\n"}, "--platform", other, check=False)
    assert res.returncode != 0 and "only the host's platform" in res.stderr


def test_flooding_run_output_is_streamed_with_bounded_memory(b):
    with open(f"/proc/{b.d.pid}/maps") as f:
        if "libasan" in f.read():
            pytest.skip("RSS is not meaningful under AddressSanitizer")
    # 32 MiB of output to a client that reads slowly: berthd's RSS stays
    # far below the output size (the RUN waits for the client)
    ctx = b.ctx({"Dockerfile": f"FROM {BASE}\nRUN yes 0123456789012345678901234567890123456789 | head -c 33554432\n"})
    env = b.d.env({"DOCKER_BUILDKIT": "0"})
    slow_reader = "import sys, time\nwhile sys.stdin.buffer.read(65536):\n    time.sleep(0.004)\n"
    p = subprocess.Popen(f"/usr/local/bin/docker build {ctx} | /usr/bin/python3 -c '{slow_reader}'", shell=True, env=env,
                         stderr=subprocess.PIPE, text=True)
    peak = before = b.d.rss_kib()
    while p.poll() is None:
        peak = max(peak, b.d.rss_kib())
        time.sleep(0.05)
    assert p.returncode == 0, p.stderr.read()
    print("peak RSS KiB", peak, "before", before)
    assert peak - before < 20 * 1024, f"berthd RSS grew from {before} to {peak} KiB"


def test_non_ascii_file_names_in_the_context(b):
    # berthd packs the COPY layer with libarchive: its "C" locale must not
    # refuse the name (docker's Go tar writes any name)
    b.build({"Dockerfile": f"FROM {BASE}\nCOPY café.txt /\n", "café.txt": "crème\n"}, "-t", "t-utf8")
    assert b.run("t-utf8", "cat", "/café.txt") == "crème\n"
