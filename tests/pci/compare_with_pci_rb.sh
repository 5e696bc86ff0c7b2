#!/usr/bin/env bash
# Runs OpenNebula's own pci.rb and `gpuvm probe --format one` on every fixture
# tree and on the real H100 capture, and diffs them. Not part of ctest: it
# needs ruby and a pci.rb from an OpenNebula checkout
# (src/im_mad/remotes/node-probes.d/pci.rb; HEAD f847cf2e9a was used for the
# goldens). pci.rb is run from a temporary copy whose /sys paths, lspci
# command (-A linux-sysfs -O sysfs.path=<tree>/bus/pci), pci.conf and
# one-deploy files (udev rules, name cache) point into the tree / nowhere.
#
#   tests/pci/compare_with_pci_rb.sh PCI_RB [BUILD_DIR]
#
# Expected: every case "identical", except host-mixed without a filter, whose
# only difference is the escaped '"Monster sound"' in one DEVICE_NAME.
set -euo pipefail
cd "$(dirname "$0")/../.."
pci_rb=${1:?usage: $0 /path/to/pci.rb [BUILD_DIR]}
build=${2:-build/debug}
gpuvm="$build/src/cli/gpuvm"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf ../shared/fixtures/h100-sxm5-passthrough/sysfs.tar.gz -C "$work"
roots=("$work/sysfs-snapshot/sys")
for t in tests/data/sysfs/*/sys; do roots+=("$(realpath "$t")"); done
status=0
for root in "${roots[@]}"; do
  for filter in '~' "'10de:*'"; do
    printf ':filter: %s\n' "$filter" >"$work/pci.conf"
    sed -e "s|\"/sys/|\"$root/|g" \
        -e "s|'lspci -mmnn'|'lspci -A linux-sysfs -O sysfs.path=$root/bus/pci -mmnn'|" \
        -e "s|File.join(__dir__, \"../../../../etc/im/#{ETC_NAME}/pci.conf\")|\"$work/pci.conf\"|" \
        -e "s|'/etc/udev/rules.d/99-rename.rules'|'$work/none.rules'|" \
        -e "s|'/var/tmp/one_db/pci_net_names'|'$work/none'|" "$pci_rb" >"$work/pci.rb"
    ruby "$work/pci.rb" >"$work/ref.txt"
    args=(probe --sysfs-root "$root" --format one)
    [ "$filter" = '~' ] || args+=(--filter '10de:*')
    "$gpuvm" "${args[@]}" >"$work/ours.txt"
    label="$(basename "$(dirname "$root")") filter $filter"
    if diff -u "$work/ref.txt" "$work/ours.txt" >"$work/diff.txt"; then
      echo "$label: identical ($(grep -c '^PCI = \[$' "$work/ours.txt") blocks)"
    else
      echo "$label: differs"; cat "$work/diff.txt"; status=1
    fi
  done
done
exit $status
