#!/usr/bin/env bash
# The shipped units: `systemd-analyze verify` accepts them, and their
# `systemd-analyze security` exposure (0-100 in --threshold=, shown /10) is
# no higher than what docs/privileges.md records, so hardening cannot
# regress unnoticed. Both need ExecStart's /usr/bin/gpuvm to exist: the built
# binary is put there on an overlay inside a private mount namespace.
set -euo pipefail
units=${1:?usage: systemd_test.sh UNITS_DIR GPUVM_BINARY}
gpuvm=${2:?usage: systemd_test.sh UNITS_DIR GPUVM_BINARY}
units=$(readlink -f "$units")
gpuvm=$(readlink -f "$gpuvm")
command -v systemd-analyze >/dev/null || { echo "FAIL: no systemd-analyze (package systemd)"; exit 1; }
# shellcheck source=private_ns.sh
. "$(dirname "$0")/private_ns.sh"
enter_private_mount_ns "$units" "$gpuvm"
overlay_usr_bin "$gpuvm" gpuvm

# Exposure as systemd 252 scores it, x10 (docs/privileges.md: before/after).
declare -A threshold=([gpuvm-node.service]=23 [gpuvm-agent.service]=32)
failures=0
for unit in "${!threshold[@]}"; do
  file=$units/$unit
  if ! out=$(systemd-analyze verify "$file" 2>&1); then
    echo "FAIL verify $unit:"; echo "$out"; failures=$((failures + 1))
  elif [ -n "$out" ]; then
    echo "FAIL verify $unit warns:"; echo "$out"; failures=$((failures + 1))
  else
    echo "ok   verify $unit"
  fi
  score=$(systemd-analyze security --offline=true "$file" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
  if systemd-analyze security --offline=true --threshold="${threshold[$unit]}" "$file" >/dev/null 2>&1; then
    echo "ok   security $unit: $score (threshold ${threshold[$unit]}/10)"
  else
    echo "FAIL security $unit: $score is above ${threshold[$unit]}/10"; failures=$((failures + 1))
  fi
done
[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
