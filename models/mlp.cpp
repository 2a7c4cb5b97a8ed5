// MLP training through the Backend (models/mlp.hpp).
//
// One train() call trains its clients in chunks of `chunk`, in the parallel structure the backend asks
// for (Backend::item_schedule()):
//   batched (cuda): within a chunk every client steps in lockstep, so each Backend call carries one item
//     per client still training (clients have different step counts: a client drops out once its steps
//     are done);
//   concurrent (cpu): one Backend::for_each_item per chunk; each of its items trains one whole client
//     through all its steps with single-item calls, in the workspace (Lane) of the backend thread that
//     runs it, the biggest clients first. One fork/join per chunk instead of about ten per step.
// Both are the same code: a Lane steps a group of clients in lockstep (a chunk, or one client).
// One SGD step of client k on a minibatch of b rows, with L layers, A_0 = X (b×in) and A_l the ReLU
// output of layer l−1:
//   forward   Z_l = A_l·W_l + 1·b_lᵀ, A_{l+1} = relu(Z_l) (l < L−1); logits Z_{L−1}
//   loss      softmax_xent, gradient dZ_{L−1} = (softmax − onehot) / b   (mean loss of the minibatch)
//   backward  for l = L−1 … 0: dA_l = dZ_l·W_lᵀ (before W_l changes, l > 0);
//             W_l += −lr·A_lᵀ·dZ_l (one fused GEMM, beta = 1); b_l += −lr·colsum(dZ_l);
//             dZ_{l−1} = dA_l ⊙ (A_l > 0)
// With momentum μ or weight decay λ (models/mlp.hpp) the backward pass accumulates into a velocity
// buffer U (the parameters' layout) instead, which holds the velocity pre-scaled by μ:
//             U_W_l += A_lᵀ·dZ_l (one GEMM, beta = 1); U_b_l += colsum(dZ_l)
// and only after it (so every dA_l used the old weights), over the whole parameter vector, one pass of
// Backend::sgd_momentum_update:
//             U += λ·p (when λ > 0); p −= lr·U; U *= μ
// U is zeroed when a client starts.
// Why this is PyTorch's SGD (v_t = μ·v_{t−1} + g_t + λ·p_{t−1}; p_t = p_{t−1} − lr·v_t; v_0 = 0) exactly:
// claim U = μ·v_{t−1} when step t starts. True at t = 1 (U = 0 = μ·v_0). During step t the backward pass
// adds g_t, so U = μ·v_{t−1} + g_t; the update adds λ·p_{t−1} (p is still p_{t−1}), so U = v_t; then
// p −= lr·U gives p_t = p_{t−1} − lr·v_t; finally U *= μ leaves μ·v_t for step t + 1. In float the
// operations and their order are the ones of the three-pass form (scale v by μ, add the gradient, add
// λ·p, subtract lr·v), only the scaling moves to the end of the previous step; it costs one pass over p
// and U per step instead of three, and no beta-scaling pass inside the GEMM.
// Every client's arithmetic depends only on its own data and shuffle stream, and every Backend
// operation computes each item independently, so results never depend on chunk, thread count, the
// parallel structure, or which lane trains which client.
#include "models/mlp.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/op_contract.hpp"

namespace dtsim::models {

using kernels::Activation;
using kernels::ConstMatView;
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

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

void check_dataset(const Dataset& d, const MlpShape& shape, const char* which) {
  if (d.samples < 0 || static_cast<std::int64_t>(d.x.size()) != d.samples * d.features ||
      static_cast<std::int64_t>(d.y.size()) != d.samples) {
    throw std::invalid_argument(std::string("MlpTrainer: the ") + which + " set's arrays do not match its " +
                                std::to_string(d.samples) + " samples");
  }
  if (d.samples > 0 && d.features != shape.inputs) {
    throw std::invalid_argument(std::string("MlpTrainer: the ") + which + " set has " + std::to_string(d.features) +
                                " features, the model " + std::to_string(shape.inputs) + " inputs");
  }
  for (std::int32_t y : d.y) {
    if (y < 0 || y >= shape.classes) {
      throw std::invalid_argument(std::string("MlpTrainer: the ") + which + " set has label " + std::to_string(y) +
                                  " outside [0, " + std::to_string(shape.classes) + ")");
    }
  }
}

void check_config(const LocalTrainingConfig& c, const char* who) {
  if (!std::isfinite(c.lr)) throw std::invalid_argument(std::string(who) + ": lr must be finite");
  if (!(c.momentum >= 0 && c.momentum < 1))
    throw std::invalid_argument(std::string(who) + ": momentum must be in [0, 1), got " + std::to_string(c.momentum));
  if (!(c.weight_decay >= 0 && std::isfinite(c.weight_decay)))
    throw std::invalid_argument(std::string(who) + ": weight_decay must be finite and >= 0, got " +
                                std::to_string(c.weight_decay));
}

bool plain_sgd(const LocalTrainingConfig& c) { return c.momentum == 0 && c.weight_decay == 0; }

// Rows of the test set per evaluation item, and items per evaluation pass (bounds the workspace).
constexpr std::int64_t kEvalRows = 256;
constexpr std::int64_t kEvalItemsPerPass = 64;

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
    if (l > 0) flops += 2 * out * in + in;  // dA = dZ·Wᵀ, relu_backward
    flops += 2 * in * out + out;            // W += −lr·AᵀdZ, b += −lr·colsum(dZ)
  }
  return flops;
}

