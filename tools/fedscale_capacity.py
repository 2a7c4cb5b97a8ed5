#!/usr/bin/env python3
"""Converts FedScale's device-capacity trace (client_device_capacity) into dtsim's platform.clients.trace CSV
("client,speed_flops_per_s,bandwidth_bytes_per_s": one row per client).

    python3 tools/fedscale_capacity.py client_device_capacity OUT.csv --flops-per-sample F [--clients N]
    python3 tools/fedscale_capacity.py --write-example EXAMPLE.pkl   # a small trace in FedScale's format

FedScale's format (shared/reference/POLICIES.md §5.1): a pickle mapping client id -> {'computation': ms,
'communication': kbps}, where 'computation' is a device's inference latency per sample (AI Benchmark) and
'communication' its bandwidth (MobiPerf). FedScale times a round's training as 3 · B · steps ·
computation / 1000 s (a backward pass about twice the forward), so a sample trains in 3 · computation ms.
dtsim times it as the model's training flops per sample / speed, hence

    speed_flops_per_s     = F / (3 · computation / 1000),   F = --flops-per-sample (the model's, forward and
                                                             backward: clients.csv flops / (epochs · samples))
    bandwidth_bytes_per_s = communication · 1000 / 8.

Clients are taken in ascending id order (the first --clients of them) and renumbered 0, 1, ...; in dtsim,
client i takes row i mod M.
"""
import argparse
import csv
import pickle
import random
import sys


def rows(trace, flops_per_sample, clients=None):
    ids = sorted(trace)
    if clients is not None:
        ids = ids[:clients]
    for new_id, old_id in enumerate(ids):
        entry = trace[old_id]
        ms, kbps = float(entry["computation"]), float(entry["communication"])
        if ms <= 0 or kbps <= 0:
            raise ValueError(f"client {old_id}: computation and communication must be > 0")
        yield new_id, flops_per_sample / (3 * ms / 1000), kbps * 1000 / 8


def example(seed=1, clients=24):
    """A small trace in FedScale's format: lognormal per-sample latencies and bandwidths (not measured)."""
    rng = random.Random(seed)
    return {2000 + c: {"computation": round(rng.lognormvariate(0.0, 0.6), 3),
                       "communication": round(rng.lognormvariate(9.5, 0.8), 1)} for c in range(clients)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trace", nargs="?", help="FedScale's client_device_capacity (a pickle)")
    parser.add_argument("out", nargs="?", help="the CSV to write")
    parser.add_argument("--flops-per-sample", type=float, help="the model's training flops per sample")
    parser.add_argument("--clients", type=int, help="keep the first N clients")
    parser.add_argument("--write-example", metavar="PKL", help="write a small example trace in FedScale's format")
    args = parser.parse_args()
    if args.write_example:
        with open(args.write_example, "wb") as f:
            pickle.dump(example(), f)
        return 0
    if not args.trace or not args.out or not args.flops_per_sample or args.flops_per_sample <= 0:
        parser.error("TRACE, OUT and --flops-per-sample (> 0) are needed")
    with open(args.trace, "rb") as f:
        trace = pickle.load(f)
    with open(args.out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["client", "speed_flops_per_s", "bandwidth_bytes_per_s"])
        n = 0
        for row in rows(trace, args.flops_per_sample, args.clients):
            w.writerow([row[0], repr(row[1]), repr(row[2])])
            n += 1
    print(f"{n} clients -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
