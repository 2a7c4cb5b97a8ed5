#include "sim/scenario/distribution.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <vector>

using namespace dtsim;

namespace {

constexpr int kDraws = 20000;

std::vector<double> draws(const Distribution& d, bool positive = false, std::uint64_t seed = 7) {
  Rng rng(seed, "distribution_test");
  std::vector<double> out(kDraws);
  for (auto& x : out) x = d.sample(rng, positive);
  return out;
}

double mean_of(const std::vector<double>& xs) {
  double sum = 0;
  for (double x : xs) sum += x;
  return sum / static_cast<double>(xs.size());
}

double stddev_of(const std::vector<double>& xs) {
  const double m = mean_of(xs);
  double sum = 0;
  for (double x : xs) sum += (x - m) * (x - m);
  return std::sqrt(sum / static_cast<double>(xs.size() - 1));
}

double share_of(const std::vector<double>& xs, double value) {
  return static_cast<double>(std::count(xs.begin(), xs.end(), value)) / static_cast<double>(xs.size());
}

}  // namespace

TEST_SUITE("scenario") {
  TEST_CASE("Distribution: a constant always returns its value") {
    const auto d = Distribution::constant_of(5e9);

    const auto xs = draws(d);

    CHECK(std::all_of(xs.begin(), xs.end(), [](double x) { return x == 5e9; }));
  }

  TEST_CASE("Distribution: uniform draws stay in [min, max) with mean (min + max) / 2") {
    Distribution d;
    d.kind = Distribution::Kind::uniform;
    d.min = 2;
    d.max = 6;

    const auto xs = draws(d);

    CHECK(*std::min_element(xs.begin(), xs.end()) >= 2);
    CHECK(*std::max_element(xs.begin(), xs.end()) < 6);
    CHECK(mean_of(xs) == doctest::Approx(4).epsilon(0.01));
  }

  TEST_CASE("Distribution: normal draws have the given mean and standard deviation") {
    Distribution d;
    d.kind = Distribution::Kind::normal;
    d.mean = 10;
    d.stddev = 3;

    const auto xs = draws(d);

    CHECK(mean_of(xs) == doctest::Approx(10).epsilon(0.01));
    CHECK(stddev_of(xs) == doctest::Approx(3).epsilon(0.03));
  }

  TEST_CASE("Distribution: lognormal draws have the given median and mean median * exp(sigma^2 / 2)") {
    Distribution d;
    d.kind = Distribution::Kind::lognormal;
    d.median = 5;
    d.sigma = 0.5;

    auto xs = draws(d);

    CHECK(mean_of(xs) == doctest::Approx(5 * std::exp(0.125)).epsilon(0.02));
    std::nth_element(xs.begin(), xs.begin() + kDraws / 2, xs.end());
    CHECK(xs[kDraws / 2] == doctest::Approx(5).epsilon(0.03));
  }

  TEST_CASE("Distribution: choice follows its weights and never picks a zero weight") {
    Distribution d;
    d.kind = Distribution::Kind::choice;
    d.values = {1, 2, 5};
    d.weights = {1, 0, 3};

    const auto xs = draws(d);

    CHECK(share_of(xs, 1) == doctest::Approx(0.25).epsilon(0.05));
    CHECK(share_of(xs, 2) == 0);
    CHECK(share_of(xs, 5) == doctest::Approx(0.75).epsilon(0.02));
  }

  TEST_CASE("Distribution: choice without weights picks every value equally often") {
    Distribution d;
    d.kind = Distribution::Kind::choice;
    d.values = {1, 2, 5, 7};

    const auto xs = draws(d);

    for (double v : d.values) CHECK(share_of(xs, v) == doctest::Approx(0.25).epsilon(0.05));
  }

  TEST_CASE("Distribution: positive redraws non-positive normal values and falls back to the mean") {
    Distribution wide;
    wide.kind = Distribution::Kind::normal;
    wide.mean = 1;
    wide.stddev = 2;
    Distribution hopeless = wide;
    hopeless.mean = -100;
    hopeless.stddev = 1;

    const auto truncated = draws(wide, true);
    const auto untruncated = draws(wide, false);
    const auto fallback = draws(hopeless, true);

    CHECK(std::all_of(truncated.begin(), truncated.end(), [](double x) { return x > 0; }));
    CHECK(std::any_of(untruncated.begin(), untruncated.end(), [](double x) { return x <= 0; }));
    CHECK(std::all_of(fallback.begin(), fallback.end(), [](double x) { return x == -100; }));
  }

  TEST_CASE("Distribution: the same stream gives the same values, another stream others") {
    Distribution d;
    d.kind = Distribution::Kind::lognormal;
    d.median = 1;
    d.sigma = 1;

    const auto first = draws(d, false, 42);
    const auto again = draws(d, false, 42);
    const auto other = draws(d, false, 43);

    CHECK(first == again);
    CHECK(first != other);
  }

  TEST_CASE("Distribution: shifted_exponential draws lie above the shift with mean shift + 1/rate") {
    Distribution d;
    d.kind = Distribution::Kind::shifted_exponential;
    d.shift = 1.0;
    d.rate = 2.0;

    const auto xs = draws(d);

    CHECK(*std::min_element(xs.begin(), xs.end()) >= 1.0);
    // The exponential part has standard deviation 1/rate: the mean of 20,000 draws within 5 standard errors.
    CHECK(std::abs(mean_of(xs) - (1.0 + 1 / 2.0)) <= 5 * (1 / 2.0) / std::sqrt(kDraws));
    CHECK(stddev_of(xs) == doctest::Approx(0.5).epsilon(0.03));
    // P(X <= shift + t) = 1 − exp(−rate·t), against the empirical share.
    const double t = 0.3, share = static_cast<double>(std::count_if(xs.begin(), xs.end(), [&](double x) {
                                                        return x <= 1.0 + t;
                                                      })) /
                                  kDraws;
    const double p = 1 - std::exp(-2.0 * t);
    CHECK(d.probability_within(0, 1.0 + t) == doctest::Approx(p));
    CHECK(std::abs(share - p) <= 5 * std::sqrt(p * (1 - p) / kDraws));
  }

  TEST_CASE("Distribution: pareto draws lie above the scale with median scale · 2^(1/shape) and its tail") {
    Distribution d;
    d.kind = Distribution::Kind::pareto;
    d.scale = 3.0;
    d.shape = 2.5;

    auto xs = draws(d);

    CHECK(*std::min_element(xs.begin(), xs.end()) >= 3.0);
    const double tail = static_cast<double>(std::count_if(xs.begin(), xs.end(), [](double x) { return x > 6.0; })) /
                        kDraws;
    const double p = std::pow(3.0 / 6.0, 2.5);  // P(X > 2·scale)
    CHECK(std::abs(tail - p) <= 5 * std::sqrt(p * (1 - p) / kDraws));
    CHECK(d.probability_within(6.0, std::numeric_limits<double>::infinity()) == doctest::Approx(p));
    std::nth_element(xs.begin(), xs.begin() + kDraws / 2, xs.end());
    CHECK(xs[kDraws / 2] == doctest::Approx(3.0 * std::pow(2.0, 1 / 2.5)).epsilon(0.02));
  }

  TEST_CASE("Distribution: kind_names lists the kinds in the order of Kind") {
    const auto& names = Distribution::kind_names();

    REQUIRE(names.size() == 7);
    CHECK(names[static_cast<int>(Distribution::Kind::shifted_exponential)] == "shifted_exponential");
    CHECK(names[static_cast<int>(Distribution::Kind::pareto)] == "pareto");
    CHECK(names[static_cast<int>(Distribution::Kind::constant)] == "constant");
    CHECK(names[static_cast<int>(Distribution::Kind::uniform)] == "uniform");
    CHECK(names[static_cast<int>(Distribution::Kind::normal)] == "normal");
    CHECK(names[static_cast<int>(Distribution::Kind::lognormal)] == "lognormal");
    CHECK(names[static_cast<int>(Distribution::Kind::choice)] == "choice");
  }

  TEST_CASE("Distribution: draw_within redraws from the same stream and keeps a first draw in range as drawn") {
    Distribution d;
    d.kind = Distribution::Kind::normal;
    d.mean = 0.02;
    d.stddev = 0.04;  // a latency: about a third of the draws are below 0

    for (std::uint64_t key = 0; key < 2000; ++key) {
      CAPTURE(key);
      Rng plain(3, "distribution_test", key), bounded(3, "distribution_test", key);

      const double first = d.sample(plain);
      const double drawn = d.draw_within(bounded, 0, 86400);

      CHECK(drawn >= 0);
      CHECK(drawn <= 86400);
      if (first >= 0) CHECK(drawn == first);  // bit-identical where the old draw was in range
    }
  }

  TEST_CASE("Distribution: draw_within is the first in-range draw of its stream, and clamps once redraws run out") {
    Distribution d;
    d.kind = Distribution::Kind::normal;
    d.mean = 0;
    d.stddev = 1;
    Distribution hopeless = d;
    hopeless.mean = -1000;

    for (std::uint64_t key = 0; key < 200; ++key) {
      Rng stream(5, "distribution_test", key), replay(5, "distribution_test", key), far(5, "distribution_test", key);
      double expected = d.sample(replay);
      int redraws = 0;
      while (!(expected >= 1 && expected <= 2) && redraws < Distribution::kMaxRedraws) {
        expected = d.sample(replay);
        ++redraws;
      }
      if (!(expected >= 1 && expected <= 2)) expected = std::clamp(expected, 1.0, 2.0);

      CHECK(d.draw_within(stream, 1, 2) == expected);
      CHECK(hopeless.draw_within(far, 0, 5) == 0);  // every draw far below: clamped to the lower end
    }
  }

  TEST_CASE("Distribution: draw_within never returns infinity, even when the draws overflow") {
    Distribution d;
    d.kind = Distribution::Kind::normal;
    d.mean = 1e308;
    d.stddev = 1e308;
    Rng rng(1, "distribution_test");

    for (int i = 0; i < 1000; ++i) {
      const double x = d.draw_within(rng, 1, std::numeric_limits<double>::max());
      CHECK(std::isfinite(x));
      CHECK(x >= 1);
    }
  }

  TEST_CASE("Distribution: probability_within is exact per kind") {
    constexpr double inf = std::numeric_limits<double>::infinity();
    Distribution constant = Distribution::constant_of(3);
    Distribution uniform;
    uniform.kind = Distribution::Kind::uniform;
    uniform.min = 0;
    uniform.max = 10;
    Distribution normal;
    normal.kind = Distribution::Kind::normal;
    normal.mean = 0.02;
    normal.stddev = 1e9;
    Distribution lognormal;
    lognormal.kind = Distribution::Kind::lognormal;
    lognormal.median = 1;
    lognormal.sigma = 2;
    Distribution choice;
    choice.kind = Distribution::Kind::choice;
    choice.values = {1, 5, 50};
    choice.weights = {1, 2, 1};

    CHECK(constant.probability_within(0, 5) == 1);
    CHECK(constant.probability_within(4, 5) == 0);
    CHECK(uniform.probability_within(2, 4.5) == doctest::Approx(0.25));
    CHECK(uniform.probability_within(-inf, inf) == 1);
    CHECK(uniform.probability_within(20, 30) == 0);
    CHECK(normal.probability_within(0, 86400) ==
          doctest::Approx(86400 / (1e9 * std::sqrt(2 * std::numbers::pi))).epsilon(1e-4));
    CHECK(normal.probability_within(-inf, inf) == 1);
    CHECK(normal.probability_within(0.02, inf) == doctest::Approx(0.5));
    CHECK(lognormal.probability_within(1, inf) == doctest::Approx(0.5));
    CHECK(lognormal.probability_within(0, std::exp(2.0)) == doctest::Approx(0.841344746).epsilon(1e-6));
    CHECK(choice.probability_within(2, 10) == doctest::Approx(0.5));
    CHECK(choice.probability_within(0, 100) == 1);
  }

  TEST_CASE("Distribution: probability_within keeps tiny upper-tail probabilities") {
    Distribution normal;
    normal.kind = Distribution::Kind::normal;
    normal.mean = 0;
    normal.stddev = 1;

    // P(Z >= 10) = 7.62e-24: 1 - Phi(10) would round to 0
    CHECK(normal.probability_within(10, std::numeric_limits<double>::infinity()) ==
          doctest::Approx(7.6198530241605e-24).epsilon(1e-6));
  }
}
