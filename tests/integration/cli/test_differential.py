"""Optional differential tests against the reference engine: berth and the
stock docker CLI against one dockerd (Debian's docker.io) on its own
socket, data root and exec root. Runs only with BERTH_CLI_DIFFERENTIAL=1
and when dockerd is installed (dockerd leaves cgroup directories and
containerd state behind, which the strict leak check of CI would flag);
the product's own tests run against berthd."""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from berthtest import TMP_PREFIX, binary, make_busybox_rootfs

DOCKERD = shutil.which("dockerd")
pytestmark = pytest.mark.skipif(
    os.environ.get("BERTH_CLI_DIFFERENTIAL") != "1" or DOCKERD is None,
    reason="differential tests against dockerd run with BERTH_CLI_DIFFERENTIAL=1 and dockerd installed")


class Ref:
    def __init__(self, root):
        self.root = pathlib.Path(root)
        self.sock = self.root / "docker.sock"
        self.url = f"unix://{self.sock}"

    def env(self):
        env = {k: v for k, v in os.environ.items() if k not in ("DOCKER_CONTEXT", "BERTH_CONTEXT")}
        env.update({"DOCKER_HOST": self.url, "BERTH_HOST": self.url, "HOME": str(self.root / "home"),
                    "DOCKER_CONFIG": str(self.root / "home" / ".docker")})
        return env

    def run(self, exe, *args, input=None, timeout=60):
        return subprocess.run([exe, *map(str, args)], env=self.env(), input=input, capture_output=True,
                              text=True, timeout=timeout)

    def berth(self, *a, **kw):
        return self.run(str(binary("berth")), *a, **kw)

    def docker(self, *a, **kw):
        return self.run("/usr/local/bin/docker", *a, **kw)


@pytest.fixture(scope="module")
def ref():
    root = pathlib.Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "dockerd-"))
    (root / "home" / ".docker").mkdir(parents=True)
    r = Ref(root)
    log = open(root / "dockerd.log", "wb")
    proc = subprocess.Popen([DOCKERD, "-H", r.url, "--data-root", str(root / "data"),
                             "--exec-root", str(root / "exec"), "--pidfile", str(root / "dockerd.pid"),
                             "--iptables=false", "--bridge=none", "--ip-forward=false", "--ip-masq=false"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 30
        while r.docker("version").returncode != 0:
            assert time.time() < deadline and proc.poll() is None, (root / "dockerd.log").read_text()
            time.sleep(0.2)
        rootfs = make_busybox_rootfs(root / "rootfs")
        tar = subprocess.run(["tar", "-C", str(rootfs), "-c", "."], capture_output=True, check=True).stdout
        subprocess.run(["/usr/local/bin/docker", "import", "-", "busybox:local"], input=tar, env=r.env(),
                       check=True, capture_output=True)
        yield r
    finally:
        ids = r.docker("ps", "-aq").stdout.split()
        if ids:
            r.docker("rm", "-f", *ids)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        log.close()
        shutil.rmtree(root, ignore_errors=True)


def test_lists_and_inspect_match(ref):
    ref.docker("run", "-d", "--name", "df-a", "-l", "k=v", "busybox:local", "sleep", "300")
    for args in (["ps", "-a"], ["ps", "--format", "{{.Names}} {{.Command}} {{.Labels}}"],
                 ["images"], ["images", "--format", "{{json .}}"], ["volume", "ls"],
                 ["inspect", "-f", "{{.Config.Labels}} {{json .State.Running}}", "df-a"],
                 # ps's default columns include %CPU and TIME, which change
                 # between the two calls: the stable ones
                 ["top", "df-a", "-o", "pid,user,args"], ["diff", "df-a"], ["port", "df-a"], ["ps", "-q"], ["images", "-q"],
                 ["system", "df"], ["history", "busybox:local"], ["volume", "ls", "-q"],
                 ["inspect", "--format", "{{.Id}} {{.Os}} {{.Size}}", "busybox:local"]):
        b, d = ref.berth(*args), ref.docker(*args)
        assert (b.returncode, b.stdout) == (d.returncode, d.stdout), args


def test_run_exit_codes_and_streams_match(ref):
    for args in (["run", "--rm", "busybox:local", "sh", "-c", "echo o; echo e >&2; exit 3"],
                 ["run", "--rm", "busybox:local", "nosuchcmd"],
                 ["run", "--rm", "busybox:local", "/etc"],
                 ["run", "--rm", "--pull", "never", "nosuch:1", "true"]):
        b, d = ref.berth(*args), ref.docker(*args)
        assert b.returncode == d.returncode, (args, b.stderr, d.stderr)
        assert b.stdout == d.stdout, args
        assert b.stderr.replace("berth", "docker") == d.stderr, args
    data = "x" * 100000 + "\n"
    b = ref.berth("run", "--rm", "-i", "busybox:local", "wc", "-c", input=data)
    assert b.stdout.strip() == str(len(data))


def test_create_body_accepted_and_equivalent(ref):
    flags = ["-e", "A=1", "-p", "127.0.0.1:18099:80", "--memory", "64m", "--restart", "on-failure:2",
             "--ulimit", "nofile=100:200", "--cap-add", "NET_ADMIN", "--tmpfs", "/run", "-w", "/tmp",
             "--label", "x=y", "--hostname", "hh", "busybox:local", "sleep", "1"]
    ref.berth("create", "--name", "df-b", *flags)
    ref.docker("create", "--name", "df-d", *flags)
    fmt = "{{json .Config}} {{json .HostConfig}}"
    b = json.loads("[" + ref.docker("inspect", "-f", fmt.replace("}} {{", "}},{{"), "df-b").stdout + "]")
    d = json.loads("[" + ref.docker("inspect", "-f", fmt.replace("}} {{", "}},{{"), "df-d").stdout + "]")
    for k in ("Hostname", "Env", "Cmd", "WorkingDir", "Labels", "ExposedPorts"):
        assert b[0][k] == d[0][k], k
    for k in ("Memory", "RestartPolicy", "Ulimits", "CapAdd", "Tmpfs", "PortBindings"):
        assert b[1][k] == d[1][k], k
    ref.docker("rm", "df-b", "df-d")


def test_events_match(ref):
    since = str(int(time.time()) - 1)
    ref.docker("run", "--rm", "busybox:local", "true")
    until = str(int(time.time()) + 1)
    for fmt in ([], ["--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"],
                ["--filter", "event=start"]):
        b = ref.berth("events", "--since", since, "--until", until, *fmt)
        d = ref.docker("events", "--since", since, "--until", until, *fmt)
        assert b.stdout == d.stdout and b.stdout
