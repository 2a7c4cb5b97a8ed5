// What every backend checks before an operation, and the modelled cost it reports (DESIGN principle 1:
// cost comes from the shapes, never from this machine's clock). Shared by the CPU and CUDA backends so
// that a CPU run and a GPU run of one scenario report identical costs and reject the same arguments.
//
// Cost model, per item (m×n the item's matrix, k the GEMM depth; bytes count float32 reads + writes):
//   gemm                 2·m·n·k flops                  (m·k + k·n + m·n, + m·n more when beta != 0) · 4 B
//   bias_activation      m·n flops (+ m·n for relu)     (2·m·n + n) · 4 B
//   relu_backward        m·n flops                      3·m·n · 4 B
//   softmax_xent         5·m·n flops (+ 2·m·n for grad) m·n · 4 B (·2 with grad) + m labels · 4 B
//   add_column_sums      m·n flops                      (m·n + 2·n) · 4 B
//   gather_rows          0 flops                        2·rows·cols · 4 B + rows indices · 4 B
//   weighted_sum         2·items·n flops                (items + 1)·n · 4 B
//   sgd_step             3·n flops (+ 2·n for wd, + 3·n for μ, + n for a correction)
//                        4·n · 4 B (+ n · 4 B for the anchor, + n · 4 B for the correction)
// sgd_step's flops: p −= lr·v is 2, v *= momentum 1, v += wd·p 2, v += μ·(p − anchor) 3, v += c 1; its
// bytes are one read and one write of p and of v, and one read of the anchor and of the correction.
// Every flop count except weighted_sum's and sgd_step's is proportional to the rows m of the item, so
// the cost of a minibatch training step is the batch size times a per-sample cost, plus (for any
// optimizer but plain SGD) one sgd_step per step (models/local_trainer.hpp relies on it).
//
// Checks throw std::invalid_argument naming the operation, the item and the mismatch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

#include "kernels/backend.hpp"

