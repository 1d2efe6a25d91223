# bench/build's floor: a stand-in engine on a unix socket that answers
# /_ping and /version and takes POST /build's context and throws it away,
# so the docker CLI's own share of a build (walk, tar, send 50 MB) is timed
# alone. Not an engine: nothing is built. Usage: sink.py <socket path>
import socketserver, http.server, sys, os, json
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_HEAD(self): self.do_GET()
    def do_GET(self):
        body = b"OK" if "_ping" in self.path else json.dumps({"ApiVersion": "1.47", "Version": "27.0.0", "Os": "linux", "Arch": "amd64", "MinAPIVersion": "1.24"}).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.send_header("Api-Version", "1.47"); self.end_headers()
        if self.command != "HEAD": self.wfile.write(body)
    def do_POST(self):
        n = 0
        if self.headers.get("Transfer-Encoding") == "chunked":
            while True:
                line = self.rfile.readline(); size = int(line.strip().split(b";")[0], 16)
                if size == 0: self.rfile.readline(); break
                left = size
                while left: d = self.rfile.read(min(left, 1 << 20)); left -= len(d); n += len(d)
                self.rfile.readline()
        else:
            left = int(self.headers.get("Content-Length", 0))
            while left: d = self.rfile.read(min(left, 1 << 20)); left -= len(d); n += len(d)
        out = (json.dumps({"aux": {"ID": "sha256:" + "0" * 64}}) + "\n" + json.dumps({"stream": "sha256:" + "0" * 64 + "\n"}) + "\n").encode()
        self.send_response(200); self.send_header("Content-Type", "application/json"); self.send_header("Content-Length", str(len(out))); self.end_headers(); self.wfile.write(out)
class S(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    def get_request(self):
        r, _ = super().get_request(); return r, ("local", 0)
p = sys.argv[1]
if os.path.exists(p): os.unlink(p)
S(p, H).serve_forever()
