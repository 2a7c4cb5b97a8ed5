// The Model seam (DESIGN "Model"): what the rest of dtsim may know about a model — its parameter
// count, its modelled cost from the shapes, its initial parameters, and how to train it over the Backend
// — so nothing model-specific lives in the engine. logistic and mlp are Models (models/mlp.hpp); the
// registry (models/registry.hpp) makes them by name.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kernels/backend.hpp"
#include "models/dataset.hpp"
#include "sim/common/rng.hpp"

namespace dtsim::models {

// Local SGD as PyTorch's torch.optim.SGD(lr, momentum, weight_decay), made afresh for every client's
// local training (models/mlp.hpp gives the update):
struct LocalTrainingConfig {
  std::int64_t epochs = 1;
  std::int64_t batch_size = 10;
  double lr = 0.01;
  double momentum = 0;      // in [0, 1)
  double weight_decay = 0;  // >= 0 (L2 coefficient, per unit of parameter)
};

// SGD steps a client with `samples` training samples takes: epochs * ceil(samples / batch_size).
std::int64_t local_steps(std::int64_t samples, const LocalTrainingConfig& config);

// One client's local training task: start from the global model, run its local epochs.
struct ClientWork {
  std::int32_t client = 0;
  std::span<const std::int32_t> samples;  // indices into the training set
  std::int64_t round = 0;                 // keys the client's shuffle stream (seed, "shuffle", client, round)
};

struct ClientResult {
  std::vector<float> params;  // y_k, parameter_count() values
  std::int64_t steps = 0;     // SGD steps taken
  std::int64_t samples_seen = 0;
  double loss_sum = 0;  // summed minibatch loss over every sample seen (nats)
  double flops = 0;     // summed Backend cost of the training
};

struct Evaluation {
  double loss = 0;      // mean test cross-entropy (nats)
  double accuracy = 0;  // fraction in [0, 1]
};

// Trains batches of clients and evaluates models over one Backend, for one dataset.
class Trainer {
 public:
  virtual ~Trainer() = default;
  // Trains every client of `work` from `global` (parameter_count() values); results in work order, never
  // depending on how the backend batches or threads them.
  virtual std::vector<ClientResult> train(std::span<const float> global, std::span<const ClientWork> work) = 0;
  // Mean loss and accuracy of `params` on the whole test set.
  virtual Evaluation evaluate(std::span<const float> params) = 0;
};

class Model {
 public:
  virtual ~Model() = default;
  virtual std::int64_t parameter_count() const = 0;
  // Modelled cost from the shapes (flops): one training sample's forward + backward + plain-SGD update,
  // and the extra cost of one optimizer step beyond that (momentum or weight decay).
  virtual double train_flops_per_sample() const = 0;
  virtual double update_flops_per_step(const LocalTrainingConfig& config) const = 0;
  // Floats of activation workspace per minibatch row (the widest layer), for the memory estimate.
  virtual double activation_floats_per_row() const = 0;
  virtual std::vector<float> init_parameters(Rng& rng) const = 0;
  // chunk >= 1: clients one batched backend call trains together. The datasets must outlive the trainer.
  virtual std::unique_ptr<Trainer> make_trainer(kernels::Backend& backend, const Dataset& train, const Dataset& test,
                                                const LocalTrainingConfig& config, std::uint64_t seed,
                                                std::int64_t chunk) const = 0;
};

}  // namespace dtsim::models
