// Synchronous federated learning (FedAvg-style rounds; McMahan et al., AISTATS 2017), with the round
// protocol of deadlines and over-selection (Bonawitz et al., "Towards Federated Learning at Scale",
// MLSys 2019, §4: select 130 % of the target, keep the first to report, abandon a round past its
// deadline).
//
// Each round, at t0: the scheduling policy plans it (clients, deadline, keep_first K); every planned
// client runs a task (download the aggregation rule's down bytes — 4·d for FedAvg — compute its local
// training's flops on its host, under the rule's local objective, upload the rule's up bytes); the
// collector keeps the first K to arrive and stops the others at the K-th arrival or at t0 + deadline,
// whichever is first. With at least training.min_completed updates the server aggregates (the rule's
// server_flops, executed on its host) and the learner trains the kept clients for real and applies the
// aggregation rule (timing settled first, DESIGN principle 2); with fewer the model is kept, and the
// round is still counted, evaluated and fed back. The rule sees the updates in ascending client order,
// whatever order they arrived in.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <memory>
#include <optional>
#include <simgrid/s4u.hpp>
#include <vector>

#include "sim/common/checkpointable.hpp"
#include "sim/engine/actors/collector.hpp"
#include "sim/engine/actors/runners.hpp"
#include "sim/engine/actors/server_link.hpp"
#include "sim/engine/actors/task.hpp"
#include "sim/engine/dynamics/energy.hpp"
#include "sim/engine/learning/divergence.hpp"
#include "sim/engine/observers/checkpoint.hpp"
#include "sim/engine/observers/checkpointer.hpp"
#include "sim/engine/paradigms/paradigm.hpp"
#include "sim/engine/platform/platform.hpp"

namespace sg4 = simgrid::s4u;

namespace dtsim::engine {

namespace {

bool evaluation_due(const TrainingSpec& t, std::int64_t round) {
  return round == t.rounds || (t.eval_every > 0 && round % t.eval_every == 0);
}

// How many clients a round starts: ceil(over_selection · K), at most the population (the loader warns
// when the cap applies).
std::int64_t clients_to_select(const TrainingSpec& t, std::int64_t population) {
  return std::min(over_selected_count(t.over_selection, t.clients_per_round), population);
}

std::optional<double> minus(const std::optional<double>& end, const std::optional<double>& start) {
  if (!end || !start) return std::nullopt;
  return *end - *start;
}

// What the protocol carries from round to round: its checkpoint section.
struct State {
  std::int64_t round = 0;    // the last finished round
  std::int64_t version = 0;  // the global model's version
  std::optional<double> first_train_loss;
  std::optional<double> final_test_accuracy;
  std::optional<std::int64_t> final_test_round;

  std::string save() const {
    ByteWriter w;
    w.i64(round);
    w.i64(version);
    for (const auto& v : {first_train_loss, final_test_accuracy}) {
      w.boolean(v.has_value());
      w.f64(v.value_or(0));
    }
    w.boolean(final_test_round.has_value());
    w.i64(final_test_round.value_or(0));
    return w.bytes();
  }
  static State load(const std::string& bytes) {
    ByteReader r(bytes);
    State s;
    s.round = r.i64();
    s.version = r.i64();
    for (auto* v : {&s.first_train_loss, &s.final_test_accuracy}) {
      const bool has = r.boolean();
      const double value = r.f64();
      if (has) *v = value;
    }
    const bool has_round = r.boolean();
    const auto final_round = r.i64();
    if (has_round) s.final_test_round = final_round;
    if (!r.done()) throw std::runtime_error("checkpoint: the federated_sync section is longer than its state");
    return s;
  }
};

class FederatedSync final : public Paradigm {
 public:
  bool can_resume() const override { return true; }

  std::vector<std::string> training_keys() const override {
    return {"paradigm",       "mode",          "compute",          "rounds",    "clients_per_round", "eval_every",
            "deadline",       "over_selection", "min_completed", "checkpoint_every", "divergence", "partial_work", "eval_train"};
  }

