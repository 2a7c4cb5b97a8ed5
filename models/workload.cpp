#include "models/workload.hpp"

#include <utility>

#include "models/local_trainer.hpp"

namespace dtsim::models {

Workload Workload::build(const Parts& parts, const DataNeeds& needs) {
  LoadedData data = parts.dataset.load(needs);
  Rng rng(parts.seed, "partition");
  ClientSamples samples = parts.partitioner.split(data, parts.clients, rng);
  return Workload(std::move(data), std::move(samples), parts.model, parts.local);
}

Workload::Workload(LoadedData data, ClientSamples samples, const Model& model, LocalTrainingConfig local)
    : data_(std::move(data)),
      sizes_(std::move(samples.sizes)),
      indices_(std::move(samples.indices)),
      model_(&model),
      local_(local),
      flops_per_sample_(model.train_flops_per_sample()) {}

WorkItem Workload::work(ClientId client, std::int64_t /*round: per-round work (epochs_dist) comes later*/,
                        const LocalObjective& objective) const {
  WorkItem w;
  w.samples = samples_of(client);
  w.steps = local_steps(w.samples, local_);
  w.flops = static_cast<double>(local_.epochs) * static_cast<double>(w.samples) * flops_per_sample_ +
            static_cast<double>(w.steps) * update_flops_per_step(*model_, local_, objective);
  return w;
}

std::span<const std::int32_t> Workload::indices_of(ClientId client) const {
  if (indices_.empty()) return {};
  return indices_.at(client.index());
}

}  // namespace dtsim::models
