"""Volumes (trace 10, 14) with the stock CLI and docker-py: create, ls with
filters, inspect, rm, prune; in use by a container (409), docker's copy-up
into a new named volume, and a tmpfs volume from driver options that is
mounted while used and unmounted after."""
import json
import os
import subprocess

import pytest

from berthtest import make_busybox_rootfs


def test_create_ls_inspect_rm(berthd):
    assert berthd.docker("volume", "create", "tr-vol").stdout.strip() == "tr-vol"
    assert berthd.docker("volume", "ls", "--format", "{{.Driver}} {{.Name}}").stdout.split() == ["local", "tr-vol"]
    v = json.loads(berthd.docker("volume", "inspect", "tr-vol").stdout)[0]
    assert v["Name"] == "tr-vol" and v["Driver"] == "local" and v["Scope"] == "local"
    assert v["Mountpoint"] == str(berthd.data_root / "volumes" / "tr-vol" / "_data")
    assert v["Labels"] is None and v["Options"] is None
    assert os.path.isdir(v["Mountpoint"])
    # the raw shapes of trace 10
    r = berthd.api("GET", "/v1.41/volumes")
    assert r.status == 200 and r.json()["Warnings"] is None
    assert r.body.endswith(b"\n")
    # creating it again returns the same volume
    r = berthd.api("POST", "/v1.41/volumes/create", body={"Driver": "local", "Name": "tr-vol"})
    assert r.status == 201 and r.json()["CreatedAt"] == v["CreatedAt"]
    berthd.docker("volume", "rm", "tr-vol")
    assert not (berthd.data_root / "volumes" / "tr-vol").exists()
    r = berthd.api("GET", "/v1.41/volumes/tr-vol")
    assert r.status == 404 and r.json()["message"] == "get tr-vol: no such volume"
    res = berthd.docker("volume", "rm", "tr-vol", check=False)
    assert res.returncode == 1 and "no such volume" in res.stderr
    # rm -f of a missing volume is fine
    berthd.docker("volume", "rm", "-f", "tr-vol")


def test_labels_filters_and_prune(berthd):
    berthd.docker("volume", "create", "--label", "team=a", "va")
    berthd.docker("volume", "create", "--label", "team=b", "vb")
    anon = berthd.api("POST", "/v1.41/volumes/create", body={}).json()["Name"]
    assert len(anon) == 64
    q = lambda *f: sorted(berthd.docker("volume", "ls", "-q", *f).stdout.split())
    assert q("--filter", "label=team=a") == ["va"]
    assert q("--filter", "label=team") == ["va", "vb"]
    assert q("--filter", "name=v") == ["va", "vb"]
    assert q("--filter", "dangling=true") == sorted([anon, "va", "vb"])
    assert q("--filter", "driver=local") == sorted([anon, "va", "vb"])
    res = berthd.docker("volume", "ls", "--filter", "colour=red", check=False)
    assert res.returncode == 1 and "Invalid filter 'colour'" in res.stderr
    # CLI 28 (API 1.47): prune takes anonymous volumes only, unless --all
    out = berthd.docker("volume", "prune", "-f").stdout
    assert anon in out and "va" not in out
    assert q() == ["va", "vb"]
    out = berthd.docker("volume", "prune", "-f", "--all", "--filter", "label=team=a").stdout
    assert "va" in out and q() == ["vb"]
    # an API 1.41 client (docker 20.10) prunes every unused volume
    r = berthd.api("POST", "/v1.41/volumes/prune")
    assert r.status == 200 and r.json()["VolumesDeleted"] == ["vb"]
    assert q() == []