double update_flops_per_step(const MlpShape& shape, const LocalTrainingConfig& config) {
  check_config(config, "update_flops_per_step");
  if (plain_sgd(config)) return 0;
  // The same float coefficient as MlpTrainer's call, so the flops rule sees the same zero.
  const auto weight_decay = static_cast<float>(config.weight_decay);
  return kernels::contract::sgd_step_flops(kernels::SgdStep{0, 0, weight_decay, 0}, false,
                                           static_cast<double>(param_count(layers_of(shape))));
}

std::vector<float> init_parameters(const MlpShape& shape, Rng& rng) {
  const auto layers = layers_of(shape);
  std::vector<float> params(param_count(layers), 0.0f);
  for (const Layer& l : layers) {
    const double limit = std::sqrt(6.0 / static_cast<double>(l.in + l.out));
    for (std::size_t i = 0; i < static_cast<std::size_t>(l.in * l.out); ++i) {
      params[l.w + i] = static_cast<float>(rng.uniform(-limit, limit));
    }
  }
  return params;
}

std::int64_t local_steps(std::int64_t samples, const LocalTrainingConfig& config) {
  if (samples <= 0 || config.epochs <= 0) return 0;
  if (config.batch_size < 1) throw std::invalid_argument("local_steps: batch_size must be >= 1");
  return config.epochs * ceil_div(samples, config.batch_size);
}

// ------------------------------------------------------------------------------------------------

struct MlpTrainer::Impl {
  // One client's workspace in a chunk: its parameters and its minibatch activations, in backend
  // memory, plus its host-side sample order and labels. Allocated once, reused for every client.
  struct Slot {
    kernels::Buffer params;    // W_0, b_0, W_1, b_1, …
    kernels::Buffer velocity;  // the same layout, pre-scaled by momentum; only with momentum or weight decay
    kernels::Buffer acts;      // X (B×in_0), A_1 … A_{L−1}, Z (B×classes), dA_1 … dA_{L−1}; rows of width w
    std::vector<std::int32_t> order;   // this epoch's sample order
    std::vector<std::int32_t> labels;  // labels of the current minibatch

    // The client being trained.
    const ClientWork* work = nullptr;
    std::int64_t steps = 0, steps_per_epoch = 0;
    std::int64_t b = 0;                  // rows of the current minibatch
    const std::int32_t* rows = nullptr;  // its sample indices
    double loss_sum = 0;
    std::int64_t correct = 0, samples_seen = 0;
  };

  kernels::Backend& be;
  MlpShape shape;
  std::vector<Layer> layers;
  std::size_t params_n = 0;
  const Dataset& train;
  const Dataset& test;
  LocalTrainingConfig config;
  std::uint64_t seed;
  std::int64_t chunk;
  bool plain = true;  // plain SGD: the fused update, no velocity
  double train_flops_sample = 0;
  double update_flops_step = 0;

  kernels::Buffer train_copy, test_copy;  // only for backends that cannot read host memory
  ConstMatView train_x, test_x;

  // Offsets (in floats) of each minibatch matrix inside Slot::acts, for minibatches of up to rows_cap
  // rows (the batch size, or less when no client has that many samples).
  std::vector<std::size_t> act_off;  // act_off[l] = A_l (A_0 = X), l in [0, L)
  std::size_t logits_off = 0;
  std::vector<std::size_t> grad_off;  // grad_off[l] = dA_l, l in [1, L)
  std::size_t acts_n = 0;
  std::int64_t rows_cap = 0;

  // A lane trains one group of clients in lockstep, with its own slots and argument arrays. A batched
  // backend gets one lane, its group a chunk; a concurrent backend one lane per backend thread, each
  // group a single client, the lanes running at the same time (for_each_item).
  struct Lane {
    std::vector<Slot> slots;
    std::vector<Slot*> active;
    // Argument arrays of the batched calls (capacity kept: no allocation per step).
    std::vector<ConstMatView> va, vb;
    std::vector<MatView> vc;
    std::vector<const float*> vcbias;
    std::vector<float*> vbias, vvelocity;
    std::vector<const std::int32_t*> vidx;
    std::vector<double> vloss;
    std::vector<std::int64_t> vcorrect;
  };
  std::vector<Lane> lanes;

