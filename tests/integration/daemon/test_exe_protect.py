"""CVE-2019-5736 for berthd itself: berthd enters containers in-process
(docker exec, health checks), so a container could hold an O_PATH handle on
/proc/<berthd or its child>/exe and reopen it for writing once berthd has
exited (while it runs, the kernel answers ETXTBSY anyway). berthd runs from
a read-only view of its binary, so that reopen fails with EROFS (read-only
mount) or EPERM (sealed copy)."""
import errno
import os


def test_berthd_binary_cannot_be_reopened_writable(berthd):
    held = os.open(f"/proc/{berthd.proc.pid}/exe", os.O_PATH)
    try:
        assert berthd.api("GET", "/_ping").status == 200
        berthd.stop()
        try:
            fd = os.open(f"/proc/self/fd/{held}", os.O_WRONLY)
        except OSError as e:
            assert e.errno in (errno.EROFS, errno.EPERM), os.strerror(e.errno)
        else:
            os.close(fd)
            raise AssertionError("berthd's binary was reopened for writing after berthd exited")
    finally:
        os.close(held)
