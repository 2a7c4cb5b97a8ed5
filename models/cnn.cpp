// The CNN's layers over the Backend (models/cnn.hpp); the training loop around them is
// models/local_trainer.cpp.
//
// One item's minibatch of b images, with convolutions c = 0 … C−1 (input P_{−1} = X):
//   forward   Y_c = conv_c(P_{c−1}); Y_c = dropout2d(Y_c) (c > 0); P_c = relu(maxpool(Y_c));
//             H = dropout(relu(P_{C−1}·W_d + b_d)); logits = H·W_o + b_o
//   backward  from dlogits (the loss gradient the trainer wrote over the logits):
//             dH = dlogits·W_oᵀ; g_o += scale·(Hᵀ·dlogits, colsum dlogits);
//             dZ = dropout(dH) ⊙ (H > 0); dP_{C−1} = dZ·W_dᵀ; g_d += scale·(P_{C−1}ᵀ·dZ, colsum dZ);
//             for c = C−1 … 0: dP_c ⊙= (P_c > 0); dY_c = maxpool_backward(Y_c, dP_c);
//             dY_c = dropout2d(dY_c) (c > 0); dP_{c−1} = conv_c backward input (c > 0);
//             g_c += scale·conv_c backward params(P_{c−1}, dY_c)
// Each layer's input gradient is computed before its parameter gradient joins g (g may be the
// parameters). The dropout masks of the backward pass are the forward pass's (same keys).
//
// Workspace of one item laid out for `capacity` rows (row widths): Y_0, P_0, …, Y_{C−1}, P_{C−1}, H,
// logits; when training, then dY_0, dP_0, …, dY_{C−1}, dP_{C−1}, dH.
#include "models/cnn.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/op_contract.hpp"
#include "models/gemm_scratch.hpp"

namespace dtsim::models {

using kernels::Activation;
using kernels::ConstMatView;
using kernels::Conv2dShape;
using kernels::Cost;
using kernels::MatView;
using kernels::Pool2dShape;
using kernels::Trans;

namespace {

struct Dense {
  std::int64_t in = 0, out = 0;
  std::size_t w = 0, b = 0;  // offsets of W (in × out) and b (out)
};

struct ConvLayer {
  Conv2dShape conv;
  Pool2dShape pool;
  std::size_t params = 0;  // offset of the filters (the biases follow them)
};

// The layers of a CnnShape, checked.
struct Layers {
  std::vector<ConvLayer> convs;
  Dense dense, out;
  std::size_t count = 0;  // parameters
};

Layers layers_of(const CnnShape& s) {
  auto bad = [](const std::string& what) { throw std::invalid_argument("cnn: " + what); };
  if (s.image_channels < 1 || s.height < 1 || s.width < 1) bad("the input must be images (channels × height × width)");
  if (s.channels.empty()) bad("channels must list at least one convolution");
  if (s.kernel < 1) bad("kernel must be >= 1, got " + std::to_string(s.kernel));
  if (s.padding < 0 || s.padding >= s.kernel) bad("padding must be in [0, kernel), got " + std::to_string(s.padding));
  if (s.dense < 1) bad("dense must be >= 1, got " + std::to_string(s.dense));
  if (s.classes < 1) bad("classes must be >= 1, got " + std::to_string(s.classes));
  if (!(s.dropout >= 0 && s.dropout < 1)) bad("dropout must be in [0, 1), got " + std::to_string(s.dropout));
  Layers L;
  std::int64_t c = s.image_channels, h = s.height, w = s.width;
  std::size_t offset = 0;
  for (std::size_t i = 0; i < s.channels.size(); ++i) {
    if (s.channels[i] < 1) bad("channels must be >= 1, got " + std::to_string(s.channels[i]));
    ConvLayer l;
    l.conv = Conv2dShape{c, s.channels[i], h, w, s.kernel, s.padding};
    const std::int64_t ho = l.conv.out_height(), wo = l.conv.out_width();
    if (ho < 2 || wo < 2 || ho % 2 != 0 || wo % 2 != 0) {
      bad("convolution " + std::to_string(i + 1) + " gives " + std::to_string(ho) + "×" + std::to_string(wo) +
          " feature maps, which 2×2 max-pooling cannot halve (input " + std::to_string(h) + "×" + std::to_string(w) +
          ", kernel " + std::to_string(s.kernel) + ", padding " + std::to_string(s.padding) + ")");
    }
    l.pool = Pool2dShape{s.channels[i], ho, wo, 2};
    l.params = offset;
    offset += static_cast<std::size_t>(l.conv.parameter_count());
    L.convs.push_back(l);
    c = s.channels[i];
    h = ho / 2;
    w = wo / 2;
  }
  const std::int64_t flat = c * h * w;
  L.dense = Dense{flat, s.dense, offset, offset + static_cast<std::size_t>(flat * s.dense)};
  offset = L.dense.b + static_cast<std::size_t>(s.dense);
  L.out = Dense{s.dense, s.classes, offset, offset + static_cast<std::size_t>(s.dense * s.classes)};
  L.count = L.out.b + static_cast<std::size_t>(s.classes);
  return L;
}

// Rows of the test set per evaluation item (local_trainer.cpp's kEvalRows), for the scratch estimate.
constexpr std::int64_t kEvalRows = 256;

// Modelled flops per sample of each operation, as the Backend's cost model counts them
// (kernels/op_contract.hpp).
double conv_flops(const Conv2dShape& c) {
  return 2.0 * static_cast<double>(c.out_features()) * static_cast<double>(c.in_channels * c.kernel * c.kernel);
}

class CnnModel final : public Model {
 public:
  explicit CnnModel(CnnShape shape) : shape_(std::move(shape)), layers_(layers_of(shape_)) {}

