"""Events (trace 13), the audit log, the request policy and TCP with
mutual TLS."""
import json
import os
import select
import socket
import subprocess
import time

import pytest

from berthtest import make_tls_certs
from conftest import DOCKER


def test_events_since_until_and_filters(berthd):
    start = time.time()
    berthd.docker("volume", "create", "ev1")
    berthd.docker("volume", "rm", "ev1")
    r = berthd.api("GET", "/v1.41/events", query={"since": f"{start - 1:.0f}",
                                                  "until": f"{time.time() + 1:.3f}"})
    assert r.status == 200 and r.headers["Content-Type"] == "application/json"
    evs = r.lines()
    assert [(e["Type"], e["Action"], e["Actor"]["ID"]) for e in evs] == [
        ("volume", "create", "ev1"), ("volume", "destroy", "ev1")]
    assert evs[0]["Actor"]["Attributes"] == {"driver": "local"}
    assert evs[0]["scope"] == "local" and evs[0]["timeNano"] // 10**9 == evs[0]["time"]
    # the CLI: --since/--until, --filter, --format
    out = berthd.docker("events", "--since", f"{start - 1:.0f}", "--until", "0s",
                        "--filter", "event=destroy", "--format", "{{json .}}").stdout
    lines = [json.loads(l) for l in out.splitlines()]
    assert [(e["Action"], e["Actor"]["ID"]) for e in lines] == [("destroy", "ev1")]
    out = berthd.docker("events", "--since", f"{start - 1:.0f}", "--until", "0s",
                        "--filter", "type=image").stdout
    assert out == ""
    r = berthd.api("GET", "/v1.41/events", query={"since": "yesterday"})
    assert r.status == 400 and "invalid timestamp" in r.json()["message"]
    r = berthd.api("GET", "/v1.41/events", query={"filters": '{"colour":{"red":true}}'})
    assert r.status == 400 and r.json()["message"] == "Invalid filter 'colour'"


def test_events_stream_live(berthd):
    proc = subprocess.Popen([DOCKER, "events", "--filter", "type=volume", "--format", "{{json .}}"],
                            env=berthd.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # wait until the subscription exists: the CLI pings, then subscribes
        deadline = time.time() + 10
        got = None
        n = 0
        while got is None and time.time() < deadline:
            n += 1
            berthd.docker("volume", "create", f"live{n}")
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if ready:
                got = json.loads(proc.stdout.readline())
        assert got is not None, "no event arrived"
        assert got["Type"] == "volume" and got["Action"] == "create"
        assert got["Actor"]["ID"].startswith("live")
        # and the next one arrives too
        berthd.docker("volume", "rm", got["Actor"]["ID"])
        nxt = json.loads(proc.stdout.readline())
        assert (nxt["Action"], nxt["Actor"]["ID"]) == ("destroy", got["Actor"]["ID"])
    finally:
        proc.kill()
        proc.wait()
    # the subscriber is gone; the daemon goes on
    berthd.docker("volume", "create", "after")
    assert berthd.api("GET", "/_ping").status == 200


def test_audit_log(berthd):
    berthd.docker("volume", "create", "aud")
    berthd.docker("volume", "inspect", "aud")
    lines = berthd.audit_lines()
    create = [l for l in lines if l["method"] == "POST" and l["path"] == "/v1.47/volumes/create"]
    assert len(create) == 1
    c = create[0]
    assert c["status"] == 201 and c["uid"] == 0 and c["pid"] > 0 and c["decision"] == "allow"
    assert c["duration_us"] >= 0 and c["time"].endswith("Z")
    assert any(l["method"] == "HEAD" and l["path"] == "/_ping" for l in lines)
    inspect = [l for l in lines if l["path"] == "/v1.47/volumes/aud"]
    assert inspect and inspect[0]["status"] == 200
    # errors are audited too; the line is written when the request completes,
    # which may be just after the client has its answer
    berthd.api("GET", "/v1.41/volumes/missing")
    deadline = time.time() + 10
    missing = []
    while not missing and time.time() < deadline:
        missing = [l for l in berthd.audit_lines() if l["path"] == "/v1.41/volumes/missing"]
        if not missing:
            time.sleep(0.02)
    assert missing and missing[0]["status"] == 404


def test_policy_denies(berthd_factory, tmpdir_berth):
    policy = tmpdir_berth / "policy.json"
    policy.write_text(json.dumps({"rules": [
        {"action": "deny", "methods": ["DELETE"], "paths": ["/volumes/**"],
         "uids": [0], "comment": "volumes are kept"},
    ]}))
    d = berthd_factory(config={"policy": str(policy)})
    d.docker("volume", "create", "kept")
    res = d.docker("volume", "rm", "kept", check=False)
    assert res.returncode == 1
    assert "authorization denied by policy: DELETE /volumes/kept: volumes are kept" in res.stderr
    assert "kept" in d.docker("volume", "ls", "-q").stdout
    denied = [l for l in d.audit_lines() if l["decision"] == "deny"]
    assert len(denied) == 1 and denied[0]["status"] == 403
    assert denied[0]["reason"] == "volumes are kept" and denied[0]["method"] == "DELETE"
    # everything else is allowed
    d.docker("volume", "create", "other")


def test_bad_policy_refused(berthd_factory, tmpdir_berth):
    policy = tmpdir_berth / "bad-policy.json"
    policy.write_text('{"rules":[{"action":"drop"}]}')
    d = berthd_factory(args=["--policy", str(policy)], start=False)
    res = subprocess.run(d.command(), capture_output=True, text=True, timeout=20)
    assert res.returncode == 1
    assert "policy.rules[0].action" in res.stderr and str(policy) in res.stderr
    assert not d.socket.exists()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def certs(tmpdir_berth):
    return make_tls_certs(tmpdir_berth / "certs")


def test_tcp_mutual_tls(berthd_factory, certs):
    port = free_port()
    d = berthd_factory(args=["-H", f"tcp://127.0.0.1:{port}", "--tlsverify",
                             "--tlscacert", str(certs / "ca.pem"),
                             "--tlscert", str(certs / "server.pem"),
                             "--tlskey", str(certs / "server.key")])
    # the unix socket still serves
    assert d.api("GET", "/_ping").status == 200
    env = d.env({"DOCKER_HOST": f"tcp://127.0.0.1:{port}", "DOCKER_TLS_VERIFY": "1"})
    base = [DOCKER, "--tlsverify", "--tlscacert", str(certs / "ca.pem")]
    ok = subprocess.run(base + ["--tlscert", str(certs / "client.pem"), "--tlskey", str(certs / "client.key"),
                                "version", "--format", "{{.Server.APIVersion}}"],
                        env=env, capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "1.47"
    rogue = subprocess.run(base + ["--tlscert", str(certs / "rogue.pem"), "--tlskey", str(certs / "rogue.key"),
                                   "volume", "ls"], env=env, capture_output=True, text=True, timeout=30)
    assert rogue.returncode != 0
    # without a client certificate: curl gets the daemon's refusal
    res = subprocess.run(["curl", "-s", "--cacert", str(certs / "ca.pem"),
                          f"https://127.0.0.1:{port}/v1.41/volumes"], capture_output=True, text=True, timeout=30)
    assert "certificate" in res.stdout or res.returncode != 0
    assert "Volumes" not in res.stdout
    tcp = [l for l in d.audit_lines() if l["uid"] is None]
    assert tcp and any(l["status"] == 200 for l in tcp)
