// Every registered scheduling policy × the properties every selector must have.
#include <doctest/doctest.h>

#include <set>
#include <vector>

#include "policies/scheduling/scheduling.hpp"

using namespace dtsim::policies;

TEST_SUITE("policies") {
  TEST_CASE("scheduling contract: every policy picks unique available clients, deterministically") {
    for (const auto& entry : scheduling_registry().entries()) {
      CAPTURE(entry.name);
      auto ctx = std::make_shared<dtsim::ParamsContext>();
      dtsim::Params params(ctx, YAML::Node(), "policies.scheduling");
      auto p1 = entry.make(params);
      auto p2 = entry.make(params);
      REQUIRE(ctx->errors.empty());
      std::vector<std::uint8_t> available(40, 1);
      for (int i = 0; i < 40; i += 3) available[static_cast<std::size_t>(i)] = 0;
      for (std::int64_t round = 1; round <= 20; ++round) {
        SelectionContext sc;
        sc.round.round = round;
        sc.population = 40;
        sc.wanted = 8;
        sc.available = available;
        sc.seed = 5;
        auto a = p1->select(sc);
        auto b = p2->select(sc);
        CHECK(a == b);
        std::set<std::int32_t> ids;
        for (auto c : a) {
          ids.insert(c.value);
          CHECK(available[static_cast<std::size_t>(c.value)] == 1);
        }
        CHECK(ids.size() == a.size());
        CHECK(a.size() == 8);
      }
    }
  }
}
