#!/usr/bin/env bash
# The main job, run against a build tree (default build/release):
#   1. `gpuvm probe` on the real H100 SXM5 capture in ../shared/fixtures;
#   2. a simulated 8-GPU host (gpuvm-sim, examples/hosts/mixed-8gpu.yaml):
#      inventory, SR-IOV, vGPU types, a MIG layout applied by the solver, and
#      the OpenNebula template of what changed;
#   3. gpuvmd on SQLite, with a fresh API token, answering on loopback.
# The simulated host and gpuvmd stay up afterwards (the script prints where
# and how to stop them); pass --no-keep to tear everything down at the end.
#
#   scripts/demo.sh [BUILD_DIR] [--no-keep]
#   scripts/demo.sh --stop WORK_DIR
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--stop" ]; then
  work=${2:?usage: scripts/demo.sh --stop WORK_DIR}
  [ -f "$work/gpuvmd.pid" ] && kill "$(cat "$work/gpuvmd.pid")" 2>/dev/null || true
  [ -x "$work/gpuvm-sim" ] && mountpoint -q "$work/sys" && "$work/gpuvm-sim" down "$work/sys"
  rm -rf "$work"
  exit 0
fi

build=build/release
keep=1
for arg in "$@"; do
  case $arg in
    --no-keep) keep=0 ;;
    *) build=$arg ;;
  esac
done
gpuvm=$PWD/$build/src/cli/gpuvm
sim=$PWD/$build/src/cli/gpuvm-sim
gpuvmd=$PWD/$build/src/server/gpuvmd
work=$(mktemp -d /tmp/gpuvm-demo.XXXXXX)
stop() { bash "$PWD/scripts/demo.sh" --stop "$work"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# 1. The real capture.
capture=../shared/fixtures/h100-sxm5-passthrough/sysfs.tar.gz
mkdir -p "$work/capture"
tar -xzf "$capture" -C "$work/capture"
root="$work/capture/sysfs-snapshot/sys"
step "gpuvm probe --format one --filter '10de:*'   (real H100 SXM5 capture: OpenNebula's template)"
"$gpuvm" probe --sysfs-root "$root" --format one --filter '10de:*'
step "gpuvm probe --format table   (real H100 SXM5 capture)"
"$gpuvm" probe --sysfs-root "$root" --format table

# 2. A simulated 8-GPU host.
if [ ! -e /dev/fuse ]; then
  echo "no /dev/fuse here: skipping the simulated host (modprobe fuse, or see .ci/run)" >&2
  rm -rf "$work"
  exit 0
fi
cp "$sim" "$work/gpuvm-sim"  # so that --stop works after a rebuild
mkdir -p "$work/sys"
step "gpuvm-sim up examples/hosts/mixed-8gpu.yaml --mount $work/sys"
eval "$("$sim" up examples/hosts/mixed-8gpu.yaml --mount "$work/sys")"
export GPUVM_SYSFS_ROOT GPUVM_NVML_LIB GPUVM_SIM_STATE
export GPUVM_STATE_DIR="$work/state"
trap 'stop' ERR
echo "GPUVM_SYSFS_ROOT=$GPUVM_SYSFS_ROOT"
echo "GPUVM_NVML_LIB=$GPUVM_NVML_LIB"

step "gpuvm probe --format table   (simulated host: 8 GPUs, NICs, NVMe, a switch port)"
"$gpuvm" probe --format table

nvl=0000:3a:00.0  # the H100 NVL, vendor-specific vGPU, MIG enabled at power-on
# The order the hardware needs: MIG mode (on at power-on here), then VFs
# (enabling them wipes GPU instances), then GPU instances, then vGPU types.
step "gpuvm sriov enable $nvl   (through the sriov-manage path)"
"$gpuvm" sriov enable "$nvl"
step "gpuvm mig -i 2 -lgip   (the H100 NVL at $nvl, as nvidia-smi prints it)"
"$gpuvm" mig -i 2 -lgip
cat >"$work/mig.yaml" <<'EOF'
version: v1
mig-configs:
  demo:
    - devices: [2]
      mig-enabled: true
      mig-devices: {"1g.12gb": 2, "2g.24gb": 1, "3g.47gb": 1}
EOF
step "gpuvm mig apply -f mig.yaml -c demo --dry-run   (placements from the solver)"
"$gpuvm" mig apply -f "$work/mig.yaml" -c demo --dry-run
"$gpuvm" mig apply -f "$work/mig.yaml" -c demo
step "gpuvm mig -lgi"
"$gpuvm" mig -i 2 -lgi

vf=$("$gpuvm" probe --format json | python3 -c '
import json, sys
d = [x for x in json.load(sys.stdin)["devices"] if x.get("sriov", {}).get("physfn") == "0000:3a:00.0"]
print(d[0]["address"])')
step "gpuvm vgpu types $vf   (time-sliced and MIG-backed types of the first VF)"
"$gpuvm" vgpu types "$vf"
step "gpuvm probe --format one --short-address ${vf#0000:}   (what OpenNebula's monitor sees)"
"$gpuvm" probe --format one --short-address "${vf#0000:}"

# 3. The control plane.
db="sqlite:$work/gpuvmd.db"
token=$("$gpuvmd" --db "$db" token demo)
"$gpuvmd" --listen 127.0.0.1:0 --db "$db" >"$work/gpuvmd.log" 2>&1 &
echo $! >"$work/gpuvmd.pid"
url=""
for _ in $(seq 50); do
  url=$(grep -o 'http://[0-9.]*:[0-9]*' "$work/gpuvmd.log" | head -1 || true)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { cat "$work/gpuvmd.log" >&2; stop; exit 1; }
step "gpuvmd on SQLite: $url/api/v1 (metrics: $url/metrics)"
GPUVM_SERVER=$url GPUVM_TOKEN=$token "$gpuvm" host list
curl -fsS "$url/healthz" 2>/dev/null && echo || true

if [ "$keep" = 1 ]; then
  cat <<EOF

The simulated host and gpuvmd are still running:
  API      $url/api/v1   (bearer token: $token)
  metrics  $url/metrics
  host     export GPUVM_SYSFS_ROOT=$GPUVM_SYSFS_ROOT GPUVM_NVML_LIB=$GPUVM_NVML_LIB GPUVM_SIM_STATE=$GPUVM_SIM_STATE
  web UI   not built yet (issue 7)
Stop them with: scripts/demo.sh --stop $work
EOF
else
  stop
fi
