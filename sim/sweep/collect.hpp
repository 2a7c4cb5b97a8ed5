// DIR/runs.csv of a sweep: one row per point in point order, whoever ran the points (dtsim sweep here,
// a Slurm array anywhere), built from the points' own folders only — so that a sweep killed at any moment
// and resumed, or collected by `dtsim collect`, writes the same file (wall-clock columns aside).
//
// A point's row is its own runs.csv row, with the sweep's param.<key> columns. A point that has not
// written one is `pending` (never started: no log), `running` (its lock is held), or `failed` (it started,
// see its log, and ended before writing runs.csv). A row that still says `running` while nobody holds
// the point's lock was killed (SIGKILL, the OOM killer, a time limit) and reads `interrupted`, with the
// rounds, simulated time and last accuracy its rounds.csv holds.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "sim/sweep/record.hpp"

namespace dtsim::sweep {

struct PointState {
  std::string status;  // pending | running | ok | failed | diverged | interrupted
  bool done() const { return status == "ok" || status == "diverged"; }
};

struct Collected {
  std::vector<PointState> points;    // in point order
  std::int64_t ok = 0, failed = 0;   // failed: failed, diverged or interrupted
  std::int64_t running = 0, pending = 0;
  std::vector<std::string> warnings;  // points that ran on different CPU classes
};

// Reads every point and writes DIR/runs.csv atomically. Throws std::runtime_error on I/O errors.
Collected collect(const std::filesystem::path& dir, const SweepRecord& sweep);

}  // namespace dtsim::sweep
