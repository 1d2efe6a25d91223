"""Helpers for berth's black-box tests (import as `from berthtest import ...`).

The tests drive the real binaries from the build directory on the real
kernel, as root. Every test session checks that it left nothing behind:
no mount, cgroup, network interface, network namespace, process or temp
directory that was not there before it started.
"""
import os
import pathlib
import subprocess
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("BERTH_BUILD_DIR", ROOT / "build"))
TMP_PREFIX = f"berth-it-{os.getpid()}-"
# "strict" (default, CI): anything new on the machine is a leak. "own": for a
# development machine shared by several test runs at once, only what carries
# this run's temp prefix counts for mounts and temp dirs (cgroups, links and
# netns are then not checked); processes are always precise (subreaper).
LEAK_SCOPE = os.environ.get("BERTH_LEAK_SCOPE", "strict")
PR_SET_CHILD_SUBREAPER = 36


def make_tls_certs(d):
    """A CA, a server certificate for 127.0.0.1, a client certificate it
    signed and a rogue one it did not (ca.pem, server.pem/.key,
    client.pem/.key, rogue.pem/.key in d) for --tlsverify daemons."""
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    d.mkdir(parents=True, exist_ok=True)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            "-days", "1", "-subj", "/CN=berth test CA")
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for who in ("server", "client", "rogue"):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{who}.key", "-out", f"{who}.csr",
                "-subj", f"/CN={who}")
    for who in ("server", "client"):
        openssl("x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{who}.pem", "-days", "1", "-extfile", f"{who}.ext")
    # a client certificate signed by nobody we trust
    openssl("x509", "-req", "-in", "rogue.csr", "-signkey", "rogue.key", "-out", "rogue.pem",
            "-days", "1")
    return d


def binary(name):
    """Path of a built binary; skips the test when that area is not built."""
    path = BUILD / "src" / "cmd" / name
    if not path.exists():
        pytest.skip(f"{name} is not built at {path}")
    return path


def run(cmd, check=True, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    res = subprocess.run([str(c) for c in cmd], check=False, **kw)
    if check and res.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, cmd))} exited {res.returncode}\n"
            f"stdout: {res.stdout}\nstderr: {res.stderr}")
    return res


def read_to_eof(sock):
    """Everything a socket still sends until the peer closes it."""
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


# ------------------------------------------------------------ leak tracking --

def _mounts():
    with open("/proc/self/mountinfo") as f:
        return {" ".join(line.split()[3:5]) for line in f}


def _cgroups():
    """Every cgroup directory below the hierarchies (v1, v2, hybrid)."""
    found = set()
    base = "/sys/fs/cgroup"
    for top, dirs, _ in os.walk(base):
        depth = top[len(base):].count("/")
        if depth > 4:
            dirs[:] = []
            continue
        found.add(top)
    return found


def _links():
    return set(os.listdir("/sys/class/net"))


def _netns():
    try:
        return set(os.listdir("/run/netns"))
    except FileNotFoundError:
        return set()


def _tempdirs():
    tmp = tempfile.gettempdir()
    return {n for n in os.listdir(tmp) if n.startswith(TMP_PREFIX)}


def snapshot():
    return {
        "mounts": _mounts(),
        "cgroups": _cgroups(),
        "links": _links(),
        "netns": _netns(),
        "tempdirs": _tempdirs(),
    }


def _descendants_of_me():
    """Processes whose parent is this pytest. pytest is a child subreaper, so
    anything a test started and orphaned is re-parented here, not to init."""
    me = os.getpid()
    stray = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == me:
            if fields[0] == "Z":  # an unreaped orphan: reap it, it is gone
                try:
                    os.waitpid(int(pid), os.WNOHANG)
                except ChildProcessError:
                    pass
                continue
            stray.append(f"{pid} {comm}")
    return sorted(stray)


def leaks(before, after):
    """What appeared between two snapshots (see LEAK_SCOPE)."""
    found = {}
    keys = ("mounts", "cgroups", "links", "netns", "tempdirs")
    if LEAK_SCOPE == "own":
        keys = ("mounts", "tempdirs")
    for key in keys:
        new = after[key] - before[key]
        if LEAK_SCOPE == "own":
            new = {n for n in new if TMP_PREFIX in n}
        if new:
            found[key] = sorted(new)
    stray = _descendants_of_me()
    if stray:
        found["processes"] = stray
    return found


def make_busybox_rootfs(dest):
    run(["bash", ROOT / "scripts" / "make-busybox-rootfs.sh", dest])
    return pathlib.Path(dest)
