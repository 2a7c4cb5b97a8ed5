// DIR/sweep.yaml: what a sweep is — its scenario, its points and their folders — written before the first
// point starts, so that `dtsim sweep --resume`, `dtsim collect` and a Slurm array agree on it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace dtsim::sweep {

struct RecordedPoint {
  std::int64_t index = 0;
  std::string folder;  // relative to the sweep's folder
  std::int64_t seed = 0;
  std::vector<std::pair<std::string, std::string>> params;  // swept key, runs.csv cell (flow YAML)
};

struct SweepRecord {
  std::string name;                     // the scenario's name: a point's run_id is <name>#<index:04>
  std::string scenario;                 // the scenario file, absolute
  std::vector<std::string> arguments;   // dtsim sweep's command line, for the reader
  std::vector<std::string> param_keys;  // the swept keys, in order (runs.csv's param.<key> columns)
  std::string backend;                  // --backend, for the rows of points that have not run
  std::vector<RecordedPoint> points;    // in point order
};

std::string run_id_of(const SweepRecord& sweep, const RecordedPoint& point);

// Written atomically (a temporary file renamed over it). Throws std::runtime_error on I/O errors.
void write_record(const std::filesystem::path& dir, const SweepRecord& sweep);
// Throws std::runtime_error naming the file when it is missing or not a sweep record.
SweepRecord read_record(const std::filesystem::path& dir);

// Whether two records describe the same points (folders, seeds, swept values); "" when they do, else
// which point differs first and how.
std::string difference(const SweepRecord& earlier, const SweepRecord& now);

}  // namespace dtsim::sweep
