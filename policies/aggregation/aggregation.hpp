// Aggregation family: what the server does with the clients' results, and what it asks of clients for
// their local training (LocalTrainingHooks).
//
// Contract of aggregate(): `global` holds x_t (d values) on entry and x_{t+1} on return; every update
// has d parameters, a finite non-negative sample count and finite values; at least one update.
// The base class checks these and that the result is finite, then calls the private hook.
#pragma once

#include <memory>
#include <span>

#include "policies/common.hpp"
#include "sim/common/checkpointable.hpp"

namespace dtsim::policies {

// Checkpointable: a rule with state across rounds (SCAFFOLD's control variates, server moments) saves it.
class AggregationPolicy : public Checkpointable {
 public:
  virtual ~AggregationPolicy() = default;

  void aggregate(const RoundContext& ctx, std::span<const ClientUpdate> updates, std::span<float> global);
  LocalTrainingHooks local_hooks() const { return do_local_hooks(); }

 private:
  virtual void do_aggregate(const RoundContext& ctx, std::span<const ClientUpdate> updates,
                            std::span<float> global) = 0;
  virtual LocalTrainingHooks do_local_hooks() const { return {}; }
};

using AggregationRegistry = Registry<std::unique_ptr<AggregationPolicy>(Params&, const BuildContext&)>;
const AggregationRegistry& aggregation_registry();

}  // namespace dtsim::policies
