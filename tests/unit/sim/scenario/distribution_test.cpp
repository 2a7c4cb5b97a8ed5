#include "sim/scenario/distribution.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
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

  TEST_CASE("Distribution: kind_names lists the kinds in the order of Kind") {
    const auto& names = Distribution::kind_names();

    REQUIRE(names.size() == 5);
    CHECK(names[static_cast<int>(Distribution::Kind::constant)] == "constant");
    CHECK(names[static_cast<int>(Distribution::Kind::uniform)] == "uniform");
    CHECK(names[static_cast<int>(Distribution::Kind::normal)] == "normal");
    CHECK(names[static_cast<int>(Distribution::Kind::lognormal)] == "lognormal");
    CHECK(names[static_cast<int>(Distribution::Kind::choice)] == "choice");
  }
}
