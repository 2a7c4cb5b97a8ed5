// A task under dynamics (sim/engine/dynamics/dynamics.hpp, actors/task.hpp, actors/collector.hpp)
// against closed forms computed here, on an analytic star (uncontended times are latency + bytes /
// bandwidth and flops / speed): a crashed client's stages end at its crash point; one going offline
// mid-task stops there as unavailable; straggler factors stretch compute and transfers; a partial-work
// client computes exactly the whole steps that end by the deadline and uploads them, one that fits none
// is late. One SimGrid engine per process: one ctest entry per case.
#include <simgrid/s4u.hpp>

#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/engine/actors/collector.hpp"
#include "sim/engine/actors/runners.hpp"
#include "sim/engine/actors/task.hpp"
#include "sim/engine/dynamics/dynamics.hpp"
#include "sim/engine/platform/platform.hpp"

#include "tests/engine/engine_case_main.hpp"

namespace sg4 = simgrid::s4u;
using dtsim::engine_tests::expect;
using namespace dtsim;
using namespace dtsim::engine;
using namespace dtsim::engine::actors;

namespace {

constexpr int kClients = 24;
constexpr double kSpeed = 1e9, kBandwidth = 1e6, kLatency = 0.01;  // every client's host and link
constexpr double kServerLatency = 0.001, kServerBandwidth = 1e9;
constexpr double kBytes = 1e6, kFlops = 2e9;
// The route: both links' latencies; the narrower bandwidth.
constexpr double kRouteLatency = kLatency + kServerLatency;
constexpr double kTransfer = kRouteLatency + kBytes / kBandwidth;  // one uncontended transfer (s)

bool near(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(b)); }
std::string str(double v) { return std::to_string(v); }

std::unique_ptr<Platform> analytic_star() {
  configure_network_model(NetworkModel::analytic);
  PlatformSpec spec;
  spec.network_model = NetworkModel::analytic;
  spec.server = {1e12, kServerBandwidth, kServerLatency};
  spec.clients.count = kClients;
  spec.clients.speed = Distribution::constant_of(kSpeed);
  spec.clients.bandwidth = Distribution::constant_of(kBandwidth);
  spec.clients.latency = Distribution::constant_of(kLatency);
  return build_flat_star(spec, 1, "star", "client", nullptr);
}

TaskPlan plan_for(const Platform& p, int i) {
  return TaskPlan{ClientId{i}, 1, p.coordinator(), p.host_of(ClientId{i}), kBytes, kFlops, kBytes, 100};
}

// Plays one round of every client under `dynamics` (collector rule `rule`), then calls `check`.
void play(const Dynamics& dynamics, StopRule rule, const std::function<void(TaskPlan&)>& adjust,
          const std::function<void(const std::vector<std::shared_ptr<Task>>&)>& check) {
  auto platform = analytic_star();
  const Platform& p = *platform;
  sg4::Actor::create("coordinator", p.coordinator(), [&] {
    ArrivalQueue arrivals;
    TaskRunners runners(p.coordinator());
    std::vector<std::shared_ptr<Task>> tasks;
    for (int i = 0; i < kClients; ++i) {
      TaskPlan plan = plan_for(p, i);
      apply_dynamics(dynamics, p, 0, plan);
      if (adjust) adjust(plan);
      tasks.push_back(std::make_shared<Task>(plan, arrivals, tasks.size()));
      runners.start(tasks.size() - 1, tasks.back());
    }
    collect(tasks, arrivals, rule);
    check(tasks);
  });
  sg4::Engine::get_instance()->run();
}

