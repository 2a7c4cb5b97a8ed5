#!/usr/bin/env python3
"""dtsim benchmarks: drive the dtsim binary on scenario files and read its CSVs (DESIGN "Benchmarks
measure the product"). Reports wall time per round, client updates per second and peak memory (max RSS
of the dtsim process) for the quickstart at 100, 1,000 and 10,000 clients and for the reference FedAvg
workload of the speed target (IID and 2-shard variants).

    python3 bench/run_bench.py [--dtsim build/dtsim] [--only reference|quickstart] [--repeat 3]

Wall time is runs.csv's wall_time_s: the simulation and training, after the scenario and data are
loaded. The best of --repeat runs is reported (the machine may be busy with something else).
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(dtsim, scenario, sets, extra=()):
    out = tempfile.mkdtemp(prefix="dtsim_bench_")
    cmd = [dtsim, "run", scenario, "--out", out, "--quiet", *extra]
    for s in sets:
        cmd += ["--set", s]
    start = time.perf_counter()
    err = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage: its peak RSS
    total = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        err.seek(0)
        sys.exit(f"failed: {' '.join(cmd)}\n{err.read().decode()}")
    with open(os.path.join(out, "runs.csv")) as f:
        row = next(csv.DictReader(f))
    with open(os.path.join(out, "rounds.csv")) as f:
        rounds = list(csv.DictReader(f))
    selected = sum(int(r["selected"]) for r in rounds)
    wall = float(row["wall_time_s"])
    return {
        "rounds": int(row["rounds_completed"]),
        "wall_s": wall,
        "process_s": total,
        "per_round_s": wall / max(1, int(row["rounds_completed"])),
        "updates_per_s": selected / wall if wall > 0 else float("nan"),
        "peak_mib": usage.ru_maxrss / 1024,
        "accuracy": row["final_test_accuracy"],
        "sim_time_s": float(row["final_sim_time_s"]),
    }


def best_of(n, *args, **kw):
    results = [run(*args, **kw) for _ in range(n)]
    best = min(results, key=lambda r: r["wall_s"])
    best["peak_mib"] = max(r["peak_mib"] for r in results)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dtsim", default=os.path.join(ROOT, "build", "dtsim"))
    ap.add_argument("--only", choices=["reference", "quickstart"])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows = []
    if args.only in (None, "reference"):
        ref = os.path.join(ROOT, "bench", "reference_fedavg.yaml")
        for threads in ("1", "2"):
            rows.append((f"reference IID, {threads} thread(s)",
                         best_of(args.repeat, args.dtsim, ref, [], ["--threads", threads])))
        rows.append(("reference 2 shards/client", best_of(1, args.dtsim, ref, ["workload.partition.name=shards"])))
    if args.only in (None, "quickstart"):
        qs = os.path.join(ROOT, "scenarios", "quickstart.yaml")
        for n in (100, 1000, 10000):
            rows.append((f"quickstart N={n}", best_of(1, args.dtsim, qs, [f"platform.clients.count={n}"])))
        # Memory must stay flat across rounds (no leak): the peak after 200 rounds equals the one after 20.
        for rounds in (20, 200):
            rows.append((f"quickstart N=100, {rounds} rounds (leak check)",
                         best_of(1, args.dtsim, qs, [f"training.rounds={rounds}", "training.eval_every=20"])))
        rows.append(("quickstart N=10000 timing only",
                     best_of(1, args.dtsim, qs, ["platform.clients.count=10000", "training.rounds=200"], ["--no-train"])))
    print("| case | rounds | wall s | wall s/round | client updates/s | peak MiB | test acc | sim s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in rows:
        print(f"| {name} | {r['rounds']} | {r['wall_s']:.3f} | {r['per_round_s']:.4f} | {r['updates_per_s']:.1f} | "
              f"{r['peak_mib']:.0f} | {r['accuracy']} | {r['sim_time_s']:.1f} |")


if __name__ == "__main__":
    main()
