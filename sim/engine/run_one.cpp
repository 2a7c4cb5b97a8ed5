#include "sim/engine/run_one.hpp"

// SimGrid: s4u.hpp first, it brings the macros that version.h and log.h expect.
#include <simgrid/s4u.hpp>
// clang-format off
#include <simgrid/version.h>
#include <xbt/log.h>
// clang-format on
#include <unistd.h>

#include <build_info.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <optional>

#include "models/dataset.hpp"
#include "models/mlp.hpp"
#include "models/partition.hpp"
#include "policies/aggregation/aggregation.hpp"
#include "policies/scheduling/scheduling.hpp"
#include "sim/engine/federated.hpp"
#include "sim/engine/platform.hpp"
#include "sim/report/csv_schema.hpp"
#include "sim/report/csv_writer.hpp"

namespace fs = std::filesystem;
namespace sg4 = simgrid::s4u;

namespace dtsim::engine {

struct PreparedRun {
  Scenario scenario;
  models::LoadedData data;
  models::Partition partition;  // per-client training-sample indices
  models::MlpShape shape;
  std::vector<ClientWorkload> work;
  std::unique_ptr<policies::AggregationPolicy> aggregation;
  std::unique_ptr<policies::SchedulingPolicy> scheduling;
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

std::atomic<bool>& stop_flag() {
  static std::atomic<bool> flag{false};
  return flag;
}

namespace {

[[noreturn]] void fail(const Scenario& s, const std::string& key, const std::string& message,
                       std::vector<std::string> notes = {}) {
  throw ConfigError({Diagnostic{Location{s.file, 0, 0}, key, message, std::move(notes)}});
}

models::LoadedData load_data(const Scenario& s) {
  const auto& d = s.workload.dataset;
  try {
    if (d.name == "fashion_mnist")
      return models::load_fashion_mnist(
          d.path, d.max_train, d.max_test,
          s.training.compute == ComputeMode::real ? models::Pixels::load : models::Pixels::skip);
    models::SyntheticParams p;
    p.alpha = d.alpha;
    p.beta = d.beta;
    p.iid = d.iid;
    p.users = s.platform.clients.count;
    p.dimension = d.dimension;
    p.classes = d.classes;
    return models::generate_synthetic(p, s.seed);
  } catch (const models::DataError& e) {
    fail(s, d.name == "fashion_mnist" ? "workload.dataset.path" : "workload.dataset", e.what());
  }
}

models::Partition make_partition(const Scenario& s, models::LoadedData& data) {
  const auto& p = s.workload.partition;
  const auto clients = s.platform.clients.count;
  if (p.name == "natural") return std::move(data.natural_partition);
  if (data.train.samples < clients)
    fail(s, "platform.clients.count",
         "there are " + std::to_string(clients) + " clients but only " + std::to_string(data.train.samples) +
             " training samples; every client needs at least one");
  Rng rng(s.seed, "partition");
  if (p.name == "iid") return models::partition_iid(data.train.samples, clients, rng);
  if (p.name == "dirichlet")
    return models::partition_dirichlet(data.train.y, data.train.classes, clients, p.alpha, rng);
  return models::partition_shards(data.train.y, clients, p.shards_per_client, rng);
}

double available_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  double kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024.0;
  return 0;
}

models::MlpShape shape_of(const Scenario& s, std::int64_t features, std::int64_t classes) {
  models::MlpShape shape;
  shape.inputs = features;
  shape.classes = classes;
  if (s.workload.model.name == "mlp") shape.hidden = s.workload.model.hidden;
  return shape;
}

std::string format_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (b >= 1024 && u < 5) {
    b /= 1024;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f %s", b, units[u]);
  return buf;
}

}  // namespace

namespace {

// The parts of a run's modelled peak memory (bytes), so that a refusal can say what drives it.
struct MemoryEstimate {
  double dataset = 0;   // samples and their labels/indices
  double training = 0;  // global model, per-participant results and workspaces
  double platform = 0;  // SimGrid hosts, links and bookkeeping, per client
  double base = 0;      // the process itself
  double parameters = 0;
  double total() const { return dataset + training + platform + base; }
};

MemoryEstimate estimate_memory(const Scenario& s) {
  const auto& d = s.workload.dataset;
  MemoryEstimate m;
  double samples = 0, features = 0;
  std::int64_t classes = 10;
  if (d.name == "fashion_mnist") {
    // max_train/max_test above the dataset's size mean "all of it".
    const double train = d.max_train > 0 ? std::min<double>(static_cast<double>(d.max_train), 60000) : 60000;
    const double test = d.max_test > 0 ? std::min<double>(static_cast<double>(d.max_test), 10000) : 10000;
    samples = train + test;
    features = 784;
  } else {
    // Mean users' sample count of the FedProx generator: E[lognormal(4, 2)] + 50 = e^6 + 50.
    samples = static_cast<double>(s.platform.clients.count) * (std::exp(6.0) + 50.0);
    features = static_cast<double>(d.dimension);
    classes = d.classes;
  }
  // Timing-only runs read Fashion-MNIST's labels but not its pixels.
  const bool pixels = s.training.compute == ComputeMode::real || d.name != "fashion_mnist";
  m.dataset = samples * ((pixels ? features * 4 : 0) + 8);
  const auto shape = shape_of(s, static_cast<std::int64_t>(features), classes);
  m.parameters = static_cast<double>(models::parameter_count(shape));
  const double k = static_cast<double>(s.training.clients_per_round);
  // global + per-participant results + per-participant workspaces (parameters, SGD velocity when
  // momentum or weight decay is on, and activations).
  const double widest = static_cast<double>(std::max<std::int64_t>(
      features, shape.hidden.empty() ? classes : *std::max_element(shape.hidden.begin(), shape.hidden.end())));
  const bool velocity = s.workload.local.momentum > 0 || s.workload.local.weight_decay > 0;
  m.training = s.training.compute == ComputeMode::real
                   ? m.parameters * 4 * (1 + k * (3 + (velocity ? 1 : 0))) +
                         k * static_cast<double>(s.workload.local.batch_size) * widest * 4 * 4
                   : 0;
  const double per_client = 4096;  // SimGrid host + split-duplex link + netpoint + bookkeeping
  m.platform = per_client * static_cast<double>(s.platform.clients.count);
  m.base = 64.0 * 1024 * 1024;
  return m;
}

// The memory this process may use: MemAvailable (the physical memory when /proc is unreadable), and no
// more than the cgroup's cap (a Slurm job, a container; "max" when there is none).
double memory_limit_bytes() {
  double limit = available_memory_bytes();
  if (limit <= 0) {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) limit = static_cast<double>(pages) * static_cast<double>(page);
  }
  std::ifstream cgroup_max("/sys/fs/cgroup/memory.max");
  double cap = 0;
  if (cgroup_max >> cap && cap > 0) limit = limit > 0 ? std::min(limit, cap) : cap;
  return limit;
}

}  // namespace

