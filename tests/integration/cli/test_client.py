"""The berth command line on its own: usage errors and exit codes as the
docker CLI gives them, --help on every command, daemon discovery and
contexts, the bash completion script. No daemon needed (an unreachable one
is part of the test)."""
import os
import pathlib
import subprocess

import pytest

from berthtest import ROOT, binary


def berth(*args, env=None, home=None, input=None):
    e = {k: v for k, v in os.environ.items()
         if k not in ("DOCKER_HOST", "BERTH_HOST", "DOCKER_CONTEXT", "BERTH_CONTEXT")}
    if home is not None:
        e["HOME"] = str(home)
    e.update(env or {})
    return subprocess.run([str(binary("berth")), *args], env=e, capture_output=True, text=True,
                          input=input, timeout=30)


def all_commands():
    """Every command word of `berth --help` (the table the CLI dispatches)."""
    out = berth("--help").stdout
    names = []
    in_cmds = False
    for line in out.splitlines():
        if line.startswith("Commands:"):
            in_cmds = True
            continue
        if in_cmds:
            if not line.startswith("  "):
                break
            words = line.split()
            name = words[0] + (" " + words[1] if words[0] in
                               ("container", "image", "volume", "network", "system", "context") else "")
            names.append(name)
    return names


def test_help_on_every_command():
    names = all_commands()
    # the commands issue 5 lists are all there
    for must in ("run", "create", "start", "stop", "restart", "kill", "rm", "ps", "logs", "exec",
                 "attach", "cp", "diff", "commit", "inspect", "top", "stats", "wait", "pause",
                 "unpause", "rename", "update", "port", "pull", "push", "images", "rmi", "tag",
                 "save", "load", "import", "export", "history", "login", "logout", "search",
                 "volume create", "volume ls", "volume inspect", "volume rm", "volume prune",
                 "network create", "network ls", "network connect", "system df", "system prune",
                 "system dial-stdio", "events", "version", "info", "context create", "context use"):
        assert must in names, must
    for name in names:
        r = berth(*name.split(), "--help")
        assert r.returncode == 0, (name, r.stderr)
        assert r.stdout.startswith(f"Usage:  berth {name} "), (name, r.stdout[:80])


@pytest.mark.parametrize("args,code,stderr_part", [
    # pflag errors: exit 125 and docker's usage hint
    (["run", "--bogus", "x"], 125, "unknown flag: --bogus"),
    (["ps", "-z"], 125, "unknown shorthand flag: 'z' in -z"),
    (["run", "--name"], 125, "flag needs an argument: --name"),
    (["rm", "--force=maybe", "x"], 125, "invalid argument \"maybe\" for \"--force\" flag"),
    # argument counts: exit 1
    (["rm"], 1, "'berth rm' requires at least 1 argument"),
    (["ps", "x"], 1, "'berth ps' accepts no arguments"),
    (["rename", "a"], 1, "'berth rename' requires exactly 2 arguments"),
    (["bogus"], 1, "unknown command: berth bogus"),
    (["container", "bogus"], 1, "unknown command: berth container bogus"),
])
def test_usage_errors(args, code, stderr_part):
    r = berth(*args)
    assert r.returncode == code, r
    assert stderr_part in r.stderr
    if code == 125:
        assert f"Run 'berth {args[0]} --help' for more information" in r.stderr


def test_bad_flag_values_fail_before_any_request(tmp_path):
    # no daemon at this socket: the flag error must come first
    env = {"BERTH_HOST": f"unix://{tmp_path}/none.sock"}
    for args, part in [(["run", "-p", "99999:80", "busybox"], "invalid hostPort: 99999"),
                       (["run", "--memory", "lots", "busybox"], "invalid argument \"lots\" for \"--memory\""),
                       (["run", "--restart", "always", "--rm", "busybox"], "Conflicting options: --restart and --rm"),
                       (["run", "--env-file", str(tmp_path / "missing.env"), "busybox"], "missing.env")]:
        r = berth(*args, env=env)
        assert r.returncode == 125, (args, r)
        assert part in r.stderr
        assert "Cannot connect" not in r.stderr


