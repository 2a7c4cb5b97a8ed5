// CUDA kernels and cuBLAS calls behind kernels/cuda/cuda_kernels.hpp (compiled as CUDA 17).
//
// Determinism: nothing here uses atomics. Each output element is written by one thread (or one warp,
// reducing with a fixed xor-shuffle tree); per-row losses are written to a device array and summed on
// the host in row order. cuBLAS runs on one stream with its default (non-atomic) algorithms, so a
// given GPU and toolkit give the same bits on every run. Items of one shape go to cuBLAS as one
// batched call; that an item's bits do not depend on the batch it is in is cuBLAS's to keep, and the
// conformance test checks it (batched against one item per call).
//
// Small per-call item tables (views, bias pointers) travel by value in the kernel parameters, at most
// kMaxItems per launch; label and row-index arrays, which are host memory, are staged into growable
// device scratch buffers with cudaMemcpyAsync (pageable sources are copied out before it returns).
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_kernels.hpp"
#include "kernels/dropout_hash.hpp"

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

// One thread per element: the CPU's order (items one by one, zero weights skipped), in double.
__global__ void weighted_sum_kernel(const float* const* x, const double* w, long long items, long long n,
                                    bool accumulate, double* acc, float* out) {
  for (long long j = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; j < n;
       j += static_cast<long long>(gridDim.x) * blockDim.x) {
    double a = accumulate ? acc[j] : 0.0;
    for (long long i = 0; i < items; ++i)
      if (w[i] != 0) a += w[i] * static_cast<double>(x[i][j]);
    acc[j] = a;
    if (out != nullptr) out[j] = static_cast<float>(a);
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

// Image kernels. Each output element is computed by one thread (a parameter gradient by one warp) in a
// fixed order, so results do not depend on the launch shape.
struct ConvBatch {
  DeviceMat in[kMaxItems];
  DeviceMat out[kMaxItems];
  const float* w[kMaxItems];
};
struct ConvParamsBatch {
  DeviceMat x[kMaxItems];
  DeviceMat dy[kMaxItems];
  float* g[kMaxItems];
};
struct MatTripleBatch {
  DeviceMat a[kMaxItems];
  DeviceMat b[kMaxItems];
  DeviceMat c[kMaxItems];
};
struct KeyBatch {
  DeviceMat x[kMaxItems];
  unsigned long long key[kMaxItems];
};

struct ConvDims {
  long long ci, co, h, w, k, pad, ho, wo, kw;  // kw = ci·k², weights per filter
};
__host__ __device__ ConvDims conv_dims(const ConvShape& s) {
  ConvDims d{s.in_channels, s.out_channels, s.height, s.width, s.kernel, s.padding, 0, 0, 0};
  d.ho = d.h + 2 * d.pad - d.k + 1;
  d.wo = d.w + 2 * d.pad - d.k + 1;
  d.kw = d.ci * d.k * d.k;
  return d;
}

// y(r, (o, oy, ox)) = bias[o] + Σ over (c, ky, kx), in that order, of W[o][c][ky][kx]·x(r, (c, iy, ix)).
__global__ void conv2d_kernel(ConvBatch batch, ConvShape shape) {
  const ConvDims d = conv_dims(shape);
  const DeviceMat x = batch.in[blockIdx.y], y = batch.out[blockIdx.y];
  const float* w = batch.w[blockIdx.y];
  const long long per_image = d.co * d.ho * d.wo, total = y.rows * per_image;
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long r = e / per_image, j = e % per_image;
    const long long o = j / (d.ho * d.wo), oy = j / d.wo % d.ho, ox = j % d.wo;
    const float* img = x.data + r * x.ld;
    const float* filter = w + o * d.kw;
    float acc = w[d.co * d.kw + o];
    for (long long c = 0; c < d.ci; ++c)
      for (long long ky = 0; ky < d.k; ++ky) {
        const long long iy = oy + ky - d.pad;
        if (iy < 0 || iy >= d.h) continue;
        for (long long kx = 0; kx < d.k; ++kx) {
          const long long ix = ox + kx - d.pad;
          if (ix >= 0 && ix < d.w) acc += filter[(c * d.k + ky) * d.k + kx] * img[(c * d.h + iy) * d.w + ix];
        }
      }
    y.data[r * y.ld + j] = acc;
  }
}

// dx(r, (c, iy, ix)) = Σ over (o, ky, kx) of W[o][c][ky][kx]·dy(r, (o, iy + pad − ky, ix + pad − kx)).
__global__ void conv2d_backward_input_kernel(ConvBatch batch, ConvShape shape) {
  const ConvDims d = conv_dims(shape);
  const DeviceMat dy = batch.in[blockIdx.y], dx = batch.out[blockIdx.y];
  const float* w = batch.w[blockIdx.y];
  const long long per_image = d.ci * d.h * d.w, total = dx.rows * per_image;
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long r = e / per_image, j = e % per_image;
    const long long c = j / (d.h * d.w), iy = j / d.w % d.h, ix = j % d.w;
    const float* grad = dy.data + r * dy.ld;
    float acc = 0.0f;
    for (long long o = 0; o < d.co; ++o)
      for (long long ky = 0; ky < d.k; ++ky) {
        const long long oy = iy + d.pad - ky;
        if (oy < 0 || oy >= d.ho) continue;
        for (long long kx = 0; kx < d.k; ++kx) {
          const long long ox = ix + d.pad - kx;
          if (ox >= 0 && ox < d.wo) acc += w[o * d.kw + (c * d.k + ky) * d.k + kx] * grad[(o * d.ho + oy) * d.wo + ox];
        }
      }
    dx.data[r * dx.ld + j] = acc;
  }
}

