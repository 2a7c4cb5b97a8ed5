#!/usr/bin/env python3
"""The backend of `dtsim plot DIR`: PNG figures of a dtsim run folder or sweep folder, into DIR/plots/.

    /usr/bin/python3 analysis/plot.py DIR

A run folder (rounds.csv; clients.csv and platform.csv when present) gives
  accuracy.png            test accuracy (%) vs simulated time (s) and vs round: time-to-accuracy
  accuracy_vs_bytes.png   test accuracy (%) vs cumulative bytes transferred, down + up (MB or GB)
  timeline.png            a Gantt chart of the first rounds' clients: download, compute, upload, idle, stops
  fleet.png               the clients as drawn: speed, bandwidth and latency histograms, by host class
A sweep folder (sweep.yaml, a combined runs.csv with param.<key> columns, one NNNN-<values>/ run folder
per point) gives sweep_<key>.png per swept key (one line per value, a band across the runs that share it)
and the run plots of its first point that has rounds, in plots/<that point's folder>/.

Reads only the CSVs (column meanings and units: docs/scenario.md, "Outputs"). An empty cell means not
measured. Exit codes: 0 done (a figure without data is skipped with a note), 2 bad input (one
`plot: error: ...` line naming the file), 1 pandas or matplotlib missing.
"""
import argparse
import os
import re
import sys

PLOTS = "plots"
DPI = 120

ROUNDS_COLUMNS = ["run_id", "round", "sim_time_s", "round_duration_s", "bytes_down", "bytes_up", "test_accuracy"]
CLIENTS_COLUMNS = ["round", "client", "status", "start_s", "download_end_s", "compute_end_s", "upload_end_s"]
PLATFORM_COLUMNS = ["client", "host_class", "speed_flops_per_s", "bandwidth_bytes_per_s", "latency_s"]
NUMERIC = {"round", "sim_time_s", "round_duration_s", "bytes_down", "bytes_up", "test_accuracy", "client",
           "start_s", "download_end_s", "compute_end_s", "upload_end_s", "speed_flops_per_s",
           "bandwidth_bytes_per_s", "latency_s", "seed"}

# The timeline keeps the picture legible for a 1,000-client run: whole rounds from the first, while the
# distinct clients they hold fit in MAX_CLIENTS rows (always at least the first round, cut to its first
# MAX_CLIENTS client ids).
MAX_ROUNDS = 10
MAX_CLIENTS = 40

STAGES = ("download", "compute", "upload")
STAGE_END = {"download": "download_end_s", "compute": "compute_end_s", "upload": "upload_end_s"}
COLOURS = {"download": "#1f77b4", "compute": "#ff7f0e", "upload": "#2ca02c", "idle": "#d9d9d9"}
# A stopped client's marker, by status: (marker, colour, legend text). Late and dropped clients are stopped
# when the round closes (deadline or K-th arrival); crashed and unavailable ones at a point clients.csv does
# not record, so their marker sits at the last stage end it does record.
STOPS = {
    "late": ("X", "#d62728", "late: stopped at the round's end (deadline)"),
    "dropped": ("o", "#9467bd", "dropped: stopped at the round's end (K arrived)"),
    "crashed": ("*", "black", "crashed: after its last recorded stage end"),
    "unavailable": ("v", "#8c564b", "unavailable: went offline after its last recorded stage end"),
}
OTHER_STOP = ("D", "grey", "{}: after its last recorded stage end")


class InputError(Exception):
    """Bad input: main prints `plot: error: <message>` and exits 2."""


# ---------------------------------------------------------------------------------------------- reading


def read_table(path, required):
    """One CSV as a DataFrame: empty cells are NaN, the `required` columns must exist, the NUMERIC ones among
    them must parse as numbers. Raises InputError naming the file."""
    import pandas as pd

    name = os.path.basename(path)
    try:
        table = pd.read_csv(path, keep_default_na=False, na_values=[""], dtype=str)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: empty file (no header line)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as e:
        raise InputError(f"{path}: not a readable CSV file ({str(e).strip().splitlines()[0]})") from None
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise InputError(f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                         f"(is it a dtsim {name}?)")
    for column in table.columns:
        if column not in NUMERIC:
            continue
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna() & table[column].notna()
        if bad.any():
            line = int(bad.to_numpy().nonzero()[0][0]) + 2  # the header is line 1
            raise InputError(f"{path}:{line}: column {column}: not a number: {table[column][bad].iloc[0]!r}")
        table[column] = values
    return table


