"""Push to Debian's docker-registry and read back with skopeo: HEAD before
upload, cross-repository mount, monolithic and chunked uploads, the manifest
last, docker's push progress; and skopeo-written images pulled by berth."""
import hashlib
import json

import pytest

import regutil
from regutil import Image, Registry, events_with, skopeo_inspect, skopeo_push


@pytest.fixture(scope="module")
def reg(workdir):
    r = Registry(workdir, name="push-a").start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def reg2(workdir):
    r = Registry(workdir, name="push-b").start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def source(workdir, reg, bb_layer):
    img = Image([bb_layer, regutil.small_layer(100, size=200 << 10), regutil.small_layer(101)])
    layout = workdir / "push-src"
    regutil.write_oci_layout(layout, [img], "1")
    skopeo_push(layout, "1", f"{reg.host}/src/app:1", fmt="v2s2")
    return img


def registry_requests(reg, method, fragment):
    """Requests in docker-registry's access log ("GET /v2/... HTTP/1.1" 200)."""
    out = []
    for line in reg.log().splitlines():
        if f'"{method} ' in line and fragment in line:
            out.append(line)
    return out


def test_push_to_another_registry_then_skopeo_reads_it(tool, reg, reg2, source):
    tool.run("pull", f"{reg.host}/src/app:1")
    tool.run("tag", f"{reg.host}/src/app:1", f"{reg2.host}/team/app:1.2")
    res = tool.run("push", f"{reg2.host}/team/app:1.2", opts=["--chunk-bytes", str(64 << 10)])
    ev = res.events
    assert ev[0]["status"] == f"The push refers to repository [{reg2.host}/team/app]"
    diff_short = [l.diff_id.split(":")[1][:12] for l in source.layers]
    for s in diff_short:
        assert {"status": "Preparing", "progressDetail": {}, "id": s} in ev
        assert {"status": "Pushed", "progressDetail": {}, "id": s} in ev
    pushing = events_with(ev, "Pushing")
    assert pushing and all(e["progressDetail"]["current"] <= e["progressDetail"]["total"] for e in pushing)
    last = ev[-1]
    digest, size = res.result["digest"], res.result["size"]
    assert last["status"] == f"1.2: digest: {digest} size: {size}"
    assert last["aux"] == {"Tag": "1.2", "Digest": digest, "Size": size}
    # skopeo, a second client, reads back exactly what was pushed
    info = skopeo_inspect(f"{reg2.host}/team/app:1.2")
    assert info["Digest"] == digest
    assert info["Layers"] == [l.digest for l in source.layers]
    assert regutil.manifest_digest(reg2.port, "team/app", "1.2") == digest
    raw = skopeo_inspect(f"{reg2.host}/team/app:1.2", raw=True)
    assert raw["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert raw["config"]["digest"] == source.config_digest
    # the 200 KiB layer went up in 64 KiB PATCH chunks, the small ones in one PUT
    patches = registry_requests(reg2, "PATCH", "/v2/team/app/blobs/uploads/")
    assert len(patches) >= 4, patches
    # the pushed blobs are intact: skopeo copies them out and they hash right
    out = tool.root.parent / "skopeo-out"
    regutil.run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{reg2.host}/team/app:1.2",
                 f"dir:{out}"])
    for layer in source.layers:
        data = (out / layer.digest.split(":")[1]).read_bytes()
        assert "sha256:" + hashlib.sha256(data).hexdigest() == layer.digest


def test_push_again_says_layers_exist(tool, reg, reg2, source):
    tool.run("pull", f"{reg.host}/src/app:1")
    tool.run("tag", f"{reg.host}/src/app:1", f"{reg2.host}/team/again:1")
    tool.run("push", f"{reg2.host}/team/again:1")
    res = tool.run("push", f"{reg2.host}/team/again:1")
    assert len(events_with(res.events, "Layer already exists")) == len(source.layers)
    assert not events_with(res.events, "Pushing")


def test_cross_repository_mount(tool, reg, source):
    tool.run("pull", f"{reg.host}/src/app:1")
    tool.run("tag", f"{reg.host}/src/app:1", f"{reg.host}/other/app:2")
    res = tool.run("push", f"{reg.host}/other/app:2")
    mounted = events_with(res.events, "Mounted from src/app")
    assert len(mounted) == len(source.layers), res.events
    # the registry saw mount requests and no blob upload for this repository
    mounts = registry_requests(reg, "POST", "/v2/other/app/blobs/uploads/?mount=")
    assert len(mounts) == len(source.layers) + 1, mounts  # and the config
    assert not registry_requests(reg, "PUT", "/v2/other/app/blobs/uploads/")
    assert skopeo_inspect(f"{reg.host}/other/app:2")["Layers"] == [l.digest for l in source.layers]


