"""docker search through the library: GET /v1/search on the index the term
names (a registry host prefix), results in the Engine API's shape. The
distribution registry has no v1 search, so a small index server stands in."""
import http.server
import json
import threading
import urllib.parse

import pytest

import regutil


@pytest.fixture
def index():
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            u = urllib.parse.urlparse(self.path)
            seen.append((u.path, urllib.parse.parse_qs(u.query)))
            if u.path != "/v1/search":
                self.send_response(404)
                self.end_headers()
                return
            body = json.dumps({"num_results": 2, "query": "busy", "results": [
                {"name": "library/busybox", "description": "tiny", "star_count": 3,
                 "is_official": True, "is_automated": False},
                {"name": "team/busy", "star_count": 0},
                {"description": "entry without a name is dropped"},
            ]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", regutil.free_port()), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv.server_address[1], seen
    srv.shutdown()
    srv.server_close()
    t.join()


def test_search_on_a_registry_host(tool, index):
    port, seen = index
    res = tool.run("search", f"127.0.0.1:{port}/busy box")
    assert res.result == [
        {"name": "library/busybox", "description": "tiny", "star_count": 3,
         "is_official": True, "is_automated": False},
        {"name": "team/busy", "description": "", "star_count": 0,
         "is_official": False, "is_automated": False},
    ]
    assert seen[-1] == ("/v1/search", {"q": ["busy box"], "n": ["25"]})


def test_search_errors(tool, index):
    port, _ = index
    res = tool.run("search", "127.0.0.1:1/x", check=False)
    assert res.returncode == 1 and "127.0.0.1:1" in res.stderr
    res = tool.run("search", "", check=False)
    assert res.returncode != 0