def read_optional(folder, name, required):
    """read_table of folder/name, or None when the file is absent."""
    path = os.path.join(folder, name)
    return read_table(path, required) if os.path.exists(path) else None


# ---------------------------------------------------------------------------------------------- data shaping


def evaluated(rounds):
    """The evaluated rounds (test_accuracy measured), with accuracy_pct (%) and cumulative_bytes: every byte
    transferred down and up up to and including that round (also the rounds between evaluations)."""
    rounds = rounds.sort_values("round").copy()
    rounds["cumulative_bytes"] = (rounds["bytes_down"].fillna(0) + rounds["bytes_up"].fillna(0)).cumsum()
    rounds = rounds[rounds["test_accuracy"].notna()].copy()
    rounds["accuracy_pct"] = 100.0 * rounds["test_accuracy"]
    return rounds


def byte_unit(max_bytes):
    """(divisor, label) of decimal megabytes or gigabytes, whichever keeps the axis numbers readable."""
    return (1e9, "GB") if max_bytes >= 1e9 else (1e6, "MB")


def band(curves):
    """Mean, min and max of several curves y(x), each given as (x, y) arrays sorted by x, on the union of
    their x values inside the range every curve covers (linear interpolation between points, never beyond a
    curve's ends). Returns (x, mean, low, high) arrays, empty when the curves share no range."""
    import numpy as np

    lo = max(float(x[0]) for x, _ in curves)
    hi = min(float(x[-1]) for x, _ in curves)
    if lo > hi:
        return (np.array([]),) * 4
    grid = np.unique(np.concatenate([x for x, _ in curves]))
    grid = grid[(grid >= lo) & (grid <= hi)]
    ys = np.array([np.interp(grid, x, y) for x, y in curves])
    return grid, ys.mean(axis=0), ys.min(axis=0), ys.max(axis=0)


def timeline_subset(clients):
    """The rounds and client ids the timeline shows: whole rounds from the first (at most MAX_ROUNDS) while
    their distinct clients number at most MAX_CLIENTS; the first round alone is cut to its lowest ids."""
    rounds = sorted(clients["round"].unique())
    shown_rounds, shown_clients = [], set()
    for r in rounds[:MAX_ROUNDS]:
        ids = set(clients.loc[clients["round"] == r, "client"])
        if shown_rounds and len(shown_clients | ids) > MAX_CLIENTS:
            break
        shown_rounds.append(r)
        shown_clients |= ids
    return shown_rounds, sorted(shown_clients)[:MAX_CLIENTS]


def timeline_segments(clients, round_end_s):
    """A selected client's round as bars and a stop marker, from clients.csv rows (times in simulated s).

    round_end_s maps a round to when it closed (rounds.csv sim_time_s). Returns (bars, stops): bars are
    (client, kind, start_s, end_s, cut) with kind a stage or "idle" (a finished client waiting for the round
    to close) and cut true for the stage a late or dropped client was in when the round stopped it; stops are
    (client, status, t_s) for every client that did not complete."""
    bars, stops = [], []
    for row in clients.itertuples(index=False):
        end_of_round = round_end_s.get(row.round)
        t = row.start_s
        in_progress = None
        for stage in STAGES:
            end = getattr(row, STAGE_END[stage])
            if end != end:  # NaN: the stage never ended
                in_progress = stage
                break
            bars.append((row.client, stage, t, end, False))
            t = end
        if row.status == "completed":
            if end_of_round is not None and end_of_round > t:
                bars.append((row.client, "idle", t, end_of_round, False))
            continue
        if row.status in ("late", "dropped") and end_of_round is not None and in_progress is not None:
            bars.append((row.client, in_progress, t, max(t, end_of_round), True))
            t = max(t, end_of_round)
        stops.append((row.client, row.status, t))
    return bars, stops


