#!/usr/bin/env python3
"""SCAFFOLD against FedAvg on scenarios/scaffold_noniid.yaml (Fashion-MNIST, Dirichlet 0.1, 100 clients,
10 per round, 30 rounds), per seed: the round-30 figures of both rules, run by the dtsim binary.

    python3 bench/scaffold_vs_fedavg.py [--dtsim build/dtsim] [--seeds 1-5] [--set KEY=VALUE]...

Three training-side figures, because they answer different questions:
  local loss   rounds.csv train_loss: the mean minibatch loss of the round's local training, on each
               client's own data, as the clients ran it;
  global loss  the loss of the round-30 global model x on all 60,000 training images: the federated
               objective f(x) both rules minimise. dtsim evaluates on the test files, so the script runs
               a second time with a folder whose test files are links to the training files;
  test acc.    rounds.csv test_accuracy at round 30 (the real test set).
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIO = os.path.join(ROOT, "scenarios", "scaffold_noniid.yaml")
FMNIST = "/usr/share/datasets/fashion-mnist"


def last_round(dtsim, rule, seed, sets, extra=()):
    out = tempfile.mkdtemp(prefix="dtsim_scaffold_")
    cmd = [dtsim, "run", SCENARIO, "--out", out, "--quiet", "--force",
           "--set", f"policies.aggregation.name={rule}", "--set", f"seed={seed}"]
    for s in list(sets) + list(extra):
        cmd += ["--set", s]
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    with open(os.path.join(out, "rounds.csv"), newline="") as f:
        return list(csv.DictReader(f))[-1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dtsim", default=os.path.join(ROOT, "build", "dtsim"))
    ap.add_argument("--seeds", default="1-5")
    ap.add_argument("--set", action="append", default=[], dest="sets")
    a = ap.parse_args()
    lo, _, hi = a.seeds.partition("-")
    seeds = range(int(lo), int(hi or lo) + 1)
    train_as_test = tempfile.mkdtemp(prefix="dtsim_fmnist_train_")
    for kind in ("images-idx3", "labels-idx1"):
        for prefix in ("train", "t10k"):
            os.symlink(os.path.join(FMNIST, f"train-{kind}-ubyte.gz"),
                       os.path.join(train_as_test, f"{prefix}-{kind}-ubyte.gz"))
    on_train = [f"workload.dataset.path={train_as_test}", "training.eval_every=0"]
    print(f"{'seed':>4}  {'local loss S / F':>17}  {'global loss S / F':>17}  {'test acc. S / F':>15}")
    wins = {"local": 0, "global": 0, "test": 0}
    for seed in seeds:
        row = {}
        for rule in ("scaffold", "fedavg"):
            r = last_round(a.dtsim, rule, seed, a.sets)
            g = last_round(a.dtsim, rule, seed, a.sets, on_train)
            row[rule] = (float(r["train_loss"]), float(g["test_loss"]), float(r["test_accuracy"]))
        s, f = row["scaffold"], row["fedavg"]
        wins["local"] += s[0] < f[0]
        wins["global"] += s[1] < f[1]
        wins["test"] += s[2] > f[2]
        print(f"{seed:>4}  {s[0]:.4f} / {f[0]:.4f}  {s[1]:.4f} / {f[1]:.4f}  {100*s[2]:6.2f} / {100*f[2]:5.2f}")
    n = len(seeds)
    print(f"SCAFFOLD better on: local loss {wins['local']}/{n}, global loss {wins['global']}/{n}, "
          f"test accuracy {wins['test']}/{n} seeds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
