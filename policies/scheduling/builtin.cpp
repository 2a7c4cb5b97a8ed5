// The scheduling registry: one line per policy.
#include "policies/scheduling/scheduling.hpp"
#include "policies/scheduling/uniform.hpp"

namespace dtsim::policies {

const Registry<SchedulingPolicy>& scheduling_registry() {
  static const Registry<SchedulingPolicy> registry(
      "scheduling",
      {
          {"uniform", "K of N clients uniformly without replacement (FedProx select_clients)", {}, make_uniform},
      });
  return registry;
}

}  // namespace dtsim::policies