  kernels::Buffer eval_params, eval_acts;
  kernels::Buffer zeros;  // params_n zeros, the velocity of a client that starts (momentum or weight decay)

  Impl(kernels::Backend& backend, MlpShape s, const Dataset& tr, const Dataset& te, LocalTrainingConfig c,
       std::uint64_t sd, std::int64_t ch)
      : be(backend),
        shape(std::move(s)),
        layers(layers_of(shape)),
        params_n(param_count(layers)),
        train(tr),
        test(te),
        config(c),
        seed(sd),
        chunk(ch) {
    if (chunk < 1) throw std::invalid_argument("MlpTrainer: chunk must be >= 1, got " + std::to_string(chunk));
    if (config.batch_size < 1) throw std::invalid_argument("MlpTrainer: batch_size must be >= 1");
    if (config.epochs < 0) throw std::invalid_argument("MlpTrainer: epochs must be >= 0");
    check_config(config, "MlpTrainer");
    check_dataset(train, shape, "training");
    check_dataset(test, shape, "test");
    plain = plain_sgd(config);
    train_flops_sample = train_flops_per_sample(shape);
    update_flops_step = update_flops_per_step(shape, config);
    train_x = to_backend(train, train_copy);
    test_x = to_backend(test, test_copy);
    if (!plain) zeros = be.alloc(params_n);
  }

  // Lays out Slot::acts for minibatches of up to `rows` rows.
  void layout_activations(std::int64_t rows) {
    const auto R = static_cast<std::size_t>(rows);
    const std::size_t L = layers.size();
    act_off.resize(L);
    grad_off.assign(L, 0);
    std::size_t off = 0;
    for (std::size_t l = 0; l < L; ++l) {
      act_off[l] = off;
      off += R * static_cast<std::size_t>(layers[l].in);
    }
    logits_off = off;
    off += R * static_cast<std::size_t>(shape.classes);
    for (std::size_t l = 1; l < L; ++l) {
      grad_off[l] = off;
      off += R * static_cast<std::size_t>(layers[l].in);
    }
    acts_n = off;
    rows_cap = rows;
  }

  ConstMatView to_backend(const Dataset& d, kernels::Buffer& copy) {
    const std::size_t n = d.x.size();
    if (n == 0) return ConstMatView(nullptr, 0, shape.inputs, shape.inputs);
    const float* p = be.view_host(d.x.data(), n);
    if (!p) {
      copy = be.alloc(n);
      be.upload(d.x.data(), n, copy.data());
      p = copy.data();
    }
    return ConstMatView(p, d.samples, d.features, d.features);
  }

  // Views of a slot's matrices for its current minibatch of s.b rows.
  MatView in_act(const Slot& s, std::size_t l) const {
    return MatView{s.acts.data() + act_off[l], s.b, layers[l].in, layers[l].in};
  }
  MatView out_act(const Slot& s, std::size_t l) const {
    if (l + 1 < layers.size()) return in_act(s, l + 1);
    return MatView{s.acts.data() + logits_off, s.b, shape.classes, shape.classes};
  }
  MatView grad_in(const Slot& s, std::size_t l) const {  // dA_l, l >= 1
    return MatView{s.acts.data() + grad_off[l], s.b, layers[l].in, layers[l].in};
  }
  MatView grad_out(const Slot& s, std::size_t l) const {  // dZ_l
    if (l + 1 < layers.size()) return grad_in(s, l + 1);
    return out_act(s, l);
  }
  ConstMatView weights(const Slot& s, std::size_t l) const {
    return ConstMatView(s.params.data() + layers[l].w, layers[l].in, layers[l].out, layers[l].out);
  }
  MatView weights_mut(const Slot& s, std::size_t l) const {
    return MatView{s.params.data() + layers[l].w, layers[l].in, layers[l].out, layers[l].out};
  }
  float* bias(const Slot& s, std::size_t l) const { return s.params.data() + layers[l].b; }
  MatView velocity_weights(const Slot& s, std::size_t l) const {
    return MatView{s.velocity.data() + layers[l].w, layers[l].in, layers[l].out, layers[l].out};
  }
  float* velocity_bias(const Slot& s, std::size_t l) const { return s.velocity.data() + layers[l].b; }

