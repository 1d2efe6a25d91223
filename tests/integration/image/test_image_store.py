"""The image store end to end through berth-image-tool: docker-archive and
OCI layout load/save, import/export, whiteouts through a real overlay mount,
snapshots, commit, docker rmi semantics, gc and check."""
import gzip
import json
import os
import shutil
import subprocess
import tarfile

import pytest

from berthtest import run
from conftest import config_for, docker_archive, entry, sha256, tar_bytes, tree_tar


@pytest.fixture
def busybox_tar(busybox_rootfs):
    return tree_tar(busybox_rootfs)


def chain_id(*diff_ids):
    chain = diff_ids[0]
    for d in diff_ids[1:]:
        chain = sha256(f"{chain} {d}".encode())
    return chain


def load(store, tmpdir_berth, data, name="archive.tar"):
    p = tmpdir_berth / name
    p.write_bytes(data)
    return store.run("load", p).stdout.splitlines()


def mount(store, snap, image):
    store.run("snapshot-create", snap, image)
    return store.run("snapshot-mount", snap).stdout.strip()


def is_mounted(path):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == str(path) for line in f)


def test_docker_archive_fixture_loads(store, tmpdir_berth, busybox_tar):
    """A docker-archive laid out as the docker 20.10 engine writes it."""
    archive, config_id = docker_archive([busybox_tar], ["busybox:latest", "busybox:1.36"])
    assert load(store, tmpdir_berth, archive) == ["Loaded image: busybox:latest",
                                                  "Loaded image: busybox:1.36"]
    [img] = store.ls()
    assert img["Id"] == config_id
    assert sorted(img["RepoTags"]) == ["docker.io/library/busybox:1.36",
                                       "docker.io/library/busybox:latest"]
    insp = store.json("inspect", "busybox")
    assert insp["Id"] == config_id
    assert sorted(insp["RepoTags"]) == ["busybox:1.36", "busybox:latest"]
    assert insp["RootFS"] == {"Type": "layers", "Layers": [sha256(busybox_tar)]}
    assert insp["Config"]["Cmd"] == ["sh"]
    assert insp["Os"] == "linux" and insp["Architecture"] == "amd64"
    assert insp["Size"] > 1_000_000
    # the plain layer.tar is kept as a gzip blob (push-ready), not a second copy
    meta = json.loads((store.root / "layers" / sha256(busybox_tar)[7:] / "meta.json").read_text())
    assert meta["blob"]["media_type"] == "application/vnd.docker.image.rootfs.diff.tar.gzip"
    blob = store.root / "blobs" / "sha256" / meta["blob"]["digest"][7:]
    assert gzip.decompress(blob.read_bytes()) == busybox_tar
    assert store.run("check").returncode == 0
    # resolve: name, full name, id, short id prefix, digest form
    for s in ["busybox", "busybox:latest", "docker.io/library/busybox:1.36", config_id,
              config_id[7:], config_id[7:19], config_id[7:10]]:
        assert store.run("resolve", s).stdout.strip() == config_id, s
    res = store.run("resolve", "busybox:nope", check=False)
    assert res.returncode == 2 and "No such image: busybox:nope" in res.stderr
    res = store.run("resolve", "Busybox", check=False)
    assert "must be lowercase" in res.stderr
    # loading another image under the same tag moves it, as docker says
    other, other_id = docker_archive([tar_bytes([entry("x", data=b"x")])], ["busybox:latest"])
    assert load(store, tmpdir_berth, other, "other.tar") == [
        f"The image busybox:latest already exists, renaming the old one with ID {config_id} "
        "to empty string", "Loaded image: busybox:latest"]
    assert store.run("resolve", "busybox").stdout.strip() == other_id
    assert store.run("resolve", "busybox:1.36").stdout.strip() == config_id


def test_load_refuses_a_layer_that_is_not_what_the_config_says(store, tmpdir_berth, busybox_tar):
    archive, _ = docker_archive([busybox_tar], ["bad:1"])
    other = tar_bytes([entry("x", data=b"not busybox")])
    t = tarfile.open(fileobj=__import__("io").BytesIO(archive))
    out = []
    for m in t.getmembers():
        data = t.extractfile(m).read() if m.isfile() else None
        if m.name.endswith("layer.tar"):
            data = other
        out.append((m, data))
    p = _write(tmpdir_berth / "bad.tar", tar_bytes(out))
    res = store.run("load", p, check=False)
    assert res.returncode != 0 and "the config says" in res.stderr
    assert store.ls() == []
    assert store.tmp() == []


