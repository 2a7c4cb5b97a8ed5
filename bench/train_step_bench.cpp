// Micro benchmark of the compute core: one round of the reference FedAvg workload's local training
// (10 clients × 600 samples, E = 1, B = 10, lr 0.01: 600 SGD steps of batch 10) of the MLP 784-200-10 or
// the CNN (CNNMnist) through LocalTrainer::train on the CPU backend, for several thread counts and chunk
// sizes. The data is random with Fashion-MNIST's shape (the timing does not depend on the values), so it
// needs no files.
//
//     train_step_bench [--model mlp|cnn] [--rounds N] [--threads 1,2] [--chunks 10,5] [--momentum M]
//                      [--weight-decay D] [--dropout P]
//
// Prints the best and median wall seconds per round over N timed rounds (after one warm-up round),
// and the time of one evaluation of a 10,000-sample test set. The product-level benchmark is
// bench/run_bench.py, which drives the dtsim binary; this one isolates the training kernels.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/backend.hpp"
#include "models/cnn.hpp"
#include "models/local_trainer.hpp"
#include "models/mlp.hpp"

namespace {

using Clock = std::chrono::steady_clock;

std::vector<int> parse_list(const char* s) {
  std::vector<int> out;
  for (const char* p = s; *p;) {
    char* end = nullptr;
    out.push_back(static_cast<int>(std::strtol(p, &end, 10)));
    p = *end == ',' ? end + 1 : end;
    if (end == p && *p) break;
  }
  return out;
}

dtsim::models::Dataset random_dataset(std::int64_t samples, std::uint64_t seed) {
  dtsim::models::Dataset d;
  d.samples = samples;
  d.features = 784;
  d.classes = 10;
  dtsim::Rng rng(seed, "bench-data");
  d.x.resize(static_cast<std::size_t>(samples * d.features));
  for (float& v : d.x) v = static_cast<float>(rng.uniform());
  d.y.resize(static_cast<std::size_t>(samples));
  for (auto& y : d.y) y = static_cast<std::int32_t>(rng.below(10));
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 20;
  std::vector<int> threads = {1, 2};
  std::vector<int> chunks = {10, 5};
  double momentum = 0, weight_decay = 0, dropout = 0;
  std::string model_name = "mlp";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--rounds"))
      rounds = std::max(1, std::atoi(argv[i + 1]));
    else if (!std::strcmp(argv[i], "--threads"))
      threads = parse_list(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--chunks"))
      chunks = parse_list(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--momentum"))
      momentum = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--weight-decay"))
      weight_decay = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--dropout"))
      dropout = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--model") && (!std::strcmp(argv[i + 1], "mlp") || !std::strcmp(argv[i + 1], "cnn")))
      model_name = argv[i + 1];
    else {
      std::fprintf(stderr,
                   "usage: %s [--model mlp|cnn] [--rounds N] [--threads 1,2] [--chunks 10,5] [--momentum M] "
                   "[--weight-decay D] [--dropout P]\n",
                   argv[0]);
      return 2;
    }
  }

  constexpr std::int64_t kClients = 10, kPerClient = 600;
  const auto train = random_dataset(kClients * kPerClient, 1);
  const auto test = random_dataset(10000, 2);
  const auto model = model_name == "cnn"
                         ? dtsim::models::make_cnn_model({1, 28, 28, {10, 20}, 5, 0, 50, 10, dropout})
                         : dtsim::models::make_mlp_model({784, {200}, 10, dropout});
  const dtsim::models::LocalTrainingConfig config{1, 10, 0.01, momentum, weight_decay};
  dtsim::Rng init(1, "init");
  dtsim::models::ModelStore store;
  store.put(0, model->init_parameters(init));

  std::vector<std::vector<std::int32_t>> samples(kClients);
  for (std::int64_t c = 0; c < kClients; ++c) {
    for (std::int64_t i = 0; i < kPerClient; ++i) samples[c].push_back(static_cast<std::int32_t>(c * kPerClient + i));
  }

  const auto steps = kClients * dtsim::models::local_steps(kPerClient, config);
  std::printf(
      "%s (%lld parameters), %lld clients x %lld samples, E=1, B=10, momentum %g, weight decay %g, dropout %g: "
      "%lld SGD steps per round, %.2f GFlop\n",
      model_name.c_str(), static_cast<long long>(model->parameter_count()), static_cast<long long>(kClients),
      static_cast<long long>(kPerClient), momentum, weight_decay, dropout, static_cast<long long>(steps),
      (static_cast<double>(kClients * kPerClient) * model->train_flops_per_sample() +
       static_cast<double>(steps) * dtsim::models::update_flops_per_step(*model, config)) *
          1e-9);
  std::printf("%-8s %-6s %-14s %-14s %-10s\n", "threads", "chunk", "best s/round", "median s/round", "eval s");
  for (int t : threads) {
    auto backend = dtsim::kernels::make_cpu_backend(t);
    for (int chunk : chunks) {
      dtsim::models::LocalTrainer trainer(*backend, *model, train, test, config, 1, chunk);
      std::vector<double> times;
      for (int r = 0; r <= rounds; ++r) {
        std::vector<dtsim::models::TrainTask> work;
        for (std::int64_t c = 0; c < kClients; ++c) {
          dtsim::models::TrainTask task;
          task.client = static_cast<std::int32_t>(c);
          task.samples = samples[c];
          task.round = r;
          work.push_back(task);
        }
        const auto start = Clock::now();
        const auto results = trainer.train(work, store);
        const double s = std::chrono::duration<double>(Clock::now() - start).count();
        if (r > 0) times.push_back(s);  // round 0 warms caches and allocates the workspaces
        if (results.size() != work.size()) return 1;
      }
      std::sort(times.begin(), times.end());
      trainer.evaluate(store.at(0));
      const auto start = Clock::now();
      trainer.evaluate(store.at(0));
      const double eval_s = std::chrono::duration<double>(Clock::now() - start).count();
      std::printf("%-8d %-6d %-14.4f %-14.4f %-10.4f\n", backend->threads(), chunk, times.front(),
                  times[times.size() / 2], eval_s);
    }
  }
  return 0;
}
