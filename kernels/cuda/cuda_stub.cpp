// Stands in for the CUDA backend in builds without nvcc (DTSIM_CUDA=OFF, or AUTO with no toolkit).
#include <stdexcept>

#include "kernels/backend.hpp"

namespace dtsim::kernels {

namespace {
constexpr const char* kWhy = "this dtsim was built without CUDA";
}

bool cuda_compiled() { return false; }

bool cuda_device_available(std::string* why) {
  if (why) *why = kWhy;
  return false;
}

std::unique_ptr<Backend> make_cuda_backend() { throw std::runtime_error(std::string("cuda backend: ") + kWhy); }

}  // namespace dtsim::kernels
