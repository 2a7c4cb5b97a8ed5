// The Backend: the coarse numeric operations every model and policy is built from (DESIGN "Backend").
// Plain C++, no CUDA types. Operations are *batched across clients*: each call takes one item per
// client (or per data chunk) and the backend spreads the items over its threads or GPU streams, so the
// event core never issues one tiny GEMM per client per step (DESIGN principle 2). A backend may instead
// ask for whole clients to run concurrently, each with single-item calls (item_schedule(), below).
//
// Memory: matrices are row-major float32 views on backend memory (host memory for cpu, device memory
// for cuda), obtained from Buffers allocated by the backend. Index and label arrays are host memory.
// Every operation returns its modelled cost (flops, bytes moved) computed from the shapes alone.
// Determinism: every operation gives bit-identical results whatever the thread count or the number of
// items per call (items never share accumulators).
//
// Parallel structure (item_schedule()): a caller with many independent items of work (clients) asks the
// backend how to spread them. A GPU wants big launches: `batched`, many items per call, stepped in
// lockstep. A CPU pool wants few fork/joins: `concurrent`, the caller hands whole items (a client's
// whole local training) to for_each_item, which runs them on the backend's threads at once, each making
// single-item calls; that is one fork/join per for_each_item instead of about ten per training step, and
// a thread the OS deschedules delays only the item it is running.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace dtsim::kernels {

struct Cost {
  double flops = 0;
  double bytes = 0;
  Cost& operator+=(const Cost& o) {
    flops += o.flops;
    bytes += o.bytes;
    return *this;
  }
};

// A row-major matrix view: element (r, c) at data[r * ld + c]; ld >= cols.
struct MatView {
  float* data = nullptr;
  std::int64_t rows = 0, cols = 0, ld = 0;
};
struct ConstMatView {
  const float* data = nullptr;
  std::int64_t rows = 0, cols = 0, ld = 0;
  ConstMatView() = default;
  ConstMatView(const float* d, std::int64_t r, std::int64_t c, std::int64_t l) : data(d), rows(r), cols(c), ld(l) {}
  ConstMatView(const MatView& m) : data(m.data), rows(m.rows), cols(m.cols), ld(m.ld) {}  // NOLINT: implicit on purpose
};

enum class Trans { no, yes };

// How a caller should drive a backend with many independent items (Backend::item_schedule()).
enum class ItemSchedule {
  batched,     // one call carries many items (one per client); the backend spreads them inside the call
  concurrent,  // one item per call; whole items run concurrently through Backend::for_each_item
};
enum class Activation { none, relu };

// The coefficients of one Backend::sgd_step.
struct SgdStep {
  float lr = 0;
  float momentum = 0;      // in [0, 1)
  float weight_decay = 0;  // L2 coefficient
  float proximal_mu = 0;   // FedProx's μ
};

// One 2-D convolution layer's shape (Backend::conv2d): stride 1, zero padding on every side.
struct Conv2dShape {
  std::int64_t in_channels = 1, out_channels = 1;
  std::int64_t height = 1, width = 1;  // of the input image
  std::int64_t kernel = 1;             // square kernel side
  std::int64_t padding = 0;
  std::int64_t out_height() const { return height + 2 * padding - kernel + 1; }
  std::int64_t out_width() const { return width + 2 * padding - kernel + 1; }
  std::int64_t in_features() const { return in_channels * height * width; }
  std::int64_t out_features() const { return out_channels * out_height() * out_width(); }
  std::int64_t weight_count() const { return out_channels * in_channels * kernel * kernel; }
  std::int64_t parameter_count() const { return weight_count() + out_channels; }  // filters, then biases
};

// One max-pooling layer's shape (Backend::max_pool2d): window × window tiles, stride = window.
struct Pool2dShape {
  std::int64_t channels = 1, height = 1, width = 1;  // of the input image; height, width divisible by window
  std::int64_t window = 2;
  std::int64_t out_height() const { return height / window; }
  std::int64_t out_width() const { return width / window; }
  std::int64_t in_features() const { return channels * height * width; }
  std::int64_t out_features() const { return channels * out_height() * out_width(); }
};

