#include "sim/engine/platform/platform.hpp"

#include <algorithm>
#include <limits>
#include <simgrid/s4u.hpp>

namespace sg4 = simgrid::s4u;

namespace dtsim::engine {

// Each property is drawn within what SimGrid can simulate (the schema's ranges): a draw outside is drawn again
// from the same keyed stream, at most Distribution::kMaxRedraws times, then clamped; the loader refuses a
// distribution with less than 1 % of its draws inside. A first draw inside is kept as drawn, so scenarios whose
// draws all lie in range keep their platforms to the bit.
ClientHostSpec draw_client_spec(const ClientsSpec& clients, std::uint64_t seed, ClientId client) {
  const auto i = static_cast<std::uint64_t>(client.value);
  constexpr double kLargest = std::numeric_limits<double>::max();
  Rng speed(seed, "platform.speed", i);
  Rng bandwidth(seed, "platform.bandwidth", i);
  Rng latency(seed, "platform.latency", i);
  ClientHostSpec spec;
  spec.speed_flops_per_s = clients.speed.draw_within(speed, kMinSpeedFlopsPerS, kLargest);
  spec.bandwidth_bytes_per_s = clients.bandwidth.draw_within(bandwidth, kMinBandwidthBytesPerS, kLargest);
  spec.latency_s = clients.latency.draw_within(latency, 0.0, kMaxLatencyS);
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
