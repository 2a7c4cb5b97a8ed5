// The LocalTrainer seam (DESIGN "LocalTrainer"): the model-agnostic half of training. It trains batches
// of TrainTasks (one client's local SGD from a model version) through any Model in batched Backend
// calls, and evaluates parameters on the test set. The Model supplies the layers; the trainer owns the
// slots, the lockstep batching across clients, the shuffles, the loss and the optimizer.
//
// Local SGD is PyTorch's torch.optim.SGD(lr, momentum, weight_decay), made afresh for every task, with
// the task's LocalObjective added to the gradient:
//   g = ∇(minibatch mean loss) + weight_decay·p + proximal_mu·(p − from) + correction
//   v = momentum·v + g        (v = 0 when a task starts)
//   p = p − lr·v
// With momentum = weight_decay = proximal_mu = 0 and no correction this is plain SGD, run by the fused
// path (each layer's gradient GEMM adds −lr·∇ straight into the parameters).
//
// Determinism: a task's arithmetic depends only on its data, its model version, its objective and its
// keyed streams — shuffles Rng(seed, "shuffle", client, round, epoch), dropout masks Rng(seed,
// "dropout", client, round, step) then the layer — and every Backend operation computes each item on its
// own, so results never depend on the chunk, the thread count or the backend's parallel structure.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "kernels/backend.hpp"
#include "models/dataset.hpp"
#include "models/model.hpp"

namespace dtsim::models {


// The versions of the global model that tasks start from (host memory), by version number.
class ModelStore {
 public:
  void put(std::int64_t version, std::vector<float> params) { versions_[version] = std::move(params); }
  bool contains(std::int64_t version) const { return versions_.count(version) > 0; }
  std::span<const float> at(std::int64_t version) const;  // throws std::out_of_range naming the version
  // Forgets every version older than `version` (no task in flight started from them).
  void release_before(std::int64_t version) { versions_.erase(versions_.begin(), versions_.lower_bound(version)); }
  std::size_t size() const { return versions_.size(); }

 private:
  std::map<std::int64_t, std::vector<float>> versions_;
};

// One client's local training: from model version `from`, its samples, its epochs, at most max_steps
// SGD steps (partial work; < 0: no cap).
struct TrainTask {
  std::int32_t client = 0;
  std::span<const std::int32_t> samples;  // indices into the training set
  std::int64_t round = 0;                 // keys the shuffle and dropout streams
  std::int64_t from = 0;                  // the ModelStore version it starts from
  std::int64_t max_steps = -1;
  std::int64_t epochs = -1;  // < 0: the configuration's
  LocalObjective objective;
};

struct TrainResult {
  std::vector<float> params;  // the task's final parameters
  std::int64_t steps = 0;     // SGD steps taken
  std::int64_t samples_seen = 0;
  double loss_sum = 0;     // summed minibatch loss over every sample seen (nats, dropout on)
  double loss_sq_sum = 0;  // summed squares of the per-sample losses
  std::int64_t correct = 0;  // argmax hits over every sample seen (the training accuracy's numerator)
  double flops = 0;          // summed Backend cost of the training
};

struct Evaluation {
  double loss = 0;      // mean test cross-entropy (nats)
  double accuracy = 0;  // fraction in [0, 1]
};

// What a LocalTrainer allocates (bytes), for the memory estimate (DESIGN "Memory"); host memory on the
// CPU backend, device memory on CUDA.
struct TrainerMemory {
  double per_slot = 0;    // one client slot: its parameters, velocity, minibatch input and workspace, labels
  double shared = 0;      // once per trainer (the zero velocity)
  double evaluation = 0;  // the evaluation workspace for the items of one pass, and the evaluated parameters
  double per_thread = 0;  // per backend thread that computes an item, its largest scratch (CPU GEMM panels)
  std::int64_t evaluation_items = 0;  // items of one evaluation pass
  std::int64_t evaluation_rows = 0;   // test rows per item
  std::int64_t layer_outputs = 0;     // floats of every layer's output per row
};
// For `model` trained under `config` (optimizer other than plain SGD: `with_velocity`), with a test set
// of `test_samples` rows.
TrainerMemory trainer_memory(const Model& model, const LocalTrainingConfig& config, std::int64_t test_samples,
                             bool with_velocity);

// Whether tasks under `config` with `objective` need a velocity (anything but plain SGD).
bool needs_velocity(const LocalTrainingConfig& config, const LocalObjective& objective = {});
// The modelled cost of one SGD step beyond its minibatch's rows · Model::train_flops_per_sample(): 0 for
// plain SGD, else the flops of the step's Backend::sgd_step over every parameter.
double update_flops_per_step(const Model& model, const LocalTrainingConfig& config, const LocalObjective& objective = {});

class LocalTrainer {
 public:
  // chunk >= 1: tasks one batched backend call trains together (batched backends), or one
  // for_each_item runs (concurrent backends). The model and the datasets must outlive the trainer.
  LocalTrainer(kernels::Backend& backend, const Model& model, const Dataset& train, const Dataset& test,
               LocalTrainingConfig config, std::uint64_t seed, std::int64_t chunk);
  ~LocalTrainer();
  LocalTrainer(const LocalTrainer&) = delete;
  LocalTrainer& operator=(const LocalTrainer&) = delete;

  // Trains every task from its version in `store`; results in task order.
  std::vector<TrainResult> train(std::span<const TrainTask> tasks, const ModelStore& store);
  // Mean loss and accuracy of `params` on the whole test set, or on the whole training set.
  enum class EvalSet { test, train };
  Evaluation evaluate(std::span<const float> params, EvalSet set = EvalSet::test);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dtsim::models
