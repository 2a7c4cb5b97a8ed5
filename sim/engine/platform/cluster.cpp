// The `cluster` topology: a flat cluster, SimGrid's C++ equivalent of the XML <cluster> (a star zone
// with a backbone, as the 3.32 examples build it; shared/reference/SIMGRID.md §1). The server and every
// client have their own split-duplex link (the server's from platform.server, the clients' drawn as in
// `star`), and every route also crosses the shared backbone (platform.cluster.backbone), counted once:
// client → server is [client UP, backbone, server DOWN].
#include <simgrid/s4u.hpp>
#include <string>

#include "sim/engine/platform/platform.hpp"

namespace sg4 = simgrid::s4u;

namespace dtsim::engine {

namespace {

class ClusterBuilder final : public PlatformBuilder {
 public:
  std::unique_ptr<Platform> build(const PlatformSpec& spec, std::uint64_t seed) const override {
    auto* zone = sg4::create_star_zone("cluster");
    const auto& bb = spec.cluster.backbone;
    const sg4::Link* backbone = zone->create_link("backbone", bb.bandwidth_bytes_per_s)->set_latency(bb.latency_s)->seal();
    auto* server = zone->create_host("server", spec.server.speed_flops_per_s)->seal();
    attach_to_star(zone, server, spec.server.bandwidth_bytes_per_s, spec.server.latency_s, backbone);
    std::vector<HostListPlatform::Client> clients(static_cast<std::size_t>(spec.clients.count));
    for (std::size_t i = 0; i < clients.size(); ++i) {
      const ClientHostSpec drawn = draw_client_spec(spec, seed, ClientId{static_cast<std::int32_t>(i)});
      auto* host = zone->create_host("node" + std::to_string(i), drawn.speed_flops_per_s)->seal();
      attach_to_star(zone, host, drawn.bandwidth_bytes_per_s, drawn.latency_s, backbone);
      clients[i] = {host, drawn, 1};
    }
    zone->seal();
    return std::make_unique<HostListPlatform>(server, std::move(clients), class_names(spec));
  }

  std::vector<MemoryPart> memory(const PlatformSpec& spec) const override { return {host_memory(spec.clients.count, 1)}; }
};

}  // namespace

std::unique_ptr<PlatformBuilder> make_cluster_builder() { return std::make_unique<ClusterBuilder>(); }

}  // namespace dtsim::engine
