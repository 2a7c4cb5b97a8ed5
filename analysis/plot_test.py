#!/usr/bin/env python3
"""analysis/plot.py on hand-made run and sweep folders (dtsim's exact columns, empty cells, every client
status): each figure is written as a real, non-blank PNG into DIR/plots and nowhere else; bad input exits 2
with one `plot: error:` line and no traceback; the pure functions against hand-computed values."""
import csv
import hashlib
import os
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # importing plot must leave no __pycache__ in the checkout
HERE = os.path.dirname(os.path.abspath(__file__))
PLOT = os.path.join(HERE, "plot.py")
sys.path.insert(0, HERE)
import plot  # noqa: E402

ROUNDS = ["run_id", "round", "sim_time_s", "round_duration_s", "selected", "completed", "dropped", "bytes_down",
          "bytes_up", "train_loss", "test_loss", "test_accuracy", "energy_j", "aggregated", "train_accuracy",
          "global_train_loss", "global_train_accuracy"]
CLIENTS = ["run_id", "round", "client", "status", "start_s", "download_end_s", "compute_end_s", "upload_end_s",
           "local_steps", "flops", "bytes_down", "bytes_up", "energy_j", "samples", "train_loss"]
PLATFORM = ["run_id", "client", "host_class", "speed_flops_per_s", "bandwidth_bytes_per_s", "latency_s", "samples",
            "host", "route_links", "route_latency_s", "route_bandwidth_bytes_per_s"]
