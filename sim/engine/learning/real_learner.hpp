// Real learning: the participants' local training from the global model in batched backend calls (the
// model's Trainer), the aggregation policy, and evaluation on the test set.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/backend.hpp"
#include "models/local_trainer.hpp"
#include "models/workload.hpp"
#include "policies/aggregation/aggregation.hpp"
#include "sim/common/memory_part.hpp"
#include "sim/engine/learning/learner.hpp"
#include "sim/engine/memory.hpp"

namespace dtsim::engine {

struct RealLearnerSetup {
  kernels::Backend& backend;
  const models::Workload& workload;  // data loaded with features
  policies::AggregationPolicy& aggregation;
  std::uint64_t seed = 1;  // the initial model draws from Rng(seed, "init")
  std::int64_t chunk = 0;  // clients per batched call; 0 = the backend's preference
};

std::unique_ptr<Learner> make_real_learner(const RealLearnerSetup& setup);

// Modelled memory of real learning on the CPU backend (Model::trainer_memory). What the scenario alone
// decides: "training" — the global model and its stored version, the trainer's shared buffers — the
// rule's own parts (AggregationPolicy::memory, "aggregation"), and "evaluation" — the evaluation workspace
// for a test set of `test_samples`, kept once allocated.
std::vector<MemoryPart> real_learner_memory(const models::Model& model, const models::LocalTrainingConfig& local,
                                            const policies::AggregationPolicy& rule, std::int64_t test_samples);
// What also depends on how the run executes (--threads, --chunk; the defaults resolved as the CPU backend
// does): "slots" — the trainer's client slots (parameters, velocity with momentum, weight decay or an
// objective term, minibatch activations) — "updates" — the trained models of one chunk (of every
// participant when the rule needs them all), with their corrections — and "backend" — per thread, its
// GEMM workspace. `participants`: clients trained per round (at most clients_per_round).
std::vector<MemoryPart> real_learner_execution_memory(const models::Model& model,
                                                      const models::LocalTrainingConfig& local,
                                                      const policies::AggregationPolicy& rule,
                                                      std::int64_t participants, std::int64_t test_samples,
                                                      const ExecutionShape& execution);

}  // namespace dtsim::engine
