#include "policies/aggregation/fedavg.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "tests/unit/policies/aggregation/aggregation_test_support.hpp"

using namespace dtsim::policies;
using namespace dtsim::policies::testing;

namespace {
std::vector<float> fedavg(std::vector<UpdateInfo> infos, const std::vector<std::vector<float>>& models,
                          std::size_t chunk = 1000) {
  auto be = dtsim::kernels::make_cpu_backend(1);
  const auto d = static_cast<std::int64_t>(models.at(0).size());
  auto rule = make_rule("fedavg", build_context(10, d));
  std::vector<float> global(models[0].size(), 0.0f);
  aggregate_once(*rule, *be, std::move(infos), models, global, chunk);
  return global;
}
}  // namespace

TEST_SUITE("policies") {
  TEST_CASE("fedavg: weights clients by sample count, not equally") {
    // Two clients whose weighted (1:3) and unweighted means differ: 0.25·a + 0.75·b = (4, 4); the
    // unweighted mean would be (3, 6).
    const auto g = fedavg({{ClientId{0}, 100, 10}, {ClientId{1}, 300, 30}}, {{1.0f, 10.0f}, {5.0f, 2.0f}});
    CHECK(g[0] == doctest::Approx(4.0));
    CHECK(g[1] == doctest::Approx(4.0));
  }

  TEST_CASE("fedavg: the weights are n_k / Σ n_j, and equal when every client has no sample") {
    const auto w = sample_weights(std::vector<UpdateInfo>{{ClientId{0}, 2, 1}, {ClientId{1}, 6, 1}, {ClientId{2}, 0, 0}});
    CHECK(w == std::vector<double>{0.25, 0.75, 0.0});
    const auto equal = sample_weights(std::vector<UpdateInfo>{{ClientId{0}, 0, 0}, {ClientId{1}, 0, 0}});
    CHECK(equal == std::vector<double>{0.5, 0.5});
  }

  TEST_CASE("fedavg: a client with zero samples has no effect, even with non-finite values; scaling all counts changes nothing") {
    const std::vector<float> a{1, 2}, b{3, 8}, junk{std::numeric_limits<float>::infinity(), -1000};
    const auto g1 = fedavg({{ClientId{0}, 2, 1}, {ClientId{1}, 6, 1}}, {a, b});
    const auto g2 = fedavg({{ClientId{0}, 2, 1}, {ClientId{1}, 6, 1}, {ClientId{2}, 0, 0}}, {a, b, junk});
    const auto g3 = fedavg({{ClientId{0}, 20, 1}, {ClientId{1}, 60, 1}}, {a, b});
    CHECK(g1[0] == doctest::Approx(2.5));
    CHECK(g1[1] == doctest::Approx(6.5));
    CHECK(g2 == g1);
    CHECK(g3 == g1);
  }

  TEST_CASE("fedavg: every output coordinate lies in the clients' range (convex hull)") {
    const std::vector<float> a{-1, 4, 0}, b{2, -3, 0.5f}, c{0.5f, 1, 7};
    const auto g = fedavg({{ClientId{0}, 3, 1}, {ClientId{1}, 11, 1}, {ClientId{2}, 5, 1}}, {a, b, c});
    for (std::size_t j = 0; j < 3; ++j) {
      CHECK(g[j] >= std::min({a[j], b[j], c[j]}));
      CHECK(g[j] <= std::max({a[j], b[j], c[j]}));
    }
  }

  TEST_CASE("fedavg: the result is Σ p_k·y_k summed in double in client order and rounded once") {
    // Float accumulation would lose the 1 beside 1e8; one rounding of the double sum keeps it.
    const auto g = fedavg({{ClientId{0}, 1, 1}, {ClientId{1}, 1, 1}, {ClientId{2}, 1, 1}},
                          {{3e8f, 1}, {3.0f, 1}, {-3e8f, 1}}, 1);
    CHECK(g[0] == 1.0f);
    CHECK(g[1] == static_cast<float>(1.0 / 3 + 1.0 / 3 + 1.0 / 3));
  }

  TEST_CASE("aggregation base: rejects no updates, updates out of client order, bad counts and an unread set") {
    auto be = dtsim::kernels::make_cpu_backend(1);
    auto rule = make_rule("fedavg", build_context(10, 2));
    std::vector<float> y{1, 2}, global(2);
    KeptMetrics sink;
    const AggregationContext ctx{RoundContext{}, *be, sink};
    ResidentUpdates none({}, {}, 1);
    CHECK_THROWS_AS(rule->aggregate(ctx, none, global), PolicyError);

    // A set that breaks the order the base class checks (ResidentUpdates would sort it).
    struct Raw final : UpdateSet {
      std::vector<UpdateInfo> list;
      std::vector<const float*> views;
      bool deliver = true;
      std::span<const UpdateInfo> infos() const override { return list; }
      void read(const ChunkFn& fn) override {
        if (deliver) fn(0, views);
      }
    };
    Raw unordered;
    unordered.list = {{ClientId{2}, 1, 1}, {ClientId{1}, 1, 1}};
    unordered.views = {y.data(), y.data()};
    CHECK_THROWS_WITH_AS(rule->aggregate(ctx, unordered, global), doctest::Contains("ascending client order"),
                         PolicyError);
    Raw negative;
    negative.list = {{ClientId{0}, -1, 1}};
    negative.views = {y.data()};
    CHECK_THROWS_WITH_AS(rule->aggregate(ctx, negative, global), doctest::Contains("sample count"), PolicyError);
    Raw null_view;
    null_view.list = {{ClientId{0}, 1, 1}};
    null_view.views = {nullptr};
    CHECK_THROWS_WITH_AS(rule->aggregate(ctx, null_view, global), doctest::Contains("no values"), PolicyError);
    Raw short_set;  // two infos, one model delivered
    short_set.list = {{ClientId{0}, 1, 1}, {ClientId{1}, 1, 1}};
    short_set.views = {y.data()};
    CHECK_THROWS_WITH_AS(rule->aggregate(ctx, short_set, global), doctest::Contains("read 1 of 2"), PolicyError);
  }
}
