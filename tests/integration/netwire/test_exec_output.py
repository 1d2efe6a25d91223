"""Regression: the output of a short exec reached docker-py only 3 times
in 4 (berthd ran the process before answering 101, so its first frame
rode with the response head, which docker-py's buffered reader swallows).
The process now runs once the connection is hijacked, as with dockerd; a
failure to start is written into the stream with exit code 126/127."""
import uuid

from conftest import IMAGE, TAG


def test_exec_run_output_every_time_and_missing_binary(bd):
    cl = bd.client()
    c = cl.containers.run(IMAGE, ["sleep", "300"], detach=True, name=f"ex-{TAG}-{uuid.uuid4().hex[:4]}")
    try:
        for i in range(25):
            code, out = c.exec_run(["sh", "-c", f"echo exec-{i}; exit 3"])
            assert (code, out) == (3, f"exec-{i}\n".encode()), i
        code, out = c.exec_run(["/no/such/binary"])
        assert code == 127 and b"OCI runtime exec failed" in out, (code, out)
        r = bd.docker("exec", c.name, "/no/such/binary", check=False)
        assert r.returncode == 127 and "OCI runtime exec failed" in r.stdout + r.stderr, r
        assert bd.docker("exec", c.name, "echo", "still-fine").stdout == "still-fine\n"
    finally:
        c.remove(force=True)
        cl.close()
