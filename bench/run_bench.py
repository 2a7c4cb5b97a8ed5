#!/usr/bin/env python3
"""dtsim benchmarks: drive the dtsim binary on scenario files and read its CSVs (DESIGN "Benchmarks
measure the product"). Reports wall time per round, client updates per second and peak memory (max RSS
of the dtsim process) for the quickstart at 100, 1,000 and 10,000 clients and for the reference FedAvg
workload of the speed target (IID and 2-shard variants), and for the CNN (CNNMnist, dropout 0.5) on the
same workload (scenarios/cnn_fmnist.yaml, test evaluation only at the end).

    python3 bench/run_bench.py [--dtsim build/dtsim] [--only reference|quickstart|cnn] [--repeat 5]
                               [--baseline OTHER_DTSIM]

Wall time is runs.csv's wall_time_s: the simulation and training, after the scenario and data are
loaded; "process s" is the whole process, loading included. Each figure is the median of --repeat runs
(the machine may be busy with something else); peak memory is the largest of them. --baseline runs
another dtsim binary on the same cases, alternating with this one run by run, and prints both and the
ratio (this / baseline): before-and-after figures measured side by side (not for the CNN case when the
baseline has no CNN).
"""
import argparse
import csv
import os
import shutil
import statistics
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
    shutil.rmtree(out, ignore_errors=True)
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


def supports_cnn(dtsim):
    probe = subprocess.run([dtsim, "validate", os.path.join(ROOT, "scenarios", "cnn_fmnist.yaml")],
                           capture_output=True)
    return probe.returncode == 0


def summarize(results):
    out = dict(results[0])
    for key in ("wall_s", "process_s", "per_round_s", "updates_per_s"):
        out[key] = statistics.median(r[key] for r in results)
    out["peak_mib"] = max(r["peak_mib"] for r in results)
    return out


def measure(n, binaries, scenario, sets, extra=()):
    """Median figures per binary, the binaries' runs interleaved so that load on the machine hits both."""
    results = {b: [] for b in binaries}
    for _ in range(n):
        for b in binaries:
            results[b].append(run(b, scenario, sets, extra))
    return [summarize(results[b]) for b in binaries]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dtsim", default=os.path.join(ROOT, "build", "dtsim"))
    ap.add_argument("--baseline", help="another dtsim binary, measured side by side")
    ap.add_argument("--only", choices=["reference", "quickstart", "cnn"])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    binaries = [args.dtsim] + ([args.baseline] if args.baseline else [])
    n = args.repeat
    rows = []
    if args.only in (None, "reference"):
        ref = os.path.join(ROOT, "bench", "reference_fedavg.yaml")
        for threads in ("1", "2"):
            rows.append((f"reference IID, {threads} thread(s)", measure(n, binaries, ref, [], ["--threads", threads])))
        rows.append(("reference 2 shards/client", measure(n, binaries, ref, ["workload.partition.name=shards"])))
    if args.only in (None, "quickstart"):
        qs = os.path.join(ROOT, "scenarios", "quickstart.yaml")
        for clients in (100, 1000, 10000):
            rows.append((f"quickstart N={clients}", measure(n, binaries, qs, [f"platform.clients.count={clients}"])))
        # Memory must stay flat across rounds (no leak): the peak after 200 rounds equals the one after 20.
        for rounds in (20, 200):
            rows.append((f"quickstart N=100, {rounds} rounds (leak check)",
                         measure(max(1, n // 5), binaries, qs, [f"training.rounds={rounds}", "training.eval_every=20"])))
        rows.append(("quickstart N=10000 timing only",
                     measure(n, binaries, qs, ["platform.clients.count=10000", "training.rounds=200"], ["--no-train"])))
    if args.only in (None, "cnn"):
        cnn = os.path.join(ROOT, "scenarios", "cnn_fmnist.yaml")
        sets = ["training.eval_every=0", "training.rounds=30"]
        with_cnn = [b for b in binaries if b == args.dtsim or supports_cnn(b)]
        rows.append(("CNN IID, 10 x 600 per round (scenarios/cnn_fmnist.yaml)", measure(n, with_cnn, cnn, sets)))
    print("| case | rounds | wall s | wall s/round | client updates/s | process s | peak MiB | test acc | sim s |"
          + (" baseline wall s | baseline process s | baseline peak MiB | wall ratio |" if args.baseline else ""))
    print("|---" * (9 + (4 if args.baseline else 0)) + "|")
    for name, results in rows:
        r = results[0]
        line = (f"| {name} | {r['rounds']} | {r['wall_s']:.3f} | {r['per_round_s']:.4f} | {r['updates_per_s']:.1f} | "
                f"{r['process_s']:.3f} | {r['peak_mib']:.0f} | {r['accuracy']} | {r['sim_time_s']:.1f} |")
        if args.baseline and len(results) == 1:
            line += " | | | |"
        elif args.baseline:
            b = results[1]
            line += (f" {b['wall_s']:.3f} | {b['process_s']:.3f} | {b['peak_mib']:.0f} | "
                     f"{r['wall_s'] / b['wall_s']:.3f} |")
        print(line)


if __name__ == "__main__":
    main()
