// The aggregation registry: one line per policy.
#include "policies/aggregation/aggregation.hpp"
#include "policies/aggregation/fedavg.hpp"
#include "policies/aggregation/fedprox.hpp"
#include "policies/aggregation/scaffold.hpp"

namespace dtsim::policies {

const AggregationRegistry& aggregation_registry() {
  static const AggregationRegistry registry(
      "aggregation policy",
      {
          {"fedavg", "sample-weighted model averaging (McMahan et al., AISTATS 2017)", {}, make_fedavg},
          {"fedprox",
           "FedAvg with a proximal local objective (Li et al., MLSys 2020)",
           {{"mu", "0.01", "μ of the proximal term (μ/2)·‖w − x_t‖², >= 0; 0 is FedAvg bit for bit"}},
           make_fedprox},
          {"scaffold",
           "control variates against client drift, option II (Karimireddy et al., ICML 2020)",
           {{"server_lr", "1", "η_g, the server's step on the mean update, > 0"}},
           make_scaffold},
      });
  return registry;
}

}  // namespace dtsim::policies