def _write(path, data):
    path.write_bytes(data)
    return path


def test_whiteouts_and_opaque_dirs_through_overlay(store, tmpdir_berth):
    base = tar_bytes([
        entry("a/", tarfile.DIRTYPE, mode=0o755), entry("a/x", data=b"x"), entry("a/y", data=b"y"),
        entry("b/", tarfile.DIRTYPE, mode=0o755), entry("b/z", data=b"z"),
        entry("b/sub/", tarfile.DIRTYPE, mode=0o755), entry("b/sub/deep", data=b"d"),
        entry("c/", tarfile.DIRTYPE, mode=0o755), entry("c/gone", data=b"g"),
        entry("keep", data=b"k"),
    ])
    top = tar_bytes([
        entry("a/", tarfile.DIRTYPE, mode=0o755), entry("a/.wh.x"),
        entry("b/", tarfile.DIRTYPE, mode=0o755), entry("b/.wh..wh..opq"), entry("b/new", data=b"n"),
        entry(".wh.c"),
        entry(".wh..wh.plnk/", tarfile.DIRTYPE, mode=0o700),  # aufs metadata: ignored
    ])
    archive, _ = docker_archive([base, top], ["wh:1"])
    load(store, tmpdir_berth, archive)
    layer = store.root / "layers" / sha256(top)[7:] / "diff"
    st = os.lstat(layer / "a" / "x")
    assert os.major(st.st_rdev) == 0 and os.minor(st.st_rdev) == 0 and (st.st_mode & 0o170000) == 0o020000
    assert os.getxattr(layer / "b", "trusted.overlay.opaque") == b"y"
    assert not (layer / ".wh..wh.plnk").exists()
    mp = mount(store, "wh-snap", "wh:1")
    try:
        root = __import__("pathlib").Path(mp)
        assert sorted(os.listdir(root / "a")) == ["y"]
        assert sorted(os.listdir(root / "b")) == ["new"]
        assert not (root / "c").exists()
        assert (root / "keep").read_bytes() == b"k"
        # changes in the container: docker diff
        (root / "a" / "y").write_text("changed")
        (root / "newfile").write_text("n")
        os.unlink(root / "keep")
        rw, rootfs = map(int, store.run("snapshot-size", "wh-snap").stdout.split())
        assert rw == len("changed") + len("n")
        assert rootfs == rw + 6 + 1  # base: x y z deep gone keep; top: new
        assert store.run("snapshot-ls").stdout.split() == ["wh-snap"]
        changes = store.run("snapshot-changes", "wh-snap").stdout.splitlines()
        # docker: a modified file's copied-up parent is no change of its own
        assert changes == ["C /a/y", "D /keep", "A /newfile"]
        diff = tarfile.open(fileobj=__import__("io").BytesIO(
            subprocess.run([str(store.tool), "--root", str(store.root), "snapshot-diff",
                            "wh-snap", "-"], check=True, capture_output=True).stdout))
        names = sorted(m.name for m in diff.getmembers())
        assert names == [".wh.keep", "a", "a/y", "newfile"]
        # rm -rf a directory of the image and make it again: overlay marks it
        # opaque, docker reports it deleted and its new entries added
        shutil.rmtree(root / "a")
        os.mkdir(root / "a")
        (root / "a" / "q").write_text("q")
        os.makedirs(root / "fresh" / "dir")
        changes = store.run("snapshot-changes", "wh-snap").stdout.splitlines()
        assert changes == ["D /a", "A /a/q", "A /fresh", "A /fresh/dir", "D /keep", "A /newfile"]
    finally:
        store.run("snapshot-remove", "wh-snap")
    assert not is_mounted(mp)
    assert not (store.root / "snapshots" / "wh-snap").exists()


