// The CUDA side of the CUDA backend, behind plain-pointer functions: cuda_kernels.cu (compiled by nvcc
// as CUDA 17) defines them with the CUDA runtime and cuBLAS; cuda_backend.cpp (C++20) implements the
// Backend interface on top of them. No CUDA type appears here.
//
// Every function works on one CUDA stream owned by the Context, so operations run in call order.
// All matrices are row-major device views (element (r, c) at data[r * ld + c]). Item arrays (the
// `items` entries of a batched call) and label/index arrays are host memory; everything they point to
// is device memory unless said otherwise. Arguments were checked by the caller (op_contract.hpp).
// Errors throw std::runtime_error with the CUDA or cuBLAS error string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace dtsim::kernels::cuda {

struct DeviceMat {
  float* data = nullptr;
  std::int64_t rows = 0, cols = 0, ld = 0;
};

// Number of usable devices; 0 with the reason in *why ("no CUDA device ...") when there is none.
int device_count(std::string* why);

struct Context;             // stream, cuBLAS handle, staging buffers
Context* create_context();  // uses device 0; throws
void destroy_context(Context* ctx) noexcept;

float* device_alloc_zeroed(std::size_t n);  // n floats, zero-initialised; throws
void device_free(float* p);                 // never throws (errors are ignored at release)

void copy_to_device(Context* ctx, const float* host, std::size_t n, float* dst);
void copy_to_host(Context* ctx, const float* src, std::size_t n, float* host);  // waits for the stream
void copy_on_device(Context* ctx, const float* src, std::size_t n, float* dst);

// C[i] = alpha·op(A[i])·op(B[i]) + beta·C[i] through cuBLAS, row-major through the transposed
// column-major call: consecutive items of one shape as one batched call (strided when their matrices
// are evenly spaced, else over pointer arrays), a lone item as one sgemm.
void gemm(Context* ctx, bool trans_a, bool trans_b, float alpha, const DeviceMat* a, const DeviceMat* b, float beta,
          const DeviceMat* c, std::size_t items);
// x[i] (m×n) += bias[i] (n) on every row, then ReLU when relu.
void bias_activation(Context* ctx, bool relu, const float* const* bias, const DeviceMat* x, std::size_t items);
// grad[i] *= (act[i] > 0); act[i] and grad[i] are m×n.
void relu_backward(Context* ctx, const DeviceMat* act, const DeviceMat* grad, std::size_t items);
// Row-wise softmax cross-entropy; labels[i] is host memory (logits[i].rows ints). loss_sum, loss_sq_sum
// (null: not wanted) and correct are host arrays of `items` entries, added to; waits for the stream.
void softmax_xent(Context* ctx, const DeviceMat* logits, const std::int32_t* const* labels, bool with_grad,
                  float grad_scale, double* loss_sum, double* loss_sq_sum, std::int64_t* correct, std::size_t items);
// bias[i] (n) += alpha · column sums of g[i] (m×n), each column summed in row order by one thread.
void add_column_sums(Context* ctx, float alpha, const DeviceMat* g, float* const* bias, std::size_t items);
// dst[i] row r = src row rows[i][r]; rows[i] is host memory (dst[i].rows ints).
void gather_rows(Context* ctx, DeviceMat src, const std::int32_t* const* rows, const DeviceMat* dst, std::size_t items);
// out[j] = Σ_i w[i]·x[i][j] in double, in item order; w is host memory (items doubles).
void weighted_sum(Context* ctx, const float* const* x, const double* w, std::size_t items, std::size_t n,
                  bool accumulate, double* acc, float* out);
// Backend::sgd_step per element j < n of every item: v += wd·p (wd != 0); v += mu·(p − anchor) (mu != 0);
// v += correction (when correction is not null and correction[i] is not null); p −= lr·v; v *= momentum.
// p, v, anchor (null when mu == 0) and correction (null: none) are host arrays of `items` device pointers.
void sgd_step(Context* ctx, float lr, float momentum, float weight_decay, float mu, float* const* p, float* const* v,
              const float* const* anchor, const float* const* correction, std::size_t items, std::size_t n);

// Images (Backend::conv2d's layout: an image is a row of C·H·W floats, channel-major; a conv layer's
// w[i] is out × (in·kernel²) filters, then out biases; all device memory). The shapes were checked.
struct ConvShape {
  long long in_channels, out_channels, height, width, kernel, padding;
};
struct PoolShape {
  long long channels, height, width, window;
};
// y[i] (b × Co·Ho·Wo) = conv(x[i] (b × Ci·H·W), w[i]) + biases; one thread per output.
void conv2d(Context* ctx, const ConvShape& s, const DeviceMat* x, const float* const* w, const DeviceMat* y,
            std::size_t items);
// dx[i] (b × Ci·H·W, overwritten) = the transposed convolution of dy[i] (b × Co·Ho·Wo); one thread per input.
void conv2d_backward_input(Context* ctx, const ConvShape& s, const DeviceMat* dy, const float* const* w,
                           const DeviceMat* dx, std::size_t items);
// g[i] (filters then biases) += alpha · the gradient summed over the b images; one warp per parameter,
// lanes over (image, output position), reduced by a fixed xor-shuffle tree.
void conv2d_backward_params(Context* ctx, const ConvShape& s, const DeviceMat* x, const DeviceMat* dy, float alpha,
                            float* const* g, std::size_t items);
// y[i] (b × C·Ho·Wo) = each tile's first maximum of x[i] (b × C·H·W); one thread per tile.
void max_pool2d(Context* ctx, const PoolShape& s, const DeviceMat* x, const DeviceMat* y, std::size_t items);
// dx[i] (overwritten) = dy[i] at each tile's first maximum of x[i], 0 elsewhere; one thread per tile.
void max_pool2d_backward(Context* ctx, const PoolShape& s, const DeviceMat* x, const DeviceMat* dy, const DeviceMat* dx,
                         std::size_t items);
// x[i] = max(x[i], 0) in place.
void relu(Context* ctx, const DeviceMat* x, std::size_t items);
// x[i](r, c) *= scale when contract::dropout_uniform(keys[i], r, c / group) >= p, else *= 0; keys is a
// host array of `items` keys.
void dropout(Context* ctx, float p, float scale, long long group, const std::uint64_t* keys, const DeviceMat* x,
             std::size_t items);

}  // namespace dtsim::kernels::cuda
