"""Optional differential suite of berthd's Engine API: the same requests,
step by step, against berthd and the reference engine (Debian's docker.io
dockerd on its own socket, data root and exec root; refengine.py), and a
comparison of the answers' shapes: status codes, Content-Type, the keys of
every JSON object recursively with their value types (null, list, object,
string, number, bool), the wording of the error messages clients print,
and the stream framing (multiplexed 8-byte headers without a tty, raw with
one). Values are compared only where a client acts on them (exit codes,
states); ids, times and sizes never.

Differences that are legitimate are in ALLOW below, each with its reason
(the allowed ones are printed, and the fixture prints entries no
difference needed); anything else fails the test with a list of
`step | key path: berth …, dockerd …`. The comparing is apidiff.py's.

Run it (dockerd installed; dockerd leaves state behind that CI's strict
leak check would flag, hence the opt-in):
    BERTH_API_DIFFERENTIAL=1 BERTH_LEAK_SCOPE=own make integration \\
        TESTS=tests/integration/daemon/test_reference_api.py
"""
import base64
import io
import json
import os
import pathlib
import secrets
import shutil
import tarfile
import tempfile
import time

import pytest

from apidiff import (Diff, Side, both, compare, compare_hijacked, frames, fresh, joined,
                     json_lines, norm, poll, read_to_eof, steps, tname)
from berthtest import TMP_PREFIX, make_busybox_rootfs
from conftest import Berthd, Response, UnixHTTPConnection
from refengine import DOCKERD, start_or_skip

pytestmark = pytest.mark.skipif(
    os.environ.get("BERTH_API_DIFFERENTIAL") != "1" or not os.access(DOCKERD, os.X_OK),
    reason="the Engine API differential suite runs with BERTH_API_DIFFERENTIAL=1 "
           "and Debian's docker.io (dockerd) installed")

IMAGE = "busybox:apidiff"
V = "/v1.41"

# "step | key path" globs (fnmatch) whose difference is expected, and why.
# A path is dotted; "[]" stands for every element of a list and "*" for
# every key of an object keyed by data (labels, networks, ports).
ALLOW = {
    # ----- values of this engine, never the same in two engines
    "* | GraphDriver.Data*": "the storage driver's own data: dockerd's overlay2 LowerDir/"
                             "MergedDir/UpperDir/WorkDir vs berth's layer store",
    "* _ping | Api-Version": "berth serves API 1.24 to 1.47, docker.io 20.10 1.12 to 1.41",
    "version values | *APIVersion": "berth serves API 1.24 to 1.47, docker.io 20.10 1.12 to 1.41",
    "version values | ApiVersion": "berth serves API 1.24 to 1.47, docker.io 20.10 1.12 to 1.41",
    "too new version | message": "the same wording with each engine's maximum API version",
    # ----- berth answers as later engines do (same words for the CLI to print)
    "tag bad * | status": "400 (errdefs.InvalidParameter of later engines) vs 20.10's bare 500",
    "tag bad repo | message": "berth: 400 and distribution/reference's newer wording 'repository name "
                        "(library/BAD) must be lowercase'; 20.10: a bare 500 and the old wording",
    "unpause running | status": "409 (errdefs.Conflict of later engines) vs 20.10's bare 500; "
                                "same message",
    "disconnect again | status": "404 (the endpoint is not there) vs 20.10's bare 500; same message",
    "logs* | Content-Type": "berth names the stream (application/vnd.docker.raw-stream) as later "
                           "engines do; 20.10 sends no Content-Type for logs",
    # ----- berth validates at create what dockerd 20.10 lets through
    "create no image | *": "20.10 creates a container without an image (it fails at start); berth "
                           "refuses at create: 400 'Config.Image: No image specified'",
    "create bad port | *": "20.10 accepts ExposedPorts {'abc/tcp': {}}; berth refuses it (400)",
    "wait bad condition | *": "20.10 never answers a wait with an unknown condition; berth 400",
    "list bad filter json | *": "20.10 answers a 500 with Go's JSON decoder message; berth 400 "
                                "naming the filters parameter",
    "create bad json | *": "20.10 answers a 500 with Go's JSON decoder message; berth 400 with "
                           "the parser's position",
    "* bad restart | message": "berth's messages name the field (HostConfig.RestartPolicy.Name: "
                               "…) before dockerd's words, as every create error of berth does",
    "build no Dockerfile | status": "400 (a bad parameter) vs 20.10's bare 500; same message",
    "build missing base | errors": "the resolver's words: Go's net package vs libcurl's",
    "build missing base | line keys": "berth's builder streams the pull's progress "
                                      "({id, status}) before the error, as a pull does",
    "load garbage | *": "berth answers 400 with the message before streaming; 20.10 a 200 "
                        "whose stream ends with an error line; the CLI prints and exits 1 "
                        "either way (docker-py's load_image raises only for berth's)",
    "inspect built | ContainerConfig.Labels": "the classic builder's container_config.Labels is "
                                              "null, dockerd's {}; in src/build (another "
                                              "helper's area), clients read Config.Labels",
    # ----- deliberate
    "* | *IPAM.Config[].Gateway": "berth shows the gateway it assigned in a network's IPAM config; "
                                 "dockerd only echoes configured keys (the address is the same)",
    "stats | blkio_stats.io_*": "berth reads the two blkio files docker stats shows "
                                "(io_service_bytes/io_serviced); the other v1 lists are absent",
    "events | count of volume create": "dockerd emits a second volume create when a container "
                                       "names an existing volume (its get-or-create); berth "
                                       "emits one per volume made",
    "stats | blkio_stats.sectors_recursive": "as blkio_stats.io_*",
}

