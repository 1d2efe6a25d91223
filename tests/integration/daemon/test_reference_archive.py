"""berthd and the reference engine's docker-archives, through the stock
docker CLI: the archive Debian's docker.io 20.10 wrote
(tests/integration/image/fixtures/docker-save-20.10.tar) loads into berthd
with the engine's id, tags, layers, config and history, and runs with its
whiteouts in effect; berthd's save loads back into berthd. The optional
differential tests start the reference dockerd (Debian's docker.io) on temp
paths and move archives both ways; they skip when dockerd is not installed."""
import gzip
import json
import pathlib
import subprocess
import tarfile
import tempfile

import pytest

from berthtest import TMP_PREFIX, make_busybox_rootfs
from refengine import start_or_skip

FIXTURE = (pathlib.Path(__file__).resolve().parents[1] / "image" / "fixtures" /
           "docker-save-20.10.tar")
IMAGE_ID = "sha256:38ed6ce5ff5548d9023b7a54ba84678426c7928e37d02d57a544971e197b3bb9"
TAG = "fixture/busybox:two-layers"
DIFF_IDS = ["sha256:1a3487747d680d2bb56b1ab15f2089eccf2058f85689a19850c2dfb0b3e4becf",
            "sha256:a38dc6c869d992f65e7a95bc29e22bcbc3bbca7ec4f1486da53c582020fad725"]
HELLO = "made by docker 20.10 classic builder\n"

# the inspect fields clients rely on (docker CLI, compose, docker-py)
CLIENT_FIELDS = ("Id", "RepoTags", "RepoDigests", "Created", "Size", "Architecture", "Os")
CLIENT_CONFIG_FIELDS = ("Cmd", "Env", "Labels")


def inspect(engine, ref):
    return json.loads(engine.docker("image", "inspect", ref).stdout)[0]


def history(engine, ref):
    out = engine.docker("history", "--no-trunc", "--format",
                        "{{json .CreatedBy}}\t{{.Size}}\t{{json .Comment}}", ref).stdout
    return [tuple(line.split("\t")) for line in out.splitlines()]


def check_fixture_image(engine, size=True):
    """What the reference engine itself reports for the fixture's image."""
    info = inspect(engine, TAG)
    assert info["Id"] == IMAGE_ID
    assert info["RepoTags"] == [TAG]
    assert info["RootFS"]["Layers"] == DIFF_IDS
    assert info["Config"]["Cmd"] == ["cat", "/fixture/hello.txt"]
    assert info["Config"]["Env"] == ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "FIXTURE_ENV=two-layers"]
    assert info["Config"]["Labels"] == {"org.example.fixture": "docker-save-20.10", "tier": "test"}
    assert info["Architecture"] == "amd64" and info["Os"] == "linux"
    assert info["Created"] == "2026-11-26T02:52:35.308563922Z"
    if size:
        assert info["Size"] == 1985684
    return info


def check_runs_with_whiteouts(engine):
    assert engine.docker("run", "--rm", "--network", "none", TAG).stdout == HELLO
    res = engine.docker("run", "--rm", "--network", "none", TAG, "sh", "-c",
                        "ls -A /var; test -e /usr/bin/wget || echo wget-gone; "
                        "test -L /usr/bin/wc && echo wc-kept; echo $FIXTURE_ENV")
    assert res.stdout == "wget-gone\nwc-kept\ntwo-layers\n"


# ------------------------------------------------------- berthd only --