def test_commit_makes_a_layer_with_whiteouts(store, tmpdir_berth, busybox_tar):
    archive, base_id = docker_archive([busybox_tar], ["busybox:latest"])
    load(store, tmpdir_berth, archive)
    mp = mount(store, "c1", "busybox")
    try:
        root = __import__("pathlib").Path(mp)
        (root / "etc" / "added").write_text("hello")
        os.unlink(root / "etc" / "passwd")
        shutil.rmtree(root / "home")
        new_id = store.run("commit", "c1", "committed:v1").stdout.strip()
    finally:
        store.run("snapshot-remove", "c1")
    insp = store.json("inspect", "committed:v1")
    assert insp["Id"] == new_id and insp["Parent"] == base_id
    assert len(insp["RootFS"]["Layers"]) == 2
    mp = mount(store, "c2", "committed:v1")
    try:
        root = __import__("pathlib").Path(mp)
        assert (root / "etc" / "added").read_text() == "hello"
        assert not (root / "etc" / "passwd").exists()
        assert not (root / "home").exists()
        assert (root / "bin" / "busybox").exists()
        # a running container's image: rmi by name refuses, -f untags only
        res = store.run("rm", "committed:v1", check=False)
        assert res.returncode == 3 and "container c2 is using its referenced image" in res.stderr
    finally:
        store.run("snapshot-remove", "c2")
    # the parent has a child: deleting it by id is refused even with -f
    res = store.run("rm", "-f", base_id, check=False)
    assert "image has dependent child images" in res.stderr
    hist = store.json("history", "committed:v1")
    assert [h["Id"] for h in hist] == [new_id, base_id]  # the parent's row names it
    assert hist[1]["Tags"] == ["busybox:latest"] and hist[0]["Comment"] == "committed"
    assert hist[0]["Size"] > 0
    report = store.json("rm", "committed:v1")
    l0, l1 = insp["RootFS"]["Layers"]
    # docker's report: the image, then each layer released, by chain id
    assert report == [{"Untagged": "committed:v1"}, {"Deleted": new_id},
                      {"Deleted": chain_id(l0, l1)}]
    assert [i["Id"] for i in store.ls()] == [base_id]


def test_save_load_round_trip_and_skopeo_reads_it(store, store2, tmpdir_berth, busybox_tar):
    extra = tar_bytes([entry("etc/", tarfile.DIRTYPE, mode=0o755), entry("etc/motd", data=b"hi")])
    archive, config_id = docker_archive([busybox_tar, extra], ["app:1"])
    load(store, tmpdir_berth, archive)
    store.run("tag", "app:1", "localhost:5000/team/app:2")
    out = tmpdir_berth / "saved.tar"
    store.run("save", out, "app:1", "localhost:5000/team/app:2")
    t = tarfile.open(out)
    names = set(t.getnames())
    manifest = json.load(t.extractfile("manifest.json"))
    assert manifest[0]["Config"] == config_id[7:] + ".json"
    assert sorted(manifest[0]["RepoTags"]) == ["app:1", "localhost:5000/team/app:2"]
    assert {"repositories", "index.json", "oci-layout", config_id[7:] + ".json"} <= names
    for lp in manifest[0]["Layers"]:
        data = t.extractfile(lp).read()
        assert sha256(data) == "sha256:" + lp.rsplit("/", 1)[1]
    repos = json.load(t.extractfile("repositories"))
    assert set(repos) == {"app", "localhost:5000/team/app"}
    # load it into an empty store: same image, same tags, same files
    lines = store2.run("load", out).stdout.splitlines()
    assert sorted(lines) == ["Loaded image: app:1", "Loaded image: localhost:5000/team/app:2"]
    [img] = store2.ls()
    assert img["Id"] == config_id
    assert store2.run("check").returncode == 0
    # the OCI layout inside is readable by skopeo
    if shutil.which("skopeo"):
        d = tmpdir_berth / "layout"
        d.mkdir()
        t.extractall(d)
        info = json.loads(run(["skopeo", "inspect", "oci:%s:1" % d]).stdout)
        assert info["Layers"] == [sha256(busybox_tar), sha256(extra)]
        info = json.loads(run(["skopeo", "inspect", "docker-archive:%s" % out]).stdout)
        assert len(info["Layers"]) == 2
        # and skopeo's own OCI layout output loads back
        skd = tmpdir_berth / "sk"
        run(["skopeo", "copy", "oci:%s:1" % d, "oci:%s:copied" % skd])
        sktar = tmpdir_berth / "sk.tar"
        run(["tar", "-C", skd, "-cf", sktar, "."])
        store3 = type(store)(tmpdir_berth / "store3")
        assert store3.run("load", sktar).stdout.strip() == "Loaded image ID: " + config_id
        assert [i["Id"] for i in store3.ls()] == [config_id]
        # gzip layers in an OCI layout (what registries and skopeo produce)
        gzd = tmpdir_berth / "gz"
        run(["skopeo", "copy", "--dest-compress", "--dest-compress-format", "gzip",
             "oci:%s:1" % d, "oci:%s:gz" % gzd])
        gztar = tmpdir_berth / "gz.tar"
        run(["tar", "-C", gzd, "-cf", gztar, "."])
        store4 = type(store)(tmpdir_berth / "store4")
        store4.run("load", gztar)
        assert [i["Id"] for i in store4.ls()] == [config_id]
        assert store4.run("check").returncode == 0
        metas = [json.loads((store4.root / "layers" / l / "meta.json").read_text())
                 for l in store4.layers()]
        assert {m["blob"]["media_type"] for m in metas} == {
            "application/vnd.oci.image.layer.v1.tar+gzip"}


