"""Registry auth against the real docker-registry: htpasswd basic auth and
the bearer token flow (a token server issuing JWTs signed by a test key),
login/logout in docker's config.json format (read back by skopeo), the
Engine API's X-Registry-Auth, OAuth2 refresh tokens and token caching."""
import base64
import json
import os
import stat

import pytest

import regutil
from regutil import Image, Registry, TokenServer, events_with, skopeo_inspect, skopeo_push

USERS = {"alice": "wonder:land?", "bob": "builder"}


def b64(s):
    return base64.b64encode(s.encode()).decode()


def x_registry_auth(**fields):
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode()


# ------------------------------------------------------------ basic auth --

@pytest.fixture(scope="module")
def basic_reg(workdir):
    r = Registry(workdir, auth=regutil.htpasswd_auth(workdir, USERS), name="basic").start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def basic_image(workdir, basic_reg):
    img = Image([regutil.small_layer(200)])
    regutil.write_oci_layout(workdir / "basic-src", [img], "1")
    skopeo_push(workdir / "basic-src", "1", f"{basic_reg.host}/priv/app:1",
                creds="alice:" + USERS["alice"])
    return img


def test_basic_anonymous_is_refused(tool, basic_reg, basic_image):
    res = tool.run("pull", f"{basic_reg.host}/priv/app:1", check=False)
    assert res.returncode == 1
    assert "pull access denied" in res.stderr or "unauthorized" in res.stderr, res.stderr
    assert tool.images() == []


def test_basic_login_writes_docker_config_and_logout_removes(tool, basic_reg, basic_image):
    cfg = tool.config_dir / "config.json"
    res = tool.run("login", basic_reg.host, opts=["-u", "alice", "-p", "wrong"], check=False)
    assert res.returncode == 1
    assert "incorrect username or password" in res.stderr, res.stderr
    assert not cfg.exists()
    res = tool.run("login", basic_reg.host, opts=["-u", "alice", "--password-stdin"],
                   input=USERS["alice"] + "\n")
    assert res.result["Status"] == "Login Succeeded"
    conf = json.loads(cfg.read_text())
    assert conf["auths"][basic_reg.host] == {"auth": b64("alice:" + USERS["alice"])}
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    # docker's format: skopeo (containers/image) reads the same file
    info = skopeo_inspect_authfile(basic_reg.host + "/priv/app:1", cfg)
    assert info["Layers"] == [basic_image.layers[0].digest]
    # pull with the stored credentials
    res = tool.run("pull", f"{basic_reg.host}/priv/app:1")
    assert res.result["image_id"] == basic_image.config_digest
    res = tool.run("logout", basic_reg.host)
    assert res.result["removed"] is True
    assert basic_reg.host not in json.loads(cfg.read_text())["auths"]
    res = tool.run("pull", f"{basic_reg.host}/priv/app:1", check=False)
    assert res.returncode == 1


def skopeo_inspect_authfile(ref, authfile):
    return json.loads(regutil.run(["skopeo", "inspect", "--tls-verify=false", "--authfile",
                                   str(authfile), f"docker://{ref}"]).stdout)


def test_basic_credentials_written_by_another_client(tool, basic_reg, basic_image):
    # skopeo login writes docker's auths format; berth reads it
    cfg = tool.config_dir / "config.json"
    regutil.run(["skopeo", "login", "--tls-verify=false", "--authfile", str(cfg), "-u", "bob",
                 "-p", USERS["bob"], basic_reg.host])
    assert basic_reg.host in json.loads(cfg.read_text())["auths"]
    res = tool.run("pull", f"{basic_reg.host}/priv/app:1")
    assert res.result["image_id"] == basic_image.config_digest


def test_basic_x_registry_auth(tool, basic_reg, basic_image):
    hdr = x_registry_auth(username="bob", password=USERS["bob"], serveraddress=basic_reg.host)
    res = tool.run("pull", f"{basic_reg.host}/priv/app:1", opts=["--registry-auth", hdr])
    assert res.result["image_id"] == basic_image.config_digest
    assert not (tool.config_dir / "config.json").exists()
    bad = x_registry_auth(username="bob", password="nope")
    res = tool.run("pull", f"{basic_reg.host}/priv/app:1", opts=["--registry-auth", bad], check=False)
    assert res.returncode == 1
    res = tool.run("pull", f"{basic_reg.host}/priv/app:1", opts=["--registry-auth", "%%%"], check=False)
    assert res.returncode == 1
    assert "X-Registry-Auth" in res.stderr


