#!/usr/bin/env bash
# ASan + UBSan (the clang build .ci/sanitized_build.sh shares with .ci/fuzz.sh): builds dtsim and the suites
# it runs, runs every unit/contract suite, the collector's and two fat-tree engine cases, then small
# end-to-end scenarios (one with a deadline and over-selection, so that tasks are stopped mid-transfer and
# mid-computation; one with SCAFFOLD on sites; one on a platform file) and a small sweep (its children
# sanitized too). SimGrid's default (raw) contexts confuse ASan, so the scenario runs with thread contexts
# (shared/reference/SIMGRID.md §7).
set -euo pipefail
cd "$(dirname "$0")/.."
suites=(test_common test_scenario test_kernels test_models test_policies test_report test_engine test_sweep test_layout)
build=$(.ci/sanitized_build.sh dtsim "${suites[@]}" collector_test task_dynamics_test fat_tree_test)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in "${suites[@]}"; do
  echo "== $t (ASan+UBSan)"
  "$build/tests/$t" --minimal
done
for c in deadline_exactly_at_arrival_is_on_time deadline_just_before_arrival_is_late \
         first_k_drops_the_rest_where_they_are no_rule_waits_for_everyone; do
  echo "== collector_test $c (ASan+UBSan, thread contexts)"
  "$build/tests/collector_test" "$c" --cfg=contexts/factory:thread
done
for c in crashes_at_their_point offline_mid_task_is_unavailable partial_work_computes_the_whole_steps_that_fit; do
  echo "== task_dynamics_test $c (ASan+UBSan, thread contexts)"
  "$build/tests/task_dynamics_test" "$c" --cfg=contexts/factory:thread
done
for c in routes_full_4ary_2level bisection_pruned_by_2; do
  echo "== fat_tree_test $c (ASan+UBSan, thread contexts)"
  "$build/tests/fat_tree_test" "$c" --cfg=contexts/factory:thread
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== dtsim run tests/e2e/synthetic_small (ASan+UBSan, thread contexts)"
"$build/dtsim" run tests/e2e/synthetic_small/scenario.yaml --out "$out/r" --simgrid=--cfg=contexts/factory:thread
echo "== dtsim run tests/e2e/fmnist_small (ASan+UBSan, thread contexts)"
"$build/dtsim" run tests/e2e/fmnist_small/scenario.yaml --out "$out/f" --simgrid=--cfg=contexts/factory:thread
echo "== dtsim run tests/e2e/round_protocol with a deadline and over-selection (ASan+UBSan, thread contexts)"
"$build/dtsim" run tests/e2e/round_protocol/scenario.yaml --out "$out/p" --set training.deadline=0.047s \
  --set training.over_selection=1.5 --simgrid=--cfg=contexts/factory:thread
grep -q ',late,' "$out/p/clients.csv" && grep -q ',dropped,' "$out/p/clients.csv"  # it stopped tasks both ways
echo "== dtsim run tests/e2e/fmnist_small with SCAFFOLD on two sites, chunks of 2 (ASan+UBSan, thread contexts)"
"$build/dtsim" run tests/e2e/fmnist_small/scenario.yaml --out "$out/s" --set 'policies.aggregation={name: scaffold}' \
  --set platform.topology=sites --set 'platform.sites={count: 2}' --chunk 2 --simgrid=--cfg=contexts/factory:thread
echo "== dtsim run tests/e2e/xml_lab, a SimGrid platform file checked in a child process (ASan+UBSan, thread contexts)"
"$build/dtsim" run tests/e2e/xml_lab/scenario.yaml --out "$out/x" --simgrid=--cfg=contexts/factory:thread
echo "== dtsim run tests/e2e/dynamics_small: crashes, availability, stragglers, partial work (ASan+UBSan, thread contexts)"
"$build/dtsim" run tests/e2e/dynamics_small/scenario.yaml --out "$out/d" --simgrid=--cfg=contexts/factory:thread
grep -q ',crashed,' "$out/d/clients.csv" && grep -q ',unavailable,' "$out/d/clients.csv"
echo "== dtsim run of a contended analytic star: the exact server-link solver, folded tasks, run-ahead, stops (ASan+UBSan)"
"$build/dtsim" run scenarios/quickstart.yaml --out "$out/q" --no-train --set platform.network_model=analytic \
  --set platform.clients.count=300 --set training.clients_per_round=100 --set training.over_selection=1.3 \
  --set training.deadline=4s --set training.rounds=3 --simgrid=--cfg=contexts/factory:thread
grep -q ",dropped," "$out/q/clients.csv"
echo "== dtsim sweep of tests/e2e/synthetic_small: 2 rules x 2 seeds, 2 at a time, sanitized children (thread contexts)"
"$build/dtsim" sweep tests/e2e/synthetic_small/scenario.yaml --grid 'policies.aggregation=[{name: fedavg},{name: scaffold}]' \
  --seeds 1-2 -j 2 --out "$out/sw" --quiet --simgrid=--cfg=contexts/factory:thread
grep -c ',ok,' "$out/sw/runs.csv" | grep -qx 4
echo "sanitizers: clean"
