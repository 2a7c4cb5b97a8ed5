// CUDA kernels and cuBLAS calls behind kernels/cuda/cuda_kernels.hpp (compiled as CUDA 17).
//
// Determinism: nothing here uses atomics. Each output element is written by one thread (or one warp,
// reducing with a fixed xor-shuffle tree); per-row losses are written to a device array and summed on
// the host in row order. cuBLAS runs on one stream with its default (non-atomic) algorithms, so a
// given GPU and toolkit give the same bits on every run and for any grouping of items.
//
// Small per-call item tables (views, bias pointers) travel by value in the kernel parameters, at most
// kMaxItems per launch; label and row-index arrays, which are host memory, are staged into growable
// device scratch buffers with cudaMemcpyAsync (pageable sources are copied out before it returns).
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_kernels.hpp"

namespace dtsim::kernels::cuda {
namespace {

constexpr int kMaxItems = 32;           // items per launch (blockIdx.y)
constexpr int kThreads = 256;           // threads per block
constexpr long long kMaxBlocks = 4096;  // blocks per item along x; kernels loop beyond

void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    throw std::runtime_error(std::string("cuda backend: ") + what + ": " + cudaGetErrorString(e));
  }
}

void check(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) {
    throw std::runtime_error(std::string("cuda backend: ") + what + ": " + cublasGetStatusString(s));
  }
}

void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

unsigned blocks_for(long long work) {
  const long long b = (work + kThreads - 1) / kThreads;
  return static_cast<unsigned>(std::max(1LL, std::min(b, kMaxBlocks)));
}

// A device buffer that only grows; growing waits for the stream so no pending kernel still reads it.
struct Scratch {
  void* data = nullptr;
  std::size_t bytes = 0;
  void* reserve(cudaStream_t stream, std::size_t need) {
    if (need <= bytes) return data;
    const std::size_t grown = std::max<std::size_t>(need, 2 * bytes + 4096);
    check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    if (data) cudaFree(data);
    data = nullptr;
    bytes = 0;
    check(cudaMalloc(&data, grown), "cudaMalloc (scratch)");
    bytes = grown;
    return data;
  }
  void release() noexcept {
    if (data) cudaFree(data);
    data = nullptr;
    bytes = 0;
  }
};

// Items [first, first + count) of a call, by value.
struct MatBatch {
  DeviceMat m[kMaxItems];
};
struct MatPairBatch {
  DeviceMat a[kMaxItems];
  DeviceMat b[kMaxItems];
};
struct BiasBatch {
  DeviceMat x[kMaxItems];
  float* bias[kMaxItems];
};
struct ParamVelocityBatch {
  float* p[kMaxItems];
  float* v[kMaxItems];
  const float* anchor[kMaxItems];      // null when mu == 0
  const float* correction[kMaxItems];  // null: no correction for the item
};
struct OffsetBatch {
  DeviceMat m[kMaxItems];
  long long row0[kMaxItems];  // the item's first row in the call's concatenated per-row arrays
};

__global__ void bias_activation_kernel(BiasBatch batch, bool relu) {
  const DeviceMat x = batch.x[blockIdx.y];
  const float* bias = batch.bias[blockIdx.y];
  const long long total = x.rows * x.cols;
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long r = e / x.cols, c = e % x.cols;
    float* p = x.data + r * x.ld + c;
    const float v = *p + bias[c];
    *p = relu ? (v > 0.0f ? v : 0.0f) : v;
  }
}

__global__ void relu_backward_kernel(MatPairBatch batch) {
  const DeviceMat act = batch.a[blockIdx.y];
  const DeviceMat grad = batch.b[blockIdx.y];
  const long long total = grad.rows * grad.cols;
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long r = e / grad.cols, c = e % grad.cols;
    float* g = grad.data + r * grad.ld + c;
    *g = act.data[r * act.ld + c] > 0.0f ? *g : 0.0f;
  }
}