  // At least n_lanes lanes of at least n slots each, with room for minibatches of `rows` rows. Grows
  // rarely: once per trainer in the usual case, never inside the step loop; called before any fork.
  void ensure_lanes(std::size_t n_lanes, std::size_t n, std::int64_t rows) {
    if (lanes.size() < n_lanes) lanes.resize(n_lanes);
    if (rows > rows_cap) {
      layout_activations(rows);
      for (Lane& g : lanes) {
        for (Slot& s : g.slots) {
          s.acts = be.alloc(acts_n);
          s.labels.resize(static_cast<std::size_t>(rows));
        }
      }
    }
    for (std::size_t lane = 0; lane < n_lanes; ++lane) {
      Lane& g = lanes[lane];
      while (g.slots.size() < n) {
        Slot s;
        s.params = be.alloc(params_n);
        if (!plain) s.velocity = be.alloc(params_n);
        s.acts = be.alloc(acts_n);
        s.labels.resize(static_cast<std::size_t>(rows_cap));
        g.slots.push_back(std::move(s));
      }
      g.active.reserve(n);
      for (auto* v : {&g.va, &g.vb}) v->reserve(n);
      g.vc.reserve(n);
      g.vcbias.reserve(n);
      g.vbias.reserve(n);
      g.vvelocity.reserve(n);
      g.vidx.reserve(n);
      g.vloss.reserve(n);
      g.vcorrect.reserve(n);
    }
  }

  // Builds the argument arrays over the active slots, then makes one batched call.
  template <class F>
  void each_active(Lane& g, F&& fill) {
    for (std::size_t i = 0; i < g.active.size(); ++i) fill(i, *g.active[i]);
  }

  void step(Lane& g, std::int64_t s_index) {
    const std::vector<Slot*>& active = g.active;
    auto &va = g.va, &vb = g.vb;
    auto& vc = g.vc;
    auto& vcbias = g.vcbias;
    auto& vbias = g.vbias;
    auto& vidx = g.vidx;
    const float alpha = -static_cast<float>(config.lr);
    const std::size_t n = active.size();
    const std::size_t L = layers.size();
    vidx.resize(n);
    vc.resize(n);
    va.resize(n);
    vb.resize(n);
    vcbias.resize(n);
    vbias.resize(n);

    // Minibatch rows and labels (host), then the gather into X.
    for (std::size_t i = 0; i < n; ++i) {
      Slot& s = *active[i];
      const std::int64_t epoch = s_index / s.steps_per_epoch;
      const std::int64_t j = s_index % s.steps_per_epoch;
      const auto samples = static_cast<std::int64_t>(s.work->samples.size());
      if (j == 0) shuffle(s, epoch);
      s.rows = s.order.data() + j * config.batch_size;
      s.b = std::min(config.batch_size, samples - j * config.batch_size);
      for (std::int64_t r = 0; r < s.b; ++r)
        s.labels[static_cast<std::size_t>(r)] = train.y[static_cast<std::size_t>(s.rows[r])];
      s.samples_seen += s.b;
      vidx[i] = s.rows;
      vc[i] = in_act(s, 0);
    }
    be.gather_rows(train_x, vidx, vc);

    // Forward.
    for (std::size_t l = 0; l < L; ++l) {
      each_active(g, [&](std::size_t i, const Slot& s) {
        va[i] = in_act(s, l);
        vb[i] = weights(s, l);
        vc[i] = out_act(s, l);
        vcbias[i] = bias(s, l);
      });
      be.gemm(Trans::no, Trans::no, 1.0f, va, vb, 0.0f, vc);
      be.bias_activation(l + 1 < L ? Activation::relu : Activation::none, vcbias, vc);
    }

    // Loss and its gradient: grad_scale = 1/b differs for a short last minibatch, so one call per b.
    softmax_grouped(g);

    // Backward and update, from the last layer.
    for (std::size_t l = L; l-- > 0;) {
      if (l > 0) {
        each_active(g, [&](std::size_t i, const Slot& s) {
          va[i] = grad_out(s, l);
          vb[i] = weights(s, l);
          vc[i] = grad_in(s, l);
        });
        be.gemm(Trans::no, Trans::yes, 1.0f, va, vb, 0.0f, vc);
      }
      // Plain SGD adds −lr·gradient straight into the parameters (the update fused into the GEMM);
      // otherwise the gradient accumulates into the pre-scaled velocity, applied after the pass.
      const float scale = plain ? alpha : 1.0f;
      each_active(g, [&](std::size_t i, const Slot& s) {
        va[i] = in_act(s, l);
        vb[i] = grad_out(s, l);
        vc[i] = plain ? weights_mut(s, l) : velocity_weights(s, l);
        vbias[i] = plain ? bias(s, l) : velocity_bias(s, l);
      });
      be.gemm(Trans::yes, Trans::no, scale, va, vb, 1.0f, vc);
      be.add_column_sums(scale, vb, vbias);
      if (l > 0) {
        each_active(g, [&](std::size_t i, const Slot& s) {
          va[i] = in_act(s, l);
          vc[i] = grad_in(s, l);
        });
        be.relu_backward(va, vc);
      }
    }
    if (!plain) update_from_velocity(g);
  }

