#!/usr/bin/env python3
"""tools/fedscale_capacity.py against FedScale's completion-time formula, on a hand-made trace: a client's
training time in dtsim (flops / speed) equals FedScale's 3 · B · steps · computation / 1000, and its
transfer time (bytes / bandwidth) FedScale's size / communication."""
import csv
import os
import pickle
import subprocess
import sys
import tempfile
import unittest

TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fedscale_capacity.py")


class Convert(unittest.TestCase):
    def test_times_agree_with_fedscale(self):
        trace = {9: {"computation": 12.5, "communication": 4000.0}, 4: {"computation": 40.0, "communication": 800.0}}
        flops_per_sample = 2.4e6
        with tempfile.TemporaryDirectory() as d:
            src, out = os.path.join(d, "c.pkl"), os.path.join(d, "c.csv")
            with open(src, "wb") as f:
                pickle.dump(trace, f)
            subprocess.run([sys.executable, TOOL, src, out, "--flops-per-sample", str(flops_per_sample)],
                           check=True, capture_output=True)
            with open(out) as f:
                got = list(csv.DictReader(f))
        self.assertEqual([r["client"] for r in got], ["0", "1"])  # ascending ids, renumbered
        batch, steps, model_kbit = 20, 7, 1600.0
        for row, old in zip(got, (4, 9)):
            speed, bandwidth = float(row["speed_flops_per_s"]), float(row["bandwidth_bytes_per_s"])
            dtsim_compute = batch * steps * flops_per_sample / speed
            fedscale_compute = 3 * batch * steps * trace[old]["computation"] / 1000
            self.assertAlmostEqual(dtsim_compute, fedscale_compute, places=9)
            dtsim_transfer = model_kbit * 1000 / 8 / bandwidth
            fedscale_transfer = model_kbit / trace[old]["communication"]
            self.assertAlmostEqual(dtsim_transfer, fedscale_transfer, places=9)

    def test_example_is_in_fedscale_format(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "e.pkl")
            subprocess.run([sys.executable, TOOL, "--write-example", path], check=True)
            with open(path, "rb") as f:
                trace = pickle.load(f)
        self.assertEqual(len(trace), 24)
        for entry in trace.values():
            self.assertEqual(set(entry), {"computation", "communication"})
            self.assertGreater(entry["computation"], 0)
            self.assertGreater(entry["communication"], 0)


if __name__ == "__main__":
    unittest.main()
