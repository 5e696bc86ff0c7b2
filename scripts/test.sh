#!/usr/bin/env bash
# Runs every test: configures and builds the debug preset, then CTest.
# With --asan, the same under AddressSanitizer + UBSan (preset "asan").
# Tests that need privileges (FUSE) skip themselves with a reason when they
# are missing; .ci/run provides them so that none skip there.
set -euo pipefail
cd "$(dirname "$0")/.."

preset=debug
if [ "${1:-}" = "--asan" ]; then preset=asan; shift; fi
jobs=$(nproc)

cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$jobs"
ctest --preset "$preset" -j "$jobs" "$@"
