#include "sim/engine/provenance.hpp"

// SimGrid: s4u.hpp first, it brings the macros that version.h expects.
#include <simgrid/s4u.hpp>
// clang-format off
#include <simgrid/version.h>
// clang-format on

#include <build_info.hpp>

namespace dtsim::engine {

YAML::Node provenance(const std::string& backend, const std::vector<std::pair<std::string, std::string>>& checksums) {
  YAML::Node p;
  p["dtsim_version"] = build_info::version;
  p["git_commit"] = build_info::git_commit;
  p["simgrid_version"] = std::to_string(SIMGRID_VERSION_MAJOR) + "." + std::to_string(SIMGRID_VERSION_MINOR);
  p["build_type"] = build_info::build_type;
  p["compiler"] = build_info::compiler;
  p["flags"] = build_info::flags;
  p["backend"] = backend;
  YAML::Node sums(YAML::NodeType::Map);
  for (const auto& [file, sum] : checksums) sums[file] = "sha256:" + sum;
  p["dataset_checksums"] = sums;
  YAML::Node root;
  root["provenance"] = p;
  return root;
}

}  // namespace dtsim::engine
