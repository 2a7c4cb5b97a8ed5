// The workload components: dataset sources at every depth, partitioners, models by name, and the
// per-client work the Workload answers.
#include "models/workload.hpp"

#include <doctest/doctest.h>

#include <numeric>

#include "models/local_trainer.hpp"
#include "models/mlp.hpp"
#include "models/registry.hpp"

using namespace dtsim;
using namespace dtsim::models;

namespace {
DatasetSpec synthetic_spec() {
  DatasetSpec d;
  d.name = "synthetic";
  d.alpha = 1;
  d.beta = 1;
  return d;
}
DatasetSpec fashion_spec(std::int64_t max_train, std::int64_t max_test) {
  DatasetSpec d;
  d.name = "fashion_mnist";
  d.max_train = max_train;
  d.max_test = max_test;
  return d;
}
}  // namespace

TEST_SUITE("models") {
  TEST_CASE("synthetic: the sizes alone equal the generated split, user by user") {
    for (std::uint64_t seed : {1u, 7u}) {
      CAPTURE(seed);
      const auto source = dataset_registry().at("synthetic").make(synthetic_spec(), {seed, 25});
      const auto sizes = source->load({false, false});
      const auto full = source->load({true, false});
      CHECK(sizes.natural_sizes == full.natural_sizes);
      CHECK(sizes.train.samples == full.train.samples);
      CHECK(sizes.test.samples == full.test.samples);
      CHECK(sizes.train.x.empty());
      REQUIRE(full.natural_partition.size() == 25);
      for (std::size_t u = 0; u < 25; ++u)
        CHECK(static_cast<std::int64_t>(full.natural_partition[u].size()) == full.natural_sizes[u]);
    }
  }

  TEST_CASE("fashion_mnist: the sizes from the headers equal what a load holds, and labels need no pixels") {
    const auto source = dataset_registry().at("fashion_mnist").make(fashion_spec(1000, 300), {1, 10});
    const auto labels = source->load({false, false});
    CHECK(labels.train.samples == 1000);
    CHECK(labels.test.samples == 300);
    CHECK(labels.train.x.empty());
    CHECK(labels.checksums.empty());  // validate reads no image file whole
    const auto parts = source->memory({true, true});
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].bytes == doctest::Approx(1300.0 * (784 * 4 + 8)));
    CHECK(source->memory({false, true})[0].bytes == doctest::Approx(1300.0 * 8));
  }

  TEST_CASE("partitioners: every client gets samples, the sizes match the indices, and a split needs enough") {
    const auto source = dataset_registry().at("fashion_mnist").make(fashion_spec(600, 10), {1, 10});
    const auto data = source->load({false, false});
    for (const char* name : {"iid", "dirichlet", "shards"}) {
      CAPTURE(name);
      PartitionSpec spec;
      spec.name = name;
      const auto partitioner = partition_registry().at(name).make(spec);
      Rng rng(3, "partition");
      const auto split = partitioner->split(data, 10, rng);
      REQUIRE(split.sizes.size() == 10);
      REQUIRE(split.indices.size() == 10);
      for (std::size_t c = 0; c < 10; ++c) {
        CHECK(split.sizes[c] >= 1);
        CHECK(static_cast<std::int64_t>(split.indices[c].size()) == split.sizes[c]);
      }
      CHECK(std::accumulate(split.sizes.begin(), split.sizes.end(), std::int64_t{0}) == 600);
      Rng again(3, "partition");
      CHECK_THROWS_AS(partitioner->split(data, 601, again), DataError);
    }
  }

  TEST_CASE("workload: work(client, round) is epochs · samples · per-sample flops plus the optimizer's steps") {
    const auto source = dataset_registry().at("synthetic").make(synthetic_spec(), {2, 8});
    PartitionSpec natural;
    natural.name = "natural";
    const auto partitioner = partition_registry().at("natural").make(natural);
    ModelSpec mlp;
    mlp.name = "mlp";
    mlp.hidden = {16};
    const auto model = model_registry().at("mlp").make(mlp, {source->features(), source->classes(), {}});
    LocalTrainingConfig local{3, 7, 0.1, 0.5, 0};
    const auto workload = Workload::build({*source, *partitioner, *model, local, 2, 8}, {true, false});
    const MlpShape shape{60, {16}, 10};
    CHECK(model->parameter_count() == parameter_count(shape));
    for (std::int32_t c = 0; c < 8; ++c) {
      CAPTURE(c);
      const auto w = workload.work(ClientId{c}, 1);
      const auto n = workload.samples_of(ClientId{c});
      const std::int64_t steps = 3 * ((n + 6) / 7);
      CHECK(w.samples == n);
      CHECK(w.steps == steps);
      CHECK(w.flops == 3.0 * static_cast<double>(n) * train_flops_per_sample(shape) +
                           static_cast<double>(steps) * update_flops_per_step(*model, local));
      CHECK(workload.indices_of(ClientId{c}).size() == static_cast<std::size_t>(n));
    }
  }

  TEST_CASE("registries: every component has a name, a description and a factory") {
    for (const auto* names : {&dataset_registry().entries()}) CHECK(names->size() == 2);
    CHECK(partition_registry().names() == std::vector<std::string>{"iid", "dirichlet", "shards", "natural"});
    CHECK(model_registry().names() == std::vector<std::string>{"logistic", "mlp", "cnn"});
    CHECK_THROWS_AS(model_registry().at("transformer"), std::logic_error);
  }
}
