#!/usr/bin/env bash
# The main job, run against a build tree (default build/release):
#   1. `gpuvm probe` on the real H100 SXM5 capture in ../shared/fixtures;
#   2. a simulated 8-GPU host (gpuvm-sim, examples/hosts/mixed-8gpu.yaml):
#      `gpuvm check` (is it ready for GPU VMs), inventory, SR-IOV, vGPU types,
#      a MIG layout applied by the solver, and
#      the OpenNebula template of what changed;
#   3. `gpuvm node apply` of examples/node/demo-mixed-8gpu.yaml (and its no-op rerun);
#   4. gpuvmd on SQLite with the host's `gpuvm agent` reporting to it; a VM
#      asks for a MIG slice and a vGPU, the agent makes them on the host.
# The simulated host, gpuvmd and the agent stay up afterwards (the script
# prints the API and web UI addresses and how to stop them); pass --no-keep
# to tear everything down at the end.
#
#   scripts/demo.sh [BUILD_DIR] [--no-keep]
#   scripts/demo.sh --stop WORK_DIR
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--stop" ]; then
  work=${2:?usage: scripts/demo.sh --stop WORK_DIR}
  [ -f "$work/agent.pid" ] && kill "$(cat "$work/agent.pid")" 2>/dev/null || true
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
export GPUVM_SYSFS_ROOT GPUVM_NVML_LIB GPUVM_SIM_STATE GPUVM_PROC_ROOT GPUVM_DEV_ROOT GPUVM_ETC_ROOT
export GPUVM_STATE_DIR="$work/state"
trap 'stop' ERR
echo "GPUVM_SYSFS_ROOT=$GPUVM_SYSFS_ROOT"
echo "GPUVM_NVML_LIB=$GPUVM_NVML_LIB"

step "gpuvm check --record   (is the simulated host ready for GPU VMs? docs/check.md)"
"$gpuvm" check --record  # the agent reports the recorded result to gpuvmd (host detail, web UI)

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

# 3. The declarative node layout.
step "gpuvm node apply -f examples/node/demo-mixed-8gpu.yaml --dry-run"
"$gpuvm" node apply -f examples/node/demo-mixed-8gpu.yaml --dry-run
step "gpuvm node apply -f examples/node/demo-mixed-8gpu.yaml   (then again: nothing to do)"
"$gpuvm" node apply -f examples/node/demo-mixed-8gpu.yaml
"$gpuvm" node apply -f examples/node/demo-mixed-8gpu.yaml

# 4. The control plane and this host's agent.
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
export GPUVM_SERVER=$url GPUVM_TOKEN=$token
# The agent gets a token of its own, good for this host only.
"$gpuvmd" --db "$db" token demo-host-agent --host demo-host >"$work/agent.token"
chmod 600 "$work/agent.token"
step "gpuvm agent --server $url --name demo-host --token-file agent.token   (in the background; log: $work/agent.log)"
GPUVM_TOKEN= "$gpuvm" agent --name demo-host --token-file "$work/agent.token" --poll 1 \
  >"$work/agent.log" 2>&1 &
echo $! >"$work/agent.pid"
for _ in $(seq 100); do
  "$gpuvm" host list --format json 2>/dev/null | grep -q demo-host && break
  sleep 0.2
done
"$gpuvm" host list
step "gpuvm vm create train --pci MIG_PROFILE=3g.47gb --pci VGPU_TYPE=H100XM-10C --numa required --deploy"
"$gpuvm" vm create train --pci MIG_PROFILE=3g.47gb --pci VGPU_TYPE=H100XM-10C --numa required \
  --deploy
for _ in $(seq 100); do
  "$gpuvm" vm list --format json | grep -q '"state": *"deploying"' || break
  sleep 0.2
done
step "gpuvm vm list   (deployed once the agent made the devices on the host)"
"$gpuvm" vm list
step "gpuvm vgpu list   (on the host)"
"$gpuvm" vgpu list
step "the agent's log"
cat "$work/agent.log"

if [ "$keep" = 1 ]; then
  cat <<EOF

The simulated host, gpuvmd and the host's agent are still running:
  API      $url/api/v1   (bearer token: $token)
  web UI   $url/#token=$token
  metrics  $url/metrics
  host     export GPUVM_SYSFS_ROOT=$GPUVM_SYSFS_ROOT GPUVM_NVML_LIB=$GPUVM_NVML_LIB GPUVM_SIM_STATE=$GPUVM_SIM_STATE GPUVM_STATE_DIR=$GPUVM_STATE_DIR GPUVM_PROC_ROOT=$GPUVM_PROC_ROOT GPUVM_DEV_ROOT=$GPUVM_DEV_ROOT GPUVM_ETC_ROOT=$GPUVM_ETC_ROOT
  client   export GPUVM_SERVER=$url GPUVM_TOKEN=$token
Stop them with: scripts/demo.sh --stop $work
EOF
else
  stop
fi
