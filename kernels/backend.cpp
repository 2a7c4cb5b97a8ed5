#include "kernels/backend.hpp"

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
