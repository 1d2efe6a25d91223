"""Beyond the everyday path: cp both ways (and escapes), diff, commit,
export, rename, update, kill, restart policies, health checks, limits in
the cgroups, security options, events, prune, wait conditions, a client
going away mid-attach, docker-py."""
import io
import json
import os
import socket
import tarfile
import time

import pytest

from conftest import IMAGE, wait_for


def inspect(d, name):
    return json.loads(d.docker("inspect", name).stdout)[0]


# ------------------------------------------------------------------ cgroups --

def cgroup_file(pid, controller, name):
    """The host path of a cgroup file of pid: v1 hierarchy of controller,
    or the unified one (hybrid and pure v2)."""
    with open(f"/proc/{pid}/cgroup") as f:
        lines = [l.strip().split(":", 2) for l in f]
    for _, ctrls, path in lines:
        if controller in ctrls.split(","):
            for base in (f"/sys/fs/cgroup/{ctrls}", f"/sys/fs/cgroup/{controller}"):
                p = f"{base}{path}/{name}"
                if os.path.exists(p):
                    return p
    for _, ctrls, path in lines:
        if ctrls == "":
            for base in ("/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
                p = f"{base}{path}/{name}"
                if os.path.exists(p):
                    return p
    raise AssertionError(f"no cgroup file {controller}/{name} for {pid}: {lines}")


def read(path):
    with open(path) as f:
        return f.read().strip()


def test_limits_are_applied(clean):
    d = clean
    d.docker("run", "-d", "--name", "lim", "--memory", "64m", "--pids-limit", "50", "--cpus", "0.5",
             IMAGE, "sleep", "300")
    pid = inspect(d, "lim")["State"]["Pid"]
    try:
        mem = read(cgroup_file(pid, "memory", "memory.limit_in_bytes"))
    except AssertionError:
        mem = read(cgroup_file(pid, "memory", "memory.max"))
    assert int(mem) == 64 * 1024 * 1024
    try:
        pids = read(cgroup_file(pid, "pids", "pids.max"))
    except AssertionError:
        pids = read(cgroup_file(pid, "pids", "pids.max"))
    assert pids == "50"
    try:
        quota = int(read(cgroup_file(pid, "cpu", "cpu.cfs_quota_us")))
        period = int(read(cgroup_file(pid, "cpu", "cpu.cfs_period_us")))
    except AssertionError:
        q, p = read(cgroup_file(pid, "cpu", "cpu.max")).split()
        quota, period = int(q), int(p)
    assert quota * 2 == period
    # update changes the live limit
    d.docker("update", "--memory", "96m", "--memory-swap", "192m", "lim")
    try:
        mem = read(cgroup_file(pid, "memory", "memory.limit_in_bytes"))
    except AssertionError:
        mem = read(cgroup_file(pid, "memory", "memory.max"))
    assert int(mem) == 96 * 1024 * 1024
    assert inspect(d, "lim")["HostConfig"]["Memory"] == 96 * 1024 * 1024


def test_security_options(clean):
    d = clean
    res = d.docker("run", "--rm", "--read-only", IMAGE, "touch", "/x", check=False)
    assert res.returncode != 0 and "Read-only file system" in res.stderr
    # /dev/shm and volumes stay writable on a read-only root
    d.docker("run", "--rm", "--read-only", "--tmpfs", "/run", IMAGE, "sh", "-c", "touch /dev/shm/a /run/b")
    res = d.docker("run", "--rm", "--cap-drop", "CHOWN", IMAGE, "sh", "-c", "touch /tmp/f; chown 1 /tmp/f",
                   check=False)
    assert res.returncode != 0 and "Operation not permitted" in res.stderr
    d.docker("run", "--rm", IMAGE, "sh", "-c", "touch /tmp/f; chown 1 /tmp/f")
    # docker's default capability set and masked paths
    caps = d.docker("run", "--rm", IMAGE, "sh", "-c", "grep CapEff /proc/self/status").stdout.split()[1]
    assert int(caps, 16) == 0xa80425fb
    # masked: /proc/kcore reads as empty, /proc/sys is read-only
    assert d.docker("run", "--rm", IMAGE, "sh", "-c", "cat /proc/kcore | wc -c").stdout.strip() == "0"
    res = d.docker("run", "--rm", IMAGE, "sh", "-c", "echo 1 > /proc/sys/kernel/domainname", check=False)
    assert res.returncode != 0 and "Read-only file system" in res.stderr
    priv = d.docker("run", "--rm", "--privileged", IMAGE, "sh", "-c", "grep CapEff /proc/self/status").stdout.split()[1]
    assert int(priv, 16) > int(caps, 16)
    nnp = d.docker("run", "--rm", "--security-opt", "no-new-privileges", IMAGE, "grep", "NoNewPrivs",
                   "/proc/self/status").stdout.split()[1]
    assert nnp == "1"
    hostname = d.docker("run", "--rm", "--hostname", "box1", IMAGE, "hostname").stdout.strip()
    assert hostname == "box1"
    resolv = d.docker("run", "--rm", IMAGE, "cat", "/etc/resolv.conf").stdout
    assert "nameserver" in resolv and "nameserver 127." not in resolv and "nameserver ::1" not in resolv
    resolv = d.docker("run", "--rm", "--dns", "192.0.2.53", "--dns-search", "example.test", IMAGE,
                      "cat", "/etc/resolv.conf").stdout
    assert "nameserver 192.0.2.53" in resolv and "search example.test" in resolv
    hosts = d.docker("run", "--rm", "--add-host", "db.test:192.0.2.7", IMAGE, "cat", "/etc/hosts").stdout
    assert "192.0.2.7\tdb.test" in hosts and "localhost" in hosts
    user = d.docker("run", "--rm", "--user", "nobody", IMAGE, "id", "-u").stdout.strip()
    assert user == "65534"


def test_seccomp_default_unconfined_and_a_label_posing_as_the_profile(clean):
    """Docker's default profile reaches the runtime through a file (the
    org.berth.seccomp.profile annotation); a container label of that name
    never does."""
    d = clean

    def mode(*args):
        out = d.docker("run", "--rm", *args, IMAGE, "grep", "^Seccomp:", "/proc/self/status").stdout
        return out.split()[1]
    assert mode() == "2"
    assert mode("--security-opt", "seccomp=unconfined") == "0"
    assert mode("--label", "org.berth.seccomp.profile=/etc/passwd") == "2"
    assert mode("--label", "org.berth.seccomp.profile=/etc/passwd", "--security-opt", "seccomp=unconfined") == "0"
    # docker exec gets the container's filter too
    cid = d.docker("run", "-d", IMAGE, "sleep", "60").stdout.strip()
    assert d.docker("exec", cid, "grep", "^Seccomp:", "/proc/self/status").stdout.split()[1] == "2"
    d.docker("rm", "-f", cid)


def test_init_reaps_and_forwards(clean):
    d = clean
    res = d.docker("run", "--rm", "--init", IMAGE, "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '", check=False)
    if res.returncode != 0 and "no init binary" in res.stderr:
        pytest.skip("no tini-static/catatonit on this host")
    assert res.stdout.startswith("/sbin/docker-init")


# ---------------------------------------------------------------------- cp --

def test_cp_both_ways_and_escapes(clean, tmp_path):
    d = clean
    d.docker("run", "-d", "--name", "cp", IMAGE, "sleep", "300")
    src = tmp_path / "f"
    src.write_text("hello cp\n")
    d.docker("cp", src, "cp:/tmp/f")
    assert d.docker("exec", "cp", "cat", "/tmp/f").stdout == "hello cp\n"
    out = tmp_path / "out"
    d.docker("cp", "cp:/tmp/f", out)
    assert out.read_text() == "hello cp\n"
    # a directory both ways
    d.docker("exec", "cp", "sh", "-c", "mkdir -p /data/sub && echo x > /data/sub/y")
    d.docker("cp", "cp:/data", tmp_path / "data")
    assert (tmp_path / "data" / "sub" / "y").read_text() == "x\n"
    # a symlink planted in the container that points at a host path leads
    # inside the container's root, never to the host
    marker = f"berth-escape-{os.getpid()}"
    d.docker("exec", "cp", "sh", "-c", "mkdir -p /etc/evil && ln -s /etc/evil /tmp/link")
    f2 = tmp_path / marker
    f2.write_text("x")
    d.docker("cp", f2, "cp:/tmp/link/")
    assert not os.path.exists(f"/etc/evil/{marker}")
    assert d.docker("exec", "cp", "cat", f"/etc/evil/{marker}").stdout == "x"
    d.docker("exec", "cp", "ln", "-s", "/", "/tmp/rootlink")
    d.docker("cp", "cp:/tmp/rootlink/etc/passwd", tmp_path / "pw")
    assert (tmp_path / "pw").read_text().startswith("root:x:0:0:")
    # a tar whose entries climb out of the target is refused
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("../../../../tmp/" + marker)
        info.size = 1
        t.addfile(info, io.BytesIO(b"y"))
    r = d.api("PUT", "/v1.41/containers/cp/archive", query={"path": "/tmp"}, body=buf.getvalue(),
              headers={"Content-Type": "application/x-tar"})
    assert r.status == 400, r
    assert not os.path.exists(f"/tmp/{marker}")
    # stat header and 404
    r = d.api("HEAD", "/v1.41/containers/cp/archive", query={"path": "/tmp/f"})
    assert r.status == 200
    import base64
    st = json.loads(base64.b64decode(r.headers["X-Docker-Container-Path-Stat"]))
    assert st["name"] == "f" and st["size"] == 9
    r = d.api("HEAD", "/v1.41/containers/cp/archive", query={"path": "/nonexistent"})
    assert r.status == 404


def test_non_ascii_names_through_cp_commit_and_export(clean, tmp_path):
    """Names are bytes, as in docker (Go's tar): berthd's "C" locale must
    not make libarchive refuse to write a non-ASCII (or non-UTF-8) name."""
    d = clean
    d.docker("run", "-d", "--name", "na", IMAGE, "sh", "-c",
             "mkdir -p /data && echo a > /data/café.txt && echo b > \"/data/$(printf 'x\\377y')\"; sleep 300")
    wait_for(lambda: d.docker("exec", "na", "ls", "/data", check=False).stdout.count("\n") == 2,
             what="files written")
    d.docker("cp", "na:/data", tmp_path / "out")
    assert (tmp_path / "out" / "café.txt").read_text() == "a\n"
    assert (tmp_path / "out" / os.fsdecode(b"x\xffy")).read_text() == "b\n"
    d.docker("commit", "na", "na-img:1")
    assert d.docker("run", "--rm", "na-img:1", "cat", "/data/café.txt").stdout == "a\n"
    exported = tmp_path / "na.tar"
    d.docker("export", "-o", exported, "na")
    with tarfile.open(exported) as t:
        names = t.getnames()
    assert "data/café.txt" in names, names
    d.docker("rm", "-f", "na")
    d.docker("rmi", "na-img:1")


def test_diff_commit_export(clean, tmp_path):
    d = clean
    d.docker("run", "-d", "--name", "dc", IMAGE, "sh", "-c", "echo x > /tmp/new; rm /etc/hostname.bak 2>/dev/null; sleep 300")
    wait_for(lambda: "/tmp/new" in d.docker("diff", "dc").stdout, what="diff")
    diff = d.docker("diff", "dc").stdout.splitlines()
    assert "C /tmp" in diff and "A /tmp/new" in diff
    img = d.docker("commit", "-c", "ENV Z=1", "dc", "berth-commit-test:1").stdout.strip()
    assert img.startswith("sha256:")
    out = d.docker("run", "--rm", "berth-commit-test:1", "sh", "-c", "cat /tmp/new; echo $Z").stdout
    assert out == "x\n1\n"
    # Config and ContainerConfig: Go's whole container.Config, as docker
    # writes them; ContainerConfig is the container's (no ENV Z=1)
    info = d.api("GET", "/v1.41/images/berth-commit-test:1/json").json()
    for key in ("Config", "ContainerConfig"):
        assert {"Tty", "OpenStdin", "Domainname", "OnBuild", "Volumes", "Hostname"} <= set(info[key])
    assert "Z=1" in info["Config"]["Env"] and "Z=1" not in (info["ContainerConfig"]["Env"] or [])
    assert info["ContainerConfig"]["Cmd"] == ["sh", "-c", "echo x > /tmp/new; rm /etc/hostname.bak "
                                              "2>/dev/null; sleep 300"]
    r = d.api("PUT", "/v1.41/containers/dc/archive?path=/nosuch", b"")
    assert r.status == 404
    assert r.json()["message"] == "Could not find the file /nosuch in container dc"
    d.docker("export", "dc", "-o", tmp_path / "exp.tar")
    with tarfile.open(tmp_path / "exp.tar") as t:
        names = t.getnames()
    assert any(n.endswith("bin/busybox") for n in names) and any(n.endswith("tmp/new") for n in names)
    d.docker("rm", "-f", "dc")
    d.docker("rmi", "berth-commit-test:1", check=False)


# ------------------------------------------------------------ small verbs --

def test_rename_kill_wait_prune(clean):
    d = clean
    d.docker("run", "-d", "--name", "old", IMAGE, "sh", "-c", "trap 'exit 42' USR1; while true; do sleep 0.1; done")
    d.docker("rename", "old", "new")
    assert inspect(d, "new")["Name"] == "/new"
    assert d.docker("inspect", "old", check=False).returncode != 0
    d.docker("kill", "-s", "USR1", "new")
    assert d.docker("wait", "new").stdout.strip() == "42"
    res = d.docker("kill", "new", check=False)
    assert res.returncode != 0 and "is not running" in res.stderr
    d.docker("create", "--name", "c2", IMAGE, "true")
    pruned = json.loads(d.api("POST", "/v1.41/containers/prune").body)
    assert len(pruned["ContainersDeleted"]) == 2
    assert d.docker("ps", "-aq").stdout == ""


def test_wait_conditions(clean):
    d = clean
    cid = d.docker("create", IMAGE, "sh", "-c", "exit 7").stdout.strip()
    # not-running answers at once for a created container
    r = d.api("POST", f"/v1.41/containers/{cid}/wait")
    assert r.status == 200 and r.json() == {"StatusCode": 0, "Error": None}
    d.docker("start", cid)
    assert d.docker("wait", cid).stdout.strip() == "7"


def test_restart_policies(clean):
    d = clean
    d.docker("run", "-d", "--name", "onf", "--restart", "on-failure:2", IMAGE, "sh", "-c", "exit 1")
    wait_for(lambda: inspect(d, "onf")["State"]["Status"] == "exited" and inspect(d, "onf")["RestartCount"] == 2,
             timeout=15, what="two restarts then exited")
    d.docker("run", "-d", "--name", "alw", "--restart", "always", IMAGE, "sh", "-c", "sleep 0.2; exit 0")
    wait_for(lambda: inspect(d, "alw")["RestartCount"] >= 2, timeout=15, what="always restarts")
    d.docker("stop", "-t", "1", "alw")
    n = inspect(d, "alw")["RestartCount"]
    time.sleep(0.8)
    st = inspect(d, "alw")
    assert st["State"]["Status"] == "exited" and st["RestartCount"] == n


def test_health_checks(clean):
    d = clean
    d.docker("run", "-d", "--name", "hok", "--health-cmd", "true", "--health-interval", "200ms", IMAGE, "sleep", "300")
    d.docker("run", "-d", "--name", "hbad", "--health-cmd", "exit 3", "--health-interval", "200ms",
             "--health-retries", "2", IMAGE, "sleep", "300")
    assert inspect(d, "hok")["State"]["Health"]["Status"] in ("starting", "healthy")
    wait_for(lambda: inspect(d, "hok")["State"]["Health"]["Status"] == "healthy", what="healthy")
    wait_for(lambda: inspect(d, "hbad")["State"]["Health"]["Status"] == "unhealthy", what="unhealthy")
    h = inspect(d, "hbad")["State"]["Health"]
    assert h["FailingStreak"] >= 2 and h["Log"][-1]["ExitCode"] == 3 and len(h["Log"]) <= 5
    assert "(healthy)" in d.docker("ps", "--filter", "name=hok", "--format", "{{.Status}}").stdout
    assert d.docker("ps", "-q", "--filter", "health=unhealthy").stdout.strip() == inspect(d, "hbad")["Id"][:12]


def test_list_filters(clean):
    d = clean
    a = d.docker("run", "-d", "--name", "fa", "-l", "app=one", IMAGE, "sleep", "300").stdout.strip()
    b = d.docker("create", "--name", "fb", "-l", "app=two", IMAGE, "true").stdout.strip()
    q = lambda *f: d.docker("ps", "-aq", "--no-trunc", *f).stdout.split()
    assert q("--filter", "label=app=one") == [a]
    assert q("--filter", "status=created") == [b]
    assert q("--filter", "name=fb") == [b]
    assert q("--filter", f"id={a[:10]}") == [a]
    assert sorted(q("--filter", f"ancestor={IMAGE}")) == sorted([a, b])
    assert d.docker("ps", "-q", "--no-trunc").stdout.split() == [a]
    r = d.api("GET", "/v1.41/containers/json", query={"filters": json.dumps({"status": ["bogus"]})})
    assert r.status == 400


def test_events_for_the_lifecycle(clean):
    d = clean
    since = str(int(time.time()) - 1)
    d.docker("run", "--rm", "--name", "ev", IMAGE, "true")
    until = str(int(time.time()) + 1)
    out = d.docker("events", "--since", since, "--until", until, "--filter", "container=ev",
                   "--format", "{{.Action}}").stdout.split()
    for action in ("create", "attach", "start", "die", "destroy"):
        assert action in out, out


def test_client_gone_mid_attach(clean):
    d = clean
    cid = d.docker("run", "-d", "-i", IMAGE, "sh", "-c", "while true; do echo tick; sleep 0.05; done").stdout.strip()
    for _ in range(3):
        s = socket.socket(socket.AF_UNIX)
        s.connect(str(d.socket))
        s.sendall(f"POST /v1.41/containers/{cid}/attach?stream=1&stdout=1&stdin=1 HTTP/1.1\r\nHost: x\r\n"
                  "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n".encode())
        head = s.recv(4096)
        assert b"101" in head.split(b"\r\n")[0]
        s.recv(100)
        s.close()
    time.sleep(0.3)
    assert inspect(d, cid)["State"]["Running"]
    assert d.docker("exec", cid, "echo", "ok").stdout == "ok\n"


def test_docker_py(clean):
    d = clean
    client = d.client()
    out = client.containers.run(IMAGE, ["echo", "hi"], remove=True)
    assert out == b"hi\n"
    c = client.containers.run(IMAGE, ["sleep", "300"], detach=True, name="py")
    assert [x.name for x in client.containers.list()] == ["py"]
    code, out = c.exec_run(["sh", "-c", "echo exec; exit 0"])
    assert code == 0 and out == b"exec\n"
    c.stop(timeout=1)
    c.remove()
    assert client.containers.list(all=True) == []


def test_network_modes(clean):
    d = clean
    # default/bridge (until the network area wires bridges): a netns of its own
    own = d.docker("run", "--rm", IMAGE, "readlink", "/proc/self/ns/net").stdout.strip()
    assert own != os.readlink("/proc/self/ns/net")
    assert d.docker("run", "--rm", "--network", "none", IMAGE, "ls", "/sys/class/net").stdout.split() == ["lo"]
    host = d.docker("run", "--rm", "--network", "host", IMAGE, "sh", "-c", "hostname; readlink /proc/self/ns/net").stdout.split()
    assert host == [socket.gethostname(), os.readlink("/proc/self/ns/net")]
    d.docker("run", "-d", "--name", "netsrc", IMAGE, "sleep", "300")
    a = d.docker("exec", "netsrc", "readlink", "/proc/self/ns/net").stdout
    b = d.docker("run", "--rm", "--network", "container:netsrc", IMAGE, "readlink", "/proc/self/ns/net").stdout
    assert a == b
    res = d.docker("run", "--rm", "--network", "container:nosuch", IMAGE, "true", check=False)
    assert res.returncode != 0 and "No such container: nosuch" in res.stderr
    insp = inspect(d, "netsrc")
    assert "bridge" in insp["NetworkSettings"]["Networks"]


def test_exec_edges_and_streaming_stats(clean, tmp_path):
    d = clean
    d.docker("create", "--name", "stopped", IMAGE, "sh", "-c", "echo hi > /tmp/made; exit 0")
    res = d.docker("exec", "stopped", "true", check=False)
    assert res.returncode != 0 and "is not running" in res.stderr
    d.docker("start", "-a", "stopped")
    # cp out of a stopped container (its root is mounted for the request)
    d.docker("cp", "stopped:/tmp/made", tmp_path / "made")
    assert (tmp_path / "made").read_text() == "hi\n"
    d.docker("run", "-d", "--name", "ex", IMAGE, "sleep", "300")
    res = d.docker("exec", "ex", "/no/such", check=False)
    assert res.returncode in (126, 127) or res.returncode != 0
    d.docker("exec", "-d", "ex", "sh", "-c", "echo detached > /tmp/d")
    wait_for(lambda: d.docker("exec", "ex", "cat", "/tmp/d", check=False).stdout == "detached\n", what="detached exec")
    r = d.api("GET", "/v1.41/exec/nosuchexec/json")
    assert r.status == 404
    # ExecIDs lists the execs that did not end, as dockerd's
    # (test_reference_lifecycle.py): the ones above all did
    assert json.loads(d.docker("inspect", "ex").stdout)[0]["ExecIDs"] is None
    d.docker("exec", "-d", "ex", "sleep", "300")
    ids = json.loads(d.docker("inspect", "ex").stdout)[0]["ExecIDs"]
    assert ids and len(ids) == 1
    # streaming stats: two samples a second apart, precpu of the second is the first
    conn = d.connection(timeout=10)
    conn.request("GET", "/v1.41/containers/ex/stats?stream=1")
    resp = conn.getresponse()
    first = json.loads(resp.readline())
    second = json.loads(resp.readline())
    conn.close()
    assert first["name"] == "/ex" and "memory_stats" in first and "cpu_stats" in first
    assert second["precpu_stats"] == first["cpu_stats"]
    # rename onto a used name is a conflict
    res = d.docker("rename", "ex", "stopped", check=False)
    assert res.returncode != 0 and "Conflict" in res.stderr


def test_attach_logs_replay(clean):
    d = clean
    d.docker("run", "--name", "rep", IMAGE, "sh", "-c", "echo one; echo two >&2")
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(d.socket))
    s.sendall(b"POST /v1.41/containers/rep/attach?logs=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: x\r\n"
              b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
    data = b""
    s.settimeout(5)
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    body = data.split(b"\r\n\r\n", 1)[1]
    # docker's frames: [stream,0,0,0,len] payload
    assert body == b"\x01\x00\x00\x00\x00\x00\x00\x04one\n" + b"\x02\x00\x00\x00\x00\x00\x00\x04two\n"


def test_more_host_config(clean):
    d = clean
    out = d.docker("run", "--rm", "--sysctl", "net.ipv4.ip_forward=1", "--oom-score-adj", "123",
                   "--group-add", "100", "--device", "/dev/null:/dev/xnull", IMAGE, "sh", "-c",
                   "cat /proc/sys/net/ipv4/ip_forward /proc/self/oom_score_adj; id -G; echo hi > /dev/xnull && echo dev-ok"
                   ).stdout.split()
    assert out[0] == "1" and out[1] == "123"
    assert "100" in out[2:-1] and out[-1] == "dev-ok"
    res = d.docker("run", "--rm", "--device", "/dev/berth-nope", IMAGE, "true", check=False)
    assert res.returncode != 0 and "error gathering device information" in res.stderr
    res = d.docker("run", "--rm", "--stop-signal", "SIGNOPE", IMAGE, "true", check=False)
    assert res.returncode != 0 and "Invalid signal" in res.stderr


def test_exec_events_as_dockerd_names_them(clean):
    """dockerd: "exec_create: <entrypoint> <args>" (the space stays without
    arguments), the same for exec_start, and a bare "exec_die" with the
    exit code."""
    d = clean
    d.docker("run", "-d", "--name", "ev", IMAGE, "sleep", "300")
    since = str(int(time.time()) - 1)
    d.docker("exec", "ev", "true")
    assert d.docker("exec", "ev", "sh", "-c", "exit 3", check=False).returncode == 3
    until = str(int(time.time()) + 1)
    out = d.docker("events", "--since", since, "--until", until, "--filter", "container=ev",
                   "--format", "{{json .}}").stdout.splitlines()
    events = [(e["Action"], e["Actor"]["Attributes"].get("exitCode")) for e in map(json.loads, out)
              if e["Action"].startswith("exec_")]
    assert events == [("exec_create: true ", None), ("exec_start: true ", None), ("exec_die", "0"),
                      ("exec_create: sh -c exit 3", None), ("exec_start: sh -c exit 3", None),
                      ("exec_die", "3")], events
