// The MLP's layers over the Backend (models/mlp.hpp); the training loop around them is
// models/local_trainer.cpp.
//
// One item's minibatch of b rows, with L layers, A_0 = X (b×in) and A_l the output of hidden layer l−1:
//   forward   Z_l = A_l·W_l + 1·b_lᵀ; A_{l+1} = dropout(relu(Z_l)) (l < L−1); logits Z_{L−1}
//   backward  from dZ_{L−1} (the loss gradient the trainer wrote over the logits), for l = L−1 … 0:
//             dA_l = dZ_l·W_lᵀ (l > 0, before g gains W_l's gradient: g may be the parameters);
//             g_W_l += scale·A_lᵀ·dZ_l (one GEMM, beta = 1); g_b_l += scale·colsum(dZ_l);
//             dZ_{l−1} = dropout(dA_l) ⊙ (A_l > 0)   (the same mask as the forward pass, from the same key)
// Dropout is inverted (kept units scaled by 1/(1−p)), after the ReLU, which equals PyTorch's
// Linear → Dropout → ReLU of the peer code (the scale is positive).
//
// Workspace of one item laid out for `capacity` rows (row widths): A_1 … A_{L−1} (hidden widths), Z
// (classes), then, when training, dA_1 … dA_{L−1}.
#include "models/mlp.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/op_contract.hpp"
#include "models/gemm_scratch.hpp"

namespace dtsim::models {

using kernels::Activation;
using kernels::ConstMatView;
using kernels::Cost;
using kernels::MatView;
using kernels::Trans;

namespace {

struct Layer {
  std::int64_t in = 0, out = 0;
  std::size_t w = 0, b = 0;  // offsets of W (in×out) and b (out) in the flat parameter vector
};

std::vector<Layer> layers_of(const MlpShape& shape) {
  if (shape.inputs < 1) throw std::invalid_argument("mlp: inputs must be >= 1, got " + std::to_string(shape.inputs));
  if (shape.classes < 1) throw std::invalid_argument("mlp: classes must be >= 1, got " + std::to_string(shape.classes));
  if (!(shape.dropout >= 0 && shape.dropout < 1))
    throw std::invalid_argument("mlp: dropout must be in [0, 1), got " + std::to_string(shape.dropout));
  std::vector<Layer> layers;
  std::int64_t in = shape.inputs;
  std::size_t offset = 0;
  auto add = [&](std::int64_t out) {
    Layer l{in, out, offset, offset + static_cast<std::size_t>(in * out)};
    offset = l.b + static_cast<std::size_t>(out);
    layers.push_back(l);
    in = out;
  };
  for (std::int64_t h : shape.hidden) {
    if (h < 1) throw std::invalid_argument("mlp: hidden layer widths must be >= 1, got " + std::to_string(h));
    add(h);
  }
  add(shape.classes);
  return layers;
}

std::size_t param_count(const std::vector<Layer>& layers) {
  return layers.back().b + static_cast<std::size_t>(layers.back().out);
}

// Rows of the test set per evaluation item (local_trainer.cpp's kEvalRows), for the scratch estimate.
constexpr std::int64_t kEvalRows = 256;

class MlpModel final : public Model {
 public:
  explicit MlpModel(MlpShape shape) : shape_(std::move(shape)), layers_(layers_of(shape_)) {}

  std::string name() const override { return shape_.hidden.empty() ? "logistic" : "mlp"; }
  std::int64_t parameter_count() const override { return static_cast<std::int64_t>(param_count(layers_)); }
  std::int64_t input_features() const override { return shape_.inputs; }
  std::int64_t classes() const override { return shape_.classes; }
  std::vector<float> init_parameters(Rng& rng) const override { return models::init_parameters(shape_, rng); }
  double forward_flops_per_sample() const override { return models::forward_flops_per_sample(shape_); }
  double train_flops_per_sample() const override { return models::train_flops_per_sample(shape_); }

