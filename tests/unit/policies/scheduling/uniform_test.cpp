#include "policies/scheduling/uniform.hpp"

#include <doctest/doctest.h>

#include <set>
#include <vector>

using namespace dtsim::policies;

namespace {
SelectionContext context(std::int64_t round, std::int64_t n, std::int64_t k, std::uint64_t seed) {
  SelectionContext ctx;
  ctx.round.round = round;
  ctx.population = n;
  ctx.wanted = k;
  ctx.seed = seed;
  return ctx;
}
}  // namespace

TEST_SUITE("policies") {
  TEST_CASE("uniform: picks K distinct clients inside the population") {
    for (std::uint64_t seed : {1u, 2u, 99u}) {
      CAPTURE(seed);
      auto chosen = uniform_sample(context(3, 50, 10, seed));
      std::set<std::int32_t> ids;
      for (auto c : chosen) ids.insert(c.value);
      CHECK(chosen.size() == 10);
      CHECK(ids.size() == 10);
      CHECK(*ids.begin() >= 0);
      CHECK(*ids.rbegin() < 50);
    }
  }

  TEST_CASE("uniform: same seed and round give the same selection, another round another one") {
    auto a = uniform_sample(context(5, 1000, 10, 7));
    auto b = uniform_sample(context(5, 1000, 10, 7));
    auto c = uniform_sample(context(6, 1000, 10, 7));
    CHECK(a == b);
    CHECK(a != c);
  }

  TEST_CASE("uniform: inclusion frequency tends to K/N") {
    const std::int64_t n = 20, k = 5, rounds = 20000;
    std::vector<int> hits(n, 0);
    for (std::int64_t r = 1; r <= rounds; ++r)
      for (auto c : uniform_sample(context(r, n, k, 11))) ++hits[static_cast<std::size_t>(c.value)];
    for (std::int64_t i = 0; i < n; ++i) {
      CAPTURE(i);
      CHECK(static_cast<double>(hits[static_cast<std::size_t>(i)]) / rounds == doctest::Approx(0.25).epsilon(0.05));
    }
  }

  TEST_CASE("uniform: only available clients are picked") {
    std::vector<std::uint8_t> available(30, 0);
    for (int i : {2, 5, 7, 11, 13, 29}) available[static_cast<std::size_t>(i)] = 1;
    auto ctx = context(1, 30, 4, 3);
    ctx.available = available;
    for (auto c : uniform_sample(ctx)) CHECK(available[static_cast<std::size_t>(c.value)] == 1);
  }
}
