// The platform builders by topology: one line per builder. Their keys are in the schema table.
#include "sim/engine/platform/platform.hpp"

namespace dtsim::engine {

std::unique_ptr<PlatformBuilder> make_star_builder();

const PlatformRegistry& platform_registry() {
  static const PlatformRegistry registry(
      "topology", {
                      {"star", "one server, every client on its own link to it", {}, make_star_builder},
                  });
  return registry;
}

}  // namespace dtsim::engine
