#!/usr/bin/env bash
# gpuvm probe --format one against lspci -mmnn (what OpenNebula's pci.rb runs
# first) on the same generated sysfs tree, in one run: 8 H100 with 32 VFs each
# (vendor-specific vGPU) + 30 other devices. Whole processes are timed,
# startup included, N runs each, interleaved in rounds so that both see the
# same machine state.
#
#   bench/run_probe_bench.sh [BUILD_DIR] [N]       (default build/release, 200)
#
# With PCI_RB=/path/to/OpenNebula/pci.rb (and ruby installed), the real pci.rb
# is timed too, on the same tree (a temporary copy with its /sys and lspci
# paths pointed at the tree; it still forks lspci and one uuidgen per VF).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
n=${2:-200}
gpuvm="$build/src/cli/gpuvm"
[ -x "$gpuvm" ] || { echo "no $gpuvm: build first (cmake --build --preset release)" >&2; exit 2; }
command -v lspci >/dev/null || { echo "lspci not found (Debian package pciutils)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 tests/data/sysfs/make_trees.py --large "$work"
root="$work/sys"
devices=$(ls "$root/bus/pci/devices" | wc -l)

# Same answer first: every device lspci lists is in gpuvm's JSON.
lspci_count=$(lspci -A linux-sysfs -O "sysfs.path=$root/bus/pci" -mmnn | wc -l)
blocks=$("$gpuvm" probe --sysfs-root "$root" --format one | grep -c '^PCI = \[$')
echo "tree: $devices PCI functions; lspci lists $lspci_count; gpuvm's template has $blocks blocks" \
     "(the 8 PFs whose VFs are enabled are hidden, as pci.rb does)"

now() { date +%s%N; }
t_gpuvm=0
t_lspci=0
rounds=10
per=$(( (n + rounds - 1) / rounds ))
for ((r = 0; r < rounds; r++)); do
  t0=$(now)
  for ((i = 0; i < per; i++)); do "$gpuvm" probe --sysfs-root "$root" --format one >/dev/null; done
  t1=$(now)
  for ((i = 0; i < per; i++)); do
    lspci -A linux-sysfs -O "sysfs.path=$root/bus/pci" -mmnn >/dev/null
  done
  t2=$(now)
  t_gpuvm=$((t_gpuvm + t1 - t0))
  t_lspci=$((t_lspci + t2 - t1))
done
runs=$((per * rounds))
ms() { awk -v t="$1" -v n="$runs" 'BEGIN { printf "%.3f", t / n / 1e6 }'; }
echo "runs:                       $runs each"
echo "gpuvm probe --format one:   $(ms $t_gpuvm) ms per run"
echo "lspci -mmnn:                $(ms $t_lspci) ms per run"
awk -v a="$t_lspci" -v b="$t_gpuvm" \
  'BEGIN { printf "ratio lspci/gpuvm:          %.2fx (gpuvm is %s)\n", a / b, (b < a ? "faster" : "slower") }'

if [ -n "${PCI_RB:-}" ] && command -v ruby >/dev/null; then
  conf="$work/pci.conf"
  printf ':filter: ~\n' >"$conf"
  sed -e "s|\"/sys/|\"$root/|g" \
      -e "s|'lspci -mmnn'|'lspci -A linux-sysfs -O sysfs.path=$root/bus/pci -mmnn'|" \
      -e "s|File.join(__dir__, \"../../../../etc/im/#{ETC_NAME}/pci.conf\")|\"$conf\"|" \
      -e "s|'/etc/udev/rules.d/99-rename.rules'|'$work/none.rules'|" \
      -e "s|'/var/tmp/one_db/pci_net_names'|'$work/none'|" "$PCI_RB" >"$work/pci.rb"
  m=$(( runs < 20 ? runs : 20 ))
  t0=$(now)
  for ((i = 0; i < m; i++)); do ruby "$work/pci.rb" >/dev/null; done
  t1=$(now)
  awk -v t=$((t1 - t0)) -v n="$m" -v g="$t_gpuvm" -v gn="$runs" \
    'BEGIN { printf "OpenNebula pci.rb:          %.3f ms per run (%d runs), %.1fx gpuvm\n", t / n / 1e6, n, (t / n) / (g / gn) }'
fi
