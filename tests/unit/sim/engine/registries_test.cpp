// The schema table (sim/scenario) says which component names are built; the registries (models/,
// sim/engine/) build them. They must agree, name for name, or a scenario the loader accepts would find no
// component (or a built component could never be chosen).
#include <doctest/doctest.h>

#include <algorithm>

#include "models/registry.hpp"
#include "sim/engine/paradigms/paradigm.hpp"
#include "sim/engine/platform/platform.hpp"
#include "sim/scenario/schema.hpp"

using namespace dtsim;

namespace {
std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}
std::vector<std::string> built_values(const std::string& key) {
  const KeySpec* spec = find_key(key);
  REQUIRE_MESSAGE(spec != nullptr, key);
  std::vector<std::string> out;
  for (const auto& v : spec->values)
    if (v.status == KeyStatus::built) out.push_back(v.name);
  return sorted(out);
}
}  // namespace

TEST_SUITE("engine") {
  TEST_CASE("registries: every built name of the schema has a component, and every component is built there") {
    CHECK(built_values("workload.dataset.name") == sorted(models::dataset_registry().names()));
    CHECK(built_values("workload.partition.name") == sorted(models::partition_registry().names()));
    CHECK(built_values("workload.model.name") == sorted(models::model_registry().names()));
    CHECK(built_values("platform.topology") == sorted(engine::platform_registry().names()));
    std::vector<std::string> paradigms;
    for (const auto& p : built_values("training.paradigm"))
      for (const auto& m : built_values("training.mode")) paradigms.push_back(p + "_" + m);
    CHECK(sorted(paradigms) == sorted(engine::paradigm_registry().names()));
  }

  TEST_CASE("registries: every paradigm reads only built training keys of the schema") {
    for (const auto& entry : engine::paradigm_registry().entries()) {
      CAPTURE(entry.name);
      for (const auto& key : entry.make()->training_keys()) {
        CAPTURE(key);
        const KeySpec* spec = find_key("training." + key);
        REQUIRE(spec != nullptr);
        CHECK(spec->status == KeyStatus::built);
      }
    }
  }
}
