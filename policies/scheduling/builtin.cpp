// The scheduling registry: one line per policy.
#include "policies/scheduling/scheduling.hpp"
#include "policies/scheduling/uniform.hpp"

namespace dtsim::policies {

const SchedulingRegistry& scheduling_registry() {
  static const SchedulingRegistry registry(
      "scheduling policy",
      {
          {"uniform", "K of N clients uniformly without replacement (FedProx select_clients)", {}, make_uniform},
      });
  return registry;
}

}  // namespace dtsim::policies
