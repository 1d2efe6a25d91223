"""The everyday path through the stock docker CLI: run (exit codes, stdin,
tty), detached lifecycle, exec, logs, top, stats, pause, restart, stop,
wait, rm; bad input and docker's error messages."""
import json
import os
import pty
import select
import subprocess
import time

from conftest import IMAGE, wait_for

DOCKER = "/usr/local/bin/docker"


def test_run_rm_echo(clean):
    res = clean.docker("run", "--rm", IMAGE, "echo", "hi")
    assert res.stdout == "hi\n"
    assert clean.docker("ps", "-aq").stdout == ""


def test_run_exit_code_and_missing_command(clean):
    res = clean.docker("run", "--rm", IMAGE, "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    assert res.returncode == 3
    assert res.stdout == "out\n"
    assert "err\n" in res.stderr
    res = clean.docker("run", "--rm", IMAGE, "/no/such/binary", check=False)
    assert res.returncode == 127, res
    assert "no such file or directory" in res.stderr.lower() or "not found" in res.stderr
    # the failed container was removed (--rm)
    assert clean.docker("ps", "-aq").stdout == ""


def test_run_i_piped_stdin_sees_eof(clean):
    res = clean.docker("run", "--rm", "-i", IMAGE, "sh", "-c", "cat; echo done", input="piped\nline2\n")
    assert res.stdout == "piped\nline2\ndone\n"


def test_missing_image_is_404(clean):
    r = clean.api("POST", "/v1.41/containers/create", body={"Image": "nosuchimage:local", "Cmd": ["true"]})
    assert r.status == 404
    assert r.json()["message"] == "No such image: nosuchimage:local"


def _run_in_pty(args, env, inp=b"", timeout=20):
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(DOCKER, [DOCKER, *args], env)
    out = b""
    steps = inp if isinstance(inp, list) else ([inp] if inp else [])
    deadline = time.time() + timeout
    next_at = time.time() + 0.5
    while time.time() < deadline:
        if steps and time.time() >= next_at:
            os.write(fd, steps.pop(0))
            next_at = time.time() + 0.7
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out


def test_run_it_through_a_pty(clean):
    code, out = _run_in_pty(["run", "-it", "--rm", IMAGE, "sh", "-c", "tty; echo hi-tty; exit 4"], clean.env())
    assert code == 4, out
    assert b"hi-tty\r\n" in out  # a terminal turns \n into \r\n
    assert b"/dev/pts/" in out


def test_exec_it_through_a_pty(clean):
    clean.docker("run", "-d", "--name", "ty", IMAGE, "sleep", "300")
    code, out = _run_in_pty(["exec", "-it", "ty", "sh"], clean.env(), inp=b"echo inside-$((1+1))\nexit 6\n")
    assert code == 6, out
    assert b"inside-2" in out


def test_detached_lifecycle(clean):
    d = clean
    cid = d.docker("run", "-d", "--name", "tr-x", "-e", "A=1", IMAGE,
                   "sh", "-c", "echo start; echo A=$A; while true; do sleep 0.1; done").stdout.strip()
    assert len(cid) == 64
    ps = d.docker("ps", "--format", "{{.Names}} {{.Status}}").stdout
    assert ps.startswith("tr-x Up")
    wait_for(lambda: "A=1" in d.docker("logs", "tr-x").stdout, what="logs")
    assert d.docker("logs", "tr-x").stdout == "start\nA=1\n"
    # exec: output and exit code
    res = d.docker("exec", "tr-x", "ls", "/")
    assert "bin" in res.stdout.split()
    assert d.docker("exec", "tr-x", "sh", "-c", "exit 5", check=False).returncode == 5
    assert d.docker("exec", "-e", "B=2", "-w", "/tmp", "tr-x", "sh", "-c", "echo $B $(pwd)").stdout == "2 /tmp\n"
    # top shows the container's processes only
    top = d.docker("top", "tr-x").stdout
    assert "while true" in top
    assert "berthd" not in top
    stats = d.docker("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", "tr-x").stdout.split()
    assert stats[0] == "tr-x" and int(stats[1]) >= 1
    # pause / unpause
    d.docker("pause", "tr-x")
    insp = json.loads(d.docker("inspect", "tr-x").stdout)[0]
    assert insp["State"]["Status"] == "paused" and insp["State"]["Paused"] is True
    assert d.docker("exec", "tr-x", "true", check=False).returncode != 0
    d.docker("unpause", "tr-x")
    pid1 = insp["State"]["Pid"]
    d.docker("restart", "-t", "1", "tr-x")
    insp = json.loads(d.docker("inspect", "tr-x").stdout)[0]
    assert insp["State"]["Running"] and insp["State"]["Pid"] != pid1
    d.docker("stop", "-t", "1", "tr-x")
    # sh as pid 1 ignores SIGTERM: killed after the timeout, like docker
    assert d.docker("wait", "tr-x").stdout.strip() == "137"
    insp = json.loads(d.docker("inspect", "tr-x").stdout)[0]
    assert insp["State"]["Status"] == "exited" and insp["State"]["ExitCode"] == 137
    assert insp["State"]["FinishedAt"] != "0001-01-01T00:00:00Z"
    d.docker("rm", "tr-x")
    assert d.docker("ps", "-aq").stdout == ""


def test_inspect_shape(clean):
    d = clean
    d.docker("create", "--name", "shape", "-p", "127.0.0.1:18080:80", "-l", "k=v",
             "--memory", "64m", "-v", "/tmp:/hosttmp:ro", IMAGE, "sleep", "1")
    j = json.loads(d.docker("inspect", "shape").stdout)[0]
    for key in ("Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath", "HostnamePath",
                "HostsPath", "LogPath", "Name", "RestartCount", "Driver", "Platform", "HostConfig",
                "GraphDriver", "Mounts", "Config", "NetworkSettings"):
        assert key in j, key
    assert j["Name"] == "/shape" and j["Path"] == "sleep" and j["Args"] == ["1"]
    assert j["State"]["Status"] == "created" and j["State"]["StartedAt"] == "0001-01-01T00:00:00Z"
    assert j["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"}]}
    assert j["HostConfig"]["Memory"] == 64 * 1024 * 1024
    assert j["Config"]["Labels"] == {"k": "v"}
    assert j["Image"].startswith("sha256:")
    assert j["Mounts"] == [{"Type": "bind", "Source": "/tmp", "Destination": "/hosttmp", "Mode": "ro",
                            "RW": False, "Propagation": "rprivate"}]
    ls = json.loads(d.api("GET", "/v1.41/containers/json", query={"all": 1}).body)
    assert ls[0]["Names"] == ["/shape"] and ls[0]["State"] == "created" and ls[0]["Status"] == "Created"
    assert ls[0]["Image"] == IMAGE and ls[0]["Command"] == "sleep 1"