namespace dtsim::kernels::contract {

inline constexpr double kSoftmaxFlopsPerElement = 5;
inline constexpr double kSoftmaxGradFlopsPerElement = 2;

[[noreturn]] inline void fail(const char* op, std::size_t item, const std::string& what) {
  throw std::invalid_argument(std::string(op) + ": item " + std::to_string(item) + ": " + what);
}

inline std::string shape(std::int64_t rows, std::int64_t cols) {
  return std::to_string(rows) + "x" + std::to_string(cols);
}

inline void check_view(const char* op, std::size_t item, const char* name, const float* data, std::int64_t rows,
                       std::int64_t cols, std::int64_t ld) {
  if (rows < 0 || cols < 0) fail(op, item, std::string(name) + " has a negative shape " + shape(rows, cols));
  if (ld < cols)
    fail(op, item, std::string(name) + " has ld " + std::to_string(ld) + " < cols " + std::to_string(cols));
  if (rows > 0 && cols > 0 && data == nullptr)
    fail(op, item, std::string(name) + " is " + shape(rows, cols) + " but null");
}
inline void check_view(const char* op, std::size_t item, const char* name, const ConstMatView& v) {
  check_view(op, item, name, v.data, v.rows, v.cols, v.ld);
}

inline void check_items(const char* op, std::size_t expected, std::size_t got, const char* name) {
  if (got != expected) {
    throw std::invalid_argument(std::string(op) + ": " + name + " has " + std::to_string(got) + " items, expected " +
                                std::to_string(expected));
  }
}

inline Cost gemm(Trans ta, Trans tb, std::span<const ConstMatView> a, std::span<const ConstMatView> b, float beta,
                 std::span<const MatView> c) {
  check_items("gemm", c.size(), a.size(), "A");
  check_items("gemm", c.size(), b.size(), "B");
  Cost cost;
  for (std::size_t i = 0; i < c.size(); ++i) {
    check_view("gemm", i, "A", a[i]);
    check_view("gemm", i, "B", b[i]);
    check_view("gemm", i, "C", c[i]);
    const std::int64_t m = ta == Trans::no ? a[i].rows : a[i].cols;
    const std::int64_t k = ta == Trans::no ? a[i].cols : a[i].rows;
    const std::int64_t kb = tb == Trans::no ? b[i].rows : b[i].cols;
    const std::int64_t n = tb == Trans::no ? b[i].cols : b[i].rows;
    if (k != kb) fail("gemm", i, "op(A) is " + shape(m, k) + " but op(B) is " + shape(kb, n));
    if (c[i].rows != m || c[i].cols != n) {
      fail("gemm", i, "C is " + shape(c[i].rows, c[i].cols) + " but op(A)·op(B) is " + shape(m, n));
    }
    const double md = static_cast<double>(m), nd = static_cast<double>(n), kd = static_cast<double>(k);
    cost.flops += 2 * md * nd * kd;
    cost.bytes += 4 * (md * kd + kd * nd + md * nd * (beta != 0.0f ? 2 : 1));
  }
  return cost;
}

inline Cost bias_activation(Activation act, std::span<const float* const> bias, std::span<const MatView> x) {
  check_items("bias_activation", x.size(), bias.size(), "bias");
  Cost cost;
  for (std::size_t i = 0; i < x.size(); ++i) {
    check_view("bias_activation", i, "X", x[i]);
    if (x[i].cols > 0 && bias[i] == nullptr) fail("bias_activation", i, "bias is null");
    const double mn = static_cast<double>(x[i].rows) * static_cast<double>(x[i].cols);
    cost.flops += mn * (act == Activation::relu ? 2 : 1);
    cost.bytes += 4 * (2 * mn + static_cast<double>(x[i].cols));
  }
  return cost;
}

inline Cost relu_backward(std::span<const ConstMatView> act, std::span<const MatView> grad) {
  check_items("relu_backward", grad.size(), act.size(), "act");
  Cost cost;
  for (std::size_t i = 0; i < grad.size(); ++i) {
    check_view("relu_backward", i, "act", act[i]);
    check_view("relu_backward", i, "grad", grad[i]);
    if (act[i].rows != grad[i].rows || act[i].cols != grad[i].cols) {
      fail("relu_backward", i,
           "act is " + shape(act[i].rows, act[i].cols) + " but grad is " + shape(grad[i].rows, grad[i].cols));
    }
    const double mn = static_cast<double>(grad[i].rows) * static_cast<double>(grad[i].cols);
    cost.flops += mn;
    cost.bytes += 4 * 3 * mn;
  }
  return cost;
}

inline Cost softmax_xent(std::span<const MatView> logits, std::span<const std::int32_t* const> labels, bool with_grad,
                         std::span<double> loss_sum, std::span<double> loss_sq_sum, std::span<std::int64_t> correct) {
  const char* op = "softmax_xent";
  check_items(op, logits.size(), labels.size(), "labels");
  check_items(op, logits.size(), loss_sum.size(), "loss_sum");
  if (!loss_sq_sum.empty()) check_items(op, logits.size(), loss_sq_sum.size(), "loss_sq_sum");
  check_items(op, logits.size(), correct.size(), "correct");
  Cost cost;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    const MatView& z = logits[i];
    check_view(op, i, "logits", z);
    if (z.rows > 0 && z.cols == 0) fail(op, i, "logits have rows but no classes");
    if (z.rows > 0 && labels[i] == nullptr) fail(op, i, "labels are null");
    for (std::int64_t r = 0; r < z.rows; ++r) {
      if (labels[i][r] < 0 || labels[i][r] >= z.cols) {
        fail(op, i,
             "label " + std::to_string(labels[i][r]) + " of row " + std::to_string(r) + " is outside [0, " +
                 std::to_string(z.cols) + ")");
      }
    }
    const double mn = static_cast<double>(z.rows) * static_cast<double>(z.cols);
    cost.flops += mn * (kSoftmaxFlopsPerElement + (with_grad ? kSoftmaxGradFlopsPerElement : 0));
    cost.bytes += 4 * (mn * (with_grad ? 2 : 1) + static_cast<double>(z.rows));
  }
  return cost;
}

inline Cost add_column_sums(std::span<const ConstMatView> g, std::span<float* const> bias) {
  check_items("add_column_sums", g.size(), bias.size(), "bias");
  Cost cost;
  for (std::size_t i = 0; i < g.size(); ++i) {
    check_view("add_column_sums", i, "G", g[i]);
    if (g[i].cols > 0 && bias[i] == nullptr) fail("add_column_sums", i, "bias is null");
    const double mn = static_cast<double>(g[i].rows) * static_cast<double>(g[i].cols);
    cost.flops += mn;
    cost.bytes += 4 * (mn + 2 * static_cast<double>(g[i].cols));
  }
  return cost;
}

