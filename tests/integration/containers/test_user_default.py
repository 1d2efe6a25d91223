"""The process user when the image has no /etc/passwd: docker (runc's
default exec user) runs an empty User as uid 0 and numeric ids as given;
only a user that is named and cannot be found is an error, and that error
ends `docker run` with 125 instead of hanging it."""
import io
import tarfile

import pytest

from berthtest import make_busybox_rootfs

IMAGE = "nopasswd:local"


@pytest.fixture(scope="module")
def nopasswd(bd, tmp_path_factory):
    rootfs = make_busybox_rootfs(tmp_path_factory.mktemp("nopw") / "rootfs")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for entry in sorted(rootfs.rglob("*")):
            rel = entry.relative_to(rootfs)
            if rel.parts[0] == "etc" and rel.name in ("passwd", "group"):
                continue
            t.add(entry, arcname=str(rel), recursive=False)
    bd.docker("import", "-", IMAGE, input=buf.getvalue(), binary_output=True)
    yield IMAGE
    bd.docker("rmi", IMAGE, check=False)


def test_empty_user_is_root_without_passwd(clean, nopasswd):
    assert clean.docker("run", "--rm", nopasswd, "id").stdout == "uid=0 gid=0\n"


def test_numeric_user_without_passwd(clean, nopasswd):
    assert clean.docker("run", "--rm", "-u", "123:45", nopasswd, "id").stdout == "uid=123 gid=45\n"


def test_unknown_named_user_fails_cleanly(clean, nopasswd):
    res = clean.docker("run", "--rm", "-u", "nobody", nopasswd, "id", check=False, timeout=30)
    assert res.returncode == 125, res
    assert "unable to find user nobody" in res.stderr
