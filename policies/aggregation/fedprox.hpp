// FedProx — Li, Sahu, Zaheer, Sanjabi, Talwalkar, Smith, "Federated Optimization in Heterogeneous
// Networks", MLSys 2020. Rule: shared/reference/POLICIES.md §1.2.
//
// Local objective h_k(w; x_t) = F_k(w) + (μ/2)·‖w − x_t‖², so each local step is
// w ← w − η·(∇f(w; batch) + μ·(w − x_t)) (the repo's PerturbedGradientDescent); the server averages the
// updates weighted by n_k, as FedAvg (the paper's experiments, §5.1). With μ = 0 the objective adds
// nothing, so local training takes plain SGD's path and every bit equals FedAvg's.
#pragma once

#include <memory>

#include "policies/aggregation/aggregation.hpp"

namespace dtsim::policies {

std::unique_ptr<AggregationPolicy> make_fedprox(Params& params, const BuildContext& build);

}  // namespace dtsim::policies
