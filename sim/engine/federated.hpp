// The synchronous federated paradigm (FedAvg-style rounds) on a star platform.
//
// Each round: the scheduling policy picks clients; each picked client downloads the model from the
// server, computes its local training (a SimGrid execution of its modelled flops on its own host) and
// uploads its update; the round waits for all of them, the server aggregates (2·d flops per update on
// the server host), and the Learner then does the real training of the round's participants in one
// batched call (DESIGN principle 2: timing settled first, zero simulated time for the real compute).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "policies/scheduling/scheduling.hpp"
#include "sim/engine/platform.hpp"
#include "sim/engine/records.hpp"
#include "sim/scenario/scenario.hpp"

namespace dtsim::engine {

// Modelled work of one client per round (fixed by its data and the local-training settings).
struct ClientWorkload {
  std::int64_t samples = 0;
  std::int64_t local_steps = 0;
  double flops = 0;
};

struct RoundLearning {
  std::optional<double> train_loss, test_loss, test_accuracy;
  std::vector<double> client_train_loss;  // mean local loss per participant, in order; empty if not trained
  bool diverged = false;                  // loss or model became NaN/infinite
};

// Real learning of a round: train the participants from the global model, aggregate, evaluate.
class Learner {
 public:
  virtual ~Learner() = default;
  // ctx: the round, the global model version being replaced, and the simulated time of aggregation.
  virtual RoundLearning learn(const policies::RoundContext& ctx, std::span<const policies::ClientId> participants,
                              bool evaluate) = 0;
};

struct FederatedSetup {
  const Scenario* scenario = nullptr;
  Platform platform;
  std::vector<ClientWorkload> work;  // one per client
  double model_bytes = 0;            // bytes of one model transfer (parameters × 4)
  double aggregation_flops_per_update = 0;
  policies::SchedulingPolicy* scheduler = nullptr;
  Learner* learner = nullptr;
  RunObserver* observer = nullptr;
  const std::atomic<bool>* stop_requested = nullptr;  // checked between rounds (SIGINT/SIGTERM)
};

struct FederatedOutcome {
  std::int64_t rounds_completed = 0;
  double final_sim_time_s = 0;
  std::optional<double> final_test_accuracy;
  bool diverged = false;
  bool interrupted = false;
};

// Creates the actors and runs the SimGrid engine to the end. Requires a live Engine and platform.
FederatedOutcome run_federated(const FederatedSetup& setup);

}  // namespace dtsim::engine
