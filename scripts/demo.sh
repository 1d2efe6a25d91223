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
