#include "sim/engine/calibrate.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <ctime>
#include <stdexcept>

#include "models/local_trainer.hpp"
#include "models/workload.hpp"
#include "policies/aggregation/aggregation.hpp"
#include "sim/common/rng.hpp"
#include "sim/engine/provenance.hpp"
#include "sim/scenario/config_error.hpp"

namespace dtsim::engine {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kDigits = 6;            // significant digits of the printed speed and efficiency
constexpr std::int64_t kGemmN = 512;  // SGEMM side: 2·512³ ≈ 0.27 Gflop, a few ms on one core

bool positive_finite(double x) { return std::isfinite(x) && x > 0; }

// x rounded to kDigits significant digits, as "{:.6g}" prints it.
double round_significant(double x) { return std::stod(fmt::format("{:.{}g}", x, kDigits)); }

struct Prefix {
  const char* unit;
  double scale;
};
constexpr std::array<Prefix, 6> kPrefixes{
    {{"Pf", 1e15}, {"Tf", 1e12}, {"Gf", 1e9}, {"Mf", 1e6}, {"kf", 1e3}, {"f", 1}}};

// The prefix format_flop_rate writes `flops_per_s` with: the largest that keeps the rounded number >= 1.
const Prefix& prefix_of(double flops_per_s) {
  for (const auto& p : kPrefixes)
    if (round_significant(flops_per_s / p.scale) >= 1) return p;
  return kPrefixes.back();
}

// The flop rate format_flop_rate's text stands for (flops/s).
double printed_rate(double flops_per_s) {
  const Prefix& p = prefix_of(flops_per_s);
  return round_significant(flops_per_s / p.scale) * p.scale;
}

std::string host_name() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0) return "unknown host";
  return name.data();
}

std::string today() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  std::array<char, 16> text{};
  std::strftime(text.data(), text.size(), "%Y-%m-%d", &local);
  return text.data();
}

// Wall seconds of one call (s).
template <class Fn>
double seconds_of(Fn&& fn) {
  const auto start = Clock::now();
  fn();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// An SGEMM on the backend: C = A·B on n × n matrices of backend memory, 2·n³ flops a call.
class GemmProbe {
 public:
  GemmProbe(kernels::Backend& backend, std::int64_t n) : backend_(backend), n_(n) {
    const auto count = static_cast<std::size_t>(n * n);
    std::vector<float> host(count);
    Rng rng(1, "calibrate.gemm");
    for (float& v : host) v = static_cast<float>(rng.uniform(-1, 1));
    a_ = backend.alloc(count);
    b_ = backend.alloc(count);
    c_ = backend.alloc(count);
    backend.upload(host.data(), count, a_.data());
    backend.upload(host.data(), count, b_.data());
  }
  void operator()() {
    const std::array<kernels::ConstMatView, 1> a{a_.mat(n_, n_)}, b{b_.mat(n_, n_)};
    const std::array<kernels::MatView, 1> c{c_.mat(n_, n_)};
    backend_.gemm(kernels::Trans::no, kernels::Trans::no, 1.0f, a, b, 0.0f, c);
  }
  double flops() const { return 2 * std::pow(static_cast<double>(n_), 3); }

 private:
  kernels::Backend& backend_;
  std::int64_t n_;
  kernels::Buffer a_, b_, c_;
};

}  // namespace

double median(std::vector<double> samples) {
  if (samples.empty()) throw std::invalid_argument("median: no samples");
  const std::size_t mid = samples.size() / 2;
  std::nth_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(mid), samples.end());
  const double upper = samples[mid];
  if (samples.size() % 2 == 1) return upper;
  const double lower = *std::max_element(samples.begin(), samples.begin() + static_cast<std::ptrdiff_t>(mid));
  return (lower + upper) / 2;
}

std::string format_flop_rate(double flops_per_s) {
  if (!positive_finite(flops_per_s)) throw std::invalid_argument("format_flop_rate: not a positive rate");
  const Prefix& p = prefix_of(flops_per_s);
  return fmt::format("{:.{}g}{}", flops_per_s / p.scale, kDigits, p.unit);
}

HostClassFit fit_host_class(double modelled_flops, double measured_s, double peak_flops_per_s) {
  if (!positive_finite(modelled_flops) || !positive_finite(measured_s) || !positive_finite(peak_flops_per_s))
    throw std::invalid_argument(
        fmt::format("fit_host_class: flops {}, seconds {}, peak {}: each must be finite and > 0", modelled_flops,
                    measured_s, peak_flops_per_s));
  HostClassFit fit;
  fit.achieved_flops_per_s = modelled_flops / measured_s;
  // The speed as printed, so that the printed speed × efficiency is the achieved rate to kDigits digits.
  fit.speed_flops_per_s = printed_rate(peak_flops_per_s);
  fit.efficiency = fit.achieved_flops_per_s / fit.speed_flops_per_s;
  if (round_significant(fit.efficiency) >= 1) {  // the model's flops run faster than the SGEMM: no headroom
    fit.capped = true;
    fit.speed_flops_per_s = printed_rate(fit.achieved_flops_per_s);
    fit.efficiency = 1;
  }
  return fit;
}