def spread_bins(values):
    """Histogram bins for positive values and whether the axis should be logarithmic (when the largest is
    more than ten times the smallest); a single value gets one narrow bin around it. 2·sqrt(n) bins, 8 to 30:
    a 14-client fleet gets a readable shape, a 1,000-client one no comb."""
    import numpy as np

    count = int(min(30, max(8, 2 * len(values) ** 0.5)))

    lo, hi = float(values.min()), float(values.max())
    if lo == hi:
        half = abs(lo) * 0.05 or 0.5
        return np.array([lo - half, lo + half]), False
    if lo > 0 and hi / lo > 10:
        return np.geomspace(lo, hi, count + 1), True
    return np.linspace(lo, hi, count + 1), False


def sweep_points(folder, runs):
    """The combined runs.csv rows that have a run folder with a rounds.csv, each with its `folder`. A row's
    folder is the one named NNNN-<values> for the NNNN after the `#` of its run_id; pending points are
    skipped quietly, any other row without rounds with a note."""
    numbered = {}
    for entry in sorted(os.listdir(folder)):
        match = re.match(r"(\d{4,})(-|$)", entry)  # dtsim's point folders: NNNN or NNNN-<short values>
        if match and os.path.isdir(os.path.join(folder, entry)):
            numbered.setdefault(int(match.group(1)), entry)
    points = []
    for row in runs.to_dict("records"):
        if row.get("status") == "pending":
            continue
        run_id = str(row["run_id"])
        index = run_id.rsplit("#", 1)[1] if "#" in run_id else ""
        entry = numbered.get(int(index)) if index.isdigit() else None
        if entry is None or not os.path.exists(os.path.join(folder, entry, "rounds.csv")):
            print(f"note: {run_id}: no run folder with a rounds.csv; left out")
            continue
        row["folder"] = os.path.join(folder, entry)
        points.append(row)
    return points


def safe_name(key):
    """A swept key as a file-name part: letters, digits, '.', '_' and '-' kept, the rest '_'."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", key)


# ---------------------------------------------------------------------------------------------- figures


def save(fig, path):
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    print(f"wrote {path}")


def plot_accuracy(rounds, title, path):
    """accuracy.png: test accuracy (%) against simulated time (s) and against round."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    ev = evaluated(rounds)
    fig, (by_time, by_round) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    by_time.plot(ev["sim_time_s"], ev["accuracy_pct"], marker=".", color="#1f77b4")
    by_round.plot(ev["round"], ev["accuracy_pct"], marker=".", color="#1f77b4")
    by_time.set_xlabel("simulated time (s)")
    by_round.set_xlabel("round (server aggregations)")
    by_round.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    by_time.set_ylabel("test accuracy (%)")
    for ax in (by_time, by_round):  # from the start: time-to-accuracy reads against zero
        ax.set_xlim(left=0)
        ax.grid(alpha=0.3)
    best = ev.loc[ev["accuracy_pct"].idxmax()]
    fig.suptitle(f"{title}: test accuracy over time — best {best['accuracy_pct']:.1f} % at round "
                 f"{int(best['round'])} ({best['sim_time_s']:.4g} s)")
    save(fig, path)


def plot_accuracy_vs_bytes(rounds, title, path):
    """accuracy_vs_bytes.png: test accuracy (%) against every byte transferred so far (wasted ones included)."""
    import matplotlib.pyplot as plt

    ev = evaluated(rounds)
    divisor, unit = byte_unit(float(ev["cumulative_bytes"].max()))
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(ev["cumulative_bytes"] / divisor, ev["accuracy_pct"], marker=".", color="#1f77b4")
    ax.set_xlabel(f"cumulative bytes transferred, download + upload ({unit} = {divisor:.0e} bytes)")
    ax.set_xlim(left=0)
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.set_title(f"{title}: test accuracy vs communication")
    save(fig, path)


