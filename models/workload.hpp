// The Workload (DESIGN "Workload"): dataset → partition → per-client work. It owns the loaded data and
// the clients' samples, and answers work(client, round) — the samples, SGD steps and modelled flops of
// one client's local training in one round — computed on demand from the client's sample count, so a
// population of 10^6 clients costs 8 bytes each.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "models/dataset_source.hpp"
#include "models/model.hpp"
#include "models/partitioner.hpp"
#include "sim/common/ids.hpp"
#include "sim/scenario/distribution.hpp"

namespace dtsim::models {

struct WorkItem {
  std::int64_t samples = 0;  // training samples the client holds
  std::int64_t epochs = 0;   // local epochs this round (workload.local.epochs, or drawn from epochs_dist)
  std::int64_t steps = 0;    // local SGD steps: epochs · ceil(samples / batch_size)
  double flops = 0;          // modelled cost: epochs · samples · per-sample flops + steps · per-step flops
  std::int64_t batch_size = 1;
  double flops_per_sample = 0, flops_per_step = 0;

  // The modelled flops of the first m local steps (0 <= m <= steps), in the order the trainer runs them:
  // each epoch's ceil(samples / batch) minibatches, its last one holding the remainder. flops_of_steps(steps)
  // is `flops`.
  double flops_of_steps(std::int64_t m) const;
};

class Workload {
 public:
  struct Parts {
    const DatasetSource& dataset;
    const Partitioner& partitioner;
    const Model& model;  // must outlive the Workload
    LocalTrainingConfig local;
    std::uint64_t seed = 1;    // the partition draws from Rng(seed, "partition"), epochs_dist from
                               // Rng(seed, "workload.epochs", client, round)
    std::int64_t clients = 0;  // >= 1
    std::optional<Distribution> epochs_dist{};  // local epochs per (client, round); replaces local.epochs
  };
  // Loads the data to `needs` and splits it across the clients. Throws DataError (with the key to blame).
  static Workload build(const Parts& parts, const DataNeeds& needs);

  std::int64_t clients() const { return static_cast<std::int64_t>(sizes_.size()); }
  // Under `objective` (the aggregation rule's local terms), whose shape adds to the per-step flops.
  WorkItem work(ClientId client, std::int64_t round, const LocalObjective& objective = {}) const;
  std::int64_t samples_of(ClientId client) const { return sizes_.at(client.index()); }
  // The client's training-sample indices; empty when the samples were not loaded (timing-only synthetic).
  std::span<const std::int32_t> indices_of(ClientId client) const;
  const LoadedData& data() const { return data_; }
  const Model& model() const { return *model_; }
  const LocalTrainingConfig& local() const { return local_; }

 private:
  Workload(LoadedData data, ClientSamples samples, const Model& model, LocalTrainingConfig local, std::uint64_t seed,
           std::optional<Distribution> epochs_dist);
  std::uint64_t seed_;
  std::optional<Distribution> epochs_dist_;
  LoadedData data_;
  std::vector<std::int64_t> sizes_;
  Partition indices_;
  const Model* model_;
  LocalTrainingConfig local_;
  double flops_per_sample_ = 0;
};

}  // namespace dtsim::models