  std::vector<MemoryPart> memory(const Scenario& s) const override {
    // Per task slot (the most clients a round starts): its two persistent actors (runner and proxy: stack
    // pages, contexts, mailbox; actors/runners.hpp) and its task and records: 24 KiB with guard pages,
    // 32 KiB without (above kMostTasksWithGuardPages), measured by dtsim timing-only runs (30,000 clients;
    // 8,000 and 15,000 started: 324 and 492 MB peak; 16,000 and 30,000: 644 and 1,093 MB). Beyond 60,000
    // actors SimGrid's cost per actor grows (shared/reference/SIMGRID.md §4.5: 16 KB at 60 k, 58 KB at
    // 100 k, 98 KB at 200 k), which is added linearly between those points.
    const auto started = clients_to_select(s.training, s.platform.clients.count);
    // Where the server link's exact solver runs, a task without dynamics (Task::foldable) runs folded into
    // it: no actor, 1.5 KiB (task, outcome, transfers, timers; 1.0–1.15 KiB measured at 4,000–32,000 a
    // round); tasks with dynamics keep a runner actor per slot, with no proxy.
    const bool exact = server_link_shared_exactly(s.platform);
    const auto& d = s.dynamics;
    const bool slows_compute = (d.straggler || d.slow_fraction > 0) && d.target != StragglerTarget::link;
    const bool all_folded = exact && !slows_compute && d.availability == AvailabilityModel::always &&
                            d.crash_probability == 0 && !d.epoch_straggler_fraction &&
                            !(s.training.partial_work && s.training.deadline_s);
    constexpr double kFoldedTask = 1.5 * 1024;
    if (all_folded)
      return {{"round", kFoldedTask * static_cast<double>(started),
               "(" + std::to_string(started) + " clients started per round, folded into the server link's solver)",
               "training.clients_per_round"}};
    const double actors = (exact ? 1.0 : 2.0) * static_cast<double>(started);
    double kib_per_actor = started > actors::kMostTasksWithGuardPages ? 16 : 12;
    if (actors > 60'000) kib_per_actor += 42 * (std::min(actors, 100'000.0) - 60'000) / 40'000;
    if (actors > 100'000) kib_per_actor += 40 * (actors - 100'000) / 100'000;
    return {{"round", actors * kib_per_actor * 1024 + (exact ? kFoldedTask * static_cast<double>(started) : 0),
             "(" + std::to_string(started) + " clients started per round)", "training.clients_per_round"}};
  }