def plot_timeline(clients, rounds, title, path):
    """timeline.png: one row per client, simulated time on x; each selected client's stages per round."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    shown_rounds, shown_clients = timeline_subset(clients)
    subset = clients[clients["round"].isin(shown_rounds) & clients["client"].isin(shown_clients)]
    round_end_s = dict(zip(rounds["round"], rounds["sim_time_s"]))
    round_start_s = dict(zip(rounds["round"], rounds["sim_time_s"] - rounds["round_duration_s"]))
    bars, stops = timeline_segments(subset, round_end_s)
    row_of = {c: i for i, c in enumerate(shown_clients)}

    fig, ax = plt.subplots(figsize=(12, 1.9 + 0.24 * len(shown_clients)))
    for kind in COLOURS:  # one barh call per look, not per bar
        for cut in (False, True):
            group = [b for b in bars if b[1] == kind and b[4] == cut]
            if group:
                ax.barh([row_of[b[0]] for b in group], [b[3] - b[2] for b in group], left=[b[2] for b in group],
                        height=0.7, color=COLOURS[kind], alpha=0.45 if cut else 1.0, hatch="////" if cut else None,
                        edgecolor="#555555" if cut else "none", linewidth=0.4)
    for status in sorted({s for _, s, _ in stops}):
        marker, colour, _ = STOPS.get(status, OTHER_STOP)
        points = [(t, row_of[c]) for c, s, t in stops if s == status]
        ax.scatter([p[0] for p in points], [p[1] for p in points], marker=marker, color=colour, s=45, zorder=3)
    for r in shown_rounds:  # round boundaries, labelled on top
        if r in round_end_s:
            ax.axvline(round_end_s[r], color="grey", linestyle="--", linewidth=0.8)
            ax.text((round_start_s[r] + round_end_s[r]) / 2, 1.0, f"round {int(r)}", transform=ax.get_xaxis_transform(),
                    ha="center", va="bottom", fontsize=8, color="dimgrey")
    ax.set_yticks(range(len(shown_clients)))
    ax.set_yticklabels([str(int(c)) for c in shown_clients], fontsize=7 if len(shown_clients) > 20 else 9)
    ax.set_ylim(len(shown_clients) - 0.4, -0.6)
    ax.use_sticky_edges = False  # bars pin x = 0 to the frame otherwise, hiding a stop marker there
    ax.margins(x=0.02)
    ax.set_ylabel("client id")
    ax.set_xlabel("simulated time (s)")
    ax.grid(axis="x", alpha=0.3)

    handles = [Patch(color=COLOURS[k], label=k) for k in STAGES]
    handles.append(Patch(color=COLOURS["idle"], label="idle: done, waiting for the round to close"))
    if any(b[4] for b in bars):
        handles.append(Patch(facecolor="white", edgecolor="#555555", hatch="////", label="stage cut off when stopped"))
    for status in sorted({s for _, s, _ in stops}):
        marker, colour, text = STOPS.get(status, OTHER_STOP)
        handles.append(Line2D([], [], linestyle="none", marker=marker, color=colour, markersize=8,
                              label=text.format(status)))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)

    all_rounds, all_clients = clients["round"].nunique(), clients["client"].nunique()
    span = f"round {int(shown_rounds[0])}" if len(shown_rounds) == 1 else \
        f"rounds {int(shown_rounds[0])}–{int(shown_rounds[-1])}"
    ax.set_title(f"{title}: client timeline — {span} of {all_rounds} in clients.csv, {len(shown_clients)} of "
                 f"{all_clients} clients\n(whole rounds from the first while ≤ {MAX_CLIENTS} clients, "
                 f"at most {MAX_ROUNDS} rounds)", pad=16)
    save(fig, path)


def plot_fleet(platform, title, path):
    """fleet.png: histograms of the drawn speeds (Gflop/s), bandwidths (Mbit/s) and latencies (ms), stacked
    by host class when there are several."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    panels = [("speed_flops_per_s", 1e-9, "compute speed (Gflop/s, as drawn, before efficiency)"),
              ("bandwidth_bytes_per_s", 8e-6, "link bandwidth, each direction (Mbit/s)"),
              ("latency_s", 1e3, "link latency (ms)")]
    classes = platform["host_class"].fillna("")
    names = sorted(set(classes))
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax, (column, scale, label) in zip(axes, panels):
        values = platform[column] * scale
        bins, log = spread_bins(values)
        groups = [values[classes == n] for n in names]
        labels = [f"{n or 'no class'} ({len(g)})" for n, g in zip(names, groups)]
        ax.hist(groups, bins=bins, stacked=True, label=labels if len(names) > 1 else None)
        if log:  # plain numbers (0.1, 1, 10), not powers of ten
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel(label + (", log scale" if log else ""))
        ax.set_ylabel("clients")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
        ax.grid(alpha=0.3)
    if len(names) > 1:
        axes[0].legend(title="host class (clients)", fontsize=8)
    fig.suptitle(f"{title}: the fleet as drawn — {len(platform)} clients")
    fig.tight_layout()
    save(fig, path)