def test_docker_load_of_the_reference_archive(berthd, tmpdir_berth):
    out = berthd.docker("load", "-i", FIXTURE).stdout
    assert out.strip() == f"Loaded image: {TAG}"
    check_fixture_image(berthd, size=False)  # see test_image_size_counts_symlinks
    assert inspect(berthd, TAG)["RepoDigests"] == []
    hist = history(berthd, TAG)
    assert [h[0] for h in hist] == [
        json.dumps('/bin/sh -c #(nop)  CMD ["cat" "/fixture/hello.txt"]'),
        json.dumps("/bin/sh -c #(nop)  LABEL org.example.fixture=docker-save-20.10 tier=test"),
        json.dumps("/bin/sh -c #(nop)  ENV FIXTURE_ENV=two-layers PATH=/usr/sbin:/usr/bin:/sbin:/bin"),
        json.dumps('/bin/sh -c mkdir -p /fixture && echo "made by docker 20.10 classic builder" > '
                   "/fixture/hello.txt && rm -r /var/www /usr/bin/wget"),
        json.dumps(""),
    ]
    assert [h[1] for h in hist][:4] == ["0B", "0B", "0B", "37B"]
    assert hist[4][2] == json.dumps("Imported from -")
    check_runs_with_whiteouts(berthd)

    # berthd's save, loaded back after rmi: same id, same tag
    berthd.docker("tag", TAG, "fixture/busybox:second")
    saved = tmpdir_berth / "berth-save.tar"
    berthd.docker("save", "-o", saved, TAG, "fixture/busybox:second")
    with tarfile.open(saved) as t:
        manifest = json.load(t.extractfile("manifest.json"))
    assert len(manifest) == 1
    assert sorted(manifest[0]["RepoTags"]) == sorted([TAG, "fixture/busybox:second"])
    assert manifest[0]["Config"].removesuffix(".json").split("/")[-1] == IMAGE_ID[7:]
    out = berthd.docker("rmi", TAG, "fixture/busybox:second").stdout
    assert f"Deleted: {IMAGE_ID}" in out
    assert berthd.docker("images", "-aq").stdout.split() == []
    out = berthd.docker("load", "-i", saved).stdout.splitlines()
    assert sorted(out) == sorted([f"Loaded image: {TAG}", "Loaded image: fixture/busybox:second"])
    info = inspect(berthd, IMAGE_ID)
    assert sorted(info["RepoTags"]) == sorted([TAG, "fixture/busybox:second"])
    assert info["RootFS"]["Layers"] == DIFF_IDS


def test_image_size_counts_symlinks_as_docker_does(berthd):
    berthd.docker("load", "-i", FIXTURE)
    assert inspect(berthd, TAG)["Size"] == 1985684


# the Config keys docker 20.10's `docker import` writes (seen in the
# differential test below); docker's ContainerConfig has the same keys
IMPORT_CONFIG_KEYS = sorted([
    "AttachStderr", "AttachStdin", "AttachStdout", "Cmd", "Domainname", "Entrypoint", "Env",
    "Hostname", "Image", "Labels", "OnBuild", "OpenStdin", "StdinOnce", "Tty", "User",
    "Volumes", "WorkingDir"])


def test_imported_image_config_has_every_key_docker_writes(berthd, tmpdir_berth):
    rootfs = make_busybox_rootfs(tmpdir_berth / "rootfs")
    tar = tmpdir_berth / "rootfs.tar"
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tar), "."], check=True)
    berthd.docker("import", "-c", 'CMD ["sh"]', tar, "shape/keys:1")
    info = inspect(berthd, "shape/keys:1")
    assert sorted(info["Config"]) == IMPORT_CONFIG_KEYS
    assert sorted(info["ContainerConfig"]) == IMPORT_CONFIG_KEYS
    assert info["Config"]["Entrypoint"] is None and info["Config"]["WorkingDir"] == ""


def test_docker_load_of_the_reference_archive_gzipped_from_stdin(berthd):
    data = gzip.compress(FIXTURE.read_bytes(), compresslevel=1)
    res = berthd.docker("load", input=data, binary_output=True)
    assert res.stdout.decode().strip() == f"Loaded image: {TAG}"
    assert inspect(berthd, TAG)["Id"] == IMAGE_ID


def test_docker_load_of_a_damaged_reference_archive_keeps_nothing(berthd, tmpdir_berth):
    data = bytearray(FIXTURE.read_bytes())
    # flip a byte inside the RUN layer's file contents: its diff id no longer
    # matches the config, so the image must not appear
    pos = bytes(data).find(HELLO.encode())
    assert pos > 0
    data[pos] ^= 0x20
    bad = tmpdir_berth / "bad.tar"
    bad.write_bytes(bytes(data))
    res = berthd.docker("load", "-i", bad, check=False)
    assert res.returncode != 0
    assert "sha256" in (res.stderr + res.stdout).lower() or "digest" in (res.stderr + res.stdout).lower(), res
    assert berthd.docker("images", "-aq").stdout.split() == []


