// The `cluster` topology: a flat cluster, SimGrid's C++ equivalent of the XML <cluster> (a star zone
// with a backbone, as the 3.32 examples build it; shared/reference/SIMGRID.md §1). The server and every
// client have their own split-duplex link (the server's from platform.server, the clients' drawn as in
// `star`), and every route also crosses the shared backbone (platform.cluster.backbone), counted once:
// client → server is [client UP, backbone, server DOWN].
#include "sim/engine/platform/platform.hpp"

namespace dtsim::engine {

namespace {

class ClusterBuilder final : public PlatformBuilder {
 public:
  std::unique_ptr<Platform> build(const PlatformSpec& spec, std::uint64_t seed) const override {
    return build_flat_star(spec, seed, "cluster", "node", &spec.cluster.backbone);
  }

  std::vector<MemoryPart> memory(const PlatformSpec& spec) const override { return {host_memory(spec.clients.count, 1)}; }
};

}  // namespace

std::unique_ptr<PlatformBuilder> make_cluster_builder() { return std::make_unique<ClusterBuilder>(); }

}  // namespace dtsim::engine