# /info keys a client reads (docker info's template, compose, docker-py)
INFO_KEYS = ("ID", "Containers", "ContainersRunning", "ContainersPaused", "ContainersStopped",
             "Images", "Driver", "DriverStatus", "MemoryLimit", "SwapLimit", "CpuCfsPeriod",
             "CpuCfsQuota", "IPv4Forwarding", "Debug", "NFd", "NGoroutines", "SystemTime",
             "LoggingDriver", "CgroupDriver", "CgroupVersion", "NEventsListener", "KernelVersion",
             "OperatingSystem", "OSType", "Architecture", "NCPU", "MemTotal", "DockerRootDir",
             "Name", "Labels", "ExperimentalBuild", "ServerVersion", "Runtimes", "DefaultRuntime",
             "Swarm", "LiveRestoreEnabled", "Isolation", "SecurityOptions", "RegistryConfig",
             "IndexServerAddress", "HttpProxy", "HttpsProxy", "NoProxy", "Plugins",
             "Warnings")
VERSION_KEYS = ("Version", "ApiVersion", "MinAPIVersion", "GitCommit", "GoVersion", "Os", "Arch",
                "KernelVersion", "BuildTime", "Platform", "Components")


@pytest.fixture(scope="module")
def engines():
    root = pathlib.Path(tempfile.mkdtemp(prefix=TMP_PREFIX + "apidiff-"))
    try:
        ref = start_or_skip(root / "ref")
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    (root / "b").mkdir()
    b = Berthd(root / "b")
    try:
        b.start()
        sides = (Side("berth", b.socket, b.docker), Side("dockerd", ref.socket, ref.docker))
        rootfs = make_busybox_rootfs(root / "rootfs")
        tar = root / "bb.tar"
        with tarfile.open(tar, "w") as t:
            t.add(rootfs, arcname=".")
        for s in sides:
            s.docker("import", "-c", 'CMD ["sh"]', tar, IMAGE)
        yield sides
        for s in sides:
            ids = s.docker("ps", "-aq", check=False).stdout.split()
            if ids:
                s.docker("rm", "-f", *ids, check=False)
            s.docker("network", "prune", "-f", check=False)
        unused = sorted(set(ALLOW) - Diff.used)
        if unused:
            print("allow-list entries no difference needed this run:", unused)
    finally:
        errors = ref.stop()
        b.stop()
        b.destroy_network()
        shutil.rmtree(root, ignore_errors=True)
    assert not errors, errors



# ---------------------------------------------------------------- tests --

