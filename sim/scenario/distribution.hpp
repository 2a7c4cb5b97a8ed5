// Distributions allowed wherever the schema takes one ("a bare value means constant"):
//   constant  {dist: constant, value: V}          or just V
//   uniform   {dist: uniform, min: A, max: B}
//   normal    {dist: normal, mean: M, stddev: S}
//   lognormal {dist: lognormal, median: M, sigma: S}   (sigma of the underlying normal, unitless)
//   choice    {dist: choice, values: [..], weights: [..]}   (weights optional, need not sum to 1)
// Values are stored in SI units (the Params reader converts "5Gf", "20ms", ...).
#pragma once

#include <string>
#include <vector>

#include "sim/common/rng.hpp"

namespace dtsim {

struct Distribution {
  enum class Kind { constant, uniform, normal, lognormal, choice };
  Kind kind = Kind::constant;
  double value = 0;              // constant
  double min = 0, max = 0;       // uniform, min <= max
  double mean = 0, stddev = 0;   // normal, stddev >= 0
  double median = 0, sigma = 0;  // lognormal, median > 0, sigma >= 0
  std::vector<double> values;    // choice, non-empty
  std::vector<double> weights;   // choice, empty (= equal) or one non-negative weight per value, sum > 0

  static Distribution constant_of(double v) {
    Distribution d;
    d.value = v;
    return d;
  }

  // One draw. For quantities that must be positive (speeds, bandwidths), `positive` redraws
  // non-positive normal draws (a normal truncated to (0, inf)); the loader guarantees mean > 0.
  double sample(Rng& rng, bool positive = false) const;

  // Names of the kinds in the order of Kind, for "valid values are" messages and `dtsim list`.
  static const std::vector<std::string>& kind_names();
};

}  // namespace dtsim
