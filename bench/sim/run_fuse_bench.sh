#!/usr/bin/env bash
# FUSE overhead of gpuvm-sim: `gpuvm probe --format one` on the mixed 8-GPU
# host (examples/hosts/mixed-8gpu.yaml, SR-IOV enabled on the six GPUs that
# have a vGPU manager: 152 VFs) read through the FUSE mount, against the same
# tree copied to a plain directory (cp -a), in one run. Whole processes are
# timed, N runs each, interleaved in rounds.
#
#   bench/sim/run_fuse_bench.sh [BUILD_DIR] [N]       (default build/release, 50)
#
# Needs root and /dev/fuse, like the FUSE tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build/release}
n=${2:-50}
sim="$build/src/cli/gpuvm-sim"
gpuvm="$build/src/cli/gpuvm"
for b in "$sim" "$gpuvm"; do
  [ -x "$b" ] || { echo "no $b: build gpuvm and gpuvm-sim first" >&2; exit 2; }
done
[ -w /dev/fuse ] || { echo "no usable /dev/fuse (modprobe fuse; run as root)" >&2; exit 2; }

work=$(mktemp -d)
mount="$work/sys"
mkdir "$mount"
cleanup() {
  "$sim" down "$mount" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
"$sim" up examples/hosts/mixed-8gpu.yaml --mount "$mount" >/dev/null

# SR-IOV the way sriov-manage does it (docs/simulator.md).
enable_vfs() {
  local pf=$1 ids=$2 d="$mount/bus/pci/drivers"
  echo "$pf" >"$d/nvidia/unbind"
  echo "$ids" >"$d/pci-pf-stub/new_id"
  cat "$mount/bus/pci/devices/$pf/sriov_totalvfs" >"$mount/bus/pci/devices/$pf/sriov_numvfs"
  echo "$pf" >"$d/pci-pf-stub/unbind"
  echo "$ids" >"$d/pci-pf-stub/remove_id"
  echo "$pf" >"$d/nvidia/bind"
}
enable_vfs 0000:18:00.0 "10de 2330"
enable_vfs 0000:2a:00.0 "10de 2330"
enable_vfs 0000:3a:00.0 "10de 2321"
enable_vfs 0000:9a:00.0 "10de 20b2"
enable_vfs 0000:ab:00.0 "10de 20b2"
enable_vfs 0000:ba:00.0 "10de 20b7"

# The plain copy: write-only attributes (create, bind, ...) cannot be read
# and are left out, as the probe never reads them.
cp -a "$mount" "$work/plain" 2>/dev/null || true
functions=$(ls "$mount/bus/pci/devices" | wc -l)
out_fuse=$("$gpuvm" probe --sysfs-root "$mount" --format one)
out_plain=$("$gpuvm" probe --sysfs-root "$work/plain" --format one)
[ "$out_fuse" = "$out_plain" ] || { echo "probe output differs between FUSE and the copy" >&2; exit 1; }
echo "tree: $functions PCI functions, $(grep -c '^PCI = \[$' <<<"$out_fuse") template blocks, identical on both"

now() { date +%s%N; }
t_fuse=0
t_plain=0
rounds=5
per=$(( (n + rounds - 1) / rounds ))
for ((r = 0; r < rounds; r++)); do
  t0=$(now)
  for ((i = 0; i < per; i++)); do "$gpuvm" probe --sysfs-root "$mount" --format one >/dev/null; done
  t1=$(now)
  for ((i = 0; i < per; i++)); do "$gpuvm" probe --sysfs-root "$work/plain" --format one >/dev/null; done
  t2=$(now)
  t_fuse=$((t_fuse + t1 - t0))
  t_plain=$((t_plain + t2 - t1))
done
runs=$((per * rounds))
ms() { awk -v t="$1" -v n="$runs" 'BEGIN { printf "%.3f", t / n / 1e6 }'; }
echo "runs:                          $runs each"
echo "probe through gpuvm-sim FUSE:  $(ms $t_fuse) ms per run"
echo "probe on a plain copy (cp -a): $(ms $t_plain) ms per run"
awk -v a="$t_fuse" -v b="$t_plain" 'BEGIN { printf "FUSE overhead ratio:           %.2fx\n", a / b }'