def test_container_lifecycle(engines):
    d, n = Diff(ALLOW), fresh("ad-c")
    body = {"Image": IMAGE, "Cmd": ["sh", "-c", "echo out; echo err >&2; exec sleep 300"],
            "Labels": {"k": "v"}, "Env": ["A=1"], "AttachStdout": True, "AttachStderr": True,
            "HostConfig": {"NetworkMode": "none", "RestartPolicy": {"Name": "no"}}}
    compare(d, "create", *both(engines, "POST", V + f"/containers/create?name={n}", body))
    compare(d, "inspect created", *both(engines, "GET", V + f"/containers/{n}/json"))
    compare(d, "start", *both(engines, "POST", V + f"/containers/{n}/start"))
    compare(d, "start started", *both(engines, "POST", V + f"/containers/{n}/start"))
    b, r = compare(d, "inspect running", *both(engines, "GET", V + f"/containers/{n}/json"))
    d.value("inspect running", "State.Status", b["State"]["Status"], r["State"]["Status"])
    b, r = compare(d, "list", *both(engines, "GET", V + f'/containers/json?filters={{"name":["{n}"]}}'))
    d.value("list", "len", len(b), len(r))
    # compose lists its project's containers by label, many times (trace 15)
    b, r = compare(d, "list by label", *both(engines, "GET", V + f'/containers/json?all=1&filters='
                                             f'{{"label":["k=v"],"name":["{n}"]}}'))
    d.value("list by label", "len", len(b), len(r))
    for s in engines:  # logs hold both lines once the shell wrote them
        poll("logs", lambda: b"err" in s.api("GET", V + f"/containers/{n}/logs?stderr=1").body)
    rb, rr = both(engines, "GET", V + f"/containers/{n}/logs?stdout=1&stderr=1&tail=all")
    compare(d, "logs", rb, rr, json_body=False)
    fb, fr = frames(rb.body), frames(rr.body)
    d.value("logs", "multiplexed", fb is not None, fr is not None)
    if fb is not None and fr is not None:
        for stream in (1, 2):
            d.value("logs", f"stream {stream}", joined(fb, stream), joined(fr, stream))
    b, r = compare(d, "top", *both(engines, "GET", V + f"/containers/{n}/top"))
    compare(d, "stats", *both(engines, "GET", V + f"/containers/{n}/stats?stream=0"))
    compare(d, "pause", *both(engines, "POST", V + f"/containers/{n}/pause"))
    b, r = compare(d, "inspect paused", *both(engines, "GET", V + f"/containers/{n}/json"))
    d.value("inspect paused", "State.Status", b["State"]["Status"], r["State"]["Status"])
    compare(d, "unpause", *both(engines, "POST", V + f"/containers/{n}/unpause"))
    compare(d, "rm running", *both(engines, "DELETE", V + f"/containers/{n}"))
    compare(d, "stop", *both(engines, "POST", V + f"/containers/{n}/stop?t=1"))
    compare(d, "stop stopped", *both(engines, "POST", V + f"/containers/{n}/stop?t=1"))
    b, r = compare(d, "wait", *both(engines, "POST", V + f"/containers/{n}/wait"))
    d.value("wait", "StatusCode", b["StatusCode"], r["StatusCode"])
    b, r = compare(d, "inspect exited", *both(engines, "GET", V + f"/containers/{n}/json"))
    for k in ("Status", "Running", "ExitCode", "OOMKilled", "Error"):
        d.value("inspect exited", f"State.{k}", b["State"][k], r["State"][k])
    compare(d, "list all", *both(engines, "GET", V + f'/containers/json?all=1&filters={{"name":["{n}"]}}'))
    compare(d, "rm", *both(engines, "DELETE", V + f"/containers/{n}?v=1"))
    compare(d, "inspect removed", *both(engines, "GET", V + f"/containers/{n}/json"))
    compare(d, "rm removed", *both(engines, "DELETE", V + f"/containers/{n}"))

    # a tty container: its logs are the raw bytes, no frame headers
    tty = dict(body, Tty=True, Cmd=["echo", "hi"], Labels={})
    compare(d, "create tty", *both(engines, "POST", V + f"/containers/create?name={n}-t", tty))
    compare(d, "start tty", *both(engines, "POST", V + f"/containers/{n}-t/start"))
    b, r = compare(d, "wait tty", *both(engines, "POST", V + f"/containers/{n}-t/wait"))
    rb, rr = both(engines, "GET", V + f"/containers/{n}-t/logs?stdout=1&stderr=1")
    compare(d, "logs tty", rb, rr, json_body=False)
    d.value("logs tty", "body", rb.body.replace(b"\r", b""), rr.body.replace(b"\r", b""))
    compare(d, "rm tty", *both(engines, "DELETE", V + f"/containers/{n}-t"))
    d.check()


def test_run_attached(engines):
    """docker run without -d (traces 02, 03): create, attach (hijacked),
    wait?condition=next-exit and removed, start; the stream, the exit code."""
    d, n = Diff(ALLOW), fresh("ad-r")
    body = {"Image": IMAGE, "Cmd": ["sh", "-c", "echo out; echo err >&2; exit 3"],
            "AttachStdout": True, "AttachStderr": True,
            "HostConfig": {"NetworkMode": "none", "AutoRemove": True}}
    compare(d, "create", *both(engines, "POST", V + f"/containers/create?name={n}", body))
    got = {}
    for s in engines:
        status, headers, sock, rest = s.upgrade(V + f"/containers/{n}/attach?stderr=1&stdout=1&stream=1")
        waits = []
        for cond in ("next-exit", "removed"):
            w = UnixHTTPConnection(s.sock, timeout=30)
            w.request("POST", V + f"/containers/{n}/wait?condition={cond}")
            waits.append(w)
        started = s.api("POST", V + f"/containers/{n}/start")
        with sock:
            stream = rest + read_to_eof(sock)
        answers = []
        for w in waits:
            resp = w.getresponse()
            answers.append(Response(resp.status, resp.reason, resp.headers, resp.read()))
            w.close()
        got[s.name] = (status, headers, stream, started, answers)
    b, r = got["berth"], got["dockerd"]
    compare_hijacked(d, "attach", b[:3], r[:3])
    compare(d, "start", b[3], r[3])
    for i, cond in enumerate(("next-exit", "removed")):
        wb, wr = compare(d, f"wait {cond}", b[4][i], r[4][i])
        d.value(f"wait {cond}", "StatusCode", wb and wb["StatusCode"], wr and wr["StatusCode"])
    compare(d, "inspect removed", *both(engines, "GET", V + f"/containers/{n}/json"))
    d.check()