// Backend memory; freed by the backend that made it. Move-only.
class Buffer {
 public:
  Buffer() = default;
  Buffer(float* data, std::size_t size, void (*release)(float*)) : data_(data), size_(size), release_(release) {}
  Buffer(Buffer&& o) noexcept { *this = std::move(o); }
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      reset();
      data_ = o.data_;
      size_ = o.size_;
      release_ = o.release_;
      o.data_ = nullptr;
      o.size_ = 0;
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { reset(); }

  float* data() const { return data_; }
  std::size_t size() const { return size_; }
  // The memory as doubles (size() / 2 of them): for buffers from Backend::alloc_doubles, whose alloc
  // aligns to at least 64 bytes.
  double* doubles() const { return reinterpret_cast<double*>(data_); }
  MatView mat(std::int64_t rows, std::int64_t cols, std::size_t offset = 0) const {
    return MatView{data_ + offset, rows, cols, cols};
  }

 private:
  void reset() {
    if (data_ && release_) release_(data_);
    data_ = nullptr;
  }
  float* data_ = nullptr;
  std::size_t size_ = 0;
  void (*release_)(float*) = nullptr;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;  // "cpu" | "cuda"
  virtual int threads() const = 0;       // worker threads (cpu) or 1
  // How many clients one batched training call (batched), or one for_each_item (concurrent), should
  // hold when the user does not say (--chunk). Results never depend on it; speed does. Default: all of
  // them (a GPU wants big launches; a concurrent backend then forks and joins once per round).
  virtual std::int64_t preferred_chunk() const { return std::int64_t{1} << 40; }

  // The parallel structure this backend wants (the file comment). Results never depend on it.
  virtual ItemSchedule item_schedule() const { return ItemSchedule::batched; }
  // Calls fn(i, lane) once for every i in [0, n), up to threads() of them at a time, and returns when all
  // have returned. lane is in [0, threads()), and two calls of fn running at the same time never share a
  // lane, so the caller may keep one workspace per lane. Which lane runs which item, and in which order,
  // varies: fn's results must not depend on it. fn may call this backend's operations; they then run on
  // the thread that calls them (a call from inside fn never forks again). The first exception thrown by
  // fn is rethrown once every started item has returned; items not started then are skipped.
  // Default (batched backends): fn(0, 0), fn(1, 0), … on the calling thread.
  virtual void for_each_item(std::int64_t n, const std::function<void(std::int64_t item, int lane)>& fn) {
    for (std::int64_t i = 0; i < n; ++i) fn(i, 0);
  }

  // Memory ------------------------------------------------------------------------------------
  virtual Buffer alloc(std::size_t n) = 0;  // n floats, zero-initialised
  virtual void upload(const float* host, std::size_t n, float* dst) = 0;
  virtual void download(const float* src, std::size_t n, float* host) = 0;
  virtual void copy(const float* src, std::size_t n, float* dst) = 0;  // backend to backend memory
  // The n host floats at `host` as backend memory, without a copy, when this backend computes on host
  // memory (cpu: returns `host`); nullptr when it cannot (cuda: upload a copy instead). The host memory
  // must outlive every use of the view and stay unchanged while in use.
  virtual const float* view_host(const float* host, std::size_t n) = 0;

  // Batched operations: item i uses element i of every span; all spans have the same length. ---

  // C[i] = alpha * op(A[i]) * op(B[i]) + beta * C[i]. Shapes: op(A) m×k, op(B) k×n, C m×n.
  // beta = 1 with alpha = -lr fuses an SGD update into the gradient GEMM.
  virtual Cost gemm(Trans ta, Trans tb, float alpha, std::span<const ConstMatView> a, std::span<const ConstMatView> b,
                    float beta, std::span<const MatView> c) = 0;

  // X[i] (m×n) += 1 · bias[i]ᵀ (bias length n, backend memory), then the activation in place.
  virtual Cost bias_activation(Activation act, std::span<const float* const> bias, std::span<const MatView> x) = 0;

