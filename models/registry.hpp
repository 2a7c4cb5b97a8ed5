// The registries of the workload's components: datasets, partitioners and models, by the names the
// scenario uses (workload.dataset.name, workload.partition.name, workload.model.name). Their keys are in
// the schema table (sim/scenario/schema.cpp), which reads them into typed specs, so factories take the
// resolved spec. The lists live in models/builtin.cpp.
#pragma once

#include <memory>

#include "models/dataset_source.hpp"
#include "models/model.hpp"
#include "models/partitioner.hpp"
#include "sim/common/registry.hpp"
#include "sim/scenario/scenario.hpp"

namespace dtsim::models {

// The shape a model is built for: the dataset's features and classes.
struct ModelContext {
  std::int64_t features = 0;
  std::int64_t classes = 0;
  ImageShape image;  // all 0 when the samples are not images
};

using DatasetRegistry = Registry<std::unique_ptr<DatasetSource>(const DatasetSpec&, const DataContext&)>;
using PartitionRegistry = Registry<std::unique_ptr<Partitioner>(const PartitionSpec&)>;
using ModelRegistry = Registry<std::unique_ptr<Model>(const ModelSpec&, const ModelContext&)>;

const DatasetRegistry& dataset_registry();
const PartitionRegistry& partition_registry();
const ModelRegistry& model_registry();

}  // namespace dtsim::models
