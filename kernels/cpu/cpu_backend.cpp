// The CPU backend: Eigen for the GEMMs, plain loops for the element-wise operations; the reference
// every other backend is held to (DESIGN "Backend").
//
// Threads: the items of a call are claimed dynamically by the participants of a ThreadPool; each item
// is computed by exactly one thread with no shared accumulators, and nothing an item computes depends
// on which thread computes it or on the other items of the call. So results are bit-identical for any
// thread count and any grouping of items into calls. Small calls run inline on the calling thread (a
// fork/join would cost more than it saves), and so do calls made from inside for_each_item (the pool
// never nests); that changes nothing in the results. Eigen's own threading is off (EIGEN_DONT_PARALLELIZE).
//
// Parallel structure: `concurrent` (backend.hpp). The trainer runs whole clients on the pool's lanes
// through for_each_item, one fork/join per chunk of clients, each client's steps as single-item calls
// that stay on its thread, its weights, velocity and activations (about 1.3 MB for a 784-200-10 MLP
// with momentum) in that core's L2 cache. With about ten fork/joins per training step instead, one
// descheduled thread stalled every step: under one competing CPU-bound process on 2 cores the
// reference workload ran 4-5x slower with 2 threads than with 1.
// GCC 12 reports a false -Wmaybe-uninitialized inside Eigen's AVX-512 packet transpose (the
// intrinsics' deliberately undefined `__Y` operand); the warning is issued where it is inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "kernels/backend.hpp"
#include "kernels/cpu/image_ops.hpp"
#include "kernels/cpu/thread_pool.hpp"
#include "kernels/op_contract.hpp"

