"""bench/engine/run-containers: the container lifecycle measured through the
stock docker CLI against berthd and (if installed) a reference dockerd on
its own socket, same image, same machine, one run; prints ratios."""
import json
import os
import pathlib
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

import smaps
from core import UnixConn  # bench/engine/core.py, next to this file

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


# berthd's default bridge, nft table and address pool of this run: never
# another berthd's (other runs, tests) on the same host
TAG = secrets.token_hex(2)
NET_CONFIG = {"bridge": f"bbench{TAG}", "nft-table": f"berth_bench_{TAG}",
              "default-address-pools": [{"base": f"10.{160 + secrets.randbelow(90)}.0.0/16", "size": 24}]}


def destroy_network():
    subprocess.run(["ip", "link", "del", NET_CONFIG["bridge"]], capture_output=True)
    subprocess.run(["nft", "delete", "table", "ip", NET_CONFIG["nft-table"]], capture_output=True)


# Both engines' exec roots (runtime state, bundles, sockets) on a tmpfs,
# as /run/berth and /run/docker are on every host: on a disk they would
# cost each run a dozen inode creations and deletions, which this host's
# ext4 (no journal) makes slow. Set by main(); None: under the temp dir.
RUN = None


def exec_root(tmp, name):
    return (RUN / name) if RUN else (tmp / name)