def test_files_commit_restart(engines):
    """docker cp both ways, diff, commit, export (trace 11), restart and
    rename (trace 03)."""
    d, n = Diff(ALLOW), fresh("ad-f")
    body = {"Image": IMAGE, "Cmd": ["sleep", "300"], "HostConfig": {"NetworkMode": "none"}}
    both(engines, "POST", V + f"/containers/create?name={n}", body)
    both(engines, "POST", V + f"/containers/{n}/start")
    rb, rr = both(engines, "HEAD", V + f"/containers/{n}/archive?path=/etc/passwd")
    compare(d, "archive head", rb, rr, json_body=False)
    stats = [json.loads(base64.b64decode(x.headers.get("X-Docker-Container-Path-Stat") or "bnVsbA=="))
             for x in (rb, rr)]
    d.shapes("archive head stat", *stats)
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as t:
        info = tarfile.TarInfo("f")
        info.size, info.mode = 3, 0o644
        t.addfile(info, io.BytesIO(b"hi\n"))
    compare(d, "archive put", *both(engines, "PUT", V + f"/containers/{n}/archive?"
                                    "noOverwriteDirNonDir=true&path=/tmp", tar.getvalue()))
    compare(d, "archive put missing dir", *both(engines, "PUT", V + f"/containers/{n}/archive?"
                                                "path=/nosuch", tar.getvalue()))
    rb, rr = both(engines, "GET", V + f"/containers/{n}/archive?path=/tmp/f")
    compare(d, "archive get", rb, rr, json_body=False)
    files = []
    for x in (rb, rr):
        with tarfile.open(fileobj=io.BytesIO(x.body)) as t:
            files.append([(m.name, t.extractfile(m).read()) for m in t.getmembers()])
    d.value("archive get", "members", *files)
    b, r = compare(d, "changes", *both(engines, "GET", V + f"/containers/{n}/changes"))
    d.value("changes", "/tmp", [c for c in b if c["Path"].startswith("/tmp")],
            [c for c in r if c["Path"].startswith("/tmp")])
    rb, rr = both(engines, "POST", V + f"/commit?author=&changes=ENV+Z%3D1&comment=&container={n}"
                  f"&repo=docker.io%2Flibrary%2F{n}&tag=latest")
    compare(d, "commit", rb, rr)
    b, r = compare(d, "inspect committed", *both(engines, "GET", V + f"/images/{n}/json"))
    d.value("inspect committed", "Config.Env", b["Config"]["Env"], r["Config"]["Env"])
    d.value("inspect committed", "Config.Cmd", b["Config"]["Cmd"], r["Config"]["Cmd"])
    b, r = compare(d, "rmi committed", *both(engines, "DELETE", V + f"/images/{n}"))
    d.value("rmi committed", "keys", [sorted(x) for x in b], [sorted(x) for x in r])
    rb, rr = both(engines, "GET", V + f"/containers/{n}/export")
    compare(d, "export", rb, rr, json_body=False)
    compare(d, "restart", *both(engines, "POST", V + f"/containers/{n}/restart?t=1"))
    b, r = compare(d, "inspect restarted", *both(engines, "GET", V + f"/containers/{n}/json"))
    d.value("inspect restarted", "State.Status", b["State"]["Status"], r["State"]["Status"])
    compare(d, "rename", *both(engines, "POST", V + f"/containers/{n}/rename?name={n}-r"))
    b, r = compare(d, "inspect renamed", *both(engines, "GET", V + f"/containers/{n}-r/json"))
    d.value("inspect renamed", "Name", b["Name"], r["Name"])
    both(engines, "DELETE", V + f"/containers/{n}-r?force=1")
    d.check()