double estimate_memory_bytes(const Scenario& s) { return estimate_memory(s).total(); }

PreparedRunPtr prepare_run(const std::string& scenario_path, const RunOptions& options) {
  PreparedRunPtr run(new PreparedRun);
  auto& s = run->scenario;
  s = read_scenario(scenario_path, options.overrides);
  if (options.no_train) s.training.compute = ComputeMode::none;
  run->aggregation = policies::aggregation_registry().make(s.policies.aggregation.name, *s.policies.aggregation.params);
  run->scheduling = policies::scheduling_registry().make(s.policies.scheduling.name, *s.policies.scheduling.params);
  finish_validation(s);

  const bool given_limit = options.mem_limit_bytes > 0;
  const double limit = given_limit ? options.mem_limit_bytes : memory_limit_bytes();
  const MemoryEstimate need = estimate_memory(s);
  if (limit > 0 && need.total() > limit)
    fail(s, "",
         "this run needs an estimated " + format_bytes(need.total()) + " of memory, more than the limit of " +
             format_bytes(limit) + (given_limit ? " (--mem-limit)" : " (the memory available on this machine)"),
         {"estimated: data " + format_bytes(need.dataset) + ", training " + format_bytes(need.training) + " (" +
              std::to_string(static_cast<long long>(need.parameters)) + " model parameters, " +
              std::to_string(s.training.clients_per_round) + " clients per round), platform " +
              format_bytes(need.platform) + " (" + std::to_string(s.platform.clients.count) + " clients)",
          "lower platform.clients.count, training.clients_per_round or the model size, or raise --mem-limit"});

  // The backend is checked even for timing-only runs: --backend cuda without CUDA is always an error.
  try {
    auto backend = kernels::make_backend(options.backend, options.threads);
    run->backend_name = backend->name();
    if (s.training.compute == ComputeMode::real) run->backend = std::move(backend);
  } catch (const std::runtime_error& e) {
    throw ConfigError(std::string("--backend: ") + e.what());
  }

  run->data = load_data(s);
  run->partition = make_partition(s, run->data);
  run->shape = shape_of(s, run->data.train.features, run->data.train.classes);
  const double per_sample = models::train_flops_per_sample(run->shape);
  const models::LocalTrainingConfig local{s.workload.local.epochs, s.workload.local.batch_size, s.workload.local.lr,
                                          s.workload.local.momentum, s.workload.local.weight_decay};
  const double per_step = models::update_flops_per_step(run->shape, local);
  for (const auto& samples : run->partition) {
    const auto n = static_cast<std::int64_t>(samples.size());
    const std::int64_t steps = models::local_steps(n, local);
    run->work.push_back({n, steps,
                         static_cast<double>(local.epochs) * static_cast<double>(n) * per_sample +
                             static_cast<double>(steps) * per_step});
  }
  return run;
}