  std::string name() const override { return "cnn"; }
  std::int64_t parameter_count() const override { return static_cast<std::int64_t>(layers_.count); }
  std::int64_t input_features() const override { return shape_.image_channels * shape_.height * shape_.width; }
  std::int64_t classes() const override { return shape_.classes; }
  std::vector<float> init_parameters(Rng& rng) const override { return models::init_parameters(shape_, rng); }
  double forward_flops_per_sample() const override { return models::forward_flops_per_sample(shape_); }
  double train_flops_per_sample() const override { return models::train_flops_per_sample(shape_); }

  // Per row: the forward buffers, and when training a gradient buffer for each but the logits (their
  // gradient overwrites them).
  std::size_t workspace_floats(std::int64_t rows, bool train) const override {
    const std::size_t forward = forward_row_floats();
    const std::size_t per_row = forward + (train ? forward - static_cast<std::size_t>(shape_.classes) : 0);
    return per_row * static_cast<std::size_t>(std::max<std::int64_t>(rows, 0));
  }

  // The dense layers' GEMMs (the convolutions' kernels allocate nothing per call).
  double backend_scratch_bytes(std::int64_t rows) const override {
    double most = 0;
    for (const Dense* d : {&layers_.dense, &layers_.out}) {
      most = std::max({most, eigen_gemm_workspace(rows, d->out, d->in), eigen_gemm_workspace(kEvalRows, d->out, d->in),
                       eigen_gemm_workspace(d->in, d->out, rows), eigen_gemm_workspace(rows, d->in, d->out)});
    }
    return most;
  }