def test_push_oci_image_keeps_oci_manifest(tool, workdir, reg, reg2):
    img = Image([regutil.small_layer(110)])
    layout = workdir / "push-oci"
    regutil.write_oci_layout(layout, [img], "1")
    skopeo_push(layout, "1", f"{reg.host}/src/oci:1")
    tool.run("pull", f"{reg.host}/src/oci:1")
    tool.run("tag", f"{reg.host}/src/oci:1", f"{reg2.host}/team/oci:1")
    res = tool.run("push", f"{reg2.host}/team/oci:1")
    raw = skopeo_inspect(f"{reg2.host}/team/oci:1", raw=True)
    assert raw["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert regutil.manifest_digest(reg2.port, "team/oci", "1") == res.result["digest"]


def test_push_what_is_not_there(tool, reg2):
    res = tool.run("push", f"{reg2.host}/team/nothing:1", check=False)
    assert res.returncode == 1
    assert "An image does not exist locally with the tag" in res.stderr
    res = tool.run("push", f"{reg2.host}/team/x@sha256:" + "a" * 64, check=False)
    assert res.returncode == 1


def test_push_layer_kept_under_another_compression(tool, workdir, reg, reg2, bb_layer):
    """The store keeps a layer as the blob it first came in; an image that
    names the same diff_id compressed otherwise is pushed with that blob."""
    import gzip as gz
    first = Image([bb_layer])
    regutil.write_oci_layout(workdir / "kept-a", [first], "1")
    skopeo_push(workdir / "kept-a", "1", f"{reg.host}/kept/a:1")
    other = regutil.Layer(bb_layer.tar)
    other.blob = gz.compress(bb_layer.tar, compresslevel=9, mtime=0)
    other.digest, other.size = regutil.sha256(other.blob), len(other.blob)
    assert other.digest != bb_layer.digest and other.diff_id == bb_layer.diff_id
    second = Image([other, regutil.small_layer(120)])
    regutil.write_oci_layout(workdir / "kept-b", [second], "1")
    skopeo_push(workdir / "kept-b", "1", f"{reg.host}/kept/b:1")
    tool.run("pull", f"{reg.host}/kept/a:1")
    res = tool.run("pull", f"{reg.host}/kept/b:1")
    assert len(events_with(res.events, "Already exists")) == 1
    tool.run("tag", f"{reg.host}/kept/b:1", f"{reg2.host}/kept/b:1")
    res = tool.run("push", f"{reg2.host}/kept/b:1")
    info = skopeo_inspect(f"{reg2.host}/kept/b:1")
    assert info["Layers"] == [bb_layer.digest, second.layers[1].digest]
    assert info["Digest"] == res.result["digest"]
    # it pulls back as the same image
    fresh = regutil.Tool(tool.root.parent / "store-fresh", tool.config_dir)
    assert fresh.run("pull", f"{reg2.host}/kept/b:1").result["image_id"] == second.config_digest


def test_push_zstd_on_request_and_gzip_by_default(tool, workdir, reg, reg2, source):
    # gzip (Docker schema 2) image pushed with --compression zstd: OCI manifest, zstd layers
    tool.run("pull", f"{reg.host}/src/app:1")
    tool.run("tag", f"{reg.host}/src/app:1", f"{reg2.host}/zstd/app:1")
    res = tool.run("push", f"{reg2.host}/zstd/app:1", opts=["--compression", "zstd"])
    raw = skopeo_inspect(f"{reg2.host}/zstd/app:1", raw=True)
    assert raw["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert raw["config"]["mediaType"] == "application/vnd.oci.image.config.v1+json"
    assert [l["mediaType"] for l in raw["layers"]] == ["application/vnd.oci.image.layer.v1.tar+zstd"] * 3
    assert regutil.manifest_digest(reg2.port, "zstd/app", "1") == res.result["digest"]
    out = tool.root.parent / "zstd-out"
    regutil.run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{reg2.host}/zstd/app:1", f"dir:{out}"])
    for desc, layer in zip(raw["layers"], source.layers):
        blob = (out / desc["digest"].split(":")[1]).read_bytes()
        assert blob[:4] == b"\x28\xb5\x2f\xfd"  # zstd frame magic
        assert desc["size"] == len(blob) and regutil.sha256(blob) == desc["digest"]
    # and berth pulls it back as the same image (same config, same diff_ids)
    fresh = regutil.Tool(tool.root.parent / "store-zstd", tool.config_dir)
    assert fresh.run("pull", f"{reg2.host}/zstd/app:1").result["image_id"] == source.config_digest
    # a plain-tar layer goes up gzip-compressed by default
    plain = Image([regutil.Layer(regutil.tar_of_files({"p/x": b"plain" * 1000}), compression="none")])
    regutil.write_oci_layout(workdir / "plain-src", [plain], "1")
    skopeo_push(workdir / "plain-src", "1", f"{reg.host}/src/plain:1")
    tool.run("pull", f"{reg.host}/src/plain:1")
    tool.run("tag", f"{reg.host}/src/plain:1", f"{reg2.host}/plain/app:1")
    tool.run("push", f"{reg2.host}/plain/app:1")
    raw = skopeo_inspect(f"{reg2.host}/plain/app:1", raw=True)
    assert raw["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    assert raw["layers"][0]["digest"] != plain.layers[0].digest
    assert fresh.run("pull", f"{reg2.host}/plain/app:1").result["image_id"] == plain.config_digest
    res = tool.run("push", f"{reg2.host}/plain/app:1", opts=["--compression", "brotli"], check=False)
    assert res.returncode == 1 and "use gzip or zstd" in res.stderr


def test_push_retries_transient_failures(tool, reg, reg2, source):
    proxy = regutil.FaultProxy(reg2.port).start()
    try:
        tool.run("pull", f"{reg.host}/src/app:1")
        tool.run("tag", f"{reg.host}/src/app:1", f"{proxy.host}/retry/app:1")
        proxy.fail_503["/blobs/uploads/"] = 2   # the upload POST, then its PUT
        proxy.fail_503["/manifests/1"] = 1
        res = tool.run("push", f"{proxy.host}/retry/app:1")
        assert proxy.fail_503 == {"/blobs/uploads/": 0, "/manifests/1": 0}
        assert regutil.manifest_digest(reg2.port, "retry/app", "1") == res.result["digest"]
    finally:
        proxy.stop()


def test_push_uploads_layers_in_parallel(tool, workdir, reg, reg2):
    img = Image([regutil.small_layer(130 + i, size=64 << 10) for i in range(4)])
    regutil.write_oci_layout(workdir / "par-src", [img], "1")
    skopeo_push(workdir / "par-src", "1", f"{reg.host}/src/par:1")
    tool.run("pull", f"{reg.host}/src/par:1")
    proxy = regutil.FaultProxy(reg2.port).start()
    try:
        proxy.upload_delay = 0.5
        tool.run("tag", f"{reg.host}/src/par:1", f"{proxy.host}/par/a:1")
        res = tool.run("push", f"{proxy.host}/par/a:1", opts=["--max-uploads", "3"])
        assert proxy.max_active_uploads == 3, proxy.max_active_uploads
        assert len(events_with(res.events, "Waiting")) == 1
        assert len(events_with(res.events, "Pushed")) == 4
        # every layer's events come in order: Preparing, Pushing…, Pushed
        for layer in img.layers:
            mine = [e["status"] for e in res.events if e.get("id") == layer.diff_id.split(":")[1][:12]]
            assert mine[0] == "Preparing" and mine[-1] == "Pushed", mine
        # one slot: one upload at a time (another image: nothing to mount)
        img2 = Image([regutil.small_layer(140 + i, size=64 << 10) for i in range(3)])
        regutil.write_oci_layout(workdir / "par-src2", [img2], "1")
        skopeo_push(workdir / "par-src2", "1", f"{reg.host}/src/par2:1")
        tool.run("pull", f"{reg.host}/src/par2:1")
        proxy.max_active_uploads = 0
        tool.run("tag", f"{reg.host}/src/par2:1", f"{proxy.host}/par/b:1")
        res = tool.run("push", f"{proxy.host}/par/b:1", opts=["--max-uploads", "1"])
        assert len(events_with(res.events, "Pushed")) == 3
        assert proxy.max_active_uploads == 1
        assert skopeo_inspect(f"{reg2.host}/par/a:1")["Layers"] == [l.digest for l in img.layers]
    finally:
        proxy.stop()
