"""Helpers for the registry tests: Debian's docker-registry started on
127.0.0.1 (anonymous, htpasswd or token auth), a token server issuing JWTs
signed by a test key, a fault-injecting proxy (slow, reset, 503, tampered
bytes, concurrency count), OCI images built in Python from busybox-static and
pushed with skopeo, and the berth-registry-tool driver."""
import base64
import datetime
import gzip
import hashlib
import http.client
import http.server
import io
import json
import os
import pathlib
import platform
import shutil
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import urllib.parse

from berthtest import BUILD, ROOT, TMP_PREFIX, make_busybox_rootfs, run

REGISTRY_BIN = "/usr/bin/docker-registry"


def tool_path():
    return BUILD / "tests" / "unit" / "registry" / "berth-registry-tool"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def host_arch():
    m = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(m, m)


# ------------------------------------------------------------- the tool --

class Tool:
    """berth-registry-tool against one store root and docker config dir."""

    def __init__(self, root, config_dir):
        self.root = pathlib.Path(root)
        self.config_dir = pathlib.Path(config_dir)

    def cmd(self, *args, opts=()):
        return [str(tool_path()), "--root", str(self.root), "--config-dir", str(self.config_dir),
                *opts, *args]

    def run(self, *args, opts=(), check=True, **kw):
        res = run(self.cmd(*args, opts=opts), check=False, **kw)
        events, result = [], None
        for line in res.stdout.splitlines():
            if not line.strip():
                continue
            obj = json.loads(line)
            if "result" in obj:
                result = obj["result"]
            else:
                events.append(obj)
        res.events, res.result = events, result
        if check and res.returncode != 0:
            raise AssertionError(f"{args} exited {res.returncode}: {res.stderr}")
        return res

    def images(self):
        return self.run("images").result

    def layer_dir(self, diff_id):
        return self.root / "layers" / diff_id.split(":", 1)[1] / "diff"


# ---------------------------------------------------------- the registry --

class Registry:
    """docker-registry serving a temp storage dir on 127.0.0.1:<port>."""

    def __init__(self, workdir, auth=None, name="registry", tls=None):
        self.tls = tls  # {"cert": path, "key": path, "clientcas": [paths]}
        self.dir = pathlib.Path(workdir) / name
        self.dir.mkdir(parents=True)
        self.data = self.dir / "data"
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.auth = auth
        self.proc = None
        self.logfile = self.dir / "registry.log"

    def config(self):
        cfg = [
            "version: 0.1",
            "log:",
            "  level: debug",
            "  accesslog:",
            "    disabled: false",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.data}",
            "  delete:",
            "    enabled: true",
            "  maintenance:",
            "    uploadpurging:",
            "      enabled: false",
            "http:",
            f"  addr: 127.0.0.1:{self.port}",
            f"  secret: berth-test-{self.port}",
        ]
        if self.tls:
            cfg += ["  tls:", f"    certificate: {self.tls['cert']}", f"    key: {self.tls['key']}"]
            if self.tls.get("clientcas"):
                cfg += ["    clientcas:"] + [f"      - {p}" for p in self.tls["clientcas"]]
        if self.auth:
            cfg += self.auth
        return "\n".join(cfg) + "\n"

    def start(self):
        cfg = self.dir / "config.yml"
        cfg.write_text(self.config())
        self.log_fd = open(self.logfile, "wb")
        self.proc = subprocess.Popen([REGISTRY_BIN, "serve", str(cfg)], stdout=self.log_fd,
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {self.logfile.read_text()}")
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=1)
                s.close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not come up")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log_fd.close()

    def log(self):
        return self.logfile.read_text(errors="replace")

    def blob_path(self, digest):
        hexd = digest.split(":", 1)[1]
        return self.data / "docker/registry/v2/blobs/sha256" / hexd[:2] / hexd / "data"


