// What the Model and LocalTrainer tests share: random datasets, a Backend wrapper that adds up the cost
// every operation reports, the trainer's keyed streams recomputed from their documented keys, and
// double-precision references (an MLP forward pass, central finite differences).
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "kernels/backend.hpp"
#include "kernels/dropout_hash.hpp"
#include "models/dataset.hpp"
#include "models/local_trainer.hpp"
#include "models/mlp.hpp"
#include "sim/common/rng.hpp"
#include "tests/unit/kernels/tensor_compare.hpp"

namespace dtsim::test {

// x uniform in [−1, 1), labels uniform in [0, classes).
inline models::Dataset random_dataset(std::int64_t samples, std::int64_t features, std::int64_t classes,
                                      std::uint64_t seed) {
  models::Dataset d;
  d.samples = samples;
  d.features = features;
  d.classes = classes;
  Rng rng(seed, "mlp-test-data");
  for (std::int64_t i = 0; i < samples * features; ++i) d.x.push_back(static_cast<float>(rng.uniform(-1, 1)));
  for (std::int64_t i = 0; i < samples; ++i)
    d.y.push_back(static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(classes))));
  return d;
}

inline std::vector<std::int32_t> iota(std::int32_t first, std::int32_t count) {
  std::vector<std::int32_t> v(static_cast<std::size_t>(count));
  for (std::int32_t i = 0; i < count; ++i) v[static_cast<std::size_t>(i)] = first + i;
  return v;
}

// A TrainTask with every field named in order (aggregate initialisation would leave the objective to
// -Wmissing-field-initializers).
inline models::TrainTask make_task(std::int32_t client, std::span<const std::int32_t> samples, std::int64_t round,
                                   std::int64_t from = 0, std::int64_t max_steps = -1, std::int64_t epochs = -1,
                                   models::LocalObjective objective = {}) {
  models::TrainTask t;
  t.client = client;
  t.samples = samples;
  t.round = round;
  t.from = from;
  t.max_steps = max_steps;
  t.epochs = epochs;
  t.objective = objective;
  return t;
}

// A store holding `params` as version `version`.
inline models::ModelStore store_of(std::span<const float> params, std::int64_t version = 0) {
  models::ModelStore store;
  store.put(version, std::vector<float>(params.begin(), params.end()));
  return store;
}

// The order in which a task visits its samples in one epoch, recomputed from the documented stream
// Rng(seed, "shuffle", client, round, epoch): a Fisher–Yates shuffle from the last position down.
inline std::vector<std::int32_t> epoch_order(std::span<const std::int32_t> samples, std::uint64_t seed,
                                             std::int32_t client, std::int64_t round, std::int64_t epoch) {
  std::vector<std::int32_t> order(samples.begin(), samples.end());
  Rng rng(seed, "shuffle", static_cast<std::int64_t>(client), round, epoch);
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  return order;
}

// The key of one training step's dropout masks, from the documented stream Rng(seed, "dropout", client,
// round, step); a layer's mask is keyed by models::dropout_layer_key(step key, layer).
inline std::uint64_t dropout_step_key(std::uint64_t seed, std::int32_t client, std::int64_t round, std::int64_t step) {
  return Rng(seed, "dropout", static_cast<std::int64_t>(client), round, step).next_u64();
}

// The multipliers Backend::dropout's contract applies to a rows × cols matrix under `key`, units of
// `group` columns: 1/(1 − p) (rounded to float) where contract::dropout_uniform(key, row, unit) >= p, else
// 0. The mask a reference multiplies in.
inline std::vector<double> dropout_mask(float p, std::int64_t group, std::uint64_t key, std::int64_t rows,
                                        std::int64_t cols) {
  const double scale = static_cast<double>(1.0f / (1.0f - p));
  std::vector<double> mask(static_cast<std::size_t>(rows * cols));
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t c = 0; c < cols; ++c) {
      const bool keep = kernels::contract::dropout_uniform(key, r, c / group) >= static_cast<double>(p);
      mask[static_cast<std::size_t>(r * cols + c)] = keep ? scale : 0.0;
    }
  }
  return mask;
}

