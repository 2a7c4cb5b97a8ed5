// One run of one scenario, in two phases so that nothing is written unless everything is valid:
//   prepare_run  — load and validate the scenario, build the policies, load the data, estimate the
//                  memory, pick the backend; throws ConfigError (exit 2) on any problem;
//   execute_run  — build the SimGrid platform, play the paradigm, write the CSV files atomically.
// One SimGrid engine per process (shared/reference/SIMGRID.md §6): call execute_run at most once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/backend.hpp"
#include "sim/scenario/scenario.hpp"

namespace dtsim::engine {

struct RunOptions {
  std::vector<Override> overrides;
  std::string out_dir;  // empty = results/<scenario name>
  kernels::BackendKind backend = kernels::BackendKind::cpu;
  int threads = 0;                        // backend threads; 0 = all cores
  std::int64_t chunk = 0;                 // clients per batched training call; 0 = the backend's preference
  bool no_train = false;                  // force training.compute = none
  double mem_limit_bytes = 0;             // 0 = the machine's available memory
  std::vector<std::string> simgrid_args;  // extra --cfg=/--log= arguments for SimGrid
};

struct PreparedRun;  // opaque: scenario, data, policies, backend
struct PreparedRunDeleter {
  void operator()(PreparedRun* p) const;
};
using PreparedRunPtr = std::unique_ptr<PreparedRun, PreparedRunDeleter>;

PreparedRunPtr prepare_run(const std::string& scenario_path, const RunOptions& options);

enum class RunStatus { ok, failed, diverged, interrupted };
const char* to_string(RunStatus s);

struct RunSummary {
  RunStatus status = RunStatus::ok;
  std::string out_dir;
  std::string run_id;
  std::int64_t rounds_completed = 0;
  double final_sim_time_s = 0;
  double final_test_accuracy = -1;  // < 0 when never evaluated
  double wall_time_s = 0;
  std::string message;  // why it failed, when it did
};

// Set by the SIGINT/SIGTERM handler that execute_run installs once its SimGrid engine exists; the
// paradigm stops between rounds and the files of the finished rounds are committed with
// status=interrupted.
std::atomic<bool>& stop_flag();

RunSummary execute_run(PreparedRun& run, const RunOptions& options);

// Modelled peak memory of a run (bytes), for --mem-limit.
double estimate_memory_bytes(const Scenario& scenario);

}  // namespace dtsim::engine