RUNS = ["schema_version", "run_id", "scenario", "seed", "backend", "status", "rounds_completed", "final_sim_time_s",
        "final_test_accuracy", "wall_time_s", "message", "final_test_round"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_csv(path, header, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def rounds_rows(run_id, n=8, rate=0.08, round_s=2.0):
    """n rounds of round_s seconds, evaluated every other round (test columns empty between)."""
    rows = []
    for r in range(1, n + 1):
        ev = r % 2 == 0
        acc = min(0.95, 0.1 + rate * r)
        rows.append([run_id, r, r * round_s, round_s, 6, 4, 2, 600_000, 400_000, 1.5 / r, 2.0 / r if ev else "",
                     acc if ev else "", "", 1, 0.5, "", ""])
    return rows


def clients_rows(run_id):
    """Rounds 1-3 of 6 clients each (round r spans 2(r-1)..2r s), with every status and every stop point."""
    rows = []
    for r in (1, 2, 3):
        t0 = 2.0 * (r - 1)
        done = [run_id, r, None, "completed", t0, t0 + 0.4, t0 + 1.2, t0 + 1.6, 5, 1000, 100, 100, "", 50, 0.7]
        for c in (0, 1, 2):
            rows.append(done[:2] + [c + r] + done[3:])
        rows.append([run_id, r, 10, "late", t0, t0 + 0.5, "", "", 2, 400, 100, 0, "", "", ""])
        rows.append([run_id, r, 11, "dropped", t0, t0 + 0.6, t0 + 1.5, "", 5, 1000, 100, 50, "", "", ""])
        rows.append([run_id, r, 12, "crashed" if r != 2 else "unavailable", t0, "", "", "", 0, 0, 30, 0, "", "",
                     ""])
    return rows


def platform_rows(run_id):
    rows = []
    for c in range(14):
        phone = c % 3 != 0
        rows.append([run_id, c, "phone" if phone else "laptop", (3e8 if phone else 5e9) * (1 + c / 7),
                     (1.25e6 if phone else 1.25e7) * (1 + c / 10), 0.02 + 0.005 * c, 50 + c, f"client-{c}", 1,
                     0.02 + 0.005 * c, 1.25e6])
    return rows


def make_run(folder, run_id="fixture_run"):
    write_csv(os.path.join(folder, "rounds.csv"), ROUNDS, rounds_rows(run_id))
    write_csv(os.path.join(folder, "clients.csv"), CLIENTS, clients_rows(run_id))
    write_csv(os.path.join(folder, "platform.csv"), PLATFORM, platform_rows(run_id))
    write_csv(os.path.join(folder, "runs.csv"), RUNS,
              [[1, run_id, "s.yaml", 1, "cpu", "ok", 8, 16.0, 0.74, 1.0, "", 8]])


def make_sweep(folder):
    """2 aggregation rules x 2 seeds, and a fifth point still pending (no folder)."""
    values = [("{name: fedavg}", "fedavg"), ("{name: fedprox, mu: 0.01}", "fedprox_0.01")]
    runs = []
    for i, ((value, short), seed) in enumerate((v, s) for v in values for s in (1, 2)):
        run_id = f"grid#{i:04d}"
        point = os.path.join(folder, f"{i:04d}-{short}-s{seed}")
        write_csv(os.path.join(point, "rounds.csv"), ROUNDS,
                  rounds_rows(run_id, rate=0.05 + 0.03 * (short != "fedavg") + 0.01 * seed, round_s=1.5 + seed))
        if i == 0:
            write_csv(os.path.join(point, "clients.csv"), CLIENTS, clients_rows(run_id))
            write_csv(os.path.join(point, "platform.csv"), PLATFORM, platform_rows(run_id))
        runs.append([1, run_id, "s.yaml", seed, "cpu", "ok", 8, 16.0, 0.7, 1.0, "", 8, value])
    runs.append([1, "grid#0004", "s.yaml", 3, "cpu", "pending", 0, 0, "", 0, "", "", "{name: fedavg}"])
    write_csv(os.path.join(folder, "runs.csv"), RUNS + ["param.policies.aggregation"], runs)
    with open(os.path.join(folder, "sweep.yaml"), "w") as f:
        f.write("grid: {policies.aggregation: [{name: fedavg}, {name: fedprox, mu: 0.01}]}\nseeds: 1-2\n")


def run_plot(folder, mpl_dir):
    env = dict(os.environ, MPLCONFIGDIR=mpl_dir)
    return subprocess.run([sys.executable, PLOT, folder], capture_output=True, text=True, env=env, timeout=300)


def snapshot(root, skip=None):
    """Every file under root (except under skip) with its content hash."""
    files = {}
    for base, dirs, names in os.walk(root):
        if skip and os.path.abspath(base).startswith(os.path.abspath(skip)):
            continue
        for n in names:
            p = os.path.join(base, n)
            with open(p, "rb") as f:
                files[os.path.relpath(p, root)] = hashlib.sha256(f.read()).hexdigest()
    return files


class Figures(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.mpl = os.path.join(self.tmp.name, "mpl")
        self.checkout_before = snapshot(HERE)

    def tearDown(self):
        self.assertEqual(snapshot(HERE), self.checkout_before, "plot.py wrote into analysis/")
        self.tmp.cleanup()

    def assert_png(self, path):
        import matplotlib.image
        import numpy as np

        self.assertTrue(os.path.exists(path), f"{path} not written")
        with open(path, "rb") as f:
            self.assertEqual(f.read(8), PNG_MAGIC, f"{path} is not a PNG")
        image = matplotlib.image.imread(path)
        self.assertGreater(image.shape[0], 200, path)
        self.assertGreater(image.shape[1], 300, path)
        colours = np.unique(image.reshape(-1, image.shape[-1]), axis=0)
        self.assertGreater(len(colours), 20, f"{path} is nearly blank ({len(colours)} colours)")

    def run_ok(self, folder):
        got = run_plot(folder, self.mpl)
        self.assertEqual(got.returncode, 0, got.stderr)
        self.assertNotIn("Traceback", got.stderr)
        return got

    def test_run_folder_gives_every_figure_in_plots_only(self):
        folder = os.path.join(self.tmp.name, "run")
        make_run(folder)
        before = snapshot(folder)
        got = self.run_ok(folder)
        names = ["accuracy.png", "accuracy_vs_bytes.png", "timeline.png", "fleet.png"]
        for name in names:
            self.assert_png(os.path.join(folder, "plots", name))
            self.assertIn(f"wrote {os.path.join(folder, 'plots', name)}", got.stdout)
        self.assertEqual(sorted(os.listdir(os.path.join(folder, "plots"))), sorted(names))
        self.assertEqual(snapshot(folder, skip=os.path.join(folder, "plots")), before)
        self.assertEqual(sorted(os.listdir(self.tmp.name)), ["mpl", "run"])

    def test_sweep_folder_gives_one_figure_per_key_and_the_first_point(self):
        folder = os.path.join(self.tmp.name, "sweep")
        make_sweep(folder)
        before = snapshot(folder)
        self.run_ok(folder)
        self.assert_png(os.path.join(folder, "plots", "sweep_policies.aggregation.png"))
        for name in ("accuracy.png", "accuracy_vs_bytes.png", "timeline.png", "fleet.png"):
            self.assert_png(os.path.join(folder, "plots", "0000-fedavg-s1", name))
        self.assertEqual(snapshot(folder, skip=os.path.join(folder, "plots")), before)

    def test_missing_clients_csv_skips_the_timeline_with_a_note(self):
        folder = os.path.join(self.tmp.name, "run")
        make_run(folder)
        os.remove(os.path.join(folder, "clients.csv"))
        got = self.run_ok(folder)
        self.assertIn("skipped timeline.png", got.stdout)
        self.assertFalse(os.path.exists(os.path.join(folder, "plots", "timeline.png")))
        self.assert_png(os.path.join(folder, "plots", "accuracy.png"))

    def assert_bad_input(self, folder, *expected):
        got = run_plot(folder, self.mpl)
        self.assertEqual(got.returncode, 2, got.stderr)
        self.assertNotIn("Traceback", got.stderr)
        lines = got.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, got.stderr)
        self.assertTrue(lines[0].startswith("plot: error: "), got.stderr)
        for text in expected:
            self.assertIn(text, lines[0])

    def test_bad_input_exits_2_with_one_readable_line(self):
        missing = os.path.join(self.tmp.name, "nowhere")
        self.assert_bad_input(missing, missing, "no such folder")
        empty = os.path.join(self.tmp.name, "empty")
        os.makedirs(empty)
        self.assert_bad_input(empty, "not a dtsim run folder")
        self.assertFalse(os.path.exists(os.path.join(empty, "plots")))

    def test_a_rounds_csv_without_a_column_is_bad_input(self):
        folder = os.path.join(self.tmp.name, "run")
        make_run(folder)
        keep = [c for c in ROUNDS if c != "test_accuracy"]
        rows = [[v for c, v in zip(ROUNDS, row) if c != "test_accuracy"] for row in rounds_rows("x")]
        write_csv(os.path.join(folder, "rounds.csv"), keep, rows)
        self.assert_bad_input(folder, "rounds.csv", "test_accuracy")

    def test_unreadable_csvs_are_bad_input(self):
        folder = os.path.join(self.tmp.name, "run")
        make_run(folder)
        rows = rounds_rows("x")
        rows[3][2] = "soon"
        write_csv(os.path.join(folder, "rounds.csv"), ROUNDS, rows)
        self.assert_bad_input(folder, "rounds.csv:5", "sim_time_s", "soon")
        make_run(folder)
        with open(os.path.join(folder, "clients.csv"), "wb") as f:
            f.write(b"\xff\xfe\x00garbage\n\x00\x81")
        self.assert_bad_input(folder, "clients.csv")
        open(os.path.join(folder, "platform.csv"), "w").close()
        make_run(folder)
        open(os.path.join(folder, "platform.csv"), "w").close()
        self.assert_bad_input(folder, "platform.csv", "empty file")


class Shaping(unittest.TestCase):
    def test_evaluated_counts_the_bytes_of_rounds_between_evaluations(self):
        import pandas as pd

        rounds = pd.DataFrame({"round": [2, 1, 3], "bytes_down": [10, 5, 100], "bytes_up": [1, 2, 1000],
                               "test_accuracy": [0.5, float("nan"), 0.25], "sim_time_s": [2.0, 1.0, 3.0]})
        ev = plot.evaluated(rounds)
        self.assertEqual(list(ev["round"]), [2, 3])
        self.assertEqual(list(ev["cumulative_bytes"]), [18, 1118])
        self.assertEqual(list(ev["accuracy_pct"]), [50.0, 25.0])

    def test_band_interpolates_on_the_common_range_only(self):
        import numpy as np

        a = (np.array([0.0, 2.0, 4.0]), np.array([0.0, 20.0, 40.0]))
        b = (np.array([1.0, 3.0]), np.array([30.0, 10.0]))
        x, mean, low, high = plot.band([a, b])
        self.assertEqual(list(x), [1.0, 2.0, 3.0])  # a's 0 and 4 lie outside b's range
        self.assertEqual(list(low), [10.0, 20.0, 10.0])  # a at 1 is 10; b at 2 is 20
        self.assertEqual(list(high), [30.0, 20.0, 30.0])
        self.assertEqual(list(mean), [20.0, 20.0, 20.0])
        x, *_ = plot.band([a, (np.array([5.0, 6.0]), np.array([1.0, 2.0]))])
        self.assertEqual(len(x), 0)

    def test_timeline_segments_per_status(self):
        import pandas as pd

        nan = float("nan")
        clients = pd.DataFrame({
            "round": [1, 1, 1, 1, 1], "client": [0, 1, 2, 3, 4],
            "status": ["completed", "late", "dropped", "crashed", "unavailable"],
            "start_s": [0.0] * 5, "download_end_s": [1.0, 1.0, 1.5, nan, 0.5],
            "compute_end_s": [2.0, nan, 3.0, nan, nan], "upload_end_s": [3.0, nan, nan, nan, nan]})
        bars, stops = plot.timeline_segments(clients, {1: 5.0})
        self.assertEqual(sorted(b for b in bars if b[0] == 0), [
            (0, "compute", 1.0, 2.0, False), (0, "download", 0.0, 1.0, False), (0, "idle", 3.0, 5.0, False),
            (0, "upload", 2.0, 3.0, False)])
        self.assertIn((1, "compute", 1.0, 5.0, True), bars)  # late: computing when the round closed at 5 s
        self.assertIn((2, "upload", 3.0, 5.0, True), bars)
        self.assertEqual([b for b in bars if b[0] in (3, 4)], [(4, "download", 0.0, 0.5, False)])
        self.assertEqual(stops, [(1, "late", 5.0), (2, "dropped", 5.0), (3, "crashed", 0.0),
                                 (4, "unavailable", 0.5)])

    def test_timeline_subset_keeps_whole_rounds_within_the_row_cap(self):
        import pandas as pd

        rows = [(r, c) for r in (1, 2, 3) for c in range(30 * (r - 1), 30 * (r - 1) + 30)]
        rows += [(2, 0), (2, 1)]  # in round 2 too, but round 2 would still exceed 40 clients
        clients = pd.DataFrame(rows, columns=["round", "client"])
        self.assertEqual(plot.timeline_subset(clients), ([1], list(range(30))))
        small = pd.DataFrame([(r, c) for r in range(1, 15) for c in (r % 5, 7)], columns=["round", "client"])
        self.assertEqual(plot.timeline_subset(small), (list(range(1, 11)), [0, 1, 2, 3, 4, 7]))
        huge = pd.DataFrame([(1, c) for c in range(100, 0, -1)], columns=["round", "client"])
        self.assertEqual(plot.timeline_subset(huge), ([1], list(range(1, 41))))

    def test_spread_bins_go_logarithmic_beyond_a_factor_ten(self):
        import pandas as pd

        bins, log = plot.spread_bins(pd.Series([1.0, 50.0]))
        self.assertTrue(log)
        self.assertAlmostEqual(bins[0], 1.0)
        self.assertAlmostEqual(bins[-1], 50.0)
        self.assertFalse(plot.spread_bins(pd.Series([1.0, 5.0]))[1])
        bins, log = plot.spread_bins(pd.Series([2.0, 2.0]))
        self.assertEqual((list(bins), log), ([1.9, 2.1], False))

    def test_byte_unit_and_safe_name(self):
        self.assertEqual(plot.byte_unit(5e8), (1e6, "MB"))
        self.assertEqual(plot.byte_unit(5e9), (1e9, "GB"))
        self.assertEqual(plot.safe_name("policies.aggregation"), "policies.aggregation")
        self.assertEqual(plot.safe_name("a/b c"), "a_b_c")


if __name__ == "__main__":
    unittest.main()
