"""Fixtures for berthd's black-box tests (shared by the daemon-core and
daemon-containers suites): a berthd started on a temporary socket, data
root and exec root, driven with the stock docker CLI, docker-py or raw HTTP
over the unix socket; stopped (SIGTERM, exit code checked) after the test.

    def test_x(berthd):
        berthd.docker("version")                  # CompletedProcess, checked
        r = berthd.api("GET", "/v1.41/info")      # .status .headers .body .json()
        berthd.client()                           # docker.DockerClient
"""
import http.client
import itertools
import json as jsonlib
import os
import pathlib
import secrets
import signal
import socket
import subprocess
import time
import urllib.parse

import pytest

from berthtest import BUILD, binary

# Every berthd of this run gets its own default bridge device, nftables
# table and address pool, so parallel runs never share one, and what its
# networking made is destroyed after it stopped (see Berthd.destroy_network).
_RUN_TAG = secrets.token_hex(2)
_SERIAL = itertools.count()


def network_config():
    n = next(_SERIAL)
    tag = f"{_RUN_TAG}{n:x}"
    second = 160 + secrets.randbelow(90)
    return {"bridge": f"bb{tag}"[:15], "nft-table": f"berthd_{os.getpid()}_{tag}",
            "default-address-pools": [{"base": f"10.{second}.0.0/16", "size": 24}]}

DOCKER = "/usr/local/bin/docker"


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a unix socket (python3-requests has no unix adapter)."""

    def __init__(self, path, timeout=60):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = str(path)

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def json(self):
        return jsonlib.loads(self.body)

    def lines(self):
        return [jsonlib.loads(l) for l in self.body.decode().splitlines() if l.strip()]

    def __repr__(self):
        return f"<Response {self.status} {self.body[:200]!r}>"


class Berthd:
    def __init__(self, root, args=(), config=None):
        self.root = pathlib.Path(root)
        self.data_root = self.root / "data"
        self.exec_root = self.root / "exec"
        self.socket = self.exec_root / "berth.sock"
        self.url = f"unix://{self.socket}"
        self.pidfile = self.exec_root / "berthd.pid"
        self.log_path = self.root / "berthd.log"
        self.docker_config = self.root / "docker-config"
        self.docker_config.mkdir(parents=True, exist_ok=True)
        self.args = list(args)
        self.network = network_config()
        # the test's own keys win (a test of "bridge" or "bip" sets them)
        self.config = dict(self.network, **(config or {}))
        self.network.update({k: self.config[k] for k in self.network if k in self.config})
        self.proc = None

    # ---------------------------------------------------------- process --
    def command(self):
        cmd = [str(binary("berthd")), "--data-root", str(self.data_root),
               "--exec-root", str(self.exec_root), "-H", self.url,
               "--pidfile", str(self.pidfile), "--log-level", "debug"]
        # never read a system-wide /etc/berth/daemon.json in tests
        path = self.root / "daemon.json"
        path.write_text(jsonlib.dumps(self.config))
        cmd += ["--config-file", str(path)]
        return cmd + self.args

    def start(self, timeout=10):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"berthd exited with {self.proc.returncode}:\n{self.read_log()}")
            try:
                if self.api("GET", "/_ping", timeout=1).status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.02)
        raise AssertionError(f"berthd did not answer within {timeout}s:\n{self.read_log()}")

    def stop(self, sig=signal.SIGTERM, timeout=20, expect_code=0):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"berthd did not stop on {sig}:\n{self.read_log()}")
        code = self.proc.returncode
        self.proc = None
        self.log.close()
        if expect_code is not None:
            assert code == expect_code, f"berthd exited {code}:\n{self.read_log()}"
        return code

    def destroy_network(self):
        """Remove the bridges, veths and nftables table berthd's networking
        made (docker keeps docker0 across restarts; tests must not)."""
        state = self.data_root / "network"
        tool = BUILD / "tests" / "unit" / "network" / "berth-net-tool"
        if not (state / "networks").exists() or not tool.exists():
            return
        res = subprocess.run([str(tool), "--state", str(state), "--table", self.network["nft-table"],
                              "--device", self.network["bridge"], "destroy"],
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 0, f"network destroy failed: {res.stdout}{res.stderr}"

    def kill(self):
        """SIGKILL, as a crash: nothing is cleaned up."""
        return self.stop(signal.SIGKILL, expect_code=-signal.SIGKILL)

    def restart(self):
        self.stop()
        return self.start()

    @property
    def pid(self):
        return self.proc.pid

    def rss_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def read_log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def audit_lines(self):
        path = self.data_root / "audit.log"
        return [jsonlib.loads(l) for l in path.read_text().splitlines() if l.strip()]

    # ---------------------------------------------------------- clients --
    def env(self, extra=None):
        env = dict(os.environ)
        env.update({"DOCKER_HOST": self.url, "DOCKER_CONFIG": str(self.docker_config),
                    "DOCKER_CLI_HINTS": "false"})
        env.pop("DOCKER_CONTEXT", None)
        env.pop("DOCKER_TLS_VERIFY", None)
        if extra:
            env.update(extra)
        return env

    def docker(self, *args, check=True, input=None, timeout=60, env=None, binary_output=False):
        res = subprocess.run([DOCKER, *map(str, args)], env=self.env(env), input=input,
                             capture_output=True, text=not binary_output, timeout=timeout)
        if check and res.returncode != 0:
            raise AssertionError(f"docker {' '.join(map(str, args))} exited {res.returncode}\n"
                                 f"stdout: {res.stdout}\nstderr: {res.stderr}\n"
                                 f"berthd log tail:\n{self.read_log()[-3000:]}")
        return res

    def client(self, **kw):
        import docker
        kw.setdefault("version", "auto")
        return docker.DockerClient(base_url=self.url, **kw)

    def connection(self, timeout=60):
        return UnixHTTPConnection(self.socket, timeout=timeout)

    def api(self, method, path, body=None, headers=None, query=None, timeout=60):
        """One request; body: dict/list (sent as JSON), bytes or str."""
        if query:
            path += ("&" if "?" in path else "?") + urllib.parse.urlencode(query)
        hdrs = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = jsonlib.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        conn = self.connection(timeout)
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            return Response(resp.status, resp.reason, resp.headers, data)
        finally:
            conn.close()


@pytest.fixture
def berthd_factory(tmpdir_berth):
    """Start berthd(s) with extra flags or a daemon.json; all stopped after."""
    started = []

    def make(args=(), config=None, name=None, start=True):
        root = tmpdir_berth / (name or f"d{len(started)}")
        root.mkdir(parents=True, exist_ok=True)
        d = Berthd(root, args=args, config=config)
        started.append(d)
        if start:
            d.start()
        return d

    yield make
    errors = []
    for d in started:
        try:
            d.stop()
        except AssertionError as e:
            errors.append(str(e))
        try:
            d.destroy_network()
        except AssertionError as e:
            errors.append(str(e))
        assert not d.socket.exists(), "berthd left its socket behind"
    assert not errors, errors


@pytest.fixture
def berthd(berthd_factory):
    """A berthd on a temporary socket, data root and exec root."""
    return berthd_factory()
