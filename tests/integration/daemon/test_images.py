"""Image endpoints with the stock docker CLI and docker-py: import, tag,
save, load, history, inspect, rmi, filters, prune, system df (trace 12, 14)
and pull/push against Debian's docker-registry on 127.0.0.1 (trace 17)."""
import io
import json
import socket
import subprocess
import tarfile
import time

import pytest

from berthtest import make_busybox_rootfs

REGISTRY_BIN = "/usr/bin/docker-registry"


@pytest.fixture
def rootfs_tar(tmpdir_berth):
    root = make_busybox_rootfs(tmpdir_berth / "rootfs")
    tar = tmpdir_berth / "rootfs.tar"
    subprocess.run(["tar", "-C", str(root), "-cf", str(tar), "."], check=True)
    return tar


@pytest.fixture
def busybox(berthd, rootfs_tar):
    out = berthd.docker("import", "-c", 'CMD ["sh"]', "-c", "ENV A=1", "-c", "LABEL tier=base",
                        str(rootfs_tar), "busybox:local").stdout
    assert out.strip().startswith("sha256:")
    return out.strip()


def image_ids(berthd, *args):
    return berthd.docker("images", "-q", "--no-trunc", *args).stdout.split()


def test_import_inspect_history(berthd, busybox):
    info = json.loads(berthd.docker("image", "inspect", "busybox:local").stdout)[0]
    assert info["Id"] == busybox
    assert info["RepoTags"] == ["busybox:local"]
    assert info["Config"]["Cmd"] == ["sh"]
    assert "A=1" in info["Config"]["Env"]
    assert info["Config"]["Labels"] == {"tier": "base"}
    assert info["Os"] == "linux"
    hist = berthd.docker("history", "--no-trunc", "--format", "{{.ID}} {{.Comment}}", "busybox:local").stdout
    assert busybox in hist and "Imported from -" in hist
    listing = berthd.docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").stdout
    assert listing.split() == ["busybox:local", busybox[7:19]]
    # /info counts it
    assert json.loads(berthd.docker("info", "--format", "{{json .Images}}").stdout) == 1


def test_tag_save_rmi_load(berthd, busybox, tmpdir_berth):
    berthd.docker("tag", "busybox:local", "tr-img:2")
    assert sorted(json.loads(berthd.docker("image", "inspect", busybox).stdout)[0]["RepoTags"]) == \
        ["busybox:local", "tr-img:2"]
    saved = tmpdir_berth / "s.tar"
    berthd.docker("save", "-o", str(saved), "tr-img:2")
    with tarfile.open(saved) as t:
        names = t.getnames()
        manifest = json.load(t.extractfile("manifest.json"))
    assert manifest[0]["RepoTags"] == ["tr-img:2"]
    assert any(n.endswith("layer.tar") for n in names)
    out = berthd.docker("rmi", "tr-img:2").stdout
    assert out.strip() == "Untagged: tr-img:2"
    # the image stays: busybox:local still names it
    assert image_ids(berthd) == [busybox]
    out = berthd.docker("rmi", "busybox:local").stdout
    assert "Untagged: busybox:local" in out and f"Deleted: {busybox}" in out
    assert image_ids(berthd, "-a") == []
    out = berthd.docker("load", "-i", str(saved)).stdout
    assert out.strip() == "Loaded image: tr-img:2"
    assert image_ids(berthd) == [busybox]
    # docker-py's save/load
    c = berthd.client()
    data = b"".join(c.images.get("tr-img:2").save(named=True))
    c.images.remove("tr-img:2")
    loaded = c.images.load(data)
    assert loaded[0].tags == ["tr-img:2"]


