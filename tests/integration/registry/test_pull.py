"""Pull from Debian's docker-registry (anonymous): by tag and by digest,
OCI and Docker v2 schema 2 manifests, OCI indexes with platform selection,
layers already present, parallel layers, retries with Range resume, digest
mismatches that keep nothing, kill -9 mid-pull then a re-pull."""
import json
import os
import signal
import subprocess
import time

import pytest

import regutil
from regutil import FaultProxy, Image, Registry, events_with, skopeo_inspect, skopeo_push


@pytest.fixture(scope="module")
def reg(workdir):
    r = Registry(workdir).start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def images(workdir, reg, bb_layer):
    """Images copied into the registry by skopeo (a second client)."""
    imgs = {}

    def push(name, img, fmt=None, index_of=None):
        layout = workdir / ("layout-" + name.replace("/", "-").replace(":", "-"))
        tag = name.split(":")[1]
        if index_of:
            regutil.write_oci_layout(layout, index_of, tag, as_index=True)
            skopeo_push(layout, tag, f"{reg.host}/{name}", all_images=True)
        else:
            regutil.write_oci_layout(layout, [img], tag)
            skopeo_push(layout, tag, f"{reg.host}/{name}", fmt=fmt)
        imgs[name] = img

    base = Image([bb_layer, regutil.small_layer(0)])
    push("test/busybox:1", base)
    push("test/busybox:v2s2", base, fmt="v2s2")
    push("test/app:1", Image([bb_layer, regutil.small_layer(1), regutil.small_layer(2)]))
    push("test/many:1", Image([regutil.small_layer(10 + i, size=1 << 20) for i in range(5)]))
    amd = Image([bb_layer, regutil.small_layer(20)], arch="amd64")
    arm = Image([regutil.small_layer(21)], arch="arm64")
    push("test/multi:1", amd if regutil.host_arch() == "amd64" else arm, index_of=[amd, arm])
    imgs["multi-amd64"], imgs["multi-arm64"] = amd, arm
    # a small good layer and a big one whose damage shows only at its end
    push("test/corrupt:1", Image([regutil.small_layer(31), regutil.small_layer(30, size=3 << 20)]))
    push("test/tamper:1", Image([regutil.small_layer(40, size=300 << 10)]))
    push("test/resume:1", Image([regutil.small_layer(50, size=2 << 20)]))
    push("test/noresume:1", Image([regutil.small_layer(51, size=2 << 20)]))
    push("test/slow:1", Image([regutil.small_layer(60 + i, size=1 << 20) for i in range(3)]))
    # broken images a registry happily serves: a config with too few
    # diff_ids, and one whose diff_id is not the layer's
    short = Image([regutil.small_layer(70), regutil.small_layer(71)])
    short.config["rootfs"]["diff_ids"] = short.config["rootfs"]["diff_ids"][:1]
    short.config_bytes = json.dumps(short.config, sort_keys=True).encode()
    short.config_digest = regutil.sha256(short.config_bytes)
    push("test/shortcfg:1", short)
    lying = Image([regutil.small_layer(72)])
    lying.config["rootfs"]["diff_ids"] = ["sha256:" + "1" * 64]
    lying.config_bytes = json.dumps(lying.config, sort_keys=True).encode()
    lying.config_digest = regutil.sha256(lying.config_bytes)
    push("test/lying:1", lying)
    return imgs


@pytest.fixture
def proxy(reg):
    p = FaultProxy(reg.port).start()
    yield p
    p.stop()


def assert_store_has_image(tool, img, tag_ref):
    listed = tool.images()
    ids = [i["id"] for i in listed]
    assert img.config_digest in ids, listed
    entry = listed[ids.index(img.config_digest)]
    assert tag_ref in entry["repo_tags"], entry
    assert entry["diff_ids"] == [l.diff_id for l in img.layers]
    for layer in img.layers:
        assert tool.layer_dir(layer.diff_id).is_dir(), layer.diff_id
    return entry


def assert_store_tmp_empty(tool):
    tmp = tool.root / "tmp"
    left = list(tmp.iterdir()) if tmp.exists() else []
    assert left == [], left


