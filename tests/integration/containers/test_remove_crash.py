"""Removal answers first and releases afterwards: `run --rm` (and rm) answer
once the container's record is renamed to containers/.rm-<id> (the commit
point); its snapshot, mount, network endpoint, cgroups, runtime state and
directories are released right after. A berthd killed with SIGKILL at any
instant leaves a state the next berthd finishes: nothing half-removed is
listed, and nothing is left on disk, mounted or running."""
import json
import os
import random
import subprocess
import threading

from conftest import IMAGE, monitors_of, wait_for

DOCKER = "/usr/local/bin/docker"


def leftovers(d, ids=None):
    """What of containers (all, or these ids) is still on disk or mounted."""
    found = []
    for sub in ("data/containers", "data/snapshots", "exec/containers", "exec/runtime"):
        p = d.root / sub
        if p.is_dir():
            found += [f"{sub}/{n}" for n in os.listdir(p)
                      if ids is None or any(i in n for i in ids)]
    with open("/proc/self/mountinfo") as f:
        found += [line.split()[4] for line in f
                  if str(d.root) in line.split()[4] and "/snapshots/" in line.split()[4]
                  and (ids is None or any(i in line for i in ids))]
    return found


def test_run_rm_is_gone_when_it_returns_and_released_soon(clean):
    d = clean
    for _ in range(3):
        # the name is free again the moment the previous run returned
        out = d.docker("run", "--rm", "--name", "rmfast", IMAGE, "echo", "hi")
        assert out.stdout == "hi\n"
        assert d.docker("inspect", "rmfast", check=False).returncode != 0
    assert d.docker("ps", "-aq").stdout.split() == []
    wait_for(lambda: leftovers(d) == [], what=f"released: {leftovers(d)}")


def test_rm_of_a_stopped_container_releases_its_files(clean):
    d = clean
    cid = d.docker("run", "-d", IMAGE, "true").stdout.strip()
    d.docker("wait", cid)
    assert leftovers(d, [cid]) != []  # the record and the snapshot exist
    d.docker("rm", cid)
    assert d.docker("inspect", cid, check=False).returncode != 0
    wait_for(lambda: leftovers(d, [cid]) == [], what=f"released: {leftovers(d, [cid])}")


def test_removal_committed_before_a_crash_is_finished_at_start(clean):
    """A kill -9 right after the commit point: the record is .rm-<id>, the
    snapshot still mounted (a running container was killed by rm -f), the
    runtime state and exec dir still there. The next berthd finishes it."""
    d = clean
    cid = d.docker("run", "-d", IMAGE, "sleep", "300").stdout.strip()
    pid = json.loads(d.docker("inspect", cid).stdout)[0]["State"]["Pid"]
    mons = monitors_of(d)
    d.kill()
    os.kill(pid, 9)
    wait_for(lambda: not any(os.path.exists(f"/proc/{m}/cmdline") and open(f"/proc/{m}/cmdline").read()
                             for m in mons), what="the monitor exited")
    data = d.root / "data" / "containers"
    os.rename(data / cid, data / f".rm-{cid}")
    assert leftovers(d, [cid]) != []
    d.start()
    assert d.docker("inspect", cid, check=False).returncode != 0
    assert cid not in d.docker("ps", "-aq", "--no-trunc").stdout
    assert leftovers(d, [cid]) == []