class ScratchCA:
    """A throwaway CA issuing server and client certificates."""

    def __init__(self, workdir):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        self.x509, self.hashes, self.ser, self.ec, self.oid = x509, hashes, serialization, ec, NameOID
        self.dir = pathlib.Path(workdir)
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "berth test CA")])
        self.name = name
        self.cert = self._builder(name, self.key.public_key()).add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(self.key, hashes.SHA256())
        self.ca_file = self.dir / "ca.crt"
        self.ca_file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def _builder(self, subject, pub):
        now = datetime.datetime.utcnow()
        return (self.x509.CertificateBuilder().subject_name(subject).issuer_name(self.name)
                .public_key(pub).serial_number(self.x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=1)))

    def issue(self, stem, cn, ips=(), client=False):
        import ipaddress
        x509 = self.x509
        key = self.ec.generate_private_key(self.ec.SECP256R1())
        b = self._builder(x509.Name([x509.NameAttribute(self.oid.COMMON_NAME, cn)]), key.public_key())
        if ips:
            b = b.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]), critical=False)
        usage = x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH if client else x509.oid.ExtendedKeyUsageOID.SERVER_AUTH
        b = b.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        cert = b.sign(self.key, self.hashes.SHA256())
        cert_file, key_file = self.dir / f"{stem}.crt", self.dir / f"{stem}.key"
        cert_file.write_bytes(cert.public_bytes(self.ser.Encoding.PEM))
        key_file.write_bytes(key.private_bytes(self.ser.Encoding.PEM, self.ser.PrivateFormat.PKCS8,
                                               self.ser.NoEncryption()))
        return cert_file, key_file


def htpasswd_auth(workdir, users):
    path = pathlib.Path(workdir) / "htpasswd"
    for i, (user, pw) in enumerate(users.items()):
        run(["htpasswd", "-bB"] + (["-c"] if i == 0 else []) + [str(path), user, pw])
    return ["auth:", "  htpasswd:", "    realm: berth-basic", f"    path: {path}"]


# -------------------------------------------------------- token server --

def _libtrust_kid(public_key):
    """The key id docker's libtrust derives: base32 of the first 240 bits of
    sha256(DER SubjectPublicKeyInfo), in 12 groups of 4."""
    from cryptography.hazmat.primitives import serialization
    der = public_key.public_bytes(serialization.Encoding.DER,
                                  serialization.PublicFormat.SubjectPublicKeyInfo)
    s = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(s[i:i + 4] for i in range(0, 48, 4))


class TokenServer:
    """The Docker token flow's auth server: GET /token (basic or anonymous,
    offline_token for a refresh token) and POST /token (OAuth2 form)."""

    SERVICE = "berth-test-registry"
    ISSUER = "berth-test-issuer"

    def __init__(self, workdir, users, anonymous_pull=("public/",)):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        self.users = dict(users)
        self.anonymous_pull = anonymous_pull
        self.requests = []
        self.refresh_tokens = {}
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "berth-test-token-signer")])
        now = datetime.datetime.utcnow()
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=1))
                .sign(self.key, hashes.SHA256()))
        self.certfile = pathlib.Path(workdir) / "token-signer.pem"
        self.certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        self.kid = _libtrust_kid(self.key.public_key())
        self.port = free_port()
        self.realm = f"http://127.0.0.1:{self.port}/token"
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _reply(self, code, obj):
                body = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                u = urllib.parse.urlparse(self.path)
                q = urllib.parse.parse_qs(u.query)
                user = None
                authz = self.headers.get("Authorization", "")
                if authz.startswith("Basic "):
                    name, _, pw = base64.b64decode(authz[6:]).decode().partition(":")
                    if server.users.get(name) != pw:
                        server.requests.append({"method": "GET", "user": name, "denied": True})
                        return self._reply(401, {"details": "incorrect username or password"})
                    user = name
                scopes = q.get("scope", [])
                server.requests.append({"method": "GET", "user": user, "scopes": scopes,
                                        "service": q.get("service", [None])[0],
                                        "offline": q.get("offline_token", [""])[0]})
                resp = server.issue(user, scopes)
                if user and q.get("offline_token", [""])[0] == "true":
                    rt = "rt-" + os.urandom(8).hex()
                    server.refresh_tokens[rt] = user
                    resp["refresh_token"] = rt
                self._reply(200, resp)

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                form = urllib.parse.parse_qs(self.rfile.read(n).decode())
                grant = form.get("grant_type", [""])[0]
                scopes = " ".join(form.get("scope", [])).split()
                user = None
                if grant == "refresh_token":
                    user = server.refresh_tokens.get(form.get("refresh_token", [""])[0])
                elif grant == "password":
                    name = form.get("username", [""])[0]
                    if server.users.get(name) == form.get("password", [""])[0]:
                        user = name
                server.requests.append({"method": "POST", "grant": grant, "user": user,
                                        "scopes": scopes})
                if user is None:
                    return self._reply(401, {"error": "invalid_grant"})
                tok = server.issue(user, scopes)
                self._reply(200, {"access_token": tok["token"], "expires_in": 300,
                                  "scope": " ".join(scopes)})

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def issue(self, user, scopes):
        import jwt
        access = []
        for s in scopes:
            parts = s.split(":")
            if len(parts) < 3:
                continue
            typ, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
            if user is not None:
                granted = actions
            elif any(name.startswith(p) for p in self.anonymous_pull):
                granted = [a for a in actions if a == "pull"]
            else:
                granted = []
            access.append({"type": typ, "name": name, "actions": granted})
        now = int(time.time())
        claims = {"iss": self.ISSUER, "sub": user or "", "aud": self.SERVICE, "exp": now + 300,
                  "nbf": now - 10, "iat": now, "jti": os.urandom(8).hex(), "access": access}
        token = jwt.encode(claims, self.key, algorithm="ES256", headers={"kid": self.kid})
        return {"token": token, "access_token": token, "expires_in": 300,
                "issued_at": datetime.datetime.utcnow().isoformat() + "Z"}

    def registry_auth(self):
        return ["auth:", "  token:", f"    realm: {self.realm}", f"    service: {self.SERVICE}",
                f"    issuer: {self.ISSUER}", f"    rootcertbundle: {self.certfile}"]

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


