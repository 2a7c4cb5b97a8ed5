#include "sim/engine/components.hpp"

#include <algorithm>

#include "sim/engine/dynamics/dynamics.hpp"
#include "sim/engine/learning/real_learner.hpp"

namespace dtsim::engine {

bool has_error_under(const ParamsContext& context, const std::string& key_path) {
  for (const auto& d : context.errors.items()) {
    if (d.severity != Severity::error) continue;
    if (d.key_path == key_path || (d.key_path.starts_with(key_path) && d.key_path.size() > key_path.size() &&
                                   (d.key_path[key_path.size()] == '.' || d.key_path[key_path.size()] == '[')))
      return true;
  }
  return false;
}

models::LocalTrainingConfig local_training(const Scenario& s) {
  const auto& l = s.workload.local;
  return {l.epochs, l.batch_size, l.lr, l.momentum, l.weight_decay};
}

Components build_components(Scenario& s) {
  Components c;
  const ParamsContext& ctx = *s.context;
  const auto& w = s.workload;
  if (!has_error_under(ctx, "workload.dataset") && !has_error_under(ctx, "platform.clients.count"))
    c.dataset = models::dataset_registry().at(w.dataset.name).make(w.dataset, {s.seed, s.platform.clients.count});
  if (!has_error_under(ctx, "workload.partition"))
    c.partitioner = models::partition_registry().at(w.partition.name).make(w.partition);
  if (c.dataset && !has_error_under(ctx, "workload.model")) {
    try {
      c.model = models::model_registry().at(w.model.name).make(
          w.model, {c.dataset->features(), c.dataset->classes(), c.dataset->image()});
    } catch (const std::invalid_argument& e) {  // a shape the data cannot feed (a CNN on feature vectors)
      report_at(*s.context, Severity::error, "workload.model.name", e.what(), {});
    }
  }
  if (!has_error_under(ctx, "platform.topology")) c.platform = platform_registry().at(s.platform.topology).make();
  if (c.platform && !has_error_under(ctx, "platform")) c.platform->check(s.platform, *s.context);
  if (!has_error_under(ctx, "training.paradigm") && !has_error_under(ctx, "training.mode"))
    c.paradigm = paradigm_registry().at(paradigm_name(s.training.paradigm, s.training.mode)).make();

  BuildContext build;
  build.population = s.platform.clients.count;
  build.parameter_count = c.model ? c.model->parameter_count() : 0;
  build.optimizer = {w.local.lr, w.local.momentum, w.local.weight_decay};
  build.mode = s.training.mode;
  build.clients_per_round = std::min(s.training.clients_per_round, s.platform.clients.count);
  build.rounds = s.training.rounds;
  auto& a = s.policies.aggregation;
  if (const auto* entry = policies::aggregation_registry().lookup(a.name, *a.params)) {
    c.aggregation = entry->make(*a.params, build);
    if (!c.aggregation->supports(s.training.mode)) {
      a.params->error("name", "aggregation policy '" + a.name + "' does not support training.mode " +
                                  std::string(to_string(s.training.mode)));
      c.aggregation.reset();
    }
  }
  auto& sc = s.policies.scheduling;
  if (const auto* entry = policies::scheduling_registry().lookup(sc.name, *sc.params))
    c.scheduling = entry->make(*sc.params, build);
  return c;
}

MemoryEstimate estimate_memory(const Scenario& s, const Components& c, const ExecutionShape& execution) {
  MemoryEstimate m;
  const bool real = s.training.compute == ComputeMode::real;
  models::DataSizes sizes;
  // Clients trained per round: the first clients_per_round arrivals, at most the population.
  const auto participants = std::min(s.training.clients_per_round, s.platform.clients.count);
  for (auto& part : c.dataset->memory({real, true}, &sizes)) m.parts.push_back(part);
  if (real)
    for (auto& part : real_learner_memory(*c.model, local_training(s), *c.aggregation, sizes.test))
      m.parts.push_back(part);
  for (auto& part : c.platform->memory(s.platform)) m.parts.push_back(part);
  for (auto& part : c.paradigm->memory(s)) m.parts.push_back(part);
  for (auto& part : dynamics_memory(s)) m.parts.push_back(part);
  // A checkpoint's sections are in memory while it is written, beside the state they copy: the global
  // model and the rule's state (the paradigm's and the scheduler's few bytes are left out).
  if (real && s.training.checkpoint_every > 0) {
    const double bytes = 4.0 * static_cast<double>(c.model->parameter_count()) + c.aggregation->checkpoint_bytes();
    m.parts.push_back({"checkpoint", bytes, "(the global model and the aggregation rule's state, while saved)",
                       "training.checkpoint_every"});
  }
  m.parts.push_back(process_memory());
  // Last, what depends on the machine and the command line (its cores, --threads, --chunk).
  if (real)
    for (auto& part :
         real_learner_execution_memory(*c.model, local_training(s), *c.aggregation, participants, sizes.test, execution))
      m.parts.push_back(part);
  return m;
}

models::Workload load_workload(const Scenario& s, const Components& c, const models::DataNeeds& needs) {
  return models::Workload::build(
      {*c.dataset, *c.partitioner, *c.model, local_training(s), s.seed, s.platform.clients.count,
       s.workload.local.epochs_dist},
      needs);
}

void warn_about_data(Scenario& s, const models::Workload& workload) {
  std::int64_t smallest = workload.samples_of(ClientId{0}), below = 0;
  for (std::int64_t i = 0; i < workload.clients(); ++i) {
    const auto n = workload.samples_of(ClientId{static_cast<std::int32_t>(i)});
    smallest = std::min(smallest, n);
    below += n < s.workload.local.batch_size;
  }
  if (below > 0)
    report_at(*s.context, Severity::warning, "workload.local.batch_size",
              "batch_size " + std::to_string(s.workload.local.batch_size) + " is above the data of " +
                  std::to_string(below) + " of " + std::to_string(workload.clients()) +
                  " clients (the smallest holds " + std::to_string(smallest) + " samples)",
              {"their every step is one smaller batch of all their samples"});
  const auto& p = s.workload.partition;
  const auto train = workload.data().train.samples;
  if (p.name == "shards" && p.shards_per_client * s.platform.clients.count > train)
    report_at(*s.context, Severity::warning, "workload.partition.shards_per_client",
              "shards_per_client " + std::to_string(p.shards_per_client) + " is above samples ÷ clients (" +
                  std::to_string(train) + " ÷ " + std::to_string(s.platform.clients.count) +
                  "): some shards are empty");
}

}  // namespace dtsim::engine
