// Uniform random selection — K of the N clients without replacement, all subsets equally likely
// (FedProx `select_clients`, shared/reference/POLICIES.md §4.1).
#pragma once

#include <memory>
#include <vector>

#include "policies/scheduling/scheduling.hpp"

namespace dtsim::policies {

// ctx.wanted distinct clients drawn uniformly among the available ones, in increasing id order, from
// Rng(seed, "uniform", round). Without an availability oracle: a partial Fisher–Yates over a sparse swap
// map, O(wanted). With one: the same draw without replacement, skipping unavailable clients (rejection
// sampling, expected O(wanted / on-fraction), at most N draws); fewer than wanted only when fewer are
// available.
std::vector<ClientId> uniform_sample(const SchedulingContext& ctx);

std::unique_ptr<SchedulingPolicy> make_uniform(Params& params, const BuildContext& build);

}  // namespace dtsim::policies
