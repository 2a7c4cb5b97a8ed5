// The partition seam: how a dataset's training samples are split across clients (iid, dirichlet,
// shards for pooled datasets; natural for datasets that come split by user). Made by the partition
// registry (models/registry.hpp) from its scenario spec.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "models/dataset.hpp"
#include "models/partition.hpp"
#include "sim/common/rng.hpp"
#include "sim/scenario/scenario.hpp"

namespace dtsim::models {

// Every client's training samples: their count, and their indices into the training set when the
// dataset's samples (or at least its labels) were loaded.
struct ClientSamples {
  std::vector<std::int64_t> sizes;  // one per client
  Partition indices;                // one per client, or empty when only sizes are known
};

class Partitioner {
 public:
  virtual ~Partitioner() = default;
  // Splits data's training set across `clients`, drawing from `rng`. Throws DataError (with the key to
  // blame) when the data cannot be split so (more clients than samples).
  virtual ClientSamples split(const LoadedData& data, std::int64_t clients, Rng& rng) const = 0;
};

std::unique_ptr<Partitioner> make_iid_partitioner(const PartitionSpec& spec);
std::unique_ptr<Partitioner> make_dirichlet_partitioner(const PartitionSpec& spec);
std::unique_ptr<Partitioner> make_shards_partitioner(const PartitionSpec& spec);
std::unique_ptr<Partitioner> make_natural_partitioner(const PartitionSpec& spec);

}  // namespace dtsim::models
