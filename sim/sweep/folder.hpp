// The sweep's folder (DIR): checked before anything is written, never overwritten silently, and locked
// while a sweep uses it (DIR/.lock, engine::RunLock), so that two sweeps never run the same points at once.
//
//   fresh  (default)  DIR must not hold a sweep (sweep.yaml, runs.csv or a point's folder);
//   force  (--force)  an earlier sweep's files are removed — sweep.yaml, runs.csv, sweep.sbatch, slurm-*.out,
//                     plots/ and, in each point's folder, dtsim's files and the log — and the folder is
//                     refused when a point's folder holds anything else or a point's run is alive;
//   resume (--resume) the sweep in DIR continues (its sweep.yaml must describe the same points); an absent
//                     or empty DIR starts afresh.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "sim/sweep/record.hpp"

namespace dtsim::sweep {

enum class SweepMode { fresh, force, resume };

// The problems that refuse `dir` for `mode` (each a sentence), and, for resume, the earlier record (its
// points must equal `now`'s). `now` names the planned point folders.
std::vector<std::string> check_sweep_dir(const std::filesystem::path& dir, SweepMode mode, const SweepRecord& now);

// --force: removes the earlier sweep's files (check_sweep_dir found nothing in the way).
void clear_sweep_dir(const std::filesystem::path& dir);

}  // namespace dtsim::sweep