def test_exec(engines):
    d, n = Diff(ALLOW), fresh("ad-e")
    body = {"Image": IMAGE, "Cmd": ["sleep", "300"], "HostConfig": {"NetworkMode": "none"}}
    compare(d, "create", *both(engines, "POST", V + f"/containers/create?name={n}", body))
    compare(d, "exec on created", *both(engines, "POST", V + f"/containers/{n}/exec",
                                        {"Cmd": ["true"]}))
    both(engines, "POST", V + f"/containers/{n}/start")
    ex = {"Cmd": ["sh", "-c", "echo o; echo e >&2; exit 3"], "AttachStdout": True,
          "AttachStderr": True}
    rb, rr = both(engines, "POST", V + f"/containers/{n}/exec", ex)
    compare(d, "exec create", rb, rr)
    ids = {"berth": rb.json()["Id"], "dockerd": rr.json()["Id"]}
    eid = lambda s: {"e": ids[s.name]}  # noqa: E731
    compare(d, "exec inspect created", *both(engines, "GET", V + "/exec/{e}/json", fmt=eid))
    compare_hijacked(d, "exec start", *[s.hijack(V + f"/exec/{ids[s.name]}/start",
                                                 {"Detach": False, "Tty": False})
                                         for s in engines])
    for s in engines:
        poll("exec exit", lambda: not s.api("GET", V + f"/exec/{ids[s.name]}/json").json()["Running"])
    b, r = compare(d, "exec inspect exited", *both(engines, "GET", V + "/exec/{e}/json", fmt=eid))
    d.value("exec inspect exited", "ExitCode", b["ExitCode"], r["ExitCode"])
    # with a tty: raw bytes
    rb, rr = both(engines, "POST", V + f"/containers/{n}/exec",
                  {"Cmd": ["echo", "tty"], "Tty": True, "AttachStdout": True})
    compare(d, "exec create tty", rb, rr)
    ids = {"berth": rb.json()["Id"], "dockerd": rr.json()["Id"]}
    hb, hr = [s.hijack(V + f"/exec/{ids[s.name]}/start", {"Detach": False, "Tty": True})
              for s in engines]
    d.value("exec start tty", "status", hb[0], hr[0])
    d.value("exec start tty", "content-type", hb[1].get("content-type"), hr[1].get("content-type"))
    d.value("exec start tty", "body", hb[2], hr[2])
    # detached
    rb, rr = both(engines, "POST", V + f"/containers/{n}/exec", {"Cmd": ["true"]})
    ids = {"berth": rb.json()["Id"], "dockerd": rr.json()["Id"]}
    compare(d, "exec start detached", *both(engines, "POST", V + "/exec/{e}/start",
                                            {"Detach": True}, eid))
    compare(d, "exec start again", *both(engines, "POST", V + "/exec/{e}/start",
                                         {"Detach": True}, eid))
    compare(d, "exec inspect missing", *both(engines, "GET", V + "/exec/nosuch/json"))
    compare(d, "exec start missing", *both(engines, "POST", V + "/exec/nosuch/start", {"Detach": True}))
    compare(d, "exec missing container", *both(engines, "POST", V + "/containers/nosuch/exec",
                                               {"Cmd": ["true"]}))
    compare(d, "exec no cmd", *both(engines, "POST", V + f"/containers/{n}/exec", {}))
    b, r = compare(d, "inspect with execs", *both(engines, "GET", V + f"/containers/{n}/json"))
    both(engines, "DELETE", V + f"/containers/{n}?force=1")
    d.check()


def test_images(engines):
    d, n = Diff(ALLOW), fresh("ad-i")
    compare(d, "list", *both(engines, "GET", V + "/images/json"))
    b, r = compare(d, "inspect", *both(engines, "GET", V + f"/images/{IMAGE}/json"))
    d.value("inspect", "RepoTags", b["RepoTags"], r["RepoTags"])
    d.value("inspect", "Config.Cmd", b["Config"]["Cmd"], r["Config"]["Cmd"])
    b, r = compare(d, "history", *both(engines, "GET", V + f"/images/{IMAGE}/history"))
    d.value("history", "len", len(b), len(r))
    compare(d, "tag", *both(engines, "POST", V + f"/images/{IMAGE}/tag?repo=ad/img&tag={n}"))
    b, r = compare(d, "list filtered", *both(engines, "GET",
                                             V + f'/images/json?filters={{"reference":["ad/img:{n}"]}}'))
    d.value("list filtered", "len", len(b), len(r))
    compare(d, "inspect tag", *both(engines, "GET", V + f"/images/ad/img:{n}/json"))
    compare(d, "tag missing", *both(engines, "POST", V + "/images/nosuch/tag?repo=x&tag=y"))
    compare(d, "tag bad tag", *both(engines, "POST", V + f"/images/{IMAGE}/tag?repo=x&tag=a{{b"))
    compare(d, "tag bad repo", *both(engines, "POST", V + f"/images/{IMAGE}/tag?repo=BAD&tag=y"))
    compare(d, "inspect missing", *both(engines, "GET", V + "/images/nosuch/json"))
    compare(d, "history missing", *both(engines, "GET", V + "/images/nosuch/history"))
    b, r = compare(d, "rm tag", *both(engines, "DELETE", V + f"/images/ad/img:{n}"))
    d.value("rm tag", "keys", [sorted(x) for x in b], [sorted(x) for x in r])
    compare(d, "rm missing", *both(engines, "DELETE", V + "/images/nosuch"))
    both(engines, "POST", V + f"/containers/create?name={n}",
         {"Image": IMAGE, "Cmd": ["true"], "HostConfig": {"NetworkMode": "none"}})
    compare(d, "rm in use", *both(engines, "DELETE", V + f"/images/{IMAGE}"))
    compare(d, "create missing image", *both(engines, "POST", V + "/containers/create",
                                             {"Image": "nosuch:1", "Cmd": ["true"]}))
    both(engines, "DELETE", V + f"/containers/{n}")
    d.check()


