#include "sim/engine/platform.hpp"

#include <algorithm>
#include <simgrid/s4u.hpp>
#include <string>

namespace sg4 = simgrid::s4u;

namespace dtsim::engine {

std::vector<ClientHostSpec> draw_client_specs(const Scenario& scenario) {
  const auto& clients = scenario.platform.clients;
  std::vector<ClientHostSpec> specs(static_cast<std::size_t>(clients.count));
  for (std::size_t i = 0; i < specs.size(); ++i) {
    Rng speed(scenario.seed, "platform.speed", i);
    Rng bandwidth(scenario.seed, "platform.bandwidth", i);
    Rng latency(scenario.seed, "platform.latency", i);
    // The loader checked every value written in the scenario; a draw from a distribution's tail is
    // clamped into what SimGrid can simulate.
    specs[i].speed_flops_per_s = std::max(kMinSpeedFlopsPerS, clients.speed.sample(speed, true));
    specs[i].bandwidth_bytes_per_s = std::max(kMinBandwidthBytesPerS, clients.bandwidth.sample(bandwidth, true));
    specs[i].latency_s = std::clamp(clients.latency.sample(latency, false), 0.0, kMaxLatencyS);
  }
  return specs;
}

void configure_network_model(NetworkModel model) {
  if (model == NetworkModel::analytic) {
    // CM02 without cross-traffic and without the TCP window cap: an uncontended transfer takes exactly
    // latency + bytes / bandwidth (shared/reference/SIMGRID.md §5).
    sg4::Engine::set_config("network/model:CM02");
    sg4::Engine::set_config("network/crosstraffic:0");
    sg4::Engine::set_config("network/TCP-gamma:1e30");
  }
  // flow: SimGrid's default LV08 flow model (latency and bandwidth corrections, RTT-aware sharing).
}

namespace {
void attach(sg4::NetZone* zone, sg4::Host* host, double bandwidth, double latency) {
  const auto* link =
      zone->create_split_duplex_link(host->get_name() + "_link", bandwidth)->set_latency(latency)->seal();
  // From `host` to everyone through its UP link; symmetrical, so the way in uses the DOWN link.
  zone->add_route(host->get_netpoint(), nullptr, nullptr, nullptr, {{link, sg4::LinkInRoute::Direction::UP}}, true);
}
}  // namespace

Platform build_star_platform(const PlatformSpec& spec, const std::vector<ClientHostSpec>& clients) {
  Platform platform;
  auto* zone = sg4::create_star_zone("star");
  platform.server = zone->create_host("server", spec.server.speed_flops_per_s)->seal();
  attach(zone, platform.server, spec.server.bandwidth_bytes_per_s, spec.server.latency_s);
  platform.clients.reserve(clients.size());
  for (std::size_t i = 0; i < clients.size(); ++i) {
    auto* host = zone->create_host("client" + std::to_string(i), clients[i].speed_flops_per_s)->seal();
    attach(zone, host, clients[i].bandwidth_bytes_per_s, clients[i].latency_s);
    platform.clients.push_back(host);
  }
  zone->seal();
  return platform;
}

}  // namespace dtsim::engine