// Forwards every Backend virtual to another backend and adds up the cost each operation reports, in
// total and by operation. Its parallel structure is `batched` (the Backend default, as on CUDA) unless it
// is told to forward the inner backend's.
class CountingBackend final : public kernels::Backend {
 public:
  enum class Schedule { batched, forwarded };
  explicit CountingBackend(kernels::Backend& inner, Schedule schedule = Schedule::batched)
      : inner_(inner), schedule_(schedule) {}
  kernels::Cost total;
  std::map<std::string, kernels::Cost> by_op;  // operation name → summed cost
  std::map<std::string, std::int64_t> calls;   // operation name → calls
  std::atomic<std::int64_t> update_calls{0};   // sgd_step calls
  std::int64_t for_each_calls = 0;             // for_each_item calls
  std::int64_t items = 0;                      // items run by for_each_item

  void reset() {
    std::lock_guard lock(mutex_);
    total = {};
    by_op.clear();
    calls.clear();
  }
  std::string report() const {
    std::string s;
    for (const auto& [op, c] : by_op) s += "  " + op + ": " + std::to_string(c.flops) + " flops\n";
    return s;
  }

  std::string name() const override { return inner_.name(); }
  int threads() const override { return inner_.threads(); }
  std::int64_t preferred_chunk() const override { return inner_.preferred_chunk(); }
  kernels::ItemSchedule item_schedule() const override {
    return schedule_ == Schedule::batched ? kernels::ItemSchedule::batched : inner_.item_schedule();
  }
  void for_each_item(std::int64_t n, const std::function<void(std::int64_t, int)>& fn) override {
    ++for_each_calls;
    items += n;
    if (schedule_ == Schedule::batched) return kernels::Backend::for_each_item(n, fn);
    inner_.for_each_item(n, fn);
  }
  kernels::Buffer alloc(std::size_t n) override { return inner_.alloc(n); }
  void upload(const float* host, std::size_t n, float* dst) override { inner_.upload(host, n, dst); }
  void download(const float* src, std::size_t n, float* host) override { inner_.download(src, n, host); }
  void copy(const float* src, std::size_t n, float* dst) override { inner_.copy(src, n, dst); }
  const float* view_host(const float* host, std::size_t n) override { return inner_.view_host(host, n); }
  kernels::Cost gemm(kernels::Trans ta, kernels::Trans tb, float alpha, std::span<const kernels::ConstMatView> a,
                     std::span<const kernels::ConstMatView> b, float beta,
                     std::span<const kernels::MatView> c) override {
    return add("gemm", inner_.gemm(ta, tb, alpha, a, b, beta, c));
  }
  kernels::Cost bias_activation(kernels::Activation act, std::span<const float* const> bias,
                                std::span<const kernels::MatView> x) override {
    return add("bias_activation", inner_.bias_activation(act, bias, x));
  }
  kernels::Cost relu_backward(std::span<const kernels::ConstMatView> act,
                              std::span<const kernels::MatView> grad) override {
    return add("relu_backward", inner_.relu_backward(act, grad));
  }
  kernels::Cost softmax_xent(std::span<const kernels::MatView> logits, std::span<const std::int32_t* const> labels,
                             bool with_grad, float grad_scale, std::span<double> loss_sum,
                             std::span<double> loss_sq_sum, std::span<std::int64_t> correct) override {
    return add("softmax_xent",
               inner_.softmax_xent(logits, labels, with_grad, grad_scale, loss_sum, loss_sq_sum, correct));
  }
  kernels::Cost add_column_sums(float alpha, std::span<const kernels::ConstMatView> g,
                                std::span<float* const> bias) override {
    return add("add_column_sums", inner_.add_column_sums(alpha, g, bias));
  }
  kernels::Cost gather_rows(kernels::ConstMatView src, std::span<const std::int32_t* const> rows,
                            std::span<const kernels::MatView> dst) override {
    return add("gather_rows", inner_.gather_rows(src, rows, dst));
  }
  kernels::Cost weighted_sum(std::span<const float* const> x, std::span<const double> w, std::size_t n,
                             bool accumulate, double* acc, float* out) override {
    return add("weighted_sum", inner_.weighted_sum(x, w, n, accumulate, acc, out));
  }
  kernels::Cost conv2d(const kernels::Conv2dShape& shape, std::span<const kernels::ConstMatView> x,
                       std::span<const float* const> w, std::span<const kernels::MatView> y) override {
    return add("conv2d", inner_.conv2d(shape, x, w, y));
  }
  kernels::Cost conv2d_backward_input(const kernels::Conv2dShape& shape, std::span<const kernels::ConstMatView> dy,
                                      std::span<const float* const> w, std::span<const kernels::MatView> dx) override {
    return add("conv2d_backward_input", inner_.conv2d_backward_input(shape, dy, w, dx));
  }
  kernels::Cost conv2d_backward_params(const kernels::Conv2dShape& shape, std::span<const kernels::ConstMatView> x,
                                       std::span<const kernels::ConstMatView> dy, float alpha,
                                       std::span<float* const> g) override {
    return add("conv2d_backward_params", inner_.conv2d_backward_params(shape, x, dy, alpha, g));
  }
  kernels::Cost max_pool2d(const kernels::Pool2dShape& shape, std::span<const kernels::ConstMatView> x,
                           std::span<const kernels::MatView> y) override {
    return add("max_pool2d", inner_.max_pool2d(shape, x, y));
  }
  kernels::Cost max_pool2d_backward(const kernels::Pool2dShape& shape, std::span<const kernels::ConstMatView> x,
                                    std::span<const kernels::ConstMatView> dy,
                                    std::span<const kernels::MatView> dx) override {
    return add("max_pool2d_backward", inner_.max_pool2d_backward(shape, x, dy, dx));
  }
  kernels::Cost relu(std::span<const kernels::MatView> x) override { return add("relu", inner_.relu(x)); }
  kernels::Cost dropout(float p, std::int64_t group, std::span<const std::uint64_t> keys,
                        std::span<const kernels::MatView> x) override {
    return add("dropout", inner_.dropout(p, group, keys, x));
  }
  kernels::Cost sgd_step(const kernels::SgdStep& step, std::span<float* const> params, std::span<float* const> velocity,
                         std::span<const float* const> anchor, std::span<const float* const> correction,
                         std::size_t n) override {
    ++update_calls;
    return add("sgd_step", inner_.sgd_step(step, params, velocity, anchor, correction, n));
  }

