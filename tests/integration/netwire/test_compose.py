"""docker-compose 1.29 (Debian's) against berthd: a project with an httpd
service publishing a port, a client that fetches it by service name over
the project network, and a named volume; up -d, ps, logs, exec, down -v,
and nothing of the project left (containers, network, volume, veth)."""
import shutil
import subprocess
import time

import pytest

from conftest import IMAGE, TAG, free_port, links
from test_netwire import http_get

COMPOSE = shutil.which("docker-compose")

YML = """version: "3.7"
services:
  web:
    image: {image}
    command: ["sh", "-c", "echo from-volume > /data/index.html && httpd -f -v -p 80 -h /data"]
    ports:
      - "127.0.0.1:{port}:80"
    volumes:
      - data:/data
  client:
    image: {image}
    command: ["sh", "-c", "while true; do printf 'GET / HTTP/1.0\\\\r\\\\n\\\\r\\\\n' | nc -w 2 web 80 && echo fetched-ok; sleep 1; done"]
    depends_on: [web]
volumes:
  data: {{}}
"""


@pytest.mark.skipif(COMPOSE is None, reason="docker-compose (Debian package) is not installed")
def test_compose_project_up_ps_logs_exec_down(bd, tmpdir_berth):
    project = f"nw{TAG}"
    port = free_port()
    d = tmpdir_berth / "proj"
    d.mkdir()
    (d / "docker-compose.yml").write_text(YML.format(image=IMAGE, port=port))
    env = bd.env({"COMPOSE_PROJECT_NAME": project})

    def compose(*args, check=True, timeout=120):
        r = subprocess.run([COMPOSE, *args], cwd=d, env=env, capture_output=True, text=True,
                           timeout=timeout)
        if check:
            assert r.returncode == 0, (f"docker-compose {args}: {r.stdout}\n{r.stderr}\n"
                                       + bd.read_log()[-3000:])
        return r

    compose("up", "-d")
    try:
        assert "from-volume" in http_get(port, "/", timeout=10)
        ps = compose("ps").stdout
        assert f"{project}_web_1" in ps and f"{project}_client_1" in ps and "Up" in ps
        assert f"127.0.0.1:{port}->80/tcp" in ps
        deadline = time.time() + 20
        logs = ""
        while time.time() < deadline and "fetched-ok" not in logs:
            logs = compose("logs", "client").stdout
            time.sleep(0.5)
        assert "fetched-ok" in logs and "from-volume" in logs, logs
        r = compose("exec", "-T", "client", "nslookup", "web")
        assert "Address" in r.stdout
        net = f"{project}_default"
        bridge = "br-" + bd.docker("network", "inspect", "-f", "{{.Id}}", net).stdout.strip()[:12]
        assert bridge in links()
    finally:
        compose("down", "-v", "-t", "1")
    assert bd.docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={project}").stdout.strip() == ""
    assert bd.docker("network", "ls", "-q", "--filter", f"name={project}").stdout.strip() == ""
    assert bd.docker("volume", "ls", "-q", "--filter", f"name={project}").stdout.strip() == ""
    assert bridge not in links()
