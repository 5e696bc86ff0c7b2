#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: installs the dependencies (Debian
# packages only), builds the release preset, and runs the main job on the
# embedded default (scripts/demo.sh): `gpuvm probe` on the real H100 SXM5
# capture in ../shared/fixtures, then a simulated 8-GPU host (gpuvm-sim,
# examples/hosts/mixed-8gpu.yaml) with SR-IOV, MIG and vGPU, then gpuvmd on
# SQLite, left running with its API address printed.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
exec bash scripts/demo.sh build/release
