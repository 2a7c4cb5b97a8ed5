#!/usr/bin/env python3
"""Scale benchmarks (issue "Scale"): timing-only rounds (--no-train), FedAvg, every client selected,
network_model: analytic, on the quickstart fleet (5-50 Mbps, 10-80 ms, lognormal speeds):

  uncontended  1,023 clients x 20 rounds behind a 100 Gbps server (FedDES's workload size): the server's
               link cannot bind, so platform.solver auto leaves it out; measured with auto and with simgrid
               (every link simulated), alternating run by run;
  contended    1,000 clients per round behind the quickstart's 1 Gbps server (the server link binds: auto
               shares it with dtsim's exact solver, simgrid with SimGrid's); targets: <= 0.05 s per round;
  contended10k 10,000 clients per round, the same server: auto only (SimGrid's solver takes minutes a
               round there); target: <= 0.5 s per round.

    python3 bench/scale_bench.py [--dtsim build/dtsim] [--repeat 5] [--only uncontended|contended|contended10k]

Prints, per case and solver, the median over --repeat runs of: client-rounds per wall second of the whole
process (loading included), s per round (runs.csv's wall_time_s / rounds) and peak memory.
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_bench import ROOT, run  # noqa: E402  (the same driver as the other benchmarks)

QUICKSTART = os.path.join(ROOT, "scenarios", "quickstart.yaml")
COMMON = ["platform.network_model=analytic", "training.eval_every=0", "training.checkpoint_every=0",
          "output.clients_csv=false"]
CASES = {  # clients, rounds, settings, solvers
    "uncontended": (1023, 20, ["platform.server.bandwidth=100Gbps"], ["auto", "simgrid"]),
    "contended": (1000, 5, [], ["auto", "simgrid"]),
    "contended10k": (10000, 3, [], ["auto"]),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dtsim", default=os.path.join(ROOT, "build", "dtsim"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--only", choices=sorted(CASES))
    args = ap.parse_args()
    for name, (clients, rounds, extra, solvers) in CASES.items():
        if args.only and name != args.only:
            continue
        sets = COMMON + extra + [f"platform.clients.count={clients}", f"training.clients_per_round={clients}",
                                 f"training.rounds={rounds}"]
        results = {solver: [] for solver in solvers}
        for _ in range(args.repeat):
            for solver in results:  # alternating: both see the same machine load
                results[solver].append(run(args.dtsim, QUICKSTART, sets + [f"platform.solver={solver}"], ["--no-train"]))
        for solver, runs in results.items():
            per_s = statistics.median(clients * r["rounds"] / r["process_s"] for r in runs)
            per_round = statistics.median(r["per_round_s"] for r in runs)
            peak = max(r["peak_mib"] for r in runs)
            print(f"{name:12s} {clients:6d} clients x {rounds:2d} rounds  solver {solver:8s} "
                  f"{per_s:10.0f} client-rounds/s (process)  {per_round:8.4f} s/round  {peak:6.0f} MiB peak")


if __name__ == "__main__":
    main()