namespace dtsim::kernels {
namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Map = Eigen::Map<RowMat, 0, Eigen::OuterStride<>>;
using ConstMap = Eigen::Map<const RowMat, 0, Eigen::OuterStride<>>;

// Below this much work (flops, or elements touched) a call runs inline: a fork/join costs about a
// microsecond, which is what a couple of ten thousand element-wise flops cost.
constexpr double kParallelMinWork = 32768;
// The dense products the register-tiled kernel takes: at most this many rows of op(A)·B (NN), or this
// inner depth (TN, a weight gradient over a minibatch). Minibatches are 10 to a few tens of rows.
constexpr std::int64_t kDenseMaxRows = 32;
constexpr std::int64_t kDenseMaxDepth = 32;

ConstMap as_map(const ConstMatView& v) { return ConstMap(v.data, v.rows, v.cols, Eigen::OuterStride<>(v.ld)); }
Map as_map(const MatView& v) { return Map(v.data, v.rows, v.cols, Eigen::OuterStride<>(v.ld)); }

// C = alpha·op(A)·op(B) + beta·C. beta = 0 never reads C (it may hold garbage, as in BLAS).
template <bool TransA, bool TransB>
void gemm_item(float alpha, const ConstMatView& a, const ConstMatView& b, float beta, const MatView& c) {
  // Minibatch products go to the register-tiled kernel (kernels/cpu/image_ops.hpp): a few rows times a
  // weight matrix (forward, Z = A·W) and a rank-few weight gradient (W += alpha·Aᵀ·dZ), where Eigen
  // spends a tenth of a training step packing the weights (measured on the reference MLP).
  if constexpr (!TransB) {
    const std::int64_t depth = TransA ? a.rows : a.cols;
    const bool few = TransA ? depth <= kDenseMaxDepth : c.rows <= kDenseMaxRows;
    if (few && (beta == 0.0f || beta == 1.0f)) {
      cpu::dense_gemm(alpha, a, TransA, b, beta == 1.0f, c);
      return;
    }
  }
  const ConstMap am = as_map(a), bm = as_map(b);
  Map cm = as_map(c);
  auto op_a = [&]() -> decltype(auto) {
    if constexpr (TransA)
      return am.transpose();
    else
      return (am);
  };
  auto op_b = [&]() -> decltype(auto) {
    if constexpr (TransB)
      return bm.transpose();
    else
      return (bm);
  };
  if (beta == 0.0f) {
    cm.noalias() = alpha * op_a() * op_b();
  } else {
    if (beta != 1.0f) cm *= beta;
    cm.noalias() += alpha * op_a() * op_b();
  }
}

void bias_activation_item(Activation act, const float* bias, const MatView& x) {
  const std::int64_t n = x.cols;
  for (std::int64_t r = 0; r < x.rows; ++r) {
    float* row = x.data + r * x.ld;
    if (act == Activation::relu) {
      for (std::int64_t c = 0; c < n; ++c) {
        const float v = row[c] + bias[c];
        row[c] = v > 0.0f ? v : 0.0f;
      }
    } else {
      for (std::int64_t c = 0; c < n; ++c) row[c] += bias[c];
    }
  }
}

void relu_backward_item(const ConstMatView& act, const MatView& grad) {
  for (std::int64_t r = 0; r < grad.rows; ++r) {
    const float* a = act.data + r * act.ld;
    float* g = grad.data + r * grad.ld;
    for (std::int64_t c = 0; c < grad.cols; ++c) g[c] = a[c] > 0.0f ? g[c] : 0.0f;
  }
}

// Per row: m = max, s = Σ exp(z − m) (accumulated in double), loss = log s − (z_label − m); argmax is
// the first maximum. The gradient is grad_scale · (exp(z − m) / s − onehot).
void softmax_xent_item(const MatView& z, const std::int32_t* labels, bool with_grad, float grad_scale, double& loss_sum,
                       double* loss_sq_sum,
                       std::int64_t& correct) {
  const std::int64_t n = z.cols;
  double loss = 0, loss_sq = 0;
  std::int64_t hits = 0;
  for (std::int64_t r = 0; r < z.rows; ++r) {
    float* row = z.data + r * z.ld;
    const std::int32_t label = labels[r];
    std::int64_t arg = 0;
    float mx = row[0];
    for (std::int64_t c = 1; c < n; ++c) {
      if (row[c] > mx) {
        mx = row[c];
        arg = c;
      }
    }
    const float z_label = row[label];
    double s = 0;
    for (std::int64_t c = 0; c < n; ++c) s += static_cast<double>(std::exp(row[c] - mx));
    const double row_loss = std::log(s) - static_cast<double>(z_label - mx);
    loss += row_loss;
    loss_sq += row_loss * row_loss;
    hits += arg == label ? 1 : 0;
    if (with_grad) {
      const double inv_s = 1.0 / s;
      for (std::int64_t c = 0; c < n; ++c) {
        const float p = static_cast<float>(static_cast<double>(std::exp(row[c] - mx)) * inv_s);
        row[c] = grad_scale * (p - (c == label ? 1.0f : 0.0f));
      }
    }
  }
  loss_sum += loss;
  if (loss_sq_sum) *loss_sq_sum += loss_sq;
  correct += hits;
}

// bias += alpha · (column sums of g), each column summed in float in row order.
void add_column_sums_item(float alpha, const ConstMatView& g, float* bias) {
  constexpr std::int64_t kBlock = 256;
  alignas(64) float acc[kBlock];
  for (std::int64_t c0 = 0; c0 < g.cols; c0 += kBlock) {
    const std::int64_t w = std::min(kBlock, g.cols - c0);
    std::fill(acc, acc + w, 0.0f);
    for (std::int64_t r = 0; r < g.rows; ++r) {
      const float* row = g.data + r * g.ld + c0;
      for (std::int64_t c = 0; c < w; ++c) acc[c] += row[c];
    }
    for (std::int64_t c = 0; c < w; ++c) bias[c0 + c] += alpha * acc[c];
  }
}

// One local-SGD step over n parameters (Backend::sgd_step): v += wd·p (wd != 0); v += μ·(p − a) (μ != 0);
// v += c (c not null); p −= lr·v; v *= momentum. One pass, each array read and written once. The common
// cases get their own loops (no per-element branch, so each vectorises); the momentum-only and
// weight-decay loops are the spine's, so their arithmetic is unchanged.
void sgd_step_item(const SgdStep& st, float* __restrict p, float* __restrict v, const float* __restrict anchor,
                   const float* __restrict correction, std::int64_t n) {
  const float lr = st.lr, momentum = st.momentum, wd = st.weight_decay, mu = st.proximal_mu;
  if (mu == 0.0f && !correction) {
    if (wd != 0.0f) {
      for (std::int64_t j = 0; j < n; ++j) {
        const float vj = v[j] + wd * p[j];
        p[j] -= lr * vj;
        v[j] = momentum * vj;
      }
    } else {
      for (std::int64_t j = 0; j < n; ++j) {
        const float vj = v[j];
        p[j] -= lr * vj;
        v[j] = momentum * vj;
      }
    }
    return;
  }
  for (std::int64_t j = 0; j < n; ++j) {
    float vj = v[j];
    if (wd != 0.0f) vj += wd * p[j];
    if (mu != 0.0f) vj += mu * (p[j] - anchor[j]);
    if (correction) vj += correction[j];
    p[j] -= lr * vj;
    v[j] = momentum * vj;
  }
}

void relu_item(const MatView& x) {
  for (std::int64_t r = 0; r < x.rows; ++r) {
    float* row = x.data + r * x.ld;
    for (std::int64_t c = 0; c < x.cols; ++c) row[c] = row[c] > 0.0f ? row[c] : 0.0f;
  }
}

// x(r, c) *= (kept ? scale : 0), one draw per unit of `group` columns (contract::dropout_uniform).
void dropout_item(float p, float scale, std::int64_t group, std::uint64_t key, const MatView& x) {
  for (std::int64_t r = 0; r < x.rows; ++r) {
    float* row = x.data + r * x.ld;
    const std::uint64_t state = contract::dropout_row_state(key, r);
    for (std::int64_t u = 0; u < x.cols / group; ++u) {
      const float factor = contract::dropout_unit_uniform(state, u) >= static_cast<double>(p) ? scale : 0.0f;
      for (std::int64_t c = u * group; c < (u + 1) * group; ++c) row[c] *= factor;
    }
  }
}

void release_host(float* p) { std::free(p); }

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads) : pool_(threads) {}

  std::string name() const override { return "cpu"; }
  int threads() const override { return pool_.size(); }
  // preferred_chunk: the default, every client of a call in one for_each_item (one fork/join per round).
  ItemSchedule item_schedule() const override { return ItemSchedule::concurrent; }
  void for_each_item(std::int64_t n, const std::function<void(std::int64_t, int)>& fn) override {
    pool_.for_each_lane(n, fn);
  }

  Buffer alloc(std::size_t n) override {
    if (n == 0) return Buffer();
    const std::size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    auto* p = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (!p) throw std::bad_alloc();
    std::memset(p, 0, bytes);
    return Buffer(p, n, &release_host);
  }
  void upload(const float* host, std::size_t n, float* dst) override { copy(host, n, dst); }
  void download(const float* src, std::size_t n, float* host) override { copy(src, n, host); }
  void copy(const float* src, std::size_t n, float* dst) override {
    if (n > 0 && src != dst) std::memmove(dst, src, n * sizeof(float));
  }
  const float* view_host(const float* host, std::size_t) override { return host; }

  Cost gemm(Trans ta, Trans tb, float alpha, std::span<const ConstMatView> a, std::span<const ConstMatView> b,
            float beta, std::span<const MatView> c) override {
    const Cost cost = contract::gemm(ta, tb, a, b, beta, c);
    auto item = [&](std::int64_t i) {
      const auto k = static_cast<std::size_t>(i);
      if (ta == Trans::no && tb == Trans::no) gemm_item<false, false>(alpha, a[k], b[k], beta, c[k]);
      if (ta == Trans::no && tb == Trans::yes) gemm_item<false, true>(alpha, a[k], b[k], beta, c[k]);
      if (ta == Trans::yes && tb == Trans::no) gemm_item<true, false>(alpha, a[k], b[k], beta, c[k]);
      if (ta == Trans::yes && tb == Trans::yes) gemm_item<true, true>(alpha, a[k], b[k], beta, c[k]);
    };
    dispatch(c.size(), cost.flops, item);
    return cost;
  }

  Cost bias_activation(Activation act, std::span<const float* const> bias, std::span<const MatView> x) override {
    const Cost cost = contract::bias_activation(act, bias, x);
    dispatch(x.size(), cost.flops, [&](std::int64_t i) {
      bias_activation_item(act, bias[static_cast<std::size_t>(i)], x[static_cast<std::size_t>(i)]);
    });
    return cost;
  }

  Cost relu_backward(std::span<const ConstMatView> act, std::span<const MatView> grad) override {
    const Cost cost = contract::relu_backward(act, grad);
    dispatch(grad.size(), cost.flops, [&](std::int64_t i) {
      relu_backward_item(act[static_cast<std::size_t>(i)], grad[static_cast<std::size_t>(i)]);
    });
    return cost;
  }

  Cost softmax_xent(std::span<const MatView> logits, std::span<const std::int32_t* const> labels, bool with_grad,
                    float grad_scale, std::span<double> loss_sum, std::span<double> loss_sq_sum,
                    std::span<std::int64_t> correct) override {
    const Cost cost = contract::softmax_xent(logits, labels, with_grad, loss_sum, loss_sq_sum, correct);
    dispatch(logits.size(), cost.flops * 4, [&](std::int64_t i) {
      const auto k = static_cast<std::size_t>(i);
      softmax_xent_item(logits[k], labels[k], with_grad, grad_scale, loss_sum[k],
                        loss_sq_sum.empty() ? nullptr : &loss_sq_sum[k], correct[k]);
    });
    return cost;
  }

  Cost add_column_sums(float alpha, std::span<const ConstMatView> g, std::span<float* const> bias) override {
    const Cost cost = contract::add_column_sums(g, bias);
    dispatch(g.size(), cost.flops, [&](std::int64_t i) {
      add_column_sums_item(alpha, g[static_cast<std::size_t>(i)], bias[static_cast<std::size_t>(i)]);
    });
    return cost;
  }

  Cost gather_rows(ConstMatView src, std::span<const std::int32_t* const> rows, std::span<const MatView> dst) override {
    const Cost cost = contract::gather_rows(src, rows, dst);
    dispatch(dst.size(), cost.bytes / 8, [&](std::int64_t i) {
      const MatView& d = dst[static_cast<std::size_t>(i)];
      const std::int32_t* idx = rows[static_cast<std::size_t>(i)];
      const auto row_bytes = static_cast<std::size_t>(d.cols) * sizeof(float);
      for (std::int64_t r = 0; r < d.rows; ++r) std::memcpy(d.data + r * d.ld, src.data + idx[r] * src.ld, row_bytes);
    });
    return cost;
  }

  // Split over elements, not items: each element is summed over the items in item order by one thread.
  Cost weighted_sum(std::span<const float* const> x, std::span<const double> w, std::size_t n, bool accumulate,
                    double* acc, float* out) override {
    const Cost cost = contract::weighted_sum(x, w, n, accumulate, acc, out);
    constexpr std::int64_t kBlock = 4096;
    const std::int64_t blocks = (static_cast<std::int64_t>(n) + kBlock - 1) / kBlock;
    dispatch(static_cast<std::size_t>(blocks), cost.bytes / 4, [&](std::int64_t blk) {
      const std::int64_t j0 = blk * kBlock;
      const std::int64_t width = std::min<std::int64_t>(kBlock, static_cast<std::int64_t>(n) - j0);
      double* a = acc + j0;
      if (!accumulate) std::fill(a, a + width, 0.0);
      for (std::size_t i = 0; i < x.size(); ++i) {
        const double wi = w[i];
        if (wi == 0) continue;
        const float* xi = x[i] + j0;
        for (std::int64_t j = 0; j < width; ++j) a[j] += wi * static_cast<double>(xi[j]);
      }
      if (out != nullptr)
        for (std::int64_t j = 0; j < width; ++j) out[j0 + j] = static_cast<float>(a[j]);
    });
    return cost;
  }

  // Split over (item, block of kUpdateBlock elements) tiles, so that one client or a few still use
  // every thread; the arithmetic is element-wise, so the split changes no bit.
  Cost sgd_step(const SgdStep& step, std::span<float* const> params, std::span<float* const> velocity,
                std::span<const float* const> anchor, std::span<const float* const> correction,
                std::size_t n) override {
    const Cost cost = contract::sgd_step(step, params, velocity, anchor, correction, n);
    constexpr std::int64_t kUpdateBlock = 16384;
    const auto len = static_cast<std::int64_t>(n);
    const std::int64_t blocks = (len + kUpdateBlock - 1) / kUpdateBlock;
    dispatch(params.size() * static_cast<std::size_t>(blocks), cost.bytes / 4, [&](std::int64_t t) {
      const auto item = static_cast<std::size_t>(t / blocks);
      const std::int64_t j0 = (t % blocks) * kUpdateBlock;
      const float* a = step.proximal_mu != 0.0f ? anchor[item] + j0 : nullptr;
      const float* c = !correction.empty() && correction[item] ? correction[item] + j0 : nullptr;
      sgd_step_item(step, params[item] + j0, velocity[item] + j0, a, c, std::min(kUpdateBlock, len - j0));
    });
    return cost;
  }

  Cost conv2d(const Conv2dShape& shape, std::span<const ConstMatView> x, std::span<const float* const> w,
              std::span<const MatView> y) override {
    const Cost cost = contract::conv2d(shape, x, w, y);
    dispatch_rows(x, cost.flops, [&](std::size_t i, std::int64_t r0, std::int64_t r1) {
      cpu::conv2d_rows(shape, x[i], w[i], y[i], r0, r1);
    });
    return cost;
  }

  Cost conv2d_backward_input(const Conv2dShape& shape, std::span<const ConstMatView> dy,
                             std::span<const float* const> w, std::span<const MatView> dx) override {
    const Cost cost = contract::conv2d_backward_input(shape, dy, w, dx);
    dispatch_rows(dy, cost.flops, [&](std::size_t i, std::int64_t r0, std::int64_t r1) {
      cpu::conv2d_backward_input_rows(shape, dy[i], w[i], dx[i], r0, r1);
    });
    return cost;
  }

  // Per item: its gradient is one sum over its images, in image order, on one thread.
  Cost conv2d_backward_params(const Conv2dShape& shape, std::span<const ConstMatView> x,
                              std::span<const ConstMatView> dy, float alpha, std::span<float* const> g) override {
    const Cost cost = contract::conv2d_backward_params(shape, x, dy, g);
    dispatch(x.size(), cost.flops, [&](std::int64_t i) {
      const auto k = static_cast<std::size_t>(i);
      cpu::conv2d_backward_params(shape, x[k], dy[k], alpha, g[k]);
    });
    return cost;
  }

  Cost max_pool2d(const Pool2dShape& shape, std::span<const ConstMatView> x, std::span<const MatView> y) override {
    const Cost cost = contract::max_pool2d(shape, x, y);
    dispatch_rows(x, cost.flops, [&](std::size_t i, std::int64_t r0, std::int64_t r1) {
      cpu::max_pool2d_rows(shape, x[i], y[i], r0, r1);
    });
    return cost;
  }

  Cost max_pool2d_backward(const Pool2dShape& shape, std::span<const ConstMatView> x, std::span<const ConstMatView> dy,
                           std::span<const MatView> dx) override {
    const Cost cost = contract::max_pool2d_backward(shape, x, dy, dx);
    dispatch_rows(x, cost.flops, [&](std::size_t i, std::int64_t r0, std::int64_t r1) {
      cpu::max_pool2d_backward_rows(shape, x[i], dy[i], dx[i], r0, r1);
    });
    return cost;
  }

  Cost relu(std::span<const MatView> x) override {
    const Cost cost = contract::relu(x);
    dispatch(x.size(), cost.flops, [&](std::int64_t i) { relu_item(x[static_cast<std::size_t>(i)]); });
    return cost;
  }

  Cost dropout(float p, std::int64_t group, std::span<const std::uint64_t> keys, std::span<const MatView> x) override {
    const Cost cost = contract::dropout(p, group, keys, x);
    if (p == 0.0f) return cost;
    const float scale = 1.0f / (1.0f - p);
    dispatch(x.size(), cost.flops * 4, [&](std::int64_t i) {
      const auto k = static_cast<std::size_t>(i);
      dropout_item(p, scale, group, keys[k], x[k]);
    });
    return cost;
  }

 private:
  // Blocks of rows of every item, claimed by the threads: for operations whose images are independent,
  // so the split changes no bit. About two blocks per thread, of at most 8 rows (a few hundred
  // microseconds of convolution). fn(item, first row, end row).
  template <class View, class F>
  void dispatch_rows(std::span<const View> items, double work, F&& fn) {
    if (work < kParallelMinWork || pool_.size() == 1 || ThreadPool::inside_item()) {
      for (std::size_t i = 0; i < items.size(); ++i) fn(i, std::int64_t{0}, items[i].rows);
      return;
    }
    std::int64_t rows = 0;
    for (const View& v : items) rows += v.rows;
    const std::int64_t per_block = std::clamp<std::int64_t>((rows + 2 * pool_.size() - 1) / (2 * pool_.size()), 1, 8);
    std::vector<std::pair<std::size_t, std::int64_t>> blocks;  // (item, first row)
    for (std::size_t i = 0; i < items.size(); ++i)
      for (std::int64_t r0 = 0; r0 < items[i].rows; r0 += per_block) blocks.emplace_back(i, r0);
    pool_.for_each(static_cast<std::int64_t>(blocks.size()), [&](std::int64_t b) {
      const auto [i, r0] = blocks[static_cast<std::size_t>(b)];
      fn(i, r0, std::min(r0 + per_block, items[i].rows));
    });
  }

  template <class F>
  void dispatch(std::size_t items, double work, F&& fn) {
    if (items == 0) return;
    if (work < kParallelMinWork || pool_.size() == 1) {
      for (std::size_t i = 0; i < items; ++i) fn(static_cast<std::int64_t>(i));
      return;
    }
    pool_.for_each(static_cast<std::int64_t>(items), fn);
  }

  ThreadPool pool_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) {
  if (threads <= 0) threads = available_cpus();
  return std::make_unique<CpuBackend>(threads);
}

}  // namespace dtsim::kernels
