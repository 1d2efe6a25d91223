"""berth against a real berthd: each command's effect and output, compared
with what the stock docker CLI prints for the same request to the same
daemon where the output is deterministic. Commands whose endpoint berthd
does not serve yet are skipped with the endpoint named."""
import io
import json
import os
import signal
import subprocess
import tarfile
import time

import pytest


def wait_exited(cli, name, timeout=20):
    """Poll the container's state until it has exited (berthd's wait
    endpoint cannot be relied on yet, see conftest.foreground)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cli.berth("inspect", "-f", "{{.State.Status}}", name).stdout.strip() == "exited":
            return
        time.sleep(0.05)
    raise AssertionError(f"{name} did not exit within {timeout}s")


def logs_or_skip(cli, *args):
    r = cli.berth("logs", *args, check=False, timeout=20)
    if r.returncode != 0 and "cannot start a log reader" in r.stderr:
        pytest.skip("berthd cannot serve GET /containers/{id}/logs for this container yet")
    assert r.returncode == 0, r
    return r


def test_version_and_info(cli):
    r = cli.berth("version")
    assert r.stdout.startswith("Client:\n Version:")
    assert "\nServer:\n Engine:\n  Version:" in r.stdout
    server = cli.docker("version", "--format", "{{.Server.Version}}").stdout
    assert cli.berth("version", "--format", "{{.Server.Version}}").stdout == server
    assert cli.berth("version", "--format", "{{json .Server.Os}}").stdout == "\"linux\"\n"
    info = cli.berth("info", "--format", "{{json .}}").stdout
    assert json.loads(info)["ServerVersion"] == server.strip()
    assert cli.berth("info").stdout.count("Server Version:") == 1


def test_run_output_streams_and_exit_codes(cli, foreground):
    r = cli.berth("run", "--rm", "busybox:local", "echo", "hi")
    assert (r.returncode, r.stdout, r.stderr) == (0, "hi\n", "")
    # stdout and stderr stay separate (demultiplexed frames)
    r = cli.berth("run", "--name", "bt-streams", "busybox:local", "sh", "-c",
                  "echo out; echo err >&2; exit 7", check=False)
    assert (r.returncode, r.stdout, r.stderr) == (7, "out\n", "err\n")
    cli.berth("rm", "bt-streams")


@pytest.mark.parametrize("cmd", [["nosuchcmd"], ["/etc"]])
def test_run_cannot_start_exit_code_matches_docker(cli, foreground, cmd):
    r = cli.berth("run", "busybox:local", *cmd, check=False)
    d = cli.docker("run", "busybox:local", *cmd, check=False)
    assert r.returncode == d.returncode
    assert r.returncode in (126, 127)
    assert r.stderr.startswith("berth: Error response from daemon: ")
    for cid in cli.berth("ps", "-aq", "--filter", "status=created").stdout.split():
        cli.berth("rm", "-f", cid)
    for cid in cli.berth("ps", "-aq").stdout.split():
        cli.berth("rm", "-f", cid, check=False)


def test_run_missing_image_pulls_then_fails(cli):
    r = cli.berth("run", "nosuch-image-for-berth-tests:1", "true", check=False)
    assert r.returncode == 125
    assert r.stderr.startswith("Unable to find image 'nosuch-image-for-berth-tests:1' locally\n")
    assert "berth: " in r.stderr


def test_run_stdin_pipe_half_close(cli, foreground):
    # the container sees EOF on stdin and berth still gets all its output
    data = "".join(f"line {i}\n" for i in range(2000))
    r = cli.berth("run", "-i", "--name", "bt-stdin", "busybox:local", "sh", "-c", "cat; echo done",
                  input=data)
    assert r.stdout == data + "done\n"
    cli.berth("rm", "bt-stdin")


def test_detached_lifecycle(cli, name):
    cid = cli.berth("run", "-d", "--name", name, "-e", "A=1", "-l", "tier=test", "-w", "/tmp",
                    "busybox:local", "sleep", "300").stdout.strip()
    assert len(cid) == 64
    try:
        # ps: same lines as docker's for the stable columns
        fmt = "{{.ID}} {{.Image}} {{.Command}} {{.Names}} {{.State}} {{.Labels}}"
        assert (cli.berth("ps", "--filter", f"name={name}", "--format", fmt).stdout
                == cli.docker("ps", "--filter", f"name={name}", "--format", fmt).stdout)
        assert cli.berth("ps", "-q", "--filter", f"name={name}").stdout == cid[:12] + "\n"
        lf = "{{.Names}} {{.Label \"tier\"}}"
        assert cli.berth("ps", "--filter", f"name={name}", "--format", lf).stdout == f"{name} test\n"
        assert cli.docker("ps", "--filter", f"name={name}", "--format", lf).stdout == f"{name} test\n"
        assert cli.berth("ps", "-q", "--no-trunc", "--filter", f"name={name}").stdout == cid + "\n"
        head = cli.berth("ps").stdout.splitlines()[0]
        assert head == cli.docker("ps").stdout.splitlines()[0]
        row = json.loads(cli.berth("ps", "--filter", f"name={name}", "--format", "{{json .}}").stdout)
        drow = json.loads(cli.docker("ps", "--filter", f"name={name}", "--format", "{{json .}}").stdout)
        assert sorted(row) == sorted(drow)
        for k in ("ID", "Image", "Command", "Names", "Labels", "State", "Networks", "Mounts", "Ports"):
            assert row[k] == drow[k], k
        # inspect with templates, like docker's
        f = "{{.State.Status}} {{.Config.Env}} {{index .Config.Labels \"tier\"}} {{.Config.WorkingDir}}"
        assert cli.berth("inspect", "-f", f, name).stdout == cli.docker("inspect", "-f", f, name).stdout
        assert json.loads(cli.berth("inspect", name).stdout)[0]["Id"] == cid
        assert cli.berth("container", "inspect", "--format", "{{json .Config.Labels}}", name).stdout \
            == "{\"tier\":\"test\"}\n"
        # exec: env, workdir, user, exit code
        r = cli.berth("exec", "-e", "B=2", "-w", "/etc", "-u", "1:1", name, "sh", "-c",
                      "echo $A$B; pwd; id -u; exit 4", check=False)
        assert (r.returncode, r.stdout) == (4, "12\n/etc\n1\n")
        r = cli.berth("exec", name, "nosuchcmd", check=False)
        assert r.returncode == cli.docker("exec", name, "nosuchcmd", check=False).returncode
        # exec -i with stdin
        assert cli.berth("exec", "-i", name, "cat", input="piped\n").stdout == "piped\n"
        # top: docker's columns
        top = cli.berth("top", name).stdout
        assert top.splitlines()[0].split() == cli.docker("top", name).stdout.splitlines()[0].split()
        assert "sleep 300" in top
        # pause / unpause
        assert cli.berth("pause", name).stdout == name + "\n"
        assert cli.berth("inspect", "-f", "{{.State.Status}}", name).stdout == "paused\n"
        assert cli.berth("unpause", name).stdout == name + "\n"
        # rename, then stop/start/restart/kill/wait under the new name
        cli.berth("rename", name, name + "-2")
        name2 = name + "-2"
        assert cli.berth("inspect", "-f", "{{.Name}}", name2).stdout == f"/{name2}\n"
        assert cli.berth("restart", "-t", "1", name2).stdout == name2 + "\n"
        # sleep is pid 1: it ignores TERM (as under docker), KILL ends it
        assert cli.berth("kill", "-s", "TERM", name2).stdout == name2 + "\n"
        assert cli.berth("inspect", "-f", "{{.State.Running}}", name2).stdout == "true\n"
        assert cli.berth("kill", name2).stdout == name2 + "\n"
        wait_exited(cli, name2)
        assert cli.berth("wait", name2).stdout == "137\n"
        assert cli.berth("start", name2).stdout == name2 + "\n"
        assert cli.berth("stop", "-t", "1", name2).stdout == name2 + "\n"
        assert cli.berth("inspect", "-f", "{{.State.Running}}", name2).stdout == "false\n"
        assert cli.berth("rm", name2).stdout == name2 + "\n"
        r = cli.berth("rm", name2, check=False)
        assert r.returncode == 1
        assert r.stderr == cli.docker("rm", name2, check=False).stderr
    finally:
        cli.berth("rm", "-f", name, name + "-2", check=False)


def test_logs(cli, name):
    cli.berth("run", "-d", "--name", name, "busybox:local", "sh", "-c",
              "for i in 1 2 3; do echo out$i; echo err$i >&2; done")
    try:
        wait_exited(cli, name)
        r = logs_or_skip(cli, name)
        d = cli.docker("logs", name)
        assert (r.stdout, r.stderr) == (d.stdout, d.stderr) == ("out1\nout2\nout3\n", "err1\nerr2\nerr3\n")
        assert cli.berth("logs", "--tail", "1", name).stdout == cli.docker("logs", "--tail", "1", name).stdout
        ts = cli.berth("logs", "-t", name).stdout.splitlines()
        assert len(ts) == 3 and ts[0].endswith(" out1") and ts[0][4] == "-" and "T" in ts[0]
        assert cli.berth("logs", "--since", "1h", name).stdout == "out1\nout2\nout3\n"
        assert cli.berth("logs", "--until", "2000-01-01T00:00:00Z", name).stdout == ""
        assert cli.berth("logs", "nosuch-container", check=False).returncode == 1
    finally:
        cli.berth("rm", "-f", name)


def test_logs_follow_ends_with_the_container(cli, name):
    cli.berth("run", "-d", "--name", name, "busybox:local", "sh", "-c", "echo a; sleep 1; echo b")
    try:
        r = logs_or_skip(cli, "-f", name)
        assert r.stdout == "a\nb\n"
    finally:
        cli.berth("rm", "-f", name)


def test_cp_both_ways(cli, name, tmp_path):
    cli.berth("run", "-d", "--name", name, "busybox:local", "sleep", "300")
    try:
        src = tmp_path / "f.txt"
        src.write_text("hello\n")
        cli.berth("cp", str(src), f"{name}:/tmp/f.txt")
        assert cli.berth("exec", name, "cat", "/tmp/f.txt").stdout == "hello\n"
        # into an existing directory keeps the name; a new name renames
        (tmp_path / "tree" / "sub").mkdir(parents=True)
        (tmp_path / "tree" / "sub" / "a").write_text("A")
        cli.berth("cp", str(tmp_path / "tree"), f"{name}:/tmp/")
        cli.berth("cp", str(tmp_path / "tree"), f"{name}:/tmp/renamed")
        assert cli.berth("exec", name, "cat", "/tmp/tree/sub/a", "/tmp/renamed/sub/a").stdout == "AA"
        # out, to a new file name and into a directory
        cli.berth("cp", f"{name}:/tmp/f.txt", str(tmp_path / "back.txt"))
        assert (tmp_path / "back.txt").read_text() == "hello\n"
        out = tmp_path / "outdir"
        out.mkdir()
        cli.berth("cp", f"{name}:/tmp/tree", str(out))
        assert (out / "tree" / "sub" / "a").read_text() == "A"
        # `-`: a tar on stdout and from stdin
        raw = cli.berth("cp", f"{name}:/tmp/f.txt", "-", text=False).stdout
        with tarfile.open(fileobj=io.BytesIO(raw)) as t:
            assert t.getnames() == ["f.txt"]
            assert t.extractfile("f.txt").read() == b"hello\n"
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            info = tarfile.TarInfo("from-stdin")
            info.size = 3
            t.addfile(info, io.BytesIO(b"abc"))
        cli.berth("cp", "-", f"{name}:/tmp", input=buf.getvalue(), text=False)
        assert cli.berth("exec", name, "cat", "/tmp/from-stdin").stdout == "abc"
        # diff shows what changed, like docker's
        assert cli.berth("diff", name).stdout == cli.docker("diff", name).stdout
        assert "A /tmp/f.txt" in cli.berth("diff", name).stdout
        # errors
        r = cli.berth("cp", f"{name}:/nonexistent", str(tmp_path / "x"), check=False)
        assert r.returncode == 1 and "Error response from daemon" in r.stderr
        r = cli.berth("cp", str(src), str(tmp_path / "y"), check=False)
        assert r.returncode == 1 and "must specify at least one container source" in r.stderr
    finally:
        cli.berth("rm", "-f", name)


def test_export_and_commit(cli, name, tmp_path):
    cli.berth("run", "-d", "--name", name, "busybox:local", "sh", "-c", "echo x > /made; sleep 300")
    try:
        time.sleep(0.2) if cli.berth("exec", name, "test", "-f", "/made", check=False).returncode else None
        out = tmp_path / "exp.tar"
        cli.berth_vs_docker("export", "-o", str(out), name)
        with tarfile.open(out) as t:
            names = t.getnames()
        assert "bin/busybox" in [n.lstrip("./") for n in names]
        r = cli.berth("export", name, check=False, text=False)  # stdout is a pipe here: allowed
        assert r.returncode == 0
        cli.require("POST", "/v1.41/commit?container=nosuch", "commit")
        r = cli.berth("commit", "-c", "ENV Z=1", "-m", "msg", name, "bt-committed:1")
        assert r.stdout.startswith("sha256:")
    finally:
        cli.berth("rm", "-f", name)


def test_volumes(cli):
    cli.require("GET", "/v1.41/volumes", "volume ls")
    assert cli.berth("volume", "create", "bt-vol").stdout == "bt-vol\n"
    try:
        assert cli.berth("volume", "ls").stdout == cli.docker("volume", "ls").stdout
        assert "bt-vol" in cli.berth("volume", "ls", "-q").stdout.split()
        v = json.loads(cli.berth("volume", "inspect", "bt-vol").stdout)
        assert v[0]["Name"] == "bt-vol" and v[0]["Driver"] == "local"
        assert cli.berth("volume", "inspect", "-f", "{{.Name}} {{.Driver}}", "bt-vol").stdout == "bt-vol local\n"
        cli.berth("run", "-d", "--name", "bt-volrun", "-v", "bt-vol:/d", "busybox:local", "sleep", "300")
        cli.berth("run", "-d", "--name", "bt-volrun2", "--mount", "type=volume,src=bt-vol,dst=/e",
                  "busybox:local", "sleep", "300")
        cli.berth("exec", "bt-volrun", "sh", "-c", "echo v > /d/x")
        assert cli.berth("exec", "bt-volrun2", "cat", "/e/x").stdout == "v\n"
        cli.berth_vs_docker("rm", "-f", "bt-volrun", "bt-volrun2")
        r = cli.berth("volume", "inspect", "nosuch-vol", check=False)
        assert r.returncode == 1 and "No such volume" in r.stderr
    finally:
        assert cli.berth("volume", "rm", "bt-vol").stdout == "bt-vol\n"


def test_bind_mounts_env_file_and_flags(cli, foreground, name, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.txt").write_text("from host\n")
    env = tmp_path / "dev.env"
    env.write_text("# the make run ENV=dev case\nMODE=dev\nEMPTY=\n")
    r = cli.berth("run", "--name", name, "-v", f"{tmp_path}/src:/app:ro", "--env-file", str(env),
                  "-e", "EXTRA=1", "--hostname", "bt-host", "--read-only", "--tmpfs", "/scratch",
                  "busybox:local", "sh", "-c",
                  "cat /app/app.txt; echo $MODE-$EXTRA; hostname; touch /app/x 2>/dev/null || echo ro; "
                  "touch /scratch/ok && echo tmpfs-ok")
    try:
        assert r.stdout == "from host\ndev-1\nbt-host\nro\ntmpfs-ok\n"
        hc = json.loads(cli.berth("inspect", "-f", "{{json .HostConfig}}", name).stdout)
        assert hc["ReadonlyRootfs"] is True
        assert hc["Binds"] == [f"{tmp_path}/src:/app:ro"]
    finally:
        cli.berth("rm", "-f", name)


def test_sig_proxy_forwards_signals(cli, foreground, name):
    p = subprocess.Popen([cli.berth_bin, "run", "--name", name, "busybox:local", "sh", "-c",
                          "trap 'echo got-term; exit 42' TERM; echo ready; while true; do sleep 0.1; done"],
                         env=cli.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "ready\n"
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=20)
        assert out == "got-term\n"
        assert p.returncode == 42
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        cli.berth("rm", "-f", name)


def test_events(cli, foreground, name):
    cli.require("GET", "/v1.41/events?since=0&until=1", "events")
    since = str(int(time.time()) - 1)
    cli.berth("run", "--name", name, "busybox:local", "true")
    until = str(int(time.time()) + 1)
    try:
        out = cli.berth("events", "--since", since, "--until", until, "--filter", f"container={name}",
                        timeout=20).stdout
        assert " container create " in out and " container start " in out
        f = cli.berth("events", "--since", since, "--until", until, "--filter", f"container={name}",
                      "--format", "{{.Type}} {{.Action}}", timeout=20).stdout
        assert "container create" in f.splitlines()
    finally:
        cli.berth("rm", "-f", name)


def test_images_and_image_commands(cli, tmp_path):
    cli.require("GET", "/v1.41/images/json", "images")
    assert cli.berth("images").stdout.splitlines()[0] == cli.docker("images").stdout.splitlines()[0]
    fmt = "{{.Repository}}:{{.Tag}} {{.ID}}"
    assert cli.berth("images", "--format", fmt).stdout == cli.docker("images", "--format", fmt).stdout
    cli.berth("tag", "busybox:local", "bt-tagged:2")
    assert "bt-tagged:2" in cli.berth("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
    cli.berth("save", "-o", str(tmp_path / "s.tar"), "bt-tagged:2")
    assert "Untagged: bt-tagged:2" in cli.berth("rmi", "bt-tagged:2").stdout
    assert "Loaded image" in cli.berth("load", "-i", str(tmp_path / "s.tar")).stdout
    cli.berth("rmi", "bt-tagged:2")
    hist = cli.berth("history", "busybox:local").stdout.splitlines()
    assert hist[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]


def test_system_df(cli):
    cli.require("GET", "/v1.41/system/df", "system df")
    out = cli.berth("system", "df").stdout.splitlines()
    assert out[0] == cli.docker("system", "df").stdout.splitlines()[0]
    assert [l.split()[0] for l in out[1:]] == ["Images", "Containers", "Local", "Build"]


def test_networks(cli, name):
    cli.require("GET", "/v1.41/networks", "network ls")
    net = f"{name}-net"[-40:]
    nid = cli.berth("network", "create", "--label", "t=1", net).stdout.strip()
    assert len(nid) == 64
    try:
        assert cli.berth("network", "ls", "--filter", f"name={net}", "--format", "{{.Name}} {{.Driver}}").stdout \
            == f"{net} bridge\n"
        assert cli.berth("network", "ls").stdout.splitlines()[0] == \
            cli.docker("network", "ls").stdout.splitlines()[0]
        assert cli.berth("network", "ls", "-q", "--filter", f"name={net}").stdout == nid[:12] + "\n"
        assert cli.berth("network", "inspect", "-f", "{{.Name}} {{.Labels}}", net).stdout == f"{net} map[t:1]\n"
        r = cli.berth("network", "create", net, check=False)
        assert r.returncode == 1 and r.stderr.startswith("Error response from daemon: ")
        # trace 09: a server with an alias, reached from another container
        cli.berth("run", "-d", "--name", name, "--network", net, "--network-alias", "web",
                  "busybox:local", "httpd", "-f", "-p", "80", "-h", "/etc")
        fmt = f"{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}"
        ip = cli.berth("inspect", "-f", fmt, name).stdout.strip()
        if not ip:
            pytest.skip("berthd does not put containers on user networks yet "
                        "(NetworkSettings.Networks[…].IPAddress is empty after start)")
        deadline = time.time() + 10
        r = None
        while time.time() < deadline and (r is None or "root:" not in r.stdout):
            # busybox-static's wget segfaults on this host's kernel: nc speaks HTTP
            r = cli.berth("run", "--rm", "--network", net, "busybox:local", "sh", "-c",
                          f"printf 'GET /passwd HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {ip} 80",
                          check=False)
        assert "root:" in r.stdout, r
        # the alias resolves through the embedded DNS (busybox's own resolver)
        r = cli.berth("run", "--rm", "--network", net, "busybox:local", "nslookup", "web", check=False)
        assert ip in r.stdout, r
        cli.berth("run", "-d", "--name", name + "-2", "busybox:local", "sleep", "300")
        cli.berth("network", "connect", "--alias", "second", net, name + "-2")
        nets = cli.berth("inspect", "-f", "{{json .NetworkSettings.Networks}}", name + "-2").stdout
        assert net in json.loads(nets)
        cli.berth("network", "disconnect", net, name + "-2")
        nets = cli.berth("inspect", "-f", "{{json .NetworkSettings.Networks}}", name + "-2").stdout
        assert net not in json.loads(nets)
    finally:
        cli.berth("rm", "-f", name, name + "-2", check=False)
        cli.berth("network", "rm", net, check=False)
        assert net not in cli.berth("network", "ls", "--format", "{{.Name}}").stdout.split()
        assert cli.berth("network", "prune", "-f").returncode == 0