namespace {

// Real learning: batched local training of the participants, then the aggregation policy.
class RealLearner final : public Learner {
 public:
  RealLearner(PreparedRun& run, const RunOptions& options)
      : run_(run),
        trainer_(
            *run.backend, run.shape, run.data.train, run.data.test,
            {run.scenario.workload.local.epochs, run.scenario.workload.local.batch_size, run.scenario.workload.local.lr,
             run.scenario.workload.local.momentum, run.scenario.workload.local.weight_decay},
            run.scenario.seed, options.chunk > 0 ? options.chunk : run.backend->preferred_chunk()) {
    Rng rng(run.scenario.seed, "init");
    global_ = models::init_parameters(run.shape, rng);
  }

  RoundLearning learn(const policies::RoundContext& ctx, std::span<const policies::ClientId> participants,
                      bool evaluate) override {
    const std::int64_t round = ctx.round;
    std::vector<models::ClientWork> work;
    work.reserve(participants.size());
    for (auto id : participants) work.push_back({id.value, run_.partition[static_cast<std::size_t>(id.value)], round});
    const auto results = trainer_.train(global_, work);

    RoundLearning out;
    std::vector<policies::ClientUpdate> updates;
    double loss = 0, seen = 0;
    for (std::size_t i = 0; i < results.size(); ++i) {
      const auto& r = results[i];
      updates.push_back({participants[i], r.params, static_cast<double>(work[i].samples.size()), r.steps,
                         ctx.model_version, static_cast<double>(r.params.size()) * 4});
      out.client_train_loss.push_back(r.samples_seen > 0 ? r.loss_sum / static_cast<double>(r.samples_seen) : 0.0);
      loss += r.loss_sum;
      seen += static_cast<double>(r.samples_seen);
    }
    run_.aggregation->aggregate(ctx, updates, global_);

    if (seen > 0) out.train_loss = loss / seen;
    const bool finite_model = std::all_of(global_.begin(), global_.end(), [](float v) { return std::isfinite(v); });
    if ((out.train_loss && !std::isfinite(*out.train_loss)) || !finite_model) {
      out.train_loss.reset();  // never write NaN into the CSV
      out.diverged = true;
      return out;
    }
    if (evaluate) {
      const auto e = trainer_.evaluate(global_);
      out.test_loss = e.loss;
      out.test_accuracy = e.accuracy;
    }
    return out;
  }

 private:
  PreparedRun& run_;
  models::MlpTrainer trainer_;
  std::vector<float> global_;
};

// Timing only (training.compute: none): no learning, no metrics.
class NoLearner final : public Learner {
  RoundLearning learn(const policies::RoundContext&, std::span<const policies::ClientId>, bool) override { return {}; }
};

// Writes rounds.csv, clients.csv and policy_metrics.csv as the engine reports.
class CsvObserver final : public RunObserver {
 public:
  CsvObserver(const fs::path& dir, std::string run_id, const OutputSpec& output)
      : run_id_(std::move(run_id)),
        output_(output),
        rounds_((dir / "rounds.csv").string(), report::rounds_columns),
        clients_((dir / "clients.csv").string(), report::clients_columns),
        metrics_((dir / "policy_metrics.csv").string(), report::policy_metrics_columns) {}

  void on_client(const ClientRecord& c) override {
    if (!output_.clients_csv || c.round % output_.every != 0) return;
    clients_.write(report::CsvRow()
                       .add(run_id_)
                       .add(c.round)
                       .add(std::int64_t{c.client})
                       .add(to_string(c.status))
                       .add(c.start_s)
                       .add(c.download_end_s)
                       .add(c.compute_end_s)
                       .add(c.upload_end_s)
                       .add(c.local_steps)
                       .add(c.flops)
                       .add(c.bytes_down)
                       .add(c.bytes_up)
                       .empty());  // energy_j: no power model yet
  }
  void on_round(const RoundRecord& r) override {
    rounds_.write(report::CsvRow()
                      .add(run_id_)
                      .add(r.round)
                      .add(r.sim_time_s)
                      .add(r.round_duration_s)
                      .add(r.selected)
                      .add(r.completed)
                      .add(r.dropped)
                      .add(r.bytes_down)
                      .add(r.bytes_up)
                      .add(r.train_loss)
                      .add(r.test_loss)
                      .add(r.test_accuracy)
                      .empty());
  }
  void on_policy_metric(const PolicyMetric& m) override {
    metrics_.write(report::CsvRow().add(run_id_).add(m.round).add(m.family).add(m.policy).add(m.metric).add(m.value));
  }
  void commit() {
    rounds_.commit();
    clients_.commit();
    metrics_.commit();
  }

