"""Fixtures for the berth CLI's black-box tests: one berthd for the session
(the Berthd class of tests/integration/daemon/conftest.py, on a temporary
socket, data root and exec root) holding a busybox image, and helpers that
run `berth` and the stock docker CLI against that same daemon so outputs
can be compared. HOME and DOCKER_CONFIG point at temp dirs: no test reads
or writes the user's ~/.berth or ~/.docker."""
import importlib.util
import os
import pathlib
import secrets
import shutil
import subprocess
import tempfile

import pytest

from berthtest import BUILD, ROOT, TMP_PREFIX, binary, make_busybox_rootfs

DOCKER = "/usr/local/bin/docker"


def _daemon_conftest():
    path = ROOT / "tests" / "integration" / "daemon" / "conftest.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("berth_daemon_conftest", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class Cli:
    """Runs berth (and docker, for comparison) against one daemon."""

    def __init__(self, daemon, home):
        self.d = daemon
        self.home = pathlib.Path(home)
        self.berth_bin = str(binary("berth"))

    def env(self, extra=None):
        env = dict(os.environ)
        for k in ("DOCKER_HOST", "BERTH_HOST", "DOCKER_CONTEXT", "BERTH_CONTEXT",
                  "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "BERTH_CONFIG"):
            env.pop(k, None)
        env.update({"BERTH_HOST": self.d.url, "DOCKER_HOST": self.d.url, "HOME": str(self.home),
                    "DOCKER_CONFIG": str(self.home / ".docker"), "DOCKER_CLI_HINTS": "false"})
        if extra:
            env.update(extra)
        return env

    def _run(self, exe, args, check, input, timeout, env, text):
        res = subprocess.run([exe, *map(str, args)], env=self.env(env), input=input,
                             capture_output=True, text=text, timeout=timeout)
        if check and res.returncode != 0:
            raise AssertionError(f"{exe} {' '.join(map(str, args))} exited {res.returncode}\n"
                                 f"stdout: {res.stdout}\nstderr: {res.stderr}\n"
                                 f"berthd log tail:\n{self.d.read_log()[-2000:]}")
        return res

    def berth(self, *args, check=True, input=None, timeout=30, env=None, text=True):
        return self._run(self.berth_bin, args, check, input, timeout, env, text)

    def docker(self, *args, check=True, input=None, timeout=30, env=None, text=True):
        return self._run(DOCKER, args, check, input, timeout, env, text)

    def berth_vs_docker(self, *args, timeout=15, **kw):
        """Run berth; if it hangs, run the stock docker CLI with the same
        arguments against the same daemon: when docker hangs too, the daemon
        is at fault and the test is skipped naming the command; otherwise
        berth alone hangs and the test fails."""
        try:
            return self.berth(*args, timeout=timeout, **kw)
        except subprocess.TimeoutExpired:
            dargs = [a for a in args]
            try:
                self.docker(*dargs, timeout=timeout, check=False,
                            **{k: v for k, v in kw.items() if k in ("input", "text")})
            except subprocess.TimeoutExpired:
                pytest.skip(f"berthd does not complete `{' '.join(map(str, args))}` "
                            f"(the docker CLI hangs on it too)")
            raise AssertionError(f"berth {' '.join(map(str, args))} hangs where docker does not")

    def require(self, method, path, what=None):
        """Skip (naming the endpoint) when berthd does not serve it yet."""
        r = self.d.api(method, path)
        if r.status == 404 and b"page not found" in r.body:
            pytest.skip(f"berthd does not serve {method} {path} yet"
                        + (f" (needed by {what})" if what else ""))
        return r


def _seed_busybox_offline(daemon, tarball):
    """Put busybox:local into a stopped daemon's store with the image area's
    own test driver (the store is the data root): only for a berthd that
    does not serve image import yet."""
    tool = BUILD / "tests" / "unit" / "image" / "berth-image-tool"
    if not tool.exists():
        return False
    subprocess.run([str(tool), "--root", str(daemon.data_root), "import", str(tarball),
                    "busybox:local"], check=True, capture_output=True)
    return True


@pytest.fixture(scope="session")
def cli():
    mod = _daemon_conftest()
    if mod is None:
        pytest.skip("tests/integration/daemon/conftest.py (berthd fixture) is not merged")
    binary("berthd")
    binary("berth")
    root = pathlib.Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "cli-"))
    try:
        rootfs = make_busybox_rootfs(root / "rootfs")
        # networking: names unique to this run (the machine is shared), and
        # removed afterwards (networks outlive berthd, as docker0 does)
        tag = secrets.token_hex(3)
        octet = 100 + secrets.randbelow(100)
        net_table = f"berth_cli_{tag}"
        config = {"bridge": f"bc{tag}", "bip": f"10.{octet}.1.1/24", "nft-table": net_table,
                  "default-address-pools": [{"base": f"10.{octet}.64.0/18", "size": 24}]}
        d = mod.Berthd(root / "berthd", config=config)
        d.net_table = net_table
        d.data_root.mkdir(parents=True, exist_ok=True)
        tarball = root / "busybox.tar"
        subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tarball), "."], check=True)
        d.start()
        home = root / "home"
        (home / ".docker").mkdir(parents=True)
        c = Cli(d, home)
        c.rootfs = rootfs
        # `berth import` (a chunked upload from a file) is the first test
        r = c.berth("import", str(tarball), "busybox:local", check=False)
        if r.returncode != 0:
            d.stop()
            if not _seed_busybox_offline(d, tarball):
                d.destroy_network()
                pytest.skip(f"cannot get busybox:local into berthd: {r.stderr.strip()}")
            d.start()
        else:
            assert r.stdout.startswith("sha256:"), r
        yield c
        # leave nothing running behind
        ids = c.berth("ps", "-aq", check=False).stdout.split()
        if ids:
            c.berth("rm", "-f", *ids, check=False)
        d.stop()
        d.destroy_network()  # the default bridge and nft table of this berthd
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def name(request):
    """A container name unique to the test."""
    return f"bt-{os.getpid()}-{request.node.name[:40]}".replace("[", "-").replace("]", "")


def _wait_answers(c, tries=6):
    """Does berthd answer POST /containers/{id}/wait for a container that
    exits right away? (create → wait → start, as the docker CLI orders it)"""
    d = c.d
    for i in range(tries):
        r = c.berth("create", "busybox:local", "sh", "-c", "echo x; exit 3", check=False)
        if r.returncode != 0:
            return False
        cid = r.stdout.strip()
        conn = d.connection(timeout=5)
        try:
            conn.request("POST", f"/v1.41/containers/{cid}/wait?condition=next-exit")
            resp = conn.getresponse()
            d.api("POST", f"/v1.41/containers/{cid}/start")
            got = b""
            try:
                while b"StatusCode" not in got or not got.rstrip().endswith(b"}"):
                    chunk = resp.read1(4096)
                    if not chunk:
                        break
                    got += chunk
            except OSError:
                return False
            if b'"StatusCode":3' not in got:
                return False
        finally:
            conn.close()
            d.api("DELETE", f"/v1.41/containers/{cid}?force=1")
    return True


@pytest.fixture(scope="session")
def wait_reliable(cli):
    return _wait_answers(cli)


@pytest.fixture
def foreground(cli, wait_reliable):
    """For tests of foreground `run`/`start -a`: they need berthd to answer
    the wait request every time, which it does not yet."""
    if not wait_reliable:
        pytest.skip("berthd does not always answer POST /containers/{id}/wait for a container "
                    "that exits at once (the docker CLI hangs the same way): foreground run "
                    "cannot be tested reliably yet")
    return cli
