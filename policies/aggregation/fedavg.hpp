// FedAvg — McMahan, Moore, Ramage, Hampson, Agüera y Arcas, "Communication-Efficient Learning of Deep
// Networks from Decentralized Data", AISTATS 2017. Rule: shared/reference/POLICIES.md §1.1.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "policies/aggregation/aggregation.hpp"

namespace dtsim::policies {

// p_k = n_k / Σ_j n_j over the updates, in their order; equal weights when every n_k is 0 (nothing else is
// defined).
std::vector<double> sample_weights(std::span<const UpdateInfo> infos);

// global = Σ_k w_k·y_k, streamed: each chunk is added to one double accumulator in backend memory (8·d
// bytes, allocated for the call), in update order, and the sum is rounded to float once — so the result
// has the same bits for any chunking. Returns the backend's cost: 2·n·d flops.
kernels::Cost stream_weighted_sum(kernels::Backend& backend, UpdateSet& updates, std::span<const double> weights,
                                  std::span<float> global);

// The memory of stream_weighted_sum's accumulator for d parameters, as a part named "aggregation".
MemoryPart accumulator_memory(std::int64_t d, const std::string& rule);

std::unique_ptr<AggregationPolicy> make_fedavg(Params& params, const BuildContext& build);

}  // namespace dtsim::policies