  // grad[i] (m×n) *= (act[i] > 0): ReLU backward from the post-activation output act[i] (m×n).
  virtual Cost relu_backward(std::span<const ConstMatView> act, std::span<const MatView> grad) = 0;

  // Softmax cross-entropy over rows of logits[i] (m×n), labels[i] (host, m ints in [0, n)).
  // Adds the summed loss (nats) to loss_sum[i], the summed squares of the rows' losses to loss_sq_sum[i]
  // (when loss_sq_sum is not empty; Oort's statistical utility needs them) and the number of argmax hits
  // to correct[i]. When with_grad, replaces logits[i] with grad_scale * (softmax − onehot) (the loss
  // gradient).
  virtual Cost softmax_xent(std::span<const MatView> logits, std::span<const std::int32_t* const> labels,
                            bool with_grad, float grad_scale, std::span<double> loss_sum,
                            std::span<double> loss_sq_sum, std::span<std::int64_t> correct) = 0;

  // bias[i] (length n, backend memory) += alpha * (column sums of g[i] (m×n)).
  virtual Cost add_column_sums(float alpha, std::span<const ConstMatView> g, std::span<float* const> bias) = 0;

  // dst[i] row r = src row rows[i][r] (rows: host, dst[i].rows entries). src is shared by all items.
  virtual Cost gather_rows(ConstMatView src, std::span<const std::int32_t* const> rows,
                           std::span<const MatView> dst) = 0;

  // The weighted sum of aggregation, in double (DESIGN "AggregationPolicy": linear rules stream their
  // updates through it chunk by chunk and round once). For j < n:
  //   acc[j] = (accumulate ? acc[j] : 0) + w[0]·x[0][j] + w[1]·x[1][j] + …
  // adding the items one at a time in item order, in double; items with w[i] = 0 are skipped (a zero
  // weight has no effect, even on a non-finite value). Then, when out is not null, out[j] = float(acc[j])
  // (the one rounding). acc: n doubles of backend memory (alloc_doubles); x[i], out: n floats of backend
  // memory. out may be one of the x[i] itself (each element is read before it is written), but may not
  // otherwise overlap an x[i], and nothing may overlap acc. With no items, accumulate = true and out set,
  // it only rounds.
  virtual Cost weighted_sum(std::span<const float* const> x, std::span<const double> w, std::size_t n,
                            bool accumulate, double* acc, float* out) = 0;
  // n doubles of backend memory, zero-initialised (Buffer::doubles()).
  Buffer alloc_doubles(std::size_t n) { return alloc(2 * n); }

  // Images (conv2d, max_pool2d, dropout with channel groups): an item's minibatch of b images is a
  // b × (C·H·W) row-major matrix, each row one image in channel-major order (PyTorch's NCHW: element
  // (c, y, x) at column (c·H + y)·W + x). Convolutions have stride 1 and zero padding `padding` on every
  // side; the filters of one layer are out_channels × (in_channels·kernel·kernel) row-major (PyTorch's
  // weight[o][c][ky][kx]), followed by out_channels biases: Conv2dShape::parameter_count() floats.
  //
  // y[i] = conv(x[i], W[i]) + bias[i]: x[i] is b × (Cin·H·W), y[i] is b × (Cout·Ho·Wo) with
  // Ho = H + 2·padding − kernel + 1 (and Wo likewise). w[i] points at the layer's filters, its biases
  // right after them.
  virtual Cost conv2d(const Conv2dShape& shape, std::span<const ConstMatView> x, std::span<const float* const> w,
                      std::span<const MatView> y) = 0;
  // dx[i] = ∂/∂x of Σ dy[i]·y, i.e. the transposed convolution of dy[i] (b × Cout·Ho·Wo) with W[i];
  // dx[i] (b × Cin·H·W) is overwritten.
  virtual Cost conv2d_backward_input(const Conv2dShape& shape, std::span<const ConstMatView> dy,
                                     std::span<const float* const> w, std::span<const MatView> dx) = 0;
  // g[i] (the layer's filters then biases, parameter_count() floats) += alpha · the gradient of
  // Σ dy[i]·y with respect to them, summed over the b images of the item. With g = the parameters and
  // alpha = −lr this is the fused plain-SGD update (call conv2d_backward_input first).
  virtual Cost conv2d_backward_params(const Conv2dShape& shape, std::span<const ConstMatView> x,
                                      std::span<const ConstMatView> dy, float alpha, std::span<float* const> g) = 0;

