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

// What a Trainer allocates (bytes), for the memory estimate (DESIGN "Memory"); host memory on the CPU
// backend, device memory on CUDA.
struct TrainerMemory {
  double per_slot = 0;    // one client slot: its parameters, velocity, minibatch activations (the gathered X
                          // included) and labels; a trainer keeps min(chunk, participants) slots
  double shared = 0;      // once per trainer (the zero velocity of momentum or weight decay)
  double evaluation = 0;  // the evaluation workspace: every layer's outputs for the items of one pass, and
                          // the evaluated parameters; allocated at the first evaluation and kept
  double per_thread = 0;  // per backend thread that computes an item, its largest GEMM workspace (the CPU
                          // backend's packed panels, freed after each call)
  std::int64_t evaluation_items = 0;  // items of one evaluation pass
  std::int64_t evaluation_rows = 0;   // test rows per item
  std::int64_t layer_outputs = 0;     // floats of every layer's output per row (the hidden widths and the logits)
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
  // What make_trainer's trainer allocates for `config` and a test set of `test_samples` rows.
  virtual TrainerMemory trainer_memory(const LocalTrainingConfig& config, std::int64_t test_samples) const = 0;
  virtual std::vector<float> init_parameters(Rng& rng) const = 0;
  // chunk >= 1: clients one batched backend call trains together. The datasets must outlive the trainer.
  virtual std::unique_ptr<Trainer> make_trainer(kernels::Backend& backend, const Dataset& train, const Dataset& test,
                                                const LocalTrainingConfig& config, std::uint64_t seed,
                                                std::int64_t chunk) const = 0;
};

}  // namespace dtsim::models
