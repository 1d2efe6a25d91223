"""bench/network run latency through berthd: `docker run --rm busybox true`
on the default bridge (veth into the container's netns, address, route,
hosts/resolv.conf written by the network glue; released at exit) against
`--network none` (loopback only), through the stock docker CLI, rounds
interleaved; prints the medians and the ratio (the networking's share of a
run). berthd runs on a temp root with its own bridge device, nft table and
pool; everything it made is destroyed on exit."""
import json
import os
import pathlib
import secrets
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("BERTH_BUILD_DIR", ROOT / "build"))
DOCKER = "/usr/local/bin/docker"
ROUNDS = int(os.environ.get("BENCH_RUN_ROUNDS", "15"))


def main():
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="berth-bench-netrun-"))
    tag = secrets.token_hex(2)
    table, device = f"berth_bench_run_{tag}", f"bbr{tag}"
    cfg = {"bridge": device, "nft-table": table,
           "default-address-pools": [{"base": f"10.{160 + secrets.randbelow(90)}.0.0/16",
                                      "size": 24}]}
    (tmp / "daemon.json").write_text(json.dumps(cfg))
    sock = tmp / "berth.sock"
    env = dict(os.environ, DOCKER_HOST=f"unix://{sock}", DOCKER_CLI_HINTS="false",
               DOCKER_CONFIG=str(tmp / "dc"))
    log = open(tmp / "berthd.log", "w")
    proc = subprocess.Popen([str(BUILD / "src/cmd/berthd"), "--data-root", str(tmp / "data"),
                             "--exec-root", str(tmp / "exec"), "-H", f"unix://{sock}",
                             "--config-file", str(tmp / "daemon.json")], stdout=log,
                            stderr=subprocess.STDOUT)

    def docker(*args):
        return subprocess.run([DOCKER, *args], env=env, check=True, capture_output=True,
                              text=True)

    try:
        for _ in range(200):
            if subprocess.run([DOCKER, "version"], env=env, capture_output=True).returncode == 0:
                break
            time.sleep(0.05)
        sys.path.insert(0, str(ROOT / "tests" / "integration"))
        from berthtest import make_busybox_rootfs
        rootfs = make_busybox_rootfs(tmp / "rootfs")
        with tarfile.open(tmp / "bb.tar", "w") as t:
            t.add(rootfs, arcname=".")
        docker("import", str(tmp / "bb.tar"), "busybox:bench")
        modes = {"bridge": [], "none": []}
        for mode in modes:  # warm up (the default bridge is made on first use)
            docker("run", "--rm", "--network", mode, "busybox:bench", "true")
        for _ in range(ROUNDS):
            for mode, times in modes.items():
                t0 = time.perf_counter()
                docker("run", "--rm", "--network", mode, "busybox:bench", "true")
                times.append((time.perf_counter() - t0) * 1000)
        b, n = statistics.median(modes["bridge"]), statistics.median(modes["none"])
        print(f"run latency through berthd (docker run --rm busybox true, {ROUNDS} rounds, median):")
        print(f"  --network none    {n:7.1f} ms")
        print(f"  default bridge    {b:7.1f} ms   (+{b - n:.1f} ms for the network)")
        print(f"  ratio bridge/none {b / n:7.2f}x")
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
        tool = BUILD / "tests/unit/network/berth-net-tool"
        subprocess.run([str(tool), "--state", str(tmp / "data/network"), "--table", table,
                        "--device", device, "destroy"], capture_output=True)
        subprocess.run(["umount", "-R", str(tmp / "data")], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