def test_filters_and_prune(berthd, busybox, rootfs_tar):
    berthd.docker("tag", "busybox:local", "tr-x:1")
    other = berthd.docker("import", "-c", "LABEL tier=app", str(rootfs_tar), "other:1").stdout.strip()
    fmt = ["--format", "{{.Repository}}:{{.Tag}}"]
    assert sorted(berthd.docker("images", "--filter", "reference=tr-*", *fmt).stdout.split()) == ["tr-x:1"]
    assert sorted(berthd.docker("images", "--filter", "label=tier=app", *fmt).stdout.split()) == ["other:1"]
    assert berthd.docker("images", "--filter", "dangling=true", "-q").stdout.strip() == ""
    # a second import under the same tag leaves the first one dangling
    again = berthd.docker("import", "-c", "LABEL v=2", str(rootfs_tar), "other:1").stdout.strip()
    assert again != other
    assert image_ids(berthd, "--filter", "dangling=true") == [other]
    out = berthd.docker("image", "prune", "-f").stdout
    assert other in out
    assert other not in image_ids(berthd, "-a")
    r = berthd.api("GET", "/v1.41/images/json", query={"filters": '{"bogus":{"x":true}}'})
    assert r.status == 400 and r.json()["message"] == "Invalid filter 'bogus'"


def test_system_df(berthd, busybox):
    berthd.docker("volume", "create", "dfvol")
    df = json.loads(berthd.docker("system", "df", "--format", "{{json .}}").stdout.splitlines()[0])
    assert df["Type"] == "Images" and df["TotalCount"] == "1"
    raw = berthd.api("GET", "/v1.41/system/df").json()
    assert raw["LayersSize"] > 1_000_000
    assert raw["Images"][0]["Id"] == busybox
    assert [v["Name"] for v in raw["Volumes"]] == ["dfvol"]
    assert raw["Volumes"][0]["UsageData"] == {"Size": 0, "RefCount": 0}
    assert raw["BuildCache"] is None and raw["BuilderSize"] == 0  # dockerd 20.10: no BuildKit cache


def test_image_errors(berthd, busybox, tmpdir_berth):
    res = berthd.docker("rmi", "nope:1", check=False)
    assert res.returncode == 1 and "No such image: nope:1" in res.stderr
    res = berthd.docker("image", "inspect", "nope", check=False)
    assert res.returncode == 1 and "No such image" in res.stderr
    r = berthd.api("POST", "/v1.41/images/busybox:local/tag", query={"repo": "Bad Name", "tag": "x"})
    assert r.status == 400 and "invalid reference format" in r.json()["message"]
    r = berthd.api("POST", "/v1.41/images/busybox:local/tag", query={"repo": "ok", "tag": "a{b"})
    assert r.status == 400 and r.json()["message"] == "invalid tag format"
    r = berthd.api("GET", "/v1.41/images/get", query={"names": "nope"})
    assert r.status == 404
    # garbage as an archive: an error, and the store is unchanged
    junk = tmpdir_berth / "junk.tar"
    junk.write_bytes(b"this is not a tar archive" * 100)
    res = berthd.docker("load", "-i", str(junk), check=False)
    assert res.returncode == 1 and "Error response from daemon" in res.stderr
    res = berthd.docker("import", "-c", "FROBNICATE x", str(junk), "bad:1", check=False)
    assert res.returncode == 1 and "FROBNICATE is not a valid change command" in res.stderr
    res = berthd.docker("import", str(junk), "bad:1", check=False)
    assert res.returncode == 1
    assert image_ids(berthd, "-a") == [busybox]
    assert berthd.api("GET", "/_ping").status == 200


def test_save_aborted_by_client(berthd, busybox):
    # a client that reads a few bytes of a save and hangs up
    conn = berthd.connection()
    conn.request("GET", "/v1.41/images/get?names=busybox:local")
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("Content-Type") == "application/x-tar"
    resp.read(1024)
    conn.close()
    time.sleep(0.3)
    assert berthd.api("GET", "/_ping").status == 200
    assert image_ids(berthd) == [busybox]


