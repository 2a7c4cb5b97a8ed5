// A convolutional network for images, as a Model over the Backend. By default exactly CNNMnist of the
// widely used PyTorch FedAvg code (shaoxiongji/federated-learning, models/Nets.py; 21,840 parameters on
// 1×28×28 inputs):
//   conv 1→10 5×5, max-pool 2, ReLU, conv 10→20 5×5, Dropout2d, max-pool 2, ReLU, flatten 320,
//   dense 50, ReLU, dropout, dense 10
// {channels: [32, 64], dense: 512, padding: 2} is the FedAvg paper's CNN (McMahan et al. 2017; 1,663,370
// parameters): 5×5 "same" convolutions, each followed by 2×2 max-pooling.
//
// Every convolution has stride 1, zero padding `padding` and a kernel×kernel kernel, and is followed by
// 2×2 max-pooling then ReLU; channel dropout (nn.Dropout2d, p = dropout) acts on the output of every
// convolution but the first, before its pooling, and element dropout (nn.Dropout) on the dense layer's
// output. Images are NCHW rows (kernels/backend.hpp).
//
// Parameter layout (one flat float vector): for each convolution its filters (out × in × k × k, PyTorch's
// order) then its out biases; then the dense layer's W (flat × dense, row-major) and b (dense); then the
// output layer's W (dense × classes) and b (classes). Dense weights are stored input-major (the
// transpose of PyTorch's Linear.weight), as in the MLP.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "models/model.hpp"

namespace dtsim::models {

struct CnnShape {
  std::int64_t image_channels = 1, height = 28, width = 28;  // the input images
  std::vector<std::int64_t> channels = {10, 20};             // output channels of each convolution
  std::int64_t kernel = 5;
  std::int64_t padding = 0;
  std::int64_t dense = 50;  // width of the hidden dense layer
  std::int64_t classes = 10;
  double dropout = 0;  // in [0, 1): Dropout2d after every convolution but the first, dropout after dense
};

std::int64_t parameter_count(const CnnShape& shape);
double forward_flops_per_sample(const CnnShape& shape);
double train_flops_per_sample(const CnnShape& shape);
// Initial parameters as PyTorch's Conv2d and Linear defaults: weights and biases uniform in
// ±1/sqrt(fan_in) (fan_in = in_channels·k² for a convolution, the inputs for a dense layer).
std::vector<float> init_parameters(const CnnShape& shape, Rng& rng);

// Throws std::invalid_argument naming the problem when the shape cannot be built (an image too small
// for the convolutions, an odd size before a pooling).
std::unique_ptr<Model> make_cnn_model(CnnShape shape);

}  // namespace dtsim::models
