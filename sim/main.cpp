// dtsim — the composition root. Parses the command line (CLI11), calls the engine, prints errors and
// warnings and picks the exit code: 0 success, 2 invalid scenario or arguments (nothing run, nothing
// written), 1 a run failed (its row in runs.csv says so). Only this file prints diagnostics.
#include <fmt/format.h>

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "build_info.hpp"

#include "kernels/backend.hpp"
#include "models/registry.hpp"
#include "policies/aggregation/aggregation.hpp"
#include "policies/scheduling/scheduling.hpp"
#include "sim/engine/calibrate.hpp"
#include "kernels/cpu/thread_pool.hpp"
#include "sim/engine/catalog.hpp"
#include "sim/engine/memory.hpp"
#include "sim/engine/output_dir.hpp"
#include "sim/engine/run_one.hpp"
#include "sim/report/csv_writer.hpp"
#include "sim/scenario/config_error.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/scenario/units.hpp"
#include "sim/sweep/collect.hpp"
#include "sim/sweep/folder.hpp"
#include "sim/sweep/grid.hpp"
#include "sim/sweep/runner.hpp"
#include "sim/sweep/slurm.hpp"

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

namespace fs = std::filesystem;

struct SweepOptions {
  std::string scenario;
  std::vector<std::string> grids, zips;
  std::string seeds;
  int jobs = 0;  // 0: the usable CPUs (divided by --threads when given)
  std::string out;
  bool force = false, resume = false, quiet = false;
  std::string emit;
  sweep::SlurmOptions slurm;
  std::string slurm_mem;
  std::vector<std::string> simgrid_args;
};

// The binary itself, for the children and the Slurm script.
std::string self_path() {
  std::error_code ec;
  const auto p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw std::runtime_error("cannot find the dtsim binary (/proc/self/exe): " + ec.message());
  return p.string();
}

void print_collected(const fs::path& dir, const sweep::Collected& c, std::size_t total) {
  for (const auto& w : c.warnings) std::cerr << "dtsim: warning: " << w << "\n";
  fmt::print("{} point{}: {} ok, {} failed, {} running, {} pending; {}\n", total, total == 1 ? "" : "s", c.ok,
             c.failed, c.running, c.pending, (dir / "runs.csv").string());
}

