"""Live restore: berthd killed with SIGKILL while containers run leaves
them running; a new berthd reattaches to their monitors: state, logs,
exec, stop and rm keep working, and exits that happened while berthd was
away are recorded."""
import json
import os
import time

from conftest import IMAGE, monitors_of, wait_for


def inspect(d, name):
    return json.loads(d.docker("inspect", name).stdout)[0]


def test_kill9_berthd_keeps_containers(clean):
    d = clean
    d.docker("run", "-d", "--name", "lr", IMAGE, "sh", "-c", "i=0; while true; do echo n$i; i=$((i+1)); sleep 0.05; done")
    d.docker("run", "-d", "--name", "lr-short", IMAGE, "sh", "-c", "sleep 1; exit 9")
    before = inspect(d, "lr")
    pid = before["State"]["Pid"]
    monitors = monitors_of(d)
    assert len(monitors) == 2
    d.kill()
    # the containers do not notice
    time.sleep(1.5)
    os.kill(pid, 0)
    # the long-running container's monitor is still there (the short one's
    # has exited; with nobody to reap it, it may linger as a zombie)
    assert len(monitors_of(d)) == 1
    d.start()
    st = inspect(d, "lr")
    assert st["State"]["Running"] and st["State"]["Pid"] == pid
    assert st["State"]["StartedAt"] == before["State"]["StartedAt"]
    # the short one exited while berthd was away: its exit code is known
    short = inspect(d, "lr-short")
    assert short["State"]["Status"] == "exited" and short["State"]["ExitCode"] == 9
    # logs still flow (written by the monitor all along)
    n1 = len(d.docker("logs", "lr").stdout.splitlines())
    wait_for(lambda: len(d.docker("logs", "lr").stdout.splitlines()) > n1 + 5, what="more log lines")
    assert d.docker("exec", "lr", "echo", "alive").stdout == "alive\n"
    d.docker("stop", "-t", "1", "lr")
    assert inspect(d, "lr")["State"]["Status"] == "exited"
    d.docker("rm", "lr", "lr-short")
    assert monitors_of(d) == []


def test_sigterm_leaves_containers_running_too(clean):
    d = clean
    d.docker("run", "-d", "--name", "lr2", IMAGE, "sleep", "300")
    pid = inspect(d, "lr2")["State"]["Pid"]
    d.stop()
    os.kill(pid, 0)
    d.start()
    assert inspect(d, "lr2")["State"]["Running"]
    d.docker("rm", "-f", "lr2")
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), what="container gone")


def test_exit_recorded_by_an_older_monitor_in_the_data_dir_is_read(clean):
    """The monitor writes exit.json into the container's exec dir; one of
    an older berth (still running across an upgrade) wrote it into the
    container's data dir: a new berthd reads it there too."""
    d = clean
    cid = d.docker("run", "-d", IMAGE, "sleep", "300").stdout.strip()
    pid = inspect(d, cid)["State"]["Pid"]
    mons = monitors_of(d)
    d.kill()
    for p in mons + [pid]:
        os.kill(p, 9)  # gone without a word, as if it had written elsewhere
    wait_for(lambda: not os.path.exists(f"/proc/{pid}/cmdline") or not open(f"/proc/{pid}/cmdline").read(),
             what="the container exited")
    assert not (d.exec_root / "containers" / cid / "exit.json").exists()
    (d.root / "data" / "containers" / cid / "exit.json").write_text(
        '{"ExitCode":42,"FinishedAt":1796000000000000000,"OOMKilled":false,"Pid":%d}\n' % pid)
    d.start()
    st = inspect(d, cid)["State"]
    assert st["Status"] == "exited" and st["ExitCode"] == 42
    assert not (d.root / "data" / "containers" / cid / "exit.json").exists()
    d.docker("rm", cid)


def test_exit_is_recorded_in_the_exec_dir(clean):
    d = clean
    cid = d.docker("run", "-d", IMAGE, "sh", "-c", "exit 7").stdout.strip()
    assert d.docker("wait", cid).stdout.strip() == "7"
    assert not (d.root / "data" / "containers" / cid / "exit.json").exists()
    d.docker("rm", cid)