def test_unreachable_daemon(tmp_path):
    sock = tmp_path / "nobody.sock"
    r = berth("ps", env={"BERTH_HOST": f"unix://{sock}"})
    assert r.returncode == 1
    assert r.stderr.strip() == (f"Cannot connect to the berth daemon at unix://{sock}. "
                                "Is the berth daemon running?")
    # run fails with 125 like docker run
    r = berth("run", "busybox", "true", env={"BERTH_HOST": f"unix://{sock}"})
    assert r.returncode == 125
    r = berth("-H", "ftp://x", "ps")
    assert r.returncode == 1 and "unsupported protocol" in r.stderr


def test_contexts(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    r = berth("context", "ls", home=home)
    assert r.returncode == 0
    assert r.stdout.splitlines()[0].split() == ["NAME", "DESCRIPTION", "DOCKER", "ENDPOINT", "ERROR"]
    assert r.stdout.splitlines()[1].startswith("default *")
    r = berth("context", "create", "dev", "--description", "dev box",
              "--docker", f"host=unix://{tmp_path}/dev.sock", home=home)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "dev\n"
    assert (home / ".berth" / "contexts" / "dev.json").exists()
    assert berth("context", "create", "dev", "--docker", "host=unix:///x", home=home).returncode == 1
    assert berth("context", "create", "bad name", home=home).returncode == 1
    assert "unsupported protocol" in berth("context", "create", "x1", "--docker", "host=ftp://x",
                                          home=home).stderr
    r = berth("context", "use", "dev", home=home)
    assert r.returncode == 0 and 'Current context is now "dev"' in r.stderr
    # the context is used: berth now dials dev.sock
    r = berth("ps", home=home)
    assert f"unix://{tmp_path}/dev.sock" in r.stderr
    # -H and BERTH_HOST win over the context
    r = berth("-H", f"unix://{tmp_path}/h.sock", "ps", home=home)
    assert f"unix://{tmp_path}/h.sock" in r.stderr
    r = berth("ps", home=home, env={"BERTH_HOST": f"unix://{tmp_path}/e.sock"})
    assert f"unix://{tmp_path}/e.sock" in r.stderr
    r = berth("context", "inspect", home=home)
    assert r.returncode == 0
    import json
    info = json.loads(r.stdout)
    assert info[0]["Name"] == "dev"
    assert info[0]["Endpoints"]["docker"]["Host"] == f"unix://{tmp_path}/dev.sock"
    assert berth("context", "inspect", "--format", "{{.Metadata.Description}}", "dev",
                 home=home).stdout == "dev box\n"
    # the context in use cannot be removed without -f
    r = berth("context", "rm", "dev", home=home)
    assert r.returncode == 1 and "in use" in r.stderr
    r = berth("context", "rm", "-f", "dev", home=home)
    assert r.returncode == 0
    assert not (home / ".berth" / "contexts" / "dev.json").exists()
    assert berth("context", "ls", "-q", home=home).stdout == "default\n"
    assert berth("context", "rm", "nosuch", home=home).returncode == 1


def test_tls_flags_reach_the_transport(tmp_path):
    # a CA file that does not exist: the TLS setup fails with curl's reason,
    # proving --tlsverify and --tlscacert are used (no server needed)
    r = berth("--tlsverify", "--tlscacert", str(tmp_path / "ca.pem"), "-H", "tcp://127.0.0.1:1",
              "version")
    assert r.returncode == 1
    assert "Client:" in r.stdout


def test_bash_completion():
    script = ROOT / "src" / "cli" / "completion" / "berth.bash"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    # complete "berth ru" and "berth volume " with the real function
    prog = f"""
source {script}
COMP_WORDS=(berth ru); COMP_CWORD=1; _berth; echo "${{COMPREPLY[*]}}"
COMP_WORDS=(berth volume ""); COMP_CWORD=2; _berth; echo "${{COMPREPLY[*]}}"
COMP_WORDS=(berth run --rest); COMP_CWORD=2; _berth; echo "${{COMPREPLY[*]}}"
"""
    out = subprocess.run(["bash", "-c", prog], capture_output=True, text=True,
                         env={"PATH": os.environ["PATH"], "BERTH": str(binary("berth"))}).stdout.splitlines()
    assert out[0].split() == ["run"]
    assert set(out[1].split()) >= {"create", "ls", "inspect", "rm", "prune"}
    assert out[2].split() == ["--restart"]
