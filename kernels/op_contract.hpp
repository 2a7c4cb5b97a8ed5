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
//   weighted_sum         2·items·n flops                items·n · 4 B + n · 8 B (+ n · 8 B accumulating,
//                                                       + n · 4 B rounding into out)
//   sgd_step             3·n flops (+ 2·n for wd, + 3·n for μ, + n for a correction)
//                        4·n · 4 B (+ n · 4 B for the anchor, + n · 4 B for the correction)
// sgd_step's flops: p −= lr·v is 2, v *= momentum 1, v += wd·p 2, v += μ·(p − anchor) 3, v += c 1; its
// bytes are one read and one write of p and of v, and one read of the anchor and of the correction.
//   conv2d               b·(2·macs + Co·Ho·Wo) flops    (b·Ci·H·W + Co·(Ci·k² + 1) + b·Co·Ho·Wo) · 4 B
//   conv2d_backward_input  b·2·macs flops               (b·Co·Ho·Wo + Co·Ci·k² + b·Ci·H·W) · 4 B
//   conv2d_backward_params b·(2·macs + Co·Ho·Wo) flops  (b·Ci·H·W + b·Co·Ho·Wo + 2·Co·(Ci·k² + 1)) · 4 B
//   max_pool2d           b·C·H·W flops (compares)       b·(C·H·W + C·Ho·Wo) · 4 B
//   max_pool2d_backward  b·C·H·W flops (compares)       b·(2·C·H·W + C·Ho·Wo) · 4 B
//   relu                 m·n flops                      2·m·n · 4 B
//   dropout              m·n flops                      2·m·n · 4 B
// The image ops' b is the item's rows (images), macs = Co·Ho·Wo·Ci·k² the multiply-adds of one image's
// convolution (Ci, Co the channels in and out, k the kernel side, H×W the input, Ho×Wo the output);
// conv2d's extra Co·Ho·Wo is the bias, conv2d_backward_params' the bias gradient's sums (its final
// g += alpha·sum, one per parameter, is not counted, like add_column_sums' alpha). max_pool2d_backward
// recomputes the forward compares. The per-image counts are the *_flops functions below.
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
#include "kernels/dropout_hash.hpp"  // dropout_uniform, the masks' hash

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

inline Cost weighted_sum(std::span<const float* const> x, std::span<const double> w, std::size_t n, bool accumulate,
                         const double* acc, const float* out) {
  const char* op = "weighted_sum";
  check_items(op, x.size(), w.size(), "w");
  if (n > 0 && acc == nullptr) throw std::invalid_argument(std::string(op) + ": acc is null");
  const auto overlap = [n](const void* a, std::size_t a_bytes, const void* b, std::size_t b_bytes) {
    const auto lo = reinterpret_cast<std::uintptr_t>(a), blo = reinterpret_cast<std::uintptr_t>(b);
    return n > 0 && lo < blo + b_bytes && blo < lo + a_bytes;
  };
  const std::size_t fb = n * sizeof(float), db = n * sizeof(double);
  if (out != nullptr && overlap(out, fb, acc, db)) throw std::invalid_argument(std::string(op) + ": out overlaps acc");
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (n > 0 && x[i] == nullptr) fail(op, i, "x is null");
    if (overlap(x[i], fb, acc, db)) fail(op, i, "x overlaps acc");
    if (out != nullptr && x[i] != out && overlap(x[i], fb, out, fb)) fail(op, i, "x overlaps out");
  }
  const double kn = static_cast<double>(x.size()) * static_cast<double>(n), dn = static_cast<double>(n);
  return Cost{2 * kn, 4 * kn + 8 * dn + (accumulate ? 8 * dn : 0) + (out != nullptr ? 4 * dn : 0)};
}

// weighted_sum's flops for `items` items of n values (the table above): what a rule's server_flops counts.
inline double weighted_sum_flops(double items, double n) { return 2 * items * n; }

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

// Images -----------------------------------------------------------------------------------------