def test_build_save_load(engines):
    """docker build through the classic builder (trace 07), save and load
    (trace 12): the progress lines' keys, the steps, the errors."""
    d, n = Diff(ALLOW), fresh("ad/b")

    def context(dockerfile):
        tar = io.BytesIO()
        with tarfile.open(fileobj=tar, mode="w") as t:
            info = tarfile.TarInfo("Dockerfile")
            info.size = len(dockerfile)
            t.addfile(info, io.BytesIO(dockerfile))
        return tar.getvalue()

    good = context(f"FROM {IMAGE}\nRUN echo hi > /f\nENV X=1\nCMD [\"cat\", \"/f\"]\n".encode())
    bad = context(f"FROM {IMAGE}\nRUN exit 7\n".encode())
    nosuch = context(b"FROM nosuch.invalid/x:1\n")
    for step, ctx, q in (("build", good, f"t={n}:1"), ("build failing RUN", bad, ""),
                         ("build missing base", nosuch, ""),
                         ("build no Dockerfile", context(b""), "dockerfile=Nope")):
        rb, rr = both(engines, "POST", V + f"/build?networkmode=none&rm=1&version=1&{q}", ctx)
        compare(d, step, rb, rr, json_body=False)
        lb, lr = json_lines(rb), json_lines(rr)
        d.value(step, "line keys", sorted({tuple(sorted(x)) for x in lb}),
                sorted({tuple(sorted(x)) for x in lr}))
        # the text a client prints (dockerd sends a step's newline as a
        # line of its own, berth with the step: the same output)
        d.value(step, "steps", steps(lb), steps(lr))
        eb = [x for x in lb if "error" in x]
        er = [x for x in lr if "error" in x]
        d.value(step, "errors", [norm(x["error"]) for x in eb], [norm(x["error"]) for x in er])
        if eb and er:
            d.shapes(f"{step} error line", eb[-1], er[-1])
    b, r = compare(d, "inspect built", *both(engines, "GET", V + f"/images/{n}:1/json"))
    d.value("inspect built", "Config.Cmd", b and b["Config"]["Cmd"], r and r["Config"]["Cmd"])
    rb, rr = both(engines, "GET", V + f"/images/get?names={n}:1")
    compare(d, "save", rb, rr, json_body=False)
    saved = rb.body
    compare(d, "rmi", *both(engines, "DELETE", V + f"/images/{n}:1"))
    rb, rr = both(engines, "POST", V + "/images/load?quiet=1", saved)
    compare(d, "load", rb, rr, json_body=False)
    lb, lr = json_lines(rb), json_lines(rr)
    d.value("load", "lines", [sorted(x) for x in lb], [sorted(x) for x in lr])
    d.value("load", "stream", [x.get("stream") for x in lb], [x.get("stream") for x in lr])
    rb, rr = both(engines, "POST", V + "/images/load?quiet=1", b"not a tar" * 100)
    compare(d, "load garbage", rb, rr, json_body=False)
    d.value("load garbage", "line keys", [sorted(x) for x in json_lines(rb)],
            [sorted(x) for x in json_lines(rr)])
    both(engines, "DELETE", V + f"/images/{n}:1")
    d.check()


def test_volumes(engines):
    d, n = Diff(ALLOW), fresh("ad-v")
    compare(d, "create", *[s.api("POST", V + "/volumes/create", {"Name": n, "Labels": {"a": "b"}})
             for s in engines])
    compare(d, "create again", *[s.api("POST", V + "/volumes/create", {"Name": n})
                                 for s in engines])
    b, r = compare(d, "list", *both(engines, "GET", V + f'/volumes?filters={{"name":["{n}"]}}'))
    d.value("list", "len", len(b["Volumes"] or []), len(r["Volumes"] or []))
    compare(d, "inspect", *both(engines, "GET", V + f"/volumes/{n}"))
    compare(d, "inspect missing", *both(engines, "GET", V + "/volumes/nosuch"))
    compare(d, "create bad name", *both(engines, "POST", V + "/volumes/create", {"Name": "a/b"}))
    compare(d, "create container with it", *both(
        engines, "POST", V + f"/containers/create?name={n}",
        {"Image": IMAGE, "Cmd": ["true"],
         "HostConfig": {"NetworkMode": "none", "Binds": [f"{n}:/data"]}}))
    compare(d, "rm in use", *both(engines, "DELETE", V + f"/volumes/{n}"))
    compare(d, "rm container", *both(engines, "DELETE", V + f"/containers/{n}"))
    compare(d, "rm", *both(engines, "DELETE", V + f"/volumes/{n}"))
    compare(d, "rm missing", *both(engines, "DELETE", V + f"/volumes/{n}"))
    compare(d, "prune empty", *both(engines, "POST", V + "/volumes/prune"))
    for s in engines:
        s.api("POST", V + "/volumes/create", {"Name": n + "-p"})
    b, r = compare(d, "prune", *both(engines, "POST", V + "/volumes/prune"))
    d.value("prune", "VolumesDeleted", b["VolumesDeleted"] and len(b["VolumesDeleted"]),
            r["VolumesDeleted"] and len(r["VolumesDeleted"]))
    d.check()