# ------------------------------------------------------------ token auth --

@pytest.fixture(scope="module")
def tokens(workdir):
    t = TokenServer(workdir, USERS).start()
    yield t
    t.stop()


@pytest.fixture(scope="module")
def token_reg(workdir, tokens):
    r = Registry(workdir, auth=tokens.registry_auth(), name="token").start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def token_images(workdir, token_reg, bb_layer):
    pub = Image([bb_layer, regutil.small_layer(300)])
    priv = Image([regutil.small_layer(301), regutil.small_layer(302)])
    for name, img in (("public/app", pub), ("private/app", priv)):
        layout = workdir / ("tok-" + name.replace("/", "-"))
        regutil.write_oci_layout(layout, [img], "1")
        skopeo_push(layout, "1", f"{token_reg.host}/{name}:1", creds="bob:" + USERS["bob"])
    return {"public": pub, "private": priv}


def test_token_anonymous_pull_of_public_repo(tool, tokens, token_reg, token_images):
    tokens.requests.clear()
    res = tool.run("pull", f"{token_reg.host}/public/app:1")
    assert res.result["image_id"] == token_images["public"].config_digest
    assert tokens.requests, "no token was requested"
    for r in tokens.requests:
        assert r["method"] == "GET" and r["user"] is None
        assert r["service"] == TokenServer.SERVICE
    assert ["repository:public/app:pull"] in [r["scopes"] for r in tokens.requests]
    # one token per scope, cached across the manifest, config and layer requests
    assert len(tokens.requests) == 1, tokens.requests


def test_token_private_repo_needs_credentials(tool, tokens, token_reg, token_images):
    res = tool.run("pull", f"{token_reg.host}/private/app:1", check=False)
    assert res.returncode == 1
    assert "pull access denied" in res.stderr or "unauthorized" in res.stderr, res.stderr
    tokens.requests.clear()
    hdr = x_registry_auth(username="bob", password=USERS["bob"])
    res = tool.run("pull", f"{token_reg.host}/private/app:1", opts=["--registry-auth", hdr])
    assert res.result["image_id"] == token_images["private"].config_digest
    assert all(r["user"] == "bob" for r in tokens.requests)
    assert len(tokens.requests) == 1


def test_token_login_stores_identity_token_and_refreshes_with_it(tool, tokens, token_reg, token_images):
    res = tool.run("login", token_reg.host, opts=["-u", "bob", "-p", "wrong"], check=False)
    assert res.returncode == 1
    assert "incorrect username or password" in res.stderr, res.stderr
    tokens.requests.clear()
    res = tool.run("login", token_reg.host, opts=["-u", "bob", "-p", USERS["bob"]])
    assert res.result["Status"] == "Login Succeeded"
    assert tokens.requests[-1]["offline"] == "true"
    entry = json.loads((tool.config_dir / "config.json").read_text())["auths"][token_reg.host]
    assert entry["identitytoken"].startswith("rt-")
    # the next pull trades the refresh token for an access token (OAuth2 POST)
    tokens.requests.clear()
    res = tool.run("pull", f"{token_reg.host}/private/app:1")
    assert res.result["image_id"] == token_images["private"].config_digest
    assert tokens.requests[0]["method"] == "POST"
    assert tokens.requests[0]["grant"] == "refresh_token"
    assert tokens.requests[0]["user"] == "bob"


