#!/usr/bin/env bash
# Installs every build, test and benchmark dependency of gpuvm from Debian 12
# packages. Idempotent; needs root (or sudo). Nothing is downloaded from
# anywhere but the Debian archive.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config clang-format
  clang-14 libclang-rt-14-dev          # tests/fuzz: libFuzzer + ASan/UBSan runtimes (only Recommended by clang-14)
  # libraries (ARCHITECTURE.md: one chosen package per job)
  libpci-dev pci.ids pciutils          # pci.ids names via libpci; lspci for cross-checks
  libcli11-dev nlohmann-json3-dev libyaml-cpp-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libfuse3-dev fuse3                   # gpuvm-sim's sysfs mount
  libsqlite3-dev libpqxx-dev libpq-dev postgresql   # gpuvmd store
  openssl                              # gpuvmd TLS test: makes a throwaway certificate
  libcpp-httplib-dev libssl-dev        # gpuvm host/vm/agent: HTTP client of gpuvmd
  libmicrohttpd-dev                    # gpuvmd HTTP server: epoll, deadlines, connection cap, TLS
  libvirt-clients                      # virt-xml-validate for libvirt XML tests
  libvirt0                             # /usr/share/libvirt/schemas/*.rng, read by virt-xml-validate
  libxml2-dev                          # gpuvm vgpu xml --domain-xml, gpuvm one vgpu (parse/write XML)
  uuid-dev uuid-runtime                # libuuid (UUIDv5); uuidgen: cross-check of OpenNebula's UUIDv5 rule in tests
  chromium                             # gpuvmd web UI test: headless browser (--dump-dom)
  sudo                                 # tests/packaging: sudo -l checks the shipped sudoers rule
  systemd                              # tests/packaging: systemd-analyze verify/security on the shipped units
  python3 hyperfine
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${packages[@]}"