# -------------------------------------------------------- fault proxy --

class FaultProxy:
    """A reverse proxy in front of a registry that can slow blob bodies,
    reset a connection mid-blob, answer 503, tamper with bytes, and counts
    concurrent blob downloads."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.requests = []
        self.active_blobs = 0
        self.max_active_blobs = 0
        self.delay_per_chunk = 0.0       # seconds between 64 KiB chunks of a blob
        self.slow_blobs = {}             # digest -> its own delay_per_chunk
        self.reset_after = {}            # digest -> bytes to send before a reset (once)
        self.fail_503 = {}               # path substring -> times to answer 503
        self.fail_401 = {}               # path substring -> times to answer 401 (token expired)
        self.tamper_manifest = False     # flip a byte of manifest bodies
        self.huge_manifest = False       # answer manifests with 5 MiB of JSON
        self.tamper_blob = set()         # digests whose body gets one byte flipped
        self.extra_bytes = set()         # digests whose body gets extra bytes
        self.ignore_range = False
        self.upload_delay = 0.0          # seconds to hold each blob upload (PUT/PATCH)
        self.active_uploads = 0
        self.max_active_uploads = 0
        self.challenge = None            # WWW-Authenticate sent with an injected 401
        self.redirect_blobs = None       # "http://host:port": answer blob GETs with a 307 there
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def handle_one(self):
                path = self.path
                # the body is read first: an injected error must not leave it
                # on a kept-alive connection
                n = int(self.headers.get("Content-Length", "0") or 0)
                body = self.rfile.read(n) if n else None
                with proxy.lock:
                    proxy.requests.append((self.command, path, dict(self.headers)))
                    for sub, n in list(proxy.fail_503.items()):
                        if sub in path and n > 0:
                            proxy.fail_503[sub] = n - 1
                            body = b'{"errors":[{"code":"UNAVAILABLE","message":"injected"}]}'
                            self.send_response(503)
                            self.send_header("Content-Length", str(len(body)))
                            self.end_headers()
                            self.wfile.write(body)
                            return
                    for sub, n in list(proxy.fail_401.items()):
                        if sub in path and n > 0:
                            proxy.fail_401[sub] = n - 1
                            body = b'{"errors":[{"code":"UNAUTHORIZED","message":"token expired"}]}'
                            self.send_response(401)
                            self.send_header("WWW-Authenticate", proxy.challenge or "")
                            self.send_header("Content-Length", str(len(body)))
                            self.end_headers()
                            self.wfile.write(body)
                            return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection",)}
                if proxy.ignore_range:
                    headers.pop("Range", None)
                if (proxy.redirect_blobs and self.command == "GET" and "/blobs/sha256:" in path):
                    # like a registry on object storage: a 307 to another host
                    self.send_response(307)
                    self.send_header("Location", proxy.redirect_blobs + "/cdn/" + path.rsplit("/", 1)[-1])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                is_upload = self.command in ("PUT", "PATCH") and "/blobs/uploads/" in path
                if is_upload:
                    with proxy.lock:
                        proxy.active_uploads += 1
                        proxy.max_active_uploads = max(proxy.max_active_uploads, proxy.active_uploads)
                    time.sleep(proxy.upload_delay)
                try:
                    up = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
                    up.request(self.command, path, body=body, headers=headers)
                    r = up.getresponse()
                finally:
                    if is_upload:
                        with proxy.lock:
                            proxy.active_uploads -= 1
                is_blob = "/blobs/sha256:" in path and self.command == "GET" and r.status in (200, 206)
                digest = path.rsplit("/", 1)[-1] if is_blob else None
                data = r.read()
                up.close()
                if proxy.huge_manifest and "/manifests/" in path and self.command == "GET":
                    data = b'{"pad":"' + b"x" * (5 << 20) + b'"}'
                if proxy.tamper_manifest and "/manifests/" in path and data:
                    data = data.replace(b'"schemaVersion":', b'"schemaVersion" :', 1)
                if digest in proxy.tamper_blob and data:
                    data = bytes([data[0] ^ 0xFF]) + data[1:]
                if digest in proxy.extra_bytes:
                    data = data + b"\0" * 4096
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() in ("content-length", "connection", "transfer-encoding"):
                        continue
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command == "HEAD":
                    return
                if not is_blob:
                    self.wfile.write(data)
                    return
                with proxy.lock:
                    proxy.active_blobs += 1
                    proxy.max_active_blobs = max(proxy.max_active_blobs, proxy.active_blobs)
                    reset_at = proxy.reset_after.pop(digest, None)
                try:
                    sent = 0
                    while sent < len(data):
                        chunk = data[sent:sent + 65536]
                        if reset_at is not None and sent + len(chunk) > reset_at:
                            self.wfile.write(data[sent:reset_at])
                            self.wfile.flush()
                            # An abrupt close (RST) mid-body, like a dropped connection.
                            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                                       b"\x01\x00\x00\x00\x00\x00\x00\x00")
                            self.close_connection = True
                            return
                        self.wfile.write(chunk)
                        sent += len(chunk)
                        delay = proxy.slow_blobs.get(digest, proxy.delay_per_chunk)
                        if delay:
                            self.wfile.flush()
                            time.sleep(delay)
                finally:
                    with proxy.lock:
                        proxy.active_blobs -= 1

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_one

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()

    def blob_gets(self, digest=None):
        return [r for r in self.requests if r[0] == "GET" and "/blobs/" in r[1]
                and (digest is None or r[1].endswith(digest))]


# ------------------------------------------------------------- images --

def _tarinfo_clean(ti):
    ti.mtime = 1700000000
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    return ti


def tar_of_dir(path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for entry in sorted(pathlib.Path(path).rglob("*")):
            tf.add(entry, arcname=str(entry.relative_to(path)), recursive=False, filter=_tarinfo_clean)
    return buf.getvalue()


def tar_of_files(files):
    """files: {path: bytes | ("dir",) | ("symlink", target)}."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, content in files.items():
            ti = tarfile.TarInfo(name)
            _tarinfo_clean(ti)
            if isinstance(content, tuple) and content[0] == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(ti)
            elif isinstance(content, tuple) and content[0] == "symlink":
                ti.type, ti.linkname = tarfile.SYMTYPE, content[1]
                tf.addfile(ti)
            else:
                ti.size, ti.mode = len(content), 0o644
                tf.addfile(ti, io.BytesIO(content))
    return buf.getvalue()


