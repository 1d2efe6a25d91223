"""The builder inside berthd: builds run on threads of their own (a long
RUN never starves pulls or other builds), FROM pulls with docker's
progress lines, RUN on the default bridge network, intermediate
containers (--rm / --force-rm), RUN --mount=type=secret|ssh refused as
the classic builder does, and independent stages in parallel."""
import json
import subprocess
import threading

import pytest

from conftest import HoldServer, load_regutil

BASE = "busybox:local"


def _popen_build(b, files, *args):
    ctx = b.ctx(files)
    return subprocess.Popen(["/usr/local/bin/docker", "build", *args, str(ctx)], env=b.d.env({"DOCKER_BUILDKIT": "0"}),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_long_builds_do_not_starve_pulls_or_other_builds(b, tmp_path):
    """More builds than the daemon's worker pool has threads, all inside a
    RUN that waits on the test's server: a pull, an image removal and a
    quick build still complete while they wait."""
    reg = load_regutil().Registry(tmp_path).start()
    hold = HoldServer()
    procs = []
    try:
        ref = f"{reg.host}/team/bb:1"
        b.d.docker("tag", BASE, ref)
        b.d.docker("push", ref)
        b.d.docker("rmi", ref)
        for i in range(6):
            procs.append(_popen_build(b, {"Dockerfile": f"FROM {BASE}\nRUN echo {i} && wget -q -O- http://127.0.0.1:{hold.port}/hold\n"},
                                      "--network", "host", "-t", f"t-long{i}"))
        assert hold.wait_seen(6), "the builds did not all reach their RUN step"
        b.d.docker("pull", ref, timeout=60)
        b.d.docker("rmi", ref, timeout=60)
        quick = b.build({"Dockerfile": f"FROM {BASE}\nRUN echo quick > /q\n"}, "-t", "t-quick", timeout=60)
        assert "Successfully tagged t-quick:latest" in quick.stdout
        assert all(p.poll() is None for p in procs), "a held build ended early"
        hold.release()
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, (out, err)
            assert "released" in out
    finally:
        hold.stop()
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        reg.stop()


@pytest.mark.parametrize("mount,what", [("type=secret,id=tok", "build secrets"),
                                        ("type=ssh", "SSH agent forwarding")])
def test_secret_and_ssh_mounts_need_buildkit(b, mount, what):
    """POST /build carries no secrets and no SSH agent (the CLI without
    buildx has no --secret/--ssh): the step fails at its line, before
    anything runs, never silently without the secret."""
    res = b.build({"Dockerfile": f"FROM {BASE}\nRUN echo before\nRUN --mount={mount} cat /run/secrets/tok\n"}, check=False)
    assert res.returncode != 0
    assert f"Dockerfile:3: RUN --mount={mount}: the --mount=type={mount.split(',')[0][5:]} option requires BuildKit" in res.stderr
    assert what in res.stderr
    assert "Running in" not in res.stdout.split("Step 3/3")[1]
    res = b.build({"Dockerfile": f"FROM {BASE}\nRUN --mount=type=nfs,target=/x true\n"}, check=False)
    assert "Dockerfile:2: RUN --mount=type=nfs,target=/x: unknown mount type nfs" in res.stderr


def test_from_pull_progress_in_the_build_stream(b, tmp_path):
    """FROM of an image that is not local: the pull's progress appears in
    the build output as docker's classic builder shows it."""
    reg = load_regutil().Registry(tmp_path).start()
    try:
        b.build({"Dockerfile": f"FROM {BASE}\nRUN head -c 300000 /dev/urandom > /blob\n"}, "-t", "t-pullsrc")
        ref = f"{reg.host}/team/layered:1"
        b.d.docker("tag", "t-pullsrc", ref)
        b.d.docker("push", ref)
        b.d.docker("rmi", "t-pullsrc", ref)
        res = b.build({"Dockerfile": f"FROM {ref}\nRUN test -s /blob\n"}, "-t", "t-pulled-progress")
        out = res.stdout
        head = out.split("Step 2/2")[0]
        assert f"Step 1/2 : FROM {ref}\n1: Pulling from team/layered\n" in head, out
        assert ": Pull complete" in head or ": Already exists" in head, out
        assert "Digest: sha256:" in head and f"Status: Downloaded newer image for {ref}" in head, out
        # -q: only the id
        b.d.docker("rmi", "t-pulled-progress", ref)
        res = b.build({"Dockerfile": f"FROM {ref}\n"}, "-q")
        assert "Pulling" not in res.stdout and res.stdout.strip().startswith("sha256:")
    finally:
        reg.stop()


def _bridge_state(b):
    """Endpoints, veths on the daemon's bridge device, RUN network namespaces."""
    net = json.loads(b.d.docker("network", "inspect", "bridge").stdout)[0]
    dev = b.d.network["bridge"]
    links = subprocess.run(["ip", "-o", "link", "show", "master", dev], capture_output=True, text=True).stdout.split("\n")
    nsdir = b.d.exec_root / "build" / "netns"
    return {"endpoints": sorted(net.get("Containers") or {}), "veths": [l for l in links if l.strip()],
            "netns": sorted(p.name for p in nsdir.iterdir()) if nsdir.exists() else []}


def _wait_for(cond, timeout=60):
    import time
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def test_run_on_the_default_bridge(b):
    """RUN containers get an endpoint on the default bridge as docker's
    classic builder gives them (--network chooses: none, host); the
    endpoint, veth and namespace go after success, failure and cancel."""
    gw = json.loads(b.d.docker("network", "inspect", "bridge").stdout)[0]["IPAM"]["Config"][0]["Gateway"]
    hold = HoldServer()
    try:
        df = (f"FROM {BASE}\nRUN wget -q -O- http://{gw}:{hold.port}/hello && grep -c . /proc/net/route "
              "&& awk '$2 == \"00000000\" {{ print \"default via \" $1 }}' /proc/net/route && tail -1 /etc/hosts\n")
        res = b.build({"Dockerfile": df}, "--no-cache", "-t", "t-bridge")
        assert "released" in res.stdout, res.stdout
        assert "default via eth0" in res.stdout, res.stdout
        assert _bridge_state(b) == {"endpoints": [], "veths": [], "netns": []}
        # --network none: only loopback, the gateway unreachable
        res = b.build({"Dockerfile": f"FROM {BASE}\nRUN grep -q lo: /proc/net/dev && ! grep -q eth0 /proc/net/dev && echo isolated\n"},
                      "--network", "none")
        assert "isolated" in res.stdout
        # a failing RUN on the bridge
        res = b.build({"Dockerfile": f"FROM {BASE}\nRUN wget -q -O- http://{gw}:{hold.port}/hello && exit 7\n"}, check=False)
        assert res.returncode == 7 and "released" in res.stdout
        assert _bridge_state(b) == {"endpoints": [], "veths": [], "netns": []}
        # an unknown network
        res = b.build({"Dockerfile": f"FROM {BASE}\nRUN true\n"}, "--network", "nosuchnet", check=False)
        assert res.returncode != 0 and "nosuchnet" in res.stderr
        # cancelled while the RUN waits on the server: the client goes away
        p = _popen_build(b, {"Dockerfile": f"FROM {BASE}\nRUN wget -q -O- http://{gw}:{hold.port}/hold\n"}, "--no-cache")
        assert hold.wait_seen(hold.seen + 1)
        assert len(_bridge_state(b)["endpoints"]) == 1
        p.kill()
        p.wait()
        assert _wait_for(lambda: _bridge_state(b) == {"endpoints": [], "veths": [], "netns": []}), _bridge_state(b)
        from conftest import build_leftovers
        assert _wait_for(lambda: build_leftovers(b.d) == []), build_leftovers(b.d)
    finally:
        hold.stop()


def test_independent_stages_build_in_parallel(b):
    """Two stages that do not use each other run at once (each RUN waits on
    the test's server until both arrived: in order, the second would never
    start); the output stays in docker's step order; the last stage copies
    from both."""
    hold = HoldServer()
    try:
        df = f"""FROM {BASE} AS one
RUN wget -q -O- http://127.0.0.1:{hold.port}/hold > /one
FROM {BASE} AS two
RUN wget -q -O- http://127.0.0.1:{hold.port}/hold > /two
FROM {BASE}
COPY --from=one /one /one
COPY --from=two /two /two
"""
        p = _popen_build(b, {"Dockerfile": df}, "--network", "host", "-t", "t-par")
        assert hold.wait_seen(2), "the second stage did not start while the first ran"
        hold.release()
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, (out, err)
        steps = [l for l in out.splitlines() if l.startswith("Step ")]
        assert [s.split()[1] for s in steps] == [f"{i}/7" for i in range(1, 8)], out
        # each step's lines directly follow it: stage two's RUN output is
        # not inside stage one's
        first_run = out.index("Step 2/7")
        assert out.index("Step 3/7") > out.index("Removing intermediate container", first_run)
        assert b.run("t-par", "cat", "/one", "/two") == "released\nreleased\n"
        # cached: the same image
        again = b.build({"Dockerfile": df}, "--network", "host", "-t", "t-par2")
        assert again.stdout.count("Using cache") == 4
        assert b.inspect("t-par2")["Id"] == b.inspect("t-par")["Id"]
    finally:
        hold.stop()


def test_a_failing_stage_stops_the_others(b):
    """A stage fails while another waits in its RUN: the build fails at
    once with the failing step's error; the waiting RUN is killed and
    nothing is left behind (the fixture checks)."""
    hold = HoldServer()
    try:
        df = f"""FROM {BASE} AS slow
RUN wget -q -O- http://127.0.0.1:{hold.port}/hold
FROM {BASE} AS broken
RUN echo failing && exit 5
FROM {BASE}
COPY --from=slow /etc/hostname /a
"""
        p = _popen_build(b, {"Dockerfile": df}, "--network", "host", "--no-cache")
        out, err = p.communicate(timeout=90)
        assert p.returncode == 5, (out, err)
        assert "The command '/bin/sh -c echo failing && exit 5' returned a non-zero code: 5" in err
        assert "Step 4/6 : RUN echo failing && exit 5" in out and "Step 5/6" not in out
        assert hold.seen <= 1 and not hold.release_event.is_set()
    finally:
        hold.stop()


def _ps_a(b):
    out = b.d.docker("ps", "-a", "--no-trunc", "--format", "{{.ID}}|{{.Status}}|{{.Command}}|{{.Image}}").stdout
    return [l.split("|") for l in out.splitlines() if l]


def test_intermediate_containers_rm_and_force_rm(b):
    """docker's classic builder: a failed RUN's container stays (ps -a,
    exited with its code, its changes in it) unless --force-rm; with
    --rm=false every RUN's container stays; by default successful ones go."""
    df = f"FROM {BASE}\nRUN echo ok > /ok\nRUN echo bad > /bad && exit 3\n"
    earlier = b.d.docker("ps", "-aq").stdout.split()  # other tests' failed RUNs
    if earlier:
        b.d.docker("rm", *earlier)
    try:
        res = b.build({"Dockerfile": df}, "--no-cache", check=False)
        assert res.returncode == 3
        assert res.stdout.count("Removing intermediate container") == 1, res.stdout
        kept = _ps_a(b)
        assert len(kept) == 1, kept
        cid, status, cmd, image = kept[0]
        assert status.startswith("Exited (3)") and "echo bad > /bad && exit 3" in cmd
        running_in = res.stdout.split(" ---> Running in ")[-1][:12]
        assert cid.startswith(running_in)
        # the image it ran on is the previous step's; its changes are in it
        assert b.d.docker("diff", cid).stdout.split().count("/bad") == 1
        b.d.docker("rm", cid)
        # --force-rm: nothing stays, the removal is announced before the error
        res = b.build({"Dockerfile": df}, "--no-cache", "--force-rm", check=False)
        assert res.returncode == 3 and res.stdout.count("Removing intermediate container") == 2
        assert _ps_a(b) == []
        # --rm=false: both stay, no removal lines
        res = b.build({"Dockerfile": df}, "--no-cache", "--rm=false", check=False)
        assert "Removing intermediate container" not in res.stdout
        kept = sorted(_ps_a(b), key=lambda k: k[1])
        assert sorted(k[1][:10] for k in kept) == ["Exited (0)", "Exited (3)"], kept
        ok = [k for k in kept if "echo ok" in k[2]][0]
        assert b.d.docker("start", "-a", ok[0]).returncode == 0
        assert b.d.docker("diff", ok[0]).stdout.split().count("/ok") == 1
        # a successful build with --rm=false keeps its containers too
        res = b.build({"Dockerfile": f"FROM {BASE}\nRUN true\n"}, "--no-cache", "--rm=false")
        assert len(_ps_a(b)) == 3
    finally:
        ids = b.d.docker("ps", "-aq").stdout.split()
        if ids:
            b.d.docker("rm", "-f", *ids)


def test_berthd_killed_during_a_bridge_run_leaves_nothing_after_restart(b):
    """berthd SIGKILLed while a RUN on the bridge waits: the next start
    removes the build container, its network namespace, its endpoint and
    veth, its snapshot and context."""
    from conftest import build_leftovers
    gw = json.loads(b.d.docker("network", "inspect", "bridge").stdout)[0]["IPAM"]["Config"][0]["Gateway"]
    hold = HoldServer()
    try:
        p = _popen_build(b, {"Dockerfile": f"FROM {BASE}\nRUN wget -q -O- http://{gw}:{hold.port}/hold\n"}, "--no-cache")
        assert hold.wait_seen(1)
        assert len(_bridge_state(b)["veths"]) == 1
        b.d.kill()
        p.wait(30)
        b.d.start()
        assert _bridge_state(b) == {"endpoints": [], "veths": [], "netns": []}
        assert build_leftovers(b.d) == []
    finally:
        hold.stop()


def _tar_bytes(entries):
    """entries: [(name, bytes)] in this order, as a plain tar."""
    import io
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _upload(b, query):
    """A POST /build whose body the test sends chunk by chunk."""
    import importlib.util
    from berthtest import ROOT
    spec = importlib.util.spec_from_file_location("berth_daemon_conftest_upload", ROOT / "tests" / "integration" / "daemon" / "conftest.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    conn = mod.UnixHTTPConnection(b.d.socket, timeout=120)
    conn.putrequest("POST", f"/v1.41/build?{query}")
    conn.putheader("Content-Type", "application/x-tar")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()

    def send(data):
        conn.send(b"%x\r\n%s\r\n" % (len(data), data))
    return conn, send


def test_steps_before_the_first_copy_overlap_the_upload(b):
    """The build starts when the Dockerfile's entry arrived: a RUN before
    any COPY runs while the rest of the context is still on its way; the
    COPY then waits for all of it, and gets all of it."""
    hold = HoldServer()
    try:
        df = (f"FROM {BASE}\nRUN wget -q -O- http://127.0.0.1:{hold.port}/early > /early\n"
              "COPY big.bin /big.bin\nRUN test $(wc -c < /big.bin) = 3000000\n").encode()
        body = _tar_bytes([("Dockerfile", df), ("big.bin", b"x" * 3000000)])
        conn, send = _upload(b, "t=t-early&networkmode=host&nocache=1")
        send(body[:4096])  # the Dockerfile's entry and the start of the next
        assert hold.wait_seen(1), "the RUN did not start before the upload ended"
        for i in range(4096, len(body), 65536):
            send(body[i:i + 65536])
        send(b"")
        res = conn.getresponse()
        lines = [json.loads(l) for l in res.read().decode().splitlines() if l.strip()]
        conn.close()
        assert not [l for l in lines if "error" in l], lines
        assert b.run("t-early", "cat", "/early") == "released\n"
    finally:
        hold.stop()


def test_a_cut_upload_fails_a_build_that_started(b):
    """The client goes away after the Dockerfile arrived: the build that
    started fails, no tag, nothing left (the fixture checks)."""
    df = f"FROM {BASE}\nRUN echo started\nCOPY big.bin /big.bin\n".encode()
    body = _tar_bytes([("Dockerfile", df), ("big.bin", b"y" * 2000000)])
    conn, send = _upload(b, "t=t-cut&networkmode=host&nocache=1")
    send(body[:600000])
    conn.close()  # mid-upload
    from conftest import build_leftovers

    def settled():
        return build_leftovers(b.d) == []
    import time
    deadline = time.time() + 30
    while not settled() and time.time() < deadline:
        time.sleep(0.1)
    assert settled(), build_leftovers(b.d)
    assert b.d.docker("image", "inspect", "t-cut", check=False).returncode != 0


def test_a_dockerfile_given_twice_in_the_tar(b):
    """Two entries named Dockerfile: when the first one already started the
    build, the build fails and says why (docker would use the last)."""
    first = f"FROM {BASE}\nRUN echo first\n".encode()
    second = f"FROM {BASE}\nRUN echo second\n".encode()
    conn, send = _upload(b, "t=t-twice&nocache=1")
    send(_tar_bytes([("Dockerfile", first), ("pad", b"z" * 100000), ("Dockerfile", second)]))
    send(b"")
    res = conn.getresponse()
    text = res.read().decode()
    conn.close()
    assert "the context holds Dockerfile more than once" in text, text
    assert b.d.docker("image", "inspect", "t-twice", check=False).returncode != 0


def test_run_cache_and_tmpfs_mounts(b):
    """RUN --mount=type=cache keeps its directory across builds (by id);
    type=tmpfs is empty and leaves nothing in the layer."""
    df1 = f"FROM {BASE}\nRUN --mount=type=cache,id=bb-cache,target=/c echo kept > /c/f\n"
    df2 = (f"FROM {BASE}\nRUN --mount=type=cache,id=bb-cache,target=/var/cache/x cat /var/cache/x/f > /seen\n"
           "RUN --mount=type=tmpfs,target=/t test -z \"$(ls -A /t)\" && echo scratch > /t/s && mount | grep -q ' /t type tmpfs'\n")
    b.build({"Dockerfile": df1}, "--no-cache")
    b.build({"Dockerfile": df2}, "--no-cache", "-t", "t-mounts")
    assert b.run("t-mounts", "cat", "/seen") == "kept\n"
    assert b.run("t-mounts", "sh", "-c", "ls -A /t 2>/dev/null | wc -l").strip() == "0"
