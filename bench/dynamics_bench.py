#!/usr/bin/env python3
"""The cost of dynamics per client-round: timing-only runs (--no-train) of the quickstart fleet at 1,000 and
10,000 clients, a tenth of them started each round, plain against the same run with every dynamic asked
about each task — straggler factors, slow hosts, a crash draw, Markov availability and a deadline with
partial work — tuned so that the rounds keep the same number of transfers (crashes of probability
1e-9, clients online all but a 1e-9 share of the time, a deadline no task reaches): what is measured is
the dynamics' own bookkeeping (draws, availability cursors, timed waits, the partial-work schedule), not
a smaller network problem.

    python3 bench/dynamics_bench.py [--dtsim build/dtsim] [--repeat 5] [--rounds 20]

Per case: wall time per client-round (runs.csv wall_time_s / Σ rounds.csv selected), median of --repeat runs,
the three configurations alternated run by run: plain (no dynamics), stragglers only (factors and slow
hosts: they change compute times, and with them how many transfers overlap, which is the flow solver's
cost), and all. "all − stragglers" is the bookkeeping of crashes, availability and partial work.
"""
import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIO = os.path.join(ROOT, "scenarios", "quickstart.yaml")
DYNAMICS = [
    "dynamics={straggler: {dist: shifted_exponential, shift: 1, rate: 2}, slow_hosts: {fraction: 0.1, factor: 5},"
    " crash: {probability: 1e-9}, availability: {mean_on: 1000000000s, mean_off: 1s}}",
    "training.deadline=1000000s", "training.partial_work=true",
]
STRAGGLERS = ["dynamics={straggler: {dist: shifted_exponential, shift: 1, rate: 2}, "
              "slow_hosts: {fraction: 0.1, factor: 5}}"]


def per_client_round(dtsim, clients, rounds, extra):
    out = tempfile.mkdtemp(prefix="dtsim_dyn_bench_")
    cmd = [dtsim, "run", SCENARIO, "--out", out, "--quiet", "--no-train",
           "--set", f"platform.clients.count={clients}", "--set", f"training.clients_per_round={clients // 10}",
           "--set", f"training.rounds={rounds}", "--set", "training.min_completed=1"]
    for s in extra:
        cmd += ["--set", s]
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    with open(os.path.join(out, "runs.csv")) as f:
        wall = float(next(csv.DictReader(f))["wall_time_s"])
    with open(os.path.join(out, "rounds.csv")) as f:
        selected = sum(int(r["selected"]) for r in csv.DictReader(f))
    return wall / selected


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dtsim", default=os.path.join(ROOT, "build", "dtsim"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    print(f"{'clients':>8}  {'plain us':>9}  {'stragglers us':>13}  {'all us':>8}  {'all/plain':>9}  {'all-stragglers us':>17}")
    for clients in (1000, 10000):
        runs = {"plain": [], "stragglers": [], "all": []}
        for _ in range(args.repeat):
            runs["plain"].append(per_client_round(args.dtsim, clients, args.rounds, []))
            runs["stragglers"].append(per_client_round(args.dtsim, clients, args.rounds, STRAGGLERS))
            runs["all"].append(per_client_round(args.dtsim, clients, args.rounds, DYNAMICS))
        p, st, a = (statistics.median(runs[k]) * 1e6 for k in ("plain", "stragglers", "all"))
        print(f"{clients:8}  {p:9.2f}  {st:13.2f}  {a:8.2f}  {a / p:9.2f}  {a - st:17.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
