#include "sim/engine/learning/real_learner.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace dtsim::engine {

namespace {

class RealLearner final : public Learner {
 public:
  explicit RealLearner(const RealLearnerSetup& s)
      : workload_(s.workload),
        aggregation_(s.aggregation),
        trainer_(s.workload.model().make_trainer(s.backend, s.workload.data().train, s.workload.data().test,
                                                 s.workload.local(), s.seed,
                                                 s.chunk > 0 ? s.chunk : s.backend.preferred_chunk())) {
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
      std::vector<models::ClientWork> work;
      work.reserve(request.participants.size());
      for (auto id : request.participants) work.push_back({id.value, workload_.indices_of(id), request.round.round});
      const auto results = trainer_->train(global_, work);

      std::vector<policies::ClientUpdate> updates;
      double loss = 0, seen = 0;
      for (std::size_t i = 0; i < results.size(); ++i) {
        const auto& r = results[i];
        const ClientId id = request.participants[i];
        updates.push_back({id, r.params, static_cast<double>(workload_.samples_of(id)), r.steps,
                           request.round.model_version, static_cast<double>(r.params.size()) * 4});
        out.client_train_loss.push_back(r.samples_seen > 0 ? r.loss_sum / static_cast<double>(r.samples_seen) : 0.0);
        loss += r.loss_sum;
        seen += static_cast<double>(r.samples_seen);
      }
      if (request.aggregate) aggregation_.aggregate(request.round, updates, global_);
      if (seen > 0) out.train_loss = loss / seen;
    }
    const bool finite_model = std::all_of(global_.begin(), global_.end(), [](float v) { return std::isfinite(v); });
    if ((out.train_loss && !std::isfinite(*out.train_loss)) || !finite_model) {
      out.train_loss.reset();  // never write NaN into the CSV
      out.client_train_loss.clear();
      out.diverged = true;
      return out;
    }
    if (request.evaluate) {
      const auto e = trainer_->evaluate(global_);
      out.test_loss = e.loss;
      out.test_accuracy = e.accuracy;
    }
    return out;
  }

 private:
  const models::Workload& workload_;
  policies::AggregationPolicy& aggregation_;
  std::unique_ptr<models::Trainer> trainer_;
  std::vector<float> global_;
};

}  // namespace

std::unique_ptr<Learner> make_real_learner(const RealLearnerSetup& setup) {
  return std::make_unique<RealLearner>(setup);
}

MemoryPart real_learner_memory(const models::Model& model, const models::LocalTrainingConfig& local,
                               std::int64_t participants) {
  const double d = static_cast<double>(model.parameter_count());
  const double k = static_cast<double>(participants);
  const bool velocity = local.momentum > 0 || local.weight_decay > 0;
  // Global + per participant (result, slot parameters, workspace, and velocity) + activations: per
  // participant and minibatch row, four buffers of the widest layer.
  const double bytes = d * 4 * (1 + k * (3 + (velocity ? 1 : 0))) +
                       k * static_cast<double>(local.batch_size) * model.activation_floats_per_row() * 4 * 4;
  return {"training", bytes,
          "(" + std::to_string(model.parameter_count()) + " model parameters, " + std::to_string(participants) +
              " clients per round)",
          "workload.model"};
}

}  // namespace dtsim::engine