  std::size_t workspace_floats(std::int64_t rows, bool train) const override {
    std::size_t per_row = static_cast<std::size_t>(shape_.classes);
    for (std::size_t l = 1; l < layers_.size(); ++l) per_row += static_cast<std::size_t>(layers_[l].in) * (train ? 2 : 1);
    return per_row * static_cast<std::size_t>(std::max<std::int64_t>(rows, 0));
  }

  // The products of a step (batch rows) and of an evaluation item (kEvalRows rows): Z_l = A_l·W_l,
  // dA_l = dZ_l·W_lᵀ, W_l += A_lᵀ·dZ_l.
  double backend_scratch_bytes(std::int64_t rows) const override {
    double most = 0;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      const Layer& l = layers_[i];
      most = std::max({most, eigen_gemm_workspace(rows, l.out, l.in), eigen_gemm_workspace(kEvalRows, l.out, l.in),
                       eigen_gemm_workspace(l.in, l.out, rows), i > 0 ? eigen_gemm_workspace(rows, l.in, l.out) : 0.0});
    }
    return most;
  }

  Cost forward(kernels::Backend& be, std::span<const ModelItem> items, bool train, CallArgs& args,
               std::span<MatView> logits) const override {
    const std::size_t n = items.size(), L = layers_.size();
    const bool drop = train && shape_.dropout > 0;
    args.resize(n);
    Cost cost;
    for (std::size_t l = 0; l < L; ++l) {
      for (std::size_t i = 0; i < n; ++i) {
        args.a[i] = input_of(items[i], l);
        args.b[i] = weights(items[i], l);
        args.c[i] = output_of(items[i], l);
        args.cp[i] = items[i].params + layers_[l].b;
      }
      cost += be.gemm(Trans::no, Trans::no, 1.0f, args.a, args.b, 0.0f, args.c);
      cost += be.bias_activation(l + 1 < L ? Activation::relu : Activation::none, args.cp, args.c);
      if (drop && l + 1 < L) {
        for (std::size_t i = 0; i < n; ++i) args.keys[i] = dropout_layer_key(items[i].dropout_key, l);
        cost += be.dropout(static_cast<float>(shape_.dropout), 1, args.keys, args.c);
      }
    }
    for (std::size_t i = 0; i < n; ++i) logits[i] = output_of(items[i], L - 1);
    return cost;
  }

  Cost backward(kernels::Backend& be, std::span<const ModelItem> items, float scale, std::span<float* const> g,
                CallArgs& args) const override {
    const std::size_t n = items.size(), L = layers_.size();
    const bool drop = shape_.dropout > 0;
    args.resize(n);
    Cost cost;
    for (std::size_t l = L; l-- > 0;) {
      if (l > 0) {
        for (std::size_t i = 0; i < n; ++i) {
          args.a[i] = grad_out(items[i], l);
          args.b[i] = weights(items[i], l);
          args.c[i] = grad_in(items[i], l);
        }
        cost += be.gemm(Trans::no, Trans::yes, 1.0f, args.a, args.b, 0.0f, args.c);
      }
      for (std::size_t i = 0; i < n; ++i) {
        args.a[i] = input_of(items[i], l);
        args.b[i] = grad_out(items[i], l);
        args.c[i] = MatView{g[i] + layers_[l].w, layers_[l].in, layers_[l].out, layers_[l].out};
        args.p[i] = g[i] + layers_[l].b;
      }
      cost += be.gemm(Trans::yes, Trans::no, scale, args.a, args.b, 1.0f, args.c);
      cost += be.add_column_sums(scale, args.b, args.p);
      if (l > 0) {
        for (std::size_t i = 0; i < n; ++i) {
          args.a[i] = input_of(items[i], l);
          args.c[i] = grad_in(items[i], l);
        }
        if (drop) {
          for (std::size_t i = 0; i < n; ++i) args.keys[i] = dropout_layer_key(items[i].dropout_key, l - 1);
          cost += be.dropout(static_cast<float>(shape_.dropout), 1, args.keys, args.c);
        }
        cost += be.relu_backward(args.a, args.c);
      }
    }
    return cost;
  }