def test_kill9_during_run_rm_leaves_nothing_behind(clean):
    """Containers created, started, exiting and being removed while berthd
    is killed: after a restart every one of them is either listed whole
    (and removable) or gone, and once their monitors exit nothing stays."""
    d = clean
    rng = random.Random(4)
    for round_ in range(3):
        stop = threading.Event()

        def loop():
            while not stop.is_set():
                subprocess.run([DOCKER, "run", "--rm", IMAGE, "true"], env=d.env(),
                               capture_output=True, timeout=60)

        workers = [threading.Thread(target=loop) for _ in range(3)]
        for w in workers:
            w.start()
        # let some requests through, then crash at an arbitrary instant
        n0, target = len(d.audit_lines()), 4 + rng.randrange(12)
        wait_for(lambda: len(d.audit_lines()) >= n0 + target, what="runs in flight")
        d.kill()
        stop.set()
        for w in workers:
            w.join()
        d.start()
        # every record the new berthd lists is whole: inspect and rm work
        for cid in d.docker("ps", "-aq", "--no-trunc").stdout.split():
            json.loads(d.docker("inspect", cid).stdout)
            rm = d.docker("rm", "-f", cid, check=False)
            if rm.returncode != 0:
                rec = d.root / "data" / "containers" / cid / "config.v2.json"
                mlog = d.root / "exec" / "containers" / cid / "monitor.log"
                raise AssertionError(
                    f"{rm.stderr}\nstate: {json.loads(rec.read_text())['State']}\n"
                    f"monitor.log: {mlog.read_text() if mlog.exists() else '-'}\n"
                    f"ps: {subprocess.run(['ps', '-ef'], capture_output=True, text=True).stdout[-3000:]}\n"
                    f"{d.read_log()[-3000:]}")
        wait_for(lambda: monitors_of(d) == [], what="monitors gone")
        for cid in d.docker("ps", "-aq", "--no-trunc").stdout.split():
            d.docker("rm", "-f", cid)
        try:
            wait_for(lambda: leftovers(d) == [], what="released")
        except AssertionError:
            raise AssertionError(f"round {round_}: left {leftovers(d)}\n"
                                 f"{d.docker('ps', '-a', check=False).stdout}\n"
                                 f"{d.read_log()[-6000:]}")


def test_create_cut_short_by_a_crash_is_swept_at_start(clean):
    """A kill -9 in the middle of a create leaves containers/.new-<id> (the
    record is published by one rename once whole) and maybe the snapshot:
    the next berthd removes both and never lists the container."""
    d = clean
    cid = d.docker("create", IMAGE, "true").stdout.strip()
    d.kill()
    data = d.root / "data" / "containers"
    os.rename(data / cid, data / f".new-{cid}")
    assert leftovers(d, [cid]) != []
    d.start()
    assert cid not in d.docker("ps", "-aq", "--no-trunc").stdout
    assert leftovers(d, [cid]) == []


def test_snapshot_meta_lost_to_a_power_loss_is_rewritten_at_start(clean):
    """create writes the snapshot's meta.json without fsync (as docker its
    RW layer's files): a power loss may leave it empty or missing while the
    synced record survives. The next berthd rewrites it from the record's
    image: the container starts, and rm releases everything."""
    d = clean
    empty = d.docker("create", IMAGE, "echo", "still here").stdout.strip()
    gone = d.docker("create", IMAGE, "echo", "me too").stdout.strip()
    d.kill()
    snaps = d.root / "data" / "snapshots"
    (snaps / empty / "meta.json").write_text("")
    (snaps / gone / "meta.json").unlink()
    d.start()
    assert d.docker("start", "-a", empty).stdout == "still here\n"
    assert d.docker("start", "-a", gone).stdout == "me too\n"
    assert json.loads((snaps / empty / "meta.json").read_text())["layers"]
    d.docker("rm", empty, gone)
    wait_for(lambda: leftovers(d, [empty, gone]) == [],
             what=f"released: {leftovers(d, [empty, gone])}")


def test_run_rm_record_lost_to_a_power_loss_is_removed_at_start(clean):
    """A --rm container's config.v2.json is saved without fsync (nothing of
    it outlives a power loss); its hostconfig.json is synced. A record that
    came back empty or torn with AutoRemove in its hostconfig is removed by
    the next berthd; one without AutoRemove is kept (never deleted behind
    the user's back)."""
    d = clean
    lost = d.docker("create", "--rm", IMAGE, "true").stdout.strip()
    torn = d.docker("create", "--rm", IMAGE, "true").stdout.strip()
    kept = d.docker("create", IMAGE, "true").stdout.strip()
    d.kill()
    data = d.root / "data" / "containers"
    (data / lost / "config.v2.json").write_text("")
    (data / torn / "config.v2.json").write_text('{"ID": "')
    (data / kept / "config.v2.json").write_text("")
    d.start()
    listed = d.docker("ps", "-aq", "--no-trunc").stdout.split()
    assert lost not in listed and torn not in listed
    assert leftovers(d, [lost, torn]) == []
    assert (data / kept / "hostconfig.json").exists()
    assert "skip " + kept in d.read_log()