def plot_sweep_key(points, curves, key, title, path):
    """sweep_<key>.png: test accuracy (%) vs simulated time (s) and vs round, one colour per value of `key`;
    faint lines are the single runs, the bold line their mean and the band their min–max, where they all
    have data (linear between evaluations)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    column = "param." + key if key else None

    def value_of(point):  # the cell text, as dtsim writes it (flow YAML)
        return ("" if point[column] != point[column] else str(point[column])) if column else "all runs"

    values = []
    for p in points:  # first-appearance order: the order of the grid
        if value_of(p) not in values:
            values.append(value_of(p))
    cmap = plt.get_cmap("tab10" if len(values) <= 10 else "viridis")
    fig, (by_time, by_round) = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True)
    for i, value in enumerate(values):
        colour = cmap(i if len(values) <= 10 else i / max(1, len(values) - 1))
        members = [p for p in points if value_of(p) == value]
        runs = [curves[p["run_id"]] for p in members if len(curves[p["run_id"]])]
        if not runs:
            continue
        for ax, x_column in ((by_time, "sim_time_s"), (by_round, "round")):
            series = [(ev[x_column].to_numpy(float), ev["accuracy_pct"].to_numpy(float)) for ev in runs]
            for x, y in series:
                ax.plot(x, y, color=colour, alpha=0.25, linewidth=0.8)
            x, mean, low, high = band(series) if len(series) > 1 else (series[0][0], series[0][1], None, None)
            label = f"{value} ({len(series)} run{'s' if len(series) > 1 else ''})"
            if len(x):
                ax.plot(x, mean, color=colour, linewidth=2, label=label)
            if low is not None and len(x):
                ax.fill_between(x, low, high, color=colour, alpha=0.2, linewidth=0)
    by_time.set_xlabel("simulated time (s)")
    by_round.set_xlabel("round (server aggregations)")
    by_round.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    by_time.set_ylabel("test accuracy (%)")
    for ax in (by_time, by_round):
        ax.grid(alpha=0.3)
    by_round.legend(title=key or "runs", fontsize=8, title_fontsize=8, loc="lower right")
    other = "the other keys and seeds" if sum(str(c).startswith("param.") for c in points[0]) > 1 else "seeds"
    fig.suptitle(f"{title}: test accuracy by {key or 'seed'}\n"
                 f"line: mean over {other}; band: min–max; faint: each run", fontsize=11)
    save(fig, path)


# ---------------------------------------------------------------------------------------------- folders


def run_title(folder, rounds, runs):
    run_id = str(rounds["run_id"].iloc[0]) if len(rounds) else os.path.basename(os.path.normpath(folder))
    if runs is not None and len(runs) and "status" in runs.columns and runs["status"].iloc[0] != "ok":
        run_id += f" ({runs['status'].iloc[0]})"
    return run_id


def plot_run(folder, out):
    """Every run figure of one run folder into out/."""
    rounds = read_table(os.path.join(folder, "rounds.csv"), ROUNDS_COLUMNS)
    runs = read_optional(folder, "runs.csv", ["run_id", "status"])
    clients = read_optional(folder, "clients.csv", CLIENTS_COLUMNS)
    platform = read_optional(folder, "platform.csv", PLATFORM_COLUMNS)
    title = run_title(folder, rounds, runs)
    os.makedirs(out, exist_ok=True)
    if rounds["test_accuracy"].notna().any():
        plot_accuracy(rounds, title, os.path.join(out, "accuracy.png"))
        plot_accuracy_vs_bytes(rounds, title, os.path.join(out, "accuracy_vs_bytes.png"))
    else:
        print(f"note: {folder}/rounds.csv has no test_accuracy yet; skipped accuracy.png and "
              "accuracy_vs_bytes.png")
    if clients is None or clients.empty:
        print(f"note: {folder}/clients.csv is {'absent' if clients is None else 'empty'}; skipped timeline.png")
    else:
        plot_timeline(clients, rounds, title, os.path.join(out, "timeline.png"))
    if platform is None or platform.empty:
        print(f"note: {folder}/platform.csv is {'absent' if platform is None else 'empty'}; skipped fleet.png")
    else:
        plot_fleet(platform, title, os.path.join(out, "fleet.png"))


def plot_sweep(folder, runs, out):
    """sweep_<key>.png per swept key, and the run figures of the first point with rounds."""
    points = sweep_points(folder, runs)
    if not points:
        print(f"note: {folder}: no sweep point has rounds yet; nothing to plot")
        return
    curves = {p["run_id"]: evaluated(read_table(os.path.join(p["folder"], "rounds.csv"), ROUNDS_COLUMNS))
              for p in points}
    name = str(points[0]["run_id"]).rsplit("#", 1)[0]
    title = f"sweep {name} ({len(points)} of {len(runs)} points run)"
    keys = [c[len("param."):] for c in runs.columns if c.startswith("param.")] or [""]  # "": seeds only
    os.makedirs(out, exist_ok=True)
    if any(len(c) for c in curves.values()):
        for key in keys:
            file = f"sweep_{safe_name(key)}.png" if key else "sweep.png"
            plot_sweep_key(points, curves, key, title, os.path.join(out, file))
    else:
        print(f"note: {folder}: no sweep point has a test_accuracy yet; skipped the sweep figures")
    first = points[0]["folder"]
    plot_run(first, os.path.join(out, os.path.basename(first)))


def is_sweep(folder):
    """A sweep folder, and its combined runs.csv: sweep.yaml beside a runs.csv with param. columns or sweep
    run ids (<name>#NNNN)."""
    runs_csv = os.path.join(folder, "runs.csv")
    if not (os.path.exists(os.path.join(folder, "sweep.yaml")) and os.path.exists(runs_csv)):
        return False, None
    runs = read_table(runs_csv, ["run_id", "status"])
    swept = any(c.startswith("param.") for c in runs.columns) or runs["run_id"].astype(str).str.contains("#").any()
    return swept, runs


def main(argv=None):
    parser = argparse.ArgumentParser(prog="plot", description="PNG figures of a dtsim run or sweep folder, "
                                     "written into DIR/plots/.")
    parser.add_argument("dir", metavar="DIR", help="a dtsim run folder (rounds.csv) or sweep folder (sweep.yaml)")
    args = parser.parse_args(argv)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import pandas  # noqa: F401  (checked here, used in the functions)
    except ImportError as e:
        print(f"plot: error: {e.name} is missing (apt-get install python3-pandas python3-matplotlib)",
              file=sys.stderr)
        return 1
    folder = args.dir
    try:
        if not os.path.isdir(folder):
            raise InputError(f"{folder}: {'not a folder' if os.path.exists(folder) else 'no such folder'}")
        out = os.path.join(folder, PLOTS)
        sweep, runs = is_sweep(folder)
        if sweep:
            plot_sweep(folder, runs, out)
        elif os.path.exists(os.path.join(folder, "rounds.csv")):
            plot_run(folder, out)
        else:
            raise InputError(f"{folder}: not a dtsim run folder (no rounds.csv) or sweep folder (no sweep.yaml "
                             "with a combined runs.csv)")
    except InputError as e:
        print(f"plot: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # e.g. DIR/plots cannot be created
        print(f"plot: error: {e.filename or folder}: {e.strerror}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