 private:
  std::string run_id_;
  OutputSpec output_;
  report::CsvWriter rounds_, clients_, metrics_;
};

YAML::Node provenance(const PreparedRun& run) {
  YAML::Node p;
  p["dtsim_version"] = build_info::version;
  p["git_commit"] = build_info::git_commit;
  p["simgrid_version"] = std::to_string(SIMGRID_VERSION_MAJOR) + "." + std::to_string(SIMGRID_VERSION_MINOR);
  p["build_type"] = build_info::build_type;
  p["compiler"] = build_info::compiler;
  p["flags"] = build_info::flags;
  p["backend"] = run.backend_name;
  YAML::Node sums(YAML::NodeType::Map);
  for (const auto& [file, sum] : run.data.checksums) sums[file] = "sha256:" + sum;
  p["dataset_checksums"] = sums;
  YAML::Node root;
  root["provenance"] = p;
  return root;
}

// First SIGINT/SIGTERM: finish the current round, keep the finished rounds, exit 1 (interrupted).
// A second one: stop at once (the final CSV names are only ever renamed into place, so none is torn).
void on_signal(int sig) {
  if (stop_flag().exchange(true)) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
}

void install_stop_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

void start_simgrid(const RunOptions& options) {
  // Silence SimGrid's own chatter (configuration lines) unless the user asks for it with --log.
  xbt_log_control_set("root.thres:critical");
  std::vector<std::string> args{"dtsim"};
  args.insert(args.end(), options.simgrid_args.begin(), options.simgrid_args.end());
  static std::vector<char*> argv;  // SimGrid keeps pointers into argv
  static std::vector<std::string> storage;
  storage = args;
  argv.clear();
  for (auto& a : storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  int argc = static_cast<int>(storage.size());
  // SimGrid's Engine installs its own SIGINT handler, which exits at once: hold the signals while it
  // is built, put ours back, then let a signal that came meanwhile through to our handler.
  sigset_t stop_signals, previous;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop_signals, &previous);
  // One engine per process, alive until it ends; kept reachable so leak checkers do not flag it.
  static sg4::Engine* const engine = new sg4::Engine(&argc, argv.data());
  (void)engine;
  install_stop_handlers();
  sigprocmask(SIG_SETMASK, &previous, nullptr);
}

}  // namespace

RunSummary execute_run(PreparedRun& run, const RunOptions& options) {
  const auto wall_start = std::chrono::steady_clock::now();
  const auto& s = run.scenario;
  RunSummary summary;
  summary.run_id = s.name;
  const fs::path dir = options.out_dir.empty() ? fs::path("results") / s.name : fs::path(options.out_dir);
  summary.out_dir = dir.string();
  install_stop_handlers();  // from here on a signal means "stop after this round", never a torn file
  fs::create_directories(dir);

  std::optional<CsvObserver> observer;
  FederatedOutcome outcome;
  try {
    observer.emplace(dir, s.name, s.output);
    start_simgrid(options);
    configure_network_model(s.platform.network_model);
    FederatedSetup setup;
    setup.scenario = &s;
    setup.platform = build_star_platform(s.platform, draw_client_specs(s));
    setup.work = run.work;
    const double params = static_cast<double>(models::parameter_count(run.shape));
    setup.model_bytes = params * 4;
    setup.aggregation_flops_per_update = 2 * params;
    setup.scheduler = run.scheduling.get();
    std::unique_ptr<Learner> learner;
    if (run.backend)
      learner = std::make_unique<RealLearner>(run, options);
    else
      learner = std::make_unique<NoLearner>();
    setup.learner = learner.get();
    setup.observer = &*observer;
    setup.stop_requested = &stop_flag();
    outcome = run_federated(setup);
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
  if (observer) observer->commit();
  report::CsvWriter runs((dir / "runs.csv").string(), report::runs_columns);
  report::CsvRow row;
  row.add(report::schema_version)
      .add(s.name)
      .add(s.file)
      .add(static_cast<std::int64_t>(s.seed))
      .add(run.backend_name)
      .add(to_string(summary.status))
      .add(summary.rounds_completed)
      .add(summary.final_sim_time_s);
  if (summary.final_test_accuracy >= 0)
    row.add(summary.final_test_accuracy);
  else
    row.empty();
  row.add(summary.wall_time_s);
  runs.write(row);
  runs.commit();
  report::write_file_atomic((dir / "run.yaml").string(), resolved_yaml(s, provenance(run)));
  return summary;
}

}  // namespace dtsim::engine
