// The platform seam (DESIGN "Platform / PlatformBuilder"): the SimGrid hosts and links a paradigm plays
// on. A PlatformBuilder per topology (platform.topology: star, sites, cluster, fat_tree, xml; one file
// each) builds it; the registry (platform/builtin.cpp) makes builders by name. Only sim/engine includes
// SimGrid.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/common/ids.hpp"
#include "sim/common/memory_part.hpp"
#include "sim/common/registry.hpp"
#include "sim/scenario/scenario.hpp"

namespace simgrid::kernel::profile {
class Profile;
}
namespace simgrid::s4u {
class Host;
class Link;
class NetZone;
}  // namespace simgrid::s4u

namespace dtsim {
struct ParamsContext;
}

namespace dtsim::engine {

// One client's properties as drawn from the scenario's distributions (SI units).
struct ClientHostSpec {
  double speed_flops_per_s = 0;
  double bandwidth_bytes_per_s = 0;
  double latency_s = 0;
  int host_class = -1;     // index into platform.host_classes; -1 without classes
  double efficiency = 1;   // compute time = flops / (speed × efficiency)
  double watts_idle = 0, watts_busy = 0;
  bool speed_from_class = false;  // the class gave the speed (xml: it replaces the file's)
};

// Draws every client's class (by weight, from (seed, "platform.class", client)) and its speed,
// bandwidth and latency, one keyed stream per property and client (seed, "platform.<property>",
// client) — from its class's distribution when the class gives one, else platform.clients' — so adding
// clients never changes the first clients' draws. A draw from a distribution's tail is clamped into what
// SimGrid can simulate (the loader checked every value written in the scenario).
ClientHostSpec draw_client_spec(const PlatformSpec& platform, std::uint64_t seed, ClientId client);

// What a host draws while idle and while computing (W); both 0 without host classes.
struct HostPower {
  double idle_w = 0, busy_w = 0;
};

// A client's host and its route to the coordinator, as SimGrid routes it (platform.csv).
struct RouteInfo {
  std::string host;                 // the SimGrid host's name
  std::int64_t links = 0;           // links crossed (0: the client shares the server's host)
  double latency_s = 0;             // their summed latency
  double bandwidth_bytes_per_s = 0;  // the smallest of their bandwidths; 0 when there is no link
};

class Platform {
 public:
  virtual ~Platform() = default;
  // The host of the server / coordinator.
  virtual simgrid::s4u::Host* coordinator() const = 0;
  // Participants (federated clients), ids 0 .. participant_count() − 1.
  virtual std::int64_t participant_count() const = 0;
  virtual simgrid::s4u::Host* host_of(ClientId client) const = 0;
  // Its properties (platform.csv): as drawn, or as the topology sets them (fat_tree: the tree's link;
  // xml: the file's speed and the route's figures).
  virtual ClientHostSpec spec_of(ClientId client) const = 0;
  virtual std::string host_class_of(ClientId) const { return ""; }
  // Whether hosts have a power model (platform.host_classes given), and a client's.
  virtual bool has_power_model() const { return false; }
  virtual HostPower power_of(ClientId) const { return {}; }
  // SimGrid execution amount per modelled flop on the client's host: 1, unless the client's speed is not
  // its host's (xml with platform.clients.speed: host speed ÷ client speed). Flops reported stay modelled.
  virtual double compute_scale(ClientId) const { return 1; }
  // The client's route to the coordinator (needs the live engine): the topology's route, also where the
  // builder left a link SimGrid need not simulate out of it (fold_into_routes).
  RouteInfo route_of(ClientId client) const;

  // Called by a builder that left the server's link out of every client's route (it can never be a
  // bottleneck) and folded its latency into the clients' own links: route_of still reports it.
  void fold_into_routes(double server_link_bandwidth_bytes_per_s) { folded_bandwidth_ = server_link_bandwidth_bytes_per_s; }
  bool server_link_folded() const { return folded_bandwidth_ > 0 && !shared_server_link_; }

  // The server's link when it is left out of SimGrid's routes although it can bind: dtsim's exact solver
  // (actors/server_link.hpp) shares it, with these figures; each client's route is then its own link
  // (the server's latency folded in) plus this one.
  struct SharedServerLink {
    double bandwidth_bytes_per_s = 0;  // in each direction
    double latency_s = 0;
  };
  void share_server_link(SharedServerLink link) {
    fold_into_routes(link.bandwidth_bytes_per_s);
    shared_server_link_ = link;
  }
  const std::optional<SharedServerLink>& shared_server_link() const { return shared_server_link_; }

