// The platform seam (DESIGN "Platform / PlatformBuilder"): the SimGrid hosts and links a paradigm plays
// on. A PlatformBuilder per topology (platform.topology) builds it; the registry (platform/builtin.cpp)
// makes builders by name. Only sim/engine includes SimGrid.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sim/common/ids.hpp"
#include "sim/common/memory_part.hpp"
#include "sim/common/registry.hpp"
#include "sim/scenario/scenario.hpp"

namespace simgrid::s4u {
class Host;
class Link;
}  // namespace simgrid::s4u

namespace dtsim::engine {

// One client's properties as drawn from the scenario's distributions (SI units).
struct ClientHostSpec {
  double speed_flops_per_s = 0;
  double bandwidth_bytes_per_s = 0;
  double latency_s = 0;
};

// Draws every client's speed, bandwidth and latency, one keyed stream per property and client
// (seed, "platform.<property>", client), so adding clients never changes the first clients' draws. A
// draw from a distribution's tail is clamped into what SimGrid can simulate (the loader checked every
// value written in the scenario).
ClientHostSpec draw_client_spec(const ClientsSpec& clients, std::uint64_t seed, ClientId client);

class Platform {
 public:
  virtual ~Platform() = default;
  // The host of the server / coordinator.
  virtual simgrid::s4u::Host* coordinator() const = 0;
  // Participants (federated clients), ids 0 .. participant_count() − 1.
  virtual std::int64_t participant_count() const = 0;
  virtual simgrid::s4u::Host* host_of(ClientId client) const = 0;
  // The participant's own access link (split-duplex).
  virtual simgrid::s4u::Link* link_of(ClientId client) const = 0;
  // Its properties as drawn (platform.csv).
  virtual ClientHostSpec spec_of(ClientId client) const = 0;
  virtual std::string host_class_of(ClientId) const { return ""; }
};

class PlatformBuilder {
 public:
  virtual ~PlatformBuilder() = default;
  // Builds the hosts and links into SimGrid's engine, which must exist with its network model already
  // configured (configure_network_model).
  virtual std::unique_ptr<Platform> build(const PlatformSpec& spec, std::uint64_t seed) const = 0;
  // Modelled memory of what build() creates.
  virtual std::vector<MemoryPart> memory(const PlatformSpec& spec) const = 0;
};

using PlatformRegistry = Registry<std::unique_ptr<PlatformBuilder>()>;
const PlatformRegistry& platform_registry();  // by platform.topology

// Sets SimGrid's network model; must run before the first zone exists (SimGrid aborts otherwise).
void configure_network_model(NetworkModel model);

}  // namespace dtsim::engine
