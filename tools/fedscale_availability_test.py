#!/usr/bin/env python3
"""tools/fedscale_availability.py against FedScale's is_active semantics, on a hand-made trace."""
import csv
import os
import pickle
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "fedscale_availability.py")


def fedscale_is_active(entry, t):
    """FedScale's ClientMetadata.is_active: active[j] <= (t mod finish_time) <= inactive[j]."""
    x = t % entry["finish_time"]
    return any(a <= x <= b for a, b in zip(entry["active"], entry["inactive"]))


class Convert(unittest.TestCase):
    def test_unrolls_the_period_and_agrees_with_is_active(self):
        trace = {
            7: {"duration": 100, "active": [10, 60], "inactive": [30, 90], "finish_time": 100, "model": "m"},
            3: {"duration": 50, "active": [0], "inactive": [20], "finish_time": 50, "model": "m"},
        }
        with tempfile.TemporaryDirectory() as d:
            src, out = os.path.join(d, "t.pkl"), os.path.join(d, "t.csv")
            with open(src, "wb") as f:
                pickle.dump(trace, f)
            subprocess.run([sys.executable, TOOL, src, out, "--horizon", "250"], check=True, capture_output=True)
            with open(out) as f:
                rows = list(csv.reader(f))
        self.assertEqual(rows[0], ["client", "start_s", "end_s"])
        spans = {}
        for c, a, b in rows[1:]:
            spans.setdefault(int(c), []).append((float(a), float(b)))
        # Ascending ids, renumbered: FedScale's 3 is client 0, its 7 client 1.
        self.assertEqual(spans[0], [(0, 20), (50, 70), (100, 120), (150, 170), (200, 220)])
        self.assertEqual(spans[1], [(10, 30), (60, 90), (110, 130), (160, 190), (210, 230)])
        for new, old in ((0, 3), (1, 7)):
            for t10 in range(0, 2500):
                t = t10 / 10
                online = any(a <= t < b for a, b in spans[new])
                # Half-open ends: FedScale's end instant itself counts as offline here.
                boundary = any(t == b for _, b in spans[new])
                if not boundary:
                    self.assertEqual(online, fedscale_is_active(trace[old], t), (new, t))

    def test_example_is_in_fedscale_format(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "e.pkl")
            subprocess.run([sys.executable, TOOL, "--write-example", path], check=True)
            with open(path, "rb") as f:
                trace = pickle.load(f)
        self.assertEqual(len(trace), 24)
        for entry in trace.values():
            self.assertEqual(set(entry), {"duration", "active", "inactive", "finish_time", "model"})
            self.assertEqual(len(entry["active"]), len(entry["inactive"]))
            self.assertTrue(all(a < b <= entry["finish_time"] for a, b in zip(entry["active"], entry["inactive"])))


if __name__ == "__main__":
    unittest.main()
