// Uniform random selection — K of the N clients without replacement, all subsets equally likely
// (FedProx `select_clients`, shared/reference/POLICIES.md §4.1).
#pragma once

#include <memory>
#include <vector>

#include "policies/scheduling/scheduling.hpp"

namespace dtsim::policies {

// K distinct clients drawn uniformly among the available ones (all when `available` is empty), in
// increasing id order. Fewer than K only when fewer are available. Uses Rng(seed, "uniform", round).
std::vector<ClientId> uniform_sample(const SelectionContext& ctx);

std::unique_ptr<SchedulingPolicy> make_uniform(Params& params);

}  // namespace dtsim::policies
