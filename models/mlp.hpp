// Multilayer perceptron (ReLU hidden layers, optional dropout after each, softmax cross-entropy) as a
// Model over the Backend. logistic = an MLP with no hidden layer.
//
// Parameter layout (one flat float vector of parameter_count() values): for each layer l with in_l
// inputs and out_l outputs, W_l (in_l × out_l, row-major) followed by b_l (out_l).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "models/model.hpp"

namespace dtsim::models {

struct MlpShape {
  std::int64_t inputs = 0;
  std::vector<std::int64_t> hidden;  // empty = logistic regression
  std::int64_t classes = 0;
  double dropout = 0;  // probability of zeroing a hidden unit in training (nn.Dropout), in [0, 1)
};

std::int64_t parameter_count(const MlpShape& shape);
// Modelled cost from the shapes, per sample: the forward pass, and one training step's forward +
// backward + plain-SGD update (dropout's passes included).
double forward_flops_per_sample(const MlpShape& shape);
double train_flops_per_sample(const MlpShape& shape);
// Initial parameters as PyTorch's nn.Linear default (the peer code's): W and b uniform in ±1/sqrt(in), from
// `rng`, layer by layer in the parameter layout's order.
std::vector<float> init_parameters(const MlpShape& shape, Rng& rng);

// The MLP (logistic when shape.hidden is empty) as a Model. Throws std::invalid_argument on a bad shape.
std::unique_ptr<Model> make_mlp_model(MlpShape shape);

}  // namespace dtsim::models
