// The provenance block of run.yaml: which build, SimGrid and backend made the run, and the SHA-256 of
// every input file it read.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <utility>
#include <vector>

namespace dtsim::engine {

// {provenance: {dtsim_version, git_commit, simgrid_version, build_type, compiler, flags, backend,
// dataset_checksums: {path: "sha256:..."}}}
YAML::Node provenance(const std::string& backend, const std::vector<std::pair<std::string, std::string>>& checksums);

}  // namespace dtsim::engine
