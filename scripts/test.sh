#!/usr/bin/env bash
# Runs every test: configures and builds the debug preset, then CTest.
# With --asan, the same under AddressSanitizer + UBSan (preset "asan").
#
# It provides what the tests need where it can, so that none skip:
#   - /dev/fuse for gpuvm-sim's FUSE tests (modprobe fuse; as root, the node
#     itself, mode 0600 since only root mounts here);
#   - a throwaway PostgreSQL on 127.0.0.1 for gpuvmd's store tests, unless
#     GPUVM_TEST_PG_URL already names one (stopped again on exit).
# Without them (no root, no postgresql package) those tests skip and say why.
set -euo pipefail
cd "$(dirname "$0")/.."

preset=debug
if [ "${1:-}" = "--asan" ]; then preset=asan; shift; fi
jobs=$(nproc)

if [ ! -e /dev/fuse ]; then
  modprobe fuse 2>/dev/null || true
  if [ ! -e /dev/fuse ] && [ "$(id -u)" -eq 0 ]; then
    mknod -m 0600 /dev/fuse c 10 229 2>/dev/null || true
  fi
  [ -e /dev/fuse ] || echo "test.sh: no /dev/fuse: the gpuvm-sim FUSE tests will skip" >&2
fi

if [ -z "${GPUVM_TEST_PG_URL:-}" ]; then
  pgdir=$(mktemp -d /tmp/gpuvm-test-pg.XXXXXX)
  if GPUVM_TEST_PG_URL="$(bash scripts/start-postgres.sh --dir "$pgdir")"; then
    export GPUVM_TEST_PG_URL
    trap 'bash scripts/start-postgres.sh --stop "$pgdir" >/dev/null 2>&1; rm -rf "$pgdir"' EXIT
  else
    unset GPUVM_TEST_PG_URL
    rm -rf "$pgdir"
    echo "test.sh: no PostgreSQL server: gpuvmd's PostgreSQL tests will skip" >&2
  fi
fi

cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$jobs"
ctest --preset "$preset" -j "$jobs" "$@"
