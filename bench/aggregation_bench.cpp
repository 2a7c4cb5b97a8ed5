// Aggregation cost per round as clients per round (K) and the model size (d) grow: the pre-issue host
// path — one double loop over host vectors, on one thread (what real_learner did before "Aggregation
// over the Backend") — against the rules on the CPU backend (Backend::weighted_sum over the updates'
// chunks, one double accumulator, 1 and 2 threads), and SCAFFOLD's full server step (its c_i updated in
// backend memory) where its state fits.
//
//     aggregation_bench [--repeats N] [--chunk C]
//
// The updates are P = min(K, 64) distinct d-float buffers handed out in turn (K different clients), so
// the memory traffic is K·d·4 bytes per round while the bench holds at most 64 models. Prints the median
// of N rounds (default 5) in milliseconds and the update bytes read per second.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/backend.hpp"
#include "policies/aggregation/aggregation.hpp"
#include "sim/common/rng.hpp"
#include "sim/scenario/params.hpp"

namespace {

using namespace dtsim;
using Clock = std::chrono::steady_clock;

class NoMetrics final : public policies::MetricSink {
  void record(const std::string&, double) override {}
};

// The host path this issue replaced: x = Σ p_k·y_k in a double vector, client by client.
void host_fedavg(const std::vector<policies::UpdateInfo>& infos, const std::vector<const float*>& models,
                 std::vector<float>& global) {
  double total = 0;
  for (const auto& u : infos) total += u.samples;
  std::vector<double> acc(global.size(), 0.0);
  for (std::size_t k = 0; k < models.size(); ++k) {
    const double w = infos[k].samples / total;
    const float* y = models[k];
    for (std::size_t j = 0; j < acc.size(); ++j) acc[j] += w * static_cast<double>(y[j]);
  }
  for (std::size_t j = 0; j < acc.size(); ++j) global[j] = static_cast<float>(acc[j]);
}

std::unique_ptr<policies::AggregationPolicy> make(const std::string& name, std::int64_t k, std::int64_t d) {
  auto ctx = std::make_shared<ParamsContext>();
  Params params(ctx, YAML::Node(), "policies.aggregation");
  BuildContext b;
  b.population = k;
  b.parameter_count = d;
  b.clients_per_round = k;
  b.rounds = 2;
  return policies::aggregation_registry().at(name).make(params, b);
}

template <class F>
double median_ms(int repeats, F&& round) {
  std::vector<double> t;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
    round(r);
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = 5;
  std::size_t chunk = 1u << 30;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--repeats")) repeats = std::max(1, std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--chunk")) chunk = static_cast<std::size_t>(std::max(1, std::atoi(argv[i + 1])));
    else {
      std::fprintf(stderr, "usage: aggregation_bench [--repeats N] [--chunk C]\n");
      return 2;
    }
  }
  auto one = kernels::make_cpu_backend(1), two = kernels::make_cpu_backend(2);
  NoMetrics metrics;
  std::printf("%10s %6s %-22s %12s %10s\n", "d", "K", "path", "ms/round", "GB/s read");
  for (const std::int64_t d : {std::int64_t{10'000}, std::int64_t{159'010}, std::int64_t{1'663'370}}) {
    for (const std::int64_t k : {std::int64_t{10}, std::int64_t{100}, std::int64_t{1000}}) {
      const auto pool = static_cast<std::size_t>(std::min<std::int64_t>(k, 64));
      Rng rng(1, "aggregation-bench");
      std::vector<std::vector<float>> buffers(pool, std::vector<float>(static_cast<std::size_t>(d)));
      for (auto& b : buffers)
        for (auto& v : b) v = static_cast<float>(rng.uniform(-1, 1));
      std::vector<policies::UpdateInfo> infos;
      std::vector<const float*> models;
      for (std::int64_t i = 0; i < k; ++i) {
        infos.push_back({ClientId{static_cast<std::int32_t>(i)}, static_cast<double>(1 + rng.below(500)), 50});
        models.push_back(buffers[static_cast<std::size_t>(i) % pool].data());
      }
      std::vector<float> global(static_cast<std::size_t>(d), 0.0f);
      const double bytes = 4.0 * static_cast<double>(k) * static_cast<double>(d);
      const auto report = [&](const char* path, double ms) {
        std::printf("%10lld %6lld %-22s %12.3f %10.2f\n", static_cast<long long>(d), static_cast<long long>(k), path, ms,
                    bytes / (ms * 1e-3) / 1e9);
        std::fflush(stdout);
      };
      report("host loop (before)", median_ms(repeats, [&](int) { host_fedavg(infos, models, global); }));
      for (auto* be : {one.get(), two.get()}) {
        auto rule = make("fedavg", k, d);
        const double ms = median_ms(repeats, [&](int r) {
          policies::ResidentUpdates set(infos, models, chunk);
          rule->aggregate({{r + 1, r, 0}, *be, metrics}, set, global);
        });
        report(be == one.get() ? "fedavg backend, 1 thr" : "fedavg backend, 2 thr", ms);
      }
      if (static_cast<double>(k) * static_cast<double>(d) <= 2e8) {  // SCAFFOLD's c_i: K·d floats
        auto rule = make("scaffold", k, d);
        policies::ResidentUpdates first(infos, models, chunk);
        rule->aggregate({{1, 0, 0}, *two, metrics}, first, global);  // materialises every c_i
        const double ms = median_ms(repeats, [&](int r) {
          policies::ResidentUpdates set(infos, models, chunk);
          rule->aggregate({{r + 2, r + 1, 0}, *two, metrics}, set, global);
        });
        report("scaffold backend, 2 thr", ms);
      }
    }
  }
  return 0;
}