class Layer:
    def __init__(self, tar_bytes, compression="gzip"):
        self.tar = tar_bytes
        self.diff_id = sha256(tar_bytes)
        if compression == "gzip":
            self.blob = gzip.compress(tar_bytes, compresslevel=1, mtime=0)
        else:
            self.blob = tar_bytes
        self.digest = sha256(self.blob)
        self.size = len(self.blob)
        self.compression = compression


class Image:
    """An image built in memory: config + layers, written as an OCI layout
    and copied into a registry with skopeo."""

    def __init__(self, layers, arch=None, cmd=("/bin/sh",)):
        self.layers = layers
        self.arch = arch or host_arch()
        self.config = {
            "architecture": self.arch, "os": "linux", "created": "2026-01-01T00:00:00Z",
            "config": {"Cmd": list(cmd), "Env": ["PATH=/usr/bin:/bin"]},
            "rootfs": {"type": "layers", "diff_ids": [l.diff_id for l in layers]},
            "history": [{"created": "2026-01-01T00:00:00Z", "created_by": f"layer {i}"}
                        for i in range(len(layers))],
        }
        self.config_bytes = json.dumps(self.config, sort_keys=True).encode()
        self.config_digest = sha256(self.config_bytes)

    def oci_manifest(self):
        lt = {"gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
              "none": "application/vnd.oci.image.layer.v1.tar"}
        m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
             "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                        "digest": self.config_digest, "size": len(self.config_bytes)},
             "layers": [{"mediaType": lt[l.compression], "digest": l.digest, "size": l.size}
                        for l in self.layers]}
        return json.dumps(m, sort_keys=True).encode()

    def write_blobs(self, layout):
        blobs = pathlib.Path(layout) / "blobs" / "sha256"
        blobs.mkdir(parents=True, exist_ok=True)
        for digest, data in [(self.config_digest, self.config_bytes)] + \
                [(l.digest, l.blob) for l in self.layers]:
            (blobs / digest.split(":")[1]).write_bytes(data)
        man = self.oci_manifest()
        (blobs / sha256(man).split(":")[1]).write_bytes(man)
        return sha256(man), len(man)


