"""Crash consistency: kill -9 the store's process at many instants of a
streaming layer unpack (what a pull does), a load and a remove. The store
must always open, sweep the interrupted work, list only complete images,
pass `check`, and let the operation be done again to completion."""
import os
import signal
import tarfile
import time

import pytest

from conftest import docker_archive, entry, sha256, tar_bytes, tree_tar


def big_layer(n_files=40, size=512 * 1024):
    rnd = os.urandom(size)
    return tar_bytes([entry("data/", tarfile.DIRTYPE, mode=0o755)] +
                     [entry(f"data/f{i:03d}", data=rnd[i:] + rnd[:i]) for i in range(n_files)])


def assert_consistent(store, expect_ids=None):
    """Opening the store sweeps tmp/; what is listed is complete."""
    images = store.ls()
    assert store.tmp() == []
    assert [n for n in os.listdir(store.root) if n.startswith(".tmp-")] == []
    res = store.run("check", check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    for img in images:
        insp = store.json("inspect", img["Id"])
        for d in insp["RootFS"]["Layers"]:
            assert (store.root / "layers" / d[7:] / "meta.json").exists()
    if expect_ids is not None:
        assert {i["Id"] for i in images} <= set(expect_ids)
    return images


def kill(p):
    p.send_signal(signal.SIGKILL)
    p.wait()
    p.stdout.close()
    p.stderr.close()


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_kill_during_streaming_layer_unpack(store, fraction):
    layer = big_layer()
    p = store.popen("unpack", "-", sha256(layer), stdin=__import__("subprocess").PIPE)
    cut = int(len(layer) * fraction)
    p.stdin.write(layer[:cut])
    p.stdin.flush()
    time.sleep(0.3)  # let it extract what it got; it is now waiting for more
    assert p.poll() is None, "the unpack must still be running (waiting for input)"
    kill(p)
    p.stdin.close()
    assert_consistent(store)
    assert store.layers() == [] and store.blobs() == []
    # the "later pull" finishes the work
    out = store.run("unpack", _file(store, layer), sha256(layer))
    assert out.stdout.strip() == sha256(layer)
    assert store.layers() == [sha256(layer)[7:]]


def _file(store, data):
    path = store.root.parent / "layer-input.tar"
    path.write_bytes(data)
    return path


def test_kill_during_load_at_many_instants(store, tmpdir_berth, busybox_rootfs):
    archive, image_id = docker_archive([tree_tar(busybox_rootfs), big_layer(), big_layer(20)],
                                       ["crash:1"])
    path = tmpdir_berth / "crash.tar"
    path.write_bytes(archive)
    t0 = time.monotonic()
    store.run("load", path)
    full = time.monotonic() - t0
    store.run("rm", "crash:1")
    assert store.ls() == [] and store.layers() == [] and store.blobs() == []
    killed_mid = 0
    for frac in [0.05, 0.15, 0.3, 0.45, 0.6, 0.75, 0.9]:
        p = store.popen("load", path)
        time.sleep(full * frac)
        if p.poll() is None:
            killed_mid += 1
        kill(p)
        images = assert_consistent(store, [image_id])
        if images:
            assert images[0]["RepoTags"] in ([], ["docker.io/library/crash:1"])
        # load again: always completes
        store.run("load", path)
        [img] = store.ls()
        assert img["Id"] == image_id and img["RepoTags"] == ["docker.io/library/crash:1"]
        assert_consistent(store)
        store.run("rm", "crash:1")
        store.run("gc")
        assert store.blobs() == [] and store.layers() == []
    assert killed_mid >= 3, "too few kills landed inside the load"


def test_kill_during_remove(store, tmpdir_berth, busybox_rootfs):
    archive, image_id = docker_archive([tree_tar(busybox_rootfs), big_layer(60)], ["rm:1"])
    path = tmpdir_berth / "rm.tar"
    path.write_bytes(archive)
    for delay in [0.0, 0.005, 0.02, 0.05, 0.1]:
        store.run("load", path)
        p = store.popen("rm", "rm:1")
        time.sleep(delay)
        kill(p)
        images = assert_consistent(store, [image_id])
        # either still there whole, or gone; gc then releases whatever is left
        if not images:
            store.run("gc")
            assert store.blobs() == [] and store.layers() == []
        else:
            store.run("rm", "-f", image_id)
            assert store.blobs() == [] and store.layers() == []