std::string host_class_yaml(const Calibration& c) {
  const HostClassFit fit = fit_host_class(c.modelled_flops, c.measured_s, c.peak_flops_per_s);
  std::string out = fmt::format(
      "# measured on {}{}, {}: {} local steps of client {}, batch {}, model {}: achieved {:.4g} Gflop/s; GEMM peak "
      "{:.4g} Gflop/s\n",
      c.host, c.cpu.empty() ? "" : " (" + c.cpu + ")", c.date, c.steps, c.client, c.batch_size, c.model,
      fit.achieved_flops_per_s * 1e-9, c.peak_flops_per_s * 1e-9);
  out += fmt::format(
      "# timed: {} samples, {:.6g} modelled flops, median {:.6g} s of {} repeats after a warm-up, 1 thread; "
      "SGEMM n = {}\n",
      c.samples_seen, c.modelled_flops, c.measured_s, c.repeats, c.gemm_n);
  if (fit.capped)
    out += "# the achieved rate is not below the GEMM peak: the speed is the achieved rate, the efficiency 1\n";
  out += fmt::format("host_classes:\n  this_machine: {{weight: 1, speed: {}, efficiency: {:.{}g}}}\n",
                     format_flop_rate(fit.speed_flops_per_s), fit.efficiency, kDigits);
  return out;
}

Calibration measure_calibration(const TrainingParts& parts, const CalibrationOptions& options) {
  if (options.steps < 1 || options.repeat < 1)
    throw ConfigError(fmt::format("--steps {}, --repeat {}: both must be at least 1", options.steps, options.repeat));
  const models::Workload& workload = parts.workload;
  if (options.client < 0 || options.client >= workload.clients())
    throw ConfigError(fmt::format("--client {}: the scenario has clients 0 to {} (platform.clients.count)",
                                  options.client, workload.clients() - 1));
  const ClientId client{static_cast<std::int32_t>(options.client)};
  const auto samples = workload.indices_of(client);
  if (samples.empty())
    throw ConfigError(
        fmt::format("--client {}: this client holds no training samples; pick another with --client", options.client));

  const models::Model& model = workload.model();
  const models::LocalTrainingConfig& local = workload.local();
  models::LocalTrainer trainer(parts.backend, model, workload.data().train, workload.data().test, local, parts.seed, 1);
  models::ModelStore store;
  Rng init(parts.seed, "init");
  store.put(0, model.init_parameters(init));

  // The rule's local terms (FedProx's μ, SCAFFOLD's correction) change the steps and their modelled cost;
  // a zero correction costs what any correction does.
  const policies::LocalObjective rule = parts.aggregation.local_objective(client, 1);
  kernels::Buffer correction;
  models::TrainTask task;
  task.client = static_cast<std::int32_t>(options.client);
  task.samples = samples;
  task.round = 1;
  task.from = 0;
  const auto n_samples = static_cast<std::int64_t>(samples.size());
  const std::int64_t steps_per_epoch = (n_samples + local.batch_size - 1) / local.batch_size;
  task.epochs = (options.steps + steps_per_epoch - 1) / steps_per_epoch;  // enough epochs for the steps
  task.max_steps = options.steps;
  task.objective = {rule.proximal_mu, rule.corrected, nullptr};
  if (rule.corrected) {
    correction = parts.backend.alloc(static_cast<std::size_t>(model.parameter_count()));
    task.objective.correction = correction.data();
  }

  // One warm-up of each (caches, workspaces, page faults), then the repetitions, training and SGEMM
  // interleaved so that both see the same load from whatever else runs on the machine.
  models::TrainResult result;
  auto train = [&] {
    auto results = trainer.train(std::span<const models::TrainTask>(&task, 1), store);
    result = std::move(results.at(0));
  };
  GemmProbe gemm(parts.backend, kGemmN);
  train();
  gemm();
  std::vector<double> train_s, gemm_s;
  for (std::int64_t r = 0; r < options.repeat; ++r) {
    train_s.push_back(seconds_of(train));
    gemm_s.push_back(seconds_of(gemm));
  }
  if (result.steps != options.steps)
    throw std::logic_error(fmt::format("calibrate: trained {} steps, not {}", result.steps, options.steps));

  Calibration c;
  c.host = host_name();
  const YAML::Node about = provenance(parts.backend.name(), {})["provenance"];
  c.cpu = about["cpu_model"] ? about["cpu_model"].as<std::string>() : "";
  if (c.cpu == "unknown") c.cpu.clear();
  c.date = today();
  c.client = options.client;
  c.steps = result.steps;
  c.batch_size = local.batch_size;
  c.model = fmt::format("{}, {} parameters", model.name(), model.parameter_count());
  c.samples_seen = result.samples_seen;
  // Workload::work's cost model, applied to the steps timed.
  c.modelled_flops = static_cast<double>(result.samples_seen) * model.train_flops_per_sample() +
                     static_cast<double>(result.steps) * models::update_flops_per_step(model, local, task.objective);
  c.measured_s = median(train_s);
  c.repeats = options.repeat;
  c.gemm_n = kGemmN;
  c.peak_flops_per_s = gemm.flops() / median(gemm_s);
  return c;
}

}  // namespace dtsim::engine