def test_token_push_and_cross_repo_mount(tool, tokens, token_reg, token_images):
    hdr = x_registry_auth(username="bob", password=USERS["bob"])
    tool.run("pull", f"{token_reg.host}/public/app:1", opts=["--registry-auth", hdr])
    tool.run("tag", f"{token_reg.host}/public/app:1", f"{token_reg.host}/private/pushed:1")
    tokens.requests.clear()
    res = tool.run("push", f"{token_reg.host}/private/pushed:1", opts=["--registry-auth", hdr])
    assert len(events_with(res.events, "Mounted from public/app")) == 2, res.events
    scopes = [s for r in tokens.requests for s in r.get("scopes", [])]
    assert "repository:private/pushed:pull,push" in scopes
    assert "repository:public/app:pull" in scopes
    info = regutil.json.loads(regutil.run(["skopeo", "inspect", "--tls-verify=false", "--creds",
                                           "bob:" + USERS["bob"],
                                           f"docker://{token_reg.host}/private/pushed:1"]).stdout)
    assert info["Digest"] == res.result["digest"]
    # anonymous push is refused by the token server's grant
    tool.run("tag", f"{token_reg.host}/public/app:1", f"{token_reg.host}/public/nopush:1")
    res = tool.run("push", f"{token_reg.host}/public/nopush:1", check=False)
    assert res.returncode == 1
    assert "denied" in res.stderr or "unauthorized" in res.stderr, res.stderr


def test_token_expiring_mid_pull_is_renewed(tool, tokens, token_reg, token_images):
    """A 401 on a blob (the token expired) fetches a new token and goes on."""
    proxy = regutil.FaultProxy(token_reg.port).start()
    try:
        proxy.challenge = (f'Bearer realm="{tokens.realm}",service="{TokenServer.SERVICE}",'
                           'scope="repository:public/app:pull",error="invalid_token"')
        img = token_images["public"]
        proxy.fail_401[img.layers[1].digest] = 1
        proxy.fail_401["/manifests/"] = 1
        tokens.requests.clear()
        res = tool.run("pull", f"{proxy.host}/public/app:1")
        assert res.result["image_id"] == img.config_digest
        # the first token, a new one after the manifest's 401, one after the blob's
        assert len(tokens.requests) == 3, tokens.requests
    finally:
        proxy.stop()


def docker_cli(config_dir, *args, **kw):
    """The stock docker CLI with no daemon: login and logout run client side
    (docker 28 falls back to that when the daemon is unreachable)."""
    env = dict(os.environ, DOCKER_HOST=f"unix://{config_dir}/no-daemon.sock")
    return regutil.run(["/usr/local/bin/docker", "--config", str(config_dir), *args], env=env, **kw)


@pytest.mark.skipif(not os.path.exists("/usr/local/bin/docker"), reason="no docker CLI")
def test_docker_cli_login_works_for_berth_and_back(tool, basic_reg, basic_image, tmpdir_berth):
    # docker login → berth pulls with what it stored
    docker_cli(tool.config_dir, "login", "-u", "alice", "--password-stdin", basic_reg.host,
               input=USERS["alice"] + "\n")
    res = tool.run("pull", f"{basic_reg.host}/priv/app:1")
    assert res.result["image_id"] == basic_image.config_digest
    # berth login → docker logs in with the stored credentials, and logs out
    mine = tmpdir_berth / "berth-docker-config"
    berth = regutil.Tool(tool.root, mine)
    berth.run("login", basic_reg.host, opts=["-u", "bob", "-p", USERS["bob"]])
    # docker reads the entry berth wrote (its re-login then needs a daemon or a TTY)
    out = docker_cli(mine, "login", basic_reg.host, check=False)
    assert "Authenticating with existing credentials... [Username: bob]" in out.stdout + out.stderr, out
    docker_cli(mine, "logout", basic_reg.host)
    assert basic_reg.host not in json.loads((mine / "config.json").read_text())["auths"]


@pytest.mark.skipif(not os.path.exists("/usr/local/bin/docker"), reason="no docker CLI")
def test_docker_cli_token_login_then_berth_pulls(tool, tokens, token_reg, token_images):
    tokens.requests.clear()
    docker_cli(tool.config_dir, "login", "-u", "bob", "--password-stdin", token_reg.host,
               input=USERS["bob"] + "\n")
    entry = json.loads((tool.config_dir / "config.json").read_text())["auths"][token_reg.host]
    tokens.requests.clear()
    res = tool.run("pull", f"{token_reg.host}/private/app:1")
    assert res.result["image_id"] == token_images["private"].config_digest
    # docker asked for an offline token and kept the refresh token in docker's
    # format ({"auth": base64("bob:"), "identitytoken": …}); berth trades it
    # with the OAuth2 POST, the way docker's daemon does
    assert entry["auth"] == b64("bob:") and entry["identitytoken"].startswith("rt-")
    assert tokens.requests[0] == {"method": "POST", "grant": "refresh_token", "user": "bob",
                                  "scopes": ["repository:private/app:pull"]}


