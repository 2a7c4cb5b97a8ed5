// The aggregation registry: one line per policy.
#include "policies/aggregation/aggregation.hpp"
#include "policies/aggregation/fedavg.hpp"

namespace dtsim::policies {

const AggregationRegistry& aggregation_registry() {
  static const AggregationRegistry registry(
      "aggregation policy", {
                         {"fedavg", "sample-weighted model averaging (McMahan et al., AISTATS 2017)", {}, make_fedavg},
                     });
  return registry;
}

}  // namespace dtsim::policies
