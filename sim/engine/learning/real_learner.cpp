#include "sim/engine/learning/real_learner.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/cpu/thread_pool.hpp"

namespace dtsim::engine {

namespace {

// Whether the trainer keeps velocities: any optimizer but plain SGD or any objective term.
bool velocity(const models::LocalTrainingConfig& local, const policies::AggregationPolicy& rule) {
  const auto o = rule.local_objective(ClientId{0}, 1);
  return models::needs_velocity(local, {o.proximal_mu, o.corrected});
}

class MetricList final : public policies::MetricSink {
 public:
  explicit MetricList(std::vector<std::pair<std::string, double>>& out) : out_(out) {}
  void record(const std::string& metric, double value) override { out_.emplace_back(metric, value); }

 private:
  std::vector<std::pair<std::string, double>>& out_;
};

class RealLearner final : public Learner {
 public:
  explicit RealLearner(const RealLearnerSetup& s)
      : backend_(s.backend),
        workload_(s.workload),
        aggregation_(s.aggregation),
        chunk_(static_cast<std::size_t>(std::max<std::int64_t>(s.chunk > 0 ? s.chunk : s.backend.preferred_chunk(), 1))),
        trainer_(s.backend, s.workload.model(), s.workload.data().train, s.workload.data().test, s.workload.local(),
                 s.seed, static_cast<std::int64_t>(chunk_)) {
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
      TrainedUpdates updates(*this, request, out);
      if (request.aggregate) {
        MetricList metrics(out.aggregation_metrics);
        aggregate(updates, {request.round, backend_, metrics});
      } else {
        updates.read([](std::size_t, std::span<const float* const>) {});  // trained for the losses only
      }
      if (updates.seen > 0) {
        out.train_loss = updates.loss / updates.seen;
        out.train_accuracy = updates.hits / updates.seen;
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
      if (request.evaluate_train) {
        const auto t = trainer_.evaluate(global_, models::LocalTrainer::EvalSet::train);
        out.global_train_loss = t.loss;
        out.global_train_accuracy = t.accuracy;
      }
    }
    return out;
  }

 private:
  // The round's participants' updates, trained when the rule reads them: a chunk of clients at a time
  // (all of them at once when the rule needs every update), in ascending client order, each chunk's
  // models handed over in backend memory and released before the next is trained. Per-client figures
  // go into the round's RoundLearning, in request order.
  class TrainedUpdates final : public policies::UpdateSet {
   public:
    TrainedUpdates(RealLearner& l, const LearnRequest& request, RoundLearning& out)
        : l_(l), request_(request), out_(out) {
      const std::size_t n = request.participants.size();
      order_.resize(n);
      for (std::size_t k = 0; k < n; ++k) order_[k] = k;
      std::stable_sort(order_.begin(), order_.end(),
                       [&](std::size_t a, std::size_t b) { return request.participants[a] < request.participants[b]; });
      for (auto k : order_) {
        const ClientId id = request.participants[k];
        const models::WorkItem work = l.workload_.work(id, request.round.round);
        const std::int64_t steps = request.steps.empty() ? work.steps : request.steps[k];
        infos_.push_back({id, static_cast<double>(l.workload_.samples_of(id)), steps});
        epochs_.push_back(work.epochs);
      }
      out.client_samples.assign(n, 0);
      out.client_train_loss.assign(n, std::nullopt);
    }
    std::span<const policies::UpdateInfo> infos() const override { return infos_; }

    void read(const ChunkFn& fn) override {
      const std::size_t n = infos_.size();
      const std::size_t chunk = l_.aggregation_.needs_all_updates() ? n : std::min(l_.chunk_, n);
      const std::size_t d = l_.global_.size();
      kernels::Backend& be = l_.backend_;
      std::vector<models::TrainTask> tasks;
      std::vector<const float*> models;
      for (std::size_t first = 0; first < n; first += chunk) {
        const std::size_t count = std::min(chunk, n - first);
        tasks.clear();
        for (std::size_t i = first; i < first + count; ++i) {
          const ClientId id = infos_[i].client;
          models::TrainTask t;
          t.client = id.value;
          t.samples = l_.workload_.indices_of(id);
          t.round = request_.round.round;
          t.from = request_.round.model_version;
          t.epochs = epochs_[i];
          t.max_steps = infos_[i].local_steps;
          const policies::LocalObjective o = l_.aggregation_.local_objective(id, t.round);
          t.objective = {o.proximal_mu, o.corrected, nullptr};
          if (o.corrected) {
            if (l_.corrections_.size() < chunk * d) l_.corrections_ = be.alloc(chunk * d);
            float* at = l_.corrections_.data() + (i - first) * d;
            l_.aggregation_.write_correction(id, be, at);
            t.objective.correction = at;
          }
          tasks.push_back(t);
        }
        const auto results = l_.trainer_.train(tasks, l_.store_);
        models.clear();
        for (std::size_t k = 0; k < count; ++k) {
          const auto& r = results[k];
          record(first + k, r);
          const float* view = be.view_host(r.params.data(), d);
          if (view == nullptr) {  // a backend on its own memory: stage a copy there
            if (l_.staging_.size() < chunk * d) l_.staging_ = be.alloc(chunk * d);
            float* at = l_.staging_.data() + k * d;
            be.upload(r.params.data(), d, at);
            view = at;
          }
          models.push_back(view);
        }
        fn(first, models);
      }
    }

    double loss = 0, seen = 0, hits = 0;

   private:
    void record(std::size_t sorted, const models::TrainResult& r) {
      const std::size_t k = order_[sorted];
      out_.client_samples[k] = r.samples_seen;
      if (r.samples_seen > 0) out_.client_train_loss[k] = r.loss_sum / static_cast<double>(r.samples_seen);
      loss += r.loss_sum;
      seen += static_cast<double>(r.samples_seen);
      hits += static_cast<double>(r.correct);
    }