inline Cost gather_rows(ConstMatView src, std::span<const std::int32_t* const> rows, std::span<const MatView> dst) {
  const char* op = "gather_rows";
  check_items(op, dst.size(), rows.size(), "rows");
  if (src.rows < 0 || src.cols < 0 || src.ld < src.cols || (src.rows > 0 && src.cols > 0 && src.data == nullptr)) {
    throw std::invalid_argument(std::string(op) + ": bad source view " + shape(src.rows, src.cols) + " ld " +
                                std::to_string(src.ld));
  }
  Cost cost;
  for (std::size_t i = 0; i < dst.size(); ++i) {
    check_view(op, i, "dst", dst[i]);
    if (dst[i].cols != src.cols)
      fail(op, i, "dst has " + std::to_string(dst[i].cols) + " columns, src " + std::to_string(src.cols));
    if (dst[i].rows > 0 && rows[i] == nullptr) fail(op, i, "row indices are null");
    for (std::int64_t r = 0; r < dst[i].rows; ++r) {
      if (rows[i][r] < 0 || rows[i][r] >= src.rows) {
        fail(op, i, "row index " + std::to_string(rows[i][r]) + " is outside [0, " + std::to_string(src.rows) + ")");
      }
    }
    const double rc = static_cast<double>(dst[i].rows) * static_cast<double>(dst[i].cols);
    cost.bytes += 4 * (2 * rc + static_cast<double>(dst[i].rows));
  }
  return cost;
}

inline Cost weighted_sum(std::span<const float* const> x, std::span<const double> w, std::size_t n, const float* out) {
  const char* op = "weighted_sum";
  check_items(op, x.size(), w.size(), "w");
  if (n > 0 && out == nullptr) throw std::invalid_argument(std::string(op) + ": out is null");
  const auto lo = reinterpret_cast<std::uintptr_t>(out), hi = lo + n * sizeof(float);
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (n > 0 && x[i] == nullptr) fail(op, i, "x is null");
    const auto xlo = reinterpret_cast<std::uintptr_t>(x[i]), xhi = xlo + n * sizeof(float);
    if (n > 0 && xlo < hi && lo < xhi) fail(op, i, "x overlaps out");
  }
  const double kn = static_cast<double>(x.size()) * static_cast<double>(n);
  return Cost{2 * kn, 4 * (kn + static_cast<double>(n))};
}

// sgd_step's flops for one item of n parameters (see the table above).
inline double sgd_step_flops(const SgdStep& step, bool correction, double n) {
  return n * (3 + (step.weight_decay != 0.0f ? 2 : 0) + (step.proximal_mu != 0.0f ? 3 : 0) + (correction ? 1 : 0));
}

inline Cost sgd_step(const SgdStep& step, std::span<float* const> params, std::span<float* const> velocity,
                     std::span<const float* const> anchor, std::span<const float* const> correction, std::size_t n) {
  const char* op = "sgd_step";
  check_items(op, params.size(), velocity.size(), "velocity");
  if (step.proximal_mu != 0.0f) check_items(op, params.size(), anchor.size(), "anchor");
  if (!correction.empty()) check_items(op, params.size(), correction.size(), "correction");
  Cost cost;
  const std::uintptr_t bytes = n * sizeof(float);
  const auto nd = static_cast<double>(n);
  for (std::size_t i = 0; i < params.size(); ++i) {
    const bool corrected = !correction.empty() && correction[i] != nullptr;
    if (n > 0) {
      if (params[i] == nullptr) fail(op, i, "params is null");
      if (velocity[i] == nullptr) fail(op, i, "velocity is null");
      if (step.proximal_mu != 0.0f && anchor[i] == nullptr) fail(op, i, "anchor is null");
      const auto plo = reinterpret_cast<std::uintptr_t>(params[i]), vlo = reinterpret_cast<std::uintptr_t>(velocity[i]);
      if (plo < vlo + bytes && vlo < plo + bytes) fail(op, i, "params overlaps velocity");
    }
    cost.flops += sgd_step_flops(step, corrected, nd);
    cost.bytes += 4 * nd * (4 + (step.proximal_mu != 0.0f ? 1 : 0) + (corrected ? 1 : 0));
  }
  return cost;
}

}  // namespace dtsim::kernels::contract
