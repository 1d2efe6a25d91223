"""Log drivers through the docker CLI: json-file (tail, timestamps, since,
follow, stderr, rotation by max-size/max-file), syslog to a unix socket the
test listens on, none."""
import json
import os
import socket
import subprocess
import time

from conftest import IMAGE, wait_for


def test_json_file_reading(clean):
    d = clean
    d.docker("run", "--name", "lg", IMAGE, "sh", "-c", "for i in 1 2 3 4 5; do echo out$i; done; echo err >&2")
    assert d.docker("logs", "lg").stdout == "out1\nout2\nout3\nout4\nout5\n"
    assert d.docker("logs", "lg").stderr == "err\n"
    assert d.docker("logs", "--tail", "2", "lg").stdout == "out5\n"  # the last 2 lines: out5 and err
    ts = d.docker("logs", "-t", "lg").stdout.splitlines()
    assert ts[0].endswith(" out1") and ts[0][4] == "-" and ts[0].split(" ")[0].endswith("Z")
    assert d.docker("logs", "--since", str(int(time.time()) + 60), "lg").stdout == ""
    # the file itself is docker's format
    path = json.loads(d.docker("inspect", "lg").stdout)[0]["LogPath"]
    first = json.loads(open(path).readline())
    assert set(first) == {"log", "stream", "time"} and first["log"] == "out1\n" and first["stream"] == "stdout"


def test_follow_until_exit(clean):
    d = clean
    d.docker("run", "-d", "--name", "fl", IMAGE, "sh", "-c", "for i in 1 2 3; do echo f$i; sleep 0.3; done")
    res = d.docker("logs", "-f", "fl", timeout=20)
    assert res.stdout == "f1\nf2\nf3\n"


def test_rotation(clean):
    d = clean
    d.docker("run", "--name", "rot", "--log-opt", "max-size=1k", "--log-opt", "max-file=2", IMAGE,
             "sh", "-c", "i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done")
    path = json.loads(d.docker("inspect", "rot").stdout)[0]["LogPath"]
    assert os.path.getsize(path) <= 1024 and os.path.exists(path + ".1") and not os.path.exists(path + ".2")
    out = d.docker("logs", "rot").stdout.splitlines()
    assert out[-1] == "line-199" and out[0] != "line-0" and len(out) < 200


def test_syslog_driver(clean, tmp_path):
    d = clean
    sock_path = str(tmp_path / "syslog.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sock_path)
    s.settimeout(10)
    try:
        d.docker("run", "--rm", "--log-driver", "syslog", "--log-opt", f"syslog-address=unixgram://{sock_path}",
                 "--log-opt", "tag=berthtest", IMAGE, "echo", "to-syslog")
        msg = s.recv(4096).decode()
    finally:
        s.close()
    assert msg.startswith("<30>") and "berthtest[" in msg and msg.endswith("to-syslog")
    res = d.docker("run", "--rm", "--log-driver", "syslog", "--log-opt", "syslog-address=unixgram:///nonexistent/x",
                   IMAGE, "true", check=False)
    assert res.returncode != 0 and "syslog" in res.stderr


def test_none_driver(clean):
    d = clean
    d.docker("run", "--name", "nl", "--log-driver", "none", IMAGE, "echo", "x")
    res = d.docker("logs", "nl", check=False)
    assert res.returncode != 0 and "does not support reading" in res.stderr
