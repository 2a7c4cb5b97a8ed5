#include "sim/engine/provenance.hpp"

// SimGrid: s4u.hpp first, it brings the macros that version.h expects.
#include <simgrid/s4u.hpp>
// clang-format off
#include <simgrid/version.h>
// clang-format on

#include <build_info.hpp>
#include <fstream>

namespace dtsim::engine {

namespace {

// The instruction-set extensions this build was compiled for (what -march=native chose).
std::string build_isa() {
  std::string isa;
  auto add = [&isa](const char* name) { isa += (isa.empty() ? "" : " ") + std::string(name); };
#if defined(__x86_64__)
  add("x86-64");
#endif
#if defined(__aarch64__)
  add("aarch64");
#endif
#if defined(__SSE4_2__)
  add("sse4.2");
#endif
#if defined(__AVX__)
  add("avx");
#endif
#if defined(__AVX2__)
  add("avx2");
#endif
#if defined(__FMA__)
  add("fma");
#endif
#if defined(__AVX512F__)
  add("avx512f");
#endif
#if defined(__AVX512BW__)
  add("avx512bw");
#endif
#if defined(__AVX512VL__)
  add("avx512vl");
#endif
  return isa;
}

std::string cpu_model() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line))
    if (line.starts_with("model name")) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  return "unknown";
}

std::string text_of(const YAML::Node& n) { return n && n.IsScalar() ? n.Scalar() : std::string("(none)"); }

}  // namespace

YAML::Node provenance(const std::string& backend, const Checksums& checksums, const Checksums& platform_files) {
  YAML::Node p;
  p["dtsim_version"] = build_info::version;
  p["git_commit"] = build_info::git_commit;
  p["simgrid_version"] = std::to_string(SIMGRID_VERSION_MAJOR) + "." + std::to_string(SIMGRID_VERSION_MINOR);
  p["build_type"] = build_info::build_type;
  p["compiler"] = build_info::compiler;
  p["flags"] = build_info::flags;
  p["isa"] = build_isa();
  p["cpu_model"] = cpu_model();
  p["backend"] = backend;
  YAML::Node sums(YAML::NodeType::Map);
  for (const auto& [file, sum] : checksums) sums[file] = "sha256:" + sum;
  p["dataset_checksums"] = sums;
  if (!platform_files.empty()) {
    YAML::Node files(YAML::NodeType::Map);
    for (const auto& [file, sum] : platform_files) files[file] = "sha256:" + sum;
    p["platform_checksums"] = files;
  }
  YAML::Node root;
  root["provenance"] = p;
  return root;
}

void check_provenance(const YAML::Node& recorded, const YAML::Node& now, ParamsContext& ctx) {
  if (!recorded || !recorded.IsMap()) return;
  const YAML::Node current = now["provenance"];
  for (const std::string section : {"dataset_checksums", "platform_checksums"}) {
    const YAML::Node sums = recorded[section];
    if (!sums || !sums.IsMap()) continue;
    for (const auto& kv : sums) {
      const std::string file = kv.first.Scalar();
      const YAML::Node got = current[section][file];
      if (!got)
        report_at(ctx, Severity::error, "provenance." + section,
                  "the run that wrote this file read '" + file + "', this one does not",
                  {"a rerun reads the same input files; restore them, or run the original scenario instead"});
      else if (got.Scalar() != kv.second.Scalar())
        report_at(ctx, Severity::error, "provenance." + section,
                  "'" + file + "' changed since the run that wrote this file (" + kv.second.Scalar() + " then, " +
                      got.Scalar() + " now)",
                  {"a rerun on other data is another run: restore the file, or remove the provenance block"});
    }
  }
  for (const char* key : {"dtsim_version", "git_commit", "simgrid_version", "compiler", "flags", "isa", "cpu_model",
                          "backend"}) {
    if (!recorded[key]) continue;
    const std::string was = text_of(recorded[key]), is = text_of(current[key]);
    if (was != is)
      report_at(ctx, Severity::warning, std::string("provenance.") + key,
                std::string(key) + " differs from the run that wrote this file: '" + was + "' then, '" + is + "' now",
                {key == std::string("simgrid_version") ? "time columns may differ"
                                                       : "time columns stay exact; learning columns may differ in their "
                                                         "last bits"});
  }
}

}  // namespace dtsim::engine
