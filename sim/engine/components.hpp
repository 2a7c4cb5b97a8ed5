// A run's components, made by name from their registries (DESIGN "Registries"): the dataset source,
// partitioner and model (models/registry.hpp), the platform builder (platform/), the paradigm
// (paradigms/) and the policies (policies/). Nothing else in the engine compares a component's name.
#pragma once

#include <memory>

#include "models/registry.hpp"
#include "models/workload.hpp"
#include "policies/aggregation/aggregation.hpp"
#include "policies/scheduling/scheduling.hpp"
#include "sim/engine/memory.hpp"
#include "sim/engine/paradigms/paradigm.hpp"
#include "sim/engine/platform/platform.hpp"
#include "sim/scenario/scenario.hpp"

namespace dtsim::engine {

struct Components {
  std::unique_ptr<models::DatasetSource> dataset;
  std::unique_ptr<models::Partitioner> partitioner;
  std::unique_ptr<models::Model> model;
  std::unique_ptr<PlatformBuilder> platform;
  std::unique_ptr<Paradigm> paradigm;
  std::unique_ptr<policies::AggregationPolicy> aggregation;
  std::unique_ptr<policies::SchedulingPolicy> scheduling;

  bool complete() const {
    return dataset && partitioner && model && platform && paradigm && aggregation && scheduling;
  }
};

// Builds every component whose keys loaded without error; the policies' parameter errors go to the
// scenario's error list. A component that cannot be built is left null.
Components build_components(Scenario& scenario);

// The parts of the run's modelled peak memory, as each component reports them, for a run executed as
// `execution` says. May throw DataError (the dataset's headers cannot be read).
MemoryEstimate estimate_memory(const Scenario& scenario, const Components& components,
                               const ExecutionShape& execution = {});

// The local optimizer of workload.local, as the models take it.
models::LocalTrainingConfig local_training(const Scenario& scenario);

// Loads the data to `needs` and splits it across the clients (requires complete components).
// Throws DataError.
models::Workload load_workload(const Scenario& scenario, const Components& components, const models::DataNeeds& needs);

// Warns about suspicious settings that only the data reveal: a batch larger than some clients' data,
// shards smaller than a sample.
void warn_about_data(Scenario& scenario, const models::Workload& workload);

// Whether any error (not a warning) was recorded at `key_path` or below it.
bool has_error_under(const ParamsContext& context, const std::string& key_path);

}  // namespace dtsim::engine
