"""`berth system check` and POST /berth/system/check (a berth extension of
the Engine API): the image store verified by berthd on its worker pool —
every blob re-hashed, every layer's files re-listed against the listing
recorded at unpack, every image's and tag's references — reported item by
item, naming what is wrong and where; exit status 1 when anything is."""
import json
import os
import subprocess
import threading

import pytest

from berthtest import binary, make_busybox_rootfs


@pytest.fixture
def rootfs_tar(tmpdir_berth):
    root = make_busybox_rootfs(tmpdir_berth / "rootfs")
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc" / "motd").write_text("hello from the layer\n")
    tar = tmpdir_berth / "rootfs.tar"
    subprocess.run(["tar", "-C", str(root), "-cf", str(tar), "."], check=True)
    return tar


@pytest.fixture
def image(berthd, rootfs_tar):
    out = berthd.docker("import", str(rootfs_tar), "chk:1").stdout.strip()
    assert out.startswith("sha256:")
    return out


def berth(berthd, *args, check=None):
    env = dict(os.environ, BERTH_HOST=berthd.url, HOME=str(berthd.root))
    env.pop("BERTH_CONTEXT", None)
    res = subprocess.run([str(binary("berth")), *args], env=env, capture_output=True, text=True,
                         timeout=120)
    if check is not None:
        assert res.returncode == check, (res.returncode, res.stdout, res.stderr)
    return res


def layer_of(berthd, image_id):
    info = json.loads(berthd.docker("image", "inspect", image_id).stdout)[0]
    [diff_id] = info["RootFS"]["Layers"]
    return diff_id, berthd.data_root / "layers" / diff_id[7:]


def test_clean_store_passes(berthd, image):
    res = berth(berthd, "system", "check", check=0)
    summary = res.stdout.strip().splitlines()[-1]
    # the imported image: config + manifest + layer blob, one layer, one tag
    assert summary.startswith("Checked 3 blobs, 1 layers (")
    assert summary.endswith("1 images, 1 tags: no problems"), summary
    res = berth(berthd, "system", "check", "-v", check=0)
    diff_id, _ = layer_of(berthd, image)
    assert f"ok layer {diff_id}" in res.stdout.splitlines()
    assert f"ok image {image}" in res.stdout.splitlines()
    assert "ok tag docker.io/library/chk:1" in res.stdout.splitlines()
    # an empty store passes too
    berthd.docker("rmi", "chk:1")
    res = berth(berthd, "system", "check", check=0)
    assert "Checked 0 blobs, 0 layers" in res.stdout and "no problems" in res.stdout


def test_api_streams_items_and_a_summary(berthd, image):
    for path in ("/berth/system/check", "/v1.41/berth/system/check"):
        r = berthd.api("POST", path)
        assert r.status == 200, r
        lines = r.lines()
        *items, summary = lines
        assert summary["Checked"] == {"Blobs": 3, "Layers": 1, "Images": 1, "Tags": 1}
        assert summary["Problems"] == 0
        assert summary["Bytes"] == sum(i["Size"] for i in items) > 0
        assert {i["Type"] for i in items} == {"blob", "layer", "image", "tag"}
        assert all(i["Status"] == "ok" and "Problem" not in i for i in items)
    # Docker has no such endpoint: nothing else answers under /berth/
    assert berthd.api("GET", "/berth/system/check").status in (404, 405)


def test_corrupt_blob_is_named(berthd, image):
    blobs = berthd.data_root / "blobs" / "sha256"
    victim = blobs / image[7:]  # the config blob
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x20
    victim.write_bytes(bytes(data))
    res = berth(berthd, "system", "check", check=1)
    bad = [l for l in res.stdout.splitlines() if l.startswith("corrupt ")]
    assert len(bad) == 1, res.stdout
    assert bad[0].startswith(f"corrupt blob {image}: blobs/sha256/{image[7:]}: content hashes to sha256:")
    assert res.stdout.strip().endswith(": 1 problem")
    r = berthd.api("POST", "/berth/system/check")
    [item] = [l for l in r.lines() if l.get("Status") == "corrupt"]
    assert item["Type"] == "blob" and item["ID"] == image and "content hashes to" in item["Problem"]


def test_changed_and_missing_layer_files_are_named(berthd, image):
    diff_id, layer = layer_of(berthd, image)
    motd = layer / "diff" / "etc" / "motd"
    motd.write_text("hello from somewhere else\n")
    res = berth(berthd, "system", "check", check=1)
    bad = [l for l in res.stdout.splitlines() if l.startswith("corrupt ")]
    assert len(bad) == 1, res.stdout
    assert bad[0].startswith(f"corrupt layer {diff_id}: files differ from the unpacked layer: "
                             "changed `/etc/motd` (recorded `/etc/motd"), bad
    motd.unlink()
    res = berth(berthd, "system", "check", check=1)
    assert "missing `/etc/motd" in res.stdout, res.stdout
    # an extra file is named as unexpected
    (layer / "diff" / "etc" / "motd").write_text("hello from the layer\n")
    os.chmod(layer / "diff" / "etc" / "motd", 0o644)
    (layer / "diff" / "planted").write_text("x")
    res = berth(berthd, "system", "check", check=1)
    assert "unexpected `/planted" in res.stdout, res.stdout


def test_missing_layer_and_blob_are_named(berthd, image):
    diff_id, layer = layer_of(berthd, image)
    meta = json.loads((layer / "meta.json").read_text())
    blob = meta["blob"]["digest"]
    (berthd.data_root / "blobs" / "sha256" / blob[7:]).unlink()
    res = berth(berthd, "system", "check", check=1)
    assert f"corrupt layer {diff_id}: its blob {blob} is missing" in res.stdout, res.stdout
    subprocess.run(["rm", "-rf", str(layer)], check=True)
    res = berth(berthd, "system", "check", check=1)
    assert f"corrupt image {image}: layer {diff_id} missing" in res.stdout, res.stdout


def test_check_beside_loads_and_removals_reports_nothing(berthd, image, tmpdir_berth):
    """Removals take layers and blobs away while the check reads them: what
    vanished under it is skipped, never reported as damage."""
    saved = tmpdir_berth / "chk.tar"
    berthd.docker("save", "-o", str(saved), "chk:1")
    stop = threading.Event()
    errors = []

    def churn():
        try:
            while not stop.is_set():
                berthd.docker("rmi", "chk:1")
                berthd.docker("load", "-i", str(saved))
        except AssertionError as e:
            errors.append(str(e))

    t = threading.Thread(target=churn)
    t.start()
    try:
        for _ in range(15):
            r = berthd.api("POST", "/berth/system/check")
            assert r.status == 200
            bad = [l for l in r.lines() if l.get("Status") == "corrupt" or "errorDetail" in l]
            assert bad == []
            assert r.lines()[-1]["Problems"] == 0
    finally:
        stop.set()
        t.join()
    assert errors == []
    berth(berthd, "system", "check", check=0)
