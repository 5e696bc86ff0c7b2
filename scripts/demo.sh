#!/usr/bin/env bash
# The main job on the embedded default, run against a build tree (default
# build/release): the PCI inventory of the real H100 SXM5 capture, as the
# OpenNebula template and as a table.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}

capture=../shared/fixtures/h100-sxm5-passthrough/sysfs.tar.gz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf "$capture" -C "$work"
root="$work/sysfs-snapshot/sys"

echo "== gpuvm probe --format one (OpenNebula monitoring template), real H100 capture"
"$build/src/cli/gpuvm" probe --sysfs-root "$root" --format one --filter '10de:*'
echo
echo "== gpuvm probe --format table"
"$build/src/cli/gpuvm" probe --sysfs-root "$root" --format table