// Multiply-adds of one image's convolution, and the per-image flops of the conv and pool rows above.
inline double conv2d_macs(const Conv2dShape& s) {
  return static_cast<double>(s.out_channels) * static_cast<double>(s.out_height() * s.out_width()) *
         static_cast<double>(s.in_channels * s.kernel * s.kernel);
}
inline double conv2d_flops(const Conv2dShape& s) { return 2 * conv2d_macs(s) + static_cast<double>(s.out_features()); }
inline double conv2d_backward_input_flops(const Conv2dShape& s) { return 2 * conv2d_macs(s); }
inline double conv2d_backward_params_flops(const Conv2dShape& s) { return conv2d_flops(s); }
inline double max_pool2d_flops(const Pool2dShape& s) { return static_cast<double>(s.in_features()); }

inline void check_conv_shape(const char* op, const Conv2dShape& s) {
  if (s.in_channels < 1 || s.out_channels < 1 || s.height < 1 || s.width < 1 || s.kernel < 1 || s.padding < 0) {
    throw std::invalid_argument(std::string(op) + ": bad shape: " + std::to_string(s.in_channels) + " channels in, " +
                                std::to_string(s.out_channels) + " out, input " + shape(s.height, s.width) +
                                ", kernel " + std::to_string(s.kernel) + ", padding " + std::to_string(s.padding) +
                                " (channels, sides and kernel must be >= 1, padding >= 0)");
  }
  if (s.out_height() < 1 || s.out_width() < 1) {
    throw std::invalid_argument(std::string(op) + ": kernel " + std::to_string(s.kernel) +
                                " is larger than the padded input " +
                                shape(s.height + 2 * s.padding, s.width + 2 * s.padding));
  }
}

inline void check_pool_shape(const char* op, const Pool2dShape& s) {
  if (s.channels < 1 || s.height < 1 || s.width < 1 || s.window < 1) {
    throw std::invalid_argument(std::string(op) + ": bad shape: " + std::to_string(s.channels) + " channels, input " +
                                shape(s.height, s.width) + ", window " + std::to_string(s.window) +
                                " (all must be >= 1)");
  }
  if (s.height % s.window != 0 || s.width % s.window != 0) {
    throw std::invalid_argument(std::string(op) + ": input " + shape(s.height, s.width) +
                                " is not divisible by the window " + std::to_string(s.window));
  }
}

// v must be rows × cols (an image batch of `rows` images of `cols` features).
inline void check_images(const char* op, std::size_t item, const char* name, const ConstMatView& v, std::int64_t rows,
                         std::int64_t cols) {
  check_view(op, item, name, v);
  if (v.rows != rows || v.cols != cols) {
    fail(op, item, std::string(name) + " is " + shape(v.rows, v.cols) + ", expected " + shape(rows, cols));
  }
}

inline Cost conv2d(const Conv2dShape& s, std::span<const ConstMatView> x, std::span<const float* const> w,
                   std::span<const MatView> y) {
  const char* op = "conv2d";
  check_conv_shape(op, s);
  check_items(op, x.size(), w.size(), "w");
  check_items(op, x.size(), y.size(), "y");
  Cost cost;
  for (std::size_t i = 0; i < x.size(); ++i) {
    check_images(op, i, "x", x[i], x[i].rows, s.in_features());
    check_images(op, i, "y", y[i], x[i].rows, s.out_features());
    if (x[i].rows > 0 && w[i] == nullptr) fail(op, i, "w is null");
    const auto b = static_cast<double>(x[i].rows);
    cost.flops += b * conv2d_flops(s);
    cost.bytes +=
        4 * (b * static_cast<double>(s.in_features() + s.out_features()) + static_cast<double>(s.parameter_count()));
  }
  return cost;
}

inline Cost conv2d_backward_input(const Conv2dShape& s, std::span<const ConstMatView> dy,
                                  std::span<const float* const> w, std::span<const MatView> dx) {
  const char* op = "conv2d_backward_input";
  check_conv_shape(op, s);
  check_items(op, dy.size(), w.size(), "w");
  check_items(op, dy.size(), dx.size(), "dx");
  Cost cost;
  for (std::size_t i = 0; i < dy.size(); ++i) {
    check_images(op, i, "dy", dy[i], dy[i].rows, s.out_features());
    check_images(op, i, "dx", dx[i], dy[i].rows, s.in_features());
    if (dy[i].rows > 0 && w[i] == nullptr) fail(op, i, "w is null");
    const auto b = static_cast<double>(dy[i].rows);
    cost.flops += b * conv2d_backward_input_flops(s);
    cost.bytes +=
        4 * (b * static_cast<double>(s.in_features() + s.out_features()) + static_cast<double>(s.weight_count()));
  }
  return cost;
}

