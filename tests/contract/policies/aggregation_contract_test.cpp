// Every registered aggregation rule × the properties every rule must have (DESIGN "AggregationPolicy";
// shared/reference/POLICIES.md §1.13): it builds from its defaults and refuses an unknown parameter;
// sends at least a float32 model each way; its server_flops is what its backend operations cost; its
// result does not depend on the order updates are given in, nor on how they are chunked (the same bits),
// and identical updates give that model back.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "sim/common/rng.hpp"
#include "tests/unit/policies/aggregation/aggregation_test_support.hpp"

using namespace dtsim;
using namespace dtsim::policies;
using namespace dtsim::policies::testing;

namespace {

constexpr std::int64_t kPopulation = 20, kD = 1003;

struct Round {
  std::vector<UpdateInfo> infos;
  std::vector<std::vector<float>> models;
};

Round random_round(std::size_t k, std::uint64_t seed) {
  Rng rng(seed, "aggregation-contract");
  Round r;
  std::vector<std::int32_t> ids(kPopulation);
  for (std::int32_t i = 0; i < kPopulation; ++i) ids[static_cast<std::size_t>(i)] = i;
  for (std::size_t i = 0; i < k; ++i) {
    std::swap(ids[i], ids[i + rng.below(static_cast<std::uint64_t>(kPopulation) - i)]);
    r.infos.push_back({ClientId{ids[i]}, static_cast<double>(1 + rng.below(100)), static_cast<std::int64_t>(1 + rng.below(20))});
    std::vector<float> m(kD);
    for (auto& v : m) v = static_cast<float>(rng.uniform(-1, 1));
    r.models.push_back(std::move(m));
  }
  return r;
}

std::vector<float> start_model() {
  std::vector<float> x(kD);
  Rng rng(99, "start");
  for (auto& v : x) v = static_cast<float>(rng.uniform(-0.5, 0.5));
  return x;
}

// Two rounds of a fresh rule (the second sees any state the first left), `chunk` updates at a time.
std::vector<float> two_rounds(const std::string& name, const Round& a, const Round& b, std::size_t chunk) {
  auto be = kernels::make_cpu_backend(2);
  auto rule = make_rule(name, build_context(kPopulation, kD));
  std::vector<float> x = start_model();
  aggregate_once(*rule, *be, a.infos, a.models, x, chunk, 1);
  aggregate_once(*rule, *be, b.infos, b.models, x, chunk, 2);
  return x;
}

}  // namespace

TEST_SUITE("policies") {
  TEST_CASE("aggregation contract: every rule builds from default parameters and rejects an unknown one") {
    for (const auto& entry : aggregation_registry().entries()) {
      CAPTURE(entry.name);
      make_rule(entry.name, build_context(3, 3));
      auto ctx = std::make_shared<ParamsContext>();
      YAML::Node node;
      node["surely_not_a_parameter"] = 1;
      Params params(ctx, node, "policies.aggregation");
      entry.make(params, build_context(3, 3));
      params.finish();
      CHECK_FALSE(ctx->errors.empty());
    }
  }

  TEST_CASE("aggregation contract: every rule sends >= 4·d bytes each way, supports sync rounds, counts its memory") {
    for (const auto& entry : aggregation_registry().entries()) {
      CAPTURE(entry.name);
      auto rule = make_rule(entry.name, build_context(kPopulation, kD));
      for (const std::int64_t d : {std::int64_t{1}, kD, std::int64_t{25'000'000}}) {
        const WireBytes w = rule->wire_bytes(d);
        CHECK(w.down_bytes >= 4.0 * static_cast<double>(d));
        CHECK(w.up_bytes >= 4.0 * static_cast<double>(d));
      }
      CHECK(rule->supports(TrainingMode::sync));
      for (const auto& part : rule->memory()) CHECK(part.bytes >= 8.0 * kD);  // at least one double accumulator
    }
  }

  TEST_CASE("aggregation contract: server_flops(n, d) is >= 0 and is what aggregate's backend operations cost") {
    for (const auto& entry : aggregation_registry().entries()) {
      CAPTURE(entry.name);
      for (const std::size_t k : {std::size_t{1}, std::size_t{7}}) {
        auto be = kernels::make_cpu_backend(1);
        auto rule = make_rule(entry.name, build_context(kPopulation, kD));
        const Round r = random_round(k, 3);
        std::vector<float> x = start_model();
        const kernels::Cost cost = aggregate_once(*rule, *be, r.infos, r.models, x, 3);
        CHECK(rule->server_flops(static_cast<std::int64_t>(k), kD) >= 0);
        CHECK(cost.flops == rule->server_flops(static_cast<std::int64_t>(k), kD));
      }
    }
  }

  TEST_CASE("aggregation contract: the same bits whatever the order of the updates and the chunk size (1, 3, K)") {
    for (const auto& entry : aggregation_registry().entries()) {
      CAPTURE(entry.name);
      const Round a = random_round(9, 1), b = random_round(9, 2);
      const auto reference = two_rounds(entry.name, a, b, 9);
      for (const std::size_t chunk : {std::size_t{1}, std::size_t{3}, std::size_t{9}}) {
        CAPTURE(chunk);
        CHECK(two_rounds(entry.name, a, b, chunk) == reference);
        Round reversed_a = a, reversed_b = b;
        std::reverse(reversed_a.infos.begin(), reversed_a.infos.end());
        std::reverse(reversed_a.models.begin(), reversed_a.models.end());
        std::reverse(reversed_b.infos.begin(), reversed_b.infos.end());
        std::reverse(reversed_b.models.begin(), reversed_b.models.end());
        CHECK(two_rounds(entry.name, reversed_a, reversed_b, chunk) == reference);
      }
    }
  }

  TEST_CASE("aggregation contract: identical updates give that model back") {
    for (const auto& entry : aggregation_registry().entries()) {
      CAPTURE(entry.name);
      for (const std::size_t k : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{8}}) {
        CAPTURE(k);
        auto be = kernels::make_cpu_backend(1);
        auto rule = make_rule(entry.name, build_context(kPopulation, kD));
        Round r = random_round(k, 4);
        for (auto& m : r.models) m = r.models[0];
        std::vector<float> x = start_model();
        aggregate_once(*rule, *be, r.infos, r.models, x, 2);
        CHECK(x == r.models[0]);
      }
    }
  }
}