def test_pull_by_tag_streams_docker_progress(tool, reg, images, bb_layer):
    img = images["test/busybox:1"]
    res = tool.run("pull", f"{reg.host}/test/busybox:1")
    assert res.result["image_id"] == img.config_digest
    assert res.result["reference"] == f"{reg.host}/test/busybox:1"
    ev = res.events
    assert ev[0] == {"status": "Pulling from test/busybox", "id": "1"}
    short = [l.digest.split(":")[1][:12] for l in img.layers]
    for s in short:
        assert {"status": "Pulling fs layer", "progressDetail": {}, "id": s} in ev
        assert {"status": "Verifying Checksum", "progressDetail": {}, "id": s} in ev
        assert {"status": "Download complete", "progressDetail": {}, "id": s} in ev
        assert {"status": "Pull complete", "progressDetail": {}, "id": s} in ev
    for e in events_with(ev, "Downloading") + events_with(ev, "Extracting"):
        assert e["id"] in short
        assert 0 <= e["progressDetail"]["current"] <= e["progressDetail"]["total"]
        assert e["progress"].startswith("[")
    assert ev[-2]["status"] == f"Digest: {res.result['digest']}"
    assert ev[-1]["status"] == f"Status: Downloaded newer image for {reg.host}/test/busybox:1"
    # the manifest digest is what the registry serves for the tag
    assert res.result["digest"] == regutil.manifest_digest(reg.port, "test/busybox", "1")
    assert res.result["digest"] == skopeo_inspect(f"{reg.host}/test/busybox:1")["Digest"]
    entry = assert_store_has_image(tool, img, f"{reg.host}/test/busybox:1")
    assert f"{reg.host}/test/busybox@{res.result['digest']}" in entry["repo_digests"]
    # the layer is unpacked for real: the busybox binary and its applet links
    root = tool.layer_dir(bb_layer.diff_id)
    assert (root / "bin/busybox").stat().st_size > 100000
    assert os.readlink(root / "bin/sh") == "/bin/busybox"
    assert_store_tmp_empty(tool)


def test_pull_twice_is_up_to_date(tool, reg, images):
    tool.run("pull", f"{reg.host}/test/busybox:1")
    res = tool.run("pull", f"{reg.host}/test/busybox:1")
    assert res.result["up_to_date"] is True
    assert res.events[-1]["status"] == f"Status: Image is up to date for {reg.host}/test/busybox:1"
    assert len(events_with(res.events, "Already exists")) == 2
    assert not events_with(res.events, "Downloading")


