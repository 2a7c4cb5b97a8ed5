// What a component's factory may know about the run it is built for (DESIGN "Registries"): the
// population, the model's size, the local optimizer, the training mode, the round shape and the
// worker/device counts.
// Plain values only, so policy tests build one in a line.
#pragma once

#include <cstdint>

namespace dtsim {

enum class TrainingMode { sync, async, buffered };

// The clients' local optimizer (workload.local), PyTorch SGD semantics.
struct LocalOptimizer {
  double lr = 0.01;
  double momentum = 0;
  double weight_decay = 0;
};

struct BuildContext {
  std::int64_t population = 0;       // registered clients (platform.clients.count)
  std::int64_t parameter_count = 0;  // d, the model's parameters
  LocalOptimizer optimizer;
  TrainingMode mode = TrainingMode::sync;
  std::int64_t clients_per_round = 0;  // updates per aggregation, at most (training.clients_per_round)
  std::int64_t rounds = 0;             // aggregations in the run (training.rounds)
  std::int64_t workers = 0;  // data-parallel workers (0 when the paradigm has none)
  std::int64_t devices = 0;  // expert-parallel devices
};

}  // namespace dtsim
