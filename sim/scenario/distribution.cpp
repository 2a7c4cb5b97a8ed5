#include "sim/scenario/distribution.hpp"

#include <cmath>
#include <numeric>

namespace dtsim {

namespace {

// Enough redraws that a normal with mean > 0 practically never exhausts them (even at mean = 0.1 sd,
// P(all fail) = 0.46^1000); the mean is a safe positive fallback.
constexpr int kMaxPositiveTries = 1000;

double pick(const std::vector<double>& values, const std::vector<double>& weights, Rng& rng) {
  if (weights.empty()) return values[rng.below(values.size())];
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  const double target = rng.uniform() * total;
  double cumulative = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    cumulative += weights[i];
    if (target < cumulative) return values[i];
  }
  // Rounding can leave target == total: the last value with a positive weight.
  for (std::size_t i = values.size(); i-- > 0;)
    if (weights[i] > 0) return values[i];
  return values.back();
}

}  // namespace

double Distribution::sample(Rng& rng, bool positive) const {
  switch (kind) {
    case Kind::constant:
      return value;
    case Kind::uniform:
      return min + (max - min) * rng.uniform();
    case Kind::normal:
      if (!positive) return rng.normal(mean, stddev);
      for (int i = 0; i < kMaxPositiveTries; ++i)
        if (const double x = rng.normal(mean, stddev); x > 0) return x;
      return mean;
    case Kind::lognormal:
      return median * std::exp(sigma * rng.normal());
    case Kind::choice:
      return pick(values, weights, rng);
  }
  return value;
}

const std::vector<std::string>& Distribution::kind_names() {
  static const std::vector<std::string> names{"constant", "uniform", "normal", "lognormal", "choice"};
  return names;
}

}  // namespace dtsim
