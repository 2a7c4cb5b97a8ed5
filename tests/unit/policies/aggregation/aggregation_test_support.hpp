// Helpers for the aggregation tests: rules built from their registry entry, updates on the CPU backend
// (whose memory is host memory), and a metric sink that keeps what it is told.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kernels/backend.hpp"
#include "policies/aggregation/aggregation.hpp"
#include "sim/scenario/params.hpp"

namespace dtsim::policies::testing {

inline BuildContext build_context(std::int64_t population, std::int64_t d, double lr = 0.1) {
  BuildContext b;
  b.population = population;
  b.parameter_count = d;
  b.optimizer.lr = lr;
  b.clients_per_round = population;
  b.rounds = 10;
  return b;
}

// The rule `name` with the parameters of `yaml` (a flow mapping, e.g. "{mu: 0.1}").
inline std::unique_ptr<AggregationPolicy> make_rule(const std::string& name, const BuildContext& build,
                                                    const std::string& yaml = "{}") {
  auto ctx = std::make_shared<ParamsContext>();
  Params params(ctx, YAML::Load(yaml), "policies.aggregation");
  auto rule = aggregation_registry().at(name).make(params, build);
  params.finish();
  REQUIRE_MESSAGE(ctx->errors.empty(), name << " must build from " << yaml);
  return rule;
}

class KeptMetrics final : public MetricSink {
 public:
  void record(const std::string& metric, double value) override { values.emplace_back(metric, value); }
  std::vector<std::pair<std::string, double>> values;
};

// One round of `rule` on host-memory updates, handed out `chunk` at a time; returns the backend cost.
inline kernels::Cost aggregate_once(AggregationPolicy& rule, kernels::Backend& be, std::vector<UpdateInfo> infos,
                                    const std::vector<std::vector<float>>& models, std::vector<float>& global,
                                    std::size_t chunk = 1000, std::int64_t round = 1, MetricSink* sink = nullptr) {
  std::vector<const float*> views;
  for (const auto& m : models) views.push_back(m.data());
  ResidentUpdates updates(std::move(infos), std::move(views), chunk);
  KeptMetrics ignored;
  return rule.aggregate({RoundContext{round, round - 1, 0}, be, sink ? *sink : ignored}, updates, global);
}

}  // namespace dtsim::policies::testing
