#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: installs the dependencies (Debian
# packages only), builds the release preset, and runs the main job on the
# embedded default: `gpuvm probe` on the real H100 SXM5 capture shipped in
# ../shared/fixtures (or tests/data when shared/ is absent).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
exec bash scripts/demo.sh build/release