# ------------------------------------------------- reference engine --

@pytest.fixture(scope="module")
def ref_engine():
    ref = start_or_skip(pathlib.Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "ref-")))
    yield ref
    errors = ref.stop()
    assert not errors, errors


@pytest.fixture(scope="module")
def ref_can_run(ref_engine):
    """Whether the reference engine runs containers in this sandbox (it did
    on the development machine, with --network none)."""
    ref_engine.docker("load", "-i", FIXTURE)
    res = ref_engine.docker("run", "--rm", "--network", "none", TAG, check=False)
    return res.returncode == 0 and res.stdout == HELLO


def test_reference_engine_reads_the_fixture_as_recorded(ref_engine, ref_can_run):
    """The fixture's constants are what a live docker.io says too."""
    ref_engine.docker("load", "-i", FIXTURE)
    check_fixture_image(ref_engine)
    if ref_can_run:
        check_runs_with_whiteouts(ref_engine)


def test_berth_save_loads_into_the_reference_engine(berthd, ref_engine, ref_can_run, tmpdir_berth):
    # 1. the engine's own image, passed through berth: same id, same tags
    berthd.docker("load", "-i", FIXTURE)
    berthd.docker("tag", TAG, "via-berth/busybox:retagged")
    saved = tmpdir_berth / "from-berth.tar"
    berthd.docker("save", "-o", saved, TAG, "via-berth/busybox:retagged")
    ref_engine.docker("rmi", "-f", TAG, check=False)
    out = ref_engine.docker("load", "-i", saved).stdout
    assert f"Loaded image: {TAG}" in out and "Loaded image: via-berth/busybox:retagged" in out
    info = inspect(ref_engine, IMAGE_ID)
    assert sorted(info["RepoTags"]) == [TAG, "via-berth/busybox:retagged"]
    assert info["RootFS"]["Layers"] == DIFF_IDS
    if ref_can_run:
        check_runs_with_whiteouts(ref_engine)
    ref_engine.docker("rmi", "via-berth/busybox:retagged")

    # 2. an image berth made itself (docker import with changes)
    rootfs = make_busybox_rootfs(tmpdir_berth / "rootfs")
    tar = tmpdir_berth / "rootfs.tar"
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tar), "."], check=True)
    made = berthd.docker("import", "-c", 'CMD ["echo", "made-by-berth"]', "-c", "ENV B=2",
                         "-c", "LABEL origin=berth", tar, "berth-made/busybox:v1").stdout.strip()
    saved2 = tmpdir_berth / "berth-made.tar"
    berthd.docker("save", "-o", saved2, "berth-made/busybox:v1")
    out = ref_engine.docker("load", "-i", saved2).stdout
    assert out.strip() == "Loaded image: berth-made/busybox:v1"
    b, r = inspect(berthd, made), inspect(ref_engine, "berth-made/busybox:v1")
    assert r["Id"] == made
    for f in ("RepoTags", "Created", "Architecture", "Os"):
        assert r[f] == b[f], f
    assert r["RootFS"]["Layers"] == b["RootFS"]["Layers"]
    for f in CLIENT_CONFIG_FIELDS:
        assert r["Config"][f] == b["Config"][f], f
    assert r["Size"] == b["Size"]
    if ref_can_run:
        res = ref_engine.docker("run", "--rm", "--network", "none", "berth-made/busybox:v1")
        assert res.stdout == "made-by-berth\n"
    ref_engine.docker("rmi", "berth-made/busybox:v1")