// Every client crashes (probability 1) at u of its planned 2·transfer + compute; the stage it was in
// stops there, with the whole bytes or flops it had done.
void crashes_at_their_point() {
  DynamicsSpec spec;
  spec.crash_probability = 1;
  const Dynamics dynamics(spec, 3);
  const double planned = 2 * kTransfer + kFlops / kSpeed;
  play(dynamics, {kClients, std::nullopt}, {}, [&](const std::vector<std::shared_ptr<Task>>& tasks) {
    int in_stage[3] = {0, 0, 0};
    for (const auto& t : tasks) {
      const TaskOutcome& o = t->outcome();
      const std::string who = "client " + std::to_string(o.client.value);
      const auto u = dynamics.crash_point(o.client, 1);
      expect(u.has_value(), who + " has a crash point");
      const double at = *u * planned;
      expect(o.status == ClientStatus::crashed, who + " crashed");
      expect(o.stopped_s && near(*o.stopped_s, at), who + " stopped at " + str(at));
      if (at < kTransfer) {  // downloading: bytes after the latency, at the link's bandwidth
        ++in_stage[0];
        const double bytes = at <= kRouteLatency ? 0 : std::floor((at - kRouteLatency) * kBandwidth);
        expect(!o.download_end_s, who + " never finished its download");
        expect(std::abs(o.bytes_down - bytes) <= 1, who + " downloaded " + str(o.bytes_down) + " of " + str(bytes));
      } else if (at < kTransfer + kFlops / kSpeed) {
        ++in_stage[1];
        expect(o.download_end_s && near(*o.download_end_s, kTransfer), who + " downloaded");
        expect(!o.compute_end_s, who + " never finished computing");
        const double flops = std::floor((at - kTransfer) * kSpeed);
        expect(std::abs(o.flops - flops) <= 1, who + " computed " + str(o.flops) + " of " + str(flops));
        expect(o.bytes_up == 0, who + " uploaded nothing");
      } else {
        ++in_stage[2];
        expect(o.compute_end_s && near(*o.compute_end_s, kTransfer + kFlops / kSpeed), who + " computed");
        expect(o.flops == kFlops && o.steps == 100, who + " has all its flops and steps");
        expect(!o.upload_end_s, who + " never finished its upload");
      }
    }
    for (int s = 0; s < 3; ++s) expect(in_stage[s] > 0, "some client crashed in stage " + std::to_string(s));
  });
}

// Client i is online on [0, (i + 0.5) / kClients of its planned time) by a trace: it goes offline there,
// mid-task, and is stopped as unavailable at that moment; the round still ends (no deadline).
void offline_mid_task_is_unavailable() {
  const double planned = 2 * kTransfer + kFlops / kSpeed;
  std::vector<std::pair<std::int64_t, TraceAvailability::Interval>> rows;
  for (int i = 0; i < kClients; ++i) rows.push_back({i, {0, (i + 0.5) / kClients * planned}});
  DynamicsSpec spec;
  spec.availability = AvailabilityModel::trace;
  const Dynamics dynamics(spec, 1, std::make_shared<TraceAvailability>(rows));
  play(dynamics, {kClients, std::nullopt}, {}, [&](const std::vector<std::shared_ptr<Task>>& tasks) {
    for (const auto& t : tasks) {
      const TaskOutcome& o = t->outcome();
      const double off = (o.client.value + 0.5) / kClients * planned;
      const std::string who = "client " + std::to_string(o.client.value);
      expect(o.status == ClientStatus::unavailable, who + " is unavailable");
      expect(o.stopped_s && near(*o.stopped_s, off), who + " stopped when it went offline, " + str(off));
      expect(!o.upload_end_s, who + " never arrived");
    }
    expect(near(sg4::Engine::get_clock(), (kClients - 0.5) / kClients * planned),
           "the round ended when the last client went offline");
  });
}

// Slow hosts (every client, factor 4) on both targets: compute takes 4× flops / speed, a transfer takes
// latency + 4× bytes / bandwidth (its rate capped at a quarter of the route's bandwidth).
void stragglers_stretch_compute_and_links() {
  DynamicsSpec spec;
  spec.slow_fraction = 1;
  spec.slow_factor = 4;
  spec.target = StragglerTarget::both;
  const Dynamics dynamics(spec, 1);
  play(dynamics, {kClients, std::nullopt}, {}, [&](const std::vector<std::shared_ptr<Task>>& tasks) {
    const double transfer = kRouteLatency + 4 * kBytes / kBandwidth;
    for (const auto& t : tasks) {
      const TaskOutcome& o = t->outcome();
      const std::string who = "client " + std::to_string(o.client.value);
      expect(o.status == ClientStatus::completed, who + " completed");
      expect(o.download_end_s && near(*o.download_end_s, transfer), who + " download " + str(transfer));
      expect(o.compute_end_s && near(*o.compute_end_s, transfer + 4 * kFlops / kSpeed), who + " compute");
      expect(o.upload_end_s && near(*o.upload_end_s, 2 * transfer + 4 * kFlops / kSpeed), who + " upload");
      expect(o.flops == kFlops && o.bytes_down == kBytes && o.bytes_up == kBytes, who + " counts modelled amounts");
    }
  });
}

