#include "sim/engine/learning/real_learner.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/cpu/thread_pool.hpp"

namespace dtsim::engine {

namespace {

// Whether the trainer keeps velocities: any optimizer but plain SGD (no objective terms yet).
bool velocity(const models::LocalTrainingConfig& local) { return models::needs_velocity(local, {}); }

class RealLearner final : public Learner {
 public:
  explicit RealLearner(const RealLearnerSetup& s)
      : workload_(s.workload),
        aggregation_(s.aggregation),
        trainer_(s.backend, s.workload.model(), s.workload.data().train, s.workload.data().test, s.workload.local(),
                 s.seed, s.chunk > 0 ? s.chunk : s.backend.preferred_chunk()) {
    Rng rng(s.seed, "init");
    global_ = s.workload.model().init_parameters(rng);
  }

  void save(ByteWriter& out) const override { out.floats(global_); }
  void load(ByteReader& in) override {
    auto params = in.floats();
    if (params.size() != global_.size()) throw std::runtime_error("checkpoint: the model has another size");
    global_ = std::move(params);
  }

  RoundLearning learn(const LearnRequest& request) override {
    RoundLearning out;
    if (!request.participants.empty()) {
      // Synchronous rounds: every task starts from the current global model, this round's version.
      const std::int64_t version = request.round.model_version;
      store_.put(version, global_);
      store_.release_before(version);
      std::vector<models::TrainTask> tasks;
      tasks.reserve(request.participants.size());
      for (auto id : request.participants) {
        models::TrainTask t;
        t.client = id.value;
        t.samples = workload_.indices_of(id);
        t.round = request.round.round;
        t.from = version;
        tasks.push_back(t);
      }
      const auto results = trainer_.train(tasks, store_);

      std::vector<policies::ClientUpdate> updates;
      double loss = 0, seen = 0, hits = 0;
      for (std::size_t i = 0; i < results.size(); ++i) {
        const auto& r = results[i];
        const ClientId id = request.participants[i];
        updates.push_back({id, r.params, static_cast<double>(workload_.samples_of(id)), r.steps, version,
                           static_cast<double>(r.params.size()) * 4});
        out.client_samples.push_back(r.samples_seen);
        out.client_train_loss.push_back(r.samples_seen > 0
                                            ? std::optional<double>(r.loss_sum / static_cast<double>(r.samples_seen))
                                            : std::nullopt);
        loss += r.loss_sum;
        seen += static_cast<double>(r.samples_seen);
        hits += static_cast<double>(r.correct);
      }
      if (request.aggregate) aggregation_.aggregate(request.round, updates, global_);
      if (seen > 0) {
        out.train_loss = loss / seen;
        out.train_accuracy = hits / seen;
      }
    }
    const bool finite_model = std::all_of(global_.begin(), global_.end(), [](float v) { return std::isfinite(v); });
    if ((out.train_loss && !std::isfinite(*out.train_loss)) || !finite_model) {
      out.train_loss.reset();  // never write NaN into the CSV
      out.train_accuracy.reset();
      out.client_samples.clear();
      out.client_train_loss.clear();
      out.diverged = true;
      return out;
    }
    if (request.evaluate) {
      const auto e = trainer_.evaluate(global_);
      out.test_loss = e.loss;
      out.test_accuracy = e.accuracy;
    }
    return out;
  }

