#!/usr/bin/python3
"""Build the pull benchmark's images as OCI layouts from a root filesystem:
  debian  one gzip layer of the whole root (what `docker build` of a
          debootstrap tarball gives)
  multi   the same files split into six gzip layers
Usage: make-images.py ROOTFS OUTDIR"""
import hashlib
import json
import os
import pathlib
import subprocess
import sys

rootfs, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
EXCLUDE = ["./dev/*", "./proc/*", "./sys/*", "./run/*", "./tmp/*", "./var/cache/apt/*",
           "./debootstrap"]


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def layer(layout, paths, exclude=()):
    """tar (sorted, numeric owners) | gzip -6 into the layout; returns
    (descriptor, diff_id)."""
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    tmp = blobs / "tmp.tar"
    args = ["tar", "--sort=name", "--numeric-owner", "--xattrs", "-C", str(rootfs), "-cf", str(tmp)]
    args += [f"--exclude={e}" for e in list(EXCLUDE) + list(exclude)]
    subprocess.run(args + paths, check=True)
    diff_id = sha(tmp)
    subprocess.run(["gzip", "-n", "-6", "-f", str(tmp)], check=True)
    gz = blobs / "tmp.tar.gz"
    digest = sha(gz)
    size = gz.stat().st_size
    os.rename(gz, blobs / digest.split(":")[1])
    return {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest,
            "size": size}, diff_id


def write_blob(layout, data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / d.split(":")[1]).write_bytes(data)
    return d


def image(name, groups):
    layout = out / name
    if (layout / "index.json").exists():
        return
    layout.mkdir(parents=True, exist_ok=True)
    descs, diff_ids = [], []
    for paths, exclude in groups:
        d, diff = layer(layout, paths, exclude)
        descs.append(d)
        diff_ids.append(diff)
    config = json.dumps({"architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
                         "config": {"Cmd": ["/bin/bash"]},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": write_blob(layout, config), "size": len(config)},
                           "layers": descs}).encode()
    md = write_blob(layout, manifest)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md,
        "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": "1"}}]}))


image("debian", [(["."], [])])
image("multi", [
    (["./usr/lib"], ["./usr/lib/x86_64-linux-gnu"]),
    (["./usr/lib/x86_64-linux-gnu"], []),
    (["./usr/bin", "./usr/sbin"], []),
    (["./usr/share"], []),
    (["./var", "./etc"], []),
    (["."], ["./usr", "./var", "./etc"]),
])
