// Builds the SimGrid platform of a scenario from C++ (no XML). Only sim/engine includes SimGrid.
#pragma once

#include <cstdint>
#include <vector>

#include "sim/scenario/scenario.hpp"

namespace simgrid::s4u {
class Host;
}

namespace dtsim::engine {

// The per-client properties drawn from the scenario's distributions, one keyed stream per property
// (seed, "platform.<property>", client), so adding clients never changes the first clients' draws.
struct ClientHostSpec {
  double speed_flops_per_s = 0;
  double bandwidth_bytes_per_s = 0;
  double latency_s = 0;
};
std::vector<ClientHostSpec> draw_client_specs(const Scenario& scenario);

struct Platform {
  simgrid::s4u::Host* server = nullptr;
  std::vector<simgrid::s4u::Host*> clients;  // index = client id
};

// Configures the network model (must run before the first zone exists) and builds the `star` topology:
// one server host and one host per client, each host with its own split-duplex link (bandwidth,
// latency) to the star's centre. A client→server transfer crosses the client's UP link and the server's
// DOWN link; all concurrent transfers share the server's link. Requires a live simgrid Engine.
void configure_network_model(NetworkModel model);
Platform build_star_platform(const PlatformSpec& spec, const std::vector<ClientHostSpec>& clients);

}  // namespace dtsim::engine