  Cost forward(kernels::Backend& be, std::span<const ModelItem> items, bool train, CallArgs& args,
               std::span<MatView> logits) const override {
    const std::size_t n = items.size();
    const bool drop = train && shape_.dropout > 0;
    const auto p = static_cast<float>(shape_.dropout);
    args.resize(n);
    Cost cost;
    for (std::size_t c = 0; c < layers_.convs.size(); ++c) {
      const ConvLayer& l = layers_.convs[c];
      for (std::size_t i = 0; i < n; ++i) {
        args.a[i] = conv_input(items[i], c);
        args.cp[i] = items[i].params + l.params;
        args.c[i] = fwd(items[i], 2 * c, l.conv.out_features());
      }
      cost += be.conv2d(l.conv, args.a, args.cp, args.c);
      if (drop && c > 0) {
        for (std::size_t i = 0; i < n; ++i) args.keys[i] = dropout_layer_key(items[i].dropout_key, c);
        cost += be.dropout(p, l.pool.height * l.pool.width, args.keys, args.c);
      }
      for (std::size_t i = 0; i < n; ++i) {
        args.a[i] = args.c[i];
        args.c[i] = fwd(items[i], 2 * c + 1, l.pool.out_features());
      }
      cost += be.max_pool2d(l.pool, args.a, args.c);
      cost += be.relu(args.c);
    }
    const std::size_t last = 2 * layers_.convs.size() - 1;
    for (std::size_t i = 0; i < n; ++i) {
      args.a[i] = fwd(items[i], last, layers_.dense.in);
      args.b[i] = weights(items[i], layers_.dense);
      args.c[i] = fwd(items[i], last + 1, layers_.dense.out);
      args.cp[i] = items[i].params + layers_.dense.b;
    }
    cost += be.gemm(Trans::no, Trans::no, 1.0f, args.a, args.b, 0.0f, args.c);
    cost += be.bias_activation(Activation::relu, args.cp, args.c);
    if (drop) {
      for (std::size_t i = 0; i < n; ++i) args.keys[i] = dropout_layer_key(items[i].dropout_key, layers_.convs.size());
      cost += be.dropout(p, 1, args.keys, args.c);
    }
    for (std::size_t i = 0; i < n; ++i) {
      args.a[i] = args.c[i];
      args.b[i] = weights(items[i], layers_.out);
      args.c[i] = fwd(items[i], last + 2, layers_.out.out);
      args.cp[i] = items[i].params + layers_.out.b;
    }
    cost += be.gemm(Trans::no, Trans::no, 1.0f, args.a, args.b, 0.0f, args.c);
    cost += be.bias_activation(Activation::none, args.cp, args.c);
    for (std::size_t i = 0; i < n; ++i) logits[i] = args.c[i];
    return cost;
  }

  Cost backward(kernels::Backend& be, std::span<const ModelItem> items, float scale, std::span<float* const> g,
                CallArgs& args) const override {
    const std::size_t n = items.size(), C = layers_.convs.size(), last = 2 * C - 1;
    const bool drop = shape_.dropout > 0;
    const auto p = static_cast<float>(shape_.dropout);
    args.resize(n);
    Cost cost;
    // Output layer: dH = dlogits·W_oᵀ, then its gradient.
    cost += dense_backward(be, items, layers_.out, last + 1, last + 2, bwd_dense_index(), scale, g, args);
    // dZ = dropout(dH) ⊙ (H > 0), in place.
    for (std::size_t i = 0; i < n; ++i) {
      args.a[i] = fwd(items[i], last + 1, layers_.dense.out);
      args.c[i] = bwd(items[i], bwd_dense_index(), layers_.dense.out);
    }
    if (drop) {
      for (std::size_t i = 0; i < n; ++i) args.keys[i] = dropout_layer_key(items[i].dropout_key, C);
      cost += be.dropout(p, 1, args.keys, args.c);
    }
    cost += be.relu_backward(args.a, args.c);
    // Dense layer: dP_{C−1} = dZ·W_dᵀ, then its gradient.
    cost += dense_backward(be, items, layers_.dense, last, bwd_dense_index(), last, scale, g, args);
    for (std::size_t c = C; c-- > 0;) {
      const ConvLayer& l = layers_.convs[c];
      for (std::size_t i = 0; i < n; ++i) {
        args.a[i] = fwd(items[i], 2 * c + 1, l.pool.out_features());
        args.c[i] = bwd(items[i], 2 * c + 1, l.pool.out_features());
      }
      cost += be.relu_backward(args.a, args.c);
      for (std::size_t i = 0; i < n; ++i) {
        args.a[i] = fwd(items[i], 2 * c, l.pool.in_features());
        args.b[i] = args.c[i];
        args.c[i] = bwd(items[i], 2 * c, l.pool.in_features());
      }
      cost += be.max_pool2d_backward(l.pool, args.a, args.b, args.c);
      if (drop && c > 0) {
        for (std::size_t i = 0; i < n; ++i) args.keys[i] = dropout_layer_key(items[i].dropout_key, c);
        cost += be.dropout(p, l.pool.height * l.pool.width, args.keys, args.c);
      }
      if (c > 0) {
        for (std::size_t i = 0; i < n; ++i) {
          args.b[i] = args.c[i];  // dY_c
          args.cp[i] = items[i].params + l.params;
          args.c[i] = bwd(items[i], 2 * c - 1, l.conv.in_features());  // dP_{c−1}
        }
        cost += be.conv2d_backward_input(l.conv, args.b, args.cp, args.c);
        for (std::size_t i = 0; i < n; ++i) args.c[i] = bwd(items[i], 2 * c, l.conv.out_features());
      }
      for (std::size_t i = 0; i < n; ++i) {
        args.a[i] = conv_input(items[i], c);
        args.b[i] = bwd(items[i], 2 * c, l.conv.out_features());
        args.p[i] = g[i] + l.params;
      }
      cost += be.conv2d_backward_params(l.conv, args.a, args.b, scale, args.p);
    }
    return cost;
  }

