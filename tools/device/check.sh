#!/bin/bash
# Read-only checks of gpuvm's MIG/NVML code on a machine with the real NVIDIA
# driver. Writes everything under $OUT (default ./device-out):
#   sizes-ours.txt / sizes-real.txt / sizes.diff   struct sizes, offsets, tags
#   nvml-check.txt                                 every GI profile, every enum index
#   cmp/<case>.{smi,gpuvm}.{out,err,rc} + .diff    nvidia-smi mig vs gpuvm mig
#   summary.txt                                    one line per check
# It never changes the GPU: only list verbs (-lgip -lgipp -lgi -lcip -lci) and
# NVML Get* calls; it refuses to run a checker whose source names
# SetMigMode, Create* or Destroy*.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${OUT:-$PWD/device-out}
mkdir -p "$OUT/cmp"
summary=$OUT/summary.txt
: >"$summary"
say() { echo "$*" | tee -a "$summary"; }

say "== host"
{ uname -a; nvidia-smi --version 2>&1; } >"$OUT/host.txt" 2>&1
cat "$OUT/host.txt" | tee -a "$summary"

if grep -nE 'nvml[A-Za-z]*(SetMigMode|Create[A-Za-z]*|Destroy)' "$repo/tools/device/nvml_check.cpp"; then
  say "REFUSED: tools/device/nvml_check.cpp names a state-changing NVML call"
  exit 1
fi

# 1. Binaries: prebuilt ones in tools/device/bin (tools/device/build.sh on the
#    build machine), else build them here with g++.
bin=$repo/tools/device/bin
if [[ ! -x $bin/gpuvm-nvml-check || ! -x $bin/gpuvm-mig ]] || ! "$bin/gpuvm-mig" --help >/dev/null 2>&1; then
  say "== building the device programs here (tools/device/build.sh)"
  bin=$OUT/bin
  "$repo/tools/device/build.sh" "$bin" >"$OUT/build.txt" 2>&1
  rc=$?
  cat "$OUT/build.txt" | tee -a "$summary"
  [[ $rc -ne 0 && ! -x $bin/gpuvm-nvml-check ]] && { say "FAILED: cannot build the checker"; exit 1; }
fi
say "binaries: $bin"

# 2. Struct sizes/tags: ours vs the real header.
cc=$(command -v gcc || command -v cc || true)
header=""
for h in /usr/include/nvml.h /usr/local/cuda/include/nvml.h /usr/local/cuda*/targets/*/include/nvml.h; do
  [[ -f $h ]] && { header=$h; break; }
done
if [[ -z $cc ]]; then
  say "sizes: SKIPPED (no C compiler)"
else
  "$cc" -DGPUVM_OWN -I"$repo/src" -o "$OUT/sizes-ours" "$repo/tools/device/nvml_sizes.c" &&
    "$OUT/sizes-ours" >"$OUT/sizes-ours.txt"
  if [[ -z $header ]]; then
    say "sizes: real nvml.h NOT FOUND (looked in /usr/include, /usr/local/cuda/include, /usr/local/cuda*/targets/*/include); ours only"
  else
    if "$cc" -I"$(dirname "$header")" -o "$OUT/sizes-real" "$repo/tools/device/nvml_sizes.c" 2>"$OUT/sizes-real.err"; then
      "$OUT/sizes-real" >"$OUT/sizes-real.txt"
      if diff -u "$OUT/sizes-real.txt" "$OUT/sizes-ours.txt" >"$OUT/sizes.diff"; then
        say "sizes: SAME as $header"
      else
        say "sizes: DIFFERENT from $header (see sizes.diff)"
        cat "$OUT/sizes.diff" | tee -a "$summary"
      fi
    else
      say "sizes: could not compile against $header (sizes-real.err)"
    fi
  fi
fi

# 3. Every GPU-instance profile, every enum index (read-only).
"$bin/gpuvm-nvml-check" >"$OUT/nvml-check.txt" 2>&1
say "nvml-check: rc=$? ($(wc -l <"$OUT/nvml-check.txt") lines in nvml-check.txt)"

# 4. nvidia-smi mig vs gpuvm mig, byte for byte, stdout, stderr and exit code.
bus=$(nvidia-smi --query-gpu=pci.bus_id --format=csv,noheader -i 0 2>/dev/null | head -1)
uuid=$(nvidia-smi --query-gpu=uuid --format=csv,noheader -i 0 2>/dev/null | head -1)
cases=("lgip:-lgip" "lgipp:-lgipp" "lgi:-lgi" "lcip:-lcip" "lci:-lci"
       "i0-lgip:-i 0 -lgip" "i0-lgipp:-i 0 -lgipp" "i9-lgip:-i 9 -lgip" "i9-lgi:-i 9 -lgi")
[[ -n $bus ]] && cases+=("bus-lgipp:-i $bus -lgipp")
[[ -n $uuid ]] && cases+=("uuid-lgipp:-i $uuid -lgipp")
for c in "${cases[@]}"; do
  name=${c%%:*}
  read -r -a args <<<"${c#*:}"
  nvidia-smi mig "${args[@]}" >"$OUT/cmp/$name.smi.out" 2>"$OUT/cmp/$name.smi.err"
  echo $? >"$OUT/cmp/$name.smi.rc"
  "$bin/gpuvm-mig" "${args[@]}" >"$OUT/cmp/$name.gpuvm.out" 2>"$OUT/cmp/$name.gpuvm.err"
  echo $? >"$OUT/cmp/$name.gpuvm.rc"
  verdict=SAME
  for s in out err rc; do
    if ! diff -u "$OUT/cmp/$name.smi.$s" "$OUT/cmp/$name.gpuvm.$s" >"$OUT/cmp/$name.$s.diff"; then
      verdict=DIFF
    fi
  done
  say "mig ${c#*:}: $verdict (rc nvidia-smi=$(cat "$OUT/cmp/$name.smi.rc") gpuvm=$(cat "$OUT/cmp/$name.gpuvm.rc"))"
  [[ $verdict == DIFF ]] && cat "$OUT/cmp/$name".*.diff >>"$summary"
done
"$bin/gpuvm-mig" -lgip --format json >"$OUT/lgip.json" 2>&1
say "gpuvm mig -lgip --format json: rc=$? (lgip.json)"
say "done: $OUT"
