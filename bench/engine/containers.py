"""bench/engine/run-containers: the container lifecycle measured through the
stock docker CLI against berthd and (if installed) a reference dockerd on
its own socket, same image, same machine, one run; prints ratios."""
import json
import os
import pathlib
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("BERTH_BUILD_DIR", ROOT / "build"))
DOCKER = "/usr/local/bin/docker"
IMAGE = "busybox:local"


def sh(args, env, check=True, **kw):
    return subprocess.run([str(a) for a in args], env=env, check=check, capture_output=True, text=True, **kw)


class Engine:
    def __init__(self, name, url, proc=None):
        self.name, self.url, self.proc = name, url, proc
        self.env = dict(os.environ, DOCKER_HOST=url, DOCKER_CLI_HINTS="false")

    def docker(self, *args, check=True, **kw):
        return sh([DOCKER, *args], self.env, check=check, **kw)


def start_berthd(tmp):
    tmp.mkdir(parents=True, exist_ok=True)
    data, execr = tmp / "data", tmp / "exec"
    cfg = tmp / "daemon.json"
    cfg.write_text("{}")
    sock = execr / "berth.sock"
    log = open(tmp / "berthd.log", "ab")
    proc = subprocess.Popen([BUILD / "src" / "cmd" / "berthd", "--data-root", data, "--exec-root", execr,
                             "-H", f"unix://{sock}", "--pidfile", execr / "berthd.pid", "--config-file", cfg],
                            stdout=log, stderr=subprocess.STDOUT)
    e = Engine("berth", f"unix://{sock}", proc)
    for _ in range(200):
        if e.docker("version", check=False).returncode == 0:
            return e
        time.sleep(0.05)
    raise SystemExit("berthd did not start")


def start_dockerd(tmp):
    dockerd = shutil.which("dockerd")
    if not dockerd:
        return None
    tmp.mkdir(parents=True, exist_ok=True)
    sock = tmp / "docker.sock"
    log = open(tmp / "dockerd.log", "ab")
    proc = subprocess.Popen([dockerd, "--data-root", tmp / "docker-data", "--exec-root", tmp / "docker-exec",
                             "-H", f"unix://{sock}", "--pidfile", tmp / "dockerd.pid", "--bridge", "none",
                             "--iptables=false"], stdout=log, stderr=subprocess.STDOUT)
    e = Engine("docker", f"unix://{sock}", proc)
    for _ in range(300):
        if e.docker("version", check=False).returncode == 0:
            return e
        time.sleep(0.1)
    proc.kill()
    return None


def import_image(e, tmp):
    rootfs = tmp / "rootfs"
    if not rootfs.exists():
        sh(["bash", ROOT / "scripts" / "make-busybox-rootfs.sh", rootfs], os.environ)
        with tarfile.open(tmp / "bb.tar", "w") as t:
            t.add(rootfs, arcname=".")
    if e.docker("import", tmp / "bb.tar", IMAGE, check=False).returncode == 0:
        return
    # berthd without the image endpoints yet: fill its store directly
    e.proc.send_signal(signal.SIGTERM)
    e.proc.wait()
    sh([BUILD / "tests" / "unit" / "image" / "berth-image-tool", "--root", tmp / "data", "import",
        tmp / "bb.tar", IMAGE], os.environ)
    new = start_berthd(tmp)
    e.proc, e.url, e.env = new.proc, new.url, new.env


def timed(fn, n):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            kids = []
        out += kids
        todo += kids
    return out


def measure(e, tmp):
    r = {}
    e.docker("run", "--rm", IMAGE, "true")  # warm up
    r["run --rm true (ms)"] = 1000 * timed(lambda: e.docker("run", "--rm", IMAGE, "true"), 15)
    # 50 containers, 8 clients
    t = time.perf_counter()
    subprocess.run(f"seq 50 | xargs -P8 -I{{}} {DOCKER} run --rm {IMAGE} true", shell=True, env=e.env,
                   check=True, capture_output=True)
    r["burst 50 x run --rm, 8 clients (s)"] = time.perf_counter() - t
    # per running container overhead
    if e.name == "berth":
        base = rss_kib(e.proc.pid)
        for i in range(20):
            e.docker("run", "-d", "--name", f"idle{i}", IMAGE, "sleep", "600")
        mons = [p for p in descendants(e.proc.pid) if open(f"/proc/{p}/comm").read().strip().startswith("berth-monitor")]
        mon_rss = sum(rss_kib(p) for p in mons) / max(len(mons), 1)
        r["monitor RSS per container (KiB)"] = mon_rss
        r["berthd RSS growth per container (KiB)"] = (rss_kib(e.proc.pid) - base) / 20
        e.docker("rm", "-f", *[f"idle{i}" for i in range(20)])
    # ps -a with 100 containers
    ids = [e.docker("create", IMAGE, "true").stdout.strip() for _ in range(100)]
    r["ps -a, 100 containers (ms)"] = 1000 * timed(lambda: e.docker("ps", "-a"), 10)
    e.docker("rm", *ids)
    # 100 MB of stdout through the log path and back
    t = time.perf_counter()
    e.docker("run", "--name", "big", IMAGE, "sh", "-c",
             "head -c 100000000 /dev/zero | tr '\\0' x | fold -w 99")
    r["100 MB stdout, run (s)"] = time.perf_counter() - t
    t = time.perf_counter()
    subprocess.run([DOCKER, "logs", "big"], env=e.env, stdout=subprocess.DEVNULL, check=True)
    r["100 MB back through logs (s)"] = time.perf_counter() - t
    e.docker("rm", "big")
    return r


def main():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="berth-bench-engine-"))
    engines = []
    try:
        b = start_berthd(tmp / "b")
        engines.append(b)
        import_image(b, tmp / "b")
        d = start_dockerd(tmp / "d")
        if d:
            engines.append(d)
            import_image(d, tmp / "b")
        results = {e.name: measure(e, tmp) for e in engines}
        keys = list(results["berth"].keys())
        print(f"{'':44} {'berth':>10} {'docker':>10} {'ratio':>8}")
        for k in keys:
            bv = results["berth"][k]
            dv = results.get("docker", {}).get(k)
            ratio = f"{dv / bv:7.1f}x" if dv and bv else "      -"
            print(f"{k:44} {bv:10.1f} {dv if dv is not None else '-':>10} {ratio}")
        if not d:
            print("(reference dockerd not installed: berth only; ratio column empty)")
        print("goals: run --rm through the docker CLI >= 10x faster than Docker; monitor <= 600 KiB per container")
    finally:
        for e in engines:
            if e.name == "berth":
                ids = e.docker("ps", "-aq", check=False).stdout.split()
                if ids:
                    e.docker("rm", "-f", *ids, check=False)
            e.proc.send_signal(signal.SIGTERM)
            e.proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
