// Every registered aggregation policy × the properties every rule must have (DESIGN "Policy families").
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "policies/aggregation/aggregation.hpp"
#include "sim/scenario/params.hpp"

using namespace dtsim::policies;

namespace {
dtsim::BuildContext build_context(std::int64_t population, std::int64_t parameters) {
  dtsim::BuildContext b;
  b.population = population;
  b.parameter_count = parameters;
  return b;
}
std::unique_ptr<AggregationPolicy> build(const AggregationRegistry::Entry& entry) {
  auto ctx = std::make_shared<dtsim::ParamsContext>();
  dtsim::Params params(ctx, YAML::Node(), "policies.aggregation");
  auto policy = entry.make(params, build_context(3, 3));
  params.finish();
  REQUIRE_MESSAGE(ctx->errors.empty(), entry.name << " must build from its defaults");
  return policy;
}
}  // namespace

TEST_SUITE("policies") {
  TEST_CASE("aggregation contract: every policy is invariant to client order and keeps identical models") {
    for (const auto& entry : aggregation_registry().entries()) {
      CAPTURE(entry.name);
      std::vector<float> a{1, -2, 3}, b{4, 0.5f, -1}, c{-3, 2, 2};
      std::vector<ClientUpdate> fwd{{ClientId{0}, a, 10, 5}, {ClientId{1}, b, 30, 15}, {ClientId{2}, c, 20, 10}};
      std::vector<ClientUpdate> rev{fwd[2], fwd[0], fwd[1]};
      std::vector<float> g1{0.1f, 0.2f, 0.3f}, g2 = g1;
      build(entry)->aggregate(RoundContext{}, fwd, g1);
      build(entry)->aggregate(RoundContext{}, rev, g2);
      for (std::size_t j = 0; j < g1.size(); ++j) CHECK(g1[j] == doctest::Approx(g2[j]).epsilon(1e-6));

      std::vector<ClientUpdate> same{{ClientId{0}, a, 10, 5}, {ClientId{1}, a, 30, 15}};
      std::vector<float> g3{0, 0, 0};
      build(entry)->aggregate(RoundContext{}, same, g3);
      for (std::size_t j = 0; j < a.size(); ++j) CHECK(g3[j] == doctest::Approx(a[j]));
    }
  }

  TEST_CASE("aggregation contract: every policy builds from default parameters and rejects an unknown one") {
    for (const auto& entry : aggregation_registry().entries()) {
      CAPTURE(entry.name);
      auto ctx = std::make_shared<dtsim::ParamsContext>();
      YAML::Node node;
      node["surely_not_a_parameter"] = 1;
      dtsim::Params params(ctx, node, "policies.aggregation");
      entry.make(params, build_context(3, 3));
      params.finish();
      CHECK_FALSE(ctx->errors.empty());
    }
  }
}
