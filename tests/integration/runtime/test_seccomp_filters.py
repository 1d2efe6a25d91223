"""seccomp on the real kernel, through the runtime's compile + install
(seccomp-probe installs the compiled program in a child with
no_new_privs, then execs): ERRNO returns the given errno, KILL kills,
argument conditions select calls, notify hands out a working listener fd,
flags are accepted, bad profiles are errors naming the field, and berth's
default profile blocks what Docker's does while normal programs run."""
import json

import pytest

from berthtest import run
from cgtools import probe

PY = "/usr/bin/python3"


def profile_file(tmpdir, profile):
    f = tmpdir / "seccomp.json"
    f.write_text(json.dumps(profile))
    return f


def run_under(tmpdir, profile, *cmd):
    res = run([probe("seccomp-probe"), "run", profile_file(tmpdir, profile), "--", *cmd], check=False)
    lines = res.stdout.strip().splitlines()
    assert lines, res.stderr
    kind, num = lines[-1].split()
    return kind, int(num), res


def allow_but(*rules, **extra):
    return {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": list(rules), **extra}


MKDIR = """
import os, errno, sys
try:
    os.mkdir(sys.argv[1])
    print("made")
except OSError as e:
    print(errno.errorcode[e.errno])
"""


def test_errno_action_returns_the_errno(tmpdir_berth):
    target = tmpdir_berth / "d"
    prof = allow_but({"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18})
    kind, num, res = run_under(tmpdir_berth, prof, PY, "-c", MKDIR, target)
    assert (kind, num) == ("exit", 0)
    assert res.stdout.splitlines()[0] == "EXDEV"
    assert not target.exists()
    # Without errnoRet: EPERM, as runc does.
    prof = allow_but({"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"})
    kind, num, res = run_under(tmpdir_berth, prof, PY, "-c", MKDIR, target)
    assert res.stdout.splitlines()[0] == "EPERM"
    # defaultErrnoRet applies to the default action.
    prof = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                         {"names": ["execve", "brk", "mmap", "munmap", "mprotect", "arch_prctl",
                                    "access", "openat", "newfstatat", "fstat", "read", "close",
                                    "pread64", "write", "exit_group", "set_tid_address",
                                    "set_robust_list", "rseq", "prlimit64", "getrandom"],
                          "action": "SCMP_ACT_ALLOW"}]}
    kind, num, res = run_under(tmpdir_berth, prof, "/bin/busybox", "mkdir", str(target))
    assert (kind, num) == ("exit", 1)
    assert "Permission denied" in res.stderr  # errnoRet 13 = EACCES


@pytest.mark.parametrize("action", ["SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
                                    "SCMP_ACT_TRAP"])
def test_kill_actions_kill(tmpdir_berth, action):
    prof = allow_but({"names": ["getppid"], "action": action})
    kind, num, res = run_under(tmpdir_berth, prof, PY, "-c", "import os; os.getppid(); print('alive')")
    assert (kind, num) == ("signal", 31), res.stdout  # SIGSYS
    assert "alive" not in res.stdout


CHMOD = """
import os, sys, errno
f = sys.argv[1]
open(f, "w").close()
for mode in (0o755, 0o4755, 0o2755):
    try:
        os.chmod(f, mode)
        print(oct(mode), "ok")
    except OSError as e:
        print(oct(mode), errno.errorcode[e.errno])
"""


def test_argument_conditions_select_calls(tmpdir_berth):
    """Block chmod with the setuid bit (MASKED_EQ on the mode argument);
    other modes pass."""
    cond = {"value": 0o4000, "valueTwo": 0o4000, "op": "SCMP_CMP_MASKED_EQ"}
    prof = allow_but({"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "args": [dict(index=1, **cond)]},
                     {"names": ["fchmodat"], "action": "SCMP_ACT_ERRNO", "args": [dict(index=2, **cond)]})
    kind, num, res = run_under(tmpdir_berth, prof, PY, "-c", CHMOD, tmpdir_berth / "f")
    assert res.stdout.splitlines()[:3] == ["0o755 ok", "0o4755 EPERM", "0o2755 ok"], res.stdout


def test_two_conditions_on_one_argument_or(tmpdir_berth):
    """runc semantics: conditions on the same argument are separate rules."""
    def rule(name, index):
        return {"names": [name], "action": "SCMP_ACT_ERRNO", "args": [
            {"index": index, "value": 0o4755, "op": "SCMP_CMP_EQ"},
            {"index": index, "value": 0o2755, "op": "SCMP_CMP_EQ"}]}
    prof = allow_but(rule("chmod", 1), rule("fchmodat", 2))
    kind, num, res = run_under(tmpdir_berth, prof, PY, "-c", CHMOD, tmpdir_berth / "f")
    assert res.stdout.splitlines()[:3] == ["0o755 ok", "0o4755 EPERM", "0o2755 EPERM"], res.stdout


def test_notify_gives_a_listener_fd(tmpdir_berth):
    target = tmpdir_berth / "n"
    prof = allow_but({"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"})
    res = run([probe("seccomp-probe"), "notify", profile_file(tmpdir_berth, prof), "18", "--",
               PY, "-c", MKDIR, target], check=False)
    lines = res.stdout.splitlines()
    assert lines[0] == "listener ok", res.stdout + res.stderr
    assert any(line.startswith("notified ") for line in lines), res.stdout
    assert "EXDEV" in lines  # the supervisor's answer reached the caller
    assert lines[-1] == "exit 0"
    assert not target.exists()


def test_flags_are_accepted_by_the_kernel(tmpdir_berth):
    prof = allow_but({"names": ["getppid"], "action": "SCMP_ACT_LOG"},
                     flags=["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                            "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"])
    kind, num, res = run_under(tmpdir_berth, prof, PY, "-c", "import os; os.getppid(); print('alive')")
    assert (kind, num) == ("exit", 0)
    assert "alive" in res.stdout


def test_foreign_architecture_list(tmpdir_berth):
    """A profile for several arches (Docker lists the compat ones) works."""
    prof = allow_but({"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18},
                     architectures=["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
                                    "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"])
    kind, num, res = run_under(tmpdir_berth, prof, PY, "-c", MKDIR, tmpdir_berth / "a")
    assert res.stdout.splitlines()[0] == "EXDEV"


@pytest.mark.parametrize("profile, error", [
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_NOPE"}]},
     'linux.seccomp.syscalls[0].action: unknown action "SCMP_ACT_NOPE"'),
    ({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "LIKE"}]}]},
     "linux.seccomp.syscalls[0].args[0].op: unknown operator LIKE"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_PDP11"]},
     "linux.seccomp.architectures[0]: unknown architecture SCMP_ARCH_PDP11"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NOPE"]},
     "linux.seccomp.flags[0]: unknown flag SECCOMP_FILTER_FLAG_NOPE"),
])
def test_bad_profiles_name_the_field(tmpdir_berth, profile, error):
    res = run([probe("seccomp-probe"), "compile", profile_file(tmpdir_berth, profile)], check=False)
    assert res.returncode == 1
    assert error in res.stderr


