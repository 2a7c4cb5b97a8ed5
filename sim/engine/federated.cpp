#include "sim/engine/federated.hpp"

#include <exception>
#include <simgrid/s4u.hpp>
#include <string>

namespace sg4 = simgrid::s4u;

namespace dtsim::engine {

const char* to_string(ClientStatus s) {
  switch (s) {
    case ClientStatus::completed:
      return "completed";
    case ClientStatus::late:
      return "late";
    case ClientStatus::dropped:
      return "dropped";
    case ClientStatus::crashed:
      return "crashed";
    case ClientStatus::unavailable:
      return "unavailable";
  }
  return "?";
}

namespace {

bool evaluation_due(const TrainingSpec& t, std::int64_t round) {
  return round == t.rounds || (t.eval_every > 0 && round % t.eval_every == 0);
}

// The server's loop; runs as a SimGrid actor on the server host.
void serve(const FederatedSetup& s, FederatedOutcome& outcome) {
  const auto& training = s.scenario->training;
  std::int64_t version = 0;
  for (std::int64_t round = 1; round <= training.rounds; ++round) {
    if (s.stop_requested && s.stop_requested->load()) {
      outcome.interrupted = true;
      return;
    }
    const double t0 = sg4::Engine::get_clock();
    policies::SelectionContext ctx;
    ctx.round = {round, version, t0};
    ctx.population = static_cast<std::int64_t>(s.platform.clients.size());
    ctx.wanted = training.clients_per_round;
    ctx.seed = s.scenario->seed;
    const auto selected = s.scheduler->select(ctx);

    // One actor per participant on its own host: download, compute, upload. They record into
    // `records` (actors run one at a time, so no locking is needed).
    std::vector<ClientRecord> records(selected.size());
    std::vector<sg4::ActorPtr> actors;
    actors.reserve(selected.size());
    for (std::size_t i = 0; i < selected.size(); ++i) {
      const auto id = selected[i].value;
      const auto& w = s.work[static_cast<std::size_t>(id)];
      auto& rec = records[i];
      rec.round = round;
      rec.client = id;
      rec.start_s = t0;
      rec.local_steps = w.local_steps;
      rec.flops = w.flops;
      rec.bytes_down = s.model_bytes;
      rec.bytes_up = s.model_bytes;
      sg4::Host* server = s.platform.server;
      sg4::Host* host = s.platform.clients[static_cast<std::size_t>(id)];
      const auto bytes = static_cast<std::uint64_t>(s.model_bytes);
      actors.push_back(sg4::Actor::create("r" + std::to_string(round) + "-c" + std::to_string(id), host,
                                          [&rec, server, host, bytes, flops = w.flops] {
                                            sg4::Comm::sendto(server, host, bytes);
                                            rec.download_end_s = sg4::Engine::get_clock();
                                            sg4::this_actor::execute(flops);
                                            rec.compute_end_s = sg4::Engine::get_clock();
                                            sg4::Comm::sendto(host, server, bytes);
                                            rec.upload_end_s = sg4::Engine::get_clock();
                                          }));
    }
    for (auto& a : actors) a->join();

    std::vector<policies::ClientId> participants;
    std::vector<policies::ClientOutcome> feedback;
    for (const auto& rec : records) {
      participants.push_back(policies::ClientId{rec.client});
    }
    // The server combines the updates: modelled as an execution on the server host.
    sg4::this_actor::execute(s.aggregation_flops_per_update * static_cast<double>(participants.size()));
    const bool evaluate = evaluation_due(training, round);
    const RoundLearning learned = s.learner->learn({round, version, sg4::Engine::get_clock()}, participants, evaluate);
    ++version;
    for (std::size_t i = 0; i < records.size(); ++i) {
      const auto& rec = records[i];
      const double loss = i < learned.client_train_loss.size() ? learned.client_train_loss[i] : 0.0;
      feedback.push_back({policies::ClientId{rec.client}, true, *rec.upload_end_s - t0, loss,
                          static_cast<double>(s.work[static_cast<std::size_t>(rec.client)].samples)});
    }

    RoundRecord row;
    row.round = round;
    row.sim_time_s = sg4::Engine::get_clock();
    row.round_duration_s = row.sim_time_s - t0;
    row.selected = static_cast<std::int64_t>(selected.size());
    row.completed = static_cast<std::int64_t>(participants.size());
    row.bytes_down = s.model_bytes * static_cast<double>(selected.size());
    row.bytes_up = s.model_bytes * static_cast<double>(participants.size());
    row.train_loss = learned.train_loss;
    row.test_loss = learned.test_loss;
    row.test_accuracy = learned.test_accuracy;
    for (const auto& rec : records) s.observer->on_client(rec);
    s.observer->on_round(row);
    s.scheduler->feedback(ctx.round, feedback);

    outcome.rounds_completed = round;
    outcome.final_sim_time_s = row.sim_time_s;
    if (learned.test_accuracy) outcome.final_test_accuracy = learned.test_accuracy;
    if (learned.diverged) {
      outcome.diverged = true;
      return;
    }
  }
}

}  // namespace

FederatedOutcome run_federated(const FederatedSetup& setup) {
  FederatedOutcome outcome;
  // An exception must not escape an actor (SimGrid would abort): keep it and rethrow from here.
  std::exception_ptr failure;
  sg4::Actor::create("server", setup.platform.server, [&setup, &outcome, &failure] {
    try {
      serve(setup, outcome);
    } catch (...) {
      failure = std::current_exception();
    }
  });
  sg4::Engine::get_instance()->run();
  if (failure) std::rethrow_exception(failure);
  return outcome;
}

}  // namespace dtsim::engine