def start_berthd(tmp):
    tmp.mkdir(parents=True, exist_ok=True)
    data, execr = tmp / "data", exec_root(tmp, "exec")
    cfg = tmp / "daemon.json"
    cfg.write_text(json.dumps(NET_CONFIG))
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
    proc = subprocess.Popen([dockerd, "--data-root", tmp / "docker-data", "--exec-root", exec_root(tmp, "docker-exec"),
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


class Raw:
    """The docker CLI's `run --rm` request sequence over the engine's unix
    socket, timed per phase (what the engine costs without the CLI)."""

    def __init__(self, url):
        self.path = url[len("unix://"):]

    def run_rm(self, network):
        marks = [time.perf_counter()]
        body = json.dumps({"Image": IMAGE, "Cmd": ["true"], "AttachStdout": True, "AttachStderr": True,
                           "HostConfig": {"AutoRemove": True, "NetworkMode": network}})
        c = UnixConn(self.path)
        c.request("POST", "/v1.41/containers/create", body, {"Content-Type": "application/json"})
        r = c.getresponse()
        cid = json.loads(r.read())["Id"]
        c.close()
        marks.append(time.perf_counter())
        a = socket.socket(socket.AF_UNIX)
        a.connect(self.path)
        a.sendall(f"POST /v1.41/containers/{cid}/attach?stderr=1&stdout=1&stream=1 HTTP/1.1\r\n"
                  "Host: x\r\nUpgrade: tcp\r\nConnection: Upgrade\r\nContent-Length: 0\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += a.recv(4096)
        marks.append(time.perf_counter())
        w = UnixConn(self.path)
        w.request("POST", f"/v1.41/containers/{cid}/wait?condition=removed")
        st = UnixConn(self.path)
        st.request("POST", f"/v1.41/containers/{cid}/start")
        st.getresponse().read()
        st.close()
        marks.append(time.perf_counter())
        while a.recv(65536):  # the stream ends with the container
            pass
        a.close()
        marks.append(time.perf_counter())
        out = w.getresponse().read()
        w.close()
        marks.append(time.perf_counter())
        if json.loads(out).get("StatusCode") != 0:
            raise SystemExit(f"run --rm through the API failed: {out!r}")
        return [1000 * (marks[i + 1] - marks[i]) for i in range(len(marks) - 1)] + \
            [1000 * (marks[-1] - marks[0])]


PHASES = ["create", "attach (101)", "wait sent, start answered", "attach stream end",
          "wait answer (removed)", "total"]


def phases(e, network, n=15):
    raw = Raw(e.url)
    raw.run_rm(network)
    rows = [raw.run_rm(network) for _ in range(n)]
    return [statistics.median(r[i] for r in rows) for i in range(len(PHASES))]


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


def cpu_ms(pid):
    """user+sys of pid and its reaped descendants (berthd reaps its
    monitors, which reap their containers), in ms."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) * 1000 / os.sysconf("SC_CLK_TCK")


def client_cpu_ms():
    t = os.times()
    return (t.children_user + t.children_system) * 1000


def measure(e, tmp):
    r = {}
    e.docker("run", "--rm", IMAGE, "true")  # warm up
    n = 15
    d0, c0 = (cpu_ms(e.proc.pid) if e.name == "berth" else None), client_cpu_ms()
    r["run --rm true (ms)"] = 1000 * timed(lambda: e.docker("run", "--rm", IMAGE, "true"), n)
    r["  docker CLI user+sys per run (ms)"] = (client_cpu_ms() - c0) / n
    if e.name == "berth":
        r["  engine user+sys per run (ms)"] = (cpu_ms(e.proc.pid) - d0) / n
        # the reference dockerd runs without a bridge (--bridge none): the
        # same run without a network, for the like-for-like ratio
        r["run --rm --network none true (ms)"] = 1000 * timed(
            lambda: e.docker("run", "--rm", "--network", "none", IMAGE, "true"), n)
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
        MONITOR_SMAPS[:] = [smaps.breakdown(mons[0])] if mons else []
        r["berthd RSS growth per container (KiB)"] = (rss_kib(e.proc.pid) - base) / 20
        e.docker("rm", "-f", *[f"idle{i}" for i in range(20)])
    # docker exec into a running container (berth: through its monitor)
    e.docker("run", "-d", "--name", "execd", IMAGE, "sleep", "600")
    e.docker("exec", "execd", "true")  # warm up
    r["exec true into a running container (ms)"] = 1000 * timed(lambda: e.docker("exec", "execd", "true"), 15)
    e.docker("rm", "-f", "execd")
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


MONITOR_SMAPS = []  # one running container's monitor, printed after the table

CRUN_WRAP = ["unshare", "-m", "--propagation", "private", "sh", "-c",
             'umount -l /sys/fs/cgroup/unified && exec "$0" "$@"']


def crun_run_ms(tmp, rootfs):
    """`crun run` of a prepared busybox bundle running true (hyperfine,
    median and user+sys). Debian's crun refuses the hybrid cgroup layout
    when cgroup2 owns hugetlb: then it runs, as bench/runtime does, in a
    private mount namespace where the cgroup2 mount is hidden (pure v1)."""
    crun, hyperfine = shutil.which("crun"), shutil.which("hyperfine")
    if not crun or not hyperfine:
        return None, "crun or hyperfine not installed (deps/bench.txt)"
    bundle, state = tmp / "crun-bundle", exec_root(tmp, "crun-state")
    bundle.mkdir(parents=True, exist_ok=True)
    sh([BUILD / "src" / "cmd" / "berth-runtime", "spec", "--bundle", bundle], os.environ)
    cfg = json.loads((bundle / "config.json").read_text())
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["true"]
    cfg["root"] = {"path": str(rootfs), "readonly": True}
    (bundle / "config.json").write_text(json.dumps(cfg))
    wrap, note = [], "hybrid cgroups"
    if sh([crun, "--root", state, "run", "probe"], os.environ, check=False, cwd=bundle).returncode != 0:
        wrap, note = CRUN_WRAP, "pure v1 (cgroup2 hidden in a private mount namespace)"
        if sh([*wrap, crun, "--root", state, "run", "probe2"], os.environ, check=False, cwd=bundle).returncode:
            return None, "crun does not run here"
    out = tmp / "crun.json"
    sh([*wrap, hyperfine, "-N", "--warmup", "5", "--runs", "40", "--export-json", out,
        f"{crun} --root {state} run bench-crun"], os.environ, cwd=bundle)
    res = json.loads(out.read_text())["results"][0]
    return (1000 * res["median"], 1000 * (res["user"] + res["system"])), note


def berth_cli_run(b):
    """run --rm through berth's own CLI against the same berthd."""
    berth = BUILD / "src" / "cmd" / "berth"
    env = dict(b.env, BERTH_HOST=b.url)
    sh([berth, "run", "--rm", IMAGE, "true"], env)
    n = 15
    d0, c0 = cpu_ms(b.proc.pid), client_cpu_ms()
    med = 1000 * timed(lambda: sh([berth, "run", "--rm", IMAGE, "true"], env), n)
    return med, (client_cpu_ms() - c0) / n, (cpu_ms(b.proc.pid) - d0) / n


def interleaved(b, d, n=15):
    """run --rm once more, round by round across the engines and CLIs: the
    host's load drifts, and blocks measured a minute apart (measure()) do
    not make a fair ratio on a shared machine."""
    berth = BUILD / "src" / "cmd" / "berth"
    benv = dict(b.env, BERTH_HOST=b.url)
    runs = {"docker CLI -> berthd": lambda: b.docker("run", "--rm", IMAGE, "true"),
            "berth CLI  -> berthd": lambda: sh([berth, "run", "--rm", IMAGE, "true"], benv)}
    if d:
        runs["docker CLI -> dockerd"] = lambda: d.docker("run", "--rm", IMAGE, "true")
    times = {k: [] for k in runs}
    for _ in range(n):
        for k, fn in runs.items():
            t = time.perf_counter()
            fn()
            times[k].append(1000 * (time.perf_counter() - t))
    return {k: statistics.median(v) for k, v in times.items()}


def loadavg():
    return open("/proc/loadavg").read().split()[:3]


def main():
    global RUN
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="berth-bench-engine-"))
    engines = []
    run = tmp / "run"
    run.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512m,mode=0755", "tmpfs", run]).returncode == 0:
        RUN = run
    try:
        b = start_berthd(tmp / "b")
        engines.append(b)
        import_image(b, tmp / "b")
        d = start_dockerd(tmp / "d")
        if d:
            engines.append(d)
            import_image(d, tmp / "b")
        load0 = loadavg()
        results = {e.name: measure(e, tmp) for e in engines}
        # where an engine's time goes: docker run's requests without the CLI
        breakdown = {e.name: phases(e, "default") for e in engines}
        breakdown["berth, --network none"] = phases(b, "none")
        cli = berth_cli_run(b)
        mixed = interleaved(b, d)
        crun, crun_note = crun_run_ms(tmp, tmp / "b" / "rootfs")
        load1 = loadavg()
        keys = list(results["berth"].keys())
        print(f"{'':44} {'berth':>10} {'docker':>10} {'ratio':>8}")
        for k in keys:
            bv = results["berth"][k]
            dv = results.get("docker", {}).get(k)
            ratio = f"{dv / bv:7.1f}x" if dv and bv else "      -"
            dtext = f"{dv:10.1f}" if dv is not None else f"{'-':>10}"
            print(f"{k:44} {bv:10.1f} {dtext} {ratio}")
        if not d:
            print("(reference dockerd not installed: berth only; ratio column empty)")
        if MONITOR_SMAPS:
            smaps.print_breakdown(None, "one running container's monitor", rows=MONITOR_SMAPS[0])
        print()
        print("run --rm busybox true                         median ms   user+sys ms (client, engine)")
        print(f"  docker CLI -> berthd                       {results['berth']['run --rm true (ms)']:9.1f}"
              f"   {results['berth']['  docker CLI user+sys per run (ms)']:.1f}, "
              f"{results['berth']['  engine user+sys per run (ms)']:.1f}")
        if d:
            print(f"  docker CLI -> dockerd                      {results['docker']['run --rm true (ms)']:9.1f}"
                  f"   {results['docker']['  docker CLI user+sys per run (ms)']:.1f}, n/a (shims are not dockerd's children)")
        print(f"  berth CLI  -> berthd                       {cli[0]:9.1f}   {cli[1]:.1f}, {cli[2]:.1f}")
        if crun:
            print(f"  crun run of a prepared bundle              {crun[0]:9.1f}   {crun[1]:.1f} ({crun_note})")
        else:
            print(f"  crun run of a prepared bundle              n/a ({crun_note})")
        print("  interleaved round by round (15 rounds, median ms): "
              + ", ".join(f"{k.strip()} {v:.1f}" for k, v in mixed.items()))
        if d:
            print(f"docker -> dockerd / docker -> berthd = {results['docker']['run --rm true (ms)'] / results['berth']['run --rm true (ms)']:.1f}x"
                  f" (interleaved: {mixed['docker CLI -> dockerd'] / mixed['docker CLI -> berthd']:.1f}x)  (goal >= 10x)")
        if crun:
            print(f"berth CLI / crun run                 = {cli[0] / crun[0]:.2f}"
                  f" (interleaved berth CLI: {mixed['berth CLI  -> berthd'] / crun[0]:.2f})   (goal <= 2.0)")
        print()
        print("run --rm through the API, docker CLI's request sequence without the CLI (median ms)")
        names = list(breakdown)
        print(f"  {'phase':30} " + " ".join(f"{n:>22}" for n in names))
        for i, ph in enumerate(PHASES):
            print(f"  {ph:30} " + " ".join(f"{breakdown[n][i]:22.1f}" for n in names))
        if d:
            print(f"  (dockerd runs with --bridge none: its containers get no network; berth's default"
                  f" bridge network costs {breakdown['berth'][-1] - breakdown['berth, --network none'][-1]:.1f} ms here)")
            print(f"docker -> dockerd / docker -> berthd --network none = "
                  f"{results['docker']['run --rm true (ms)'] / results['berth']['run --rm --network none true (ms)']:.1f}x")
        print(f"exec roots (runtime state, bundles, sockets) on {'a tmpfs, as /run is' if RUN else 'the temp dir (tmpfs mount failed)'};"
              " data roots on the temp dir's disk")
        print(f"load average: {' '.join(load0)} before, {' '.join(load1)} after (2 cores shared with other work)")
        print("goals: run --rm through the docker CLI >= 10x faster than Docker; monitor <= 600 KiB per container")
    finally:
        for e in engines:
            if e.name == "berth":
                ids = e.docker("ps", "-aq", check=False).stdout.split()
                if ids:
                    e.docker("rm", "-f", *ids, check=False)
            e.proc.send_signal(signal.SIGTERM)
            e.proc.wait()
        destroy_network()
        if RUN:
            subprocess.run(["umount", "-l", RUN])
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