 private:
  // Row widths of the forward buffers, in order: Y_0, P_0, …, Y_{C−1}, P_{C−1}, H, logits.
  std::int64_t fwd_width(std::size_t k) const {
    const std::size_t C = layers_.convs.size();
    if (k < 2 * C) return k % 2 == 0 ? layers_.convs[k / 2].conv.out_features() : layers_.convs[k / 2].pool.out_features();
    return k == 2 * C ? layers_.dense.out : layers_.out.out;
  }
  std::size_t forward_row_floats() const {
    std::size_t total = 0;
    for (std::size_t k = 0; k < 2 * layers_.convs.size() + 2; ++k) total += static_cast<std::size_t>(fwd_width(k));
    return total;
  }
  std::size_t fwd_offset(std::size_t k) const {
    std::size_t off = 0;
    for (std::size_t j = 0; j < k; ++j) off += static_cast<std::size_t>(fwd_width(j));
    return off;
  }
  // Forward buffer k of item it (rows × width).
  MatView fwd(const ModelItem& it, std::size_t k, std::int64_t width) const {
    return MatView{it.workspace + fwd_offset(k) * static_cast<std::size_t>(it.capacity), it.x.rows, width, width};
  }
  // Gradient buffer k (the same widths as forward buffer k; k = 2C is dH), after the forward buffers.
  std::size_t bwd_dense_index() const { return 2 * layers_.convs.size(); }
  MatView bwd(const ModelItem& it, std::size_t k, std::int64_t width) const {
    const std::size_t base = forward_row_floats() + fwd_offset(k);
    return MatView{it.workspace + base * static_cast<std::size_t>(it.capacity), it.x.rows, width, width};
  }
  ConstMatView conv_input(const ModelItem& it, std::size_t c) const {
    if (c == 0) return it.x;
    return fwd(it, 2 * c - 1, layers_.convs[c - 1].pool.out_features());
  }
  ConstMatView weights(const ModelItem& it, const Dense& d) const {
    return ConstMatView(it.params + d.w, d.in, d.out, d.out);
  }

  // A dense layer's backward pass: dIn = dOut·Wᵀ into gradient buffer `din`, then g_W += scale·Inᵀ·dOut
  // and g_b += scale·colsum(dOut). `in` is the forward buffer of the layer's input, `dout` the gradient
  // buffer of its output (for the output layer, the logits' forward buffer, which holds their gradient).
  Cost dense_backward(kernels::Backend& be, std::span<const ModelItem> items, const Dense& d, std::size_t in,
                      std::size_t dout, std::size_t din, float scale, std::span<float* const> g, CallArgs& args) const {
    const std::size_t n = items.size();
    const bool logits = &d == &layers_.out;
    Cost cost;
    for (std::size_t i = 0; i < n; ++i) {
      args.a[i] = logits ? fwd(items[i], dout, d.out) : bwd(items[i], dout, d.out);
      args.b[i] = weights(items[i], d);
      args.c[i] = bwd(items[i], din, d.in);
    }
    cost += be.gemm(Trans::no, Trans::yes, 1.0f, args.a, args.b, 0.0f, args.c);
    for (std::size_t i = 0; i < n; ++i) {
      args.b[i] = args.a[i];  // dOut
      args.a[i] = fwd(items[i], in, d.in);
      args.c[i] = MatView{g[i] + d.w, d.in, d.out, d.out};
      args.p[i] = g[i] + d.b;
    }
    cost += be.gemm(Trans::yes, Trans::no, scale, args.a, args.b, 1.0f, args.c);
    cost += be.add_column_sums(scale, args.b, args.p);
    return cost;
  }

