"""Fixtures for the berth CLI's black-box tests: one berthd for the session
(the Berthd class of tests/integration/daemon/conftest.py, on a temporary
socket, data root and exec root) holding a busybox image, and helpers that
run `berth` and the stock docker CLI against that same daemon so outputs
can be compared. HOME and DOCKER_CONFIG point at temp dirs: no test reads
or writes the user's ~/.berth or ~/.docker."""
import importlib.util
import json
import os
import pathlib
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

    def require(self, method, path, what=None):
        """Skip (naming the endpoint) when berthd does not serve it yet."""
        r = self.d.api(method, path)
        if r.status == 404 and b"page not found" in r.body:
            pytest.skip(f"berthd does not serve {method} {path} yet"
                        + (f" (needed by {what})" if what else ""))
        return r


def _seed_busybox(daemon, rootfs, workdir):
    """Put busybox:local into the daemon's store. Through the API when
    berthd serves image import; otherwise with the image area's own test
    driver before the daemon starts (the store is the data root)."""
    tarball = pathlib.Path(workdir) / "busybox.tar"
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tarball), "."], check=True)
    tool = BUILD / "tests" / "unit" / "image" / "berth-image-tool"
    if tool.exists():
        subprocess.run([str(tool), "--root", str(daemon.data_root), "import", str(tarball),
                        "busybox:local"], check=True, capture_output=True)
        return None
    return tarball


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
        d = mod.Berthd(root / "berthd")
        d.data_root.mkdir(parents=True, exist_ok=True)
        tarball = _seed_busybox(d, rootfs, root)
        d.start()
        home = root / "home"
        (home / ".docker").mkdir(parents=True)
        c = Cli(d, home)
        c.rootfs = rootfs
        if tarball is not None:
            r = c.berth("import", str(tarball), "busybox:local", check=False)
            if r.returncode != 0:
                d.stop()
                pytest.skip(f"cannot get busybox:local into berthd: {r.stderr.strip()}")
        yield c
        # leave nothing running behind
        ids = c.berth("ps", "-aq", check=False).stdout.split()
        if ids:
            c.berth("rm", "-f", *ids, check=False)
        d.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def name(request):
    """A container name unique to the test."""
    return f"bt-{os.getpid()}-{request.node.name[:40]}".replace("[", "-").replace("]", "")
