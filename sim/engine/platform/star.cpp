// The `star` topology: one server host and one host per client, each host with its own split-duplex
// link (bandwidth, latency) to the star's centre. A download crosses the server's UP link and the
// client's DOWN link; an upload the client's UP and the server's DOWN link, so every concurrent transfer
// shares the server's link.
#include "sim/engine/platform/platform.hpp"

namespace dtsim::engine {

namespace {

class StarBuilder final : public PlatformBuilder {
 public:
  std::unique_ptr<Platform> build(const PlatformSpec& spec, std::uint64_t seed) const override {
    return build_flat_star(spec, seed, "star", "client", nullptr);
  }

  std::vector<MemoryPart> memory(const PlatformSpec& spec) const override { return {host_memory(spec.clients.count)}; }
};

}  // namespace

std::unique_ptr<PlatformBuilder> make_star_builder() { return std::make_unique<StarBuilder>(); }

}  // namespace dtsim::engine