 private:
  // Offset (floats) of A_l (l >= 1), of the logits (l = L), or of dA_l (train, l >= 1) in a workspace
  // laid out for `capacity` rows.
  std::size_t act_offset(std::size_t l, std::int64_t capacity) const {
    std::size_t off = 0;
    for (std::size_t k = 1; k < l; ++k) off += static_cast<std::size_t>(layers_[k].in);
    return off * static_cast<std::size_t>(capacity);
  }
  std::size_t grad_offset(std::size_t l, std::int64_t capacity) const {
    std::size_t off = static_cast<std::size_t>(shape_.classes);
    for (std::size_t k = 1; k < layers_.size(); ++k) off += static_cast<std::size_t>(layers_[k].in);
    for (std::size_t k = 1; k < l; ++k) off += static_cast<std::size_t>(layers_[k].in);
    return off * static_cast<std::size_t>(capacity);
  }
  ConstMatView input_of(const ModelItem& it, std::size_t l) const {
    if (l == 0) return it.x;
    return ConstMatView(it.workspace + act_offset(l, it.capacity), it.x.rows, layers_[l].in, layers_[l].in);
  }
  MatView output_of(const ModelItem& it, std::size_t l) const {  // A_{l+1}, or the logits
    return MatView{it.workspace + act_offset(l + 1, it.capacity), it.x.rows, layers_[l].out, layers_[l].out};
  }
  MatView grad_in(const ModelItem& it, std::size_t l) const {  // dA_l, l >= 1
    return MatView{it.workspace + grad_offset(l, it.capacity), it.x.rows, layers_[l].in, layers_[l].in};
  }
  MatView grad_out(const ModelItem& it, std::size_t l) const {  // dZ_l: dA_{l+1}, or the logits' gradient
    if (l + 1 < layers_.size()) return grad_in(it, l + 1);
    return output_of(it, l);
  }
  ConstMatView weights(const ModelItem& it, std::size_t l) const {
    return ConstMatView(it.params + layers_[l].w, layers_[l].in, layers_[l].out, layers_[l].out);
  }

  MlpShape shape_;
  std::vector<Layer> layers_;
};

}  // namespace

std::int64_t parameter_count(const MlpShape& shape) { return static_cast<std::int64_t>(param_count(layers_of(shape))); }

double forward_flops_per_sample(const MlpShape& shape) {
  const auto layers = layers_of(shape);
  double flops = 0;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const double in = static_cast<double>(layers[l].in), out = static_cast<double>(layers[l].out);
    const bool relu = l + 1 < layers.size();
    flops += 2 * in * out + out * (relu ? 2 : 1);  // gemm, bias (+ relu)
  }
  return flops + kernels::contract::kSoftmaxFlopsPerElement * static_cast<double>(shape.classes);
}

double train_flops_per_sample(const MlpShape& shape) {
  const auto layers = layers_of(shape);
  double flops = forward_flops_per_sample(shape) +
                 kernels::contract::kSoftmaxGradFlopsPerElement * static_cast<double>(shape.classes);
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const double in = static_cast<double>(layers[l].in), out = static_cast<double>(layers[l].out);
    if (l > 0) flops += 2 * out * in + in;                // dA = dZ·Wᵀ, relu_backward
    if (l > 0 && shape.dropout > 0) flops += 2 * in;      // dropout of A_l, forward and backward
    flops += 2 * in * out + out;                          // W += −lr·AᵀdZ, b += −lr·colsum(dZ)
  }
  return flops;
}

std::vector<float> init_parameters(const MlpShape& shape, Rng& rng) {
  const auto layers = layers_of(shape);
  std::vector<float> params(param_count(layers), 0.0f);
  for (const Layer& l : layers) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(l.in));
    for (std::size_t i = 0; i < static_cast<std::size_t>(l.in * l.out + l.out); ++i)
      params[l.w + i] = static_cast<float>(rng.uniform(-bound, bound));
  }
  return params;
}

std::unique_ptr<Model> make_mlp_model(MlpShape shape) { return std::make_unique<MlpModel>(std::move(shape)); }

}  // namespace dtsim::models