// One warp per parameter j (filters, then biases): lane l sums the terms t ≡ l (mod 32) of the
// (image, output position) space in order, then the fixed xor-shuffle tree adds the lanes' sums.
__global__ void conv2d_backward_params_kernel(ConvParamsBatch batch, ConvShape shape, float alpha) {
  const ConvDims d = conv_dims(shape);
  const DeviceMat x = batch.x[blockIdx.y], dy = batch.dy[blockIdx.y];
  float* g = batch.g[blockIdx.y];
  const long long n = d.ho * d.wo, terms = x.rows * n, weights = d.co * d.kw, params = weights + d.co;
  if (terms == 0) return;  // an item without images may have no g
  const int lane = threadIdx.x & 31;
  const long long warps = blockDim.x / 32;
  for (long long j = blockIdx.x * warps + threadIdx.x / 32; j < params; j += gridDim.x * warps) {
    const bool bias = j >= weights;
    const long long o = bias ? j - weights : j / d.kw, q = j % d.kw;
    const long long c = q / (d.k * d.k), ky = q / d.k % d.k, kx = q % d.k;
    float acc = 0.0f;
    for (long long t = lane; t < terms; t += 32) {
      const long long r = t / n, p = t % n;
      const float grad = dy.data[r * dy.ld + o * n + p];
      if (bias) {
        acc += grad;
        continue;
      }
      const long long iy = p / d.wo + ky - d.pad, ix = p % d.wo + kx - d.pad;
      if (iy >= 0 && iy < d.h && ix >= 0 && ix < d.w) acc += grad * x.data[r * x.ld + (c * d.h + iy) * d.w + ix];
    }
    for (int off = 16; off > 0; off >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, off);
    if (lane == 0) g[j] += alpha * acc;
  }
}

// The flat index (within the image) of tile t's first maximum: a strict > scan in row-major order.
__device__ long long pool_pick(const PoolShape& s, const float* img, long long t) {
  const long long ho = s.height / s.window, wo = s.width / s.window;
  const long long c = t / (ho * wo), ty = t / wo % ho, tx = t % wo;
  const long long corner = (c * s.height + ty * s.window) * s.width + tx * s.window;
  long long best = corner;
  for (long long dy = 0; dy < s.window; ++dy)
    for (long long dx = 0; dx < s.window; ++dx) {
      const long long at = corner + dy * s.width + dx;
      if (img[at] > img[best]) best = at;
    }
  return best;
}

__global__ void max_pool2d_kernel(MatPairBatch batch, PoolShape s) {
  const DeviceMat x = batch.a[blockIdx.y], y = batch.b[blockIdx.y];
  const long long per_image = s.channels * (s.height / s.window) * (s.width / s.window), total = y.rows * per_image;
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long r = e / per_image, t = e % per_image;
    const float* img = x.data + r * x.ld;
    y.data[r * y.ld + t] = img[pool_pick(s, img, t)];
  }
}

