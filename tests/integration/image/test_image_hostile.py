"""Hostile layer tarballs, built in Python: whatever a layer says, nothing
lands outside the layer root, no link outside is followed, and a refused
layer leaves nothing behind (no layer, no blob, no temp dir)."""
import gzip
import os
import stat
import tarfile

import pytest

from conftest import entry, sha256, tar_bytes


@pytest.fixture
def outside(tmpdir_berth):
    """A directory next to the store that no layer may touch."""
    d = tmpdir_berth / "outside"
    d.mkdir()
    (d / "keep").write_text("host data")
    return d


def snapshot_dir(d):
    return sorted((p.relative_to(d).as_posix(), p.lstat().st_mode, p.lstat().st_size)
                  for p in d.rglob("*"))


def unpack(store, tmpdir_berth, data, *extra, check=True, name="layer.tar"):
    path = tmpdir_berth / name
    path.write_bytes(data)
    return store.run("unpack", path, *extra, check=check)


def layer_dir(store, data):
    return store.root / "layers" / sha256(data)[7:] / "diff"


def assert_refused(store, res, words):
    assert res.returncode != 0
    assert words in res.stderr, res.stderr
    assert store.layers() == []
    assert store.blobs() == []
    assert store.tmp() == []


def test_dotdot_path_is_refused(store, tmpdir_berth, outside):
    before = snapshot_dir(tmpdir_berth / "outside")
    data = tar_bytes([entry("ok", data=b"x"), entry("../outside/evil", data=b"pwned"),
                      entry("a/../../../outside/evil2", data=b"pwned")])
    res = unpack(store, tmpdir_berth, data, check=False)
    assert_refused(store, res, "escapes the layer root")
    assert snapshot_dir(outside) == before
    assert not (store.root / "evil").exists()


def test_dotdot_inside_root_is_cleaned(store, tmpdir_berth):
    """docker cleans a/../b to b: allowed, and it stays inside."""
    data = tar_bytes([entry("a/", tarfile.DIRTYPE, mode=0o755), entry("a/../b", data=b"fine")])
    unpack(store, tmpdir_berth, data)
    assert (layer_dir(store, data) / "b").read_bytes() == b"fine"


def test_absolute_paths_land_inside(store, tmpdir_berth, outside):
    target = outside / "abs-evil"
    data = tar_bytes([entry(str(target), data=b"pwned"), entry("/etc/berth-evil-test", data=b"x")])
    unpack(store, tmpdir_berth, data)
    assert not target.exists()
    assert not os.path.exists("/etc/berth-evil-test")
    root = layer_dir(store, data)
    assert (root / str(target).lstrip("/")).read_bytes() == b"pwned"
    assert (root / "etc" / "berth-evil-test").exists()


@pytest.mark.parametrize("kind", ["absolute", "relative"])
def test_symlink_then_write_through_it_stays_inside(store, tmpdir_berth, outside, kind):
    before = snapshot_dir(outside)
    link = str(outside) if kind == "absolute" else "../" * 20 + str(outside).lstrip("/")
    data = tar_bytes([
        # the link's target also exists inside the layer, so the write succeeds there
        entry(str(outside).lstrip("/") + "/", tarfile.DIRTYPE, mode=0o755),
        entry("esc", tarfile.SYMTYPE, linkname=link),
        entry("esc/pwned", data=b"pwned"),
        entry("esc/keep", data=b"overwritten"),
        entry("dir/", tarfile.DIRTYPE, mode=0o755),
        entry("dir/up", tarfile.SYMTYPE, linkname="../../../../../../"),
        entry("dir/up/" + str(outside).lstrip("/") + "/pwned2", data=b"pwned"),
    ])
    unpack(store, tmpdir_berth, data)
    assert snapshot_dir(outside) == before
    assert (outside / "keep").read_text() == "host data"
    root = layer_dir(store, data)
    # The link is kept verbatim; the write went where the link leads *inside* the root.
    assert os.readlink(root / "esc") == link
    inside = root / str(outside).lstrip("/")
    assert (inside / "pwned").read_bytes() == b"pwned"
    assert (inside / "keep").read_bytes() == b"overwritten"
    assert (inside / "pwned2").read_bytes() == b"pwned"


@pytest.mark.parametrize("kind", ["absolute", "relative"])
def test_write_through_dangling_escape_symlink_fails_cleanly(store, tmpdir_berth, outside, kind):
    """docker fails here too (the target does not exist inside its chroot)."""
    before = snapshot_dir(outside)
    link = str(outside) if kind == "absolute" else "../" * 20 + str(outside).lstrip("/")
    data = tar_bytes([entry("esc", tarfile.SYMTYPE, linkname=link),
                      entry("esc/pwned", data=b"pwned")])
    res = unpack(store, tmpdir_berth, data, check=False)
    assert_refused(store, res, "esc/pwned")
    assert snapshot_dir(outside) == before