  // U += weight_decay·p (when > 0); p −= lr·U; U *= momentum: one pass over every parameter of every
  // active client.
  void update_from_velocity(Lane& g) {
    auto& vbias = g.vbias;
    auto& vvelocity = g.vvelocity;
    vbias.resize(g.active.size());
    vvelocity.resize(g.active.size());
    each_active(g, [&](std::size_t i, const Slot& s) {
      vbias[i] = s.params.data();
      vvelocity[i] = s.velocity.data();
    });
    be.sgd_step(kernels::SgdStep{static_cast<float>(config.lr), static_cast<float>(config.momentum),
                                 static_cast<float>(config.weight_decay), 0.0f},
                vbias, vvelocity, {}, {}, params_n);
  }

  void softmax_grouped(Lane& g) {
    const std::vector<Slot*>& active = g.active;
    auto& vc = g.vc;
    auto& vidx = g.vidx;
    auto& vloss = g.vloss;
    auto& vcorrect = g.vcorrect;
    const std::size_t L = layers.size();
    std::size_t done = 0;
    std::int64_t b = 0;
    while (done < active.size()) {
      // The next batch size not handled yet: the smallest one above the previous.
      std::int64_t next = -1;
      for (const Slot* s : active) {
        if (s->b > b && (next < 0 || s->b < next)) next = s->b;
      }
      b = next;
      vc.clear();
      vidx.clear();
      for (const Slot* s : active) {
        if (s->b != b) continue;
        vc.push_back(out_act(*s, L - 1));
        vidx.push_back(s->labels.data());
      }
      vloss.assign(vc.size(), 0.0);
      vcorrect.assign(vc.size(), 0);
      be.softmax_xent(vc, vidx, true, 1.0f / static_cast<float>(b), vloss, {}, vcorrect);
      std::size_t k = 0;
      for (Slot* s : active) {
        if (s->b != b) continue;
        s->loss_sum += vloss[k];
        s->correct += vcorrect[k];
        ++k;
      }
      done += vc.size();
    }
    vc.resize(active.size());
    vidx.resize(active.size());
  }

  void shuffle(Slot& s, std::int64_t epoch) const {
    const auto& samples = s.work->samples;
    s.order.assign(samples.begin(), samples.end());
    Rng rng(seed, "shuffle", static_cast<std::uint64_t>(static_cast<std::int64_t>(s.work->client)),
            static_cast<std::uint64_t>(s.work->round * 1000003 + epoch));
    for (std::size_t i = s.order.size(); i > 1; --i) {
      const auto j = static_cast<std::size_t>(rng.below(i));
      std::swap(s.order[i - 1], s.order[j]);
    }
  }

