// The CUDA backend: the Backend interface (C++20) over the plain-pointer launchers of cuda_kernels.cu
// (CUDA 17). Checks and modelled costs are the CPU backend's (op_contract.hpp), so a CUDA run reports
// the same costs and rejects the same arguments; its results are held to the CPU reference by
// tests/contract/kernels/cuda_conformance_test.cpp.
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/backend.hpp"
#include "kernels/cuda/cuda_kernels.hpp"
#include "kernels/op_contract.hpp"

namespace dtsim::kernels {
namespace {

cuda::DeviceMat device_mat(const ConstMatView& v) { return {const_cast<float*>(v.data), v.rows, v.cols, v.ld}; }
cuda::DeviceMat device_mat(const MatView& v) { return {v.data, v.rows, v.cols, v.ld}; }

class CudaBackend final : public Backend {
 public:
  CudaBackend() : ctx_(cuda::create_context()) {}
  ~CudaBackend() override { cuda::destroy_context(ctx_); }
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  std::string name() const override { return "cuda"; }
  int threads() const override { return 1; }

  Buffer alloc(std::size_t n) override {
    if (n == 0) return Buffer();
    return Buffer(cuda::device_alloc_zeroed(n), n, &cuda::device_free);
  }
  void upload(const float* host, std::size_t n, float* dst) override { cuda::copy_to_device(ctx_, host, n, dst); }
  void download(const float* src, std::size_t n, float* host) override { cuda::copy_to_host(ctx_, src, n, host); }
  void copy(const float* src, std::size_t n, float* dst) override { cuda::copy_on_device(ctx_, src, n, dst); }
  const float* view_host(const float*, std::size_t) override { return nullptr; }

  Cost gemm(Trans ta, Trans tb, float alpha, std::span<const ConstMatView> a, std::span<const ConstMatView> b,
            float beta, std::span<const MatView> c) override {
    const Cost cost = contract::gemm(ta, tb, a, b, beta, c);
    fill(a_, a);
    fill(b_, b);
    fill(c_, c);
    cuda::gemm(ctx_, ta == Trans::yes, tb == Trans::yes, alpha, a_.data(), b_.data(), beta, c_.data(), c.size());
    return cost;
  }

  Cost bias_activation(Activation act, std::span<const float* const> bias, std::span<const MatView> x) override {
    const Cost cost = contract::bias_activation(act, bias, x);
    fill(a_, x);
    cuda::bias_activation(ctx_, act == Activation::relu, bias.data(), a_.data(), x.size());
    return cost;
  }

  Cost relu_backward(std::span<const ConstMatView> act, std::span<const MatView> grad) override {
    const Cost cost = contract::relu_backward(act, grad);
    fill(a_, act);
    fill(b_, grad);
    cuda::relu_backward(ctx_, a_.data(), b_.data(), grad.size());
    return cost;
  }

  Cost softmax_xent(std::span<const MatView> logits, std::span<const std::int32_t* const> labels, bool with_grad,
                    float grad_scale, std::span<double> loss_sum, std::span<double> loss_sq_sum,
                    std::span<std::int64_t> correct) override {
    const Cost cost = contract::softmax_xent(logits, labels, with_grad, loss_sum, loss_sq_sum, correct);
    fill(a_, logits);
    cuda::softmax_xent(ctx_, a_.data(), labels.data(), with_grad, grad_scale, loss_sum.data(),
                       loss_sq_sum.empty() ? nullptr : loss_sq_sum.data(), correct.data(), logits.size());
    return cost;
  }

  Cost add_column_sums(float alpha, std::span<const ConstMatView> g, std::span<float* const> bias) override {
    const Cost cost = contract::add_column_sums(g, bias);
    fill(a_, g);
    cuda::add_column_sums(ctx_, alpha, a_.data(), bias.data(), g.size());
    return cost;
  }

  Cost gather_rows(ConstMatView src, std::span<const std::int32_t* const> rows, std::span<const MatView> dst) override {
    const Cost cost = contract::gather_rows(src, rows, dst);
    fill(a_, dst);
    cuda::gather_rows(ctx_, device_mat(src), rows.data(), a_.data(), dst.size());
    return cost;
  }

  Cost weighted_sum(std::span<const float* const> x, std::span<const double> w, std::size_t n, bool accumulate,
                    double* acc, float* out) override {
    const Cost cost = contract::weighted_sum(x, w, n, accumulate, acc, out);
    cuda::weighted_sum(ctx_, x.data(), w.data(), x.size(), n, accumulate, acc, out);
    return cost;
  }