 private:
  kernels::Cost add(const char* op, kernels::Cost c) {
    std::lock_guard lock(mutex_);  // items of for_each_item call in concurrently
    total += c;
    by_op[op] += c;
    ++calls[op];
    return c;
  }
  kernels::Backend& inner_;
  Schedule schedule_;
  std::mutex mutex_;
};

// Every field of every result bit for bit.
inline void check_same_results(const std::vector<models::TrainResult>& got,
                               const std::vector<models::TrainResult>& ref) {
  REQUIRE(got.size() == ref.size());
  for (std::size_t k = 0; k < got.size(); ++k) {
    INFO("task " << k);
    const auto diff = compare_bits(got[k].params, ref[k].params);
    CHECK_MESSAGE(diff.empty(), diff);
    CHECK(got[k].steps == ref[k].steps);
    CHECK(got[k].samples_seen == ref[k].samples_seen);
    CHECK(std::memcmp(&got[k].loss_sum, &ref[k].loss_sum, sizeof(double)) == 0);
    CHECK(std::memcmp(&got[k].loss_sq_sum, &ref[k].loss_sq_sum, sizeof(double)) == 0);
    CHECK(got[k].correct == ref[k].correct);
    CHECK(got[k].flops == ref[k].flops);
  }
}

// The MLP in double on `rows` of d, in order. masks, when not empty, holds one rows × width matrix per
// hidden layer (row-major), multiplied into that layer's output after the ReLU (inverted dropout).
struct MlpReference {
  std::vector<double> losses;    // per row (nats)
  std::int64_t hits = 0;         // rows whose first largest logit is the label
  double min_pre = INFINITY;     // the smallest |pre-activation| of a hidden unit that is kept
  double min_margin = INFINITY;  // the smallest gap between a row's largest and second largest logit
  double mean_loss() const {
    double s = 0;
    for (double l : losses) s += l;
    return s / static_cast<double>(losses.size());
  }
};
inline MlpReference mlp_reference(const models::MlpShape& shape, const std::vector<double>& p, const models::Dataset& d,
                                  std::span<const std::int32_t> rows,
                                  const std::vector<std::vector<double>>& masks = {}) {
  std::vector<std::int64_t> widths = {shape.inputs};
  widths.insert(widths.end(), shape.hidden.begin(), shape.hidden.end());
  widths.push_back(shape.classes);
  MlpReference out;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const std::int32_t row = rows[r];
    std::vector<double> a(d.x.begin() + row * d.features, d.x.begin() + (row + 1) * d.features);
    std::size_t off = 0;
    for (std::size_t l = 0; l + 1 < widths.size(); ++l) {
      const std::int64_t in = widths[l], out_w = widths[l + 1];
      std::vector<double> z(static_cast<std::size_t>(out_w));
      for (std::int64_t o = 0; o < out_w; ++o) {
        double s = p[off + static_cast<std::size_t>(in * out_w + o)];
        for (std::int64_t i = 0; i < in; ++i)
          s += a[static_cast<std::size_t>(i)] * p[off + static_cast<std::size_t>(i * out_w + o)];
        z[static_cast<std::size_t>(o)] = s;
      }
      off += static_cast<std::size_t>(in * out_w + out_w);
      if (l + 2 < widths.size()) {
        for (std::size_t o = 0; o < z.size(); ++o) {
          const double m = masks.empty() ? 1.0 : masks[l][r * z.size() + o];
          if (m != 0) out.min_pre = std::min(out.min_pre, std::abs(z[o]));
          z[o] = std::max(z[o], 0.0) * m;
        }
      }
      a = z;
    }
    const double mx = *std::max_element(a.begin(), a.end());
    double s = 0;
    for (double v : a) s += std::exp(v - mx);
    const auto label = static_cast<std::size_t>(d.y[static_cast<std::size_t>(row)]);
    out.losses.push_back(std::log(s) - (a[label] - mx));
    out.hits += std::max_element(a.begin(), a.end()) - a.begin() == static_cast<std::ptrdiff_t>(label) ? 1 : 0;
    auto sorted = a;
    std::sort(sorted.begin(), sorted.end());
    if (sorted.size() > 1) out.min_margin = std::min(out.min_margin, sorted.back() - sorted[sorted.size() - 2]);
  }
  return out;
}

// ∇f at p by central differences (double; eps small enough for smooth f, large enough for rounding).
inline std::vector<double> fd_gradient(const std::function<double(const std::vector<double>&)>& f,
                                       const std::vector<double>& p, double eps = 1e-6) {
  std::vector<double> grad;
  grad.reserve(p.size());
  auto q = p;
  for (std::size_t i = 0; i < p.size(); ++i) {
    q[i] = p[i] + eps;
    const double plus = f(q);
    q[i] = p[i] - eps;
    const double minus = f(q);
    q[i] = p[i];
    grad.push_back((plus - minus) / (2 * eps));
  }
  return grad;
}

inline double norm2(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

}  // namespace dtsim::test
