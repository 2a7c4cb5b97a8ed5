#include "kernels/backend.hpp"

#include <stdexcept>
#include <string>

namespace dtsim::kernels {

std::unique_ptr<Backend> make_backend(BackendKind kind, int threads) {
  switch (kind) {
    case BackendKind::cpu:
      return make_cpu_backend(threads);
    case BackendKind::cuda:
      return make_cuda_backend();  // throws std::runtime_error with the reason when unusable
    case BackendKind::automatic:
      if (cuda_device_available()) return make_cuda_backend();
      return make_cpu_backend(threads);
  }
  return make_cpu_backend(threads);
}

}  // namespace dtsim::kernels

// Defaults for the image and dropout operations until every backend implements them (the "Models over
// the Backend" work in progress): a backend without them says so instead of computing nothing.
namespace dtsim::kernels {
namespace {
[[noreturn]] void not_yet(const Backend& be, const char* op) {
  throw std::logic_error(std::string(op) + " is not implemented by the " + be.name() + " backend");
}
}  // namespace
Cost Backend::conv2d(const Conv2dShape&, std::span<const ConstMatView>, std::span<const float* const>,
                     std::span<const MatView>) {
  not_yet(*this, "conv2d");
}
Cost Backend::conv2d_backward_input(const Conv2dShape&, std::span<const ConstMatView>, std::span<const float* const>,
                                    std::span<const MatView>) {
  not_yet(*this, "conv2d_backward_input");
}
Cost Backend::conv2d_backward_params(const Conv2dShape&, std::span<const ConstMatView>, std::span<const ConstMatView>,
                                     float, std::span<float* const>) {
  not_yet(*this, "conv2d_backward_params");
}
Cost Backend::max_pool2d(const Pool2dShape&, std::span<const ConstMatView>, std::span<const MatView>) {
  not_yet(*this, "max_pool2d");
}
Cost Backend::max_pool2d_backward(const Pool2dShape&, std::span<const ConstMatView>, std::span<const ConstMatView>,
                                  std::span<const MatView>) {
  not_yet(*this, "max_pool2d_backward");
}
Cost Backend::relu(std::span<const MatView>) { not_yet(*this, "relu"); }
Cost Backend::dropout(float, std::int64_t, std::span<const std::uint64_t>, std::span<const MatView>) {
  not_yet(*this, "dropout");
}
}  // namespace dtsim::kernels
