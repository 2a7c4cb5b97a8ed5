#!/usr/bin/env bash
# valgrind memcheck of a small end-to-end run. valgrind 3.19 cannot decode AVX-512, so this uses a
# build for generic x86-64 (DTSIM_NATIVE=OFF); SimGrid runs with thread contexts, which memcheck
# follows. Exits non-zero on any memcheck error.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${DTSIM_VALGRIND_BUILD_DIR:-build-valgrind}"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDTSIM_CUDA=OFF -DDTSIM_NATIVE=OFF -DDTSIM_TESTS=OFF >/dev/null
cmake --build "$build" --target dtsim -j"$(nproc)"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
  --show-leak-kinds=definite "$build/dtsim" run tests/e2e/synthetic_small/scenario.yaml --out "$out/r" \
  --threads 2 --simgrid=--cfg=contexts/factory:thread
echo "valgrind: no errors"
