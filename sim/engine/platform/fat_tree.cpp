// The `fat_tree` topology: SimGrid's fat-tree zone (create_fatTree_zone, the cluster XML's
// topo_parameters "levels;down;up;parallel"), every link split-duplex with platform.fat_tree.link's
// bandwidth and latency. Its nodes, Π down of them, are hosts: the server on node 0 (platform.server's
// speed), client i on node i + 1 (its speed drawn as in `star`), the rest idle. A node's link is the
// tree's, so the clients have no drawn bandwidth or latency (platform.clients.bandwidth and latency do not
// apply). Between two nodes whose nearest common ancestor is at level h a route crosses 2·h links.
#include <simgrid/s4u.hpp>
#include <string>

#include "sim/engine/platform/platform.hpp"
#include "sim/scenario/params.hpp"

namespace sg4 = simgrid::s4u;

namespace dtsim::engine {

namespace {

constexpr std::int64_t kMaxNodes = 10'000'000;

std::int64_t nodes_of(const FatTreeSpec& f) {
  std::int64_t n = 1;
  for (auto d : f.down) n = std::min(n * d, kMaxNodes + 1);
  return n;
}

std::vector<unsigned> as_unsigned(const std::vector<std::int64_t>& v) { return {v.begin(), v.end()}; }

class FatTreeBuilder final : public PlatformBuilder {
 public:
  void check(const PlatformSpec& spec, ParamsContext& context) const override {
    const auto& f = spec.fat_tree;
    if (static_cast<std::int64_t>(f.down.size()) != f.levels) return;  // reported by the loader
    const std::int64_t nodes = nodes_of(f);
    if (nodes > kMaxNodes)
      report_at(context, Severity::error, "platform.fat_tree.down",
                "the fat tree would have more than " + std::to_string(kMaxNodes) + " nodes");
    else if (spec.clients.count + 1 > nodes)
      report_at(context, Severity::error, "platform.clients.count",
                std::to_string(spec.clients.count) + " clients and the server need " +
                    std::to_string(spec.clients.count + 1) + " nodes; the fat tree has " + std::to_string(nodes) +
                    " (the product of platform.fat_tree.down)");
  }

  std::unique_ptr<Platform> build(const PlatformSpec& spec, std::uint64_t seed) const override {
    const auto& f = spec.fat_tree;
    std::vector<sg4::Host*> hosts(static_cast<std::size_t>(nodes_of(f)), nullptr);
    std::vector<ClientHostSpec> drawn(static_cast<std::size_t>(spec.clients.count));
    for (std::size_t i = 0; i < drawn.size(); ++i) {
      drawn[i] = draw_client_spec(spec, seed, ClientId{static_cast<std::int32_t>(i)});
      drawn[i].bandwidth_bytes_per_s = f.link.bandwidth_bytes_per_s;
      drawn[i].latency_s = f.link.latency_s;
    }
    const auto speed_of = [&](unsigned long id) {
      if (id == 0) return spec.server.speed_flops_per_s;
      return id <= drawn.size() ? drawn[id - 1].speed_flops_per_s : spec.server.speed_flops_per_s;
    };
    auto* zone = sg4::create_fatTree_zone(
        "fat_tree", nullptr, sg4::FatTreeParams(static_cast<unsigned>(f.levels), as_unsigned(f.down), as_unsigned(f.up),
                                                as_unsigned(f.parallel)),
        sg4::ClusterCallbacks([&](sg4::NetZone* z, const std::vector<unsigned long>&, unsigned long id) {
          auto* h = z->create_host("node" + std::to_string(id), speed_of(id))->seal();
          hosts.at(id) = h;
          return std::pair<simgrid::kernel::routing::NetPoint*, simgrid::kernel::routing::NetPoint*>(h->get_netpoint(),
                                                                                                      nullptr);
        }),
        f.link.bandwidth_bytes_per_s, f.link.latency_s, sg4::Link::SharingPolicy::SPLITDUPLEX);
    zone->seal();
    std::vector<HostListPlatform::Client> clients(drawn.size());
    for (std::size_t i = 0; i < drawn.size(); ++i) clients[i] = {hosts.at(i + 1), drawn[i], 1};
    return std::make_unique<HostListPlatform>(hosts.at(0), std::move(clients), class_names(spec));
  }

  std::vector<MemoryPart> memory(const PlatformSpec& spec) const override {
    const std::int64_t nodes = std::min(nodes_of(spec.fat_tree), kMaxNodes);
    return {host_memory(std::max(nodes, spec.clients.count), nodes * spec.fat_tree.levels)};
  }
};

}  // namespace

std::unique_ptr<PlatformBuilder> make_fat_tree_builder() { return std::make_unique<FatTreeBuilder>(); }

}  // namespace dtsim::engine
