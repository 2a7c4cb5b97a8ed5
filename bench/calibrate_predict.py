#!/usr/bin/env python3
"""How well does a `dtsim calibrate` host class predict other work? Calibrates on one workload (by default
20 local steps of client 0 at the scenario's batch size), then predicts the compute time of another
(200 steps at batch 50) as its modelled flops / (speed x efficiency) — what the simulator would compute
for a client of that class — and compares it with a fresh measurement of that workload through the same
path (`dtsim calibrate --steps 200 --set workload.local.batch_size=50`, whose timed line gives the
modelled flops and the median wall time). Target: within 10 %.

    python3 bench/calibrate_predict.py [--dtsim build/dtsim] [--scenario scenarios/quickstart.yaml]
        [--steps 20] [--batch B] [--predict-steps 200] [--predict-batch 50] [--client 0] [--repeat 5]
        [--trials 5]

Each measurement is the median of --repeat timed repetitions after a warm-up (dtsim calibrate's own);
--trials repeats the whole comparison, and the median relative error is reported. Not part of ctest: a
benchmark, not a timed unit test.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNITS = {"f": 1, "kf": 1e3, "Mf": 1e6, "Gf": 1e9, "Tf": 1e12, "Pf": 1e15}


def calibrate(args, steps, batch):
    cmd = [args.dtsim, "calibrate", args.scenario, "--steps", str(steps), "--repeat", str(args.repeat),
           "--client", str(args.client)]
    if batch is not None:
        cmd += ["--set", f"workload.local.batch_size={batch}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    out = proc.stdout
    timed = re.search(r"# timed: (\d+) samples, (\S+) modelled flops, median (\S+) s", out)
    cls = re.search(r"speed: ([0-9.e+-]+)([a-zA-Z]+), efficiency: ([0-9.e+-]+)\}", out)
    if not timed or not cls:
        sys.exit(f"unexpected output of {' '.join(cmd)}:\n{out}")
    return {
        "command": " ".join(cmd),
        "samples": int(timed.group(1)),
        "flops": float(timed.group(2)),
        "seconds": float(timed.group(3)),
        "speed": float(cls.group(1)) * UNITS[cls.group(2)],
        "efficiency": float(cls.group(3)),
        "text": out,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dtsim", default=os.path.join(ROOT, "build", "dtsim"))
    p.add_argument("--scenario", default=os.path.join(ROOT, "scenarios", "quickstart.yaml"))
    p.add_argument("--steps", type=int, default=20, help="local steps the class is calibrated on")
    p.add_argument("--batch", type=int, default=None, help="their batch size (default: the scenario's)")
    p.add_argument("--predict-steps", type=int, default=200)
    p.add_argument("--predict-batch", type=int, default=50)
    p.add_argument("--client", type=int, default=0)
    p.add_argument("--repeat", type=int, default=5, help="timed repetitions per measurement (medians)")
    p.add_argument("--trials", type=int, default=5, help="whole comparisons; the median error is reported")
    args = p.parse_args()

    errors = []
    for trial in range(1, args.trials + 1):
        base = calibrate(args, args.steps, args.batch)
        other = calibrate(args, args.predict_steps, args.predict_batch)
        rate = base["speed"] * base["efficiency"]  # flops/s the simulator gives a client of this class
        predicted_s = other["flops"] / rate
        error = predicted_s / other["seconds"] - 1
        errors.append(error)
        if trial == 1:
            print(base["text"], end="")
            print(f"calibrated with: {base['command']}")
            print(f"predicted:       {other['command']}")
            print(f"{'trial':>5} {'calib Gflop/s':>13} {'other Gflop':>11} {'predicted s':>11} {'measured s':>10} "
                  f"{'error':>8}")
        print(f"{trial:>5} {rate * 1e-9:>13.3f} {other['flops'] * 1e-9:>11.3f} {predicted_s:>11.4f} "
              f"{other['seconds']:>10.4f} {100 * error:>7.1f}%")
    med = statistics.median(errors)
    print(f"median relative error of the prediction: {100 * med:+.1f} % (target: within 10 %) "
          f"{'ok' if abs(med) <= 0.10 else 'MISSED'}")


if __name__ == "__main__":
    main()
