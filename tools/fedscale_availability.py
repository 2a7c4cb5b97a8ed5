#!/usr/bin/env python3
"""Converts FedScale's availability trace (client_behave_trace, the FLASH dataset) into dtsim's
dynamics.availability.trace CSV ("client,start_s,end_s": online intervals).

    python3 tools/fedscale_availability.py client_behave_trace OUT.csv --horizon 86400 [--clients N]
    python3 tools/fedscale_availability.py --write-example EXAMPLE.pkl   # a small trace in FedScale's format

FedScale's format (shared/reference/POLICIES.md §5.2): a pickle mapping client id -> {'duration': int,
'inactive': [int], 'finish_time': int, 'active': [int], 'model': str}; a client is online at t iff
active[j] <= (t mod finish_time) <= inactive[j] for one of its intervals j. The conversion unrolls that
period up to --horizon seconds: for k = 0, 1, ... while k * finish_time < horizon, every interval j gives
[k * finish_time + active[j], k * finish_time + inactive[j]), clipped to the horizon (dtsim's intervals
are half-open: FedScale's instant inactive[j] itself is offline). Clients are taken in ascending id order
(the first --clients of them) and renumbered 0, 1, ...: in dtsim, client i follows trace client i mod M.
"""
import argparse
import csv
import pickle
import random
import sys


def intervals(entry, horizon):
    period = entry["finish_time"]
    if period <= 0:
        raise ValueError("finish_time must be > 0")
    pairs = list(zip(entry["active"], entry["inactive"]))
    if len(entry["active"]) != len(entry["inactive"]):
        raise ValueError("active and inactive differ in length")
    k = 0
    while k * period < horizon:
        for start, end in pairs:
            a, b = k * period + start, min(k * period + end, horizon)
            if b > a:
                yield a, b
        k += 1


def convert(trace, out, horizon, clients=None):
    ids = sorted(trace)
    if clients is not None:
        ids = ids[:clients]
    rows = 0
    with open(out, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["client", "start_s", "end_s"])
        for new_id, old_id in enumerate(ids):
            for a, b in intervals(trace[old_id], horizon):
                w.writerow([new_id, a, b])
                rows += 1
    return len(ids), rows


def example(seed=1, clients=24):
    """A small trace in FedScale's format: each client online a few times per 10-20 minute period."""
    rng = random.Random(seed)
    trace = {}
    for c in range(clients):
        period = rng.choice([600, 900, 1200])
        active, inactive, t = [], [], rng.randrange(0, 120)
        while t < period - 60:
            length = rng.randrange(60, 300)
            active.append(t)
            inactive.append(min(t + length, period))
            t = inactive[-1] + rng.randrange(60, 400)
        trace[1000 + c] = {"duration": period, "active": active, "inactive": inactive, "finish_time": period,
                           "model": "example"}
    return trace


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trace", nargs="?", help="FedScale's client_behave_trace (a pickle)")
    parser.add_argument("out", nargs="?", help="the CSV to write")
    parser.add_argument("--horizon", type=float, default=86400, help="seconds to unroll (default 1 day)")
    parser.add_argument("--clients", type=int, help="keep the first N clients")
    parser.add_argument("--write-example", metavar="PKL", help="write a small example trace in FedScale's format")
    args = parser.parse_args()
    if args.write_example:
        with open(args.write_example, "wb") as f:
            pickle.dump(example(), f)
        return 0
    if not args.trace or not args.out:
        parser.error("TRACE and OUT are needed")
    with open(args.trace, "rb") as f:
        trace = pickle.load(f)
    clients, rows = convert(trace, args.out, args.horizon, args.clients)
    print(f"{clients} clients, {rows} intervals -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