// One warp per row. Matches the CPU reference: max and first argmax, s = Σ exp(z − max) in double,
// loss = log s − (z_label − max), grad = grad_scale · (exp(z − max) / s − onehot).
__global__ void softmax_xent_kernel(OffsetBatch batch, const int* labels, bool with_grad, float grad_scale,
                                    double* row_loss, int* row_hit) {
  const DeviceMat z = batch.m[blockIdx.y];
  const long long row0 = batch.row0[blockIdx.y];
  const int lane = threadIdx.x & 31;
  const long long warps = blockDim.x / 32;
  for (long long r = blockIdx.x * warps + threadIdx.x / 32; r < z.rows; r += gridDim.x * warps) {
    float* row = z.data + r * z.ld;
    const int label = labels[row0 + r];
    const float z_label = row[label];
    float mx = -INFINITY;
    long long arg = LLONG_MAX;
    for (long long c = lane; c < z.cols; c += 32) {
      if (arg == LLONG_MAX || row[c] > mx) {
        mx = row[c];
        arg = c;
      }
    }
    for (int off = 16; off > 0; off >>= 1) {
      const float other_mx = __shfl_xor_sync(0xffffffffu, mx, off);
      const long long other_arg = __shfl_xor_sync(0xffffffffu, arg, off);
      if (other_arg != LLONG_MAX && (arg == LLONG_MAX || other_mx > mx || (other_mx == mx && other_arg < arg))) {
        mx = other_mx;
        arg = other_arg;
      }
    }
    double s = 0;
    for (long long c = lane; c < z.cols; c += 32) s += static_cast<double>(expf(row[c] - mx));
    for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
    if (lane == 0) {
      row_loss[row0 + r] = log(s) - static_cast<double>(z_label - mx);
      row_hit[row0 + r] = arg == label ? 1 : 0;
    }
    __syncwarp();  // every lane has read the row before any lane overwrites it
    if (with_grad) {
      const double inv_s = 1.0 / s;
      for (long long c = lane; c < z.cols; c += 32) {
        const float p = static_cast<float>(static_cast<double>(expf(row[c] - mx)) * inv_s);
        row[c] = grad_scale * (p - (c == label ? 1.0f : 0.0f));
      }
    }
    __syncwarp();
  }
}

// One thread per column, summing the rows in order.
__global__ void add_column_sums_kernel(BiasBatch batch, float alpha) {
  const DeviceMat g = batch.x[blockIdx.y];
  float* bias = batch.bias[blockIdx.y];
  for (long long c = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; c < g.cols;
       c += static_cast<long long>(gridDim.x) * blockDim.x) {
    float acc = 0.0f;
    for (long long r = 0; r < g.rows; ++r) acc += g.data[r * g.ld + c];
    bias[c] += alpha * acc;
  }
}

__global__ void gather_rows_kernel(DeviceMat src, OffsetBatch batch, const int* rows) {
  const DeviceMat dst = batch.m[blockIdx.y];
  const long long row0 = batch.row0[blockIdx.y];
  const long long total = dst.rows * dst.cols;
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long r = e / dst.cols, c = e % dst.cols;
    dst.data[r * dst.ld + c] = src.data[static_cast<long long>(rows[row0 + r]) * src.ld + c];
  }
}

__global__ void weighted_sum_kernel(const float* const* x, const double* w, long long items, long long n, float* out) {
  for (long long j = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; j < n;
       j += static_cast<long long>(gridDim.x) * blockDim.x) {
    double acc = 0;
    for (long long i = 0; i < items; ++i) acc += w[i] * static_cast<double>(x[i][j]);
    out[j] = static_cast<float>(acc);
  }
}