inline Cost conv2d_backward_params(const Conv2dShape& s, std::span<const ConstMatView> x,
                                   std::span<const ConstMatView> dy, std::span<float* const> g) {
  const char* op = "conv2d_backward_params";
  check_conv_shape(op, s);
  check_items(op, x.size(), dy.size(), "dy");
  check_items(op, x.size(), g.size(), "g");
  Cost cost;
  for (std::size_t i = 0; i < x.size(); ++i) {
    check_images(op, i, "x", x[i], x[i].rows, s.in_features());
    check_images(op, i, "dy", dy[i], x[i].rows, s.out_features());
    if (x[i].rows > 0 && g[i] == nullptr) fail(op, i, "g is null");
    const auto b = static_cast<double>(x[i].rows);
    cost.flops += b * conv2d_backward_params_flops(s);
    cost.bytes += 4 * (b * static_cast<double>(s.in_features() + s.out_features()) +
                       2 * static_cast<double>(s.parameter_count()));
  }
  return cost;
}

inline Cost max_pool2d(const Pool2dShape& s, std::span<const ConstMatView> x, std::span<const MatView> y) {
  const char* op = "max_pool2d";
  check_pool_shape(op, s);
  check_items(op, x.size(), y.size(), "y");
  Cost cost;
  for (std::size_t i = 0; i < x.size(); ++i) {
    check_images(op, i, "x", x[i], x[i].rows, s.in_features());
    check_images(op, i, "y", y[i], x[i].rows, s.out_features());
    const auto b = static_cast<double>(x[i].rows);
    cost.flops += b * max_pool2d_flops(s);
    cost.bytes += 4 * b * static_cast<double>(s.in_features() + s.out_features());
  }
  return cost;
}

inline Cost max_pool2d_backward(const Pool2dShape& s, std::span<const ConstMatView> x, std::span<const ConstMatView> dy,
                                std::span<const MatView> dx) {
  const char* op = "max_pool2d_backward";
  check_pool_shape(op, s);
  check_items(op, x.size(), dy.size(), "dy");
  check_items(op, x.size(), dx.size(), "dx");
  Cost cost;
  for (std::size_t i = 0; i < x.size(); ++i) {
    check_images(op, i, "x", x[i], x[i].rows, s.in_features());
    check_images(op, i, "dy", dy[i], x[i].rows, s.out_features());
    check_images(op, i, "dx", dx[i], x[i].rows, s.in_features());
    const auto b = static_cast<double>(x[i].rows);
    cost.flops += b * max_pool2d_flops(s);
    cost.bytes += 4 * b * static_cast<double>(2 * s.in_features() + s.out_features());
  }
  return cost;
}

// relu and dropout: element-wise, m·n flops and one read and one write of every element.
inline Cost elementwise(const char* op, std::span<const MatView> x) {
  Cost cost;
  for (std::size_t i = 0; i < x.size(); ++i) {
    check_view(op, i, "x", x[i]);
    const double mn = static_cast<double>(x[i].rows) * static_cast<double>(x[i].cols);
    cost.flops += mn;
    cost.bytes += 4 * 2 * mn;
  }
  return cost;
}

inline Cost relu(std::span<const MatView> x) { return elementwise("relu", x); }

inline Cost dropout(float p, std::int64_t group, std::span<const std::uint64_t> keys, std::span<const MatView> x) {
  const char* op = "dropout";
  if (!(p >= 0.0f && p < 1.0f))
    throw std::invalid_argument(std::string(op) + ": p = " + std::to_string(p) + " is outside [0, 1)");
  if (group < 1) throw std::invalid_argument(std::string(op) + ": group " + std::to_string(group) + " is < 1");
  check_items(op, x.size(), keys.size(), "keys");
  const Cost cost = elementwise(op, x);
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (x[i].cols % group != 0) {
      fail(op, i,
           "x has " + std::to_string(x[i].cols) + " columns, not a multiple of the group " + std::to_string(group));
    }
  }
  return cost;
}

}  // namespace dtsim::kernels::contract