  Cost sgd_step(const SgdStep& step, std::span<float* const> params, std::span<float* const> velocity,
                std::span<const float* const> anchor, std::span<const float* const> correction,
                std::size_t n) override {
    const Cost cost = contract::sgd_step(step, params, velocity, anchor, correction, n);
    cuda::sgd_step(ctx_, step.lr, step.momentum, step.weight_decay, step.proximal_mu, params.data(), velocity.data(),
                   anchor.empty() ? nullptr : anchor.data(), correction.empty() ? nullptr : correction.data(),
                   params.size(), n);
    return cost;
  }

  Cost conv2d(const Conv2dShape& shape, std::span<const ConstMatView> x, std::span<const float* const> w,
              std::span<const MatView> y) override {
    const Cost cost = contract::conv2d(shape, x, w, y);
    fill(a_, x);
    fill(b_, y);
    cuda::conv2d(ctx_, conv_shape(shape), a_.data(), w.data(), b_.data(), x.size());
    return cost;
  }

  Cost conv2d_backward_input(const Conv2dShape& shape, std::span<const ConstMatView> dy,
                             std::span<const float* const> w, std::span<const MatView> dx) override {
    const Cost cost = contract::conv2d_backward_input(shape, dy, w, dx);
    fill(a_, dy);
    fill(b_, dx);
    cuda::conv2d_backward_input(ctx_, conv_shape(shape), a_.data(), w.data(), b_.data(), dy.size());
    return cost;
  }

  Cost conv2d_backward_params(const Conv2dShape& shape, std::span<const ConstMatView> x,
                              std::span<const ConstMatView> dy, float alpha, std::span<float* const> g) override {
    const Cost cost = contract::conv2d_backward_params(shape, x, dy, g);
    fill(a_, x);
    fill(b_, dy);
    cuda::conv2d_backward_params(ctx_, conv_shape(shape), a_.data(), b_.data(), alpha, g.data(), x.size());
    return cost;
  }

  Cost max_pool2d(const Pool2dShape& shape, std::span<const ConstMatView> x, std::span<const MatView> y) override {
    const Cost cost = contract::max_pool2d(shape, x, y);
    fill(a_, x);
    fill(b_, y);
    cuda::max_pool2d(ctx_, pool_shape(shape), a_.data(), b_.data(), x.size());
    return cost;
  }

  Cost max_pool2d_backward(const Pool2dShape& shape, std::span<const ConstMatView> x, std::span<const ConstMatView> dy,
                           std::span<const MatView> dx) override {
    const Cost cost = contract::max_pool2d_backward(shape, x, dy, dx);
    fill(a_, x);
    fill(b_, dy);
    fill(c_, dx);
    cuda::max_pool2d_backward(ctx_, pool_shape(shape), a_.data(), b_.data(), c_.data(), x.size());
    return cost;
  }

  Cost relu(std::span<const MatView> x) override {
    const Cost cost = contract::relu(x);
    fill(a_, x);
    cuda::relu(ctx_, a_.data(), x.size());
    return cost;
  }

  // 1/(1 − p) is rounded to float here, as on the CPU, so both backends multiply by the same scale.
  Cost dropout(float p, std::int64_t group, std::span<const std::uint64_t> keys, std::span<const MatView> x) override {
    const Cost cost = contract::dropout(p, group, keys, x);
    if (p == 0.0f) return cost;
    fill(a_, x);
    cuda::dropout(ctx_, p, 1.0f / (1.0f - p), group, keys.data(), a_.data(), x.size());
    return cost;
  }

 private:
  static cuda::ConvShape conv_shape(const Conv2dShape& s) {
    return {s.in_channels, s.out_channels, s.height, s.width, s.kernel, s.padding};
  }
  static cuda::PoolShape pool_shape(const Pool2dShape& s) { return {s.channels, s.height, s.width, s.window}; }

  template <class View>
  static void fill(std::vector<cuda::DeviceMat>& out, std::span<const View> views) {
    out.resize(views.size());  // keeps its capacity: no allocation once warm
    for (std::size_t i = 0; i < views.size(); ++i) out[i] = device_mat(views[i]);
  }

  cuda::Context* ctx_;
  std::vector<cuda::DeviceMat> a_, b_, c_;
};

}  // namespace

}  // namespace dtsim::kernels

// The module's entry points, looked up with dlsym by kernels/cuda/cuda_module.cpp (the module is only
// loaded when a run asks for CUDA, so CPU runs never map cuBLAS: about 210 MB of RSS).
extern "C" {

__attribute__((visibility("default"))) bool dtsim_cuda_device_available(std::string* why) {
  return dtsim::kernels::cuda::device_count(why) > 0;
}

// Throws std::runtime_error with the reason when no device is usable. The caller owns the result.
__attribute__((visibility("default"))) dtsim::kernels::Backend* dtsim_make_cuda_backend() {
  std::string why;
  if (!dtsim_cuda_device_available(&why)) throw std::runtime_error("cuda backend: " + why);
  return new dtsim::kernels::CudaBackend();
}

}  // extern "C"
