// Distributions allowed wherever the schema takes one ("a bare value means constant"):
//   constant  {dist: constant, value: V}          or just V
//   uniform   {dist: uniform, min: A, max: B}
//   normal    {dist: normal, mean: M, stddev: S}
//   lognormal {dist: lognormal, median: M, sigma: S}   (sigma of the underlying normal, unitless)
//   choice    {dist: choice, values: [..], weights: [..]}   (weights optional, need not sum to 1)
//   shifted_exponential {dist: shifted_exponential, shift: S, rate: R}   S + Exp(R): mean S + 1/R; R a
//             plain number, per SI unit of the value (the straggler model T = ℓ·(1 + Exp(μ)), Lee et al.)
//   pareto    {dist: pareto, scale: M, shape: A}   M · U^(−1/A): P(X > x) = (M/x)^A for x >= M
// Values are stored in SI units (the Params reader converts "5Gf", "20ms", ...).
#pragma once

#include <string>
#include <vector>

#include "sim/common/rng.hpp"

namespace dtsim {

struct Distribution {
  enum class Kind { constant, uniform, normal, lognormal, choice, shifted_exponential, pareto };
  Kind kind = Kind::constant;
  double value = 0;              // constant
  double min = 0, max = 0;       // uniform, min <= max
  double mean = 0, stddev = 0;   // normal, stddev >= 0
  double median = 0, sigma = 0;  // lognormal, median > 0, sigma >= 0
  std::vector<double> values;    // choice, non-empty
  std::vector<double> weights;   // choice, empty (= equal) or one non-negative weight per value, 0 < sum < inf
  double shift = 0, rate = 1;    // shifted_exponential, shift >= 0, rate > 0
  double scale = 1, shape = 1;   // pareto, scale > 0, shape > 0

  static Distribution constant_of(double v) {
    Distribution d;
    d.value = v;
    return d;
  }

  // Redraws of one draw_within() call before it clamps.
  static constexpr int kMaxRedraws = 100;

  // One draw. For quantities that must be positive (speeds, bandwidths), `positive` redraws
  // non-positive normal draws (a normal truncated to (0, inf)); the loader guarantees mean > 0.
  double sample(Rng& rng, bool positive = false) const;

  // One draw within [lo, hi] (lo <= hi, both finite), for a key whose values outside its range cannot be
  // simulated: a draw outside it (or not finite) is drawn again from the same stream, at most kMaxRedraws
  // times; should every one fall outside, the last is clamped into [lo, hi]. A first draw within the range
  // is returned as sample() returns it, so streams whose draws all lie in range are unchanged. The loader
  // refuses a distribution whose probability_within() is below 1 % (then a draw is clamped with
  // probability at most 0.99^101 = 36 %) and warns where clamping has a chance above 1e-6 (below 12.8 %).
  double draw_within(Rng& rng, double lo, double hi) const;

  // The probability that one draw lies within [lo, hi] (lo may be -inf, hi +inf; a draw beyond the largest
  // double counts as outside), computed per kind: the share of [min, max], of the weights, or from the
  // normal CDF (of log x for a lognormal), or the exponential's and the Pareto's closed forms.
  double probability_within(double lo, double hi) const;

  // Names of the kinds in the order of Kind, for "valid values are" messages and `dtsim list`.
  static const std::vector<std::string>& kind_names();
};

}  // namespace dtsim
