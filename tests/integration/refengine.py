"""The reference engine for berth's differential tests: Debian's dockerd
(docker.io) and the containerd it manages, started on temp paths (its own
socket, data root, exec root, cgroup parent; no bridge, no iptables) and
stopped so that nothing of it is left behind."""
import os
import pathlib
import shutil
import signal
import subprocess
import time

DOCKER = "/usr/local/bin/docker"
DOCKERD = shutil.which("dockerd") or "/usr/sbin/dockerd"


class RefDockerd:
    """Debian's dockerd (and the containerd it manages) on temp paths, with
    no bridge, no iptables and its own cgroup parent."""

    def __init__(self, root):
        self.root = pathlib.Path(root)
        self.socket = self.root / "docker.sock"
        self.url = f"unix://{self.socket}"
        self.cgroup_parent = f"berth-reftest-{os.getpid()}"
        self.proc = None
        self.log_path = self.root / "dockerd.log"

    def start(self, timeout=60):
        for d in ("data", "exec", "docker-config"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        cfg = self.root / "daemon.json"
        cfg.write_text("{}")  # never read /etc/docker/daemon.json
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [DOCKERD, "-H", self.url, "--config-file", str(cfg),
             "--data-root", str(self.root / "data"), "--exec-root", str(self.root / "exec"),
             "--pidfile", str(self.root / "dockerd.pid"), "--iptables=false",
             "--ip6tables=false", "--ip-masq=false", "--bridge=none", "--userland-proxy=false",
             "--storage-driver", "overlay2", "--cgroup-parent", self.cgroup_parent,
             "--log-level", "warn"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"dockerd exited {self.proc.returncode}:\n{self.read_log()}")
            if self.socket.exists() and self.docker("version", check=False).returncode == 0:
                return self
            time.sleep(0.2)
        raise AssertionError(f"dockerd did not answer in {timeout}s:\n{self.read_log()}")

    def read_log(self):
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def env(self):
        env = dict(os.environ)
        env.update({"DOCKER_HOST": self.url, "DOCKER_CONFIG": str(self.root / "docker-config"),
                    "DOCKER_CLI_HINTS": "false", "DOCKER_BUILDKIT": "0"})
        env.pop("DOCKER_CONTEXT", None)
        return env

    def docker(self, *args, check=True, input=None, timeout=120):
        res = subprocess.run([DOCKER, *map(str, args)], env=self.env(), input=input,
                             capture_output=True, text=True, timeout=timeout)
        if check and res.returncode != 0:
            raise AssertionError(f"reference docker {' '.join(map(str, args))} exited "
                                 f"{res.returncode}\nstdout: {res.stdout}\nstderr: {res.stderr}\n"
                                 f"dockerd log:\n{self.read_log()}")
        return res

    def _our_processes(self):
        """dockerd, its containerd, shims: whatever runs with our root in argv."""
        found = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if str(self.root).encode() in cmd:
                found.append(int(pid))
        return found

    def _cgroup_parents(self):
        found = []
        for top, dirs, _ in os.walk("/sys/fs/cgroup"):
            if top.count("/") > 9:
                dirs[:] = []
            elif self.cgroup_parent in dirs:
                found.append(pathlib.Path(top) / self.cgroup_parent)
                dirs.remove(self.cgroup_parent)
        return found

    def stop(self):
        errors = []
        if self.proc is not None and self.proc.poll() is None:
            ids = self.docker("ps", "-aq", check=False).stdout.split()
            if ids:
                self.docker("rm", "-f", *ids, check=False)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                errors.append("dockerd did not stop on SIGTERM")
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.log.close()
        deadline = time.time() + 15
        while self._our_processes() and time.time() < deadline:
            time.sleep(0.1)
        for pid in self._our_processes():
            errors.append(f"left running: {pid}")
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        with open("/proc/self/mountinfo") as f:
            mounts = [l.split()[4] for l in f if l.split()[4].startswith(str(self.root))]
        for m in reversed(mounts):
            subprocess.run(["umount", "-l", m], check=False)
        if mounts:
            errors.append(f"mounts left: {mounts}")
        # docker removes container cgroups, never the parent it made; a
        # relative parent sits below the caller's own cgroup of each
        # hierarchy (which may be nested, e.g. memory/process_api/<id>/)
        for cg in self._cgroup_parents():
            for sub in sorted((p for p in cg.rglob("*") if p.is_dir()), reverse=True):
                sub.rmdir()
            cg.rmdir()
        left = self._cgroup_parents()
        if left:
            errors.append(f"cgroups left: {left}")
        shutil.rmtree(self.root, ignore_errors=True)
        return errors


def start_or_skip(root):
    """A started RefDockerd on root, or pytest.skip saying why there is none."""
    import pytest
    if not os.access(DOCKERD, os.X_OK):
        pytest.skip("Debian's docker.io (dockerd) is not installed: no differential test")
    ref = RefDockerd(root)
    try:
        ref.start()
    except AssertionError as e:
        errors = ref.stop()
        pytest.skip(f"the reference dockerd does not start here: {e} {errors}")
    return ref