// One thread per tile writes the whole tile of dx (tiles do not overlap).
__global__ void max_pool2d_backward_kernel(MatTripleBatch batch, PoolShape s) {
  const DeviceMat x = batch.a[blockIdx.y], dy = batch.b[blockIdx.y], dx = batch.c[blockIdx.y];
  const long long ho = s.height / s.window, wo = s.width / s.window;
  const long long per_image = s.channels * ho * wo, total = dy.rows * per_image;
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long r = e / per_image, t = e % per_image;
    const long long pick = pool_pick(s, x.data + r * x.ld, t);
    const float grad = dy.data[r * dy.ld + t];
    const long long c = t / (ho * wo), ty = t / wo % ho, tx = t % wo;
    const long long corner = (c * s.height + ty * s.window) * s.width + tx * s.window;
    float* out = dx.data + r * dx.ld;
    for (long long dy_ = 0; dy_ < s.window; ++dy_)
      for (long long dx_ = 0; dx_ < s.window; ++dx_) {
        const long long at = corner + dy_ * s.width + dx_;
        out[at] = at == pick ? grad : 0.0f;
      }
  }
}

__global__ void relu_kernel(MatBatch batch) {
  const DeviceMat x = batch.m[blockIdx.y];
  const long long total = x.rows * x.cols;
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<long long>(gridDim.x) * blockDim.x) {
    float* v = x.data + e / x.cols * x.ld + e % x.cols;
    *v = *v > 0.0f ? *v : 0.0f;
  }
}

// The CPU's arithmetic exactly (the shared hash, one float multiply), so masks and values are bit-identical.
__global__ void dropout_kernel(KeyBatch batch, double p, float scale, long long group) {
  const DeviceMat x = batch.x[blockIdx.y];
  const unsigned long long key = batch.key[blockIdx.y];
  const long long total = x.rows * x.cols;
  for (long long e = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<long long>(gridDim.x) * blockDim.x) {
    const long long r = e / x.cols, c = e % x.cols;
    const bool keep = contract::dropout_uniform(key, r, c / group) >= p;
    x.data[r * x.ld + c] *= keep ? scale : 0.0f;
  }
}

}  // namespace

struct Context {
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  Scratch labels, rows, row_out, wsum, gemm_pointers;
  std::vector<int> host_ints;
  std::vector<const float*> host_pointers;
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
  ctx->gemm_pointers.release();
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

namespace {

// One item's cuBLAS sgemm arguments: row-major C (m×n) is column-major Cᵀ, and C = op(A)·op(B) ⇔
// Cᵀ = op(B)ᵀ·op(A)ᵀ, so the call is sgemm(opB, opA, n, m, k, B, A, C).
struct GemmArgs {
  int m, n, k, lda, ldb, ldc;
  bool same(const GemmArgs& o) const {
    return m == o.m && n == o.n && k == o.k && lda == o.lda && ldb == o.ldb && ldc == o.ldc;
  }
};
GemmArgs gemm_args(bool trans_a, const DeviceMat& a, const DeviceMat& b, const DeviceMat& c) {
  const long long m = c.rows, n = c.cols, k = trans_a ? a.rows : a.cols;
  if (m > INT_MAX || n > INT_MAX || k > INT_MAX || a.ld > INT_MAX || b.ld > INT_MAX || c.ld > INT_MAX) {
    throw std::runtime_error("cuda backend: gemm: a dimension exceeds the 32-bit range of cuBLAS");
  }
  auto ld = [](long long v) { return static_cast<int>(std::max(1LL, v)); };
  return {static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), ld(a.ld), ld(b.ld), ld(c.ld)};
}

// The common distance (in floats, >= 0) from each item's matrix to the next one's, if there is one.
bool even_stride(const DeviceMat* v, std::size_t first, std::size_t count, long long& stride) {
  auto gap = [&](std::size_t j) {
    return static_cast<long long>(reinterpret_cast<std::uintptr_t>(v[j + 1].data) -
                                  reinterpret_cast<std::uintptr_t>(v[j].data));
  };
  const long long bytes = gap(first);
  if (bytes < 0 || bytes % static_cast<long long>(sizeof(float)) != 0) return false;
  for (std::size_t j = first + 1; j + 1 < first + count; ++j)
    if (gap(j) != bytes) return false;
  stride = bytes / static_cast<long long>(sizeof(float));
  return true;
}

}  // namespace

