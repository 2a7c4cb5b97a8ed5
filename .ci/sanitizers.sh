#!/usr/bin/env bash
# ASan + UBSan: builds the whole project and test suite with -fsanitize=address,undefined, runs every
# unit/contract suite, then one small end-to-end scenario. SimGrid's default (raw) contexts confuse ASan,
# so the scenario runs with thread contexts (shared/reference/SIMGRID.md §7).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${DTSIM_ASAN_BUILD_DIR:-build-asan}"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDTSIM_CUDA=OFF -DDTSIM_SANITIZE=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in test_scenario test_kernels test_models test_policies test_report; do
  echo "== $t (ASan+UBSan)"
  "$build/tests/$t" --minimal
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== dtsim run tests/e2e/synthetic_small (ASan+UBSan, thread contexts)"
"$build/dtsim" run tests/e2e/synthetic_small/scenario.yaml --out "$out/r" --simgrid=--cfg=contexts/factory:thread
echo "== dtsim run tests/e2e/fmnist_small (ASan+UBSan, thread contexts)"
"$build/dtsim" run tests/e2e/fmnist_small/scenario.yaml --out "$out/f" --simgrid=--cfg=contexts/factory:thread
echo "sanitizers: clean"