def test_reference_engine_save_loads_into_berth_live(berthd, ref_engine, ref_can_run, tmpdir_berth):
    """The same as the fixture, made now by the live engine: an import and
    (when it can run containers) a classic-builder layer with a whiteout."""
    rootfs = make_busybox_rootfs(tmpdir_berth / "rootfs")
    tar = tmpdir_berth / "rootfs.tar"
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tar), "."], check=True)
    ref_engine.docker("import", "-c", 'CMD ["sh"]', tar, "live/busybox:base")
    ref = "live/busybox:base"
    if ref_can_run:
        ctx = tmpdir_berth / "ctx"
        ctx.mkdir()
        (ctx / "Dockerfile").write_text(
            "FROM live/busybox:base\n"
            "RUN echo live > /live.txt && rm -r /home\n"
            "ENV LIVE=1\nLABEL live=yes\nCMD [\"cat\", \"/live.txt\"]\n")
        ref_engine.docker("build", "-q", "-t", "live/busybox:built", ctx)
        ref = "live/busybox:built"
    saved = tmpdir_berth / "from-ref.tar"
    ref_engine.docker("save", "-o", saved, ref)
    r = inspect(ref_engine, ref)
    out = berthd.docker("load", "-i", saved).stdout
    assert out.strip() == f"Loaded image: {ref}"
    b = inspect(berthd, ref)
    assert b["Id"] == r["Id"]
    assert b["RepoTags"] == [ref]
    assert b["RootFS"]["Layers"] == r["RootFS"]["Layers"]
    for f in CLIENT_CONFIG_FIELDS:
        assert b["Config"][f] == r["Config"][f], f
    assert b["Created"] == r["Created"]
    assert r["Size"] == b["Size"]
    if ref_can_run:
        assert berthd.docker("run", "--rm", "--network", "none", ref).stdout == "live\n"
        res = berthd.docker("run", "--rm", "--network", "none", ref, "sh", "-c",
                            "test -e /home || echo home-gone; echo $LIVE")
        assert res.stdout == "home-gone\n1\n"
        assert len(history(berthd, ref)) == len(history(ref_engine, ref))
        ref_engine.docker("rmi", "live/busybox:built")
    ref_engine.docker("rmi", "live/busybox:base")


def _key_paths(obj, prefix=""):
    keys = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            keys.add(prefix + k)
            if k not in ("Labels", "Data", "ExposedPorts", "Volumes"):
                keys |= _key_paths(v, prefix + k + ".")
    return keys


def test_import_and_inspect_shapes_match_the_reference(berthd, ref_engine, tmpdir_berth):
    """docker import of the same tar with the same changes into both; the
    fields clients rely on agree, other key differences are printed."""
    rootfs = make_busybox_rootfs(tmpdir_berth / "rootfs")
    tar = tmpdir_berth / "rootfs.tar"
    subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tar), "."], check=True)
    changes = ["-c", 'CMD ["sh"]', "-c", "ENV A=1", "-c", "LABEL tier=base"]
    berthd.docker("import", *changes, tar, "shape/busybox:1")
    ref_engine.docker("import", *changes, tar, "shape/busybox:1")
    b, r = inspect(berthd, "shape/busybox:1"), inspect(ref_engine, "shape/busybox:1")
    bk, rk = _key_paths(b), _key_paths(r)
    print("inspect keys only the reference engine has:", sorted(rk - bk))
    print("inspect keys only berth has:", sorted(bk - rk))
    for f in ("RepoTags", "RepoDigests", "Architecture", "Os"):
        assert b[f] == r[f], (f, b[f], r[f])
    assert type(b["Created"]) is str and b["Created"].endswith("Z")
    assert r["Size"] == b["Size"]
    assert b["RootFS"] == r["RootFS"]
    for f in CLIENT_CONFIG_FIELDS:
        assert b["Config"][f] == r["Config"][f], (f, b["Config"][f], r["Config"][f])
    ref_engine.docker("rmi", "shape/busybox:1")
    # and the fixture image, identical bytes in both: identical client fields
    berthd.docker("load", "-i", FIXTURE)
    ref_engine.docker("rmi", "-f", TAG, check=False)
    ref_engine.docker("load", "-i", FIXTURE)
    b, r = inspect(berthd, TAG), inspect(ref_engine, TAG)
    for f in CLIENT_FIELDS:
        assert b[f] == r[f], (f, b[f], r[f])
    assert b["RootFS"] == r["RootFS"]
    for f in CLIENT_CONFIG_FIELDS:
        assert b["Config"][f] == r["Config"][f], f
    bk, rk = _key_paths(b), _key_paths(r)
    print("fixture inspect keys only the reference engine has:", sorted(rk - bk))
    print("fixture inspect keys only berth has:", sorted(bk - rk))
    for f in sorted((bk & rk)):
        if "." not in f and f not in ("GraphDriver", "Metadata") and b[f] != r[f]:
            print(f"fixture inspect differs in {f}: berth {b[f]!r} reference {r[f]!r}")