// One thread per element, one read and one write of p and v; the weight-decay branch is uniform over
// the launch.
// The CPU's sgd_step_item, term for term (the same float operations in the same order).
__global__ void sgd_step_kernel(ParamVelocityBatch batch, float lr, float momentum, float weight_decay, float mu,
                                long long n) {
  float* p = batch.p[blockIdx.y];
  float* v = batch.v[blockIdx.y];
  const float* anchor = batch.anchor[blockIdx.y];
  const float* correction = batch.correction[blockIdx.y];
  for (long long j = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; j < n;
       j += static_cast<long long>(gridDim.x) * blockDim.x) {
    const float pj = p[j];
    float vj = v[j];
    if (weight_decay != 0.0f) vj += weight_decay * pj;
    if (mu != 0.0f) vj += mu * (pj - anchor[j]);
    if (correction) vj += correction[j];
    p[j] = pj - lr * vj;
    v[j] = momentum * vj;
  }
}

}  // namespace

struct Context {
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  Scratch labels, rows, row_out, wsum;
  std::vector<int> host_ints;
  std::vector<double> host_loss;
  std::vector<int> host_hits;
  std::vector<unsigned char> host_bytes;
};

int device_count(std::string* why) {
  int n = 0;
  const cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    if (why) *why = std::string("no CUDA device (") + cudaGetErrorString(e) + ")";
    return 0;
  }
  if (n == 0 && why) *why = "no CUDA device";
  return n;
}

