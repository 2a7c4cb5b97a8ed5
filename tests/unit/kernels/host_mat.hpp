// A host matrix with a padded row stride for the kernel tests (the CPU backend's and the convolutions').
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/backend.hpp"
#include "sim/common/rng.hpp"

namespace dtsim::test {

// A host matrix with a padded row stride: ld = cols + pad. Padding holds NaN, so a kernel that reads
// it poisons its result and one that writes it is caught by padding_intact().
struct HostMat {
  std::int64_t rows = 0, cols = 0, ld = 0;
  std::vector<float> data;
  HostMat(std::int64_t r, std::int64_t c, std::int64_t pad, Rng& rng, float lo = -1, float hi = 1)
      : rows(r),
        cols(c),
        ld(c + pad),
        data(static_cast<std::size_t>(std::max<std::int64_t>(r * (c + pad), 1)),
             std::numeric_limits<float>::quiet_NaN()) {
    for (std::int64_t i = 0; i < r; ++i)
      for (std::int64_t j = 0; j < c; ++j) at(i, j) = static_cast<float>(rng.uniform(lo, hi));
  }
  float& at(std::int64_t r, std::int64_t c) { return data[static_cast<std::size_t>(r * ld + c)]; }
  float at(std::int64_t r, std::int64_t c) const { return data[static_cast<std::size_t>(r * ld + c)]; }
  kernels::MatView view() { return kernels::MatView{data.data(), rows, cols, ld}; }
  kernels::ConstMatView cview() const { return kernels::ConstMatView(data.data(), rows, cols, ld); }
  std::vector<float> dense() const {
    std::vector<float> out;
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t j = 0; j < cols; ++j) out.push_back(at(i, j));
    return out;
  }
  bool padding_intact() const {
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t j = cols; j < ld; ++j)
        if (!std::isnan(at(i, j))) return false;
    return true;
  }
};

}  // namespace dtsim::test
