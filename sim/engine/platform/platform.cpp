#include "sim/engine/platform/platform.hpp"

#include <algorithm>
#include <simgrid/s4u.hpp>

namespace sg4 = simgrid::s4u;

namespace dtsim::engine {

ClientHostSpec draw_client_spec(const ClientsSpec& clients, std::uint64_t seed, ClientId client) {
  const auto i = static_cast<std::uint64_t>(client.value);
  Rng speed(seed, "platform.speed", i);
  Rng bandwidth(seed, "platform.bandwidth", i);
  Rng latency(seed, "platform.latency", i);
  ClientHostSpec spec;
  spec.speed_flops_per_s = std::max(kMinSpeedFlopsPerS, clients.speed.sample(speed, true));
  spec.bandwidth_bytes_per_s = std::max(kMinBandwidthBytesPerS, clients.bandwidth.sample(bandwidth, true));
  spec.latency_s = std::clamp(clients.latency.sample(latency, false), 0.0, kMaxLatencyS);
  return spec;
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

}  // namespace dtsim::engine
