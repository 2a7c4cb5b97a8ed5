// The provenance block of run.yaml (DESIGN "Outputs"): which build, compiler, CPU, SimGrid and backend
// made the run, and the SHA-256 of every input file it read. A rerun of a run.yaml checks it: a changed
// input file is an error (the rerun would not be the same run), a different build or CPU class a
// warning naming the difference (time columns stay exact; learning columns may differ in their last bits).
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <utility>
#include <vector>

#include "sim/scenario/params.hpp"

namespace dtsim::engine {

using Checksums = std::vector<std::pair<std::string, std::string>>;  // (file, SHA-256 hex)

// {provenance: {dtsim_version, git_commit, simgrid_version, build_type, compiler, flags, isa, cpu_model,
// backend, dataset_checksums: {path: "sha256:..."}, platform_checksums: {path: "sha256:..."}}} (the
// second only when the topology reads files)
YAML::Node provenance(const std::string& backend, const Checksums& checksums, const Checksums& platform_files = {});

// When the scenario carries a provenance block (it is a run.yaml): errors for input files whose checksum
// differs or that were not read, warnings for another build, CPU class or backend; located at their keys.
void check_provenance(const YAML::Node& recorded, const YAML::Node& now, ParamsContext& context);

}  // namespace dtsim::engine
