// Loads the CUDA backend module (libdtsim_cuda.so, built when nvcc is present) on first use. Keeping
// cuBLAS out of the dtsim binary saves about 210 MB of resident memory in every CPU run: the dynamic
// loader touches most of libcublasLt's pages when it relocates it.
//
// The module is looked for next to the running executable, then at the path of the build that made
// this binary (so test executables in build/tests find build/libdtsim_cuda.so).
#include <dlfcn.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "kernels/backend.hpp"

namespace dtsim::kernels {

namespace {

struct Module {
  bool (*device_available)(std::string*) = nullptr;
  Backend* (*make)() = nullptr;
  std::string error;  // why it could not be loaded
};

const Module& module() {
  static const Module loaded = [] {
    Module m;
    std::error_code ec;
    const auto exe_dir = std::filesystem::read_symlink("/proc/self/exe", ec).parent_path();
    std::string tried;
    void* handle = nullptr;
    for (const std::string& path : {(exe_dir / "libdtsim_cuda.so").string(), std::string(DTSIM_CUDA_MODULE)}) {
      handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (handle) break;
      tried += (tried.empty() ? "" : "; ") + std::string(dlerror());
    }
    if (!handle) {
      m.error = "cannot load the CUDA module: " + tried;
      return m;
    }
    m.device_available = reinterpret_cast<bool (*)(std::string*)>(dlsym(handle, "dtsim_cuda_device_available"));
    m.make = reinterpret_cast<Backend* (*)()>(dlsym(handle, "dtsim_make_cuda_backend"));
    if (!m.device_available || !m.make) m.error = "the CUDA module lacks its entry points";
    return m;
  }();
  return loaded;
}

}  // namespace

bool cuda_compiled() { return true; }

bool cuda_device_available(std::string* why) {
  const Module& m = module();
  if (!m.error.empty()) {
    if (why) *why = m.error;
    return false;
  }
  return m.device_available(why);
}

std::unique_ptr<Backend> make_cuda_backend() {
  const Module& m = module();
  if (!m.error.empty()) throw std::runtime_error("cuda backend: " + m.error);
  return std::unique_ptr<Backend>(m.make());
}

}  // namespace dtsim::kernels
