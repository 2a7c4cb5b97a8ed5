#include "models/workload.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "models/local_trainer.hpp"

namespace dtsim::models {

namespace {
constexpr double kMaxEpochs = 100'000;  // workload.local.epochs' range
}

Workload Workload::build(const Parts& parts, const DataNeeds& needs) {
  LoadedData data = parts.dataset.load(needs);
  Rng rng(parts.seed, "partition");
  ClientSamples samples = parts.partitioner.split(data, parts.clients, rng);
  return Workload(std::move(data), std::move(samples), parts.model, parts.local, parts.seed, parts.epochs_dist);
}

Workload::Workload(LoadedData data, ClientSamples samples, const Model& model, LocalTrainingConfig local,
                   std::uint64_t seed, std::optional<Distribution> epochs_dist)
    : seed_(seed),
      epochs_dist_(std::move(epochs_dist)),
      data_(std::move(data)),
      sizes_(std::move(samples.sizes)),
      indices_(std::move(samples.indices)),
      model_(&model),
      local_(local),
      flops_per_sample_(model.train_flops_per_sample()) {}

WorkItem Workload::work(ClientId client, std::int64_t round, const LocalObjective& objective) const {
  WorkItem w;
  w.samples = samples_of(client);
  LocalTrainingConfig config = local_;
  if (epochs_dist_) {
    Rng rng(seed_, "workload.epochs", client.value, round);
    config.epochs = static_cast<std::int64_t>(std::floor(epochs_dist_->draw_within(rng, 1, kMaxEpochs)));
  }
  w.epochs = config.epochs;
  w.steps = local_steps(w.samples, config);
  w.batch_size = config.batch_size;
  w.flops_per_sample = flops_per_sample_;
  w.flops_per_step = update_flops_per_step(*model_, config, objective);
  w.flops = w.flops_of_steps(w.steps);
  return w;
}

double WorkItem::flops_of_steps(std::int64_t m) const {
  if (m <= 0 || samples <= 0) return 0;
  const std::int64_t per_epoch = (samples + batch_size - 1) / batch_size;
  const std::int64_t whole_epochs = m / per_epoch, rest = m % per_epoch;
  const double seen = static_cast<double>(whole_epochs) * static_cast<double>(samples) +
                      static_cast<double>(std::min(rest * batch_size, samples));
  return seen * flops_per_sample + static_cast<double>(m) * flops_per_step;
}

std::span<const std::int32_t> Workload::indices_of(ClientId client) const {
  if (indices_.empty()) return {};
  return indices_.at(client.index());
}

}  // namespace dtsim::models