Context* create_context() {
  std::string why;
  if (device_count(&why) == 0) throw std::runtime_error("cuda backend: " + why);
  auto* ctx = new Context;
  try {
    check(cudaSetDevice(0), "cudaSetDevice");
    // A blocking stream: it orders itself with the legacy default stream, on which the context-free
    // cudaMemset of device_alloc_zeroed runs, so a new buffer is zero before our stream touches it.
    check(cudaStreamCreate(&ctx->stream), "cudaStreamCreate");
    check(cublasCreate(&ctx->blas), "cublasCreate");
    check(cublasSetStream(ctx->blas, ctx->stream), "cublasSetStream");
    check(cublasSetMathMode(ctx->blas, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");  // FP32, no TF32
    check(cublasSetPointerMode(ctx->blas, CUBLAS_POINTER_MODE_HOST), "cublasSetPointerMode");
  } catch (...) {
    destroy_context(ctx);
    throw;
  }
  return ctx;
}

void destroy_context(Context* ctx) noexcept {
  if (!ctx) return;
  if (ctx->stream) cudaStreamSynchronize(ctx->stream);
  ctx->labels.release();
  ctx->rows.release();
  ctx->row_out.release();
  ctx->wsum.release();
  if (ctx->blas) cublasDestroy(ctx->blas);
  if (ctx->stream) cudaStreamDestroy(ctx->stream);
  delete ctx;
}

float* device_alloc_zeroed(std::size_t n) {
  void* p = nullptr;
  check(cudaMalloc(&p, n * sizeof(float)), "cudaMalloc");
  const cudaError_t e = cudaMemset(p, 0, n * sizeof(float));
  if (e != cudaSuccess) {
    cudaFree(p);
    check(e, "cudaMemset");
  }
  return static_cast<float*>(p);
}

void device_free(float* p) {
  if (p) cudaFree(p);
}

void copy_to_device(Context* ctx, const float* host, std::size_t n, float* dst) {
  if (n == 0) return;
  check(cudaMemcpyAsync(dst, host, n * sizeof(float), cudaMemcpyHostToDevice, ctx->stream), "upload");
  // The host buffer may be freed or changed as soon as we return, so wait (pageable copies are staged,
  // pinned ones are not).
  check(cudaStreamSynchronize(ctx->stream), "upload");
}

void copy_to_host(Context* ctx, const float* src, std::size_t n, float* host) {
  if (n == 0) return;
  check(cudaMemcpyAsync(host, src, n * sizeof(float), cudaMemcpyDeviceToHost, ctx->stream), "download");
  check(cudaStreamSynchronize(ctx->stream), "download");
}

void copy_on_device(Context* ctx, const float* src, std::size_t n, float* dst) {
  if (n == 0 || src == dst) return;
  check(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice, ctx->stream), "copy");
}

void gemm(Context* ctx, bool trans_a, bool trans_b, float alpha, const DeviceMat* a, const DeviceMat* b, float beta,
          const DeviceMat* c, std::size_t items) {
  // Row-major C (m×n) is column-major Cᵀ; C = op(A)·op(B) ⇔ Cᵀ = op(B)ᵀ·op(A)ᵀ, and a row-major
  // matrix read as column-major is its transpose, so: sgemm(opB, opA, n, m, k, B, A, C).
  for (std::size_t i = 0; i < items; ++i) {
    const long long m = c[i].rows, n = c[i].cols;
    const long long k = trans_a ? a[i].rows : a[i].cols;
    if (m == 0 || n == 0) continue;
    if (m > INT_MAX || n > INT_MAX || k > INT_MAX || a[i].ld > INT_MAX || b[i].ld > INT_MAX || c[i].ld > INT_MAX) {
      throw std::runtime_error("cuda backend: gemm: a dimension exceeds the 32-bit range of cuBLAS");
    }
    const int lda = static_cast<int>(std::max(1LL, static_cast<long long>(a[i].ld)));
    const int ldb = static_cast<int>(std::max(1LL, static_cast<long long>(b[i].ld)));
    const int ldc = static_cast<int>(std::max(1LL, static_cast<long long>(c[i].ld)));
    check(cublasSgemm(ctx->blas, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                      static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &alpha, b[i].data, ldb, a[i].data,
                      lda, &beta, c[i].data, ldc),
          "cublasSgemm");
  }
}

void bias_activation(Context* ctx, bool relu, const float* const* bias, const DeviceMat* x, std::size_t items) {
  for (std::size_t first = 0; first < items; first += kMaxItems) {
    const std::size_t count = std::min<std::size_t>(kMaxItems, items - first);
    BiasBatch batch{};
    long long most = 0;
    for (std::size_t j = 0; j < count; ++j) {
      batch.x[j] = x[first + j];
      batch.bias[j] = const_cast<float*>(bias[first + j]);
      most = std::max(most, static_cast<long long>(x[first + j].rows * x[first + j].cols));
    }
    if (most == 0) continue;
    const dim3 grid(blocks_for(most), static_cast<unsigned>(count));
    bias_activation_kernel<<<grid, kThreads, 0, ctx->stream>>>(batch, relu);
    check_launch("bias_activation_kernel");
  }
}

void relu_backward(Context* ctx, const DeviceMat* act, const DeviceMat* grad, std::size_t items) {
  for (std::size_t first = 0; first < items; first += kMaxItems) {
    const std::size_t count = std::min<std::size_t>(kMaxItems, items - first);
    MatPairBatch batch{};
    long long most = 0;
    for (std::size_t j = 0; j < count; ++j) {
      batch.a[j] = act[first + j];
      batch.b[j] = grad[first + j];
      most = std::max(most, static_cast<long long>(grad[first + j].rows * grad[first + j].cols));
    }
    if (most == 0) continue;
    const dim3 grid(blocks_for(most), static_cast<unsigned>(count));
    relu_backward_kernel<<<grid, kThreads, 0, ctx->stream>>>(batch);
    check_launch("relu_backward_kernel");
  }
}

// Concatenates one host int per row of every item (item i: mats[i].rows values at src[i]) into one
// device array held by `scratch`; offset[i] is where item i's rows start, offset[items] the total.
int* upload_row_ints(Context* ctx, Scratch& scratch, const std::int32_t* const* src, const DeviceMat* mats,
                     std::size_t items, std::vector<long long>& offset, const char* what) {
  std::vector<int>& host = ctx->host_ints;
  host.clear();
  offset.assign(items + 1, 0);
  for (std::size_t i = 0; i < items; ++i) {
    offset[i + 1] = offset[i] + mats[i].rows;
    host.insert(host.end(), src[i], src[i] + mats[i].rows);
  }
  const long long total = offset[items];
  if (total == 0) return nullptr;
  auto* dev = static_cast<int*>(scratch.reserve(ctx->stream, total * sizeof(int)));
  // From pageable host memory the copy is staged before the call returns, so `host` can be reused.
  check(cudaMemcpyAsync(dev, host.data(), total * sizeof(int), cudaMemcpyHostToDevice, ctx->stream), what);
  return dev;
}

void softmax_xent(Context* ctx, const DeviceMat* logits, const std::int32_t* const* labels, bool with_grad,
                  float grad_scale, double* loss_sum, double* loss_sq_sum, std::int64_t* correct, std::size_t items) {
  std::vector<long long> offset;  // item i's rows start at offset[i]
  const int* dev_labels = upload_row_ints(ctx, ctx->labels, labels, logits, items, offset, "softmax_xent labels");
  if (!dev_labels) return;
  const long long total = offset[items];
  const std::size_t loss_bytes = total * sizeof(double);
  auto* out = static_cast<unsigned char*>(ctx->row_out.reserve(ctx->stream, loss_bytes + total * sizeof(int)));
  auto* row_loss = reinterpret_cast<double*>(out);
  auto* row_hit = reinterpret_cast<int*>(out + loss_bytes);

  const int warps_per_block = kThreads / 32;
  for (std::size_t first = 0; first < items; first += kMaxItems) {
    const std::size_t count = std::min<std::size_t>(kMaxItems, items - first);
    OffsetBatch batch{};
    long long most = 0;
    for (std::size_t j = 0; j < count; ++j) {
      batch.m[j] = logits[first + j];
      batch.row0[j] = offset[first + j];
      most = std::max(most, static_cast<long long>(logits[first + j].rows));
    }
    if (most == 0) continue;
    const long long blocks = std::min(kMaxBlocks, (most + warps_per_block - 1) / warps_per_block);
    const dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(count));
    softmax_xent_kernel<<<grid, kThreads, 0, ctx->stream>>>(batch, dev_labels, with_grad, grad_scale, row_loss,
                                                            row_hit);
    check_launch("softmax_xent_kernel");
  }

  ctx->host_loss.resize(static_cast<std::size_t>(total));
  ctx->host_hits.resize(static_cast<std::size_t>(total));
  check(cudaMemcpyAsync(ctx->host_loss.data(), row_loss, loss_bytes, cudaMemcpyDeviceToHost, ctx->stream),
        "softmax_xent download");
  check(cudaMemcpyAsync(ctx->host_hits.data(), row_hit, total * sizeof(int), cudaMemcpyDeviceToHost, ctx->stream),
        "softmax_xent download");
  check(cudaStreamSynchronize(ctx->stream), "softmax_xent");
  for (std::size_t i = 0; i < items; ++i) {
    double loss = 0, loss_sq = 0;
    std::int64_t hits = 0;
    for (long long r = offset[i]; r < offset[i + 1]; ++r) {
      const double row_loss = ctx->host_loss[static_cast<std::size_t>(r)];
      loss += row_loss;
      loss_sq += row_loss * row_loss;
      hits += ctx->host_hits[static_cast<std::size_t>(r)];
    }
    if (loss_sq_sum) loss_sq_sum[i] += loss_sq;
    loss_sum[i] += loss;
    correct[i] += hits;
  }
}

