// The platform builders by topology: one line per builder. Their keys are in the schema table.
#include "sim/engine/platform/platform.hpp"

namespace dtsim::engine {

std::unique_ptr<PlatformBuilder> make_star_builder();
std::unique_ptr<PlatformBuilder> make_sites_builder();
std::unique_ptr<PlatformBuilder> make_cluster_builder();
std::unique_ptr<PlatformBuilder> make_fat_tree_builder();
std::unique_ptr<PlatformBuilder> make_xml_builder();

const PlatformRegistry& platform_registry() {
  static const PlatformRegistry registry(
      "topology", {
                      {"star", "one server, every client on its own link to it", {}, make_star_builder},
                      {"sites", "clients in sites behind shared uplinks, over a WAN core", {}, make_sites_builder},
                      {"cluster", "a flat cluster: own links and one shared backbone", {}, make_cluster_builder},
                      {"fat_tree", "SimGrid's fat tree, the server on node 0", {}, make_fat_tree_builder},
                      {"xml", "a SimGrid platform file, hosts picked by regexes", {}, make_xml_builder},
                  });
  return registry;
}

}  // namespace dtsim::engine
