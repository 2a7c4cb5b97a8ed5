// Orchestration of one run: prepare (scenario → components → memory → backend → workload, every error
// collected), then execute (SimGrid → platform → observers → learner → paradigm → outputs).
#include "sim/engine/run_one.hpp"

#include <simgrid/s4u.hpp>

#include "sim/engine/actors/runners.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <stdexcept>

#include <unistd.h>

#include "sim/engine/components.hpp"
#include "sim/engine/dynamics/dynamics.hpp"
#include "sim/engine/learning/real_learner.hpp"
#include "sim/engine/observers/checkpointer.hpp"
#include "sim/engine/observers/csv_observer.hpp"
#include "sim/engine/observers/progress_observer.hpp"
#include "sim/engine/provenance.hpp"
#include "sim/engine/session.hpp"
#include "sim/engine/simgrid_options.hpp"
#include "sim/report/csv_reader.hpp"
#include "sim/report/csv_writer.hpp"
#include "sim/scenario/yaml_reader.hpp"

namespace fs = std::filesystem;

namespace dtsim::engine {

struct PreparedRun {
  Scenario scenario;
  // Before the components: a rule's state in backend memory is freed before its backend goes.
  std::unique_ptr<kernels::Backend> backend;  // null for timing-only runs
  Components components;
  std::optional<models::Workload> workload;
  std::string backend_name;
  Checksums platform_files;  // the platform's and its dynamics' input files (topology xml, traces)
  std::shared_ptr<const TraceAvailability> availability_trace;  // dynamics.availability.trace, loaded
  OutputPlan output;  // run: the folder, and what a resume continues from
  std::vector<std::string> simgrid_args;  // checked against dtsim's allow-list
  double memory_bytes = 0;                // the estimate checked against --mem-limit
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

// The dynamics' input files, read (and checked, every problem located) before anything runs.
void load_dynamics_inputs(PreparedRun& run) {
  auto& s = run.scenario;
  if (s.dynamics.availability == AvailabilityModel::trace && !s.dynamics.availability_trace.empty()) {
    try {
      run.availability_trace = std::make_shared<TraceAvailability>(load_availability_trace(s.dynamics.availability_trace));
    } catch (const TraceError& e) {
      report_at(*s.context, Severity::error, "dynamics.availability.trace", e.what());
    }
  }
}

// --simgrid arguments and the scenario's `simgrid` list (a run.yaml's), through dtsim's allow-list, before
// SimGrid exists (several of its option callbacks abort the process); the timing-changing ones go into
// the resolved tree, so run.yaml repeats them and --resume compares them.
void check_simgrid(PreparedRun& run, const std::vector<std::string>& command_line) {
  auto& s = run.scenario;
  std::vector<std::string> args;
  const YAML::Node listed = s.context->root["simgrid"];
  if (listed && listed.IsSequence()) {
    for (const auto& item : listed)
      if (item.IsScalar()) args.push_back(item.Scalar());
      else report_at(*s.context, Severity::error, "simgrid", "expected a list of --cfg=KEY:VALUE texts");
  } else if (listed && !listed.IsNull()) {
    report_at(*s.context, Severity::error, "simgrid", "expected a list of --cfg=KEY:VALUE texts");
  }
  args.insert(args.end(), command_line.begin(), command_line.end());
  try {
    const auto checked = check_simgrid_args(args);
    check_simgrid_against_network_model(checked, s.platform.network_model);
    run.simgrid_args = checked.args;
    for (const auto& [key, value] : checked.timing)
      if (key.starts_with("network/") || key.starts_with("surf/") || key.starts_with("maxmin/"))
        s.platform.simgrid_network_options = true;
    if (!checked.timing.empty()) {
      YAML::Node list(YAML::NodeType::Sequence);
      for (const auto& [key, value] : checked.timing) list.push_back("--cfg=" + key + ":" + value);
      s.context->resolved["simgrid"] = list;
    }
  } catch (const ConfigError& e) {
    for (const auto& d : e.diagnostics()) s.context->errors.add(d);
  }
}

}  // namespace

PreparedRunPtr prepare_run(const std::string& scenario_path, const RunOptions& options, Purpose purpose) {
  PreparedRunPtr run(new PreparedRun);
  auto& s = run->scenario;
  s = read_scenario(scenario_path, options.overrides);
  if (options.no_train) {
    s.training.compute = ComputeMode::none;
    if (s.context->resolved["training"].IsMap()) s.context->resolved["training"]["compute"] = "none";  // run.yaml
  }
  s.context->strict = options.strict;
  check_simgrid(*run, options.simgrid_args);
  run->components = build_components(s);
  load_dynamics_inputs(*run);
  if (purpose == Purpose::run) {
    const fs::path dir = options.out_dir.empty() ? fs::path("results") / s.name : fs::path(options.out_dir);
    run->output = check_output_dir(dir, options.output_mode, s.context->resolved, *s.context);
    if (options.output_mode == OutputMode::resume && run->output.checkpoint && run->components.paradigm &&
        !run->components.paradigm->can_resume())
      s.context->errors.add({{kCommandLine, 0, 0}, "--resume", "this paradigm cannot resume from a checkpoint exactly", {}});
  }

  ExecutionShape execution{options.threads, options.chunk, true};
  try {  // checked even for timing-only runs: --backend cuda without CUDA is always an error
    auto backend = kernels::make_backend(options.backend, options.threads);
    run->backend_name = backend->name();
    if (options.backend == kernels::BackendKind::automatic && !options.quiet) {
      std::string why;
      const bool cuda = kernels::cuda_device_available(&why);
      std::fprintf(stderr, "dtsim: --backend auto chose %s%s\n", backend->name().c_str(),
                   cuda ? "" : (" (cuda: " + why + ")").c_str());
    }
    execution = {backend->threads(), options.chunk, backend->item_schedule() == kernels::ItemSchedule::concurrent};
    if (s.training.compute == ComputeMode::real) run->backend = std::move(backend);
  } catch (const std::runtime_error& e) {
    s.context->errors.add({{"<command line>", 0, 0}, "", std::string("--backend: ") + e.what(), {}});
  }
  const auto& c = run->components;
  bool memory_fits = false;  // known to fit: only then is anything loaded
  if (c.dataset && c.model && c.platform && c.paradigm && c.aggregation) {
    try {
      const auto estimate = estimate_memory(s, c, execution);
      run->memory_bytes = estimate.total();
      memory_fits = check_memory(estimate, options.mem_limit_bytes, *s.context);
    } catch (const models::DataError& e) {  // the dataset's headers cannot be read: load() would fail alike
      report_at(*s.context, Severity::error, e.key_path().empty() ? "workload.dataset.path" : e.key_path(), e.what());
    }
  }
  // Labels and sample counts only: every check the data allow, without pixels or features — also when
  // other keys are wrong, so that every error is reported at once (components whose own keys are wrong
  // were not built). Only once the memory estimate says the run fits.
  if (memory_fits && c.partitioner) {
    load(*run, {false, false});
    if (run->workload) warn_about_data(s, *run->workload);  // components.hpp
  }
  // Whatever dtsim writes, it reads back: run.yaml must fit the reader's limits.
  if (const auto back = read_yaml(resolved_yaml(s, provenance(run->backend_name, {}))); back.problem)
    report_at(*s.context, Severity::error, "",
              "the resolved scenario would make a run.yaml this dtsim cannot read back: " + back.problem->message,
              {"shorten the lists in the scenario"});
  if (purpose == Purpose::calibrate && s.training.compute == ComputeMode::none)
    report_at(*s.context, Severity::error, "training.compute",
              "dtsim calibrate times real training, and this scenario trains nothing (compute: none)",
              {"remove the key, or set it to real (--set training.compute=real)"});
  finish_validation(s);
  if (purpose != Purpose::validate && !run->output.finished) {
    load(*run, {s.training.compute == ComputeMode::real, true});
    if (c.platform)
      for (const auto& file : c.platform->input_files(s.platform))
        run->platform_files.emplace_back(file, models::cached_sha256_file(file));
    if (!s.platform.clients.trace.empty())
      run->platform_files.emplace_back(s.platform.clients.trace, models::cached_sha256_file(s.platform.clients.trace));
    if (!s.dynamics.bandwidth_profile.empty())
      run->platform_files.emplace_back(s.dynamics.bandwidth_profile, models::cached_sha256_file(s.dynamics.bandwidth_profile));
    if (run->availability_trace)
      run->platform_files.emplace_back(s.dynamics.availability_trace, models::cached_sha256_file(s.dynamics.availability_trace));
    if (run->workload && s.context->root["provenance"])  // a run.yaml run again: the same inputs?
      check_provenance(s.context->root["provenance"],
                       provenance(run->backend_name, run->workload->data().checksums, run->platform_files), *s.context);
    s.context->errors.throw_if_any(s.context->strict);
  }
  return run;
}

std::vector<Diagnostic> warnings(const PreparedRun& run) { return run.scenario.context->errors.warnings(); }

std::string resolved_scenario_yaml(const PreparedRun& run) {
  YAML::Node tree = YAML::Clone(run.scenario.context->resolved);
  if (tree.IsMap()) tree.remove("provenance");  // a run.yaml swept again: its inputs are checked afresh
  YAML::Emitter emitter;
  emitter << tree;
  return std::string(emitter.c_str()) + "\n";
}

double estimated_memory_bytes(const PreparedRun& run) { return run.memory_bytes; }

TrainingParts training_parts(PreparedRun& run) {
  if (!run.backend || !run.workload || !run.components.aggregation)
    throw std::logic_error("training_parts: the run was not prepared for real training (Purpose::calibrate)");
  return {*run.backend, *run.workload, *run.components.aggregation, run.scenario.seed};
}

namespace {
RunSummary summary_of(const RunEnd& end, const std::string& run_id, const fs::path& dir) {
  RunSummary summary;
  summary.run_id = run_id;
  summary.out_dir = dir.string();
  summary.status = end.status == "diverged"      ? RunStatus::diverged
                   : end.status == "interrupted" ? RunStatus::interrupted
                   : end.status == "failed"      ? RunStatus::failed
                                                 : RunStatus::ok;
  summary.message = end.message;
  summary.rounds_completed = end.rounds_completed;
  summary.final_sim_time_s = end.final_sim_time_s;
  summary.final_test_accuracy = end.final_test_accuracy.value_or(-1);
  summary.final_test_round = end.final_test_round.value_or(0);
  summary.wall_time_s = end.wall_time_s;
  return summary;
}

// The outcome runs.csv records for a run that had finished (resume: nothing to do).
RunSummary finished_summary(const Scenario& s, const fs::path& dir) {
  const auto runs = report::read_csv((dir / "runs.csv").string());
  RunEnd end;
  end.status = runs.at(0, "status");
  end.message = "the run had already finished; nothing was done";
  end.rounds_completed = std::stoll(runs.at(0, "rounds_completed"));
  end.final_sim_time_s = std::stod(runs.at(0, "final_sim_time_s"));
  if (!runs.at(0, "final_test_accuracy").empty()) end.final_test_accuracy = std::stod(runs.at(0, "final_test_accuracy"));
  if (!runs.at(0, "final_test_round").empty()) end.final_test_round = std::stoll(runs.at(0, "final_test_round"));
  end.wall_time_s = std::stod(runs.at(0, "wall_time_s"));
  auto summary = summary_of(end, s.run_id, dir);
  summary.status = RunStatus::ok;  // a resumed finished run is a success, whatever it ended as
  return summary;
}
}  // namespace

RunSummary execute_run(PreparedRun& run, const RunOptions& options) {
  const auto& s = run.scenario;
  const fs::path dir = run.output.dir;
  if (run.output.finished) return finished_summary(s, dir);
  install_stop_handlers();  // from here on a signal means "stop after this round", never a torn file
  fs::create_directories(dir);
  const RunLock lock(dir);
  const Checkpoint* resume =
      options.output_mode == OutputMode::resume && run.output.checkpoint ? &*run.output.checkpoint : nullptr;
  // --force, or a resume with no checkpoint yet. run.yaml stays until it is replaced (atomically) below: a
  // sweep point's run.yaml is also the point's scenario, and must survive a kill between the two.
  if (!resume && run.output.holds_run) remove_run_files(dir, {"run.yaml"});
  if (!resume)
    report::write_file_atomic((dir / "run.yaml").string(),
                              resolved_yaml(s, provenance(run.backend_name, run.workload->data().checksums, run.platform_files)));

  CsvObserver csv(dir, RunIdentity{s.run_id, s.file, s.seed, run.backend_name, s.sweep_params}, s.output, resume);
  const double wall_before = resume ? resume->wall_time_s : 0;
  RunEnd end{"running", "", resume ? resume->round : 0, resume ? resume->sim_time_s : 0, {}, {}, wall_before};
  csv.write_runs_row(end);
  ObserverFanout observers;
  observers.add(csv);
  ProgressObserver progress(s.training.rounds, resume ? resume->round + 1 : 1, ::isatty(2) == 1,
                            options.quiet ? nullptr : stderr);
  observers.add(progress);
  const auto segment_start = std::chrono::steady_clock::now();
  auto wall = [&] {
    return wall_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - segment_start).count();
  };
  ParadigmOutcome outcome;
  std::string transfers;  // which path timed the transfers, when not SimGrid on every link (runs.csv message)
  if (resume) {
    outcome.rounds_completed = resume->round;
    outcome.final_sim_time_s = resume->sim_time_s;
  }
  try {
    start_simgrid(run.simgrid_args);
    const bool user_sets_optim = std::any_of(run.simgrid_args.begin(), run.simgrid_args.end(), [](const std::string& a) {
      return a.find("network/optim") != std::string::npos;
    });
    configure_network_model(s.platform.network_model, s.platform.topology, user_sets_optim);
    // Past about 32k actors, guard pages exhaust vm.max_map_count (actors/runners.hpp).
    const bool user_sets_guard = std::any_of(run.simgrid_args.begin(), run.simgrid_args.end(), [](const std::string& a) {
      return a.find("contexts/guard-size") != std::string::npos;
    });
    if (!user_sets_guard &&
        std::min(over_selected_count(s.training.over_selection, s.training.clients_per_round), s.platform.clients.count) >
            actors::kMostTasksWithGuardPages)
      simgrid::s4u::Engine::set_config("contexts/guard-size:0");
    const auto platform = run.components.platform->build(s.platform, s.seed);
    if (platform->shared_server_link())
      transfers = "transfers timed by dtsim's exact solver of the server's shared link (platform.solver: auto)";
    else if (platform->server_link_folded())
      transfers = "transfers timed by SimGrid, the server's link left out of the routes: it cannot bind (platform.solver: auto)";
    const auto& workload = *run.workload;
    observers.on_run_start({s.name, platform->participant_count(), [&](ClientId id) {
                              const ClientHostSpec spec = platform->spec_of(id);
                              const RouteInfo route = platform->route_of(id);
                              PlatformRecord r{id,
                                               platform->host_class_of(id),
                                               spec.speed_flops_per_s,
                                               spec.bandwidth_bytes_per_s,
                                               spec.latency_s,
                                               workload.samples_of(id),
                                               route.host,
                                               route.links,
                                               route.latency_s,
                                               std::nullopt};
                              if (route.links > 0) r.route_bandwidth_bytes_per_s = route.bandwidth_bytes_per_s;
                              return r;
                            }});
    auto& c = run.components;
    const PolicySet policies{*c.aggregation, *c.scheduling};
    const auto learner = run.backend ? make_real_learner({*run.backend, workload, *c.aggregation, s.seed, options.chunk})
                                     : make_no_learner();
    if (resume) restore(*resume, *learner, policies);
    std::optional<Checkpointer> checkpointer;
    if (s.training.checkpoint_every > 0)
      checkpointer.emplace(dir, s.training.checkpoint_every, csv, *learner, policies, wall_before);
    const Dynamics dynamics(s.dynamics, s.seed, run.availability_trace);
    RunContext context{s, *platform, dynamics, workload, policies, *learner, observers, stop_flag(),
                       checkpointer ? &*checkpointer : nullptr, resume};
    outcome = c.paradigm->run(context);
    end.status = outcome.diverged ? "diverged" : outcome.interrupted ? "interrupted" : "ok";
    if (outcome.diverged) end.message = outcome.divergence;
    if (outcome.interrupted) end.message = "interrupted by a signal; the files hold the finished rounds";
    if (end.message.empty()) end.message = transfers;
  } catch (const std::exception& e) {
    end.status = "failed";
    end.message = e.what();
  }
  end.rounds_completed = outcome.rounds_completed;
  end.final_sim_time_s = outcome.final_sim_time_s;
  end.final_test_accuracy = outcome.final_test_accuracy;
  end.final_test_round = outcome.final_test_round;
  end.wall_time_s = wall();
  observers.on_run_end(end);
  return summary_of(end, s.run_id, dir);
}

}  // namespace dtsim::engine
