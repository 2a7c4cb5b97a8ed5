// The Model seam (DESIGN "Model"): what the rest of dtsim may know about a model — its parameter count
// and layout, its initial parameters, its modelled cost from the shapes, and its batched forward and
// backward passes over the Backend — so nothing model-specific lives in the trainer or the engine.
// logistic and mlp (models/mlp.hpp) and cnn (models/cnn.hpp) are Models; the registry
// (models/registry.hpp) makes them by name. The model-agnostic half of training (slots, lockstep
// batching, shuffles, the loss, the optimizer) is models/local_trainer.hpp.
//
// A batched call carries one item per client (or per slice of the test set): item i's input rows, its
// parameters and a workspace of workspace_floats() floats laid out by the model for the item's
// activations. Items never share memory they write, so the backend may run them in any order.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kernels/backend.hpp"
#include "sim/common/rng.hpp"

namespace dtsim::models {

// Local SGD as PyTorch's torch.optim.SGD(lr, momentum, weight_decay), made afresh for every client's
// local training (models/local_trainer.hpp gives the update):
struct LocalTrainingConfig {
  std::int64_t epochs = 1;
  std::int64_t batch_size = 10;
  double lr = 0.01;
  double momentum = 0;      // in [0, 1)
  double weight_decay = 0;  // >= 0 (L2 coefficient, per unit of parameter)
};

// How an aggregation rule changes local training (FedProx, SCAFFOLD; "Aggregation over the Backend").
// The rule says what to add (policies::LocalObjective); the caller puts the correction where the backend
// computes. Cost and memory depend only on the shape (proximal_mu != 0, corrected), so the simulated
// timing can be planned before anything is trained.
struct LocalObjective {
  double proximal_mu = 0;             // FedProx's μ: adds μ·(p − from) to the gradient
  bool corrected = false;             // adds a correction to every step's gradient (SCAFFOLD's c − c_i)
  const float* correction = nullptr;  // that correction, when training: parameter_count() floats of backend
                                      // memory, unchanged until the task's train() returns
};

// SGD steps a client with `samples` training samples takes: epochs * ceil(samples / batch_size).
std::int64_t local_steps(std::int64_t samples, const LocalTrainingConfig& config);

// One item of a batched Model call: one client's minibatch, or one slice of the test set.
struct ModelItem {
  const float* params = nullptr;  // parameter_count() floats, backend memory
  kernels::ConstMatView x;        // the input rows: x.rows × input_features(), backend memory
  float* workspace = nullptr;     // workspace_floats(capacity, train) floats, backend memory
  std::int64_t capacity = 0;      // rows the workspace is laid out for (>= x.rows)
  std::uint64_t dropout_key = 0;  // keys this step's dropout masks (training with dropout only)
};

// The argument arrays of batched Backend calls, kept by the caller (one per lane) and reused, so a
// training step allocates nothing.
struct CallArgs {
  std::vector<kernels::ConstMatView> a, b;
  std::vector<kernels::MatView> c;
  std::vector<const float*> cp;
  std::vector<float*> p;
  std::vector<std::uint64_t> keys;
  void resize(std::size_t n) {
    a.resize(n);
    b.resize(n);
    c.resize(n);
    cp.resize(n);
    p.resize(n);
    keys.resize(n);
  }
};

// The key of one dropout layer's mask in one training step: (client, round, step) through the step's
// key, then the layer (DESIGN: masks keyed per client, round, step and layer).
inline std::uint64_t dropout_layer_key(std::uint64_t step_key, std::uint64_t layer) {
  std::uint64_t z = step_key + 0x9E3779B97F4A7C15ULL * (layer + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

class Model {
 public:
  virtual ~Model() = default;
  virtual std::string name() const = 0;
  virtual std::int64_t parameter_count() const = 0;
  virtual std::int64_t input_features() const = 0;
  virtual std::int64_t classes() const = 0;
  // Initial parameters (parameter_count() values) drawn from rng.
  virtual std::vector<float> init_parameters(Rng& rng) const = 0;

  // Modelled cost from the shapes (flops): one sample's forward pass (evaluation), and one training
  // sample's forward + backward + plain-SGD update, so training a minibatch of b rows costs
  // b · train_flops_per_sample() (the optimizer's extra cost is the trainer's).
  virtual double forward_flops_per_sample() const = 0;
  virtual double train_flops_per_sample() const = 0;

  // Floats of one item's workspace for up to `rows` rows: every layer's output and, when training, what
  // the backward pass needs (the input gradients of the layers).
  virtual std::size_t workspace_floats(std::int64_t rows, bool train) const = 0;
  // Bytes of backend scratch a computing thread allocates inside this model's calls on the CPU backend
  // (Eigen's packed GEMM panels) for items of `rows` rows, for the memory estimate.
  virtual double backend_scratch_bytes(std::int64_t rows) const = 0;

  // The forward pass of every item. Returns in logits[i] item i's logits (x.rows × classes(), inside its
  // workspace). With train and dropout, the masks come from the items' dropout keys.
  virtual kernels::Cost forward(kernels::Backend& be, std::span<const ModelItem> items, bool train, CallArgs& args,
                                std::span<kernels::MatView> logits) const = 0;
  // The backward pass after forward(train = true) of the same items, from the loss gradient the caller
  // wrote over the logits: g[i] (parameter_count() floats, the parameters' layout) += scale · ∂loss/∂params.
  // Every layer's input gradient is computed before that layer's gradient is added to g[i], so g[i] may
  // be items[i].params itself (fused plain SGD: scale = −lr).
  virtual kernels::Cost backward(kernels::Backend& be, std::span<const ModelItem> items, float scale,
                                 std::span<float* const> g, CallArgs& args) const = 0;
};

}  // namespace dtsim::models
