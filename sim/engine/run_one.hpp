// One run of one scenario, in two phases so that nothing is written unless everything is valid:
//   prepare_run  — load and validate the scenario, build its components from the registries (dataset,
//                  partitioner, model, platform builder, paradigm, policies), estimate the memory,
//                  pick the backend, load the workload; throws ConfigError (exit 2) with every error,
//                  located and in file order;
//   execute_run  — start SimGrid, build the platform, play the paradigm, write the outputs.
// One SimGrid engine per process (shared/reference/SIMGRID.md §6): call execute_run at most once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/backend.hpp"
#include "sim/engine/output_dir.hpp"
#include "sim/scenario/config_error.hpp"
#include "sim/scenario/scenario.hpp"

namespace dtsim::models {
class Workload;
}
namespace dtsim::policies {
class AggregationPolicy;
}

namespace dtsim::engine {

struct RunOptions {
  std::vector<Override> overrides;
  std::string out_dir;  // empty = results/<scenario name>
  OutputMode output_mode = OutputMode::fresh;  // --force, --resume
  bool quiet = false;                          // no progress lines
  kernels::BackendKind backend = kernels::BackendKind::cpu;
  int threads = 0;                        // backend threads; 0 = the CPUs this process may use
  std::int64_t chunk = 0;                 // clients per batched training call; 0 = the backend's preference
  bool no_train = false;                  // force training.compute = none
  bool strict = false;                    // warnings are errors
  double mem_limit_bytes = 0;             // 0 = the memory this process may use
  std::vector<std::string> simgrid_args;  // extra --cfg=/--log= arguments for SimGrid
};

// validate: read no pixels and generate no features (labels and sample counts only), create nothing;
// run: also check the output folder (options.out_dir, options.output_mode), then load what the run needs;
// calibrate (dtsim calibrate): no output folder; load what real training needs, and require it
// (training.compute = none is an error).
enum class Purpose { validate, run, calibrate };

struct PreparedRun;  // opaque: scenario, components, policies, workload, backend
struct PreparedRunDeleter {
  void operator()(PreparedRun* p) const;
};
using PreparedRunPtr = std::unique_ptr<PreparedRun, PreparedRunDeleter>;

PreparedRunPtr prepare_run(const std::string& scenario_path, const RunOptions& options, Purpose purpose);
// The warnings found while preparing (suspicious but valid settings), located and in file order.
std::vector<Diagnostic> warnings(const PreparedRun& run);

// The resolved scenario, every default filled in and paths absolute, as run.yaml holds it but without
// provenance: what dtsim sweep writes as a point's scenario (DIR/<point>/run.yaml).
std::string resolved_scenario_yaml(const PreparedRun& run);
// The run's memory estimate in bytes (what --mem-limit is checked against); 0 when it could not be made.
double estimated_memory_bytes(const PreparedRun& run);

// What dtsim calibrate trains with (sim/engine/calibrate.hpp), from a run prepared for
// Purpose::calibrate; references into `run`, which must outlive them.
struct TrainingParts {
  kernels::Backend& backend;
  const models::Workload& workload;                // loaded with features
  const policies::AggregationPolicy& aggregation;  // its local objective shapes the training and its cost
  std::uint64_t seed = 1;
};
TrainingParts training_parts(PreparedRun& run);

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
  std::string message;  // why it failed, diverged or was interrupted
  std::int64_t final_test_round = 0;  // the round final_test_accuracy was measured at (0: never)
};

RunSummary execute_run(PreparedRun& run, const RunOptions& options);

}  // namespace dtsim::engine