def test_symlink_replaced_by_file_is_not_followed(store, tmpdir_berth, outside):
    data = tar_bytes([entry("f", tarfile.SYMTYPE, linkname=str(outside / "keep")),
                      entry("f", data=b"new content")])
    unpack(store, tmpdir_berth, data)
    assert (outside / "keep").read_text() == "host data"
    f = layer_dir(store, data) / "f"
    assert not f.is_symlink() and f.read_bytes() == b"new content"


def test_hardlink_to_host_file_is_refused(store, tmpdir_berth, outside):
    nlink = os.stat("/etc/passwd").st_nlink
    for target in ["/etc/passwd", "../../../../../../etc/passwd", str(outside / "keep")]:
        data = tar_bytes([entry("h", tarfile.LNKTYPE, linkname=target)])
        res = unpack(store, tmpdir_berth, data, check=False)
        assert res.returncode != 0, target
        assert store.layers() == [] and store.blobs() == [] and store.tmp() == []
    assert os.stat("/etc/passwd").st_nlink == nlink
    assert os.stat(outside / "keep").st_nlink == 1


def test_hardlink_through_symlink_stays_inside(store, tmpdir_berth):
    """etc -> /etc inside the layer: a hardlink to etc/passwd names the
    layer's own etc/passwd (resolved in the root), never the host's."""
    nlink = os.stat("/etc/passwd").st_nlink
    data = tar_bytes([entry("etc", tarfile.SYMTYPE, linkname="/etc"),
                      entry("h", tarfile.LNKTYPE, linkname="etc/passwd")])
    res = unpack(store, tmpdir_berth, data, check=False)
    assert res.returncode != 0  # no such file inside the layer
    assert os.stat("/etc/passwd").st_nlink == nlink
    data = tar_bytes([entry("real/", tarfile.DIRTYPE, mode=0o755),
                      entry("real/passwd", data=b"layer passwd"),
                      entry("etc", tarfile.SYMTYPE, linkname="/real"),
                      entry("h", tarfile.LNKTYPE, linkname="etc/passwd")])
    unpack(store, tmpdir_berth, data)
    root = layer_dir(store, data)
    assert (root / "h").read_bytes() == b"layer passwd"
    assert os.stat(root / "h").st_ino == os.stat(root / "real" / "passwd").st_ino


