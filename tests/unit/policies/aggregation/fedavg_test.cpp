#include "policies/aggregation/fedavg.hpp"

#include <doctest/doctest.h>

#include <vector>

#include "sim/scenario/params.hpp"

using namespace dtsim::policies;

TEST_SUITE("policies") {
  TEST_CASE("fedavg: weights clients by sample count, not equally") {
    // prepare: two clients whose weighted (1:3) and unweighted means differ.
    std::vector<float> a{1.0f, 10.0f}, b{5.0f, 2.0f};
    std::vector<ClientUpdate> updates{{ClientId{0}, a, 100, 10, 0, 8}, {ClientId{1}, b, 300, 30, 0, 8}};
    std::vector<float> global(2, 0.0f);
    // execute
    fedavg_combine(updates, global);
    // assert: 0.25·a + 0.75·b = (4, 4); the unweighted mean would be (3, 6).
    CHECK(global[0] == doctest::Approx(4.0));
    CHECK(global[1] == doctest::Approx(4.0));
  }

  TEST_CASE("fedavg: identical client models give that model back") {
    std::vector<float> y{0.5f, -2.0f, 3.25f};
    std::vector<ClientUpdate> updates{{ClientId{3}, y, 7}, {ClientId{9}, y, 1}, {ClientId{4}, y, 50}};
    std::vector<float> global(3, 0.0f);
    fedavg_combine(updates, global);
    for (std::size_t j = 0; j < y.size(); ++j) CHECK(global[j] == doctest::Approx(y[j]));
  }

  TEST_CASE("fedavg: a client with zero samples has no effect and scaling all counts changes nothing") {
    std::vector<float> a{1, 2}, b{3, 8}, junk{1000, -1000};
    std::vector<ClientUpdate> two{{ClientId{0}, a, 2}, {ClientId{1}, b, 6}};
    std::vector<ClientUpdate> with_zero{{ClientId{0}, a, 2}, {ClientId{2}, junk, 0}, {ClientId{1}, b, 6}};
    std::vector<ClientUpdate> scaled{{ClientId{0}, a, 20}, {ClientId{1}, b, 60}};
    std::vector<float> g1(2), g2(2), g3(2);
    fedavg_combine(two, g1);
    fedavg_combine(with_zero, g2);
    fedavg_combine(scaled, g3);
    CHECK(g1[0] == doctest::Approx(2.5));
    CHECK(g1[1] == doctest::Approx(6.5));
    CHECK(g2 == g1);
    CHECK(g3 == g1);
  }

  TEST_CASE("fedavg: every output coordinate lies in the clients' range (convex hull)") {
    std::vector<float> a{-1, 4, 0}, b{2, -3, 0.5f}, c{0.5f, 1, 7};
    std::vector<ClientUpdate> updates{{ClientId{0}, a, 3}, {ClientId{1}, b, 11}, {ClientId{2}, c, 5}};
    std::vector<float> g(3);
    fedavg_combine(updates, g);
    for (std::size_t j = 0; j < 3; ++j) {
      CHECK(g[j] >= std::min({a[j], b[j], c[j]}));
      CHECK(g[j] <= std::max({a[j], b[j], c[j]}));
    }
  }

  TEST_CASE("aggregation base: rejects updates whose size differs from the model") {
    auto* entry = aggregation_registry().find("fedavg");
    REQUIRE(entry != nullptr);
    std::vector<float> short_update{1.0f};
    std::vector<ClientUpdate> updates{{ClientId{0}, short_update, 1}};
    std::vector<float> global(2);
    auto ctx = std::make_shared<dtsim::ParamsContext>();
    dtsim::Params params(ctx, YAML::Node(), "policies.aggregation");
    auto policy = entry->make(params, dtsim::BuildContext{});
    CHECK_THROWS_AS(policy->aggregate(RoundContext{}, updates, global), PolicyError);
    CHECK_THROWS_AS(policy->aggregate(RoundContext{}, {}, global), PolicyError);
  }
}
