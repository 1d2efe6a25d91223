"""The image store against a docker-archive written by the reference engine
(Debian's docker.io 20.10 `docker save`, fixtures/docker-save-20.10.tar, made
as fixtures/README.md says): load keeps the engine's image id, tags, diff ids
and history, the RUN layer's whiteouts take effect through a real overlay
mount, and berth's own save of it loads back to the same image."""
import gzip
import hashlib
import io
import json
import os
import pathlib
import tarfile


FIXTURE = pathlib.Path(__file__).resolve().parent / "fixtures" / "docker-save-20.10.tar"

# what the reference engine reported for the image (fixtures/README.md)
IMAGE_ID = "sha256:38ed6ce5ff5548d9023b7a54ba84678426c7928e37d02d57a544971e197b3bb9"
TAG = "fixture/busybox:two-layers"
DIFF_IDS = ["sha256:1a3487747d680d2bb56b1ab15f2089eccf2058f85689a19850c2dfb0b3e4becf",
            "sha256:a38dc6c869d992f65e7a95bc29e22bcbc3bbca7ec4f1486da53c582020fad725"]


def fixture_manifest():
    with tarfile.open(FIXTURE) as t:
        manifest = json.load(t.extractfile("manifest.json"))
        config_bytes = t.extractfile(manifest[0]["Config"]).read()
        layer_digests = ["sha256:" + hashlib.sha256(t.extractfile(l).read()).hexdigest()
                         for l in manifest[0]["Layers"]]
    return manifest, config_bytes, layer_digests


def test_the_fixture_is_what_its_readme_says():
    """Guards the constants below against a regenerated fixture."""
    manifest, config_bytes, layer_digests = fixture_manifest()
    assert manifest[0]["RepoTags"] == [TAG]
    assert "sha256:" + hashlib.sha256(config_bytes).hexdigest() == IMAGE_ID
    config = json.loads(config_bytes)
    assert config["rootfs"]["diff_ids"] == DIFF_IDS == layer_digests
    assert config["docker_version"].startswith("20.10")
    assert FIXTURE.stat().st_size < 3 * 1024 * 1024


def _mount(store, snap, image):
    store.run("snapshot-create", snap, image)
    return pathlib.Path(store.run("snapshot-mount", snap).stdout.strip())


def _is_mounted(path):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == str(path) for line in f)


def test_load_reference_archive_into_the_store(store):
    lines = store.run("load", FIXTURE).stdout.splitlines()
    assert lines == [f"Loaded image: {TAG}"]
    [img] = store.ls()
    assert img["Id"] == IMAGE_ID
    assert img["RepoTags"] == ["docker.io/" + TAG]  # the store lists normalized names
    assert img["RepoDigests"] == []  # docker load records no repo digest
    assert img["Layers"] == 2
    insp = store.json("inspect", TAG)
    assert insp["Id"] == IMAGE_ID
    assert insp["RepoTags"] == [TAG]  # inspect shows them as docker does
    assert insp["RootFS"] == {"Type": "layers", "Layers": DIFF_IDS}
    assert insp["Config"]["Cmd"] == ["cat", "/fixture/hello.txt"]
    assert insp["Config"]["Env"] == ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "FIXTURE_ENV=two-layers"]
    assert insp["Config"]["Labels"] == {"org.example.fixture": "docker-save-20.10", "tier": "test"}
    assert insp["Architecture"] == "amd64" and insp["Os"] == "linux"
    assert insp["DockerVersion"] == "20.10.24+dfsg1"
    assert insp["Created"] == "2026-11-26T02:52:35.308563922Z"
    # every layer was unpacked and verified against the config's diff ids
    for diff_id in DIFF_IDS:
        assert (store.root / "layers" / diff_id[7:] / "diff").is_dir()
    hist = store.json("history", TAG)
    assert [h["CreatedBy"].split("#(nop) ")[-1].strip() if h["CreatedBy"] else "" for h in hist] == [
        'CMD ["cat" "/fixture/hello.txt"]',
        "LABEL org.example.fixture=docker-save-20.10 tier=test",
        "ENV FIXTURE_ENV=two-layers PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        '/bin/sh -c mkdir -p /fixture && echo "made by docker 20.10 classic builder" > '
        "/fixture/hello.txt && rm -r /var/www /usr/bin/wget",
        "",
    ]
    assert hist[0]["Id"] == IMAGE_ID and hist[0]["Tags"] == [TAG]
    assert hist[-1]["Comment"] == "Imported from -"
    # empty_layer entries have no size; the RUN layer's 37-byte file counts
    assert [h["Size"] for h in hist[:3]] == [0, 0, 0]
    assert hist[3]["Size"] == 37
    assert store.run("check").returncode == 0