HELPER = r'''#!/usr/bin/python3
# docker-credential-berthtest: a credential helper keeping a JSON file
import json, os, sys
path = os.environ["BERTH_TEST_CREDSTORE"]
db = json.load(open(path)) if os.path.exists(path) else {}
action, data = sys.argv[1], sys.stdin.read()
with open(path + ".log", "a") as log:
    log.write(action + " " + (data.strip() if action != "store" else json.loads(data)["ServerURL"]) + "\n")
if action == "store":
    c = json.loads(data)
    db[c["ServerURL"]] = {"Username": c["Username"], "Secret": c["Secret"]}
elif action == "get":
    if data.strip() not in db:
        print("credentials not found in native keychain")
        sys.exit(1)
    c = db[data.strip()]
    print(json.dumps({"ServerURL": data.strip(), **c}))
elif action == "erase":
    db.pop(data.strip(), None)
json.dump(db, open(path, "w"))
'''


def test_credential_helper_store_get_erase(tool, basic_reg, basic_image, tmpdir_berth):
    bindir = tmpdir_berth / "bin"
    bindir.mkdir()
    helper = bindir / "docker-credential-berthtest"
    helper.write_text(HELPER)
    helper.chmod(0o755)
    store = tmpdir_berth / "credstore.json"
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}", BERTH_TEST_CREDSTORE=str(store))
    cfg = tool.config_dir / "config.json"
    cfg.write_text(json.dumps({"credsStore": "berthtest", "auths": {}}))
    tool.run("login", basic_reg.host, opts=["-u", "alice", "-p", USERS["alice"]], env=env)
    # the secret is in the helper; config.json keeps docker's empty entry
    assert json.loads(store.read_text()) == {basic_reg.host: {"Username": "alice",
                                                              "Secret": USERS["alice"]}}
    conf = json.loads(cfg.read_text())
    assert conf["auths"] == {basic_reg.host: {}} and conf["credsStore"] == "berthtest"
    res = tool.run("pull", f"{basic_reg.host}/priv/app:1", env=env)
    assert res.result["image_id"] == basic_image.config_digest
    assert f"get {basic_reg.host}" in (tmpdir_berth / "credstore.json.log").read_text()
    tool.run("logout", basic_reg.host, env=env)
    assert json.loads(store.read_text()) == {}
    assert json.loads(cfg.read_text())["auths"] == {}
    # a helper that is not installed: login says so, anonymous pulls still work
    cfg.write_text(json.dumps({"credHelpers": {basic_reg.host: "missing"}}))
    res = tool.run("login", basic_reg.host, opts=["-u", "alice", "-p", USERS["alice"]], check=False,
                   env=env)
    assert res.returncode == 1 and "docker-credential-missing" in res.stderr, res.stderr


def test_blob_redirects_do_not_leak_credentials(tool, basic_reg, basic_image):
    """Registries on object storage answer blob GETs with a redirect to
    another host: berth follows it without the registry's Authorization."""
    import http.server
    import threading
    seen = []

    class CDN(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            seen.append(dict(self.headers))
            data = basic_reg.blob_path(self.path.rsplit("/", 1)[-1]).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    cdn = http.server.ThreadingHTTPServer(("127.0.0.1", regutil.free_port()), CDN)
    t = threading.Thread(target=cdn.serve_forever, daemon=True)
    t.start()
    proxy = regutil.FaultProxy(basic_reg.port).start()
    try:
        proxy.redirect_blobs = f"http://127.0.0.1:{cdn.server_address[1]}"
        hdr = x_registry_auth(username="bob", password=USERS["bob"])
        res = tool.run("pull", f"{proxy.host}/priv/app:1", opts=["--registry-auth", hdr])
        assert res.result["image_id"] == basic_image.config_digest
        assert len(seen) == 2  # the config and the layer came from the CDN
        assert all("Authorization" not in h for h in seen), seen
        # while the registry itself did get the credentials
        assert any("Authorization" in r[2] for r in proxy.requests if "/manifests/" in r[1])
    finally:
        proxy.stop()
        cdn.shutdown()
        cdn.server_close()
        t.join()
