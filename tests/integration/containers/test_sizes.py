"""SizeRw (the container's own files: every non-directory in its overlay
upper dir, symlinks by their target's length) and SizeRootFs (that plus the
image's layers), where docker reports them: inspect ?size=1 (always both),
the list with size=1 (`ps -s`) and system df (zeros omitted). Numbers
checked against dockerd 20.10 for the same writes."""
import json
import os

from conftest import IMAGE


def sizes(obj):
    return {k: v for k, v in obj.items() if k in ("SizeRw", "SizeRootFs")}


def test_sizes_of_what_a_container_writes(clean):
    d = clean
    d.docker("run", "-d", "--name", "sz", IMAGE, "sleep", "300")
    d.docker("create", "--name", "sz0", IMAGE, "true")
    image_size = json.loads(d.docker("image", "inspect", IMAGE).stdout)[0]["Size"]
    assert image_size > 0
    d.docker("exec", "sz", "sh", "-c",
             "head -c 12345 /dev/zero > /tmp/f; mkdir /tmp/d; head -c 100 /dev/zero > /tmp/d/g;"
             " ln -s /tmp/f /tmp/l")
    rw = 12345 + 100 + len("/tmp/f")
    # inspect: only with size=1
    assert sizes(d.api("GET", "/v1.41/containers/sz/json").json()) == {}
    assert sizes(d.api("GET", "/v1.41/containers/sz/json?size=1").json()) == {
        "SizeRw": rw, "SizeRootFs": image_size + rw}
    assert sizes(d.api("GET", "/v1.41/containers/sz0/json?size=1").json()) == {
        "SizeRw": 0, "SizeRootFs": image_size}
    # the list: only with size=1, zeros omitted
    listed = {c["Names"][0]: sizes(c) for c in d.api("GET", "/v1.41/containers/json?all=1").json()}
    assert listed == {"/sz": {}, "/sz0": {}}
    listed = {c["Names"][0]: sizes(c)
              for c in d.api("GET", "/v1.41/containers/json?all=1&size=1").json()}
    assert listed == {"/sz": {"SizeRw": rw, "SizeRootFs": image_size + rw},
                      "/sz0": {"SizeRootFs": image_size}}
    df = {c["Names"][0]: sizes(c) for c in d.api("GET", "/v1.41/system/df").json()["Containers"]}
    assert df == listed
    # what the CLI prints
    out = d.docker("ps", "-as", "--format", "{{.Names}} {{.Size}}").stdout.splitlines()
    assert any(line.startswith("sz 12.5kB (virtual ") for line in out), out
    # GraphDriver.Data names overlay2's dirs: the upper dir holds the writes
    gd = json.loads(d.docker("inspect", "sz").stdout)[0]["GraphDriver"]
    assert gd["Name"] == "overlay2"
    assert set(gd["Data"]) == {"LowerDir", "MergedDir", "UpperDir", "WorkDir"}
    assert os.path.getsize(os.path.join(gd["Data"]["UpperDir"], "tmp/f")) == 12345
    assert all(os.path.isdir(p) for p in gd["Data"]["LowerDir"].split(":"))
    # a deleted file is gone from SizeRw
    d.docker("exec", "sz", "rm", "/tmp/f")
    assert sizes(d.api("GET", "/v1.41/containers/sz/json?size=1").json())["SizeRw"] == 100 + len("/tmp/f")

