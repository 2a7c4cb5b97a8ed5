// The CPU backend's convolution and pooling kernels on one item (kernels/cpu/cpu_backend.cpp checks the
// arguments and spreads items, or blocks of an item's rows, over its threads). Layouts are
// Backend::conv2d's: an image is a row of C·H·W floats in channel-major order; a layer's parameters are
// out_channels × (in_channels·kernel²) filters, then out_channels biases.
//
// Every function runs on the calling thread, with a per-thread scratch buffer, and computes each
// output in a fixed order that depends only on the shapes: the same bits for any split of the rows.
#pragma once

#include <cstdint>

#include "kernels/backend.hpp"

namespace dtsim::kernels::cpu {

// C = alpha·op(A)·B (+ C when accumulate), row-major, op(A) = A or Aᵀ: the convolutions' register-tiled
// kernel, also the CPU backend's gemm for the small dense products of minibatch training (a few rows of
// activations times a weight matrix, or a rank-b weight gradient), where Eigen's packing costs more than
// the product. Each element of C is one fused multiply-add chain over k in order: its value depends only
// on the operands.
void dense_gemm(float alpha, const ConstMatView& a, bool trans_a, const ConstMatView& b, bool accumulate,
                const MatView& c);

// Rows [r0, r1) of y (b × Co·Ho·Wo) = conv(rows of x (b × Ci·H·W), w's filters) + w's biases.
void conv2d_rows(const Conv2dShape& s, const ConstMatView& x, const float* w, const MatView& y, std::int64_t r0,
                 std::int64_t r1);

// Rows [r0, r1) of dx (b × Ci·H·W) = the transposed convolution of dy's rows (b × Co·Ho·Wo) with w.
void conv2d_backward_input_rows(const Conv2dShape& s, const ConstMatView& dy, const float* w, const MatView& dx,
                                std::int64_t r0, std::int64_t r1);

// g (filters then biases) += alpha · ∂(Σ dy·y)/∂(filters, biases), summed over all b images of x (b × Ci·H·W)
// and dy (b × Co·Ho·Wo) in image order.
void conv2d_backward_params(const Conv2dShape& s, const ConstMatView& x, const ConstMatView& dy, float alpha, float* g);

// Rows [r0, r1) of y (b × C·Ho·Wo) = the tiles' maxima of x's rows (b × C·H·W).
void max_pool2d_rows(const Pool2dShape& s, const ConstMatView& x, const MatView& y, std::int64_t r0, std::int64_t r1);

// Rows [r0, r1) of dx (b × C·H·W) = dy (b × C·Ho·Wo) at the element max_pool2d picks from x, else 0.
void max_pool2d_backward_rows(const Pool2dShape& s, const ConstMatView& x, const ConstMatView& dy, const MatView& dx,
                              std::int64_t r0, std::int64_t r1);

}  // namespace dtsim::kernels::cpu
