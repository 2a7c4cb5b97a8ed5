// Partitioners: split a pooled training set across clients. Each returns, per client, the indices of its
// training samples; every sample is assigned to exactly one client. When samples >= clients no client is
// left empty (an empty draw takes one sample from the currently largest client, deterministically).
// All randomness comes from the given keyed stream.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "sim/common/rng.hpp"

namespace dtsim::models {

using Partition = std::vector<std::vector<std::int32_t>>;

// Uniformly shuffled, sizes differ by at most one.
Partition partition_iid(std::int64_t samples, std::int64_t clients, Rng& rng);

// Label skew: for each class, proportions over clients ~ Dirichlet(alpha); the class's (shuffled)
// samples are cut at those proportions. Smaller alpha gives more skew.
Partition partition_dirichlet(std::span<const std::int32_t> labels, std::int64_t classes, std::int64_t clients,
                              double alpha, Rng& rng);

// FedAvg paper (McMahan et al. 2017): sort by label, cut into clients × shards_per_client equal shards,
// give each client shards_per_client shards at random.
Partition partition_shards(std::span<const std::int32_t> labels, std::int64_t clients,
                           std::int64_t shards_per_client, Rng& rng);

}  // namespace dtsim::models