def test_image_size_is_what_the_reference_engine_reports(store):
    store.run("load", FIXTURE)
    # the reference engine's Size for this image: regular files + symlinks
    assert store.json("inspect", TAG)["Size"] == 1985684


def test_whiteouts_of_the_reference_layer_take_effect(store):
    store.run("load", FIXTURE)
    layer = store.root / "layers" / DIFF_IDS[1][7:] / "diff"
    # docker's .wh. files became overlayfs whiteouts (0:0 character devices)
    for wh in (layer / "var" / "www", layer / "usr" / "bin" / "wget"):
        st = os.lstat(wh)
        assert (st.st_mode & 0o170000) == 0o020000 and st.st_rdev == 0, wh
    assert not any(n.startswith(".wh.") for _, _, files in os.walk(layer) for n in files)
    mp = _mount(store, "ref-wh", TAG)
    try:
        assert (mp / "fixture" / "hello.txt").read_text() == "made by docker 20.10 classic builder\n"
        assert not os.path.lexists(mp / "var" / "www")
        assert not os.path.lexists(mp / "usr" / "bin" / "wget")
        assert os.listdir(mp / "var") == []
        # the rest of the lower layer shows through
        assert os.readlink(mp / "usr" / "bin" / "wc") == "/bin/busybox"
        assert (mp / "bin" / "busybox").stat().st_size > 1000000
    finally:
        store.run("snapshot-remove", "ref-wh")
    assert not _is_mounted(mp)


def test_berth_save_of_the_reference_image_round_trips(store, store2, tmpdir_berth):
    store.run("load", FIXTURE)
    out = tmpdir_berth / "resaved.tar"
    store.run("save", out, TAG)
    with tarfile.open(out) as t:
        manifest = json.load(t.extractfile("manifest.json"))
        config_bytes = t.extractfile(manifest[0]["Config"]).read()
        layers = [t.extractfile(l).read() for l in manifest[0]["Layers"]]
    assert manifest[0]["RepoTags"] == [TAG]
    # the config is written byte for byte: the id cannot change
    assert config_bytes == fixture_manifest()[1]
    assert ["sha256:" + hashlib.sha256(l).hexdigest() for l in layers] == DIFF_IDS
    # the saved RUN layer still carries docker's .wh. entries
    names = tarfile.open(fileobj=io.BytesIO(layers[1])).getnames()
    assert "var/.wh.www" in names and "usr/bin/.wh.wget" in names
    assert store2.run("load", out).stdout.splitlines() == [f"Loaded image: {TAG}"]
    [img] = store2.ls()
    assert img["Id"] == IMAGE_ID and img["RepoTags"] == ["docker.io/" + TAG]
    # and gzip-compressed, as `docker load` accepts it
    gz = tmpdir_berth / "fixture.tar.gz"
    gz.write_bytes(gzip.compress(FIXTURE.read_bytes(), compresslevel=1))
    store2.run("rm", TAG)
    assert store2.ls() == []
    assert store2.run("load", gz).stdout.splitlines() == [f"Loaded image: {TAG}"]
    assert [i["Id"] for i in store2.ls()] == [IMAGE_ID]


def test_truncated_reference_archive_is_refused_and_leaves_nothing(store, tmpdir_berth):
    data = FIXTURE.read_bytes()
    cut = tmpdir_berth / "cut.tar"
    cut.write_bytes(data[: len(data) // 2])
    res = store.run("load", cut, check=False)
    assert res.returncode != 0 and res.stderr.strip(), res
    assert store.ls() == []
    assert store.run("check").returncode == 0