void add_column_sums(Context* ctx, float alpha, const DeviceMat* g, float* const* bias, std::size_t items) {
  for (std::size_t first = 0; first < items; first += kMaxItems) {
    const std::size_t count = std::min<std::size_t>(kMaxItems, items - first);
    BiasBatch batch{};
    long long most = 0;
    for (std::size_t j = 0; j < count; ++j) {
      batch.x[j] = g[first + j];
      batch.bias[j] = bias[first + j];
      most = std::max(most, static_cast<long long>(g[first + j].cols));
    }
    if (most == 0) continue;
    const dim3 grid(blocks_for(most), static_cast<unsigned>(count));
    add_column_sums_kernel<<<grid, kThreads, 0, ctx->stream>>>(batch, alpha);
    check_launch("add_column_sums_kernel");
  }
}

void gather_rows(Context* ctx, DeviceMat src, const std::int32_t* const* rows, const DeviceMat* dst,
                 std::size_t items) {
  std::vector<long long> offset;  // item i's rows start at offset[i]
  const int* dev_rows = upload_row_ints(ctx, ctx->rows, rows, dst, items, offset, "gather_rows indices");
  if (!dev_rows) return;
  for (std::size_t first = 0; first < items; first += kMaxItems) {
    const std::size_t count = std::min<std::size_t>(kMaxItems, items - first);
    OffsetBatch batch{};
    long long most = 0;
    for (std::size_t j = 0; j < count; ++j) {
      batch.m[j] = dst[first + j];
      batch.row0[j] = offset[first + j];
      most = std::max(most, static_cast<long long>(dst[first + j].rows * dst[first + j].cols));
    }
    if (most == 0) continue;
    const dim3 grid(blocks_for(most), static_cast<unsigned>(count));
    gather_rows_kernel<<<grid, kThreads, 0, ctx->stream>>>(src, batch, dev_rows);
    check_launch("gather_rows_kernel");
  }
}

