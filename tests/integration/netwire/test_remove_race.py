"""Regression: removing a running container (docker rm -f, --rm, both at
once, during its start, on networks) while waiters run must not touch a
freed record (heap use-after-free in monitor_exited after waiters_notify
-> delete_after_exit -> container_remove, seen under ASan). Run this suite
with BERTH_BUILD_DIR pointing at build-asan to have ASan check it; with any
build berthd must stay up, answer every request, and leave nothing."""
import concurrent.futures
import uuid

from conftest import IMAGE, TAG


def test_rm_f_running_rm_and_parallel_removals(bd):
    net = f"race-{TAG}"
    bd.docker("network", "create", net)
    names = [f"race-{TAG}-{uuid.uuid4().hex[:6]}" for _ in range(4)]
    for n in names:
        bd.docker("run", "-d", "--name", n, "--network", net, IMAGE, "sleep", "300")
    # two rm -f of the same running container at once, for each container
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        res = list(ex.map(lambda n: bd.docker("rm", "-f", n, check=False), names + names))
    for r in res:
        assert (r.returncode == 0 or "No such container" in r.stderr
                or "already in progress" in r.stderr), r.stderr
    # --rm containers removed with rm -f while they run, and a wait on them
    rm_name = f"race-rm-{TAG}"
    bd.docker("run", "-d", "--rm", "--name", rm_name, "--network", net, IMAGE, "sleep", "300")
    with concurrent.futures.ThreadPoolExecutor(3) as ex:
        w = ex.submit(bd.docker, "wait", rm_name, check=False)
        ex.submit(bd.docker, "rm", "-f", rm_name, check=False).result()
        w.result()
    # rm -f right after start was asked (the start may still be running)
    start_name = f"race-st-{TAG}"
    bd.docker("create", "--name", start_name, "--network", net, IMAGE, "sleep", "300")
    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        ex.submit(bd.docker, "start", start_name, check=False)
        ex.submit(bd.docker, "rm", "-f", start_name, check=False).result()
    bd.docker("rm", "-f", start_name, check=False)
    assert bd.proc.poll() is None, "berthd died:\n" + bd.read_log()[-4000:]
    assert "AddressSanitizer" not in bd.read_log()
    assert bd.docker("ps", "-aq", "--filter", f"name=race").stdout.strip() == ""
    bd.docker("network", "rm", net)  # no endpoint left behind
