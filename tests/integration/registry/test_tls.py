"""TLS: HTTPS with the CAs of certs.d/<host:port>/ca.crt on top of the
system ones, client certificates (client.cert/client.key) for mutual TLS,
and plain HTTP or unverified TLS only for insecure registries.

Every 127.0.0.0/8 registry counts as insecure (docker's rule), so the
verified cases dial 0.0.0.0:<port>: Linux routes it to the loopback
registry, and it is not an insecure address."""
import shutil

import pytest

import regutil
from regutil import Image, Registry, ScratchCA, skopeo_push


@pytest.fixture(scope="module")
def ca(workdir):
    d = workdir / "ca"
    d.mkdir()
    return ScratchCA(d)


@pytest.fixture(scope="module")
def tls_reg(workdir, ca):
    cert, key = ca.issue("server", "0.0.0.0", ips=["0.0.0.0", "127.0.0.1"])
    r = Registry(workdir, name="tls", tls={"cert": cert, "key": key}).start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def mtls_reg(workdir, ca):
    cert, key = ca.issue("server2", "0.0.0.0", ips=["0.0.0.0", "127.0.0.1"])
    r = Registry(workdir, name="mtls", tls={"cert": cert, "key": key, "clientcas": [ca.ca_file]}).start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def image(workdir):
    img = Image([regutil.small_layer(400)])
    regutil.write_oci_layout(workdir / "tls-src", [img], "1")
    return img


def push_with_skopeo(workdir, reg, ca, client=None):
    cmd = ["skopeo", "copy", "--dest-tls-verify=false"]
    if client:
        d = workdir / f"skopeo-certs-{reg.port}"
        d.mkdir(exist_ok=True)
        shutil.copy(client[0], d / "client.cert")
        shutil.copy(client[1], d / "client.key")
        cmd += ["--dest-cert-dir", str(d)]
    regutil.run(cmd + [f"oci:{workdir / 'tls-src'}:1", f"docker://127.0.0.1:{reg.port}/tls/app:1"])


def certs_dir(tmp, host, ca=None, client=None):
    d = tmp / "certs.d" / host
    d.mkdir(parents=True)
    if ca:
        shutil.copy(ca.ca_file, d / "ca.crt")
    if client:
        shutil.copy(client[0], d / "client.cert")
        shutil.copy(client[1], d / "client.key")
    return tmp / "certs.d"


def test_tls_verified_with_certs_d_ca(tool, tmpdir_berth, workdir, ca, tls_reg, image):
    push_with_skopeo(workdir, tls_reg, ca)
    host = f"0.0.0.0:{tls_reg.port}"
    # unknown CA, not an insecure registry: refused, and no fallback to HTTP
    empty = tmpdir_berth / "empty-certs"
    empty.mkdir()
    res = tool.run("pull", f"{host}/tls/app:1", opts=["--certs-dir", str(empty)], check=False)
    assert res.returncode == 1
    assert "certificate" in res.stderr.lower(), res.stderr
    assert "http://" not in res.stderr
    # the CA in certs.d/<host:port>/ca.crt makes it trusted
    d = certs_dir(tmpdir_berth, host, ca=ca)
    res = tool.run("pull", f"{host}/tls/app:1", opts=["--certs-dir", str(d)])
    assert res.result["image_id"] == image.config_digest


def test_tls_insecure_registry_skips_verification(tool, tmpdir_berth, workdir, ca, tls_reg, image):
    push_with_skopeo(workdir, tls_reg, ca)
    host = f"0.0.0.0:{tls_reg.port}"
    empty = tmpdir_berth / "empty-certs"
    empty.mkdir()
    res = tool.run("pull", f"{host}/tls/app:1",
                   opts=["--certs-dir", str(empty), "--insecure-registry", host])
    assert res.result["image_id"] == image.config_digest
    # a CIDR entry works too
    tool2 = regutil.Tool(tmpdir_berth / "store2", tool.config_dir)
    res = tool2.run("pull", f"{host}/tls/app:1",
                    opts=["--certs-dir", str(empty), "--insecure-registry", "0.0.0.0/32"])
    assert res.result["image_id"] == image.config_digest


def test_mutual_tls_with_client_certificate(tool, tmpdir_berth, workdir, ca, mtls_reg, image):
    client = ca.issue("client", "berth-client", client=True)
    push_with_skopeo(workdir, mtls_reg, ca, client=client)
    host = f"0.0.0.0:{mtls_reg.port}"
    d = certs_dir(tmpdir_berth, host, ca=ca)
    res = tool.run("pull", f"{host}/tls/app:1", opts=["--certs-dir", str(d)], check=False)
    assert res.returncode == 1
    shutil.rmtree(tmpdir_berth / "certs.d")
    d = certs_dir(tmpdir_berth, host, ca=ca, client=client)
    res = tool.run("pull", f"{host}/tls/app:1", opts=["--certs-dir", str(d)])
    assert res.result["image_id"] == image.config_digest
    # a certificate without its key is a clear error
    (d / host / "client.key").unlink()
    res = tool.run("pull", f"{host}/tls/app:1", opts=["--certs-dir", str(d)], check=False)
    assert res.returncode == 1
    assert "missing key" in res.stderr, res.stderr


def test_plain_http_only_for_insecure_registries(tool, tmpdir_berth, workdir, image):
    reg = Registry(workdir, name="plain-nonloopback").start()
    try:
        regutil.run(["skopeo", "copy", "--dest-tls-verify=false", f"oci:{workdir / 'tls-src'}:1",
                     f"docker://127.0.0.1:{reg.port}/tls/app:1"])
        host = f"0.0.0.0:{reg.port}"
        empty = tmpdir_berth / "empty-certs"
        empty.mkdir()
        # not insecure: HTTPS only, so a plain HTTP registry is an error
        res = tool.run("pull", f"{host}/tls/app:1", opts=["--certs-dir", str(empty)], check=False)
        assert res.returncode == 1
        assert "https://" in res.stderr and "http://" not in res.stderr, res.stderr
        # marked insecure: HTTPS first, then plain HTTP
        res = tool.run("pull", f"{host}/tls/app:1",
                       opts=["--certs-dir", str(empty), "--insecure-registry", host])
        assert res.result["image_id"] == image.config_digest
    finally:
        reg.stop()
