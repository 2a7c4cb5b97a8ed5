// Every registered scheduling policy × the properties every selector must have.
#include <doctest/doctest.h>

#include <set>
#include <vector>

#include "policies/scheduling/scheduling.hpp"
#include "sim/scenario/params.hpp"

using namespace dtsim::policies;

namespace {
dtsim::BuildContext build_context(std::int64_t population, std::int64_t parameters) {
  dtsim::BuildContext b;
  b.population = population;
  b.parameter_count = parameters;
  return b;
}
// Every third client (0, 3, 6, ...) is offline.
class EveryThirdOffline final : public AvailabilityOracle {
 public:
  bool available(ClientId c, double) const override { return c.value % 3 != 0; }
};

std::unique_ptr<SchedulingPolicy> build(const SchedulingRegistry::Entry& entry) {
  auto ctx = std::make_shared<dtsim::ParamsContext>();
  dtsim::Params params(ctx, YAML::Node(), "policies.scheduling");
  auto policy = entry.make(params, build_context(40, 10));
  params.finish();
  REQUIRE_MESSAGE(ctx->errors.empty(), entry.name << " must build from its defaults");
  return policy;
}

SchedulingContext context(std::int64_t round, const AvailabilityOracle* availability) {
  SchedulingContext sc;
  sc.round.round = round;
  sc.population = 40;
  sc.wanted = 10;
  sc.keep_first = 8;
  sc.deadline_s = 30.0;
  sc.availability = availability;
  sc.seed = 5;
  return sc;
}
}  // namespace

TEST_SUITE("policies") {
  TEST_CASE("scheduling contract: every policy plans unique available clients, deterministically") {
    const EveryThirdOffline offline;
    for (const auto& entry : scheduling_registry().entries()) {
      CAPTURE(entry.name);
      auto p1 = build(entry), p2 = build(entry);
      for (std::int64_t round = 1; round <= 20; ++round) {
        CAPTURE(round);
        const auto a = p1->plan(context(round, &offline));
        const auto b = p2->plan(context(round, &offline));
        CHECK(a.clients == b.clients);
        std::set<std::int32_t> ids;
        for (auto c : a.clients) {
          ids.insert(c.value);
          CHECK(c.value % 3 != 0);
        }
        CHECK(ids.size() == a.clients.size());
        CHECK(a.clients.size() == 10);
        CHECK(a.keep_first >= 1);
        CHECK(a.keep_first <= static_cast<std::int64_t>(a.clients.size()));
      }
    }
  }

  TEST_CASE("scheduling contract: every policy honours the round's keep_first and deadline by default") {
    for (const auto& entry : scheduling_registry().entries()) {
      CAPTURE(entry.name);
      const auto plan = build(entry)->plan(context(1, nullptr));
      CHECK(plan.keep_first == 8);
      REQUIRE(plan.deadline_s.has_value());
      CHECK(*plan.deadline_s == 30.0);
    }
  }
}
