// Multilayer perceptron (ReLU hidden layers, softmax cross-entropy) trained by minibatch SGD, with
// optional momentum and weight decay, through the Backend. logistic = an MLP with no hidden layer.
//
// Parameter layout (one flat float vector of parameter_count() values): for each layer l with
// in_l inputs and out_l outputs, W_l (in_l × out_l, row-major) followed by b_l (out_l).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "kernels/backend.hpp"
#include "models/dataset.hpp"
#include "sim/common/rng.hpp"

namespace dtsim::models {

struct MlpShape {
  std::int64_t inputs = 0;
  std::vector<std::int64_t> hidden;  // empty = logistic regression
  std::int64_t classes = 0;
};

std::int64_t parameter_count(const MlpShape& shape);
// Modelled cost from the shapes, per sample: the forward pass, and one training step's forward +
// backward + SGD update. Training one minibatch of b samples costs b * train_flops_per_sample
// (+ update_flops_per_step with momentum or weight decay, below).
double forward_flops_per_sample(const MlpShape& shape);
double train_flops_per_sample(const MlpShape& shape);
// Initial parameters: W uniform in ±sqrt(6 / (in + out)) (Glorot), biases 0, from `rng`.
std::vector<float> init_parameters(const MlpShape& shape, Rng& rng);

// Local SGD as PyTorch's torch.optim.SGD(lr, momentum, weight_decay), made afresh for every train():
//   g = ∇(minibatch mean loss) + weight_decay·p   (every parameter, biases included)
//   v = momentum·v + g                            (v = 0 when a client starts)
//   p = p − lr·v
// With momentum = weight_decay = 0 this is plain SGD, run by the fused path (W += −lr·AᵀdZ in one GEMM).
struct LocalTrainingConfig {
  std::int64_t epochs = 1;
  std::int64_t batch_size = 10;
  double lr = 0.01;
  double momentum = 0;      // in [0, 1)
  double weight_decay = 0;  // >= 0 (L2 coefficient, per unit of parameter)
};

// The cost per SGD step beyond batch·train_flops_per_sample: 0 for plain SGD; with momentum or weight
// decay, the flops Backend::sgd_momentum_update reports for one step of one client (all parameters).
double update_flops_per_step(const MlpShape& shape, const LocalTrainingConfig& config);

// SGD steps a client with `samples` training samples takes: epochs * ceil(samples / batch_size).
std::int64_t local_steps(std::int64_t samples, const LocalTrainingConfig& config);

// One client's local training task: start from the global model, run its local epochs.
struct ClientWork {
  std::int32_t client = 0;
  std::span<const std::int32_t> samples;  // indices into the training set
  std::int64_t round = 0;                 // keys the client's shuffle stream (seed, "shuffle", client, round)
};

struct ClientResult {
  std::vector<float> params;    // y_k, parameter_count() values
  std::int64_t steps = 0;       // SGD steps taken
  std::int64_t samples_seen = 0;
  double loss_sum = 0;          // summed minibatch loss over every sample seen (nats)
  double flops = 0;             // summed Backend cost of the training (samples_seen·train_flops_per_sample
                                // + steps·update_flops_per_step)
};

struct Evaluation {
  double loss = 0;      // mean test cross-entropy (nats)
  double accuracy = 0;  // fraction in [0, 1]
};

class MlpTrainer {
 public:
  // chunk = how many clients one batched backend call trains together (>= 1). Results never depend
  // on chunk or on the backend's thread count. The datasets must outlive the trainer.
  MlpTrainer(kernels::Backend& backend, MlpShape shape, const Dataset& train, const Dataset& test,
             LocalTrainingConfig config, std::uint64_t seed, std::int64_t chunk);
  ~MlpTrainer();
  MlpTrainer(const MlpTrainer&) = delete;
  MlpTrainer& operator=(const MlpTrainer&) = delete;

  // Trains every client of `work` from `global` (parameter_count() values); results in work order.
  std::vector<ClientResult> train(std::span<const float> global, std::span<const ClientWork> work);
  // Mean loss and accuracy of `params` on the whole test set.
  Evaluation evaluate(std::span<const float> params);

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace dtsim::models
