// Eigen 3.4's GEMM blocking (models/gemm_scratch.hpp), ported for the memory estimate.
#include "models/gemm_scratch.hpp"

#include <unistd.h>

#include <algorithm>

namespace dtsim::models {

// Bytes the CPU backend allocates for one GEMM item (rows × cols row-major result, inner dimension
// depth): Eigen 3.4 packs mc × kc floats of its lhs and kc × nc of its rhs, the blocking sizes from its
// single-threaded heuristic (Eigen/src/Core/products/GeneralBlockPanelKernel.h,
// evaluateProductBlockingSizesHeuristic), ported here for float with this build's vector ISA and the
// caches Eigen reads (the same as sysconf's). A row-major result is computed as its transpose: Eigen's
// m = cols, n = rows, k = depth. With AVX-512 and 32 KiB of L1 a 784-deep product packs kc = 400 rows of
// the 784 × width weights (25 MiB for 16,384 columns: measured).
double eigen_gemm_workspace(std::int64_t rows, std::int64_t cols, std::int64_t depth) {
  std::int64_t k = depth, m = cols, n = rows;
  auto cache = [](int name, std::int64_t fallback) {
    const long v = ::sysconf(name);
    return v > 0 ? static_cast<std::int64_t>(v) : fallback;
  };
  std::int64_t l1 = cache(_SC_LEVEL1_DCACHE_SIZE, 16 * 1024);
  const std::int64_t l2 = cache(_SC_LEVEL2_CACHE_SIZE, 512 * 1024), l3 = cache(_SC_LEVEL3_CACHE_SIZE, 512 * 1024);
#if defined(__AVX512F__)
  constexpr std::int64_t packet = 16;
  l1 *= 4;  // Eigen's AVX-512 adjustment
#elif defined(__AVX__)
  constexpr std::int64_t packet = 8;
#else
  constexpr std::int64_t packet = 4;
#endif
#if defined(__FMA__)
  constexpr std::int64_t mr = 3 * packet;
#else
  constexpr std::int64_t mr = 2 * packet;
#endif
  constexpr std::int64_t nr = 4, f = 4;  // sizeof(float)
  if (std::max({k, m, n}) >= 48) {
    const std::int64_t k_div = mr * f + nr * f, k_sub = mr * nr * f;
    const std::int64_t max_kc = std::max<std::int64_t>(((l1 - k_sub) / k_div) & ~std::int64_t{7}, 1);
    const std::int64_t old_k = k;
    if (k > max_kc) k = k % max_kc == 0 ? max_kc : max_kc - 8 * ((max_kc - 1 - k % max_kc) / (8 * (k / max_kc + 1)));
    constexpr std::int64_t actual_l2 = 1572864;
    const std::int64_t remaining_l1 = l1 - k_sub - m * k * f;
    const std::int64_t max_nc =
        remaining_l1 >= nr * f * k ? remaining_l1 / (k * f) : (3 * actual_l2) / (2 * 2 * max_kc * f);
    const std::int64_t nc = std::min(actual_l2 / (2 * k * f), max_nc) & ~(nr - 1);
    if (nc > 0 && n > nc) {
      n = n % nc == 0 ? nc : nc - nr * ((nc - n % nc) / (nr * (n / nc + 1)));
    } else if (old_k == k) {
      const std::int64_t problem = k * n * f;
      std::int64_t actual_lm = actual_l2, max_mc = m;
      if (problem <= 1024) {
        actual_lm = l1;
      } else if (l3 != 0 && problem <= 32768) {
        actual_lm = l2;
        max_mc = std::min<std::int64_t>(576, max_mc);
      }
      std::int64_t mc = std::min(actual_lm / (3 * k * f), max_mc);
      if (mc > mr) mc -= mc % mr;
      if (mc > 0) m = m % mc == 0 ? mc : mc - mr * ((mc - m % mc) / (mr * (m / mc + 1)));
    }
  }
  return static_cast<double>(f) * static_cast<double>(k) * static_cast<double>(m + n);
}

}  // namespace dtsim::models