def test_unknown_syscall_names_are_skipped(tmpdir_berth):
    prof = allow_but({"names": ["not_a_syscall_at_all", "mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": 18})
    kind, num, res = run_under(tmpdir_berth, prof, PY, "-c", MKDIR, tmpdir_berth / "u")
    assert res.stdout.splitlines()[0] == "EXDEV"


NAMESPACES = """
import ctypes, errno, os, threading
libc = ctypes.CDLL(None, use_errno=True)
def call(name, *args):
    r = getattr(libc, name)(*args)
    return "ok" if r >= 0 else errno.errorcode[ctypes.get_errno()]
print("unshare", call("unshare", 0x04000000))           # CLONE_NEWUTS
print("clone_newns", call("syscall", 56, 0x00020000 | 17, 0, 0, 0, 0))  # clone(CLONE_NEWNS|SIGCHLD)
print("mount", call("mount", b"none", b"/nonexistent-berth-target", b"tmpfs", 0, None))  # ENOENT if it got through
t = threading.Thread(target=lambda: None); t.start(); t.join()   # clone3 → ENOSYS → clone
print("thread ok")
pid = os.fork()
if pid == 0:
    os._exit(7)
print("fork", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
libc.personality.argtypes = [ctypes.c_ulong]
print("personality", call("personality", 0xffffffff), call("personality", 0x0040000))
"""


def test_default_profile_blocks_like_docker(tmpdir_berth):
    prof = json.loads(run([probe("seccomp-probe"), "default"]).stdout)
    f = profile_file(tmpdir_berth, prof)
    res = run([probe("seccomp-probe"), "run", f, "--", PY, "-c", NAMESPACES], check=False)
    out = res.stdout.splitlines()
    assert out[-1] == "exit 0", res.stdout + res.stderr
    assert "unshare EPERM" in out
    assert "clone_newns EPERM" in out
    assert "mount EPERM" in out
    assert "thread ok" in out
    assert "fork 7" in out
    assert "personality ok EPERM" in out  # the query is fine, ADDR_NO_RANDOMIZE is not
    # Everyday programs work under it.
    res = run([probe("seccomp-probe"), "run", f, "--", "/bin/busybox", "sh", "-c",
               "ls / >/dev/null && echo hi | cat && date >/dev/null"], check=False)
    assert res.stdout.splitlines() == ["hi", "exit 0"], res.stdout + res.stderr


def test_default_profile_with_cap_sys_admin(tmpdir_berth):
    prof = json.loads(run([probe("seccomp-probe"), "default", "CAP_SYS_ADMIN"]).stdout)
    res = run([probe("seccomp-probe"), "run", profile_file(tmpdir_berth, prof), "--", PY, "-c",
               "import ctypes; print(ctypes.CDLL(None).unshare(0x04000000))"], check=False)
    assert res.stdout.splitlines() == ["0", "exit 0"], res.stdout + res.stderr
