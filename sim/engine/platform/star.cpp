// The `star` topology: one server host and one host per client, each host with its own split-duplex
// link (bandwidth, latency) to the star's centre. A download crosses the server's UP link and the
// client's DOWN link; an upload the client's UP and the server's DOWN link, so every concurrent transfer
// shares the server's link.
#include <simgrid/s4u.hpp>
#include <string>

#include "sim/engine/platform/platform.hpp"

namespace sg4 = simgrid::s4u;

namespace dtsim::engine {

namespace {

// A host's access link, routed "from the host to everyone" through its UP side; symmetrical, so the way
// in uses the DOWN side.
sg4::Link* attach(sg4::NetZone* zone, sg4::Host* host, double bandwidth, double latency) {
  auto* link = zone->create_split_duplex_link(host->get_name() + "_link", bandwidth)->set_latency(latency);
  link->seal();
  zone->add_route(host->get_netpoint(), nullptr, nullptr, nullptr, {{link, sg4::LinkInRoute::Direction::UP}}, true);
  return link;
}

class StarPlatform final : public Platform {
 public:
  StarPlatform(const PlatformSpec& spec, std::uint64_t seed) {
    auto* zone = sg4::create_star_zone("star");
    server_ = zone->create_host("server", spec.server.speed_flops_per_s)->seal();
    attach(zone, server_, spec.server.bandwidth_bytes_per_s, spec.server.latency_s);
    const auto n = static_cast<std::size_t>(spec.clients.count);
    clients_.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      const ClientId id{static_cast<std::int32_t>(i)};
      const ClientHostSpec drawn = draw_client_spec(spec.clients, seed, id);
      auto* host = zone->create_host("client" + std::to_string(i), drawn.speed_flops_per_s)->seal();
      auto* link = attach(zone, host, drawn.bandwidth_bytes_per_s, drawn.latency_s);
      clients_.push_back({host, link, drawn});
    }
    zone->seal();
  }

  sg4::Host* coordinator() const override { return server_; }
  std::int64_t participant_count() const override { return static_cast<std::int64_t>(clients_.size()); }
  sg4::Host* host_of(ClientId c) const override { return clients_.at(c.index()).host; }
  sg4::Link* link_of(ClientId c) const override { return clients_.at(c.index()).link; }
  ClientHostSpec spec_of(ClientId c) const override { return clients_.at(c.index()).spec; }

 private:
  struct Client {
    sg4::Host* host;
    sg4::Link* link;
    ClientHostSpec spec;
  };
  sg4::Host* server_ = nullptr;
  std::vector<Client> clients_;
};

class StarBuilder final : public PlatformBuilder {
 public:
  std::unique_ptr<Platform> build(const PlatformSpec& spec, std::uint64_t seed) const override {
    return std::make_unique<StarPlatform>(spec, seed);
  }
  std::vector<MemoryPart> memory(const PlatformSpec& spec) const override {
    // Per client: SimGrid's host, split-duplex link, netpoint and route (2.74 KB, shared/reference/
    // SIMGRID.md §4.6) and dtsim's records of the client (the platform's, the workload's sample count, the
    // partition's index list; 256 B: dtsim timing-only runs measured 2.9–3.0 KB per client in all from
    // 1,000 to 40,000 clients).
    constexpr double simgrid = 2740, records = 256;
    return {{"platform", (simgrid + records) * static_cast<double>(spec.clients.count),
             "(" + std::to_string(spec.clients.count) + " clients)", "platform.clients.count"}};
  }
};

}  // namespace

std::unique_ptr<PlatformBuilder> make_star_builder() { return std::make_unique<StarBuilder>(); }

}  // namespace dtsim::engine