def test_device_nodes_created_as_recorded_never_written_through(store, tmpdir_berth):
    data = tar_bytes([
        entry("dev/", tarfile.DIRTYPE, mode=0o755),
        entry("dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3),
        entry("dev/fifo", tarfile.FIFOTYPE, mode=0o600),
        # the same name again as a file: the node is replaced, not written to
        entry("dev/zero", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=5),
        entry("dev/zero", data=b"file now"),
    ])
    unpack(store, tmpdir_berth, data)
    root = layer_dir(store, data)
    st = os.lstat(root / "dev" / "null")
    assert stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3
    assert stat.S_IMODE(st.st_mode) == 0o666
    assert stat.S_ISFIFO(os.lstat(root / "dev" / "fifo").st_mode)
    z = root / "dev" / "zero"
    assert stat.S_ISREG(os.lstat(z).st_mode) and z.read_bytes() == b"file now"


@pytest.mark.parametrize("name", [".wh..", ".wh...", "a/.wh..", "a/.wh...", ".wh."])
def test_whiteout_naming_a_parent_is_refused(store, tmpdir_berth, name):
    data = tar_bytes([entry("a/", tarfile.DIRTYPE, mode=0o755), entry("a/x", data=b"x"),
                      entry(name)])
    res = unpack(store, tmpdir_berth, data, check=False)
    assert_refused(store, res, "names a parent")


def test_setuid_bits_kept_exactly_as_recorded(store, tmpdir_berth):
    data = tar_bytes([entry("suid", data=b"#!", mode=0o4755, uid=0, gid=0),
                      entry("sgid", data=b"#!", mode=0o2711, uid=1000, gid=1000),
                      entry("plain", data=b"#!", mode=0o755, uid=1000),
                      entry("tmp/", tarfile.DIRTYPE, mode=0o1777)])
    unpack(store, tmpdir_berth, data)
    root = layer_dir(store, data)
    assert stat.S_IMODE(os.lstat(root / "suid").st_mode) == 0o4755
    st = os.lstat(root / "sgid")
    assert stat.S_IMODE(st.st_mode) == 0o2711 and (st.st_uid, st.st_gid) == (1000, 1000)
    assert stat.S_IMODE(os.lstat(root / "plain").st_mode) == 0o755
    assert stat.S_IMODE(os.lstat(root / "tmp").st_mode) == 0o1777


def test_ownership_times_xattrs_preserved(store, tmpdir_berth):
    info, data_ = entry("f", data=b"data", mode=0o640, uid=123, gid=456, mtime=1234567890)
    info.pax_headers = {"SCHILY.xattr.user.berth": "yes",
                        "SCHILY.xattr.trusted.overlay.opaque": "y"}
    data = tar_bytes([(info, data_), entry("d/", tarfile.DIRTYPE, mode=0o710, mtime=1111111111),
                      entry("d/inner", data=b"i")])
    unpack(store, tmpdir_berth, data)
    root = layer_dir(store, data)
    st = os.lstat(root / "f")
    assert (st.st_uid, st.st_gid, int(st.st_mtime)) == (123, 456, 1234567890)
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert os.getxattr(root / "f", "user.berth") == b"yes"
    # overlay's own control xattrs are never taken from an image
    with pytest.raises(OSError):
        os.getxattr(root / "f", "trusted.overlay.opaque")
    assert int(os.lstat(root / "d").st_mtime) == 1111111111  # set after its children


def test_digest_mismatch_keeps_nothing(store, tmpdir_berth):
    data = gzip.compress(tar_bytes([entry("a", data=b"a")]))
    res = unpack(store, tmpdir_berth, data, "sha256:" + "0" * 64, check=False)
    assert_refused(store, res, "digest mismatch")
    # the right digest is accepted, and the blob kept is the compressed bytes
    out = unpack(store, tmpdir_berth, data, sha256(data)).stdout.strip()
    assert store.blobs() == [sha256(data)[7:]]
    assert out == sha256(tar_bytes([entry("a", data=b"a")]))


@pytest.mark.parametrize("damage", ["truncated-gzip", "corrupt-gzip", "truncated-tar",
                                    "bad-checksum", "huge-pax"])
def test_damaged_streams_are_refused(store, tmpdir_berth, damage):
    plain = tar_bytes([entry("a", data=b"a" * 5000), entry("b", data=b"b")])
    if damage == "truncated-gzip":
        data = gzip.compress(plain)[:-20]
    elif damage == "corrupt-gzip":
        z = bytearray(gzip.compress(plain))
        z[len(z) // 2] ^= 0xff
        data = bytes(z)
    elif damage == "truncated-tar":
        data = plain[:1024 + 100]
    elif damage == "bad-checksum":
        b = bytearray(plain)
        b[0] = ord("z")
        data = bytes(b)
    else:
        info, d = entry("x", data=b"x")
        info.pax_headers = {"comment": "A" * (2 << 20)}
        data = tar_bytes([(info, d)])
    res = unpack(store, tmpdir_berth, data, check=False)
    assert res.returncode != 0 and res.stderr
    assert store.layers() == [] and store.blobs() == [] and store.tmp() == []


def test_long_names_gnu_and_pax(store, tmpdir_berth):
    long = "d" * 120 + "/" + "f" * 150
    for fmt in (tarfile.GNU_FORMAT, tarfile.PAX_FORMAT):
        data = tar_bytes([entry(long, data=b"long"),
                          entry("l", tarfile.SYMTYPE, linkname="t" * 300)], fmt=fmt)
        unpack(store, tmpdir_berth, data)
        root = layer_dir(store, data)
        assert (root / long).read_bytes() == b"long"
        assert os.readlink(root / "l") == "t" * 300


def test_zstd_layer(store, tmpdir_berth):
    plain = tar_bytes([entry("z", data=b"zstd!" * 1000)])
    p = tmpdir_berth / "l.tar"
    p.write_bytes(plain)
    import subprocess
    subprocess.run(["zstd", "-q", "-f", str(p), "-o", str(tmpdir_berth / "l.tar.zst")], check=True)
    z = (tmpdir_berth / "l.tar.zst").read_bytes()
    out = unpack(store, tmpdir_berth, z, sha256(z), "application/vnd.oci.image.layer.v1.tar+zstd",
                 name="z.bin").stdout.strip()
    assert out == sha256(plain)
    assert (layer_dir(store, plain) / "z").read_bytes() == b"zstd!" * 1000


@pytest.mark.parametrize("chunk", [1, 3, 7, 8, 9, 4097])
def test_streaming_api_any_chunk_size(store, tmpdir_berth, chunk):
    """A registry hands over whatever the network delivered: compression is
    sniffed across chunk boundaries, and gzip (two members), zstd and plain
    tar give the same layer."""
    import subprocess
    plain = tar_bytes([entry("d/", tarfile.DIRTYPE, mode=0o755),
                       entry("d/f", data=os.urandom(20000)), entry("d/l", tarfile.SYMTYPE, linkname="f")])
    half = len(plain) // 2
    two_members = gzip.compress(plain[:half]) + gzip.compress(plain[half:])
    p = tmpdir_berth / "l.tar"
    p.write_bytes(plain)
    subprocess.run(["zstd", "-q", "-f", str(p), "-o", str(tmpdir_berth / "l.zst")], check=True)
    zst = (tmpdir_berth / "l.zst").read_bytes()
    env = dict(os.environ, BERTH_IMAGE_TOOL_CHUNK=str(chunk))
    for data in (plain, two_members, zst):
        path = tmpdir_berth / "in.bin"
        path.write_bytes(data)
        out = store.run("unpack", path, sha256(data), env=env).stdout.strip()
        assert out == sha256(plain)
    assert store.layers() == [sha256(plain)[7:]]
    assert os.readlink(layer_dir(store, plain) / "d" / "l") == "f"
    assert store.run("check").returncode == 0