 private:
  double folded_bandwidth_ = 0;  // > 0: the server's link, folded (its bandwidth)
  std::optional<SharedServerLink> shared_server_link_;
};

// A platform of one server and one host per client or several clients per host, in vectors: what every
// builtin topology is once built.
class HostListPlatform : public Platform {
 public:
  struct Client {
    simgrid::s4u::Host* host = nullptr;
    ClientHostSpec spec;
    double compute_scale = 1;
  };
  // `classes`: platform.host_classes' names (ClientHostSpec::host_class indexes them).
  HostListPlatform(simgrid::s4u::Host* server, std::vector<Client> clients, std::vector<std::string> classes = {})
      : server_(server), clients_(std::move(clients)), classes_(std::move(classes)) {}
  simgrid::s4u::Host* coordinator() const override { return server_; }
  std::int64_t participant_count() const override { return static_cast<std::int64_t>(clients_.size()); }
  simgrid::s4u::Host* host_of(ClientId c) const override { return clients_.at(c.index()).host; }
  ClientHostSpec spec_of(ClientId c) const override { return clients_.at(c.index()).spec; }
  // The host's own scale, over the class's efficiency.
  double compute_scale(ClientId c) const override {
    const Client& k = clients_.at(c.index());
    return k.compute_scale / k.spec.efficiency;
  }
  std::string host_class_of(ClientId c) const override {
    const int k = clients_.at(c.index()).spec.host_class;
    return k < 0 ? std::string() : classes_.at(static_cast<std::size_t>(k));
  }
  bool has_power_model() const override { return !classes_.empty(); }
  HostPower power_of(ClientId c) const override {
    const ClientHostSpec& s = clients_.at(c.index()).spec;
    return {s.watts_idle, s.watts_busy};
  }

 private:
  simgrid::s4u::Host* server_;
  std::vector<Client> clients_;
  std::vector<std::string> classes_;
};

// Whether dtsim's exact solver shares the server's link (actors/server_link.hpp) instead of SimGrid's: a
// star under analytic (no cross-traffic: each direction alone; no TCP window cap), platform.solver auto,
// and no --simgrid network options (it models SimGrid's defaults only).
bool server_link_shared_exactly(const PlatformSpec& spec);

// The names of platform.host_classes, in order.
std::vector<std::string> class_names(const PlatformSpec& spec);

// In a star zone: the host's split-duplex access link, routed "from the host to everyone" through its UP
// side and then `shared` (a backbone or WAN core; the star zone counts a link both ends list once);
// symmetrical, so the way in uses the DOWN side.
// `bandwidth_profile` (both directions) changes the link's bandwidth over time.
simgrid::s4u::Link* attach_to_star(simgrid::s4u::NetZone* zone, simgrid::s4u::Host* host, double bandwidth,
                                   double latency, const simgrid::s4u::Link* shared = nullptr,
                                   simgrid::kernel::profile::Profile* bandwidth_profile = nullptr);

// The SimGrid profile of the client's link bandwidth (dynamics.bandwidth_profile; PlatformSpec's
// bandwidth_steps), or nullptr when its trace client has none.
simgrid::kernel::profile::Profile* bandwidth_profile_of(const PlatformSpec& spec, ClientId client);

// A star zone named `zone` of the server and one host per client (`<host_prefix><i>`), each on its own
// split-duplex link — the server's from platform.server, the clients' drawn — every route also crossing
// `backbone` (counted once) when given: `star` without one, `cluster` with one.
std::unique_ptr<Platform> build_flat_star(const PlatformSpec& spec, std::uint64_t seed, const std::string& zone,
                                          const std::string& host_prefix, const LinkSpec* backbone);

// SimGrid's and dtsim's memory per client host (the star's measurement, shared/reference/SIMGRID.md §4.6).
MemoryPart host_memory(std::int64_t clients, std::int64_t extra_links = 0);

class PlatformBuilder {
 public:
  virtual ~PlatformBuilder() = default;
  // Checks what only the topology knows, before anything is built (and in `dtsim validate`): errors
  // located at their keys in `context`. Needs no SimGrid engine.
  virtual void check(const PlatformSpec&, ParamsContext&) const {}
  // The input files build() reads (checksummed into run.yaml's provenance).
  virtual std::vector<std::string> input_files(const PlatformSpec&) const { return {}; }
  // Builds the hosts and links into SimGrid's engine, which must exist with its network model already
  // configured (configure_network_model).
  virtual std::unique_ptr<Platform> build(const PlatformSpec& spec, std::uint64_t seed) const = 0;
  // Modelled memory of what build() creates.
  virtual std::vector<MemoryPart> memory(const PlatformSpec& spec) const = 0;
};

using PlatformRegistry = Registry<std::unique_ptr<PlatformBuilder>()>;
const PlatformRegistry& platform_registry();  // by platform.topology

// Sets SimGrid's network model; must run before the first zone exists (SimGrid aborts otherwise). Every
// topology but `star` also gets network/optim:Full unless the user chose an optimisation (--simgrid):
// SimGrid 3.32's default lazy update gives flows that meet several distinct bottlenecks (one site's
// uplink each) more than the links hold — see docs/design-notes.md, "Topologies".
void configure_network_model(NetworkModel model, const std::string& topology = "star", bool user_sets_optim = false);

}  // namespace dtsim::engine