def write_oci_layout(layout, images, tag, as_index=False):
    """One image (a manifest) or several (an OCI index) under tag."""
    layout = pathlib.Path(layout)
    layout.mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    descs = []
    for img in images:
        d, size = img.write_blobs(layout)
        descs.append({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": d,
                      "size": size, "platform": {"architecture": img.arch, "os": "linux"}})
    if as_index:
        idx = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                          "manifests": descs}, sort_keys=True).encode()
        (layout / "blobs/sha256" / sha256(idx).split(":")[1]).write_bytes(idx)
        top = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": sha256(idx),
               "size": len(idx)}
    else:
        top = dict(descs[0])
        top.pop("platform")
    top["annotations"] = {"org.opencontainers.image.ref.name": tag}
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))


def skopeo_push(layout, tag, dest, fmt=None, all_images=False, creds=None):
    cmd = ["skopeo", "copy", "--dest-tls-verify=false"]
    if fmt:
        cmd += ["--format", fmt]
    if all_images:
        cmd += ["--all"]
    if creds:
        cmd += ["--dest-creds", creds]
    run(cmd + [f"oci:{layout}:{tag}", f"docker://{dest}"], timeout=120)


def skopeo_inspect(ref, raw=False, creds=None):
    cmd = ["skopeo", "inspect", "--tls-verify=false"]
    if raw:
        cmd.append("--raw")
    if creds:
        cmd += ["--creds", creds]
    return json.loads(run(cmd + [f"docker://{ref}"]).stdout)


MANIFEST_TYPES = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json"])


def manifest_digest(port, repo, ref, headers=None):
    """sha256 of the exact manifest bytes the registry serves for ref."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", f"/v2/{repo}/manifests/{ref}", headers={"Accept": MANIFEST_TYPES, **(headers or {})})
    r = c.getresponse()
    body = r.read()
    c.close()
    assert r.status == 200, (r.status, body)
    assert r.getheader("Docker-Content-Digest") == sha256(body)
    return sha256(body)


def busybox_layer(workdir):
    rootfs = make_busybox_rootfs(pathlib.Path(workdir) / "busybox-rootfs")
    return Layer(tar_of_dir(rootfs))


def small_layer(i, size=4096):
    return Layer(tar_of_files({f"layer{i}": ("dir",),
                               f"layer{i}/data.bin": os.urandom(size),
                               f"layer{i}/name": f"layer {i}\n".encode()}))


def events_with(events, status):
    return [e for e in events if e.get("status") == status]
