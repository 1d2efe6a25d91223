"""The compiled-seccomp-program cache on the real kernel: a program read
from the cache behaves exactly as a freshly compiled one (ERRNO with its
errno, KILL kills), a corrupted cache entry is rejected, recompiled and
rewritten, and berth-runtime itself keeps its cache next to --root, where a
corrupted entry still yields the right filter."""
import json
import os

from berthtest import run
from cgtools import probe

PY = "/usr/bin/python3"

MKDIR = """
import os, errno, sys
try:
    os.mkdir(sys.argv[1])
    print("made")
except OSError as e:
    print(errno.errorcode[e.errno])
"""

DENY_MKDIR = {"defaultAction": "SCMP_ACT_ALLOW",
              "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 18}]}
KILL_GETPID = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}]}


def probe_run(tmp, profile, cache, *cmd):
    f = tmp / "profile.json"
    f.write_text(json.dumps(profile))
    env = dict(os.environ)
    if cache:
        env["SECCOMP_PROBE_CACHE"] = str(cache)
    res = run([probe("seccomp-probe"), "run", f, "--", *cmd], check=False, env=env)
    return res.stdout.strip().splitlines(), res.stderr


def entries(cache):
    return sorted(p for p in cache.iterdir() if not p.name.startswith("."))


def corrupt(path):
    data = bytearray(path.read_bytes())
    data[-3] ^= 0x40
    path.write_bytes(bytes(data))
    return bytes(data)


def test_cached_program_behaves_as_fresh(tmpdir_berth):
    cache = tmpdir_berth / "cache"
    target = tmpdir_berth / "d"
    fresh, _ = probe_run(tmpdir_berth, DENY_MKDIR, None, PY, "-c", MKDIR, target)
    miss, err1 = probe_run(tmpdir_berth, DENY_MKDIR, cache, PY, "-c", MKDIR, target)
    hit, err2 = probe_run(tmpdir_berth, DENY_MKDIR, cache, PY, "-c", MKDIR, target)
    assert "seccomp-cache miss" in err1 and "seccomp-cache hit" in err2
    assert fresh == miss == hit == ["EXDEV", "exit 0"]
    assert not target.exists()
    assert len(entries(cache)) == 1
    assert oct(cache.stat().st_mode & 0o777) == "0o700"
    assert oct(entries(cache)[0].stat().st_mode & 0o777) == "0o600"
    # KILL: the process dies of SIGSYS whichever way the program came.
    cmd = [PY, "-c", "import os; os.getppid(); print('alive')"]
    fresh, _ = probe_run(tmpdir_berth, KILL_GETPID, None, *cmd)
    miss, err1 = probe_run(tmpdir_berth, KILL_GETPID, cache, *cmd)
    hit, err2 = probe_run(tmpdir_berth, KILL_GETPID, cache, *cmd)
    assert "seccomp-cache miss" in err1 and "seccomp-cache hit" in err2
    assert fresh == miss == hit == ["signal 31"]
    assert len(entries(cache)) == 2


def test_corrupted_entry_is_recompiled(tmpdir_berth):
    cache = tmpdir_berth / "cache"
    target = tmpdir_berth / "d"
    probe_run(tmpdir_berth, DENY_MKDIR, cache, PY, "-c", MKDIR, target)
    (entry,) = entries(cache)
    good = entry.read_bytes()
    bad = corrupt(entry)
    out, err = probe_run(tmpdir_berth, DENY_MKDIR, cache, PY, "-c", MKDIR, target)
    assert "seccomp-cache miss" in err and out == ["EXDEV", "exit 0"]
    assert entry.read_bytes() == good != bad
    # Garbage of a plausible size (a multiple of an instruction) too.
    entry.write_bytes(b"\0" * len(good))
    out, err = probe_run(tmpdir_berth, DENY_MKDIR, cache, PY, "-c", MKDIR, target)
    assert "seccomp-cache miss" in err and out == ["EXDEV", "exit 0"]
    out, err = probe_run(tmpdir_berth, DENY_MKDIR, cache, PY, "-c", MKDIR, target)
    assert "seccomp-cache hit" in err and out == ["EXDEV", "exit 0"]


