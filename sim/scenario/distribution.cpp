#include "sim/scenario/distribution.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
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
    case Kind::shifted_exponential:  // inverse CDF of 1 − U, U in [0, 1): finite
      return shift - std::log1p(-rng.uniform()) / rate;
    case Kind::pareto:
      return scale * std::pow(1 - rng.uniform(), -1 / shape);
  }
  return value;
}

double Distribution::draw_within(Rng& rng, double lo, double hi) const {
  double x = sample(rng);
  for (int redraw = 0; redraw < kMaxRedraws && !(x >= lo && x <= hi); ++redraw) x = sample(rng);
  return std::isnan(x) ? lo : std::clamp(x, lo, hi);
}

namespace {

// P(Z <= z) for a standard normal, accurate in both tails.
double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::numbers::sqrt2); }

bool within(double x, double lo, double hi) { return std::isfinite(x) && x >= lo && x <= hi; }

// P(lo <= N(mean, sd) <= hi); sd >= 0.
double normal_within(double mean, double sd, double lo, double hi) {
  if (sd == 0) return within(mean, lo, hi) ? 1 : 0;
  // The upper tail is taken directly where it is small, so that a tiny probability is not lost to rounding.
  const double a = (lo - mean) / sd, b = (hi - mean) / sd;
  if (a > 0) return std::max(0.0, 0.5 * std::erfc(a / std::numbers::sqrt2) - 0.5 * std::erfc(b / std::numbers::sqrt2));
  return std::max(0.0, normal_cdf(b) - normal_cdf(a));
}

}  // namespace

double Distribution::probability_within(double lo, double hi) const {
  hi = std::min(hi, std::numeric_limits<double>::max());  // a draw that overflows is outside
  switch (kind) {
    case Kind::constant:
      return within(value, lo, hi) ? 1 : 0;
    case Kind::uniform: {
      if (!(max > min)) return within(min, lo, hi) ? 1 : 0;
      // Halves, so that the width of [-1e308, 1e308] does not overflow.
      const double inside = std::min(hi, max) / 2 - std::max(lo, min) / 2;
      return std::clamp(inside / (max / 2 - min / 2), 0.0, 1.0);
    }
    case Kind::normal:
      return normal_within(mean, stddev, lo, hi);
    case Kind::lognormal:
      if (!(median > 0)) return 0;
      if (sigma == 0) return within(median, lo, hi) ? 1 : 0;
      return normal_within(std::log(median), sigma, lo > 0 ? std::log(lo) : -std::numeric_limits<double>::infinity(),
                           std::log(hi));
    case Kind::choice: {
      double total = 0, inside = 0;
      for (std::size_t i = 0; i < values.size(); ++i) {
        const double w = weights.empty() ? 1 : weights[i];
        total += w;
        if (within(values[i], lo, hi)) inside += w;
      }
      return total > 0 && std::isfinite(total) ? inside / total : 0;
    }
    case Kind::shifted_exponential: {
      if (!(rate > 0)) return 0;
      // P(X <= x) = 1 − exp(−rate·(x − shift)) above the shift; expm1 keeps small probabilities.
      const auto cdf = [&](double x) { return x <= shift ? 0.0 : -std::expm1(-rate * (x - shift)); };
      return std::clamp(cdf(hi) - cdf(lo), 0.0, 1.0);
    }
    case Kind::pareto: {
      if (!(scale > 0 && shape > 0)) return 0;
      const auto tail = [&](double x) { return x <= scale ? 1.0 : std::pow(scale / x, shape); };  // P(X > x)
      return std::clamp(tail(lo) - tail(hi), 0.0, 1.0);
    }
  }
  return 0;
}

const std::vector<std::string>& Distribution::kind_names() {
  static const std::vector<std::string> names{"constant", "uniform",   "normal", "lognormal",
                                              "choice",   "shifted_exponential", "pareto"};
  return names;
}

}  // namespace dtsim
