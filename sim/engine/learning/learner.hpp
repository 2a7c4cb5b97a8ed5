// Learners turn a round whose timing SimGrid settled into real learning (DESIGN principle 2): the
// participants' local training as batched backend calls, then the aggregation policy, then evaluation.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <span>
#include <vector>

#include "policies/common.hpp"
#include "sim/common/checkpointable.hpp"

namespace dtsim::engine {

struct LearnRequest {
  policies::RoundContext round;           // the round, the model version being replaced, the time now
  std::span<const ClientId> participants;  // the clients whose updates arrived and were kept, in plan order
  // Per participant, the local steps it executed (partial work: fewer than planned); empty = as planned.
  std::span<const std::int64_t> steps;
  bool aggregate = true;                   // false: too few arrived (min_completed); the model is kept
  bool evaluate = false;                   // evaluate the (new or kept) global model on the test set
  bool evaluate_train = false;             // ... and then on the training set too
};

struct RoundLearning {
  std::optional<double> train_loss, test_loss, test_accuracy;  // empty when not measured
  std::optional<double> train_accuracy;  // argmax hits over every training sample seen, from the loss pass
  std::optional<double> global_train_loss, global_train_accuracy;  // the global model on the training set
  // Per participant, in request order (empty when nothing was trained): the samples its local training
  // saw and its mean local loss (empty when it saw none).
  std::vector<std::int64_t> client_samples;
  std::vector<std::optional<double>> client_train_loss;
  bool diverged = false;  // loss or model became NaN/infinite
  // What the aggregation rule recorded this round (metric, value), in its order (policy_metrics.csv).
  std::vector<std::pair<std::string, double>> aggregation_metrics;
};

// Checkpointable: the real learner saves the global model.
class Learner : public Checkpointable {
 public:
  virtual ~Learner() = default;
  virtual RoundLearning learn(const LearnRequest& request) = 0;
};

// Timing only (training.compute: none): nothing is trained or measured.
std::unique_ptr<Learner> make_no_learner();

}  // namespace dtsim::engine
