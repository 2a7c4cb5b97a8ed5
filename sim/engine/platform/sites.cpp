// The `sites` topology (cross-silo): clients spread over platform.sites.count sites, client i in site
// i mod count. Each site is a star zone of its clients' own links (drawn as in `star`) behind a router;
// the world is a star zone in which every site's uplink (platform.sites.uplink, split-duplex, no latency)
// and the server's zone (the server and its link) meet on one shared WAN core (platform.sites.wan). A client's upload crosses its
// link UP, its site's uplink UP, the core and the server's link DOWN: uploads contend per site on the
// uplink, and every site's on the core (shared/reference/SIMGRID.md §1, "Hierarchical sites").
#include <simgrid/s4u.hpp>
#include <string>

#include "sim/engine/platform/platform.hpp"

namespace sg4 = simgrid::s4u;

namespace dtsim::engine {

namespace {

class SitesBuilder final : public PlatformBuilder {
 public:
  std::unique_ptr<Platform> build(const PlatformSpec& spec, std::uint64_t seed) const override {
    auto* world = sg4::create_star_zone("world");  // the first zone made is the root
    const sg4::Link* core =
        world->create_link("wan_core", spec.sites.wan.bandwidth_bytes_per_s)->set_latency(spec.sites.wan.latency_s)->seal();
    // The server in a zone of its own: SimGrid 3.32's star zone misroutes between a host it holds
    // directly and a child zone (the route came out as the server's own link, both ways).
    auto* hq = sg4::create_star_zone("server_zone");
    hq->set_parent(world);
    auto* server = hq->create_host("server", spec.server.speed_flops_per_s)->seal();
    attach_to_star(hq, server, spec.server.bandwidth_bytes_per_s, spec.server.latency_s);
    auto* hq_router = hq->create_router("server_router");
    hq->seal();
    world->add_route(hq->get_netpoint(), nullptr, hq_router, nullptr, {sg4::LinkInRoute(core)}, true);

    const auto sites = static_cast<std::size_t>(spec.sites.count);
    std::vector<sg4::NetZone*> zones(sites);
    for (std::size_t s = 0; s < sites; ++s) {
      zones[s] = sg4::create_star_zone("site" + std::to_string(s));
      zones[s]->set_parent(world);
    }
    std::vector<HostListPlatform::Client> clients(static_cast<std::size_t>(spec.clients.count));
    for (std::size_t i = 0; i < clients.size(); ++i) {
      const ClientHostSpec drawn = draw_client_spec(spec, seed, ClientId{static_cast<std::int32_t>(i)});
      auto* zone = zones[i % sites];
      auto* host = zone->create_host("client" + std::to_string(i), drawn.speed_flops_per_s)->seal();
      attach_to_star(zone, host, drawn.bandwidth_bytes_per_s, drawn.latency_s, nullptr,
                     bandwidth_profile_of(spec, ClientId{static_cast<std::int32_t>(i)}));
      clients[i] = {host, drawn, 1};
    }
    for (std::size_t s = 0; s < sites; ++s) {
      auto* router = zones[s]->create_router("site" + std::to_string(s) + "_router");
      zones[s]->seal();
      auto* uplink = world->create_split_duplex_link("site" + std::to_string(s) + "_uplink", spec.sites.uplink_bytes_per_s);
      uplink->seal();
      world->add_route(zones[s]->get_netpoint(), nullptr, router, nullptr,
                       {{uplink, sg4::LinkInRoute::Direction::UP}, sg4::LinkInRoute(core)}, true);
    }
    world->seal();
    return std::make_unique<HostListPlatform>(server, std::move(clients), class_names(spec));
  }

  std::vector<MemoryPart> memory(const PlatformSpec& spec) const override {
    return {host_memory(spec.clients.count, spec.sites.count)};
  }
};

}  // namespace

std::unique_ptr<PlatformBuilder> make_sites_builder() { return std::make_unique<SitesBuilder>(); }

}  // namespace dtsim::engine
