#!/usr/bin/env python3
"""Plot test accuracy against simulated time (and against rounds) for one or more dtsim result folders.

    python3 analysis/plot_rounds.py results/quickstart [results/other ...] -o accuracy.png

Reads only the CSVs (rounds.csv); rows without a test accuracy (between evaluations) are skipped.
Needs matplotlib (apt-get install python3-matplotlib).
"""
import argparse
import csv
import os


def load(folder):
    with open(os.path.join(folder, "rounds.csv")) as f:
        rows = [r for r in csv.DictReader(f) if r["test_accuracy"]]
    return ([float(r["sim_time_s"]) for r in rows], [int(r["round"]) for r in rows],
            [100 * float(r["test_accuracy"]) for r in rows])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("folders", nargs="+")
    ap.add_argument("-o", "--output", default="accuracy.png")
    args = ap.parse_args()
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (by_time, by_round) = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for folder in args.folders:
        t, n, acc = load(folder)
        label = os.path.basename(os.path.normpath(folder))
        by_time.plot(t, acc, marker=".", label=label)
        by_round.plot(n, acc, marker=".", label=label)
    by_time.set_xlabel("simulated time (s)")
    by_round.set_xlabel("round")
    by_time.set_ylabel("test accuracy (%)")
    by_time.legend()
    fig.tight_layout()
    fig.savefig(args.output, dpi=120)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