void weighted_sum(Context* ctx, const float* const* x, const double* w, std::size_t items, std::size_t n, float* out) {
  if (n == 0) return;
  // Stage the item pointers and weights: [pointers (items × 8 B)][weights (items × 8 B)].
  const std::size_t table = items * sizeof(float*);
  auto& host = ctx->host_bytes;
  host.resize(table + items * sizeof(double));
  std::copy_n(reinterpret_cast<const unsigned char*>(x), table, host.data());
  std::copy_n(reinterpret_cast<const unsigned char*>(w), items * sizeof(double), host.data() + table);
  auto* dev = static_cast<unsigned char*>(ctx->wsum.reserve(ctx->stream, std::max<std::size_t>(host.size(), 16)));
  if (items > 0) {
    check(cudaMemcpyAsync(dev, host.data(), host.size(), cudaMemcpyHostToDevice, ctx->stream), "weighted_sum table");
  }
  weighted_sum_kernel<<<blocks_for(static_cast<long long>(n)), kThreads, 0, ctx->stream>>>(
      reinterpret_cast<const float* const*>(dev), reinterpret_cast<const double*>(dev + table),
      static_cast<long long>(items), static_cast<long long>(n), out);
  check_launch("weighted_sum_kernel");
}

void sgd_step(Context* ctx, float lr, float momentum, float weight_decay, float mu, float* const* p, float* const* v,
              const float* const* anchor, const float* const* correction, std::size_t items, std::size_t n) {
  if (n == 0) return;
  for (std::size_t first = 0; first < items; first += kMaxItems) {
    const std::size_t count = std::min<std::size_t>(kMaxItems, items - first);
    ParamVelocityBatch batch{};
    for (std::size_t j = 0; j < count; ++j) {
      batch.p[j] = p[first + j];
      batch.v[j] = v[first + j];
      batch.anchor[j] = mu != 0.0f ? anchor[first + j] : nullptr;
      batch.correction[j] = correction ? correction[first + j] : nullptr;
    }
    const dim3 grid(blocks_for(static_cast<long long>(n)), static_cast<unsigned>(count));
    sgd_step_kernel<<<grid, kThreads, 0, ctx->stream>>>(batch, lr, momentum, weight_decay, mu,
                                                        static_cast<long long>(n));
    check_launch("sgd_step_kernel");
  }
}

}  // namespace dtsim::kernels::cuda
