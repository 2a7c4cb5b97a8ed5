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

// C[i] = alpha·op(A[i])·op(B[i]) + beta·C[i] through cuBLAS (one sgemm per item, row-major through the
// transposed column-major call).
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
void weighted_sum(Context* ctx, const float* const* x, const double* w, std::size_t items, std::size_t n, float* out);
// Backend::sgd_step per element j < n of every item: v += wd·p (wd != 0); v += mu·(p − anchor) (mu != 0);
// v += correction (when correction is not null and correction[i] is not null); p −= lr·v; v *= momentum.
// p, v, anchor (null when mu == 0) and correction (null: none) are host arrays of `items` device pointers.
void sgd_step(Context* ctx, float lr, float momentum, float weight_decay, float mu, float* const* p, float* const* v,
              const float* const* anchor, const float* const* correction, std::size_t items, std::size_t n);

}  // namespace dtsim::kernels::cuda