  std::vector<ClientResult> run(std::span<const float> global, std::span<const ClientWork> work) {
    if (global.size() != params_n) {
      throw std::invalid_argument("MlpTrainer::train: global model has " + std::to_string(global.size()) +
                                  " parameters, expected " + std::to_string(params_n));
    }
    for (const ClientWork& w : work) {
      for (std::int32_t i : w.samples) {
        if (i < 0 || i >= train.samples) {
          throw std::invalid_argument("MlpTrainer::train: client " + std::to_string(w.client) + " has sample index " +
                                      std::to_string(i) + " outside [0, " + std::to_string(train.samples) + ")");
        }
      }
    }
    std::vector<ClientResult> results(work.size());
    const bool concurrent = be.item_schedule() == kernels::ItemSchedule::concurrent;
    const auto n_lanes = static_cast<std::size_t>(concurrent ? std::max(1, be.threads()) : 1);
    std::vector<std::size_t> order;
    for (std::size_t first = 0; first < work.size(); first += static_cast<std::size_t>(chunk)) {
      const std::size_t count = std::min(work.size() - first, static_cast<std::size_t>(chunk));
      const auto chunk_work = work.subspan(first, count);
      const auto chunk_out = std::span(results).subspan(first, count);
      std::int64_t rows = 1;
      for (const ClientWork& w : chunk_work) rows = std::max(rows, static_cast<std::int64_t>(w.samples.size()));
      rows = std::min(rows, config.batch_size);
      if (!concurrent) {
        ensure_lanes(1, count, rows);
        train_group(lanes[0], global, chunk_work, chunk_out);
        continue;
      }
      // Concurrent: every lane trains whole clients, one at a time, the biggest first (so the last ones
      // to finish are small); the order changes no result.
      ensure_lanes(n_lanes, 1, rows);
      order.resize(count);
      for (std::size_t k = 0; k < count; ++k) order[k] = k;
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return chunk_work[a].samples.size() > chunk_work[b].samples.size();
      });
      be.for_each_item(static_cast<std::int64_t>(count), [&](std::int64_t i, int lane) {
        if (lane < 0 || static_cast<std::size_t>(lane) >= n_lanes) {
          throw std::logic_error("MlpTrainer: the backend ran an item on lane " + std::to_string(lane) + " of " +
                                 std::to_string(n_lanes));
        }
        const std::size_t k = order[static_cast<std::size_t>(i)];
        train_group(lanes[static_cast<std::size_t>(lane)], global, chunk_work.subspan(k, 1), chunk_out.subspan(k, 1));
      });
    }
    return results;
  }

  // Trains the clients of `work` in lockstep in lane g (which has at least work.size() slots).
  void train_group(Lane& g, std::span<const float> global, std::span<const ClientWork> work,
                   std::span<ClientResult> out) {
    auto& slots = g.slots;
    auto& active = g.active;
    active.clear();
    std::int64_t max_steps = 0;
    for (std::size_t k = 0; k < work.size(); ++k) {
      Slot& s = slots[k];
      s.work = &work[k];
      const auto samples = static_cast<std::int64_t>(work[k].samples.size());
      s.steps = local_steps(samples, config);
      s.steps_per_epoch = ceil_div(samples, config.batch_size);
      s.loss_sum = 0;
      s.correct = 0;
      s.samples_seen = 0;
      s.b = 0;
      if (s.steps == 0) continue;
      s.order.reserve(work[k].samples.size());  // the shuffles in the step loop then never allocate
      be.upload(global.data(), params_n, s.params.data());
      // Every client starts with a zero velocity (a fresh optimizer); a copy, so it costs no flops.
      if (!plain) be.copy(zeros.data(), params_n, s.velocity.data());
      max_steps = std::max(max_steps, s.steps);
    }
    for (std::int64_t step_index = 0; step_index < max_steps; ++step_index) {
      active.clear();
      for (std::size_t k = 0; k < work.size(); ++k) {
        if (step_index < slots[k].steps) active.push_back(&slots[k]);
      }
      step(g, step_index);
    }
    for (std::size_t k = 0; k < work.size(); ++k) {
      const Slot& s = slots[k];
      ClientResult& r = out[k];
      r.params.resize(params_n);
      if (s.steps == 0) {
        std::copy(global.begin(), global.end(), r.params.begin());
      } else {
        be.download(s.params.data(), params_n, r.params.data());
      }
      r.steps = s.steps;
      r.samples_seen = s.samples_seen;
      r.loss_sum = s.loss_sum;
      r.flops =
          static_cast<double>(s.samples_seen) * train_flops_sample + static_cast<double>(s.steps) * update_flops_step;
    }
  }

  Evaluation evaluate(std::span<const float> params) {
    if (params.size() != params_n) {
      throw std::invalid_argument("MlpTrainer::evaluate: model has " + std::to_string(params.size()) +
                                  " parameters, expected " + std::to_string(params_n));
    }
    if (test.samples == 0) throw std::invalid_argument("MlpTrainer::evaluate: the test set is empty");
    const std::size_t L = layers.size();
    // Per item: activations of every layer output (hidden widths, then the logits).
    std::size_t width = 0;
    for (const Layer& l : layers) width += static_cast<std::size_t>(l.out);
    const std::int64_t items_total = ceil_div(test.samples, kEvalRows);
    const std::int64_t per_pass = std::min(items_total, kEvalItemsPerPass);
    if (!eval_params.data()) eval_params = be.alloc(params_n);
    const std::size_t acts_per_item = static_cast<std::size_t>(kEvalRows) * width;
    if (eval_acts.size() < acts_per_item * static_cast<std::size_t>(per_pass)) {
      eval_acts = be.alloc(acts_per_item * static_cast<std::size_t>(per_pass));
    }
    be.upload(params.data(), params_n, eval_params.data());

    std::vector<ConstMatView> a, w;
    std::vector<MatView> z;
    std::vector<const float*> bias;
    std::vector<const std::int32_t*> labels;
    std::vector<double> loss;
    std::vector<std::int64_t> correct;
    double loss_sum = 0;
    std::int64_t hits = 0;
    for (std::int64_t first = 0; first < items_total; first += per_pass) {
      const auto n = static_cast<std::size_t>(std::min(per_pass, items_total - first));
      std::vector<std::int64_t> row0(n), rows(n);
      for (std::size_t i = 0; i < n; ++i) {
        row0[i] = (first + static_cast<std::int64_t>(i)) * kEvalRows;
        rows[i] = std::min(kEvalRows, test.samples - row0[i]);
      }
      auto output = [&](std::size_t i, std::size_t l) {
        std::size_t off = acts_per_item * i;
        for (std::size_t k = 0; k < l; ++k) off += static_cast<std::size_t>(kEvalRows * layers[k].out);
        return MatView{eval_acts.data() + off, rows[i], layers[l].out, layers[l].out};
      };
      for (std::size_t l = 0; l < L; ++l) {
        a.resize(n);
        w.assign(n, ConstMatView(eval_params.data() + layers[l].w, layers[l].in, layers[l].out, layers[l].out));
        z.resize(n);
        bias.assign(n, eval_params.data() + layers[l].b);
        for (std::size_t i = 0; i < n; ++i) {
          a[i] = l == 0 ? ConstMatView(test_x.data + row0[i] * test_x.ld, rows[i], test_x.cols, test_x.ld)
                        : ConstMatView(output(i, l - 1));
          z[i] = output(i, l);
        }
        be.gemm(Trans::no, Trans::no, 1.0f, a, w, 0.0f, z);
        be.bias_activation(l + 1 < L ? Activation::relu : Activation::none, bias, z);
      }
      labels.resize(n);
      for (std::size_t i = 0; i < n; ++i) labels[i] = test.y.data() + row0[i];
      loss.assign(n, 0.0);
      correct.assign(n, 0);
      be.softmax_xent(z, labels, false, 1.0f, loss, {}, correct);
      for (std::size_t i = 0; i < n; ++i) {
        loss_sum += loss[i];
        hits += correct[i];
      }
    }
    const auto total = static_cast<double>(test.samples);
    return Evaluation{loss_sum / total, static_cast<double>(hits) / total};
  }
};