def test_import_export_round_trip(store, tmpdir_berth, busybox_rootfs):
    p = tmpdir_berth / "rootfs.tar.gz"
    p.write_bytes(gzip.compress(tree_tar(busybox_rootfs)))
    image_id = store.run("import", p, "imported:1", "my message",
                         json.dumps({"Cmd": ["/bin/sh"], "Env": ["A=1"]})).stdout.strip()
    insp = store.json("inspect", "imported:1")
    assert insp["Id"] == image_id and insp["Config"]["Cmd"] == ["/bin/sh"]
    assert insp["Config"]["Env"] == ["A=1"] and insp["Config"]["Entrypoint"] is None
    assert insp["Comment"] == "my message"
    hist = store.json("history", "imported:1")
    assert hist[0]["Comment"] == "my message" and hist[0]["Tags"] == ["imported:1"]
    mp = mount(store, "exp", "imported:1")
    out = tmpdir_berth / "export.tar"
    try:
        store.run("export", mp, out)
    finally:
        store.run("snapshot-remove", "exp")
    exported = {m.name.lstrip("./"): (m.type, m.mode, m.size, m.linkname)
                for m in tarfile.open(out).getmembers() if m.name not in (".", "./")}
    original = {m.name.lstrip("./"): (m.type, m.mode, m.size, m.linkname)
                for m in tarfile.open(fileobj=__import__("io").BytesIO(tree_tar(busybox_rootfs)))
                .getmembers() if m.name not in (".", "./")}
    assert exported == original


def test_rm_untag_vs_delete_and_gc(store, tmpdir_berth, busybox_tar):
    shared = busybox_tar
    a, a_id = docker_archive([shared, tar_bytes([entry("a", data=b"a")])], ["one:1"])
    b, b_id = docker_archive([shared, tar_bytes([entry("b", data=b"b")])], ["two:1"])
    load(store, tmpdir_berth, a, "a.tar")
    load(store, tmpdir_berth, b, "b.tar")
    assert len(store.layers()) == 3  # the shared layer is unpacked once
    store.run("tag", "one:1", "other/one:2")
    # by id with two repositories: refused unless -f
    res = store.run("rm", a_id[7:19], check=False)
    assert res.returncode == 3 and "referenced in multiple repositories" in res.stderr
    assert store.json("rm", "other/one:2") == [{"Untagged": "other/one:2"}]
    a_layer = sha256(tar_bytes([entry("a", data=b"a")]))
    assert store.json("rm", "one:1") == [{"Untagged": "one:1"}, {"Deleted": a_id},
                                         {"Deleted": chain_id(sha256(shared), a_layer)}]
    assert len(store.layers()) == 2 and sha256(shared)[7:] in store.layers()
    # what is left is exactly what two:1 needs: its config, manifest, layer blobs
    assert b_id[7:] in store.blobs() and a_id[7:] not in store.blobs()
    assert len(store.blobs()) == 4
    store.json("rm", "two:1")
    assert store.ls() == [] and store.blobs() == [] and store.layers() == []
    # prune: dangling only, then all
    load(store, tmpdir_berth, a, "a.tar")
    load(store, tmpdir_berth, b, "b.tar")
    store.run("tag", "one:1", "x:1")
    store.json("rm", "one:1")  # still tagged x:1
    report = store.json("prune")
    assert report["ImagesDeleted"] is None
    report = store.json("prune", "-a")
    assert {d.get("Deleted") for d in report["ImagesDeleted"]} >= {a_id, b_id}
    assert store.blobs() == [] and store.layers() == []