// dtsim sweep: validate every point, lay out the folder (sweep.yaml, each point's run.yaml, runs.csv),
// then run the points here or write the Slurm script.
int run_sweep(const SweepOptions& o, const CommonOptions& common, const std::vector<std::string>& arguments) {
  std::vector<sweep::Axis> axes;
  for (const auto& g : o.grids) axes.push_back(sweep::parse_grid(g));
  for (const auto& z : o.zips) axes.push_back(sweep::parse_zip(z));
  const auto seeds = o.seeds.empty() ? std::vector<std::int64_t>{} : sweep::parse_seeds(o.seeds);
  auto options = to_run_options(common);
  options.simgrid_args = o.simgrid_args;
  std::vector<std::string> set_keys;
  for (const auto& ov : options.overrides) set_keys.push_back(ov.key_path);
  const auto points = sweep::expand(axes, seeds, set_keys);
  if (o.jobs < 0 || o.jobs > 4096) throw ConfigError("-j " + std::to_string(o.jobs) + ": expected 1 to 4096");

  sweep::block_sweep_signals();  // before any thread exists: only the runner's loop receives them
  // Every point is validated before the first starts (labels only, nothing written).
  sweep::SweepRecord record;
  record.scenario = fs::absolute(o.scenario).lexically_normal().string();
  record.arguments = arguments;
  record.param_keys = sweep::swept_keys(axes);
  record.backend = common.backend;
  std::vector<std::string> resolved;
  std::vector<double> memory;
  std::size_t invalid = 0;
  std::set<std::string> warned;
  for (const auto& point : points) {
    auto point_options = options;
    for (auto& ov : sweep::point_overrides(point)) point_options.overrides.push_back(std::move(ov));
    try {
      const auto prepared = engine::prepare_run(o.scenario, point_options, engine::Purpose::validate);
      for (const auto& w : engine::warnings(*prepared))
        if (warned.insert(format_diagnostic(w)).second) std::cerr << format_diagnostic(w) << "\n";
      resolved.push_back(engine::resolved_scenario_yaml(*prepared));
      memory.push_back(engine::estimated_memory_bytes(*prepared));
      const YAML::Node tree = YAML::Load(resolved.back());
      record.name = tree["name"].as<std::string>();
      sweep::RecordedPoint r{point.index, point.folder, tree["seed"].as<std::int64_t>(), {}};
      for (const auto& [key, value] : point.params) r.params.emplace_back(key, param_cell(value));
      record.points.push_back(std::move(r));
    } catch (const ConfigError& e) {
      if (++invalid <= 3) {
        std::cerr << "dtsim sweep: point " << point.folder << " is invalid:\n";
        print_errors(e);
      }
    }
  }
  if (invalid > 0) {
    std::cerr << fmt::format("dtsim sweep: {} of {} points are invalid{}; nothing was run\n", invalid, points.size(),
                             invalid > 3 ? " (the first 3 shown)" : "");
    return exit_invalid;
  }

  const fs::path dir = o.out.empty() ? fs::path("results") / (record.name + "-sweep") : fs::path(o.out);
  const auto mode = o.force ? sweep::SweepMode::force : o.resume ? sweep::SweepMode::resume : sweep::SweepMode::fresh;
  auto problems = sweep::check_sweep_dir(dir, mode, record);
  if (mode == sweep::SweepMode::resume && problems.empty())  // a point's scenario must not have changed
    for (std::size_t i = 0; i < record.points.size(); ++i) {
      const fs::path file = dir / record.points[i].folder / "run.yaml";
      if (!fs::exists(file)) continue;
      try {
        YAML::Node earlier = YAML::LoadFile(file.string());
        if (earlier.IsMap()) earlier.remove("provenance");
        if (const auto key = engine::first_difference(YAML::Load(resolved[i]), earlier); !key.empty())
          problems.push_back("--resume: point " + record.points[i].folder + " differs from the run in " +
                             file.string() + " at " + key);
      } catch (const std::exception& e) {
        problems.push_back("--resume: cannot read " + file.string() + ": " + e.what());
      }
      if (problems.size() >= 3) break;
    }
  if (!problems.empty()) {
    for (const auto& p : problems) std::cerr << "<command line>: error: --out: " << p << "\n";
    std::cerr << "dtsim: nothing was run\n";
    return exit_invalid;
  }

  fs::create_directories(dir);
  std::optional<engine::RunLock> lock;  // DIR/.lock, as a run holds its folder's
  try {
    lock.emplace(dir);
  } catch (const std::runtime_error&) {  // another sweep took the folder since it was checked
    std::cerr << "<command line>: error: --out: a live dtsim sweep is using '" << dir.string()
              << "' (its .lock is held)\ndtsim: nothing was run\n";
    return exit_invalid;
  }
  if (mode == sweep::SweepMode::force) sweep::clear_sweep_dir(dir);
  // The record first: a sweep killed from here on is one that --resume continues.
  sweep::write_record(dir, record);
  for (std::size_t i = 0; i < record.points.size(); ++i) {
    const fs::path folder = dir / record.points[i].folder;
    fs::create_directories(folder);
    if (!fs::exists(folder / "run.yaml")) report::write_file_atomic((folder / "run.yaml").string(), resolved[i]);
  }
  auto collected = sweep::collect(dir, record);

  const double budget = options.mem_limit_bytes > 0 ? options.mem_limit_bytes : engine::memory_limit_bytes();
  const int threads = common.threads > 0 ? common.threads : 1;
  std::vector<std::string> run_options{"--backend", common.backend};
  if (common.chunk > 0) run_options.insert(run_options.end(), {"--chunk", std::to_string(common.chunk)});
  if (common.strict) run_options.push_back("--strict");
  // The timing-changing --cfg options travel in each point's run.yaml (its `simgrid` list); the others
  // (--log, contexts/factory, ...) on the command line.
  std::set<std::string> recorded;
  if (const YAML::Node listed = YAML::Load(resolved.front())["simgrid"]; listed && listed.IsSequence())
    for (const auto& item : listed) recorded.insert(item.as<std::string>());
  for (const auto& a : o.simgrid_args)
    if (!recorded.count(a)) run_options.push_back("--simgrid=" + a);

  if (o.emit == "slurm") {
    auto slurm = o.slurm;
    if (slurm.cpus <= 0) slurm.cpus = threads;
    if (!o.slurm_mem.empty()) {
      std::string why;
      const auto bytes = parse_quantity(o.slurm_mem, UnitKind::data_size, &why);
      if (!bytes) throw ConfigError("--slurm-mem '" + o.slurm_mem + "': " + why);
      slurm.memory_bytes = *bytes;
    } else {  // the largest estimate, with room to spare: Slurm kills a task above its request, and the
              // estimate is of the run's buffers (a timing-only quickstart point peaks ~25 % above it)
      for (double m : memory) slurm.memory_bytes = std::max(slurm.memory_bytes, 1.25 * m + 256.0 * 1048576);
    }
    const fs::path script = dir / "sweep.sbatch";
    report::write_file_atomic(script.string(), sweep::sbatch_script(dir, record, slurm, self_path(), run_options));
    fs::permissions(script, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                    fs::perm_options::add);
    fmt::print("wrote {} ({} points, one array task each)\n  submit: sbatch {}\n  then:   dtsim collect {}\n",
               script.string(), record.points.size(), script.string(), dir.string());
    return exit_ok;
  }

  std::vector<sweep::Job> jobs;
  const std::string self = self_path();
  for (std::size_t i = 0; i < record.points.size(); ++i) {
    if (collected.points[i].done()) continue;
    const auto& folder = record.points[i].folder;
    sweep::Job job{folder, {self, "run", folder + "/run.yaml", "--out", folder, "--resume", "--threads",
                            std::to_string(threads), "--mem-limit", fmt::format("{:.0f}B", budget)}, memory[i]};
    job.argv.insert(job.argv.end(), run_options.begin(), run_options.end());
    jobs.push_back(std::move(job));
  }
  const int usable = kernels::available_cpus();
  const int parallel = o.jobs > 0 ? o.jobs : std::max(1, usable / threads);
  const auto done_before = static_cast<std::int64_t>(record.points.size() - jobs.size());
  // The combined runs.csv is derived from the points' folders: rewritten as points end, at most once a
  // second (it reads every point), and once more at the end.
  auto last_collect = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  const auto outcome = sweep::run_jobs(dir, jobs, {parallel, budget, ::isatty(2) == 1, o.quiet}, done_before, [&] {
    if (std::chrono::steady_clock::now() - last_collect < std::chrono::seconds(1)) return;
    collected = sweep::collect(dir, record);
    last_collect = std::chrono::steady_clock::now();
  });
  collected = sweep::collect(dir, record);
  if (!o.quiet) print_collected(dir, collected, record.points.size());
  if (outcome.interrupted) std::cerr << "dtsim sweep: interrupted; --resume continues it\n";
  return collected.ok == static_cast<std::int64_t>(record.points.size()) ? exit_ok : exit_failed;
}

