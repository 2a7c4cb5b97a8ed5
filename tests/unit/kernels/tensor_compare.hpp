// Tensor comparisons for tests: an empty string when the tensors agree, else a report of the first
// mismatches (index, row, column, got, expected), for CHECK_MESSAGE(diff.empty(), diff).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <sstream>
#include <string>

namespace dtsim::test {

// |got − ref| <= atol + rtol·|ref| elementwise (NaN never agrees); cols only labels the report.
template <class Got, class Ref>
std::string compare_close(std::span<const Got> got, std::span<const Ref> ref, double atol, double rtol,
                          std::int64_t cols = 0, int show = 8) {
  std::ostringstream out;
  if (got.size() != ref.size()) {
    out << "sizes differ: got " << got.size() << ", expected " << ref.size();
    return out.str();
  }
  std::size_t bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double g = static_cast<double>(got[i]), r = static_cast<double>(ref[i]);
    if (std::abs(g - r) <= atol + rtol * std::abs(r)) continue;
    if (static_cast<int>(bad) < show) {
      out << "  [" << i << "]";
      if (cols > 0)
        out << " (row " << static_cast<std::int64_t>(i) / cols << ", col " << static_cast<std::int64_t>(i) % cols
            << ")";
      out.precision(9);
      out << " got " << g << ", expected " << r << ", |diff| " << std::abs(g - r) << "\n";
    }
    ++bad;
  }
  if (bad == 0) return {};
  return std::to_string(bad) + " of " + std::to_string(got.size()) + " elements differ beyond atol " +
         std::to_string(atol) + " + rtol " + std::to_string(rtol) + "·|expected|; first:\n" + out.str();
}

// Bit-for-bit equality (so -0 ≠ +0 and equal NaNs agree).
inline std::string compare_bits(std::span<const float> got, std::span<const float> ref, std::int64_t cols = 0,
                                int show = 8) {
  std::ostringstream out;
  if (got.size() != ref.size()) {
    out << "sizes differ: got " << got.size() << ", expected " << ref.size();
    return out.str();
  }
  std::size_t bad = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::memcmp(&got[i], &ref[i], sizeof(float)) == 0) continue;
    if (static_cast<int>(bad) < show) {
      out.precision(9);
      out << "  [" << i << "]";
      if (cols > 0)
        out << " (row " << static_cast<std::int64_t>(i) / cols << ", col " << static_cast<std::int64_t>(i) % cols
            << ")";
      out << " got " << got[i] << ", expected " << ref[i] << "\n";
    }
    ++bad;
  }
  if (bad == 0) return {};
  return std::to_string(bad) + " of " + std::to_string(got.size()) + " elements are not bit-identical; first:\n" +
         out.str();
}

}  // namespace dtsim::test