  CnnShape shape_;
  Layers layers_;
};

}  // namespace

std::int64_t parameter_count(const CnnShape& shape) { return static_cast<std::int64_t>(layers_of(shape).count); }

double forward_flops_per_sample(const CnnShape& shape) {
  const Layers L = layers_of(shape);
  double flops = 0;
  for (const ConvLayer& l : L.convs) {
    flops += conv_flops(l.conv) + static_cast<double>(l.conv.out_features());  // convolution, bias
    flops += static_cast<double>(l.pool.in_features());                       // pooling compares
    flops += static_cast<double>(l.pool.out_features());                      // relu
  }
  for (const Dense* d : {&L.dense, &L.out}) {
    const bool relu = d == &L.dense;
    flops += 2.0 * static_cast<double>(d->in * d->out) + static_cast<double>(d->out) * (relu ? 2 : 1);
  }
  return flops + kernels::contract::kSoftmaxFlopsPerElement * static_cast<double>(shape.classes);
}

double train_flops_per_sample(const CnnShape& shape) {
  const Layers L = layers_of(shape);
  const bool drop = shape.dropout > 0;
  double flops = forward_flops_per_sample(shape) +
                 kernels::contract::kSoftmaxGradFlopsPerElement * static_cast<double>(shape.classes);
  for (std::size_t c = 0; c < L.convs.size(); ++c) {
    const ConvLayer& l = L.convs[c];
    if (drop && c > 0) flops += 2.0 * static_cast<double>(l.conv.out_features());  // dropout2d, both passes
    flops += static_cast<double>(l.pool.out_features());                            // relu_backward
    flops += static_cast<double>(l.pool.in_features());                             // pooling backward
    if (c > 0) flops += conv_flops(l.conv);                                          // backward input
    flops += conv_flops(l.conv) + static_cast<double>(l.conv.out_features());       // backward params
  }
  for (const Dense* d : {&L.dense, &L.out}) {
    flops += 2.0 * static_cast<double>(d->in * d->out) * 2 + static_cast<double>(d->out);  // dIn, g_W, g_b
  }
  if (drop) flops += 2.0 * static_cast<double>(L.dense.out);  // dropout, both passes
  flops += static_cast<double>(L.dense.out);                  // relu_backward
  return flops;
}

std::vector<float> init_parameters(const CnnShape& shape, Rng& rng) {
  const Layers L = layers_of(shape);
  std::vector<float> params(L.count, 0.0f);
  auto fill = [&](std::size_t offset, std::size_t count, double fan_in) {
    const double bound = 1.0 / std::sqrt(fan_in);
    for (std::size_t i = 0; i < count; ++i) params[offset + i] = static_cast<float>(rng.uniform(-bound, bound));
  };
  for (const ConvLayer& l : L.convs) {
    const auto fan_in = static_cast<double>(l.conv.in_channels * l.conv.kernel * l.conv.kernel);
    fill(l.params, static_cast<std::size_t>(l.conv.parameter_count()), fan_in);  // filters, then biases
  }
  for (const Dense* d : {&L.dense, &L.out}) {
    fill(d->w, static_cast<std::size_t>(d->in * d->out + d->out), static_cast<double>(d->in));  // W, then b
  }
  return params;
}

std::unique_ptr<Model> make_cnn_model(CnnShape shape) { return std::make_unique<CnnModel>(std::move(shape)); }

}  // namespace dtsim::models
