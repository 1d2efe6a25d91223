"""The monitor's exit path (src/daemon/monitor.c): a container killed by
the kernel's OOM killer is reported as OOMKilled (read from memory.events /
memory.oom_control), one that exits normally is not; a container that
exits at once (finished by the monitor itself, no hold/finish execs) and
one that outlives the monitor's grace period (finished through
berth-monitor-hold and --finish) both record their exit code and leave no
runtime state behind."""
import json

from conftest import IMAGE


def state(bd, name):
    return json.loads(bd.docker("inspect", name).stdout)[0]["State"]


def test_oom_killed_is_reported(clean):
    res = clean.docker("run", "--name", "oom", "--memory", "16m", "--memory-swap", "16m", IMAGE,
                       "sh", "-c", "x=a; while true; do x=$x$x; done", check=False)
    assert res.returncode == 137, res
    st = state(clean, "oom")
    assert st["OOMKilled"] is True, st
    assert st["ExitCode"] == 137
    clean.docker("rm", "oom")
    clean.docker("run", "--name", "fine", "--memory", "16m", IMAGE, "true")
    st = state(clean, "fine")
    assert st["OOMKilled"] is False and st["ExitCode"] == 0, st
    clean.docker("rm", "fine")


def test_quick_and_slow_exits_record_their_code(clean):
    # at once: the monitor finishes it itself
    assert clean.docker("run", "--name", "quick", IMAGE, "sh", "-c", "exit 7", check=False).returncode == 7
    # after the grace period: through berth-monitor-hold and --finish
    assert clean.docker("run", "--name", "slow", IMAGE, "sh", "-c", "sleep 0.3; exit 9",
                        check=False).returncode == 9
    assert state(clean, "quick")["ExitCode"] == 7
    assert state(clean, "slow")["ExitCode"] == 9
    for name in ("quick", "slow"):
        cid = json.loads(clean.docker("inspect", name).stdout)[0]["Id"]
        assert not (clean.exec_root / "runtime" / cid).exists(), f"runtime state of {name} left behind"
        clean.docker("rm", name)
