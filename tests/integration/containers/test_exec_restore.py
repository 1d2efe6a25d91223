"""Exec processes belong to the container's monitor, so they survive
berthd being killed (live restore) as docker's do under containerd's shim:
a restarted berthd knows which still run, and records the exit code of
those that ended while it was away."""
import json
import os
import subprocess

from conftest import IMAGE, wait_for

DOCKER = "/usr/local/bin/docker"


def exec_info(d, eid):
    r = d.api("GET", f"/v1.41/exec/{eid}/json")
    assert r.status == 200, r
    return r.json()


def exec_ids(d, name):
    return json.loads(d.docker("inspect", name).stdout)[0]["ExecIDs"] or []


def by_command(d, name, needle):
    for eid in exec_ids(d, name):
        info = exec_info(d, eid)
        if needle in " ".join(info["ProcessConfig"]["arguments"]):
            return eid, info
    raise AssertionError(f"no exec running {needle!r}")


def test_exec_survives_kill9_of_berthd(clean, tmp_path):
    d = clean
    d.docker("run", "-d", "--name", "ex", IMAGE, "sleep", "300")
    flag = "/tmp/go"
    # detached: runs until told to stop, then exits 7
    d.docker("exec", "-d", "ex", "sh", "-c", f"while [ ! -e {flag} ]; do sleep 0.05; done; exit 7")
    # attached: its client dies with berthd, the process must not
    attached = subprocess.Popen(
        [DOCKER, "exec", "ex", "sh", "-c",
         f"echo started; while [ ! -e {flag}2 ]; do sleep 0.05; done; echo on; exit 4"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=d.env())
    assert attached.stdout.readline() == b"started\n"
    det_id, det = by_command(d, "ex", "exit 7")
    att_id, att = by_command(d, "ex", "exit 4")
    assert det["Running"] and att["Running"]
    det_pid, att_pid = det["Pid"], att["Pid"]
    d.kill()
    attached.wait(timeout=10)
    os.kill(det_pid, 0)
    os.kill(att_pid, 0)
    # the attached one ends while berthd is away
    with open(f"/proc/{att_pid}/root{flag}2", "w"):
        pass
    wait_for(lambda: not os.path.exists(f"/proc/{att_pid}"), what="exec exit (reaped by the monitor)")
    d.start()
    # known again: one still running (same pid), one ended with its code
    det = exec_info(d, det_id)
    assert det["Running"] is True and det["Pid"] == det_pid and det["ExitCode"] is None
    att = exec_info(d, att_id)
    assert att["Running"] is False and att["ExitCode"] == 4
    # docker exec works after the restart
    assert d.docker("exec", "ex", "echo", "alive").stdout == "alive\n"
    # the detached one ends under the new berthd: its code is recorded
    d.docker("exec", "ex", "touch", flag)
    wait_for(lambda: exec_info(d, det_id)["Running"] is False, what="detached exec end")
    assert exec_info(d, det_id)["ExitCode"] == 7


def test_stopping_the_container_ends_its_execs(clean):
    d = clean
    d.docker("run", "-d", "--name", "ex2", IMAGE, "sleep", "300")
    d.docker("exec", "-d", "ex2", "sleep", "300")
    eid, info = by_command(d, "ex2", "300")
    assert info["Running"]
    d.docker("stop", "-t", "0", "ex2")
    wait_for(lambda: exec_info(d, eid)["Running"] is False, what="exec end at stop")
    assert exec_info(d, eid)["ExitCode"] == 137
    assert not os.path.exists(f"/proc/{info['Pid']}")


def test_exec_resize_and_stdin_through_the_monitor(clean):
    d = clean
    d.docker("run", "-d", "--name", "ex3", IMAGE, "sleep", "300")
    out = d.docker("exec", "-i", "ex3", "sh", "-c", "cat; echo done", input="a\nb\n").stdout
    assert out == "a\nb\ndone\n"
    r = d.api("POST", "/v1.41/containers/ex3/exec",
              {"Cmd": ["sh", "-c", "sleep 0.5; stty size"], "Tty": True, "AttachStdout": True})
    eid = r.json()["Id"]
    conn = d.connection(timeout=10)
    conn.request("POST", f"/v1.41/exec/{eid}/start", body=json.dumps({"Tty": True}),
                 headers={"Content-Type": "application/json", "Connection": "Upgrade",
                          "Upgrade": "tcp"})
    resp = conn.getresponse()
    assert resp.status == 101
    wait_for(lambda: exec_info(d, eid)["Running"], what="exec running")
    assert d.api("POST", f"/v1.41/exec/{eid}/resize?h=33&w=101").status == 200
    data = b""
    sock = resp.fp.raw._sock if hasattr(resp.fp, "raw") else conn.sock
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    conn.close()
    assert b"33 101" in data
    assert exec_info(d, eid)["ExitCode"] == 0


def test_monitor_starts_its_exec_helper_from_a_read_only_view(clean):
    """The exec helper's clone sits in the container's pid namespace until
    it execs (CVE-2019-5736): the monitor holds berth-monitor-exec as a
    view berthd opened read-only, which cannot be reopened for writing."""
    import errno
    from conftest import monitors_of
    d = clean
    cid = d.docker("run", "-d", IMAGE, "sleep", "300").stdout.strip()
    assert d.docker("exec", cid, "echo", "ok").stdout == "ok\n"
    holds = [p for p in monitors_of(d)
             if cid.encode() in open(f"/proc/{p}/cmdline", "rb").read()]
    assert len(holds) == 1, holds
    args = open(f"/proc/{holds[0]}/cmdline", "rb").read().split(b"\0")
    helper = [a for a in args if a.startswith(b"exec_helper=")]
    assert helper, args
    view = f"/proc/{holds[0]}/fd/{int(helper[0].split(b'=')[1])}"
    assert os.path.basename(os.readlink(f"/proc/{holds[0]}/exe")) == "berth-monitor-hold"
    try:
        fd = os.open(view, os.O_WRONLY)
    except OSError as e:
        assert e.errno in (errno.EROFS, errno.EPERM), os.strerror(e.errno)
    else:
        os.close(fd)
        raise AssertionError("the exec helper's binary was opened for writing through the view")
