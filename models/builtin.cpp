// The workload component lists: one line per dataset, partitioner and model. Their keys, defaults and
// ranges are in the schema table (sim/scenario/schema.cpp), not here.
#include "models/cnn.hpp"
#include "models/mlp.hpp"
#include "models/registry.hpp"

namespace dtsim::models {

const DatasetRegistry& dataset_registry() {
  static const DatasetRegistry registry(
      "dataset",
      {
          {"fashion_mnist",
           "Fashion-MNIST images (28x28, 10 classes) read from idx files (Debian: dataset-fashion-mnist)",
           {},
           make_fashion_mnist_source},
          {"synthetic",
           "FedProx synthetic(alpha, beta): one generated user per client (Li et al., MLSys 2020)",
           {},
           make_synthetic_source},
      });
  return registry;
}

const PartitionRegistry& partition_registry() {
  static const PartitionRegistry registry(
      "partition",
      {
          {"iid", "uniform random split into near-equal shares (default for fashion_mnist)", {}, make_iid_partitioner},
          {"dirichlet",
           "per-class label proportions over clients drawn from Dirichlet(alpha) (Hsu et al. 2019)",
           {},
           make_dirichlet_partitioner},
          {"shards",
           "sorted by label, cut into shards, each client takes shards_per_client (McMahan et al. 2017)",
           {},
           make_shards_partitioner},
          {"natural", "the dataset's own users, one per client (synthetic; its default)", {}, make_natural_partitioner},
      });
  return registry;
}

namespace {
std::unique_ptr<Model> make_logistic(const ModelSpec&, const ModelContext& context) {
  return make_mlp_model({context.features, {}, context.classes, 0});
}
std::unique_ptr<Model> make_mlp(const ModelSpec& spec, const ModelContext& context) {
  return make_mlp_model({context.features, spec.hidden, context.classes, spec.dropout});
}
// Throws std::invalid_argument when the data are not images or too small for the convolutions.
std::unique_ptr<Model> make_cnn(const ModelSpec& spec, const ModelContext& context) {
  if (context.image.channels < 1)
    throw std::invalid_argument("a CNN needs image data; this dataset's samples are plain feature vectors");
  return make_cnn_model({context.image.channels, context.image.height, context.image.width, spec.channels, spec.kernel,
                         spec.padding, spec.dense, context.classes, spec.dropout});
}
}  // namespace

const ModelRegistry& model_registry() {
  static const ModelRegistry registry(
      "model", {
                   {"logistic", "multinomial logistic regression (softmax of one dense layer)", {}, make_logistic},
                   {"mlp", "multilayer perceptron with ReLU hidden layers", {}, make_mlp},
                   {"cnn", "convolutional network for images (default: CNNMnist, 21,840 parameters)", {}, make_cnn},
               });
  return registry;
}

}  // namespace dtsim::models
