"""dockerd's daemon flags and daemon.json rules as berthd applies them:
--live-restore=false stops the containers when berthd shuts down (and
what a crash left running when it starts), a setting given both as a flag
and in daemon.json and an unknown daemon.json key are refused with
dockerd's messages, --default-ulimit reaches the containers, and several
-H sockets serve the same daemon."""
import json
import os
import pathlib
import shutil
import subprocess
import tempfile

import pytest

from berthtest import TMP_PREFIX
from conftest import IMAGE, Berthd, _import_busybox, wait_for


@pytest.fixture
def own_berthd():
    made = []

    def make(args=(), config=None):
        root = pathlib.Path(tempfile.mkdtemp(prefix=TMP_PREFIX))
        d = Berthd(root, args=args, config=config)
        made.append(d)
        return d

    yield make
    for d in made:
        if d.proc is not None and d.proc.poll() is None:
            ids = d.docker("ps", "-aq", check=False).stdout.split()
            if ids:
                d.docker("rm", "-f", *ids, check=False)
            d.stop()
        d.destroy_network()
        shutil.rmtree(d.root, ignore_errors=True)


def test_live_restore_off_stops_containers_at_shutdown(own_berthd):
    d = own_berthd(args=["--live-restore=false", "--default-ulimit", "nofile=1024:2048"])
    d.start()
    _import_busybox(d, d.root)
    assert d.docker("run", "--rm", IMAGE, "sh", "-c", "ulimit -n; ulimit -Hn").stdout.split() == ["1024", "2048"]
    d.docker("run", "-d", "--name", "plain", IMAGE, "sh", "-c", "trap 'exit 3' TERM; while true; do sleep 0.05; done")
    d.docker("run", "-d", "--name", "always", "--restart", "always", IMAGE, "sleep", "300")
    pids = [json.loads(d.docker("inspect", n).stdout)[0]["State"]["Pid"] for n in ("plain", "always")]
    d.stop()
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}"), "container left running without live restore"
    d.start()
    plain = json.loads(d.docker("inspect", "plain").stdout)[0]["State"]
    assert plain["Status"] == "exited" and plain["ExitCode"] == 3
    # as dockerd: a restart policy brings it back with the daemon
    wait_for(lambda: json.loads(d.docker("inspect", "always").stdout)[0]["State"]["Running"],
             what="always-restart container back")


def test_flag_and_file_conflict_and_unknown_keys_are_refused(own_berthd):
    d = own_berthd(config={"log-level": "warn"})
    res = subprocess.run(d.command(), capture_output=True, text=True, timeout=20)
    assert res.returncode != 0
    assert ("the following directives are specified both as a flag and in the configuration "
            "file: log-level: (from flag: debug, from file: warn)") in res.stderr
    d = own_berthd(config={"no-such-option": 1})
    res = subprocess.run(d.command(), capture_output=True, text=True, timeout=20)
    assert res.returncode != 0
    assert "the following directives don't match any configuration option: no-such-option" in res.stderr


def test_several_hosts(own_berthd, tmp_path):
    extra = tmp_path / "second.sock"
    d = own_berthd(args=["-H", f"unix://{extra}"])
    d.start()
    out = subprocess.run(["/usr/local/bin/docker", "-H", f"unix://{extra}", "version", "--format",
                          "{{.Server.APIVersion}}"], capture_output=True, text=True, check=True,
                         env=d.env({"DOCKER_HOST": f"unix://{extra}"}))
    assert out.stdout.strip()
    assert d.api("GET", "/_ping").status == 200
