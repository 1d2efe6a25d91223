"""cgroup_mount_into on the real kernel: inside a new mount namespace the
container's cgroups appear at the target — on v1/hybrid a tmpfs with a
bind of the container's own directory per hierarchy (plus "unified"), as
runc and crun lay it out; read-only when asked. The probe makes its own
mount namespace, so nothing reaches the host's mount table."""
import pathlib

import pytest

from cgtools import cgroup_factory, hierarchies  # noqa: F401


def expected_entries():
    """Names the container should see, from /proc/self/cgroup."""
    names, links = set(), {}
    has_v1 = any(fstype == "cgroup" for _, fstype, _ in hierarchies())
    for line in pathlib.Path("/proc/self/cgroup").read_text().splitlines():
        _, ctrls, _ = line.split(":", 2)
        if ctrls == "":
            if has_v1:
                names.add("unified")
            continue
        name = ctrls[5:] if ctrls.startswith("name=") else ctrls
        names.add(name)
        if "," in name:
            for part in name.split(","):
                links[part] = name
    return names, links


def parse(out):
    listing, mounts, access, procs = out.split("---\n")
    return listing.split("\n")[:-1], mounts.split("\n")[:-1], access.split("\n")[:-1], procs.strip()


@pytest.mark.parametrize("readonly", [True, False])
def test_mount_into_shows_only_the_container_cgroups(cgroup_factory, readonly):
    if not any(fstype == "cgroup" for _, fstype, _ in hierarchies()):
        pytest.skip("v2-only host: covered by the cgroup2 branch")
    cg = cgroup_factory({"pids": {"limit": 7}})
    args = ["--ro"] if readonly else []
    res = cg.probe("mount-into", *args)
    listing, mounts, access, procs = parse(res.stdout)
    names, links = expected_entries()
    dirs = {e for e in listing if " -> " not in e}
    symlinks = dict(e.split(" -> ") for e in listing if " -> " in e)
    assert dirs == names
    assert symlinks == links
    # A tmpfs at the target and a bind of the container's dir in each.
    fstypes = [m.split()[-1] for m in mounts]
    assert fstypes[0] == "tmpfs"
    assert sorted(fstypes[1:]) == sorted(["cgroup"] * (len(names) - ("unified" in names))
                                         + ["cgroup2"] * ("unified" in names))
    for m in mounts[1:]:
        root = m.split()[0]
        assert root == cg.path, m  # the container's own cgroup, not the host tree
        opts = m.split()[2].split(",")
        assert ("ro" in opts) == readonly, m
        assert {"nosuid", "nodev", "noexec"} <= set(opts), m
    want = "ro" if readonly else "rw"
    assert access and all(a.endswith(" " + want) for a in access), access
    # The pids limit is visible to the container at <target>/pids.
    assert procs == "0"


def test_mount_into_leaves_no_mount_on_the_host(cgroup_factory):
    cg = cgroup_factory()
    res = cg.probe("mount-into", "--ro")
    target = res.stdout.split("---\n")[1].split()[1]  # the probe's target dir
    assert target.startswith("/tmp/berth-cgmount-")
    assert target not in pathlib.Path("/proc/self/mountinfo").read_text()
    assert not pathlib.Path(target).exists()


@pytest.mark.skipif(not any(f == "cgroup2" for _, f, _ in hierarchies()), reason="no cgroup2 mount")
@pytest.mark.parametrize("cgroupns, readonly", [(True, True), (True, False), (False, True)])
def test_pure_v2_mount(cgroup_factory, cgroupns, readonly):
    """The pure-v2 branch on the real cgroup2 hierarchy: with a cgroup
    namespace a fresh cgroup2 mount (its root is the container's cgroup);
    without one a bind of the container's directory — never the host tree."""
    cg = cgroup_factory()
    cmd = "v2-mount-into" if cgroupns else "v2-bind-into"
    out = cg.probe(cmd, *(["--ro"] if readonly else [])).stdout.split("\n")
    root, opts, fstype = out[0].split()
    assert fstype == "cgroup2"
    assert root == ("/" if cgroupns else cg.path)
    assert ("ro" in opts.split(",")) == readonly
    assert out[1] == "has-procs"
    assert out[2] == ("ro" if readonly else "rw")