def mkdir_config(rt):
    cfg = rt.set_process(["sh", "-c", "mkdir /tmp/x 2>&1 || echo denied; test -d /tmp/x && echo exists; true"])
    cfg["root"]["readonly"] = False
    return cfg


def run_denied(rt, cid):
    out = rt("run", "--bundle", rt.bundle, cid).stdout
    assert "denied" in out and "exists" not in out, out


def inline_run(rt, cid):
    """A run with DENY_MKDIR in linux.seccomp: its config, the cache dir
    next to --root and the one entry there."""
    cfg = mkdir_config(rt)
    cfg["linux"]["seccomp"] = DENY_MKDIR
    rt.write_config(cfg)
    run_denied(rt, cid)
    cache = rt.root.parent / (rt.root.name + ".seccomp-cache")
    (entry,) = entries(cache)
    return cfg, cache, entry


def test_runtime_caches_next_to_its_root(rt, cid):
    cfg, cache, entry = inline_run(rt, cid)
    good = entry.read_bytes()
    first = entry.stat()
    run_denied(rt, cid + "b")
    assert entry.stat().st_ino == first.st_ino, "a valid entry was rewritten instead of read"
    corrupt(entry)
    run_denied(rt, cid + "c")
    assert entry.read_bytes() == good


def test_profile_from_a_file_named_by_the_annotation(rt, cid, tmpdir_berth):
    """berthd's bundles carry the profile in a file the annotation
    org.berth.seccomp.profile names (canonical JSON: its text is the cache
    key, the profile is not parsed on a hit). It is the same program as the
    inline profile's, from the same cache entry; a file that is not
    canonical still works; the annotation next to linux.seccomp, or a
    relative path, is refused naming it."""
    cfg, cache, entry = inline_run(rt, cid)
    first = entry.stat()
    canon = tmpdir_berth / "canon.json"
    canon.write_text(json.dumps(DENY_MKDIR, sort_keys=True, separators=(",", ":")))
    del cfg["linux"]["seccomp"]
    cfg["annotations"] = {"org.berth.seccomp.profile": str(canon)}
    rt.write_config(cfg)
    run_denied(rt, cid + "b")
    assert entries(cache) == [entry] and entry.stat().st_ino == first.st_ino
    # written by hand: another key, the same filter
    loose = tmpdir_berth / "loose.json"
    loose.write_text(json.dumps(DENY_MKDIR, indent=2))
    cfg["annotations"] = {"org.berth.seccomp.profile": str(loose)}
    rt.write_config(cfg)
    run_denied(rt, cid + "c")
    assert len(entries(cache)) == 2
    cfg["annotations"] = {"org.berth.seccomp.profile": "loose.json"}
    rt.write_config(cfg)
    res = rt("run", "--bundle", rt.bundle, cid + "d", check=False)
    assert res.returncode != 0 and "org.berth.seccomp.profile: must be an absolute path" in res.stderr
    cfg["annotations"] = {"org.berth.seccomp.profile": str(canon)}
    cfg["linux"]["seccomp"] = DENY_MKDIR
    rt.write_config(cfg)
    res = rt("run", "--bundle", rt.bundle, cid + "e", check=False)
    assert res.returncode != 0 and "linux.seccomp is given too" in res.stderr
    (tmpdir_berth / "broken.json").write_text("{")
    del cfg["linux"]["seccomp"]
    cfg["annotations"] = {"org.berth.seccomp.profile": str(tmpdir_berth / "broken.json")}
    rt.write_config(cfg)
    res = rt("run", "--bundle", rt.bundle, cid + "f", check=False)
    assert res.returncode != 0 and "broken.json: line 1" in res.stderr, res.stderr
