#!/bin/bash
# READ-ONLY device run: `gpuvm check` on the real host (sysfs, /proc, /dev,
# NVML), next to what the same facts look like through the usual tools, so
# that each check's reading can be compared by eye; then `gpuvm probe` and
# `gpuvm mig -lgip/-lgipp` against lspci / nvidia-smi once more, since the
# sysfs and mig code changed. Never changes GPU state (no writes to sysfs, no
# MIG verbs that create, destroy or switch anything).
# Binaries and their Debian libraries come in .device/device.tar.xz
# (docs/device-checks.md); run with $OUT set.
set -u
repo=$PWD
D=${OUT:-$PWD/device-out}
mkdir -p "$D"
tar xJf .device/device.tar.xz -C "$repo"
export LD_LIBRARY_PATH=$repo/.device/lib
export PATH=$repo/.device/bin:$PATH
mkdir -p /usr/share/misc && [ -f /usr/share/misc/pci.ids ] || cp .device/pci.ids /usr/share/misc/pci.ids
q() { nvidia-smi --query-gpu=pci.bus_id,mig.mode.current,mig.mode.pending --format=csv,noheader; }
{
  echo "== GPU state before"; q
  echo "== what the usual tools show"
  echo "-- uname -r: $(uname -r)"
  echo "-- /proc/cmdline: $(cat /proc/cmdline)"
  echo "-- /proc/driver/nvidia/version:"; cat /proc/driver/nvidia/version
  echo "-- modules (nvidia|vfio|nouveau|kvm):"; grep -E '^(nvidia|vfio|nouveau|kvm|mdev)' /proc/modules | cut -d' ' -f1,3
  echo "-- /sys/kernel/iommu_groups: $(ls /sys/kernel/iommu_groups 2>/dev/null | wc -l) groups"
  echo "-- /dev/vfio:"; ls -l /dev/vfio 2>&1
  echo "-- GPU functions:"; for d in /sys/bus/pci/devices/*; do
    [ "$(cat "$d/vendor")" = 0x10de ] || continue
    echo "$(basename "$d") class=$(cat "$d/class") driver=$(basename "$(readlink "$d/driver" 2>/dev/null)" 2>/dev/null) sriov_totalvfs=$(cat "$d/sriov_totalvfs" 2>/dev/null || echo -) iommu_group=$(basename "$(readlink "$d/iommu_group" 2>/dev/null)" 2>/dev/null) reset=$([ -e "$d/reset" ] && echo yes || echo no)"
  done
  echo "-- systemd-detect-virt: $(systemd-detect-virt 2>/dev/null || echo n/a); /sys/hypervisor: $(cat /sys/hypervisor/type 2>/dev/null || echo none); cpuinfo hypervisor flag: $(grep -c -w hypervisor /proc/cpuinfo)"
  echo "== gpuvm check (table)"; gpuvm check --state-dir /tmp/gpuvm-state; echo "rc=$?"
  echo "== gpuvm check --format json"; gpuvm check --state-dir /tmp/gpuvm-state --format json > "$D/check.json" 2> "$D/check.err"; echo "rc=$?"; cat "$D/check.err"
  echo "== timing: 20 x gpuvm check"
  s=$(date +%s%N); for i in $(seq 20); do gpuvm check --state-dir /tmp/gpuvm-state >/dev/null 2>&1; done; e=$(date +%s%N); echo "mean $(( (e-s)/20000000 )) ms"
  echo "== gpuvm probe vs lspci (classes and ids)"
  gpuvm probe --format json > "$D/probe.json" 2> "$D/probe.err"; echo "rc=$?"; cat "$D/probe.err"
  lspci -D -nn -vmm > "$D/lspci.txt" 2>&1; echo "lspci rc=$?"
  echo "== gpuvm mig vs nvidia-smi mig (list verbs only)"
  for a in -lgip -lgipp -lgi; do
    nvidia-smi mig $a > "$D/smi$a.out" 2>&1; r1=$?
    gpuvm mig $a > "$D/gpuvm$a.out" 2>&1; r2=$?
    if cmp -s "$D/smi$a.out" "$D/gpuvm$a.out" && [ $r1 = $r2 ]; then echo "$a identical (rc $r1)"; else echo "$a DIFFERS (rc $r1 vs $r2)"; diff "$D/smi$a.out" "$D/gpuvm$a.out" | head -20; fi
  done
  echo "== GPU state after"; q
} 2>&1 | tee "$D/log.txt"
