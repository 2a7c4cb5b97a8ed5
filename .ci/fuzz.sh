#!/usr/bin/env bash
# libFuzzer over the scenario loader (tests/fuzz/scenario_fuzz.cpp) and the unit and --set parsers
# (tests/fuzz/units_fuzz.cpp), built with clang, ASan and UBSan (DTSIM_FUZZ=ON, CUDA off): the build
# .ci/sanitized_build.sh shares with .ci/sanitizers.sh.
#
#   .ci/fuzz.sh [SECONDS]    total fuzzing time, split evenly between the two targets (default 60)
#
# Seeds: scenarios/*.yaml, tests/e2e/*/scenario.yaml, tests/bad_input/*.yaml and tests/fuzz/regressions/
# (copied into a corpus under the build folder, never committed). Each run has -max_len=65536,
# -timeout=10 (seconds per input) and -rss_limit_mb=2048. Exits non-zero on any crash, timeout, leak or
# out-of-memory; the input that caused it is left in $build/fuzz-artifacts/ (turn it into a regression:
# tests/fuzz/regressions/ or a tests/bad_input case). Prints each target's executions and time.
set -euo pipefail
cd "$(dirname "$0")/.."

total="${1:-60}"
if ! [[ "$total" =~ ^[0-9]+$ ]] || ((total < 2)); then
  echo "usage: $0 [SECONDS]  (total time, at least 2)" >&2
  exit 2
fi
per_target=$((total / 2))
build=$(.ci/sanitized_build.sh scenario_fuzz units_fuzz)

artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"

# Seed corpora (the corpus folders keep what earlier runs found; seeds are re-copied each time).
scenario_corpus="$build/fuzz-corpus/scenario"
units_corpus="$build/fuzz-corpus/units"
mkdir -p "$scenario_corpus" "$units_corpus"
for f in scenarios/*.yaml tests/bad_input/*.yaml; do cp "$f" "$scenario_corpus/seed-$(basename "$f")"; done
for f in tests/e2e/*/scenario.yaml; do cp "$f" "$scenario_corpus/seed-e2e-$(basename "$(dirname "$f")").yaml"; done
for f in tests/fuzz/regressions/scenario/*; do [[ -f "$f" ]] && cp "$f" "$scenario_corpus/seed-regression-$(basename "$f")"; done
for f in tests/fuzz/regressions/units/*; do [[ -f "$f" ]] && cp "$f" "$units_corpus/seed-regression-$(basename "$f")"; done
i=0
for q in 5Gf 1.5Tf 2Gflops 20Mbps 1.25GBps 2MiBps 30ms 5us 20min 2h 1d 10MB 2GiB "5 Gf" 1e3Mbps +0.5s \
  -0ms .nanGf 1e400Gf training.rounds=5 "platform.clients.speed={dist: uniform, min: 1Gf, max: 2Gf}"; do
  printf '%s' "$q" >"$units_corpus/seed-$((i++))"
done

status=0
run_target() {
  local target=$1 corpus=$2 dict=$3
  local log="$build/fuzz-$target.log"
  echo "== $target: ${per_target} s"
  set +e
  "$build/tests/fuzz/$target" "$corpus" -dict="$dict" -max_total_time="$per_target" -max_len=65536 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/$target-" >"$log" 2>&1
  local rc=$?
  set -e
  local runs
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  echo "$target: $runs executions in ${per_target} s (exit $rc; log $log)"
  if ((rc != 0)); then
    grep -E 'ERROR:|SUMMARY:|Test unit written|deadly signal|timeout' "$log" | head -20 || true
    status=1
  fi
}
run_target scenario_fuzz "$scenario_corpus" tests/fuzz/scenario.dict
run_target units_fuzz "$units_corpus" tests/fuzz/units.dict
if ((status != 0)); then
  echo "fuzz: FAILED (inputs in $artifacts/)" >&2
else
  echo "fuzz: clean"
fi
exit "$status"
