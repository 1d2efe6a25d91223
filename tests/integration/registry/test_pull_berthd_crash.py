"""kill -9 of berthd in the middle of a pull of a multi-layer image from
Debian's docker-registry (through a proxy that slows chosen blobs): the
restarted berthd opens the store, lists only complete images, `berth
system check` passes, and pulling again finishes the work — layers that
were complete show "Already exists" and are not downloaded again."""
import importlib.util
import json
import os
import subprocess
import time
import urllib.parse

import pytest

from berthtest import ROOT, binary
import regutil


def _daemon_conftest():
    path = ROOT / "tests" / "integration" / "daemon" / "conftest.py"
    spec = importlib.util.spec_from_file_location("berth_daemon_conftest_for_registry", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def berthd(tmpdir_berth):
    d = _daemon_conftest().Berthd(tmpdir_berth / "berthd")
    d.root.mkdir(parents=True, exist_ok=True)
    d.start()
    yield d
    d.stop()
    d.destroy_network()
    assert not d.socket.exists()


@pytest.fixture(scope="module")
def reg(workdir):
    r = regutil.Registry(workdir, name="crash-registry").start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def image(workdir, reg):
    """Six layers: five small ones, then a big one the tests slow down."""
    layers = [regutil.small_layer(100 + i, size=256 << 10) for i in range(5)]
    layers.append(regutil.small_layer(199, size=3 << 20))
    img = regutil.Image(layers)
    layout = workdir / "layout-crash"
    regutil.write_oci_layout(layout, [img], "1")
    regutil.skopeo_push(layout, "1", f"{reg.host}/crash/six:1")
    return img


@pytest.fixture
def proxy(reg):
    p = regutil.FaultProxy(reg.port).start()
    yield p
    p.stop()


def short(layer):
    return layer.digest.split(":")[1][:12]


def pull_stream(d, ref):
    """POST /images/create, yielding each progress object as it comes."""
    name, tag = ref.rsplit(":", 1)
    conn = d.connection(timeout=120)
    conn.request("POST", "/v1.41/images/create?" + urllib.parse.urlencode({"fromImage": name, "tag": tag}))
    resp = conn.getresponse()
    assert resp.status == 200, resp.read()
    try:
        while True:
            line = resp.readline()
            if not line:
                return
            if line.strip():
                yield json.loads(line)
    finally:
        conn.close()


def berth(d, *args):
    env = dict(os.environ, BERTH_HOST=d.url, HOME=str(d.root))
    return subprocess.run([str(binary("berth")), *args], env=env, capture_output=True, text=True,
                          timeout=120)


def assert_store_consistent(d, img):
    """After the restart: only complete images are listed, check passes."""
    ids = d.docker("images", "-q", "--no-trunc").stdout.split()
    assert ids in ([], [img.config_digest]), ids
    res = berth(d, "system", "check")
    assert res.returncode == 0, res.stdout + res.stderr
    assert list((d.data_root / "tmp").iterdir()) == []
    return ids


def layer_present(d, layer):
    return (d.data_root / "layers" / layer.diff_id[7:] / "meta.json").exists()


def test_kill9_mid_pull_then_pull_reuses_finished_layers(berthd, image, proxy):
    ref = f"{proxy.host}/crash/six:1"
    big = image.layers[-1]
    proxy.slow_blobs[big.digest] = 0.05  # ~2.4 s for its 3 MiB
    done, downloading_big = set(), False
    for ev in pull_stream(berthd, ref):
        if ev.get("status") == "Pull complete":
            done.add(ev["id"])
        if ev.get("status") == "Downloading" and ev.get("id") == short(big):
            downloading_big = True
        if downloading_big and len(done) == 5:
            break
    assert done == {short(l) for l in image.layers[:5]}
    # "Downloading" can come before the first bytes reach the partial file:
    # the kill waits (up to 10 s of the ~2.4 s transfer) until some did
    partial = berthd.data_root / "partial" / big.digest[7:]
    deadline = time.time() + 10
    while time.time() < deadline and not (partial.exists() and partial.stat().st_size > 0):
        time.sleep(0.01)
    berthd.kill()
    berthd.start()
    assert assert_store_consistent(berthd, image) == []
    for layer in image.layers[:5]:
        assert layer_present(berthd, layer), layer.diff_id
    assert not layer_present(berthd, big)
    # what arrived of the big layer is kept for the resume, nothing else
    assert [p.name for p in (berthd.data_root / "partial").iterdir()] == [partial.name]
    kept = partial.stat().st_size
    assert 0 < kept < big.size
    assert partial.read_bytes() == big.blob[:kept]

    proxy.slow_blobs.clear()
    gets_before = {l.digest: len(proxy.blob_gets(l.digest)) for l in image.layers}
    events = list(pull_stream(berthd, ref))
    for layer in image.layers[:5]:
        assert {"status": "Already exists", "progressDetail": {}, "id": short(layer)} in events
        assert len(proxy.blob_gets(layer.digest)) == gets_before[layer.digest]
    assert {"status": "Pull complete", "progressDetail": {}, "id": short(big)} in events
    # the big layer went on from its kept bytes, with a Range request
    last = proxy.blob_gets(big.digest)[-1]
    assert last[2].get("Range") == f"bytes={kept}-", last
    assert list((berthd.data_root / "partial").iterdir()) == []
    assert events[-1]["status"] == f"Status: Downloaded newer image for {ref}"
    info = json.loads(berthd.docker("image", "inspect", ref).stdout)[0]
    assert info["Id"] == image.config_digest
    assert info["RootFS"]["Layers"] == [l.diff_id for l in image.layers]
    assert_store_consistent(berthd, image)


@pytest.mark.parametrize("kill_after", [1, 4, 9, 14, 20, 30])
def test_kill9_at_many_instants_then_pull_completes(berthd, image, proxy, kill_after):
    """kill_after: how many progress events berthd streamed before the kill
    (from the first "Pulling fs layer" to the big layer's extraction)."""
    ref = f"{proxy.host}/crash/six:1"
    proxy.delay_per_chunk = 0.01
    proxy.slow_blobs[image.layers[-1].digest] = 0.03
    n = 0
    for _ in pull_stream(berthd, ref):
        n += 1
        if n >= kill_after:
            break
    berthd.kill()
    berthd.start()
    assert_store_consistent(berthd, image)
    proxy.delay_per_chunk = 0
    proxy.slow_blobs.clear()
    events = list(pull_stream(berthd, ref))
    assert "errorDetail" not in events[-1], events[-1]
    reused = {e["id"] for e in events if e.get("status") == "Already exists"}
    pulled = {e["id"] for e in events if e.get("status") == "Pull complete"}
    assert reused | pulled == {short(l) for l in image.layers} and not reused & pulled
    ids = assert_store_consistent(berthd, image)
    assert ids == [image.config_digest]
    assert list((berthd.data_root / "partial").iterdir()) == []