def test_pull_by_digest_and_docker_schema2(tool, reg, images):
    img = images["test/busybox:v2s2"]
    raw = skopeo_inspect(f"{reg.host}/test/busybox:v2s2", raw=True)
    assert raw["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    digest = skopeo_inspect(f"{reg.host}/test/busybox:v2s2")["Digest"]
    res = tool.run("pull", f"{reg.host}/test/busybox@{digest}")
    assert res.result["image_id"] == img.config_digest
    assert res.result["digest"] == digest
    assert res.events[0]["id"] == digest
    listed = tool.images()
    assert any(f"{reg.host}/test/busybox@{digest}" in i["repo_digests"] for i in listed), listed
    # a digest that the repository does not have
    bad = "sha256:" + "0" * 64
    res = tool.run("pull", f"{reg.host}/test/busybox@{bad}", check=False)
    assert res.returncode == 1
    assert "not found" in res.stderr


def test_pull_skips_layers_already_present(tool, reg, images, bb_layer, proxy):
    tool.run("pull", f"{proxy.host}/test/busybox:1")
    assert len(proxy.blob_gets(bb_layer.digest)) == 1
    res = tool.run("pull", f"{proxy.host}/test/app:1")
    bb_short = bb_layer.digest.split(":")[1][:12]
    assert {"status": "Already exists", "progressDetail": {}, "id": bb_short} in res.events
    assert len(events_with(res.events, "Pull complete")) == 2
    # the shared layer was not downloaded again
    assert len(proxy.blob_gets(bb_layer.digest)) == 1
    assert_store_has_image(tool, images["test/app:1"], f"{proxy.host}/test/app:1")


def test_pull_downloads_layers_in_parallel(tool, reg, images, proxy):
    img = images["test/many:1"]
    proxy.delay_per_chunk = 0.01  # 1 MiB layers take ~0.16 s each
    res = tool.run("pull", f"{proxy.host}/test/many:1", opts=["--max-downloads", "3"])
    # five layers, at most three at once, and truly at once
    assert proxy.max_active_blobs == 3, proxy.max_active_blobs
    assert len(events_with(res.events, "Waiting")) == 2
    assert len(events_with(res.events, "Pull complete")) == 5
    assert_store_has_image(tool, img, f"{proxy.host}/test/many:1")
    for layer in img.layers:
        name = [p for p in tool.layer_dir(layer.diff_id).iterdir()][0].name
        data = (tool.layer_dir(layer.diff_id) / name / "data.bin").read_bytes()
        assert len(data) == 1 << 20


def test_pull_index_selects_platform(tool, reg, images):
    host = images["multi-" + regutil.host_arch()]
    res = tool.run("pull", f"{reg.host}/test/multi:1")
    assert res.result["image_id"] == host.config_digest
    # the repo digest recorded is the index's (what `docker pull` prints)
    index_digest = regutil.manifest_digest(reg.port, "test/multi", "1")
    assert res.result["digest"] == index_digest
    arm = images["multi-arm64"]
    res = tool.run("pull", f"{reg.host}/test/multi:1", opts=["--platform", "linux/arm64"])
    assert res.result["image_id"] == arm.config_digest
    res = tool.run("pull", f"{reg.host}/test/multi:1", opts=["--platform", "linux/s390x"], check=False)
    assert res.returncode == 1
    assert "no matching manifest for linux/s390x" in res.stderr
    # a single-platform image asked for another platform is refused too
    res = tool.run("pull", f"{reg.host}/test/busybox:1", opts=["--platform", "linux/s390x"], check=False)
    assert res.returncode == 1
    assert "does not match the specified platform: wanted linux/s390x" in res.stderr, res.stderr
    res = tool.run("pull", f"{reg.host}/test/busybox:1", opts=["--platform", "linux/" + regutil.host_arch()])
    assert res.result["image_id"] == images["test/busybox:1"].config_digest


def test_corrupted_blob_in_registry_fails_and_keeps_nothing(tool, reg, images):
    img = images["test/corrupt:1"]
    victim = img.layers[1]
    path = reg.blob_path(victim.digest)
    original = path.read_bytes()
    data = bytearray(original)
    data[len(data) * 9 // 10] ^= 0x55
    path.write_bytes(bytes(data))
    try:
        res = tool.run("pull", f"{reg.host}/test/corrupt:1", check=False)
    finally:
        path.write_bytes(original)
    assert res.returncode == 1
    assert victim.digest in res.stderr and "mismatch" in res.stderr, res.stderr
    assert tool.images() == []
    # nothing of the image is kept: not the bad layer, not the good one
    for layer in img.layers:
        assert not tool.layer_dir(layer.diff_id).exists(), layer.diff_id
    assert_store_tmp_empty(tool)
    # the same pull works once the registry serves the right bytes
    tool.run("pull", f"{reg.host}/test/corrupt:1")
    assert_store_has_image(tool, img, f"{reg.host}/test/corrupt:1")


def test_tampered_or_oversized_blob_is_refused(tool, reg, images, proxy):
    img = images["test/tamper:1"]
    layer = img.layers[0]
    proxy.tamper_blob.add(layer.digest)
    res = tool.run("pull", f"{proxy.host}/test/tamper:1", check=False)
    assert res.returncode == 1, res.stdout
    assert layer.digest in res.stderr
    assert tool.images() == []
    assert not tool.layer_dir(layer.diff_id).exists()
    proxy.tamper_blob.clear()
    proxy.extra_bytes.add(layer.digest)
    res = tool.run("pull", f"{proxy.host}/test/tamper:1", check=False)
    assert res.returncode == 1
    assert "more than" in res.stderr, res.stderr
    assert tool.images() == []
    assert_store_tmp_empty(tool)


def test_transient_errors_retry_and_resume_with_range(tool, reg, images, proxy):
    img = images["test/resume:1"]
    layer = img.layers[0]
    proxy.fail_503["/manifests/"] = 2
    proxy.reset_after[layer.digest] = 700_000
    res = tool.run("pull", f"{proxy.host}/test/resume:1")
    assert res.result["image_id"] == img.config_digest
    gets = proxy.blob_gets(layer.digest)
    assert len(gets) == 2, gets
    assert "Range" not in gets[0][2]
    # the second request resumes where the reset cut the first one
    start = int(gets[1][2]["Range"].split("=")[1].rstrip("-"))
    assert 0 < start <= 700_000
    assert_store_has_image(tool, img, f"{proxy.host}/test/resume:1")


def test_resume_when_the_registry_ignores_range(tool, reg, images, proxy):
    img = images["test/noresume:1"]
    layer = img.layers[0]
    proxy.ignore_range = True
    proxy.reset_after[layer.digest] = 500_000
    tool.run("pull", f"{proxy.host}/test/noresume:1")
    assert len(proxy.blob_gets(layer.digest)) == 2
    assert_store_has_image(tool, img, f"{proxy.host}/test/noresume:1")


def test_kill9_mid_pull_then_repull_completes(tool, reg, images, proxy):
    img = images["test/slow:1"]
    proxy.delay_per_chunk = 0.05  # ~0.8 s per 1 MiB layer
    p = subprocess.Popen(tool.cmd("pull", f"{proxy.host}/test/slow:1"), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        for line in p.stdout:
            if json.loads(line).get("status") == "Downloading":
                break
        time.sleep(0.3)
        assert p.poll() is None
        os.kill(p.pid, signal.SIGKILL)
    finally:
        p.wait()
        p.stdout.close()
        p.stderr.close()
    assert p.returncode == -signal.SIGKILL
    assert tool.images() == []
    proxy.delay_per_chunk = 0
    res = tool.run("pull", f"{proxy.host}/test/slow:1")
    assert res.result["image_id"] == img.config_digest
    assert_store_has_image(tool, img, f"{proxy.host}/test/slow:1")
    assert_store_tmp_empty(tool)


def test_kept_bytes_that_do_not_verify_are_downloaded_again(tool, reg, images, proxy):
    """A partial download whose bytes are not the blob's (a torn write after
    a power loss) is resumed, fails its digest, and is fetched again from
    the first byte — once, and the pull succeeds."""
    img = images["test/resume:1"]
    layer = img.layers[0]
    partial = tool.root / "partial" / layer.digest[7:]
    partial.parent.mkdir(parents=True, exist_ok=True)
    bad = bytearray(layer.blob[:600_000])
    bad[300_000] ^= 0x40
    partial.write_bytes(bytes(bad))
    res = tool.run("pull", f"{proxy.host}/test/resume:1")
    assert res.result["image_id"] == img.config_digest
    gets = proxy.blob_gets(layer.digest)
    assert [g[2].get("Range") for g in gets] == ["bytes=600000-", None], gets
    assert "did not verify" in res.stderr, res.stderr
    assert_store_has_image(tool, img, f"{proxy.host}/test/resume:1")
    assert not partial.exists()


def test_canceled_download_is_resumed_by_the_next_pull(tool, reg, images, proxy):
    """A pull stopped half-way (berthd's client went away) keeps what
    arrived of a layer; the next pull asks only for the rest."""
    img = images["test/noresume:1"]
    layer = img.layers[0]
    proxy.delay_per_chunk = 0.03
    res = tool.run("pull", f"{proxy.host}/test/noresume:1", opts=["--cancel-after", "6"], check=False)
    assert res.returncode == 1 and "cancel" in res.stderr.lower(), res.stderr
    partial = tool.root / "partial" / layer.digest[7:]
    assert partial.exists(), res.stdout
    kept = partial.stat().st_size
    assert 0 < kept < layer.size and partial.read_bytes() == layer.blob[:kept]
    assert tool.images() == []
    proxy.delay_per_chunk = 0
    res = tool.run("pull", f"{proxy.host}/test/noresume:1")
    assert res.result["image_id"] == img.config_digest
    assert proxy.blob_gets(layer.digest)[-1][2].get("Range") == f"bytes={kept}-"
    assert not partial.exists()
    assert_store_has_image(tool, img, f"{proxy.host}/test/noresume:1")


def test_stale_partial_downloads_are_swept(tool, reg, images):
    """Open sweeps partial downloads older than a day and those whose blob
    is complete; fresh ones stay for a resume."""
    img = images["test/busybox:1"]
    tool.run("pull", f"{reg.host}/test/busybox:1")
    part = tool.root / "partial"
    old, done, fresh = part / ("a" * 64), part / img.layers[0].digest[7:], part / ("b" * 64)
    for p in (old, done, fresh):
        p.write_bytes(b"x" * 100)
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    tool.images()  # opens the store
    assert sorted(p.name for p in part.iterdir()) == [fresh.name]


def test_bad_references_and_missing_things(tool, reg, images):
    cases = [
        (f"{reg.host}/Test/upper:1", "must be lowercase"),
        (f"{reg.host}/test/busybox:bad tag", "invalid reference format"),
        (f"{reg.host}/test/nothere:1", "not found"),
        (f"{reg.host}/test/busybox:nosuchtag", "not found"),
        ("127.0.0.1:1/test/x:1", "127.0.0.1:1"),
    ]
    for ref, msg in cases:
        res = tool.run("pull", ref, check=False)
        assert res.returncode == 1, ref
        assert msg in res.stderr, (ref, res.stderr)
    assert tool.images() == []


def test_catalog_and_tags(tool, reg, images):
    res = tool.run("catalog", reg.host)
    assert "test/busybox" in res.result and "test/many" in res.result
    res = tool.run("tags", f"{reg.host}/test/busybox")
    assert sorted(res.result) == ["1", "v2s2"]


def test_manifest_that_does_not_match_its_digest_is_refused(tool, reg, images, proxy):
    proxy.tamper_manifest = True
    res = tool.run("pull", f"{proxy.host}/test/busybox:1", check=False)
    assert res.returncode == 1
    assert "digest mismatch" in res.stderr, res.stderr
    digest = regutil.manifest_digest(reg.port, "test/busybox", "1")
    res = tool.run("pull", f"{proxy.host}/test/busybox@{digest}", check=False)
    assert res.returncode == 1
    assert "digest mismatch" in res.stderr, res.stderr
    assert tool.images() == []


def test_broken_docker_config_does_not_stop_anonymous_pulls(tool, reg, images):
    (tool.config_dir / "config.json").write_text("{not json")
    res = tool.run("pull", f"{reg.host}/test/busybox:1")
    assert res.result["image_id"] == images["test/busybox:1"].config_digest
    assert "ignoring credentials" in res.stderr and "config.json" in res.stderr
    # login must not overwrite what it cannot read
    res = tool.run("login", reg.host, opts=["-u", "a", "-p", "b"], check=False)
    assert res.returncode == 1
    assert "config.json" in res.stderr, res.stderr
    assert (tool.config_dir / "config.json").read_text() == "{not json"


def test_canceled_pull_keeps_nothing(tool, reg, images, proxy):
    """The progress callback can stop a pull (berthd's API client went
    away): it fails as canceled, stores no image and leaves no work behind."""
    img = images["test/slow:1"]
    proxy.delay_per_chunk = 0.02
    for after in (0, 3, 8):
        res = tool.run("pull", f"{proxy.host}/test/slow:1", opts=["--cancel-after", str(after)],
                       check=False)
        assert res.returncode == 1, (after, res.stdout)
        assert "cancel" in res.stderr.lower(), res.stderr
        assert tool.images() == []
        assert_store_tmp_empty(tool)
    proxy.delay_per_chunk = 0
    assert tool.run("pull", f"{proxy.host}/test/slow:1").result["image_id"] == img.config_digest


def test_broken_images_are_refused(tool, reg, images, proxy):
    res = tool.run("pull", f"{reg.host}/test/shortcfg:1", check=False)
    assert res.returncode == 1
    assert "1 rootfs.diff_ids for 2 layers" in res.stderr, res.stderr
    res = tool.run("pull", f"{reg.host}/test/lying:1", check=False)
    assert res.returncode == 1
    assert "sha256:" + "1" * 64 in res.stderr, res.stderr
    assert tool.images() == []
    assert not tool.layer_dir(images["test/lying:1"].layers[0].diff_id).exists()
    assert_store_tmp_empty(tool)
    # a manifest bigger than docker's 4 MiB limit is not read into memory
    proxy.huge_manifest = True
    res = tool.run("pull", f"{proxy.host}/test/busybox:1", check=False)
    assert res.returncode == 1
    assert "larger than" in res.stderr, res.stderr
