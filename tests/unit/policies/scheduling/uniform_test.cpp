#include "policies/scheduling/uniform.hpp"

#include <doctest/doctest.h>

#include <map>
#include <set>
#include <vector>

using namespace dtsim::policies;

namespace {
SchedulingContext context(std::int64_t round, std::int64_t n, std::int64_t k, std::uint64_t seed) {
  SchedulingContext ctx;
  ctx.round.round = round;
  ctx.population = n;
  ctx.wanted = k;
  ctx.keep_first = k;
  ctx.seed = seed;
  return ctx;
}

class Listed final : public AvailabilityOracle {
 public:
  explicit Listed(std::set<std::int32_t> on) : on_(std::move(on)) {}
  bool available(ClientId c, double) const override { return on_.count(c.value) > 0; }

 private:
  std::set<std::int32_t> on_;
};
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

  TEST_CASE("uniform: only available clients are picked, each available one equally often") {
    const Listed on({2, 5, 7, 11, 13, 29});
    std::map<std::int32_t, int> hits;
    const int rounds = 12000;
    for (int r = 1; r <= rounds; ++r) {
      auto ctx = context(r, 30, 3, 3);
      ctx.availability = &on;
      const auto chosen = uniform_sample(ctx);
      REQUIRE(chosen.size() == 3);
      for (auto c : chosen) ++hits[c.value];
    }
    REQUIRE(hits.size() == 6);  // nobody else was ever picked
    for (const auto& hit : hits) {
      const auto id = hit.first;  // CAPTURE captures it
      CAPTURE(id);
      CHECK(static_cast<double>(hit.second) / rounds == doctest::Approx(0.5).epsilon(0.05));  // 3 of 6
    }
  }

  TEST_CASE("uniform: fewer available than wanted gives every available client") {
    const Listed on({4, 9});
    auto ctx = context(1, 1000, 10, 3);
    ctx.availability = &on;
    const auto chosen = uniform_sample(ctx);
    CHECK(chosen == std::vector<ClientId>{ClientId{4}, ClientId{9}});
  }

  TEST_CASE("scheduling base: a plan that breaks its contract is refused") {
    class Broken final : public SchedulingPolicy {
     public:
      SchedulePlan next;
      SchedulePlan do_plan(const SchedulingContext&) override { return next; }
    };
    Broken p;
    const auto ctx = context(1, 10, 3, 1);
    p.next = {{ClientId{1}, ClientId{1}}, std::nullopt, 1};
    CHECK_THROWS_AS(p.plan(ctx), PolicyError);  // twice
    p.next = {{ClientId{1}, ClientId{10}}, std::nullopt, 1};
    CHECK_THROWS_AS(p.plan(ctx), PolicyError);  // outside
    p.next = {{ClientId{1}, ClientId{2}}, std::nullopt, 3};
    CHECK_THROWS_AS(p.plan(ctx), PolicyError);  // keep_first above the clients
    p.next = {{ClientId{1}}, -1.0, 1};
    CHECK_THROWS_AS(p.plan(ctx), PolicyError);  // a negative deadline
    p.next = {{ClientId{1}, ClientId{2}, ClientId{3}, ClientId{4}}, std::nullopt, 1};
    CHECK_THROWS_AS(p.plan(ctx), PolicyError);  // more than wanted
    p.next = {{ClientId{3}, ClientId{0}}, 5.0, 2};
    CHECK(p.plan(ctx).clients.size() == 2);
  }
}
