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

class StarBuilder final : public PlatformBuilder {
 public:
  std::unique_ptr<Platform> build(const PlatformSpec& spec, std::uint64_t seed) const override {
    auto* zone = sg4::create_star_zone("star");
    auto* server = zone->create_host("server", spec.server.speed_flops_per_s)->seal();
    attach_to_star(zone, server, spec.server.bandwidth_bytes_per_s, spec.server.latency_s);
    std::vector<HostListPlatform::Client> clients(static_cast<std::size_t>(spec.clients.count));
    for (std::size_t i = 0; i < clients.size(); ++i) {
      const ClientHostSpec drawn = draw_client_spec(spec, seed, ClientId{static_cast<std::int32_t>(i)});
      auto* host = zone->create_host("client" + std::to_string(i), drawn.speed_flops_per_s)->seal();
      attach_to_star(zone, host, drawn.bandwidth_bytes_per_s, drawn.latency_s);
      clients[i] = {host, drawn, 1};
    }
    zone->seal();
    return std::make_unique<HostListPlatform>(server, std::move(clients), class_names(spec));
  }
  std::vector<MemoryPart> memory(const PlatformSpec& spec) const override { return {host_memory(spec.clients.count)}; }
};

}  // namespace

std::unique_ptr<PlatformBuilder> make_star_builder() { return std::make_unique<StarBuilder>(); }

}  // namespace dtsim::engine