// dtsim collect DIR: the combined runs.csv of a sweep run anywhere (Slurm).
int run_collect(const std::string& dir) {
  sweep::SweepRecord record;
  try {
    record = sweep::read_record(dir);
  } catch (const std::exception& e) {
    std::cerr << "<command line>: error: " << dir << " is not a sweep folder: " << e.what() << "\n";
    return exit_invalid;
  }
  const auto collected = sweep::collect(dir, record);
  print_collected(dir, collected, record.points.size());
  return collected.ok == static_cast<std::int64_t>(record.points.size()) ? exit_ok : exit_failed;
}

// dtsim plot DIR: analysis/plot.py with Debian's python3 (./setup.sh installs pandas and matplotlib).
int run_plot(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    std::cerr << "<command line>: error: " << dir << " is not a folder of dtsim results\n";
    return exit_invalid;
  }
  const std::string python = "/usr/bin/python3";
  const std::string script = std::string(build_info::source_dir) + "/analysis/plot.py";
  if (::access(python.c_str(), X_OK) != 0 || !fs::exists(script, ec)) {
    std::cerr << "dtsim: error: dtsim plot needs " << python << " and " << script
              << " (./setup.sh installs python3-pandas and python3-matplotlib)\n";
    return exit_invalid;
  }
  std::vector<char*> argv{const_cast<char*>(python.c_str()), const_cast<char*>(script.c_str()),
                          const_cast<char*>(dir.c_str()), nullptr};
  ::execv(python.c_str(), argv.data());
  std::cerr << "dtsim: error: cannot run " << python << "\n";
  return exit_failed;
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

  SweepOptions sweep_options;
  CommonOptions sweep_common;
  auto* sweep_cmd = app.add_subcommand(
      "sweep", "Run a grid of scenarios, one dtsim run per point, into DIR/NNNN-<values>/ and a combined DIR/runs.csv");
  sweep_cmd->add_option("scenario", sweep_options.scenario, "Scenario YAML file")->required();
  sweep_cmd
      ->add_option("--grid", sweep_options.grids,
                   "An axis: KEY=VALUES, a YAML flow sequence ('policies.aggregation=[{name: fedavg},{name: fedprox}]') "
                   "or v1,v2,v3 (repeatable; the product of the axes is swept)")
      ->take_all();
  sweep_cmd
      ->add_option("--zip", sweep_options.zips,
                   "An axis whose keys advance together: K1=VALUES,K2=VALUES (lists of one length; repeatable)")
      ->take_all();
  sweep_cmd->add_option("--seeds", sweep_options.seeds, "Seeds A-B (or A): the innermost axis");
  sweep_cmd->add_option("-j,--jobs", sweep_options.jobs, "Points run at once (default: the usable CPUs / --threads)");
  sweep_cmd->add_option("--out", sweep_options.out, "Sweep folder (default: results/<scenario name>-sweep)");
  auto* sweep_force = sweep_cmd->add_flag("--force", sweep_options.force, "Replace an earlier sweep in the folder");
  sweep_cmd->add_flag("--resume", sweep_options.resume, "Continue the sweep in the folder (finished points are kept)")
      ->excludes(sweep_force);
  sweep_cmd->add_flag("--quiet", sweep_options.quiet, "No progress line");
  sweep_cmd->add_option("--emit", sweep_options.emit, "Write a job script instead of running: slurm (DIR/sweep.sbatch)")
      ->check(CLI::IsMember({"slurm"}));
  sweep_cmd->add_option("--slurm-cpus", sweep_options.slurm.cpus, "--emit slurm: CPUs per task (default: --threads or 1)")
      ->check(CLI::Range(1, 1024));
  sweep_cmd->add_option("--slurm-mem", sweep_options.slurm_mem,
                        "--emit slurm: memory per task (default: the largest point's estimate + 25 % + 256 MiB)");
  sweep_cmd->add_option("--slurm-time", sweep_options.slurm.time, "--emit slurm: time limit per task (1:00:00)");
  sweep_cmd->add_option("--slurm-partition", sweep_options.slurm.partition, "--emit slurm: partition");
  sweep_cmd->add_option("--slurm-constraint", sweep_options.slurm.constraint,
                        "--emit slurm: node constraint (a feature such as a CPU class)");
  sweep_cmd->add_option("--simgrid", sweep_options.simgrid_args, "Extra SimGrid argument for every point")->take_all();
  add_common(sweep_cmd, sweep_common);

  std::string collect_dir;
  auto* collect_cmd =
      app.add_subcommand("collect", "Merge the points of a sweep run anywhere (Slurm) into DIR/runs.csv");
  collect_cmd->add_option("dir", collect_dir, "The sweep folder")->required();

  std::string plot_dir;
  auto* plot_cmd = app.add_subcommand("plot", "Plot a run or a sweep folder: PNGs into DIR/plots/");
  plot_cmd->add_option("dir", plot_dir, "A run or sweep folder")->required();

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
    if (sweep_cmd->parsed()) return run_sweep(sweep_options, sweep_common, std::vector<std::string>(argv + 1, argv + argc));
    if (collect_cmd->parsed()) return run_collect(collect_dir);
    if (plot_cmd->parsed()) return run_plot(plot_dir);
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