def test_networks(engines):
    d, n = Diff(ALLOW), fresh("ad-n")
    sub = {"berth": f"10.{200 + secrets.randbelow(50)}.{secrets.randbelow(250)}.0/24",
           "dockerd": f"10.{200 + secrets.randbelow(50)}.{secrets.randbelow(250)}.0/24"}
    if sub["berth"] == sub["dockerd"]:
        sub["dockerd"] = sub["dockerd"].replace(".0/24", ".128/25")
    rb, rr = [s.api("POST", V + "/networks/create",
                    {"Name": n, "CheckDuplicate": True, "Driver": "bridge",
                     "IPAM": {"Driver": "default", "Config": [{"Subnet": sub[s.name]}]},
                     "Internal": False, "Attachable": False, "Labels": {"l": "1"}})
              for s in engines]
    compare(d, "create", rb, rr)
    compare(d, "create duplicate", *[s.api("POST", V + "/networks/create",
                                           {"Name": n, "CheckDuplicate": True})
                                     for s in engines])
    b, r = compare(d, "inspect", *both(engines, "GET", V + f"/networks/{n}"))
    b, r = compare(d, "list", *both(engines, "GET", V + f'/networks?filters={{"name":["{n}"]}}'))
    d.value("list", "len", len(b), len(r))
    compare(d, "inspect missing", *both(engines, "GET", V + "/networks/nosuch"))
    for s in engines:
        n = n
        res = s.api("POST", V + f"/containers/create?name={n}",
                    {"Image": IMAGE, "Cmd": ["sleep", "300"],
                     "HostConfig": {"NetworkMode": n},
                     "NetworkingConfig": {"EndpointsConfig": {n: {"Aliases": ["al"]}}}})
        assert res.status == 201, (s.name, res)
    b, r = compare(d, "inspect created on net", *both(engines, "GET", V + f"/containers/{n}/json"))
    compare(d, "start on net", *both(engines, "POST", V + f"/containers/{n}/start"))
    compare(d, "inspect running on net", *both(engines, "GET", V + f"/containers/{n}/json"))
    compare(d, "inspect net with container", *both(engines, "GET", V + f"/networks/{n}"))
    compare(d, "rm net in use", *both(engines, "DELETE", V + f"/networks/{n}"))
    compare(d, "disconnect", *[s.api("POST", V + f"/networks/{n}/disconnect",
                                     {"Container": n}) for s in engines])
    compare(d, "disconnect again", *[s.api("POST", V + f"/networks/{n}/disconnect",
                                           {"Container": n}) for s in engines])
    compare(d, "inspect disconnected", *both(engines, "GET", V + f"/containers/{n}/json"))
    compare(d, "connect", *[s.api("POST", V + f"/networks/{n}/connect",
                                  {"Container": n, "EndpointConfig": {"Aliases": ["b"]}})
                            for s in engines])
    compare(d, "connect again", *[s.api("POST", V + f"/networks/{n}/connect",
                                        {"Container": n}) for s in engines])
    compare(d, "connect missing container", *both(engines, "POST", V + f"/networks/{n}/connect",
                                                  {"Container": "nosuch"}))
    compare(d, "inspect reconnected", *both(engines, "GET", V + f"/containers/{n}/json"))
    both(engines, "DELETE", V + f"/containers/{n}?force=1")
    compare(d, "rm", *both(engines, "DELETE", V + f"/networks/{n}"))
    compare(d, "rm missing", *both(engines, "DELETE", V + f"/networks/{n}"))
    b, r = compare(d, "prune", *both(engines, "POST", V + "/networks/prune"))
    d.check()


def test_system(engines):
    d = Diff(ALLOW)
    for method in ("GET", "HEAD"):
        rb, rr = both(engines, method, "/_ping")
        step = f"{method} _ping"
        d.value(step, "status", rb.status, rr.status)
        for h in ("Content-Type", "Api-Version", "OSType", "Docker-Experimental"):
            d.value(step, h, rb.headers.get(h), rr.headers.get(h))
        d.value(step, "body", rb.body, rr.body)
    b, r = compare(d, "version", *both(engines, "GET", V + "/version"))
    for k in VERSION_KEYS:
        d.value("version keys", k, k in b, k in r)
        if k in r:
            d.value("version types", k, tname(b.get(k)), tname(r[k]))
    for k in ("ApiVersion", "MinAPIVersion", "Os", "Arch", "KernelVersion"):
        d.value("version values", k, b.get(k), r.get(k))
    compare(d, "version unversioned", *both(engines, "GET", "/version"))
    b, r = compare(d, "info", *both(engines, "GET", V + "/info"))
    for k in INFO_KEYS:
        d.value("info keys", k, k in b, k in r)
        if k in r:
            d.value("info types", k, tname(b.get(k)), tname(r[k]))
    for k in ("OSType", "Architecture", "NCPU", "MemTotal", "KernelVersion", "CgroupVersion"):
        d.value("info values", k, b.get(k), r.get(k))
    compare(d, "df", *both(engines, "GET", V + "/system/df"))
    compare(d, "containers prune", *both(engines, "POST", V + "/containers/prune"))
    compare(d, "images prune", *both(engines, "POST", V + "/images/prune"))
    compare(d, "no such path", *both(engines, "GET", V + "/nosuch"))
    compare(d, "too new version", *both(engines, "GET", "/v9.99/version"))
    d.check()