MlpTrainer::MlpTrainer(kernels::Backend& backend, MlpShape shape, const Dataset& train, const Dataset& test,
                       LocalTrainingConfig config, std::uint64_t seed, std::int64_t chunk)
    : impl_(new Impl(backend, std::move(shape), train, test, config, seed, chunk)) {}

MlpTrainer::~MlpTrainer() { delete impl_; }

std::vector<ClientResult> MlpTrainer::train(std::span<const float> global, std::span<const ClientWork> work) {
  return impl_->run(global, work);
}

Evaluation MlpTrainer::evaluate(std::span<const float> params) { return impl_->evaluate(params); }

}  // namespace dtsim::models

namespace dtsim::models {
namespace {

// Bytes the CPU backend allocates for one GEMM item (rows × cols row-major result, inner dimension
// depth): Eigen 3.4 packs mc × kc floats of its lhs and kc × nc of its rhs, the blocking sizes from its
// single-threaded heuristic (Eigen/src/Core/products/GeneralBlockPanelKernel.h,
// evaluateProductBlockingSizesHeuristic), ported here for float with this build's vector ISA and the
// caches Eigen reads (the same as sysconf's). A row-major result is computed as its transpose: Eigen's
// m = cols, n = rows, k = depth. With AVX-512 and 32 KiB of L1 a 784-deep product packs kc = 400 rows of
// the 784 × width weights (25 MiB for 16,384 columns: measured).
double eigen_gemm_workspace(std::int64_t rows, std::int64_t cols, std::int64_t depth) {
  std::int64_t k = depth, m = cols, n = rows;
  auto cache = [](int name, std::int64_t fallback) {
    const long v = ::sysconf(name);
    return v > 0 ? static_cast<std::int64_t>(v) : fallback;
  };
  std::int64_t l1 = cache(_SC_LEVEL1_DCACHE_SIZE, 16 * 1024);
  const std::int64_t l2 = cache(_SC_LEVEL2_CACHE_SIZE, 512 * 1024), l3 = cache(_SC_LEVEL3_CACHE_SIZE, 512 * 1024);
#if defined(__AVX512F__)
  constexpr std::int64_t packet = 16;
  l1 *= 4;  // Eigen's AVX-512 adjustment
#elif defined(__AVX__)
  constexpr std::int64_t packet = 8;
#else
  constexpr std::int64_t packet = 4;
#endif
#if defined(__FMA__)
  constexpr std::int64_t mr = 3 * packet;
#else
  constexpr std::int64_t mr = 2 * packet;
#endif
  constexpr std::int64_t nr = 4, f = 4;  // sizeof(float)
  if (std::max({k, m, n}) >= 48) {
    const std::int64_t k_div = mr * f + nr * f, k_sub = mr * nr * f;
    const std::int64_t max_kc = std::max<std::int64_t>(((l1 - k_sub) / k_div) & ~std::int64_t{7}, 1);
    const std::int64_t old_k = k;
    if (k > max_kc) k = k % max_kc == 0 ? max_kc : max_kc - 8 * ((max_kc - 1 - k % max_kc) / (8 * (k / max_kc + 1)));
    constexpr std::int64_t actual_l2 = 1572864;
    const std::int64_t remaining_l1 = l1 - k_sub - m * k * f;
    const std::int64_t max_nc =
        remaining_l1 >= nr * f * k ? remaining_l1 / (k * f) : (3 * actual_l2) / (2 * 2 * max_kc * f);
    const std::int64_t nc = std::min(actual_l2 / (2 * k * f), max_nc) & ~(nr - 1);
    if (nc > 0 && n > nc) {
      n = n % nc == 0 ? nc : nc - nr * ((nc - n % nc) / (nr * (n / nc + 1)));
    } else if (old_k == k) {
      const std::int64_t problem = k * n * f;
      std::int64_t actual_lm = actual_l2, max_mc = m;
      if (problem <= 1024) {
        actual_lm = l1;
      } else if (l3 != 0 && problem <= 32768) {
        actual_lm = l2;
        max_mc = std::min<std::int64_t>(576, max_mc);
      }
      std::int64_t mc = std::min(actual_lm / (3 * k * f), max_mc);
      if (mc > mr) mc -= mc % mr;
      if (mc > 0) m = m % mc == 0 ? mc : mc - mr * ((mc - m % mc) / (mr * (m / mc + 1)));
    }
  }
  return static_cast<double>(f) * static_cast<double>(k) * static_cast<double>(m + n);
}

// What MlpTrainer::Impl allocates (a new function beside the trainer, kept in step with ensure_slots,
// layout_activations, the constructor and evaluate): per slot, the parameters, the velocity (momentum or
// weight decay), the activations of a minibatch of up to batch_size rows (X, A_1 … A_{L−1}, Z, dA_1 …
// dA_{L−1}) and its labels; once, the zero velocity; for evaluation, every layer's outputs for the items
// of one pass and a copy of the parameters.
TrainerMemory mlp_trainer_memory(const MlpShape& shape, const LocalTrainingConfig& config, std::int64_t test_samples) {
  const auto layers = layers_of(shape);
  const auto d = static_cast<double>(param_count(layers));
  const bool plain = plain_sgd(config);
  const std::int64_t rows_i = std::max<std::int64_t>(config.batch_size, 1);
  const auto rows = static_cast<double>(rows_i);
  double act_floats_per_row = static_cast<double>(shape.classes);
  for (std::size_t l = 0; l < layers.size(); ++l)
    act_floats_per_row += static_cast<double>(layers[l].in) * (l > 0 ? 2 : 1);
  TrainerMemory m;
  m.per_slot = 4 * (d * (plain ? 1 : 2) + rows * act_floats_per_row) + 4 * rows;
  m.shared = plain ? 0 : 4 * d;
  // The CPU backend's GEMM workspace, for every product of a step (batch rows) or an evaluation pass
  // (kEvalRows rows): Z_l = A_l·W_l, dA_l = dZ_l·W_lᵀ, W_l += A_lᵀ·dZ_l.
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    m.per_thread =
        std::max({m.per_thread, eigen_gemm_workspace(rows_i, l.out, l.in), eigen_gemm_workspace(kEvalRows, l.out, l.in),
                  eigen_gemm_workspace(l.in, l.out, rows_i), i > 0 ? eigen_gemm_workspace(rows_i, l.in, l.out) : 0.0});
  }
  if (test_samples > 0) {
    std::int64_t width = 0;
    for (const Layer& l : layers) width += l.out;
    m.evaluation_items = std::min(ceil_div(test_samples, kEvalRows), kEvalItemsPerPass);
    m.evaluation_rows = kEvalRows;
    m.layer_outputs = width;
    m.evaluation = 4 * (static_cast<double>(m.evaluation_items * kEvalRows) * static_cast<double>(width) + d);
  }
  return m;
}

class MlpModel final : public Model {
 public:
  explicit MlpModel(MlpShape shape) : shape_(std::move(shape)) { layers_of(shape_); /* checks the shape */ }
  std::int64_t parameter_count() const override { return models::parameter_count(shape_); }
  double train_flops_per_sample() const override { return models::train_flops_per_sample(shape_); }
  double update_flops_per_step(const LocalTrainingConfig& config) const override {
    return models::update_flops_per_step(shape_, config);
  }
  double activation_floats_per_row() const override {
    const auto widest_hidden =
        shape_.hidden.empty() ? shape_.classes : *std::max_element(shape_.hidden.begin(), shape_.hidden.end());
    return static_cast<double>(std::max(shape_.inputs, widest_hidden));
  }
  TrainerMemory trainer_memory(const LocalTrainingConfig& config, std::int64_t test_samples) const override {
    return mlp_trainer_memory(shape_, config, test_samples);
  }
  std::vector<float> init_parameters(Rng& rng) const override { return models::init_parameters(shape_, rng); }
  std::unique_ptr<Trainer> make_trainer(kernels::Backend& backend, const Dataset& train, const Dataset& test,
                                        const LocalTrainingConfig& config, std::uint64_t seed,
                                        std::int64_t chunk) const override {
    return std::make_unique<MlpTrainer>(backend, shape_, train, test, config, seed, chunk);
  }

 private:
  MlpShape shape_;
};

}  // namespace

std::unique_ptr<Model> make_mlp_model(MlpShape shape) { return std::make_unique<MlpModel>(std::move(shape)); }

}  // namespace dtsim::models
