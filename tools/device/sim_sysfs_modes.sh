#!/usr/bin/env bash
# Read-only check of what gpuvm-sim imitates, on a real GPU: for each entry of
# the GPU's sysfs directory, its kind, mode bits, and whether root can read it
# (and the errno when not). Changes nothing.
#
#   tools/device/sim_sysfs_modes.sh [BDF] [SYSFS_ROOT]     (default 0000:00:06.0 /sys)
#
# Compare the real machine with the simulator of the same host:
#   real:  tools/device/sim_sysfs_modes.sh 0000:00:06.0 /sys > real.txt
#   sim:   gpuvm-sim up examples/hosts/h100-passthrough.yaml --mount /tmp/h/sys
#          tools/device/sim_sysfs_modes.sh 0000:00:06.0 /tmp/h/sys > sim.txt
#          diff real.txt sim.txt
set -euo pipefail
bdf=${1:-0000:00:06.0}
root=${2:-/sys}
d="$root/bus/pci/devices/$bdf"
[ -e "$d" ] || { echo "no $d" >&2; exit 2; }
err=$(mktemp)
trap 'rm -f "$err"' EXIT
for p in "$d"/*; do
  f=${p##*/}
  if [ -L "$p" ]; then
    echo "$f link"
  elif [ -d "$p" ]; then
    echo "$f dir"
  elif head -c 4096 "$p" >/dev/null 2>"$err"; then
    echo "$f $(stat -c %a "$p") readable"
  else
    echo "$f $(stat -c %a "$p") unreadable: $(sed 's/.*: //' "$err")"
  fi
done
