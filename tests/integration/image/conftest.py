"""Fixtures of the image store's black-box tests: the internal test driver
berth-image-tool (built from tests/unit/image, not installed) and a store
on a temp path, plus helpers that build layer tarballs and docker-archives
in Python exactly as the reference engine lays them out."""
import hashlib
import io
import json
import os
import pathlib
import subprocess
import tarfile

import pytest

from berthtest import BUILD, run


def tool_path():
    path = BUILD / "tests" / "unit" / "image" / "berth-image-tool"
    if not path.exists():
        pytest.skip(f"berth-image-tool is not built at {path}")
    return path


class Store:
    """One data root driven through berth-image-tool."""

    def __init__(self, root):
        self.root = pathlib.Path(root)
        self.tool = tool_path()

    def run(self, *args, check=True, **kw):
        return run([self.tool, "--root", self.root, *args], check=check, **kw)

    def json(self, *args):
        return json.loads(self.run(*args).stdout)

    def ls(self):
        return self.json("ls")

    def popen(self, *args, **kw):
        return subprocess.Popen([str(self.tool), "--root", str(self.root), *map(str, args)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)

    def blobs(self):
        return sorted(os.listdir(self.root / "blobs" / "sha256"))

    def layers(self):
        return sorted(os.listdir(self.root / "layers"))

    def tmp(self):
        return sorted(os.listdir(self.root / "tmp"))


@pytest.fixture
def store(tmpdir_berth):
    return Store(tmpdir_berth / "store")


@pytest.fixture
def store2(tmpdir_berth):
    return Store(tmpdir_berth / "store2")


# ------------------------------------------------------------ tar helpers --

def tar_bytes(entries, fmt=tarfile.PAX_FORMAT):
    """entries: list of (TarInfo, data-bytes-or-None)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            else:
                t.addfile(info)
    return buf.getvalue()


def entry(name, type=tarfile.REGTYPE, data=None, mode=0o644, linkname="", uid=0, gid=0,
          devmajor=0, devminor=0, mtime=1700000000):
    info = tarfile.TarInfo(name)
    info.type = type
    info.mode = mode
    info.linkname = linkname
    info.uid, info.gid = uid, gid
    info.devmajor, info.devminor = devmajor, devminor
    info.mtime = mtime
    if type == tarfile.REGTYPE and data is None:
        data = b""
    return (info, data)


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tree_tar(root):
    """An uncompressed tar of a directory, as `tar -C root -cf - .` makes it."""
    return subprocess.run(["tar", "-C", str(root), "--numeric-owner", "-cf", "-", "."],
                          check=True, capture_output=True).stdout


def config_for(diff_ids, cmd=("sh",)):
    return json.dumps({
        "architecture": "amd64", "os": "linux",
        "created": "2024-01-02T03:04:05.000000006Z",
        "config": {"Cmd": list(cmd), "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
        "history": [{"created": "2024-01-02T03:04:05Z", "created_by": f"layer {i}"}
                    for i in range(len(diff_ids))],
    }, separators=(",", ":")).encode()


def docker_archive(layers, repo_tags, cmd=("sh",)):
    """A docker-archive exactly as the docker 20.10 engine's `docker save`
    writes it: <v1 id>/{VERSION,json,layer.tar} per layer (regular files),
    <config hex>.json, manifest.json and repositories. Returns (bytes, config id)."""
    diff_ids = [sha256(l) for l in layers]
    config = config_for(diff_ids, cmd)
    config_hex = hashlib.sha256(config).hexdigest()
    out = []
    parent = None
    layer_paths = []
    for i, layer in enumerate(layers):
        v1 = {"id": None, "created": "1970-01-01T00:00:00Z",
              "container_config": {"Cmd": None}, "os": "linux"}
        if parent:
            v1["parent"] = parent
        seed = json.dumps([parent, diff_ids[i], config_hex if i == len(layers) - 1 else ""])
        v1id = hashlib.sha256(seed.encode()).hexdigest()
        v1["id"] = v1id
        out.append(entry(f"{v1id}/", tarfile.DIRTYPE, mode=0o755, mtime=0))
        out.append(entry(f"{v1id}/VERSION", data=b"1.0", mtime=0))
        out.append(entry(f"{v1id}/json", data=json.dumps(v1).encode(), mtime=0))
        out.append(entry(f"{v1id}/layer.tar", data=layer, mtime=0))
        layer_paths.append(f"{v1id}/layer.tar")
        parent = v1id
    out.append(entry(f"{config_hex}.json", data=config, mtime=0))
    manifest = [{"Config": f"{config_hex}.json", "RepoTags": list(repo_tags), "Layers": layer_paths}]
    out.append(entry("manifest.json", data=json.dumps(manifest).encode(), mtime=0))
    repos = {}
    for t in repo_tags:
        name, tag = t.rsplit(":", 1)
        repos.setdefault(name, {})[tag] = parent
    if repos:
        out.append(entry("repositories", data=json.dumps(repos).encode(), mtime=0))
    return tar_bytes(out, fmt=tarfile.USTAR_FORMAT), "sha256:" + config_hex
