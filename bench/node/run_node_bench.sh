#!/usr/bin/env bash
# gpuvm node apply of a full 8-GPU x 16-vGPU layout on gpuvm-sim: the first
# run (SR-IOV on 8 GPUs, 128 vGPUs) and the no-op second run, against what an
# operator does by hand today (the seed page): the sriov-manage writes and
# one `echo <type> > current_vgpu_type` per VF, as a shell loop, on the same
# simulated host. Needs root and /dev/fuse (the simulator is a FUSE mount).
# Usage: run_node_bench.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: run_node_bench.sh BUILD_DIR}
gpuvm=$build/src/cli/gpuvm
sim=$build/src/cli/gpuvm-sim
work=$(mktemp -d)
trap '"$sim" down "$work/sys" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

{
  echo 'driver_version: "580.159.04"'
  echo 'gpus:'
  for b in 18 2a 3a 5d 9a ab ba db; do
    echo "  - {address: \"0000:$b:00.0\", model: H100-SXM5-80GB, vgpu_mode: vendor-specific, sriov_totalvfs: 16}"
  done
} > "$work/host.yaml"
{
  echo 'version: v1'
  echo 'gpus:'
  for b in 18 2a 3a 5d 9a ab ba db; do
    echo "  - address: \"0000:$b:00.0\""
    echo "    sriov: true"
    echo "    vgpus: [{type: H100XM-5C, count: 16}]"
  done
} > "$work/node.yaml"

now() { date +%s.%N; }
mount_fresh() {
  "$sim" down "$work/sys" >/dev/null 2>&1 || true
  rm -rf "$work/sys" "$work/sys.state" "$work/state"
  mkdir -p "$work/sys"
  "$sim" up "$work/host.yaml" --mount "$work/sys" >/dev/null
}

mount_fresh
t0=$(now)
"$gpuvm" node apply -f "$work/node.yaml" --sysfs-root "$work/sys" --state-dir "$work/state" >/dev/null
t1=$(now)
"$gpuvm" node apply -f "$work/node.yaml" --sysfs-root "$work/sys" --state-dir "$work/state" | grep -q 'no change'
t2=$(now)
n=$("$gpuvm" vgpu list --format json --sysfs-root "$work/sys" | grep -c '"uuid"')

# By hand (seed page): sriov-manage's writes, then echo per VF.
mount_fresh
s=$work/sys
t3=$(now)
for b in 18 2a 3a 5d 9a ab ba db; do
  pf=0000:$b:00.0
  echo "$pf" > "$s/bus/pci/drivers/nvidia/unbind"
  echo pci-pf-stub > "$s/bus/pci/devices/$pf/driver_override"
  echo "$pf" > "$s/bus/pci/drivers/pci-pf-stub/bind"
  echo 16 > "$s/bus/pci/devices/$pf/sriov_numvfs"
  echo "$pf" > "$s/bus/pci/drivers/pci-pf-stub/unbind"
  echo > "$s/bus/pci/devices/$pf/driver_override"
  echo "$pf" > "$s/bus/pci/drivers/nvidia/bind"
  for i in $(seq 0 15); do
    vf=$(basename "$(readlink "$s/bus/pci/devices/$pf/virtfn$i")")
    echo 1328 > "$s/bus/pci/devices/$vf/nvidia/current_vgpu_type"
  done
done
t4=$(now)

awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v e="$t4" -v n="$n" 'BEGIN {
  printf "gpuvm node apply, first run (8 GPUs, %d vGPUs): %.2f s\n", n, b - a
  printf "gpuvm node apply, second run (no change):       %.2f s\n", c - b
  printf "by hand (shell echo loop, same writes):          %.2f s\n", e - d
  printf "ratio first run / by hand: %.2f\n", (b - a) / (e - d)
}'