    RealLearner& l_;
    const LearnRequest& request_;
    RoundLearning& out_;
    std::vector<std::size_t> order_;  // request positions in ascending client order
    std::vector<policies::UpdateInfo> infos_;
    std::vector<std::int64_t> epochs_;  // per info: its local epochs this round
  };

  // The rule on the global model, in place where the backend computes on host memory, else through a
  // copy in backend memory.
  void aggregate(TrainedUpdates& updates, const policies::AggregationContext& ctx) {
    const std::size_t d = global_.size();
    if (const float* view = backend_.view_host(global_.data(), d)) {
      aggregation_.aggregate(ctx, updates, std::span(const_cast<float*>(view), d));  // our own vector
      return;
    }
    kernels::Buffer on_backend = backend_.alloc(d);
    backend_.upload(global_.data(), d, on_backend.data());
    aggregation_.aggregate(ctx, updates, std::span(on_backend.data(), d));
    backend_.download(on_backend.data(), d, global_.data());
  }

  kernels::Backend& backend_;
  const models::Workload& workload_;
  policies::AggregationPolicy& aggregation_;
  std::size_t chunk_;
  models::LocalTrainer trainer_;
  models::ModelStore store_;
  std::vector<float> global_;
  kernels::Buffer corrections_, staging_;  // a chunk's corrections; its models, for backends off host memory
};

}  // namespace

std::unique_ptr<Learner> make_real_learner(const RealLearnerSetup& setup) {
  return std::make_unique<RealLearner>(setup);
}

std::vector<MemoryPart> real_learner_memory(const models::Model& model, const models::LocalTrainingConfig& local,
                                            const policies::AggregationPolicy& rule, std::int64_t test_samples) {
  const double d = static_cast<double>(model.parameter_count());
  const models::TrainerMemory trainer = models::trainer_memory(model, local, test_samples, velocity(local, rule));
  // The global model and its copy in the ModelStore; the trainer's shared buffers.
  const double training = 8 * d + trainer.shared;
  std::vector<MemoryPart> parts{{"training", training,
                                 "(" + std::to_string(model.parameter_count()) + " model parameters)",
                                 "workload.model"}};
  for (auto& part : rule.memory()) parts.push_back(part);
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
                                                      const policies::AggregationPolicy& rule,
                                                      std::int64_t participants, std::int64_t test_samples,
                                                      const ExecutionShape& execution) {
  // As the backend and the trainer resolve them: a concurrent backend trains one client per lane, a lane
  // per thread; a batched one a chunk of clients at once (all of them by default).
  const std::int64_t threads = execution.threads > 0 ? execution.threads : std::max(1, kernels::available_cpus());
  const std::int64_t chunk = execution.chunk > 0 ? execution.chunk : participants;
  const std::int64_t slots = std::min(participants, execution.concurrent ? threads : chunk);
  const models::TrainerMemory trainer = models::trainer_memory(model, local, test_samples, velocity(local, rule));
  const double d = static_cast<double>(model.parameter_count());
  std::vector<MemoryPart> parts;
  parts.push_back({"slots", static_cast<double>(slots) * trainer.per_slot,
                   "(" + std::to_string(slots) + " clients trained at once)", "training.clients_per_round"});
  // The trained models of one chunk (TrainResult::params), alive while the rule reads them — every
  // participant's when the rule needs them all — and, for a corrected objective, their corrections.
  const std::int64_t held = rule.needs_all_updates() ? participants : std::min(participants, chunk);
  const bool corrected = rule.local_objective(ClientId{0}, 1).corrected;
  parts.push_back({"updates", static_cast<double>(held) * 4 * d * (corrected ? 2 : 1),
                   "(" + std::to_string(held) + " clients' trained models held at once" +
                       (corrected ? ", with their corrections)" : ")"),
                   "training.clients_per_round"});
  // Per thread: 1 MiB of stack, heap arena and small packed blocks; and the GEMM workspace of every thread
  // that computes an item (a call's items are split across the threads: a training call has one per slot,
  // an evaluation call one per item of the pass). glibc keeps a freed block of up to 32 MiB in the
  // thread's heap, so such workspaces stay resident; a larger one is unmapped after each call and adds
  // to the peak only beyond what the aggregation holds instead: the last chunk's results and the rule's
  // accumulator during training calls, every result held and the accumulator during evaluation.
  const std::int64_t train_busy = std::min(threads, slots);
  const std::int64_t eval_busy = std::min(threads, trainer.evaluation_items);
  const std::int64_t busy = std::max(train_busy, eval_busy);
  const std::int64_t last_chunk = participants > 0 ? participants - held * ((participants - 1) / std::max<std::int64_t>(held, 1)) : 0;
  constexpr double kept_up_to = 32.0 * 1024 * 1024;  // glibc's DEFAULT_MMAP_THRESHOLD_MAX
  const double p = trainer.per_thread;
  const double gemm =
      p <= kept_up_to
          ? static_cast<double>(busy) * p
          : std::max({0.0, static_cast<double>(train_busy) * p - static_cast<double>(last_chunk) * 4 * d - 8 * d,
                      static_cast<double>(eval_busy) * p - static_cast<double>(held) * 4 * d - 8 * d});
  parts.push_back({"backend", static_cast<double>(threads) * 1024 * 1024 + gemm,
                   "(" + std::to_string(threads) + " threads, " + std::to_string(busy) + " with a GEMM workspace of " +
                       format_bytes(p) + (p <= kept_up_to ? "" : ", released after each call") + ")",
                   "workload.model"});
  return parts;
}

}  // namespace dtsim::engine