 private:
  void do_coordinate(RunContext& run, ParadigmOutcome& outcome) override {
    const auto& training = run.scenario.training;
    const std::int64_t d = run.workload.model().parameter_count();
    policies::AggregationPolicy& aggregation = run.policies.aggregation;
    const policies::WireBytes wire = aggregation.wire_bytes(d);
    const std::int64_t population = run.platform.participant_count();
    const std::int64_t classes = run.workload.data().train.classes;
    State state;
    if (run.resume) {
      // Everything after the checkpoint's round happens as it would have: the clock resumes at its exact
      // time, and the network and hosts are idle between rounds.
      const auto section = run.resume->sections.find("paradigm");
      if (section == run.resume->sections.end()) throw std::runtime_error("the checkpoint has no paradigm section");
      state = State::load(section->second);
      sg4::this_actor::sleep_until(run.resume->sim_time_s);
    }
    auto report_outcome = [&] {
      outcome.rounds_completed = state.round;
      outcome.final_sim_time_s = sg4::Engine::get_clock();
      outcome.final_test_accuracy = state.final_test_accuracy;
      outcome.final_test_round = state.final_test_round;
    };
    report_outcome();
    std::int64_t& version = state.version;
    actors::ArrivalQueue arrivals;  // one for the whole run: collect() leaves it empty
    // The server link's exact solver, where the platform left the link to dtsim (platform.solver: auto).
    std::optional<actors::ServerLink> server_link;
    if (const auto& shared = run.platform.shared_server_link()) {
      std::vector<actors::ServerLink::Route> routes(static_cast<std::size_t>(population));
      const BandwidthSteps& profile = run.scenario.platform.bandwidth_steps;  // client i follows trace client i mod M
      for (std::int64_t i = 0; i < population; ++i) {
        const ClientId id{static_cast<std::int32_t>(i)};
        const ClientHostSpec spec = run.platform.spec_of(id);
        // As SimGrid routes it: the client's link then the server's (the same sum as the folded link's).
        auto& r = routes[static_cast<std::size_t>(i)];
        r = {std::min(spec.bandwidth_bytes_per_s, shared->bandwidth_bytes_per_s), spec.latency_s + shared->latency_s,
             run.platform.host_of(id)->get_speed()};
        if (const auto steps = profile.steps.find(i % profile.trace_clients); steps != profile.steps.end())
          r.bandwidth_steps = &steps->second;
      }
      server_link.emplace(run.platform.coordinator(), shared->bandwidth_bytes_per_s, routes);
    }
    actors::TaskRunners runners(run.platform.coordinator(), server_link ? &*server_link : nullptr);
    for (std::int64_t round = state.round + 1; round <= training.rounds; ++round) {
      if (run.stop_requested.load()) {
        outcome.interrupted = true;
        if (run.checkpointer && state.round > 0) run.checkpointer->save(state.round, sg4::Engine::get_clock(), state.save());
        return;
      }
      const double t0 = sg4::Engine::get_clock();
      policies::SchedulingContext ctx;
      ctx.round = {round, version, t0};
      ctx.population = population;
      ctx.wanted = clients_to_select(training, population);
      ctx.keep_first = training.clients_per_round;
      ctx.deadline_s = training.deadline_s;
      ctx.availability = run.dynamics.availability();
      ctx.seed = run.scenario.seed;
      const policies::SchedulePlan plan = run.policies.scheduling.plan(ctx);

      // One task per planned client, task i on runner i; they post their arrivals to `arrivals`.
      std::vector<std::shared_ptr<actors::Task>> tasks;
      tasks.reserve(plan.clients.size());
      bool all_folded = true;
      const std::vector<bool> straggles = run.dynamics.epoch_stragglers(round, plan.clients.size());
      for (std::size_t i = 0; i < plan.clients.size(); ++i) {
        const ClientId id = plan.clients[i];
        const policies::LocalObjective objective = aggregation.local_objective(id, round);
        models::WorkItem work = run.workload.work(id, round, {objective.proximal_mu, objective.corrected});
        bool delivers = true;
        if (straggles[i]) {  // a paper-mode straggler: only its first epochs' steps, delivered with partial work
          const std::int64_t epochs = run.dynamics.straggler_epochs(id, round, work.epochs);
          work.steps = work.epochs > 0 ? work.steps / work.epochs * epochs : 0;
          work.flops = work.flops_of_steps(work.steps);
          delivers = training.partial_work || epochs == work.epochs;
        }
        actors::TaskPlan task{id,              round,      run.platform.coordinator(), run.platform.host_of(id),
                              wire.down_bytes, work.flops, wire.up_bytes,              work.steps,
                              run.platform.compute_scale(id)};
        task.delivers = delivers;
        apply_dynamics(run.dynamics, run.platform, t0, task);
        if (training.partial_work && plan.deadline_s) {
          task.compute_by_s = t0 + *plan.deadline_s;
          task.work = work;
        }
        tasks.push_back(std::make_shared<actors::Task>(task, arrivals, tasks.size()));
        if (server_link && tasks.back()->foldable()) {
          tasks.back()->start_folded(*server_link);  // no actor, no SimGrid activity: the solver times it
        } else {
          runners.start(i, tasks.back());
          all_folded = false;
        }
      }
      // A round of folded tasks only: no input reaches the solver before the deadline but from arrivals.
      if (server_link && all_folded)
        server_link->run_ahead_until(plan.deadline_s ? t0 + *plan.deadline_s : actors::SharedLinkSchedule::kNever);
      // No client online: the server waits out the round's deadline (availability needs one).
      if (tasks.empty() && plan.deadline_s) sg4::this_actor::sleep_until(t0 + *plan.deadline_s);
      actors::StopRule rule{plan.keep_first, std::nullopt, training.partial_work};
      if (plan.deadline_s) rule.deadline_at_s = t0 + *plan.deadline_s;
      const actors::Collected collected = actors::collect(tasks, arrivals, rule);
      if (server_link) server_link->run_ahead_until(-actors::SharedLinkSchedule::kNever);

      // The kept updates, in plan order.
      std::vector<bool> kept(tasks.size(), false);
      for (auto i : collected.kept) kept[i] = true;
      std::vector<ClientId> participants;
      std::vector<std::int64_t> participant_steps;
      for (std::size_t i = 0; i < tasks.size(); ++i)
        if (kept[i]) {
          participants.push_back(plan.clients[i]);
          participant_steps.push_back(tasks[i]->outcome().steps);
        }
      const bool aggregate = static_cast<std::int64_t>(participants.size()) >= training.min_completed;
      if (aggregate) sg4::this_actor::execute(aggregation.server_flops(static_cast<std::int64_t>(participants.size()), d));
      LearnRequest request{{round, version, sg4::Engine::get_clock()}, participants, participant_steps, aggregate,
                           evaluation_due(training, round), training.eval_train};
      const RoundLearning learned = run.learner.learn(request);
      if (aggregate) ++version;

      RoundRecord row;
      row.round = round;
      row.sim_time_s = sg4::Engine::get_clock();
      row.round_duration_s = row.sim_time_s - t0;
      row.selected = static_cast<std::int64_t>(tasks.size());
      row.completed = static_cast<std::int64_t>(participants.size());
      row.dropped = row.selected - row.completed;
      row.train_loss = learned.train_loss;
      row.test_loss = learned.test_loss;
      row.test_accuracy = learned.test_accuracy;
      row.aggregated = aggregate;
      row.train_accuracy = learned.train_accuracy;
      row.global_train_loss = learned.global_train_loss;
      row.global_train_accuracy = learned.global_train_accuracy;
      std::vector<policies::ClientOutcome> feedback;
      feedback.reserve(tasks.size());
      std::size_t next_participant = 0;
      for (std::size_t i = 0; i < tasks.size(); ++i) {
        const actors::TaskOutcome& o = tasks[i]->outcome();
        ClientRecord rec;
        rec.round = round;
        rec.client = o.client;
        rec.status = o.status;
        rec.start_s = o.start_s;
        rec.download_end_s = o.download_end_s;
        rec.compute_end_s = o.compute_end_s;
        rec.upload_end_s = o.upload_end_s;
        rec.local_steps = o.steps;
        rec.flops = o.flops;
        rec.bytes_down = o.bytes_down;
        rec.bytes_up = o.bytes_up;
        if (run.platform.has_power_model()) {
          rec.energy_j = participant_energy_j(o, t0, run.platform.power_of(o.client));
          row.energy_j = row.energy_j.value_or(0) + *rec.energy_j;
        }
        row.bytes_down += o.bytes_down;
        row.bytes_up += o.bytes_up;
        if (kept[i] && next_participant < learned.client_samples.size()) {
          rec.samples = learned.client_samples[next_participant];
          rec.train_loss = learned.client_train_loss[next_participant];
        }
        run.observer.on_client(rec);

        policies::ClientOutcome f;
        f.client = o.client;
        f.status = o.status;
        f.samples = static_cast<double>(run.workload.samples_of(o.client));
        f.steps = o.steps;
        f.download_s = minus(o.download_end_s, o.start_s);
        f.compute_s = minus(o.compute_end_s, o.download_end_s);
        f.upload_s = minus(o.upload_end_s, o.compute_end_s);
        if (kept[i]) {
          if (next_participant < learned.client_train_loss.size())
            f.train_loss = learned.client_train_loss[next_participant];
          ++next_participant;
        }
        feedback.push_back(f);
      }
      // Divergence: a loss that is not finite, or above factor × the first one.
      std::optional<std::string> diverged;
      if (learned.diverged)
        diverged = "the training loss or the model became NaN or infinite";
      else if (learned.train_loss)
        diverged = divergence(*learned.train_loss, state.first_train_loss, training.divergence_factor, classes);
      if (learned.train_loss && !state.first_train_loss && !diverged) state.first_train_loss = learned.train_loss;
      for (const auto& [metric, value] : learned.aggregation_metrics)
        run.observer.on_policy_metric({round, "aggregation", run.scenario.policies.aggregation.name, metric, value});
      run.observer.on_round(row);
      run.policies.scheduling.feedback(ctx.round, feedback);

      state.round = round;
      if (learned.test_accuracy) {
        state.final_test_accuracy = learned.test_accuracy;
        state.final_test_round = round;
      }
      report_outcome();
      if (diverged) {
        outcome.diverged = true;
        outcome.divergence = *diverged;
        return;
      }
      if (run.checkpointer) run.checkpointer->round_finished(round, row.sim_time_s, state.save());
    }
  }
};

}  // namespace

std::unique_ptr<Paradigm> make_federated_sync() { return std::make_unique<FederatedSync>(); }

}  // namespace dtsim::engine
