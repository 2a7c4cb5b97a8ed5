// Orchestration of one run: prepare (scenario → components → memory → backend → workload, every error
// collected), then execute (SimGrid → platform → observers → learner → paradigm → outputs).
#include "sim/engine/run_one.hpp"

#include <chrono>
#include <filesystem>
#include <optional>

#include "sim/engine/components.hpp"
#include "sim/engine/learning/real_learner.hpp"
#include "sim/engine/observers/csv_observer.hpp"
#include "sim/engine/provenance.hpp"
#include "sim/engine/session.hpp"
#include "sim/report/csv_writer.hpp"

namespace fs = std::filesystem;

namespace dtsim::engine {

struct PreparedRun {
  Scenario scenario;
  Components components;
  std::optional<models::Workload> workload;
  std::unique_ptr<kernels::Backend> backend;  // null for timing-only runs
  std::string backend_name;
};

void PreparedRunDeleter::operator()(PreparedRun* p) const { delete p; }

const char* to_string(RunStatus s) {
  switch (s) {
    case RunStatus::ok:
      return "ok";
    case RunStatus::failed:
      return "failed";
    case RunStatus::diverged:
      return "diverged";
    case RunStatus::interrupted:
      return "interrupted";
  }
  return "?";
}

namespace {

void load(PreparedRun& run, const models::DataNeeds& needs) {
  try {
    run.workload.emplace(load_workload(run.scenario, run.components, needs));
  } catch (const models::DataError& e) {
    run.workload.reset();
    const std::string key = !e.key_path().empty()                           ? e.key_path()
                            : run.scenario.workload.dataset.name == "synthetic" ? "workload.dataset"
                                                                            : "workload.dataset.path";
    report_at(*run.scenario.context, Severity::error, key, e.what());
  }
}

}  // namespace

PreparedRunPtr prepare_run(const std::string& scenario_path, const RunOptions& options, Purpose purpose) {
  PreparedRunPtr run(new PreparedRun);
  auto& s = run->scenario;
  s = read_scenario(scenario_path, options.overrides);
  if (options.no_train) s.training.compute = ComputeMode::none;
  s.context->strict = options.strict;
  run->components = build_components(s);

  const auto& c = run->components;
  bool memory_fits = false;  // known to fit: only then is anything loaded
  if (c.dataset && c.model && c.platform && c.paradigm) {
    try {
      memory_fits = check_memory(estimate_memory(s, c), options.mem_limit_bytes, *s.context);
    } catch (const models::DataError& e) {  // the dataset's headers cannot be read: load() would fail alike
      report_at(*s.context, Severity::error, e.key_path().empty() ? "workload.dataset.path" : e.key_path(), e.what());
    }
  }
  try {  // checked even for timing-only runs: --backend cuda without CUDA is always an error
    auto backend = kernels::make_backend(options.backend, options.threads);
    run->backend_name = backend->name();
    if (s.training.compute == ComputeMode::real) run->backend = std::move(backend);
  } catch (const std::runtime_error& e) {
    s.context->errors.add({{"<command line>", 0, 0}, "", std::string("--backend: ") + e.what(), {}});
  }
  // Labels and sample counts only: every check the data allow, without pixels or features — also when
  // other keys are wrong, so that every error is reported at once (components whose own keys are wrong
  // were not built). Only once the memory estimate says the run fits.
  if (memory_fits && c.partitioner) {
    load(*run, {false, false});
    if (run->workload) warn_about_data(s, *run->workload);  // components.hpp
  }
  finish_validation(s);
  if (purpose == Purpose::run) {
    load(*run, {s.training.compute == ComputeMode::real, true});
    s.context->errors.throw_if_any();
  }
  return run;
}

std::vector<Diagnostic> warnings(const PreparedRun& run) { return run.scenario.context->errors.warnings(); }

RunSummary execute_run(PreparedRun& run, const RunOptions& options) {
  const auto wall_start = std::chrono::steady_clock::now();
  const auto& s = run.scenario;
  RunSummary summary;
  summary.run_id = s.name;
  const fs::path dir = options.out_dir.empty() ? fs::path("results") / s.name : fs::path(options.out_dir);
  summary.out_dir = dir.string();
  install_stop_handlers();  // from here on a signal means "stop after this round", never a torn file
  fs::create_directories(dir);

  std::optional<CsvObserver> csv;
  ObserverFanout observers;
  ParadigmOutcome outcome;
  try {
    csv.emplace(dir, RunIdentity{s.name, s.file, s.seed, run.backend_name}, s.output);
    observers.add(*csv);
    start_simgrid(options.simgrid_args);
    configure_network_model(s.platform.network_model);
    const auto platform = run.components.platform->build(s.platform, s.seed);
    const auto& workload = *run.workload;
    observers.on_run_start({s.name, platform->participant_count(), [&](ClientId id) {
                              const ClientHostSpec spec = platform->spec_of(id);
                              return PlatformRecord{id,
                                                    platform->host_class_of(id),
                                                    spec.speed_flops_per_s,
                                                    spec.bandwidth_bytes_per_s,
                                                    spec.latency_s,
                                                    workload.samples_of(id)};
                            }});
    auto& c = run.components;
    const auto learner = run.backend ? make_real_learner({*run.backend, workload, *c.aggregation, s.seed, options.chunk})
                                     : make_no_learner();
    RunContext context{s, *platform, workload, {*c.aggregation, *c.scheduling}, *learner, observers, stop_flag()};
    outcome = c.paradigm->run(context);
    summary.status = outcome.diverged      ? RunStatus::diverged
                     : outcome.interrupted ? RunStatus::interrupted
                                           : RunStatus::ok;
    if (outcome.diverged) summary.message = "the training loss or the model became NaN or infinite";
    if (outcome.interrupted) summary.message = "interrupted by a signal; the files hold the finished rounds";
  } catch (const std::exception& e) {
    summary.status = RunStatus::failed;
    summary.message = e.what();
  }
  summary.rounds_completed = outcome.rounds_completed;
  summary.final_sim_time_s = outcome.final_sim_time_s;
  if (outcome.final_test_accuracy) summary.final_test_accuracy = *outcome.final_test_accuracy;
  summary.wall_time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();

  // Commit whatever the finished rounds produced, then the run's row and the resolved scenario.
  if (csv)
    observers.on_run_end({to_string(summary.status), summary.message, summary.rounds_completed,
                          summary.final_sim_time_s, outcome.final_test_accuracy, summary.wall_time_s});
  report::write_file_atomic((dir / "run.yaml").string(),
                            resolved_yaml(s, provenance(run.backend_name, run.workload->data().checksums)));
  return summary;
}

}  // namespace dtsim::engine