def test_errors(engines):
    d, n = Diff(ALLOW), fresh("ad-x")
    run = {"Image": IMAGE, "Cmd": ["sleep", "300"], "HostConfig": {"NetworkMode": "none"}}
    both(engines, "POST", V + f"/containers/create?name={n}", run)
    both(engines, "POST", V + f"/containers/{n}/start")
    both(engines, "POST", V + f"/containers/create?name={n}-c", dict(run, Cmd=["true"]))
    for step, method, path, body in (
            ("create duplicate name", "POST", "/containers/create?name={n}", run),
            ("create bad name", "POST", "/containers/create?name=a/b", run),
            ("create no image", "POST", "/containers/create", {"Cmd": ["true"]}),
            ("create bad restart", "POST", "/containers/create",
             dict(run, HostConfig={"RestartPolicy": {"Name": "bogus"}})),
            ("create bad port", "POST", "/containers/create", dict(run, ExposedPorts={"abc/tcp": {}})),
            ("create bad json", "POST", "/containers/create", b"{not json"),
            ("create missing network", "POST", "/containers/create",
             dict(run, HostConfig={"NetworkMode": "nosuchnet"})),
            ("start missing", "POST", "/containers/nosuch/start", None),
            ("stop missing", "POST", "/containers/nosuch/stop", None),
            ("kill missing", "POST", "/containers/nosuch/kill", None),
            ("kill created", "POST", "/containers/{n}-c/kill", None),
            ("kill bad signal", "POST", "/containers/{n}/kill?signal=NOPE", None),
            ("wait missing", "POST", "/containers/nosuch/wait", None),
            ("wait bad condition", "POST", "/containers/{n}/wait?condition=bogus", None),
            ("logs missing", "GET", "/containers/nosuch/logs?stdout=1", None),
            ("logs no stream", "GET", "/containers/{n}/logs", None),
            ("top created", "GET", "/containers/{n}-c/top", None),
            ("pause created", "POST", "/containers/{n}-c/pause", None),
            ("unpause running", "POST", "/containers/{n}/unpause", None),
            ("rename to existing", "POST", "/containers/{n}-c/rename?name={n}", None),
            ("rm running", "DELETE", "/containers/{n}", None),
            ("resize created", "POST", "/containers/{n}-c/resize?h=10&w=10", None),
            ("update bad restart", "POST", "/containers/{n}-c/update",
             {"RestartPolicy": {"Name": "bogus"}}),
            ("list bad filter", "GET", '/containers/json?filters={{"nosuch":["x"]}}', None),
            ("list bad filter json", "GET", "/containers/json?filters=notjson", None),
            ("archive head missing path", "HEAD", "/containers/{n}/archive?path=/nosuch", None),
            ("archive missing container", "GET", "/containers/nosuch/archive?path=/", None),
            ("changes missing", "GET", "/containers/nosuch/changes", None)):
        rb, rr = both(engines, method, V + path.format(n=n), body, timeout=10)
        compare(d, step, rb, rr, json_body=method != "HEAD")
    both(engines, "DELETE", V + f"/containers/{n}?force=1")
    both(engines, "DELETE", V + f"/containers/{n}-c?force=1")
    d.check()


def test_events(engines):
    d, n = Diff(ALLOW), fresh("ad-ev")
    since = int(time.time()) - 1
    for s in engines:
        n = n
        s.docker("volume", "create", n)
        s.docker("create", "--name", n, "--network", "none", "-v", f"{n}:/d", "-l", "ev=1",
                 IMAGE, "sleep", "300")
        s.docker("start", n)
        s.docker("exec", n, "true")
        s.docker("pause", n)
        s.docker("unpause", n)
        s.docker("rename", n, n + "-r")
        s.docker("stop", "-t", "1", n + "-r")
        s.docker("rm", n + "-r")
        s.docker("volume", "rm", n)
        s.docker("tag", IMAGE, f"ad/ev:{n}")
        s.docker("rmi", f"ad/ev:{n}")
    seqs = {}
    for s in engines:
        r = s.api("GET", V + f"/events?since={since}&until={int(time.time()) + 1}")
        assert r.status == 200, (s.name, r)
        seqs[s.name] = (r, r.lines())
    (rb, eb), (rr, er) = seqs["berth"], seqs["dockerd"]
    d.value("events", "status", rb.status, rr.status)
    d.value("events", "Content-Type", rb.headers.get("Content-Type"), rr.headers.get("Content-Type"))

    def key(e):
        return (e["Type"], e["Action"].split(":")[0])
    kb, kr = [key(e) for e in eb], [key(e) for e in er]
    for k in sorted(set(kb) | set(kr)):
        if kb.count(k) != kr.count(k):
            d.add("events", f"count of {k[0]} {k[1]}{' (volume mount)' if 'mount' in k[1] else ''}",
                  kb.count(k), kr.count(k))
    # the order of what both emitted as often
    same = {k for k in set(kb) & set(kr) if kb.count(k) == kr.count(k)}
    ob, orr = [k for k in kb if k in same], [k for k in kr if k in same]
    if ob != orr:
        d.add("events", "order", ob, orr)
    for k in sorted(set(kb) & set(kr)):
        xb = next(e for e in eb if key(e) == k)
        xr = next(e for e in er if key(e) == k)
        d.shapes(f"event {k[0]} {k[1]}", xb, xr)
    d.check()
