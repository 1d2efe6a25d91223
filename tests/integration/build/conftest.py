"""Fixtures of the build suite: one berthd per test module with the
busybox:local image (made from Debian's busybox-static), a helper that
writes a context directory and runs the stock docker CLI's build against
it, and checks that no build container, snapshot mount or context dir is
left behind. The Berthd class is daemon-core's
(tests/integration/daemon/conftest.py)."""
import importlib.util
import itertools
import json
import os
import pathlib
import shutil
import subprocess
import tarfile
import tempfile
import time

import pytest

from berthtest import ROOT, TMP_PREFIX, make_busybox_rootfs

_spec = importlib.util.spec_from_file_location(
    "berth_daemon_fixtures_build", ROOT / "tests" / "integration" / "daemon" / "conftest.py")
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
Berthd = _mod.Berthd

BASE = "busybox:local"
_ctx_counter = itertools.count()


def write_context(root, files):
    """files: {relative path: str | bytes | (content, mode)}; returns the dir."""
    ctx = pathlib.Path(root) / f"ctx{next(_ctx_counter)}"
    ctx.mkdir(parents=True)
    for name, content in files.items():
        mode = None
        if isinstance(content, tuple):
            content, mode = content
        p = ctx / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content)
        if mode is not None:
            p.chmod(mode)
    return ctx


def build_leftovers(d):
    """What a finished build must not leave: build snapshots, context dirs,
    build containers' state and network namespaces, mounts under the
    daemon's roots."""
    left = []
    snaps = d.data_root / "snapshots"
    if snaps.exists():
        left += [f"snapshot {s}" for s in os.listdir(snaps) if s.startswith("build-")]
    tmp = d.data_root / "build" / "tmp"
    if tmp.exists():
        left += [f"context {c}" for c in os.listdir(tmp)]
    state = d.exec_root / "build" / "state"
    if state.exists():
        left += [f"container {c}" for c in os.listdir(state)]
    netns = d.exec_root / "build" / "netns"
    if netns.exists():
        left += [f"netns {n}" for n in os.listdir(netns)]
    with open("/proc/self/mountinfo") as f:
        left += [f"mount {l.split()[4]}" for l in f if str(d.root) in l.split()[4]]
    return left


class Builder:
    def __init__(self, d, root):
        self.d = d
        self.root = root

    def ctx(self, files):
        return write_context(self.root, files)

    def build(self, files_or_ctx, *args, check=True, buildkit=False, timeout=120):
        ctx = files_or_ctx if isinstance(files_or_ctx, pathlib.Path) else self.ctx(files_or_ctx)
        env = {} if buildkit else {"DOCKER_BUILDKIT": "0"}
        res = self.d.docker("build", *args, ctx, check=check, env=env, timeout=timeout)
        return res

    def inspect(self, image):
        return json.loads(self.d.docker("image", "inspect", image).stdout)[0]

    def run(self, image, *cmd):
        return self.d.docker("run", "--rm", image, *cmd).stdout


@pytest.fixture(scope="module")
def bd():
    root = pathlib.Path(tempfile.mkdtemp(prefix=TMP_PREFIX))
    d = Berthd(root)
    d.start()
    try:
        rootfs = make_busybox_rootfs(root / "bb-rootfs")
        tar = root / "bb.tar"
        with tarfile.open(tar, "w") as t:
            t.add(rootfs, arcname=".")
        d.docker("import", tar, BASE)
        shutil.rmtree(rootfs)
        yield d
    finally:
        if d.proc is None or d.proc.poll() is not None:
            d.proc = None
            d.start()
        ids = d.docker("ps", "-aq", check=False).stdout.split()
        if ids:
            d.docker("rm", "-f", *ids, check=False)
        d.stop()
        d.destroy_network()  # the bridge and nft table this berthd made
        with open("/proc/self/mountinfo") as f:
            mounts = [l.split()[4] for l in f if str(root) in l.split()[4]]
        for m in reversed(mounts):
            subprocess.run(["umount", "-l", m], check=False)
        shutil.rmtree(root, ignore_errors=True)
        assert not mounts, f"mounts left behind: {mounts}"


@pytest.fixture
def b(bd):
    """A builder on the module's daemon; asserts every build cleaned up."""
    work = bd.root / f"t{next(_ctx_counter)}"
    work.mkdir()
    yield Builder(bd, work)
    # A removal (the test's `run --rm`s) answers before its snapshot is
    # unmounted and deleted (berthd finishes that on a worker): wait for
    # it, with a deadline, before calling anything a leftover.
    deadline = time.monotonic() + 10
    while (left := build_leftovers(bd)) and time.monotonic() < deadline:
        time.sleep(0.05)
    shutil.rmtree(work, ignore_errors=True)
    assert not left, f"left behind by a build: {left}"


def load_regutil():
    """tests/integration/registry/regutil.py (a docker-registry on loopback)."""
    spec = importlib.util.spec_from_file_location(
        "berth_regutil_for_build", ROOT / "tests" / "integration" / "registry" / "regutil.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class HoldServer:
    """An HTTP server on 127.0.0.1 whose /hold requests wait until release():
    a RUN step that fetches it stays running exactly as long as the test
    wants, without sleeping. `seen` counts requests that arrived."""

    def __init__(self):
        import http.server
        import threading
        self.release_event = threading.Event()
        self.cond = threading.Condition()
        self.seen = 0
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                with outer.cond:
                    outer.seen += 1
                    outer.cond.notify_all()
                if self.path.startswith("/hold"):
                    outer.release_event.wait(120)
                body = b"released\n"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("0.0.0.0", 0), H)
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def wait_seen(self, n, timeout=60):
        with self.cond:
            return self.cond.wait_for(lambda: self.seen >= n, timeout)

    def release(self):
        self.release_event.set()

    def stop(self):
        self.release()
        self.srv.shutdown()
        self.srv.server_close()
