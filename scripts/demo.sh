#!/usr/bin/env bash
# make demo: the main job on the embedded defaults. Grows with each area.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${BERTH_BUILD_DIR:-$here/build}
work=$(mktemp -d /tmp/berth-demo-XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "== building a busybox root filesystem from Debian's busybox-static"
bash "$here/scripts/make-busybox-rootfs.sh" "$work/bundle/rootfs"
echo "   $(ls "$work/bundle/rootfs/bin" | wc -l) commands in $work/bundle/rootfs"

echo "== running a container from it with berth-runtime"
runtime=$build/src/cmd/berth-runtime
state=$work/state
id=demo-$$
"$runtime" spec --bundle "$work/bundle"
python3 - "$work/bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["terminal"] = False
c["hostname"] = "berth-demo"
c["process"]["args"] = ["sh", "-c", r"""
echo "-- hostname: $(hostname)"
echo "-- processes (I am pid $$):"; ps -o pid,user,args
echo "-- mounts:"; cat /proc/self/mounts
echo "-- limits (ulimit -a):"; ulimit -a
echo "-- cgroup limits:"
for f in /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max \
         /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max; do
  [ -r "$f" ] && echo "   $f = $(cat $f)"
done
echo "-- capabilities:"; grep Cap /proc/self/status
"""]
c["linux"]["resources"] = {"memory": {"limit": 64 << 20}, "pids": {"limit": 64},
                           "devices": [{"allow": False, "access": "rwm"}]}
json.dump(c, open(p, "w"), indent=1)
PY
cleanup_container() { "$runtime" --root "$state" delete --force "$id" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup_container EXIT
start=$(date +%s%N)
"$runtime" --root "$state" run --bundle "$work/bundle" "$id"
end=$(date +%s%N)
echo "== container exited; berth-runtime run took $(( (end - start) / 1000000 )) ms (setup + the script above)"
if [ -e "$state/$id" ]; then echo "demo: state left behind" >&2; exit 1; fi
echo "== cleaned up: no state, cgroup or mount left"