def test_bad_volume_requests(berthd):
    for body, status, msg in (
        ({"Name": "bad/name"}, 400, "includes invalid characters for a local volume name"),
        ({"Name": "x"}, 400, "includes invalid characters"),
        ({"Name": "ok1", "Driver": "nfs-plugin"}, 404, 'plugin "nfs-plugin" not found'),
        ({"Name": "ok2", "DriverOpts": {"colour": "red"}}, 400, 'invalid option key: "colour"'),
        ({"Name": "ok3", "DriverOpts": {"type": "tmpfs"}}, 400, 'missing required option: "device"'),
        ({"Name": "ok4", "Labels": {"a": 1}}, 400, "Labels.a: expected a string"),
        ({"Name": "ok5", "Labels": "x"}, 400, "Labels: expected an object"),
    ):
        r = berthd.api("POST", "/v1.41/volumes/create", body=body)
        assert r.status == status, (body, r)
        assert msg in r.json()["message"], (body, r)
    assert berthd.docker("volume", "ls", "-q").stdout == ""


@pytest.fixture
def busybox(berthd, tmpdir_berth):
    monitor = os.path.join(os.path.dirname(berthd.command()[0]), "berth-monitor")
    if not os.path.exists(monitor):
        pytest.skip("containers are not built (berth-monitor)")
    root = make_busybox_rootfs(tmpdir_berth / "rootfs")
    (root / "data").mkdir()
    (root / "data" / "seed.txt").write_text("from the image\n")
    os.symlink("seed.txt", root / "data" / "link")
    tar = tmpdir_berth / "rootfs.tar"
    subprocess.run(["tar", "-C", str(root), "-cf", str(tar), "."], check=True)
    berthd.docker("import", str(tar), "busybox:vol")
    return "busybox:vol"


def test_in_use_and_copy_up(berthd, busybox):
    # a new named volume gets the image's content at its mount point
    out = berthd.docker("run", "--rm", "-v", "seeded:/data", busybox, "cat", "/data/seed.txt").stdout
    assert out == "from the image\n"
    data = berthd.data_root / "volumes" / "seeded" / "_data"
    assert (data / "seed.txt").read_text() == "from the image\n"
    assert os.readlink(data / "link") == "seed.txt"
    # a volume that is not empty is not overwritten
    berthd.docker("run", "--rm", "-v", "seeded:/data", busybox, "sh", "-c", "echo mine > /data/seed.txt")
    out = berthd.docker("run", "--rm", "-v", "seeded:/data", busybox, "cat", "/data/seed.txt").stdout
    assert out == "mine\n"
    # in use: 409, even with force
    cid = berthd.docker("run", "-d", "-v", "seeded:/data", busybox, "sleep", "60").stdout.strip()
    try:
        for args in (["volume", "rm", "seeded"], ["volume", "rm", "-f", "seeded"]):
            res = berthd.docker(*args, check=False)
            assert res.returncode == 1
            assert "remove seeded: volume is in use - [" + cid in res.stderr
        assert "seeded" not in berthd.docker("volume", "prune", "-f", "--all").stdout
        assert berthd.docker("volume", "ls", "-q", "--filter", "dangling=false").stdout.split() == ["seeded"]
        df = berthd.api("GET", "/v1.41/system/df").json()
        assert [v["UsageData"]["RefCount"] for v in df["Volumes"]] == [1]
    finally:
        berthd.docker("rm", "-f", cid)
    berthd.docker("volume", "rm", "seeded")


def test_tmpfs_volume_mounted_while_used(berthd, busybox):
    berthd.docker("volume", "create", "-d", "local", "-o", "type=tmpfs", "-o", "device=tmpfs",
                  "-o", "o=size=1m,mode=0755", "scratch")
    v = json.loads(berthd.docker("volume", "inspect", "scratch").stdout)[0]
    assert v["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=1m,mode=0755"}
    out = berthd.docker("run", "--rm", "-v", "scratch:/s", busybox, "sh", "-c",
                        "grep ' /s ' /proc/mounts | cut -d' ' -f1,3").stdout
    assert out.strip() == "tmpfs tmpfs"
    # after the last user the host mount is gone again
    with open("/proc/self/mountinfo") as f:
        assert v["Mountpoint"] not in f.read()
    berthd.docker("volume", "rm", "scratch")
