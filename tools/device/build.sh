#!/bin/bash
# Builds the two device programs with nothing but g++ (no CMake), into DIR
# (default tools/device/bin):
#   gpuvm-nvml-check  the read-only NVML checker (loader only; needs libdl)
#   gpuvm-mig         `gpuvm mig` alone (needs fmt, yaml-cpp, nlohmann-json headers)
# libstdc++ and, where their static archives exist, fmt and yaml-cpp are linked
# in, so the result runs on a driver machine that has none of them.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$repo/tools/device/bin}
mkdir -p "$out"
cxx=${CXX:-}
if [[ -z $cxx ]]; then
  for c in g++ c++ clang++; do command -v "$c" >/dev/null && { cxx=$c; break; }; done
fi
if [[ -z $cxx ]]; then
  echo "build.sh: no C++ compiler (g++/c++/clang++) on this machine; install g++ (Debian: apt-get install g++)" >&2
  exit 1
fi
flags=(-std=c++20 -O2 -I"$repo/src" -static-libstdc++ -static-libgcc)

"$cxx" "${flags[@]}" -o "$out/gpuvm-nvml-check" \
  "$repo/tools/device/nvml_check.cpp" "$repo/src/mig/nvml_loader.cpp" -ldl
echo "built $out/gpuvm-nvml-check"

missing=()
echo '#include <fmt/format.h>' | "$cxx" -std=c++20 -x c++ -fsyntax-only - 2>/dev/null || missing+=("libfmt-dev")
echo '#include <yaml-cpp/yaml.h>' | "$cxx" -std=c++20 -x c++ -fsyntax-only - 2>/dev/null || missing+=("libyaml-cpp-dev")
echo '#include <nlohmann/json.hpp>' | "$cxx" -std=c++20 -x c++ -fsyntax-only - 2>/dev/null || missing+=("nlohmann-json3-dev")
if ((${#missing[@]})); then
  echo "build.sh: cannot build gpuvm-mig here: missing headers; Debian packages: ${missing[*]}" >&2
  echo "build.sh: (or build it on another machine with tools/device/build.sh and bring tools/device/bin)" >&2
  exit 3
fi
yaml=-lyaml-cpp
for a in /usr/lib/x86_64-linux-gnu/libyaml-cpp.a /usr/lib64/libyaml-cpp.a /usr/lib/libyaml-cpp.a; do
  [[ -f $a ]] && { yaml=$a; break; }
done
# fmt header-only: no libfmt.so needed at run time.
"$cxx" "${flags[@]}" -DFMT_HEADER_ONLY -o "$out/gpuvm-mig" \
  "$repo/tools/device/mig_main.cpp" "$repo/src/cli/mig.cpp" "$repo"/src/mig/*.cpp \
  "$repo/src/core/error.cpp" "$repo/src/core/lockfile.cpp" "$repo/src/core/files.cpp" \
  "$repo/src/core/bdf.cpp" "$repo/src/core/yaml.cpp" "$yaml" -ldl
echo "built $out/gpuvm-mig"