def test_check_detects_corruption(store, tmpdir_berth, busybox_tar):
    archive, config_id = docker_archive([busybox_tar], ["busybox:latest"])
    load(store, tmpdir_berth, archive)
    assert store.run("check").returncode == 0
    # a flipped byte in a blob
    blob = store.root / "blobs" / "sha256" / config_id[7:]
    data = bytearray(blob.read_bytes())
    data[10] ^= 1
    blob.write_bytes(bytes(data))
    res = store.run("check", check=False)
    assert res.returncode == 1 and f"blob {config_id}" in res.stdout and "corrupt" in res.stdout
    blob.write_bytes(bytes(data[:10]) + bytes([data[10] ^ 1]) + bytes(data[11:]))
    assert store.run("check").returncode == 0
    # a changed file in an unpacked layer
    f = store.root / "layers" / sha256(busybox_tar)[7:] / "diff" / "etc" / "group"
    f.write_text(f.read_text() + "evil:x:0:\n")
    res = store.run("check", check=False)
    assert res.returncode == 1 and "/etc/group" in res.stdout


def test_manifest_index_parsing_and_platform(store, tmpdir_berth):
    h = lambda c: "sha256:" + c * 64
    index = {"schemaVersion": 2,
             "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
             "manifests": [
                 {"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                  "digest": h("a"), "size": 10, "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
                 {"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                  "digest": h("b"), "size": 10, "platform": {"os": "linux", "architecture": "amd64"}},
                 {"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                  "digest": h("c"), "size": 10, "platform": {"os": "linux", "architecture": "arm", "variant": "v6"}}]}
    p = _write(tmpdir_berth / "index.json", json.dumps(index).encode())
    assert f"selected {h('b')}" in store.run("manifest", p, "linux/amd64").stdout
    assert f"selected {h('a')}" in store.run("manifest", p, "linux/arm64").stdout
    assert f"selected {h('c')}" in store.run("manifest", p, "linux/arm/v7").stdout
    res = store.run("manifest", p, "linux/s390x", check=False)
    assert "no matching manifest for linux/s390x" in res.stderr


def test_one_process_per_data_root(store):
    """berthd and a test tool cannot both write a store: the second one is
    told who holds it, or waits with --wait."""
    import fcntl
    import time
    store.ls()  # creates the root
    with open(store.root / "lock", "r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        res = store.run("ls", check=False)
        assert res.returncode == 3 and "in use by another process" in res.stderr
        p = subprocess.Popen([str(store.tool), "--root", str(store.root), "--wait", "ls"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(0.3)
        assert p.poll() is None  # waiting for the lock
        fcntl.flock(f, fcntl.LOCK_UN)
        out, _ = p.communicate(timeout=30)
        assert p.returncode == 0 and json.loads(out) == []


def test_commit_zstd_layer_and_gzip_archive_load(store, store2, tmpdir_berth, busybox_tar):
    """zstd out on request: the new layer's blob is zstd and the generated
    manifest becomes an OCI one; a gzip'd docker-archive loads."""
    archive, _ = docker_archive([busybox_tar], ["busybox:latest"])
    load(store, tmpdir_berth, gzip.compress(archive), "archive.tar.gz")
    mp = mount(store, "z1", "busybox")
    try:
        (__import__("pathlib").Path(mp) / "zfile").write_bytes(b"z" * 100000)
        new_id = store.run("commit", "z1", "zimg:1", "zstd").stdout.strip()
    finally:
        store.run("snapshot-remove", "z1")
    top = store.json("inspect", "zimg:1")["RootFS"]["Layers"][-1]
    meta = json.loads((store.root / "layers" / top[7:] / "meta.json").read_text())
    assert meta["blob"]["media_type"] == "application/vnd.oci.image.layer.v1.tar+zstd"
    blob = (store.root / "blobs" / "sha256" / meta["blob"]["digest"][7:]).read_bytes()
    assert blob[:4] == b"\x28\xb5\x2f\xfd"
    manifests = []
    for b in store.blobs():
        try:
            doc = json.loads((store.root / "blobs" / "sha256" / b).read_bytes())
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(doc, dict) and doc.get("config", {}).get("digest") == new_id:
            manifests.append(doc)
    assert [m["mediaType"] for m in manifests] == ["application/vnd.oci.image.manifest.v1+json"]
    assert manifests[0]["layers"][-1]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+zstd"
    assert store.run("check").returncode == 0
    # save inflates it back to the exact tar (diff_id checked), load elsewhere
    out = tmpdir_berth / "z.tar"
    store.run("save", out, "zimg:1")
    store2.run("load", out)
    assert [i["Id"] for i in store2.ls()] == [new_id]