// Partial work: 95 samples, batch 10, 3 epochs (30 steps; an epoch's last step has 5 samples), 1e7 flops a
// sample and 1e6 a step; the deadline falls at a different step for each client (its compute_slowdown
// varies). Expected whole steps by a plain walk over the steps' own flops.
void partial_work_computes_the_whole_steps_that_fit() {
  models::WorkItem work;
  work.samples = 95;
  work.epochs = 3;
  work.batch_size = 10;
  work.steps = 30;
  work.flops_per_sample = 1e7;
  work.flops_per_step = 1e6;
  work.flops = work.flops_of_steps(work.steps);
  const double deadline = kTransfer + 1.0;  // one second of compute after the download
  const auto slowdown_of = [](int i) { return 0.05 + 0.6 * i; };  // client 0 fits all, the last few fit none
  const auto expected_steps = [&](int i) {
    double t = kTransfer;
    int steps = 0;
    for (int j = 0; j < work.steps; ++j) {
      const std::int64_t rows = std::min<std::int64_t>(10, 95 - (j % 10) * 10);
      const double next = t + (static_cast<double>(rows) * 1e7 + 1e6) * slowdown_of(i) / kSpeed;
      if (next > deadline) break;
      t = next;
      ++steps;
    }
    return steps;
  };
  play(Dynamics(DynamicsSpec{}, 1), {kClients, deadline, true},
       [&](TaskPlan& plan) {
         plan.flops = work.flops;
         plan.steps = work.steps;
         plan.work = work;
         plan.compute_by_s = deadline;
         plan.compute_slowdown = slowdown_of(plan.client.value);
       },
       [&](const std::vector<std::shared_ptr<Task>>& tasks) {
         int partial = 0, late = 0;
         for (const auto& t : tasks) {
           const TaskOutcome& o = t->outcome();
           const int i = o.client.value;
           const int steps = expected_steps(i);
           const std::string who = "client " + std::to_string(i) + " (" + std::to_string(steps) + " steps fit)";
           if (steps == 0) {
             ++late;
             expect(o.status == ClientStatus::late, who + " is late");
             continue;
           }
           partial += steps < work.steps ? 1 : 0;
           const double compute_end = kTransfer + work.flops_of_steps(steps) * slowdown_of(i) / kSpeed;
           expect(o.status == ClientStatus::completed, who + " completed");
           expect(o.steps == steps, who + " took " + std::to_string(o.steps));
           expect(o.flops == work.flops_of_steps(steps), who + " counts the flops of those steps");
           expect(o.compute_end_s && near(*o.compute_end_s, compute_end) && *o.compute_end_s <= deadline + 1e-12,
                  who + " computed until " + str(compute_end));
           expect(o.upload_end_s && near(*o.upload_end_s, compute_end + kTransfer), who + " uploaded at once");
         }
         expect(partial >= 5 && late >= 2, "clients of every kind: " + std::to_string(partial) + " partial, " +
                                               std::to_string(late) + " late");
         // The round ends with the last partial upload, after the deadline.
         double last = 0;
         for (const auto& t : tasks)
           if (t->outcome().upload_end_s) last = std::max(last, *t->outcome().upload_end_s);
         expect(last > deadline && near(sg4::Engine::get_clock(), last), "the round ended at the last upload");
       });
}

const std::map<std::string, std::function<void()>> cases{
    {"crashes_at_their_point", crashes_at_their_point},
    {"offline_mid_task_is_unavailable", offline_mid_task_is_unavailable},
    {"stragglers_stretch_compute_and_links", stragglers_stretch_compute_and_links},
    {"partial_work_computes_the_whole_steps_that_fit", partial_work_computes_the_whole_steps_that_fit},
};

}  // namespace

int main(int argc, char** argv) { return dtsim::engine_tests::run_case(argc, argv, cases); }