# ---------------------------------------------------------------- registry --

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def registry(tmpdir_berth):
    port = free_port()
    data = tmpdir_berth / "registry-data"
    cfg = tmpdir_berth / "registry.yml"
    cfg.write_text("\n".join([
        "version: 0.1", "log:", "  level: error", "storage:", "  filesystem:",
        f"    rootdirectory: {data}", "  delete:", "    enabled: true", "http:",
        f"  addr: 127.0.0.1:{port}", f"  secret: berth-daemon-test-{port}", ""]))
    log = open(tmpdir_berth / "registry.log", "wb")
    proc = subprocess.Popen([REGISTRY_BIN, "serve", str(cfg)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None and time.time() < deadline, "docker-registry did not start"
            time.sleep(0.05)
    yield f"127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)
    log.close()


def test_push_pull(berthd, busybox, registry):
    ref = f"{registry}/team/app:1"
    berthd.docker("tag", "busybox:local", ref)
    out = berthd.docker("push", ref).stdout
    assert f"The push refers to repository [{registry}/team/app]" in out
    assert "1: digest: sha256:" in out
    berthd.docker("rmi", ref)
    out = berthd.docker("pull", ref).stdout
    assert "Digest: sha256:" in out
    assert f"Status: Downloaded newer image for {ref}" in out or "Image is up to date" in out
    info = json.loads(berthd.docker("image", "inspect", ref).stdout)[0]
    assert info["Id"] == busybox
    assert info["RepoDigests"][0].startswith(f"{registry}/team/app@sha256:")
    # the raw stream: chunked JSON lines
    r = berthd.api("POST", "/v1.41/images/create", query={"fromImage": f"{registry}/team/app", "tag": "1"},
                   headers={"X-Registry-Auth": "e30="})
    assert r.status == 200 and r.headers["Content-Type"] == "application/json"
    assert any("Digest: sha256:" in l.get("status", "") for l in r.lines())
    # unknown tag and unknown repository: errors the CLI prints
    res = berthd.docker("pull", f"{registry}/team/app:nope", check=False)
    assert res.returncode == 1 and "Error response from daemon" in res.stderr
    res = berthd.docker("push", f"{registry}/team/none:1", check=False)
    assert res.returncode == 1 and "does not exist locally" in res.stderr
    # search goes to the registry's catalog
    out = berthd.docker("search", "--format", "{{.Name}}", f"{registry}/app").stdout
    assert out.split() == [f"{registry}/team/app"]
    # docker-py pulls the same way
    c = berthd.client()
    img = c.images.pull(f"{registry}/team/app", tag="1")
    assert img.id == busybox


def test_login_through_auth(berthd, registry):
    # the registry has no auth: any credentials are accepted at /v2/
    res = berthd.docker("login", "-u", "someone", "--password-stdin", registry, input="secret\n")
    assert "Login Succeeded" in res.stdout
    r = berthd.api("POST", "/v1.41/auth", body={"username": "a", "password": "b",
                                                 "serveraddress": registry})
    assert r.status == 200 and r.json()["Status"] == "Login Succeeded"
    r = berthd.api("POST", "/v1.41/auth", body={"username": 5})
    assert r.status == 400 and r.json()["message"] == "username: expected a string"
    # the audit log never holds the password
    assert "secret" not in (berthd.data_root / "audit.log").read_text()


def test_load_client_leaves_mid_body(berthd, busybox, tmpdir_berth):
    """A client that sends half a tar and goes away: the load fails, the
    store is unchanged, and berthd still stops cleanly (the worker reading
    the body saw its end)."""
    saved = tmpdir_berth / "half.tar"
    berthd.docker("save", "-o", str(saved), "busybox:local")
    data = saved.read_bytes()
    s = socket.socket(socket.AF_UNIX)
    s.connect(str(berthd.socket))
    s.sendall(b"POST /v1.41/images/load?quiet=1 HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/x-tar\r\nContent-Length: %d\r\n\r\n" % len(data))
    s.sendall(data[: len(data) // 2])
    time.sleep(0.3)
    s.close()
    time.sleep(0.3)
    assert image_ids(berthd, "-a") == [busybox]
    assert berthd.api("GET", "/_ping").status == 200
    assert berthd.stop() == 0
    berthd.start()
