// dtsim — the composition root. Parses the command line (CLI11), calls the engine, prints errors and
// warnings and picks the exit code: 0 success, 2 invalid scenario or arguments (nothing run, nothing
// written), 1 a run failed (its row in runs.csv says so). Only this file prints diagnostics.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "kernels/backend.hpp"
#include "models/registry.hpp"
#include "policies/aggregation/aggregation.hpp"
#include "policies/scheduling/scheduling.hpp"
#include "sim/engine/calibrate.hpp"
#include "sim/engine/catalog.hpp"
#include "sim/engine/run_one.hpp"
#include "sim/scenario/config_error.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/scenario/units.hpp"

namespace {

using namespace dtsim;

constexpr int exit_ok = 0, exit_failed = 1, exit_invalid = 2;

void print_diagnostics(const std::vector<Diagnostic>& diagnostics) {
  for (const auto& d : diagnostics) std::cerr << format_diagnostic(d) << "\n";
}

void print_errors(const ConfigError& e) {
  if (e.diagnostics().empty()) {
    print_diagnostics(e.warnings());
    std::cerr << "dtsim: error: " << e.what() << "\n";
    return;
  }
  print_diagnostics(e.warnings());
  print_diagnostics(e.diagnostics());
  const std::size_t total = e.diagnostics().size() + e.omitted();
  std::cerr << fmt::format("dtsim: {} error{}{}; nothing was run\n", total, total == 1 ? "" : "s",
                           e.omitted() > 0 ? fmt::format(" (the first {} shown)", e.diagnostics().size()) : "");
}

struct CommonOptions {
  std::vector<std::string> sets;
  std::string backend = "cpu";
  std::string mem_limit;
  int threads = 0;
  std::int64_t chunk = 0;
  bool no_train = false;
  bool strict = false;
};

engine::RunOptions to_run_options(const CommonOptions& c) {
  engine::RunOptions o;
  for (const auto& s : c.sets) o.overrides.push_back(parse_override(s));
  o.backend = c.backend == "cuda"   ? kernels::BackendKind::cuda
              : c.backend == "auto" ? kernels::BackendKind::automatic
                                    : kernels::BackendKind::cpu;
  o.threads = c.threads;
  o.chunk = c.chunk;
  o.no_train = c.no_train;
  o.strict = c.strict;
  if (!c.mem_limit.empty()) {
    std::string why;
    auto bytes = parse_quantity(c.mem_limit, UnitKind::data_size, &why);
    if (!bytes) throw ConfigError("--mem-limit '" + c.mem_limit + "': " + why);
    o.mem_limit_bytes = *bytes;
  }
  return o;
}

void add_common(CLI::App* cmd, CommonOptions& c) {
  cmd->add_option("--set", c.sets, "Override a scenario key: --set training.rounds=5 (repeatable; KEY=null removes it)")
      ->take_all();
  cmd->add_option("--backend", c.backend, "Numeric backend")->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  cmd->add_option("--mem-limit", c.mem_limit,
                  "Reject runs whose estimated memory exceeds this (e.g. 8GiB); default: available memory");
  cmd->add_option("--threads", c.threads,
                  "Backend threads (0 = the CPUs this process may use: its affinity, capped by the cgroup quota)")
      ->check(CLI::Range(0, 1024));
  cmd->add_option("--chunk", c.chunk,
                  "Clients per batched training call, or per fork/join on cpu (0 = the backend's choice: all of them)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 40));
  cmd->add_flag("--no-train", c.no_train, "Timing only: skip the real training (training.compute=none)");
  cmd->add_flag("--strict", c.strict, "Treat warnings (suspicious but valid settings) as errors");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dtsim — a discrete-event simulator of distributed training (SimGrid timing, real learning)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("dtsim ") + "0.1.0");

  CommonOptions common;
  std::string scenario;
  std::string out_dir;
  bool quiet = false, force = false, resume = false;
  std::vector<std::string> simgrid_args;
  auto* run = app.add_subcommand("run", "Run one scenario and write its CSV files");
  run->add_option("scenario", scenario, "Scenario YAML file")->required();
  run->add_option("--out", out_dir, "Output folder (default: results/<scenario name>); never overwritten silently");
  auto* force_flag = run->add_flag("--force", force, "Replace an earlier run in the output folder (only dtsim's files)");
  run->add_flag("--resume", resume, "Continue the run in the output folder from its last checkpoint")
      ->excludes(force_flag);
  run->add_flag("--quiet", quiet, "Print nothing but errors and warnings (no progress)");
  run->add_option("--simgrid", simgrid_args, "Extra SimGrid argument, e.g. --simgrid=--log=root.thres:info")
      ->take_all();
  add_common(run, common);

  std::vector<std::string> to_validate;
  auto* validate = app.add_subcommand("validate", "Check scenarios without running them (no data loaded beyond labels)");
  validate->add_option("scenarios", to_validate, "Scenario YAML files")->required();
  add_common(validate, common);

  std::string to_calibrate;
  engine::CalibrationOptions calibration;
  std::vector<std::string> calibrate_sets;
  auto* calibrate = app.add_subcommand(
      "calibrate", "Time this machine on the scenario's training and print a host class to paste into a scenario");
  calibrate->add_option("scenario", to_calibrate, "Scenario YAML file")->required();
  calibrate->add_option("--steps", calibration.steps, "Local SGD steps of the client to time")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 30));
  calibrate->add_option("--repeat", calibration.repeat, "Timed repetitions after a warm-up (medians are printed)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1000}));
  calibrate->add_option("--client", calibration.client, "The client whose samples and local training are timed")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 40));
  calibrate
      ->add_option("--set", calibrate_sets,
                   "Override a scenario key: --set workload.local.batch_size=50 (repeatable; KEY=null removes it)")
      ->take_all();

  bool markdown = false;
  auto* list = app.add_subcommand("list", "List every component, policy and scenario key");
  list->add_flag("--markdown", markdown, "Print the reference as markdown (docs/scenario.md)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? exit_ok : exit_invalid;
  }

  try {
    if (list->parsed()) {
      std::cout << (markdown ? engine::catalog_markdown() : engine::catalog_text());
      return exit_ok;
    }
    if (calibrate->parsed()) {  // one backend thread on the CPU: the rate of one core (`run --threads 1`)
      CommonOptions one_thread;
      one_thread.sets = calibrate_sets;
      one_thread.threads = 1;
      const auto options = to_run_options(one_thread);
      auto prepared = engine::prepare_run(to_calibrate, options, engine::Purpose::calibrate);
      print_diagnostics(engine::warnings(*prepared));
      const auto measured = engine::measure_calibration(engine::training_parts(*prepared), calibration);
      std::cout << engine::host_class_yaml(measured);
      return exit_ok;
    }
    auto options = to_run_options(common);
    if (validate->parsed()) {
      int code = exit_ok;
      for (const auto& path : to_validate) {
        try {
          const auto prepared = engine::prepare_run(path, options, engine::Purpose::validate);
          print_diagnostics(engine::warnings(*prepared));
          std::cout << path << ": ok\n";
        } catch (const ConfigError& e) {
          print_errors(e);
          code = exit_invalid;
        }
      }
      return code;
    }
    options.out_dir = out_dir;
    options.output_mode = force ? engine::OutputMode::force : resume ? engine::OutputMode::resume : engine::OutputMode::fresh;
    options.quiet = quiet;
    options.simgrid_args = simgrid_args;
    auto prepared = engine::prepare_run(scenario, options, engine::Purpose::run);
    print_diagnostics(engine::warnings(*prepared));
    const auto summary = engine::execute_run(*prepared, options);
    if (summary.status != engine::RunStatus::ok)
      std::cerr << "dtsim: run " << engine::to_string(summary.status) << ": " << summary.message << "\n";
    if (!quiet) {
      const std::string acc = summary.final_test_accuracy >= 0
                                  ? fmt::format("{:.2f} % (round {})", 100 * summary.final_test_accuracy,
                                                summary.final_test_round)
                                  : "not evaluated";
      fmt::print("{}: {} rounds, {:.3f} s simulated, test accuracy {}, {:.2f} s wall ({})\n", summary.run_id,
                 summary.rounds_completed, summary.final_sim_time_s, acc, summary.wall_time_s,
                 engine::to_string(summary.status));
      fmt::print("results in {}/ (runs.csv, rounds.csv, clients.csv, platform.csv, policy_metrics.csv, run.yaml)\n",
                 summary.out_dir);
    }
    return summary.status == engine::RunStatus::ok ? exit_ok : exit_failed;
  } catch (const ConfigError& e) {
    print_errors(e);
    return exit_invalid;
  } catch (const std::exception& e) {
    std::cerr << "dtsim: error: " << e.what() << "\n";
    return exit_failed;
  }
}
