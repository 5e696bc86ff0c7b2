#!/bin/bash
# READ-ONLY device run (run with $OUT set; binaries and libs in .device/ as
# docs/device-checks.md says): the agent's inventory on the real
# driver, node status, node apply --dry-run. Never changes GPU state.
set -u
repo=$PWD
D=$OUT
export LD_LIBRARY_PATH=$repo/.device/lib
export PATH=$repo/.device/bin:$PATH
mkdir -p /usr/share/misc && [ -f /usr/share/misc/pci.ids ] || cp .device/pci.ids /usr/share/misc/pci.ids
q() { nvidia-smi --query-gpu=pci.bus_id,mig.mode.current,mig.mode.pending --format=csv,noheader; nvidia-smi mig -lgi 2>&1 | tail -3; }
{
echo "== GPU state before"; q
echo "== gpuvm agent --dry-run"; gpuvm agent --dry-run --name h100-device > $D/agent-inventory.json 2> $D/agent-inventory.err; echo "rc=$?"; cat $D/agent-inventory.err
python3 - "$D/agent-inventory.json" <<'PY'
import json,sys
inv=json.load(open(sys.argv[1]))
print("pci devices:", len(inv["pci_devices"]))
for g in inv["gpus"]:
    m=g["mig"]; v=g["vgpu"]
    print("gpu", g["address"], g["model"], "fb", g["framebuffer_mb"], "mig enabled", m["enabled"], "profiles", [ (p["name"],p["id"],p["memory_slices"],p["starts"]) for p in m["profiles"]], "instances", m["instances"], "vgpu types", len(v["types"]), "heterogeneous", v["heterogeneous"], "vgpus", v["devices"])
for d in inv["pci_devices"]:
    if d.get("VENDOR")=="10de": print(json.dumps(d, sort_keys=True))
PY
echo "== timing: 20 x gpuvm agent --dry-run (process start, probe, NVML)"
s=$(date +%s%N); for i in $(seq 20); do gpuvm agent --dry-run --name t >/dev/null 2>&1; done; e=$(date +%s%N); echo "mean $(( (e-s)/20000000 )) ms"
echo "== gpuvm node status --format json"; gpuvm node status --format json --state-dir /tmp/gpuvm-state 2>&1
echo "== gpuvm vgpu types"; gpuvm vgpu types 2>&1; echo "rc=$?"
echo "== gpuvm node apply --dry-run (MIG on + 2x 3g.40gb; dry run: nothing is done)"; gpuvm node apply -f tools/device/node-h100-dryrun.yaml --dry-run --state-dir /tmp/gpuvm-state 2>&1; echo "rc=$?"
echo "== GPU state after"; q
} 2>&1 | tee $D/log.txt
