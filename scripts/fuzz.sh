#!/usr/bin/env bash
# libFuzzer targets of tests/fuzz (docs/development.md, "Fuzzing").
#
#   scripts/fuzz.sh [TARGET] [SECONDS]   fuzz TARGET (default: each in turn) for
#                                        SECONDS each (default 60), one process;
#                                        new inputs go to build/fuzz/corpus/TARGET,
#                                        crashes to build/fuzz/crashes/TARGET
#   scripts/fuzz.sh --replay             run every file of tests/fuzz/corpus/*
#                                        once (regression, what CI does); those
#                                        in tests/fuzz/open-findings.txt must fail
#   scripts/fuzz.sh --list               the target names
#
# Builds the `fuzz` preset first (clang, ASan + UBSan, only the fuzz targets
# and the libraries they link). A crash found by fuzzing goes into
# tests/fuzz/corpus/TARGET/ under a name that says what it found.
set -euo pipefail
cd "$(dirname "$0")/.."

corpus=tests/fuzz/corpus
build=build/fuzz
targets=()
for d in "$corpus"/*/; do targets+=("$(basename "$d")"); done

if [ "${1:-}" = "--list" ]; then printf '%s\n' "${targets[@]}"; exit 0; fi

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:${ASAN_OPTIONS:-}"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:${LSAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"

if [ "${1:-}" = "--replay" ]; then
  # Every file of the corpus once, no fuzzing. Those in open-findings.txt
  # (bugs found, not fixed yet) must still fail; the rest must pass.
  open=$(awk '!/^#/ && NF {print $1}' tests/fuzz/open-findings.txt)
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  for t in "${targets[@]}"; do
    files=()
    for f in "$corpus/$t"/*; do
      if grep -qxF "$t/$(basename "$f")" <<<"$open"; then
        if "$build/tests/fuzz/fuzz_$t" "$f" >"$log" 2>&1; then
          echo "fuzz.sh: $f no longer fails: remove it from tests/fuzz/open-findings.txt" >&2
          exit 1
        fi
        echo "fuzz.sh: $t: open finding still fails: $f"
      else
        files+=("$f")
      fi
    done
    # (File arguments run each once; with none libFuzzer would fuzz instead.)
    [ "${#files[@]}" -gt 0 ] || continue
    if ! "$build/tests/fuzz/fuzz_$t" -rss_limit_mb=2048 -timeout=10 "${files[@]}" >"$log" 2>&1; then
      tail -50 "$log" >&2
      echo "fuzz.sh: fuzz_$t failed on an input of $corpus/$t (above)" >&2
      exit 1
    fi
    echo "fuzz.sh: $t: ${#files[@]} inputs replayed"
  done
  exit 0
fi

selected=("${targets[@]}")
if [ -n "${1:-}" ]; then selected=("$1"); fi
seconds=${2:-60}
for t in "${selected[@]}"; do
  [ -x "$build/tests/fuzz/fuzz_$t" ] || { echo "fuzz.sh: no target '$t' (--list)" >&2; exit 2; }
  mkdir -p "$build/corpus/$t" "$build/crashes/$t"
  echo "fuzz.sh: fuzzing $t for ${seconds}s"
  # New inputs go to the build tree's corpus (the first directory); the
  # checked-in seeds are read only.
  # -fork=1: one fuzzing process at a time that goes on after a crash, so
  # that one known bug does not hide the next.
  status=0
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -fork=1 -ignore_crashes=1 \
    -ignore_timeouts=1 -ignore_ooms=1 -dict="tests/fuzz/dict/$t.dict" \
    -artifact_prefix="$build/crashes/$t/" -rss_limit_mb=2048 -timeout=10 \
    "$build/corpus/$t" "$corpus/$t" || status=$?
  found=$(ls "$build/crashes/$t" | wc -l)
  echo "fuzz.sh: $t: exit $status, $found input(s) in $build/crashes/$t"
  [ "$found" -eq 0 ] || failed=1
done
exit "${failed:-0}"