 private:
  const models::Workload& workload_;
  policies::AggregationPolicy& aggregation_;
  models::LocalTrainer trainer_;
  models::ModelStore store_;
  std::vector<float> global_;
};

}  // namespace

std::unique_ptr<Learner> make_real_learner(const RealLearnerSetup& setup) {
  return std::make_unique<RealLearner>(setup);
}

std::vector<MemoryPart> real_learner_memory(const models::Model& model, const models::LocalTrainingConfig& local,
                                            std::int64_t participants, std::int64_t test_samples) {
  const double d = static_cast<double>(model.parameter_count());
  const models::TrainerMemory trainer = models::trainer_memory(model, local, test_samples, velocity(local));
  // The global model and its copy in the ModelStore; each participant's result (TrainResult::params),
  // alive with FedAvg's double accumulator; the trainer's shared buffers.
  const double training = 8 * d + static_cast<double>(participants) * 4 * d + 8 * d + trainer.shared;
  std::vector<MemoryPart> parts{{"training", training,
                                 "(" + std::to_string(model.parameter_count()) + " model parameters, " +
                                     std::to_string(participants) + " clients per round)",
                                 "workload.model"}};
  if (trainer.evaluation > 0)
    parts.push_back({"evaluation", trainer.evaluation,
                     "(" + std::to_string(trainer.evaluation_items) + (trainer.evaluation_items == 1 ? " item of " : " items of ") +
                         std::to_string(trainer.evaluation_rows) + " test rows × " +
                         std::to_string(trainer.layer_outputs) + " layer outputs)",
                     "workload.model"});
  return parts;
}

std::vector<MemoryPart> real_learner_execution_memory(const models::Model& model,
                                                      const models::LocalTrainingConfig& local,
                                                      std::int64_t participants, std::int64_t test_samples,
                                                      const ExecutionShape& execution) {
  // As the backend and MlpTrainer resolve them: a concurrent backend trains one client per lane, a lane
  // per thread; a batched one a chunk of clients at once (all of them by default).
  const std::int64_t threads = execution.threads > 0 ? execution.threads : std::max(1, kernels::available_cpus());
  const std::int64_t chunk = execution.chunk > 0 ? execution.chunk : participants;
  const std::int64_t slots = std::min(participants, execution.concurrent ? threads : chunk);
  const models::TrainerMemory trainer = models::trainer_memory(model, local, test_samples, velocity(local));
  std::vector<MemoryPart> parts;
  parts.push_back({"slots", static_cast<double>(slots) * trainer.per_slot,
                   "(" + std::to_string(slots) + " clients trained at once)", "training.clients_per_round"});
  // Per thread: 1 MiB of stack, heap arena and small packed blocks; and the GEMM workspace of every thread
  // that computes an item (a call's items are split across the threads: a training call has one per slot,
  // an evaluation call one per item of the pass). glibc keeps a freed block of up to 32 MiB in the
  // thread's heap, so such workspaces stay resident; a larger one is unmapped after each call and adds
  // to the peak only beyond what the aggregation holds instead: the last chunk's results and FedAvg's
  // accumulator during training calls, every result and the accumulator during evaluation.
  const double d = static_cast<double>(model.parameter_count());
  const std::int64_t train_busy = std::min(threads, slots);
  const std::int64_t eval_busy = std::min(threads, trainer.evaluation_items);
  const std::int64_t busy = std::max(train_busy, eval_busy);
  const std::int64_t last_chunk = participants > 0 ? participants - slots * ((participants - 1) / slots) : 0;
  constexpr double kept_up_to = 32.0 * 1024 * 1024;  // glibc's DEFAULT_MMAP_THRESHOLD_MAX
  const double p = trainer.per_thread;
  const double gemm =
      p <= kept_up_to
          ? static_cast<double>(busy) * p
          : std::max({0.0, static_cast<double>(train_busy) * p - static_cast<double>(last_chunk) * 4 * d - 8 * d,
                      static_cast<double>(eval_busy) * p - static_cast<double>(participants) * 4 * d - 8 * d});
  parts.push_back({"backend", static_cast<double>(threads) * 1024 * 1024 + gemm,
                   "(" + std::to_string(threads) + " threads, " + std::to_string(busy) + " with a GEMM workspace of " +
                       format_bytes(p) + (p <= kept_up_to ? "" : ", released after each call") + ")",
                   "workload.model"});
  return parts;
}

}  // namespace dtsim::engine
