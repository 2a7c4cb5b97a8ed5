// The energy meter (sim/engine/dynamics/energy.hpp) against SimGrid's host energy plugin, on a small
// star with one host per client: each client's host draws watts_idle when no execution runs on it and
// watts_busy while its one core computes (the plugin's "wattage_per_state" idle:busy), so the energy the
// plugin has metered on a client's host from the round's start to the client's last stage end (or the
// moment a collector stopped it) is the meter's figure. Client i computes on a (i+1)-times slower host;
// a deadline stops the slow ones mid-upload and mid-computation (their wasted energy).
// One SimGrid engine per process: one ctest entry per case (`energy_test CASE [SIMGRID ARGS]`).
#include <simgrid/plugins/energy.h>
#include <simgrid/s4u.hpp>

#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/engine/actors/collector.hpp"
#include "sim/engine/actors/runners.hpp"
#include "sim/engine/actors/task.hpp"
#include "sim/engine/platform/platform.hpp"
#include "sim/engine/dynamics/energy.hpp"

#include "tests/engine/engine_case_main.hpp"

namespace sg4 = simgrid::s4u;
using dtsim::engine_tests::expect;
using namespace dtsim;
using namespace dtsim::engine;
using namespace dtsim::engine::actors;

namespace {

constexpr int kClients = 4;
const HostPower kPower{2.0, 11.0};  // W idle, W busy

void round_against_plugin(std::optional<double> deadline_s) {
  dtsim::engine::configure_network_model(dtsim::NetworkModel::analytic);
  auto* zone = sg4::create_star_zone("star");
  auto attach = [zone](sg4::Host* h, double bw) { dtsim::engine::attach_to_star(zone, h, bw, 0.01); };
  auto* server = zone->create_host("server", 1e12)->seal();
  attach(server, 1e12);
  std::vector<sg4::Host*> hosts;
  for (int i = 0; i < kClients; ++i) {
    auto* h = zone->create_host("c" + std::to_string(i), 1e9 / (i + 1));
    h->set_property("wattage_per_state", std::to_string(kPower.idle_w) + ":" + std::to_string(kPower.busy_w));
    h->set_property("wattage_off", "0");
    hosts.push_back(h->seal());
    attach(hosts.back(), 1e6);
  }
  zone->seal();
  sg4::Actor::create("coordinator", server, [&] {
    ArrivalQueue arrivals;
    TaskRunners runners(server);
    std::vector<std::shared_ptr<Task>> tasks;
    std::vector<double> at_start;
    for (int i = 0; i < kClients; ++i) {
      at_start.push_back(sg_host_get_consumed_energy(hosts[static_cast<std::size_t>(i)]));
      TaskPlan plan{ClientId{i}, 1, server, hosts[static_cast<std::size_t>(i)], 1e6, 1e9, 1e6, 100};
      tasks.push_back(std::make_shared<Task>(plan, arrivals, tasks.size()));
      runners.start(tasks.size() - 1, tasks.back());
    }
    // Client i: download 1.02 s, compute i+1 s, upload 1.02 s (arrival at 3.04 + i). The plugin is read
    // once, when the collector returns; a host has drawn idle power since its client's last stage end,
    // so the energy up to that end is what was read minus idle·(now − end).
    collect(tasks, arrivals, {kClients, deadline_s});
    const double now = sg4::Engine::get_clock();
    for (int i = 0; i < kClients; ++i) {
      const auto& o = tasks[static_cast<std::size_t>(i)]->outcome();
      const double end = o.upload_end_s ? *o.upload_end_s : *o.stopped_s;
      const double plugin = sg_host_get_consumed_energy(hosts[static_cast<std::size_t>(i)]) -
                            at_start[static_cast<std::size_t>(i)] - kPower.idle_w * (now - end);
      const double meter = participant_energy_j(o, 0, kPower);
      expect(std::abs(plugin - meter) <= 1e-9 * std::max(1.0, plugin),
             "client " + std::to_string(i) + ": plugin " + std::to_string(plugin) + " J, meter " + std::to_string(meter) +
                 " J (status " + std::string(to_string(o.status)) + ")");
      if (deadline_s) {
        const bool stopped = i >= 1;
        expect(stopped == o.stopped_s.has_value(), "client " + std::to_string(i) + " stopped as planned");
      }
    }
  });
  sg4::Engine::get_instance()->run();
}

const std::map<std::string, std::function<void()>> cases{
    {"everyone_arrives", [] { round_against_plugin(std::nullopt); }},
    // At 3.5 s client 0 has arrived (3.04), client 1 is uploading (3.02..4.04), clients 2 and 3 are
    // computing (1.02..4.02, 1.02..5.02): those three are stopped where they are.
    {"deadline_stops_two", [] { round_against_plugin(3.5); }},
};

}  // namespace

int main(int argc, char** argv) { return dtsim::engine_tests::run_case(argc, argv, cases, sg_host_energy_plugin_init); }
