// Multilayer perceptron (ReLU hidden layers, softmax cross-entropy) trained by minibatch SGD, with
// optional momentum and weight decay, through the Backend. logistic = an MLP with no hidden layer.
//
// Parameter layout (one flat float vector of parameter_count() values): for each layer l with
// in_l inputs and out_l outputs, W_l (in_l × out_l, row-major) followed by b_l (out_l).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "kernels/backend.hpp"
#include "models/dataset.hpp"
#include "models/model.hpp"
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

// The MLP (logistic when shape.hidden is empty) as a Model.
std::unique_ptr<Model> make_mlp_model(MlpShape shape);

// Local SGD (LocalTrainingConfig, models/model.hpp) as PyTorch's torch.optim.SGD(lr, momentum,
// weight_decay), made afresh for every train():
//   g = ∇(minibatch mean loss) + weight_decay·p   (every parameter, biases included)
//   v = momentum·v + g                            (v = 0 when a client starts)
//   p = p − lr·v
// With momentum = weight_decay = 0 this is plain SGD, run by the fused path (W += −lr·AᵀdZ in one GEMM).

// The cost per SGD step beyond batch·train_flops_per_sample: 0 for plain SGD; with momentum or weight
// decay, the flops Backend::sgd_momentum_update reports for one step of one client (all parameters).
double update_flops_per_step(const MlpShape& shape, const LocalTrainingConfig& config);

class MlpTrainer final : public Trainer {
 public:
  // chunk = how many clients one batched backend call trains together (>= 1). Results never depend
  // on chunk or on the backend's thread count. The datasets must outlive the trainer.
  MlpTrainer(kernels::Backend& backend, MlpShape shape, const Dataset& train, const Dataset& test,
             LocalTrainingConfig config, std::uint64_t seed, std::int64_t chunk);
  ~MlpTrainer();
  MlpTrainer(const MlpTrainer&) = delete;
  MlpTrainer& operator=(const MlpTrainer&) = delete;

  // Trains every client of `work` from `global` (parameter_count() values); results in work order.
  std::vector<ClientResult> train(std::span<const float> global, std::span<const ClientWork> work) override;
  // Mean loss and accuracy of `params` on the whole test set.
  Evaluation evaluate(std::span<const float> params) override;

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace dtsim::models
