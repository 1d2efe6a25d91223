"""Fixtures for the registry tests: a work dir per module (registries and
images live as long as the module), a fresh store + docker config per test."""
import pathlib
import shutil
import tempfile

import pytest

from berthtest import TMP_PREFIX
import regutil


@pytest.fixture(scope="module")
def workdir():
    path = pathlib.Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "registry-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def bb_layer(workdir):
    return regutil.busybox_layer(workdir)


@pytest.fixture
def tool(tmpdir_berth):
    if not regutil.tool_path().exists():
        pytest.skip(f"berth-registry-tool is not built at {regutil.tool_path()}")
    (tmpdir_berth / "docker").mkdir()
    return regutil.Tool(tmpdir_berth / "store", tmpdir_berth / "docker")
