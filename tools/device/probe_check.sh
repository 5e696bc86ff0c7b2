#!/bin/bash
# Read-only check of `gpuvm probe` on a machine with a real GPU: the real /sys
# against the H100 SXM5 capture in ../shared/fixtures/h100-sxm5-passthrough/,
# and against the real lspci on the same /sys. Reads sysfs only, writes only
# under $OUT (default ./device-out/probe):
#   real.json, capture.json      gpuvm probe --format json
#   real.one                     gpuvm probe --format one --filter 10de:*
#   lspci-vmm.txt                lspci -D -nn -vmm (the real one, if present)
#   timing.txt                   gpuvm probe vs lspci -mmnn on the real /sys
#   summary.txt                  one line per check
#
#   tools/device/probe_check.sh [GPUVM_BINARY]   (default build/release/src/cli/gpuvm)
#
# Expected on an H100 SXM5 80GB host: every GPU line says OK for vendor_id
# 10de, device_id 2330, class 0302, prog_if 00, subsystem 10de:16c1, revision
# a1, names, driver nvidia, link 32.0 GT/s PCIe x16; numa_node and iommu_group
# are printed (the capture comes from a VM: null there). The lspci cross-check
# says "lspci: N devices, all match".
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
gpuvm=${1:-$repo/build/release/src/cli/gpuvm}
OUT=${OUT:-$PWD/device-out}/probe
mkdir -p "$OUT"
summary=$OUT/summary.txt
: >"$summary"
say() { echo "$*" | tee -a "$summary"; }

if [[ ! -x $gpuvm ]]; then
  say "FAIL: no gpuvm binary at $gpuvm (build: cmake --preset release && cmake --build --preset release)"
  exit 1
fi
if ldd "$gpuvm" 2>/dev/null | grep -q 'not found'; then
  say "FAIL: $gpuvm lacks shared libraries here:"
  ldd "$gpuvm" | grep 'not found' | tee -a "$summary"
  exit 1
fi
ids=()
for f in /usr/share/misc/pci.ids /usr/share/hwdata/pci.ids /usr/share/pci.ids; do
  [[ -r $f ]] && { ids=(--pci-ids "$f"); break; }
done
say "== host: $(uname -r); pci.ids: ${ids[1]:-none (names will be stand-ins)}"

"$gpuvm" probe --format json "${ids[@]}" >"$OUT/real.json" 2>"$OUT/real.err"
say "gpuvm probe --format json on /sys: exit $? ($(wc -l <"$OUT/real.err") warnings)"
"$gpuvm" probe --format one --filter '10de:*' "${ids[@]}" >"$OUT/real.one" 2>>"$OUT/real.err"
say "gpuvm probe --format one --filter 10de:*: exit $?, $(grep -c '^PCI = \[$' "$OUT/real.one") blocks"

cap=$(mktemp -d)
trap 'rm -rf "$cap"' EXIT
tar -xzf "$repo/../shared/fixtures/h100-sxm5-passthrough/sysfs.tar.gz" -C "$cap"
"$gpuvm" probe --sysfs-root "$cap/sysfs-snapshot/sys" --format json "${ids[@]}" >"$OUT/capture.json"

if command -v lspci >/dev/null; then
  lspci -D -nn -vmm >"$OUT/lspci-vmm.txt" 2>&1
fi

python3 - "$OUT" <<'EOF' | tee -a "$summary"
import json, os, sys
out = sys.argv[1]
real = json.load(open(os.path.join(out, 'real.json')))['devices']
cap = json.load(open(os.path.join(out, 'capture.json')))['devices']
def gpus(devs):
    return [d for d in devs if d['vendor_id'] == '10de' and d['class'].startswith('03')]
ref = gpus(cap)[0]
same = ['vendor_id', 'device_id', 'class', 'prog_if', 'subsystem_vendor_id', 'subsystem_device_id',
        'revision', 'vendor_name', 'device_name', 'class_name', 'driver']
link = ['current_speed', 'current_width', 'max_speed', 'max_width']
found = gpus(real)
print(f'GPUs (10de, class 03xx) in /sys: {len(found)}')
for d in found:
    bad = [f'{k}: real {d[k]!r} capture {ref[k]!r}' for k in same if d[k] != ref[k]]
    bad += [f'link.{k}: real {d["link"][k]!r} capture {ref["link"][k]!r}'
            for k in link if d['link'][k] != ref['link'][k]]
    print(f'{d["address"]}: {"OK" if not bad else "DIFF"} (numa_node {d["numa_node"]}, '
          f'iommu_group {d["iommu_group"]}, sriov {d["sriov"]["role"]} '
          f'{d["sriov"]["numvfs"]}/{d["sriov"]["totalvfs"]}, vgpu mode {d["vgpu"]["mode"]})')
    for b in bad:
        print('   ' + b)
path = os.path.join(out, 'lspci-vmm.txt')
if os.path.exists(path):
    recs, cur = [], {}
    for line in open(path):
        line = line.rstrip('\n')
        if not line:
            if cur: recs.append(cur)
            cur = {}
            continue
        k, _, v = line.partition('\t')
        cur[k.rstrip(':')] = v
    if cur: recs.append(cur)
    by = {d['address']: d for d in real}
    diffs = []
    for r in recs:
        d = by.get(r.get('Slot'))
        if d is None:
            diffs.append(f'{r.get("Slot")}: not in gpuvm')
            continue
        want = {'Class': f'{d["class_name"]} [{d["class"]}]',
                'Vendor': f'{d["vendor_name"]} [{d["vendor_id"]}]',
                'Device': f'{d["device_name"]} [{d["device_id"]}]'}
        for k, v in want.items():
            if r.get(k) != v:
                diffs.append(f'{r["Slot"]} {k}: lspci {r.get(k)!r} gpuvm {v!r}')
    print(f'lspci: {len(recs)} devices, ' + ('all match' if not diffs else f'{len(diffs)} differences'))
    for x in diffs[:20]:
        print('   ' + x)
EOF

if command -v lspci >/dev/null; then
  now() { date +%s%N; }
  t0=$(now); for i in $(seq 50); do "$gpuvm" probe --format one "${ids[@]}" >/dev/null 2>&1; done
  t1=$(now); for i in $(seq 50); do lspci -mmnn >/dev/null 2>&1; done; t2=$(now)
  awk -v g=$((t1 - t0)) -v l=$((t2 - t1)) 'BEGIN { printf "timing on /sys, 50 runs: gpuvm probe --format one %.2f ms, lspci -mmnn %.2f ms, ratio %.2fx\n", g / 50e6, l / 50e6, l / g }' | tee "$OUT/timing.txt" | tee -a "$summary"
fi