  // Max pooling over non-overlapping window×window tiles (stride = window; H and W divisible by it), per
  // channel: x[i] b × (C·H·W) → y[i] b × (C·(H/window)·(W/window)). The maximum of a tile is its first
  // largest element in row-major order within the tile (NaN never occurs in training).
  virtual Cost max_pool2d(const Pool2dShape& shape, std::span<const ConstMatView> x, std::span<const MatView> y) = 0;
  // dx[i] (overwritten) = dy[i] routed to the element max_pool2d chose in each tile, 0 elsewhere; x[i] is
  // the pooled input (the choice is recomputed from it).
  virtual Cost max_pool2d_backward(const Pool2dShape& shape, std::span<const ConstMatView> x,
                                   std::span<const ConstMatView> dy, std::span<const MatView> dx) = 0;

  // x[i] = max(x[i], 0) in place (after pooling, where there is no bias to fuse with).
  virtual Cost relu(std::span<const MatView> x) = 0;

  // Inverted dropout in place, the same op for the forward pass (on activations) and the backward pass
  // (on their gradients, with the same keys): x[i](r, c) *= keep · s, where s = 1 / (1 − p) rounded to
  // float, and keep is 1 when contract::dropout_uniform(keys[i], r, c / group) >= p (in double), else 0.
  // group = 1 drops elements (nn.Dropout); group = H·W drops whole channels of an image (nn.Dropout2d).
  // x[i].cols is a multiple of group. The mask depends only on the key, the row and the unit, so it is
  // the same on every backend, thread count and chunk. p in [0, 1); p = 0 leaves x unchanged.
  virtual Cost dropout(float p, std::int64_t group, std::span<const std::uint64_t> keys,
                       std::span<const MatView> x) = 0;

  // One local-SGD step over n parameters per item, in a single pass (p[i], v[i]: n floats each,
  // backend memory, not overlapping; anchor[i] and correction[i]: n floats or absent), per element j:
  //   v += weight_decay · p              (only when weight_decay != 0)
  //   v += proximal_mu · (p − anchor)    (only when proximal_mu != 0: FedProx's ∇ μ/2·‖p − anchor‖²)
  //   v += correction                    (only when correction is not empty and correction[i] not null:
  //                                       SCAFFOLD's c − c_i)
  //   p −= lr · v
  //   v *= momentum
  // v holds the velocity pre-scaled by momentum, and the caller accumulates the next gradient into it
  // with beta = 1 (models/local_trainer.cpp explains why this is PyTorch's SGD exactly). With only
  // momentum (and weight decay) the arithmetic is the spine's momentum update, bit for bit. momentum = 0
  // leaves v = 0 (for finite v). anchor has one entry per item when proximal_mu != 0 and may be empty
  // otherwise.
  virtual Cost sgd_step(const SgdStep& step, std::span<float* const> params, std::span<float* const> velocity,
                        std::span<const float* const> anchor, std::span<const float* const> correction,
                        std::size_t n) = 0;
};

enum class BackendKind { cpu, cuda, automatic };

// Makes a backend. threads <= 0 means available_cpus() (kernels/cpu/thread_pool.hpp: the CPUs in this
// process's affinity mask, capped by its cgroup's CPU quota). Throws std::runtime_error
// when `cuda` is asked for and the build or the machine has no CUDA (main turns that into exit 2);
// `automatic` picks cuda when a device is usable, else cpu.
std::unique_ptr<Backend> make_backend(BackendKind kind, int threads);
std::unique_ptr<Backend> make_cpu_backend(int threads);
// Whether this build includes the CUDA backend, and whether a device is usable now (with the reason).
bool cuda_compiled();
bool cuda_device_available(std::string* why = nullptr);
std::unique_ptr<Backend> make_cuda_backend();  // throws when !cuda_device_available()

}  // namespace dtsim::kernels
