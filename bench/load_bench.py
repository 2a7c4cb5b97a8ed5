#!/usr/bin/env python3
"""dtsim under CPU load: the default thread count against --threads 1, on a quiet machine and with
competing CPU-bound processes (issue "Durable runs": the pool must not stall when a neighbour, or a
cgroup quota, takes CPU away).

    python3 bench/load_bench.py [--dtsim build/dtsim] [--baseline OTHER_DTSIM] [--only reference|quickstart]
                                [--repeat 3] [--loads 0,1]

For every case (the reference FedAvg workload and the quickstart), every load (the number of competing
`python3 -c 'while True: pass'` processes, started before and killed after the case's runs) and every
binary, it runs the default (`--threads` not given) and `--threads 1`, alternating run by run, and prints
the medians of wall_time_s (runs.csv: simulation and training, data loading excluded) and of the whole
process, and the ratio default / --threads 1 (the target under load: <= 1.1). It prints /proc/loadavg
first: quiet figures need a 1-minute load below 0.3 before the run.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_bench  # noqa: E402  (same folder)

ROOT = run_bench.ROOT


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[0]


def start_load(n):
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    time.sleep(0.5)  # let them reach the CPU before the first measured run
    return procs


def stop_load(procs):
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dtsim", default=os.path.join(ROOT, "build", "dtsim"))
    ap.add_argument("--baseline", help="another dtsim binary, measured side by side")
    ap.add_argument("--only", choices=["reference", "quickstart"])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--loads", default="0,1", help="numbers of competing CPU-bound processes, comma-separated")
    args = ap.parse_args()
    binaries = [args.dtsim] + ([args.baseline] if args.baseline else [])
    loads = [int(x) for x in args.loads.split(",")]
    cases = []
    if args.only in (None, "reference"):
        cases.append(("reference", os.path.join(ROOT, "bench", "reference_fedavg.yaml")))
    if args.only in (None, "quickstart"):
        cases.append(("quickstart", os.path.join(ROOT, "scenarios", "quickstart.yaml")))
    print(f"loadavg before: {loadavg()}; CPUs: {os.cpu_count()}, affinity {len(os.sched_getaffinity(0))}")
    print("| case | load | binary | default wall s | default s/round | --threads 1 wall s | --threads 1 s/round |"
          " default process s | --threads 1 process s | default / 1 (wall) |")
    print("|---" * 10 + "|")
    for name, scenario in cases:
        for load in loads:
            procs = start_load(load)
            try:
                results = {(b, t): [] for b in binaries for t in ("default", "1")}
                for _ in range(args.repeat):
                    for b in binaries:
                        for t in ("default", "1"):
                            extra = [] if t == "default" else ["--threads", "1"]
                            results[(b, t)].append(run_bench.run(b, scenario, [], extra))
            finally:
                stop_load(procs)
            for b in binaries:
                d = run_bench.summarize(results[(b, "default")])
                o = run_bench.summarize(results[(b, "1")])
                label = "this" if b == args.dtsim else "baseline"
                print(f"| {name} | {load} | {label} | {d['wall_s']:.3f} | {d['per_round_s']:.4f} | {o['wall_s']:.3f} | "
                      f"{o['per_round_s']:.4f} | {d['process_s']:.3f} | {o['process_s']:.3f} | "
                      f"{d['wall_s'] / o['wall_s']:.2f} |", flush=True)
    print(f"loadavg after: {loadavg()}")


if __name__ == "__main__":
    main()
