// Real learning: the participants' local training from the global model in batched backend calls (the
// model's Trainer), the aggregation policy, and evaluation on the test set.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/backend.hpp"
#include "models/workload.hpp"
#include "policies/aggregation/aggregation.hpp"
#include "sim/common/memory_part.hpp"
#include "sim/engine/learning/learner.hpp"

namespace dtsim::engine {

struct RealLearnerSetup {
  kernels::Backend& backend;
  const models::Workload& workload;  // data loaded with features
  policies::AggregationPolicy& aggregation;
  std::uint64_t seed = 1;  // the initial model draws from Rng(seed, "init")
  std::int64_t chunk = 0;  // clients per batched call; 0 = the backend's preference
};

std::unique_ptr<Learner> make_real_learner(const RealLearnerSetup& setup);

// Modelled memory of real learning: the global model, per participant its result, workspace and
// (with momentum or weight decay) velocity, and its minibatch activations.
MemoryPart real_learner_memory(const models::Model& model, const models::LocalTrainingConfig& local,
                               std::int64_t participants);

}  // namespace dtsim::engine
