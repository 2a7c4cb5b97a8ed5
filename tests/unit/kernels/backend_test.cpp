// make_backend and the CUDA availability queries.
#include "kernels/backend.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "kernels/cpu/thread_pool.hpp"

using namespace dtsim::kernels;

TEST_SUITE("kernels") {
  TEST_CASE("make_backend: cpu uses the thread count asked for, or the CPUs this process may use for 0") {
    const int cores = available_cpus();

    auto two = make_backend(BackendKind::cpu, 2);
    auto all = make_backend(BackendKind::cpu, 0);
    auto one = make_backend(BackendKind::cpu, 1);

    CHECK(two->name() == "cpu");
    CHECK(two->threads() == 2);
    CHECK(all->threads() == cores);
    CHECK(one->threads() == 1);
  }

  TEST_CASE("cuda_compiled: matches the build configuration") {
#ifdef DTSIM_HAVE_CUDA
    CHECK(cuda_compiled());
#else
    CHECK_FALSE(cuda_compiled());
#endif
  }

  TEST_CASE("make_backend: cuda without a usable device throws the reason; automatic falls back to cpu") {
    std::string why;
    const bool device = cuda_device_available(&why);
    if (device) {
      MESSAGE("a CUDA device is present: checking that cuda and automatic both give the cuda backend");
      CHECK(make_backend(BackendKind::cuda, 1)->name() == "cuda");
      CHECK(make_backend(BackendKind::automatic, 1)->name() == "cuda");
      return;
    }

    INFO("reason: " << why);
    if (cuda_compiled()) {
      CHECK(why.find("no CUDA device") != std::string::npos);
    } else {
      CHECK(why == "this dtsim was built without CUDA");
    }
    CHECK_THROWS_WITH_AS(make_backend(BackendKind::cuda, 1), doctest::Contains(why.c_str()), std::runtime_error);
    CHECK_THROWS_AS(make_cuda_backend(), std::runtime_error);
    CHECK(make_backend(BackendKind::automatic, 2)->name() == "cpu");
    CHECK(make_backend(BackendKind::automatic, 2)->threads() == 2);
  }
}
