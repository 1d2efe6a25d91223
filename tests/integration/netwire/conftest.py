"""Fixtures of the netwire suite (containers on networks through berthd):
one berthd per module (daemon-core's Berthd: its own default bridge, nft
table and address pool), busybox:local imported, and after the module
every container removed, berthd stopped, its networking destroyed and no
link, nft table or netns of it left."""
import importlib.util
import os
import pathlib
import secrets
import shutil
import subprocess
import tarfile
import tempfile

import pytest

from berthtest import ROOT, TMP_PREFIX, make_busybox_rootfs

_spec = importlib.util.spec_from_file_location(
    "berth_daemon_fixtures_netwire", ROOT / "tests" / "integration" / "daemon" / "conftest.py")
daemon_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(daemon_conftest)
Berthd = daemon_conftest.Berthd

IMAGE = "busybox:local"
TAG = secrets.token_hex(3)


def links():
    return set(os.listdir("/sys/class/net"))


def nft_tables():
    out = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    return {l.strip() for l in out.splitlines() if l.strip()}


def free_port():
    for _ in range(200):
        p = 20000 + secrets.randbelow(20000)
        import socket
        s = socket.socket()
        try:
            s.bind(("0.0.0.0", p))
            return p
        except OSError:
            continue
        finally:
            s.close()
    raise AssertionError("no free port")


def import_busybox(d, root):
    rootfs = make_busybox_rootfs(root / "bb-rootfs")
    tar = root / "bb.tar"
    with tarfile.open(tar, "w") as t:
        t.add(rootfs, arcname=".")
    d.docker("import", tar, IMAGE)
    shutil.rmtree(rootfs)
    tar.unlink()


def remove_all(d):
    ids = d.docker("ps", "-aq", check=False).stdout.split()
    if ids:
        d.docker("rm", "-f", "-v", *ids, check=False)
    nets = d.docker("network", "ls", "-q", "--filter", "type=custom", check=False).stdout.split()
    if nets:
        d.docker("network", "rm", *nets, check=False)


@pytest.fixture(scope="module")
def bd():
    root = pathlib.Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "netwire-"))
    before_links, before_tables = links(), nft_tables()
    d = Berthd(root / "berthd")
    d.start()
    try:
        import_busybox(d, root)
        yield d
    finally:
        if d.proc is None or d.proc.poll() is not None:
            d.proc = None
            d.start()
        remove_all(d)
        try:
            d.stop()
        finally:
            d.destroy_network()
            with open("/proc/self/mountinfo") as f:
                mounts = [l.split()[4] for l in f if str(root) in l.split()[4]]
            for m in reversed(mounts):
                subprocess.run(["umount", "-l", m], check=False)
            shutil.rmtree(root, ignore_errors=True)
        table = d.network["nft-table"]
        assert not any(table in t for t in nft_tables()), f"nft table {table} left"
        assert d.network["bridge"] not in links(), "default bridge left"
        left = {l for l in links() - before_links if l.startswith(("veth", "br-"))}
        # other helpers' runs may add links meanwhile: only ours are asserted
        # by the tests themselves (they know their networks' bridges)
        bd_left = getattr(d, "expected_gone", set()) & links()
        assert not bd_left, f"links left: {bd_left}"
