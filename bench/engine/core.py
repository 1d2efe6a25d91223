"""bench/engine core: what the daemon costs when idle and per request.
  - idle RSS of berthd (goal <= 6 MiB) vs dockerd (+ its containerd), and
    where berthd's is: per mapping and per category (smaps.py)
  - `docker version` and `docker images` wall time through the stock CLI
  - raw API round trips over the unix socket (GET /_ping, /images/json,
    /info), which is the daemon's own share without the CLI's ~15 ms
berthd and the reference dockerd run on their own sockets and temp roots;
the reference is skipped (and said so) when dockerd is not installed."""
import http.client
import os
import pathlib
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import smaps

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("BERTH_BUILD_DIR", ROOT / "build"))
DOCKER = "/usr/local/bin/docker"
ROUNDS_CLI = int(os.environ.get("BENCH_CLI_ROUNDS", "20"))
ROUNDS_API = int(os.environ.get("BENCH_API_ROUNDS", "300"))


class UnixConn(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=30)
        self.path_ = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.path_)


class Engine:
    def __init__(self, name, sock, proc):
        self.name, self.sock, self.proc = name, str(sock), proc
        self.env = dict(os.environ, DOCKER_HOST=f"unix://{sock}", DOCKER_CLI_HINTS="false")

    def docker(self, *args, check=True):
        return subprocess.run([DOCKER, *map(str, args)], env=self.env, check=check,
                              capture_output=True, text=True)

    def wait_ready(self, tries=300):
        for _ in range(tries):
            if self.proc.poll() is not None:
                return False
            if self.docker("version", check=False).returncode == 0:
                return True
            time.sleep(0.05)
        return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_berthd(tmp):
    tmp.mkdir(parents=True, exist_ok=True)
    cfg = tmp / "daemon.json"
    cfg.write_text("{}")
    sock = tmp / "exec" / "berth.sock"
    log = open(tmp / "berthd.log", "ab")
    proc = subprocess.Popen([BUILD / "src" / "cmd" / "berthd", "--data-root", tmp / "data",
                             "--exec-root", tmp / "exec", "-H", f"unix://{sock}",
                             "--pidfile", tmp / "exec" / "berthd.pid", "--config-file", cfg],
                            stdout=log, stderr=subprocess.STDOUT)
    e = Engine("berth", sock, proc)
    if not e.wait_ready():
        e.stop()
        sys.exit(f"berthd did not start: {(tmp / 'berthd.log').read_text()}")
    return e


def start_dockerd(tmp):
    dockerd = shutil.which("dockerd")
    if not dockerd:
        return None
    tmp.mkdir(parents=True, exist_ok=True)
    sock = tmp / "docker.sock"
    log = open(tmp / "dockerd.log", "ab")
    proc = subprocess.Popen([dockerd, "--data-root", tmp / "data", "--exec-root", tmp / "exec",
                             "-H", f"unix://{sock}", "--pidfile", tmp / "dockerd.pid",
                             "--bridge", "none", "--iptables=false", "--ip6tables=false"],
                            stdout=log, stderr=subprocess.STDOUT)
    e = Engine("docker", sock, proc)
    if not e.wait_ready():
        e.stop()
        print(f"  (dockerd did not start; see {tmp / 'dockerd.log'})")
        return None
    return e


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid):
    """Proportional set size: shared library pages divided among their users."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kib(pid):
    """RSS of a process and its descendants (dockerd starts containerd)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss_kib(p)
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return total


def cli_median_ms(e, *args):
    times = []
    for _ in range(ROUNDS_CLI):
        t = time.perf_counter()
        e.docker(*args)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def api_median_us(e, path):
    times = []
    for _ in range(ROUNDS_API):
        c = UnixConn(e.sock)
        t = time.perf_counter()
        c.request("GET", path)
        c.getresponse().read()
        times.append(time.perf_counter() - t)
        c.close()
    return statistics.median(times) * 1e6


def measure(e):
    # a little traffic first, then let it settle: that is "idle"
    for _ in range(5):
        e.docker("version")
        e.docker("images")
    time.sleep(1)
    r = {"rss": rss_kib(e.proc.pid), "pss": pss_kib(e.proc.pid), "tree_rss": tree_rss_kib(e.proc.pid),
         "smaps_idle": smaps.breakdown(e.proc.pid)}
    r["version_ms"] = cli_median_ms(e, "version")
    r["images_ms"] = cli_median_ms(e, "images")
    for name, path in (("ping", "/_ping"), ("images_api", "/v1.41/images/json"), ("info", "/v1.41/info")):
        r[name] = api_median_us(e, path)
    r["rss_after"] = rss_kib(e.proc.pid)
    r["smaps_after"] = smaps.breakdown(e.proc.pid)
    return r


def main():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="berth-bench-engine-"))
    engines = []
    try:
        b = start_berthd(tmp / "berth")
        engines.append(b)
        res = {"berth": measure(b)}
        d = start_dockerd(tmp / "docker")
        if d:
            engines.append(d)
            res["docker"] = measure(d)
        else:
            print("  reference dockerd not installed (apt-get install docker.io): berth only")
        rows = [
            ("idle daemon RSS (KiB)", "rss", "goal <= 6144 KiB"),
            ("idle daemon PSS (KiB)", "pss", "shared library pages shared out"),
            ("daemon + children RSS (KiB)", "tree_rss", "dockerd starts containerd"),
            ("RSS after the runs (KiB)", "rss_after", ""),
            ("docker version (ms, median)", "version_ms", "CLI alone ~15 ms"),
            ("docker images (ms, median)", "images_ms", ""),
            ("GET /_ping (us, median)", "ping", ""),
            ("GET /images/json (us, median)", "images_api", ""),
            ("GET /info (us, median)", "info", ""),
        ]
        print(f"{'bench/engine core':34} {'berth':>10} {'docker':>10} {'docker/berth':>13}")
        for label, key, note in rows:
            bv = res["berth"][key]
            dv = res.get("docker", {}).get(key)
            ratio = f"{dv / bv:12.1f}x" if dv and bv else f"{'-':>13}"
            dtext = f"{dv:10.0f}" if dv is not None else f"{'-':>10}"
            print(f"{label:34} {bv:10.0f} {dtext} {ratio}  {note}")
        goal = res["berth"]["rss"] <= 6144
        print(f"idle RSS goal (<= 6 MiB): {'met' if goal else 'NOT met'} "
              f"(VmRSS {res['berth']['rss'] / 1024:.2f} MiB, PSS {res['berth']['pss'] / 1024:.2f} MiB)")
        smaps.print_breakdown(b.proc.pid, "idle berthd's RSS", rows=res["berth"]["smaps_idle"])
        more = sorted(set(res["berth"]["smaps_after"]) - set(res["berth"]["smaps_idle"]))
        print(f"  mapped after the API runs, not at idle: {', '.join(more) if more else 'nothing'}")
    finally:
        for e in engines:
            e.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
