// The collector's stop rules at their boundaries, on a hand-built analytic platform where every time is
// exact in binary floating point: latencies 0, 1e6-byte transfers over 1e6 B/s links (1 s each way),
// 1e9-flop computations on 1 Gf/s hosts (1 s), so client i (speed 1/(i+1) Gf/s) arrives at t = 3 + i.
// One SimGrid engine per process: each case is its own ctest entry (`collector_test CASE [SIMGRID ARGS]`).
#include <simgrid/s4u.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/engine/actors/collector.hpp"
#include "sim/engine/actors/runners.hpp"
#include "sim/engine/actors/task.hpp"
#include "sim/engine/platform/platform.hpp"

#include "tests/engine/engine_case_main.hpp"

namespace sg4 = simgrid::s4u;
using dtsim::engine_tests::expect;
using namespace dtsim;
using namespace dtsim::engine::actors;

namespace {

struct Bench {
  sg4::Host* server = nullptr;
  std::vector<sg4::Host*> clients;
};

Bench build(int clients) {
  dtsim::engine::configure_network_model(dtsim::NetworkModel::analytic);
  auto* zone = sg4::create_star_zone("star");
  auto attach = [zone](sg4::Host* h, double bw) { dtsim::engine::attach_to_star(zone, h, bw, 0); };
  Bench b;
  b.server = zone->create_host("server", 1e12)->seal();
  attach(b.server, 1e12);
  for (int i = 0; i < clients; ++i) {
    auto* h = zone->create_host("c" + std::to_string(i), 1e9 / (i + 1))->seal();
    attach(h, 1e6);
    b.clients.push_back(h);
  }
  zone->seal();
  return b;
}

// Runs one round of `n` tasks under `rule` (deadline relative to 0) and hands the tasks and the result
// to `check`, inside the coordinator actor.
void round(int n, StopRule rule, std::function<void(const std::vector<std::shared_ptr<Task>>&, const Collected&)> check) {
  const Bench b = build(n);
  sg4::Actor::create("coordinator", b.server, [&] {
    ArrivalQueue arrivals;
    TaskRunners runners(b.server);
    std::vector<std::shared_ptr<Task>> tasks;
    for (int i = 0; i < n; ++i) {
      TaskPlan plan{ClientId{i}, 1, b.server, b.clients[static_cast<std::size_t>(i)], 1e6, (i + 1) * 1e9 / (i + 1),
                    1e6, 100};
      plan.flops = 1e9;  // on a host of 1/(i+1) Gf/s: i+1 seconds
      tasks.push_back(std::make_shared<Task>(plan, arrivals, tasks.size()));
      runners.start(tasks.size() - 1, tasks.back());
    }
    const Collected c = collect(tasks, arrivals, rule);
    check(tasks, c);
  });
  sg4::Engine::get_instance()->run();
}

const std::map<std::string, std::function<void()>> cases{
    {"deadline_exactly_at_arrival_is_on_time",
     [] {
       // Client 0 arrives at 3, client 1 at 4, client 2 at 5; the deadline is 4.
       round(3, {3, 4.0}, [](const auto& tasks, const Collected& c) {
         expect(c.kept.size() == 2, "two arrivals kept (at 3 and at exactly 4)");
         expect(!c.reached_keep_first, "K not reached");
         expect(c.stopped_at_s == 4.0, "stopped at the deadline");
         expect(tasks[1]->outcome().status == ClientStatus::completed, "the one at exactly 4 is on time");
         expect(tasks[2]->outcome().status == ClientStatus::late, "the one at 5 is late");
       });
     }},
    {"deadline_just_before_arrival_is_late",
     [] {
       // SimGrid resolves time to surf/precision (1e-9 s by default): events closer than that are
       // simultaneous, so a deadline 1e-10 s before an arrival is "exactly at" it. 1e-6 s before is late.
       round(2, {2, 4.0 - 1e-6}, [](const auto& tasks, const Collected& c) {
         expect(c.kept.size() == 1, "one arrival kept");
         expect(tasks[1]->outcome().status == ClientStatus::late, "1 us before its arrival: late");
         // It was cut during its upload (from 3 to 4): almost all of it was sent, not all.
         const auto& o = tasks[1]->outcome();
         expect(o.bytes_up < 1e6 && o.bytes_up > 0.99e6, "late upload counts the bytes actually sent");
         expect(o.flops == 1e9 && o.steps == 100, "its computation was complete");
         expect(!o.upload_end_s.has_value(), "no upload end");
       });
     }},
    {"first_k_drops_the_rest_where_they_are",
     [] {
       // K = 1: client 0 arrives at 3; client 1 is then uploading (3..4), client 3 computing (1..5).
       round(4, {1, std::nullopt}, [](const auto& tasks, const Collected& c) {
         expect(c.kept.size() == 1 && c.kept[0] == 0, "the first arrival is kept");
         expect(c.reached_keep_first, "K reached");
         expect(c.stopped_at_s == 3.0, "stopped at the first arrival");
         for (std::size_t i = 1; i < tasks.size(); ++i)
           expect(tasks[i]->outcome().status == ClientStatus::dropped, "the others are dropped");
         const auto& computing = tasks[3]->outcome();  // 1e9 flops at 0.25 Gf/s from t=1: half done at 3
         expect(computing.flops == 5e8, "half of its flops were executed");
         expect(computing.steps == 50, "half of its steps");
         expect(computing.bytes_up == 0 && !computing.compute_end_s, "no upload, no compute end");
         const auto& uploading = tasks[1]->outcome();  // its upload started at exactly 3: nothing sent yet
         expect(uploading.bytes_up == 0, "an upload that starts at the stop sends nothing");
       });
     }},
    {"no_rule_waits_for_everyone",
     [] {
       round(3, {3, std::nullopt}, [](const auto& tasks, const Collected& c) {
         expect(c.kept.size() == 3, "all kept");
         expect(c.stopped_at_s == 5.0, "the last arrives at 5");
         for (const auto& t : tasks) expect(t->outcome().status == ClientStatus::completed, "completed");
         expect(*tasks[2]->outcome().upload_end_s == 5.0, "exact arrival time");
       });
     }},
};

}  // namespace

int main(int argc, char** argv) { return dtsim::engine_tests::run_case(argc, argv, cases); }