void gemm(Context* ctx, bool trans_a, bool trans_b, float alpha, const DeviceMat* a, const DeviceMat* b, float beta,
          const DeviceMat* c, std::size_t items) {
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  for (std::size_t first = 0; first < items;) {
    const GemmArgs g = gemm_args(trans_a, a[first], b[first], c[first]);
    std::size_t count = 1;
    while (first + count < items && count < static_cast<std::size_t>(INT_MAX) &&
           gemm_args(trans_a, a[first + count], b[first + count], c[first + count]).same(g))
      ++count;
    long long sa = 0, sb = 0, sc = 0;
    if (g.m == 0 || g.n == 0) {
      // nothing to compute
    } else if (count == 1) {
      check(cublasSgemm(ctx->blas, op_b, op_a, g.n, g.m, g.k, &alpha, b[first].data, g.ldb, a[first].data, g.lda, &beta,
                        c[first].data, g.ldc),
            "cublasSgemm");
    } else if (even_stride(a, first, count, sa) && even_stride(b, first, count, sb) &&
               even_stride(c, first, count, sc) && sc >= static_cast<long long>(g.m - 1) * g.ldc + g.n) {
      check(
          cublasSgemmStridedBatched(ctx->blas, op_b, op_a, g.n, g.m, g.k, &alpha, b[first].data, g.ldb, sb,
                                    a[first].data, g.lda, sa, &beta, c[first].data, g.ldc, sc, static_cast<int>(count)),
          "cublasSgemmStridedBatched");
    } else {
      // Device arrays of the items' pointers: [B][A][C], in the order of the call's operands.
      std::vector<const float*>& host = ctx->host_pointers;
      host.resize(3 * count);
      for (std::size_t j = 0; j < count; ++j) {
        host[j] = b[first + j].data;
        host[count + j] = a[first + j].data;
        host[2 * count + j] = c[first + j].data;
      }
      const std::size_t bytes = host.size() * sizeof(float*);
      auto* dev = static_cast<const float**>(ctx->gemm_pointers.reserve(ctx->stream, bytes));
      // From pageable host memory the copy is staged before the call returns, so `host` can be reused.
      check(cudaMemcpyAsync(dev, host.data(), bytes, cudaMemcpyHostToDevice, ctx->stream), "gemm pointer arrays");
      check(cublasSgemmBatched(ctx->blas, op_b, op_a, g.n, g.m, g.k, &alpha, dev, g.ldb, dev + count, g.lda, &beta,
                               const_cast<float* const*>(dev + 2 * count), g.ldc, static_cast<int>(count)),
            "cublasSgemmBatched");
    }
    first += count;
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

void weighted_sum(Context* ctx, const float* const* x, const double* w, std::size_t items, std::size_t n,
                  bool accumulate, double* acc, float* out) {
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
      static_cast<long long>(items), static_cast<long long>(n), accumulate, acc, out);
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

namespace {

// Calls launch(batch, grid) for the items in groups of kMaxItems, each group's batch filled by
// fill(batch, slot, item) and its grid sized by the largest work(item) (threads wanted).
template <class Batch, class Fill, class Work, class Launch>
void launch_items(std::size_t items, Fill fill, Work work, Launch launch) {
  for (std::size_t first = 0; first < items; first += kMaxItems) {
    const std::size_t count = std::min<std::size_t>(kMaxItems, items - first);
    Batch batch{};
    long long most = 0;
    for (std::size_t j = 0; j < count; ++j) {
      fill(batch, j, first + j);
      most = std::max(most, static_cast<long long>(work(first + j)));
    }
    if (most == 0) continue;
    launch(batch, dim3(blocks_for(most), static_cast<unsigned>(count)));
  }
}

}  // namespace

void conv2d(Context* ctx, const ConvShape& s, const DeviceMat* x, const float* const* w, const DeviceMat* y,
            std::size_t items) {
  launch_items<ConvBatch>(
      items,
      [&](ConvBatch& batch, std::size_t j, std::size_t i) {
        batch.in[j] = x[i];
        batch.out[j] = y[i];
        batch.w[j] = w[i];
      },
      [&](std::size_t i) { return y[i].rows * y[i].cols; },
      [&](const ConvBatch& batch, dim3 grid) {
        conv2d_kernel<<<grid, kThreads, 0, ctx->stream>>>(batch, s);
        check_launch("conv2d_kernel");
      });
}

void conv2d_backward_input(Context* ctx, const ConvShape& s, const DeviceMat* dy, const float* const* w,
                           const DeviceMat* dx, std::size_t items) {
  launch_items<ConvBatch>(
      items,
      [&](ConvBatch& batch, std::size_t j, std::size_t i) {
        batch.in[j] = dy[i];
        batch.out[j] = dx[i];
        batch.w[j] = w[i];
      },
      [&](std::size_t i) { return dx[i].rows * dx[i].cols; },
      [&](const ConvBatch& batch, dim3 grid) {
        conv2d_backward_input_kernel<<<grid, kThreads, 0, ctx->stream>>>(batch, s);
        check_launch("conv2d_backward_input_kernel");
      });
}

void conv2d_backward_params(Context* ctx, const ConvShape& s, const DeviceMat* x, const DeviceMat* dy, float alpha,
                            float* const* g, std::size_t items) {
  const ConvDims d = conv_dims(s);
  const long long params = d.co * d.kw + d.co;
  launch_items<ConvParamsBatch>(
      items,
      [&](ConvParamsBatch& batch, std::size_t j, std::size_t i) {
        batch.x[j] = x[i];
        batch.dy[j] = dy[i];
        batch.g[j] = g[i];
      },
      [&](std::size_t i) { return x[i].rows > 0 ? params * 32 : 0; },  // a warp per parameter
      [&](const ConvParamsBatch& batch, dim3 grid) {
        conv2d_backward_params_kernel<<<grid, kThreads, 0, ctx->stream>>>(batch, s, alpha);
        check_launch("conv2d_backward_params_kernel");
      });
}

void max_pool2d(Context* ctx, const PoolShape& s, const DeviceMat* x, const DeviceMat* y, std::size_t items) {
  launch_items<MatPairBatch>(
      items,
      [&](MatPairBatch& batch, std::size_t j, std::size_t i) {
        batch.a[j] = x[i];
        batch.b[j] = y[i];
      },
      [&](std::size_t i) { return y[i].rows * y[i].cols; },
      [&](const MatPairBatch& batch, dim3 grid) {
        max_pool2d_kernel<<<grid, kThreads, 0, ctx->stream>>>(batch, s);
        check_launch("max_pool2d_kernel");
      });
}

void max_pool2d_backward(Context* ctx, const PoolShape& s, const DeviceMat* x, const DeviceMat* dy, const DeviceMat* dx,
                         std::size_t items) {
  launch_items<MatTripleBatch>(
      items,
      [&](MatTripleBatch& batch, std::size_t j, std::size_t i) {
        batch.a[j] = x[i];
        batch.b[j] = dy[i];
        batch.c[j] = dx[i];
      },
      [&](std::size_t i) { return dy[i].rows * dy[i].cols; },
      [&](const MatTripleBatch& batch, dim3 grid) {
        max_pool2d_backward_kernel<<<grid, kThreads, 0, ctx->stream>>>(batch, s);
        check_launch("max_pool2d_backward_kernel");
      });
}

void relu(Context* ctx, const DeviceMat* x, std::size_t items) {
  launch_items<MatBatch>(
      items, [&](MatBatch& batch, std::size_t j, std::size_t i) { batch.m[j] = x[i]; },
      [&](std::size_t i) { return x[i].rows * x[i].cols; },
      [&](const MatBatch& batch, dim3 grid) {
        relu_kernel<<<grid, kThreads, 0, ctx->stream>>>(batch);
        check_launch("relu_kernel");
      });
}

void dropout(Context* ctx, float p, float scale, long long group, const std::uint64_t* keys, const DeviceMat* x,
             std::size_t items) {
  launch_items<KeyBatch>(
      items,
      [&](KeyBatch& batch, std::size_t j, std::size_t i) {
        batch.x[j] = x[i];
        batch.key[j] = keys[i];
      },
      [&](std::size_t i) { return x[i].rows * x[i].cols; },
      [&](const KeyBatch& batch, dim3 grid) {
        dropout_kernel<<<grid, kThreads, 0, ctx->stream>>>(batch, static_cast<double>(p), scale, group);
        check_launch("dropout_kernel");
      });
}

}  // namespace dtsim::kernels::cuda
