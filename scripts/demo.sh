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

# ---------------------------------------------------------------- engine --
# berthd on its embedded defaults (/run/berth/berth.sock, /var/lib/berth),
# driven by berth's own CLI and by the stock docker CLI.
berthd=$build/src/cmd/berthd
berth=$build/src/cmd/berth
sock=/run/berth/berth.sock
export DOCKER_HOST=unix://$sock BERTH_HOST=unix://$sock
started_berthd=
stop_engine() {
  "$berth" rm -f demo-logger demo-web >/dev/null 2>&1 || true
  "$berth" network rm demo-net >/dev/null 2>&1 || true
  "$berth" rmi -f berth-demo/busybox:latest >/dev/null 2>&1 || true
  if [ -n "$started_berthd" ]; then
    kill -TERM "$started_berthd" 2>/dev/null && wait "$started_berthd" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop_engine EXIT

echo
if "$berth" version >/dev/null 2>&1; then
  echo "== using the berthd already serving $sock"
else
  echo "== starting berthd on its embedded defaults ($sock, /var/lib/berth)"
  "$berthd" > "$work/berthd.log" 2>&1 &
  started_berthd=$!
  for _ in $(seq 200); do "$berth" version >/dev/null 2>&1 && break; sleep 0.05; done
  "$berth" version >/dev/null || { cat "$work/berthd.log" >&2; exit 1; }
  echo "   berthd pid $started_berthd, RSS $(awk '/VmRSS/{print $2, $3}' /proc/$started_berthd/status)"
fi
"$berth" version --format 'server {{.Server.Version}}, API {{.Server.ApiVersion}}, kernel {{.Server.KernelVersion}}'

echo "== making a base image from Debian's busybox-static (no registry needed)"
tar -C "$work/bundle/rootfs" -c . | "$berth" import -c 'CMD ["sh"]' - berth-demo/busybox:latest >/dev/null
"$berth" images berth-demo/busybox

echo "== a container that prints what it sees (memory 64m, pids 64, cpus 0.5)"
"$berth" run --rm --hostname inside --memory 64m --pids-limit 64 --cpus 0.5 \
  berth-demo/busybox sh -c '
echo "-- hostname: $(hostname)"
echo "-- processes:"; ps -o pid,user,comm
echo "-- limits:"
for f in /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/memory.max \
         /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/pids.max \
         /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu.max; do
  [ -r "$f" ] && echo "   $f = $(cat $f)"
done
echo "-- open files: $(ulimit -n)"'

echo "== a detached container that keeps logging"
"$berth" run -d --name demo-logger berth-demo/busybox \
  sh -c 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.2; done' >/dev/null
sleep 1
echo "-- berth ps:"; "$berth" ps
echo "-- berth logs --tail 3 demo-logger:"; "$berth" logs --tail 3 demo-logger
echo "-- berth stats --no-stream:"; "$berth" stats --no-stream demo-logger
echo "-- berth exec demo-logger ps:"; "$berth" exec demo-logger ps
echo "-- the stock docker CLI against berthd (docker ps):"; docker ps
"$berth" rm -f demo-logger >/dev/null

# ------------------------------------------------------------- network --
# A web server on a user network with a published port: fetched from the
# host through 127.0.0.1, and by name from a second container (embedded DNS).
demo_port=${DEMO_PORT:-18480}
echo "== networking: a web server on a user network, port 127.0.0.1:$demo_port published"
"$berth" rm -f demo-web >/dev/null 2>&1 || true
"$berth" network rm demo-net >/dev/null 2>&1 || true
"$berth" network create demo-net >/dev/null
"$berth" network inspect -f '-- network demo-net: subnet {{(index .IPAM.Config 0).Subnet}}, gateway {{(index .IPAM.Config 0).Gateway}}' demo-net
"$berth" run -d --name demo-web --network demo-net -p 127.0.0.1:$demo_port:80 berth-demo/busybox \
  sh -c 'echo "hello from $(hostname) on demo-net" > /tmp/index.html; exec httpd -f -p 80 -h /tmp' >/dev/null
echo "-- berth ps (Ports column):"; "$berth" ps --filter name=demo-web --format 'table {{.Names}}\t{{.Ports}}'
echo "-- from the host, GET http://127.0.0.1:$demo_port/ :"
/usr/bin/python3 - "$demo_port" <<'PY'
import socket, sys, time
for _ in range(50):
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
        break
    except OSError:
        time.sleep(0.1)
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
data = b""
while chunk := s.recv(4096):
    data += chunk
print("   " + data.decode().split("\r\n\r\n", 1)[1].strip())
PY
echo "-- from a second container, by name (nslookup demo-web, then GET http://demo-web/):"
"$berth" run --rm --network demo-net berth-demo/busybox sh -c \
  'nslookup demo-web | sed -n "/Name/,\$p" | sed "s/^/   /"; printf "GET / HTTP/1.0\r\n\r\n" | nc -w 3 demo-web 80 | tail -1 | sed "s/^/   /"'
"$berth" rm -f demo-web >/dev/null
"$berth" network rm demo-net >/dev/null
echo "== network cleaned up: container, network demo-net (bridge, rules, port) removed"

"$berth" rmi berth-demo/busybox:latest >/dev/null
echo "== cleaned up: containers and image removed"
