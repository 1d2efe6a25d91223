"""Session-wide fixtures: the leak check every test session ends with, temp
dirs and a busybox root filesystem. Helpers live in berthtest.py."""
import ctypes
import pathlib
import shutil
import tempfile

import pytest

from berthtest import PR_SET_CHILD_SUBREAPER, TMP_PREFIX, leaks, make_busybox_rootfs, snapshot


@pytest.fixture(scope="session", autouse=True)
def assert_nothing_leaked():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    before = snapshot()
    yield
    after = snapshot()
    left = leaks(before, after)
    assert not left, f"the test session left these behind: {left}"


# ------------------------------------------------------------------ rootfs --

@pytest.fixture
def tmpdir_berth():
    """A temp directory that is removed (and checked) after the test."""
    path = pathlib.Path(tempfile.mkdtemp(prefix=TMP_PREFIX))
    yield path
    shutil.rmtree(path, ignore_errors=True)
    assert not path.exists()


@pytest.fixture
def busybox_rootfs(tmpdir_berth):
    return make_busybox_rootfs(tmpdir_berth / "rootfs")
