// FedAvg — McMahan, Moore, Ramage, Hampson, Agüera y Arcas, "Communication-Efficient Learning of Deep
// Networks from Decentralized Data", AISTATS 2017. Rule: shared/reference/POLICIES.md §1.1.
#pragma once

#include <memory>
#include <span>

#include "policies/aggregation/aggregation.hpp"

namespace dtsim::policies {

// x_{t+1} = Σ_k p_k y_k with p_k = n_k / Σ_j n_j, accumulated in double in the order of `updates`.
// When every n_k is 0 the weights are equal (nothing else is defined). `global` receives the result.
void fedavg_combine(std::span<const ClientUpdate> updates, std::span<float> global);

std::unique_ptr<AggregationPolicy> make_fedavg(Params& params, const BuildContext& build);

}  // namespace dtsim::policies
