// `dtsim sweep --emit slurm`: an sbatch job-array script, one array task per point, each running
// `dtsim run <point>/run.yaml --out <point> --resume` in the sweep's folder (so a requeued or preempted
// task continues from its checkpoint). The sweep's folder and the dtsim binary must be reachable at the
// same paths on the compute nodes (a shared file system). `dtsim collect DIR` then merges the points.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "sim/sweep/record.hpp"

namespace dtsim::sweep {

struct SlurmOptions {
  int cpus = 1;            // --cpus-per-task, and each point's --threads
  double memory_bytes = 0;  // --mem (MiB, rounded up)
  std::string time;        // --time (Slurm's syntax, "1:00:00"); empty: the partition's default
  std::string partition;   // --partition; empty: the default
  std::string constraint;  // --constraint (a node feature, e.g. a CPU class); empty: none
};

// The script's text. `dtsim` is the binary (absolute), `run_options` the options every point's
// `dtsim run` gets after --resume (--threads is the task's CPUs).
std::string sbatch_script(const std::filesystem::path& dir, const SweepRecord& sweep, const SlurmOptions& options,
                          const std::string& dtsim, const std::vector<std::string>& run_options);

// One word for bash: single-quoted unless it is plainly safe.
std::string shell_quote(const std::string& word);

}  // namespace dtsim::sweep
