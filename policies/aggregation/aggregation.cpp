#include "policies/aggregation/aggregation.hpp"

#include <cmath>
#include <string>

namespace dtsim::policies {

void AggregationPolicy::aggregate(const RoundContext& ctx, std::span<const ClientUpdate> updates,
                                  std::span<float> global) {
  if (updates.empty()) throw PolicyError("aggregate: no client updates");
  for (const auto& u : updates) {
    if (u.params.size() != global.size())
      throw PolicyError("aggregate: client " + std::to_string(u.client.value) + " sent " +
                        std::to_string(u.params.size()) + " parameters, the model has " +
                        std::to_string(global.size()));
    if (!std::isfinite(u.samples) || u.samples < 0)
      throw PolicyError("aggregate: client " + std::to_string(u.client.value) + " has an invalid sample count");
  }
  do_aggregate(ctx, updates, global);
  // A non-finite global model is the caller's business (divergence), not a contract breach: the
  // engine checks the training loss and stops the run cleanly.
}

}  // namespace dtsim::policies