def test_errors_match_docker(clean):
    d = clean
    cid = d.docker("create", "--name", "dup", IMAGE, "true").stdout.strip()
    res = d.docker("create", "--name", "dup", IMAGE, "true", check=False)
    assert res.returncode != 0
    assert (f'Conflict. The container name "/dup" is already in use by container "{cid}". '
            "You have to remove (or rename) that container to be able to reuse that name.") in res.stderr
    r = d.api("GET", "/v1.41/containers/nosuch/json")
    assert r.status == 404 and r.json()["message"] == "No such container: nosuch"
    r = d.api("POST", "/v1.41/containers/create", query={"name": "bad name!"}, body={"Image": IMAGE})
    assert r.status == 400 and "Invalid container name (bad name!)" in r.json()["message"]
    # wrong types and bad values name the field
    for body, msg in [
        ({"Image": IMAGE, "Env": "A=1"}, "Config.Env: must be an array of strings"),
        ({"Image": IMAGE, "HostConfig": {"Memory": "lots"}}, "HostConfig.Memory: must be an integer"),
        ({"Image": IMAGE, "HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": "http"}]}}},
         'HostConfig.PortBindings["80/tcp"][0].HostPort: not a number'),
        ({"Image": IMAGE, "HostConfig": {"Memory": 1024}}, "Minimum memory limit allowed is 6MB"),
        ({"Image": IMAGE, "HostConfig": {"CapAdd": ["NOT_A_CAP"]}}, 'unknown capability: "NOT_A_CAP"'),
        ({"Image": IMAGE, "HostConfig": {"RestartPolicy": {"Name": "sometimes"}}}, "invalid restart policy"),
    ]:
        r = d.api("POST", "/v1.41/containers/create", body=body)
        assert r.status == 400, (body, r)
        assert msg in r.json()["message"], (body, r.json())
    r = d.api("POST", "/v1.41/containers/create", body=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status == 400
    # the daemon is still fine and nothing half-created is left
    assert d.docker("ps", "-aq").stdout.split() == [cid[:12]]
    res = d.docker("start", "dup")
    d.docker("wait", "dup")
    res = d.docker("rm", "dup")
    r = d.api("POST", "/v1.41/containers/nosuch/kill")
    assert r.status == 404


def test_rm_running_needs_force(clean):
    d = clean
    cid = d.docker("run", "-d", IMAGE, "sleep", "300").stdout.strip()
    res = d.docker("rm", cid, check=False)
    assert res.returncode != 0 and "You cannot remove a running container" in res.stderr
    d.docker("rm", "-f", cid)
    assert d.docker("ps", "-aq").stdout == ""


def test_detach_keys_leave_the_container_running(clean):
    d = clean
    code, out = _run_in_pty(["run", "-it", "--name", "det", IMAGE, "sh", "-c",
                             "read x; echo got-$x; read y; echo got-$y; sleep 300"], d.env(),
                            inp=[b"before\n", b"\x10\x11"], timeout=10)
    assert b"got-before" in out
    assert code == 0, out
    insp = json.loads(d.docker("inspect", "det").stdout)[0]
    assert insp["State"]["Running"], (code, out)
    # attach again, with custom keys this time
    code, out = _run_in_pty(["attach", "--detach-keys", "ctrl-x", "det"], d.env(), inp=[b"again\n", b"\x18"], timeout=10)
    assert b"got-again" in out
    assert json.loads(d.docker("inspect", "det").stdout)[0]["State"]["Running"]
    d.docker("rm", "-f", "det")
