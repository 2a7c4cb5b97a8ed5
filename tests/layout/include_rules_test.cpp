// The include rules of DESIGN "Layout", checked on every source file so they hold without a reviewer:
//   - only sim/engine (and tests) include SimGrid (<simgrid/...>, <xbt/...>);
//   - only kernels/cuda includes CUDA headers (<cuda*.h>, <cublas*>, <curand*>, <cuda/...>, <thrust/...>);
//   - dependencies point one way: sim/common at the bottom (standard library only), then sim/scenario,
//     then kernels, then models and policies (siblings), then sim/report, then sim/engine, then sim/sweep,
//     then sim/main.cpp.
// Sibling includes allowed: policies/ may include kernels/ (aggregation rules compute on the Backend)
// but not models/, and models/ may not include policies/ — a policy sees plain values, never a model;
// sim/report depends only on the bottom layer. sim/common may include nothing of dtsim at all.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

// The layer a project path belongs to ("" for paths outside the checked tree).
std::string layer_of(const std::string& path) {
  for (const char* l : {"sim/common/", "sim/scenario/", "sim/report/", "sim/engine/", "sim/sweep/", "kernels/cuda/", "kernels/",
                        "models/", "policies/", "bench/", "tests/"})
    if (path.starts_with(l)) return std::string(l).substr(0, std::string(l).size() - 1);
  if (path == "sim/main.cpp") return "sim/main";
  return "";
}

// Which project layers each layer may include (itself always).
const std::map<std::string, std::set<std::string>>& allowed() {
  static const std::map<std::string, std::set<std::string>> table{
      {"sim/common", {}},
      {"sim/scenario", {"sim/common"}},
      {"kernels", {"sim/common"}},
      {"kernels/cuda", {"kernels", "sim/common"}},
      {"models", {"kernels", "sim/common", "sim/scenario"}},
      {"policies", {"kernels", "sim/common", "sim/scenario"}},
      {"sim/report", {"sim/common", "sim/scenario"}},
      {"sim/engine", {"sim/common", "sim/scenario", "sim/report", "kernels", "models", "policies"}},
      // sweep/collect: processes and files, never SimGrid (the SimGrid rule above); from the engine only the
      // output folder's rules (locks, run files) and run preparation
      {"sim/sweep", {"sim/common", "sim/scenario", "sim/report", "sim/engine"}},
      {"sim/main",
       {"sim/common", "sim/scenario", "sim/report", "kernels", "models", "policies", "sim/engine", "sim/sweep"}},
      {"bench", {"sim/common", "sim/scenario", "kernels", "models", "policies"}},
  };
  return table;
}

bool is_simgrid(const std::string& header) { return header.starts_with("simgrid/") || header.starts_with("xbt/"); }
bool is_cuda(const std::string& header) {
  return header.starts_with("cuda") || header.starts_with("cublas") || header.starts_with("curand") ||
         header.starts_with("cuda/") || header.starts_with("thrust/") || header.starts_with("cub/");
}

// The violations of one file's text ("line N: why"); `path` is relative to the source root.
std::vector<std::string> violations(const std::string& path, const std::string& text) {
  std::vector<std::string> out;
  const std::string layer = layer_of(path);
  static const std::regex include(R"(^\s*#\s*include\s*([<"])([^>"]+)[>"])");
  std::istringstream lines(text);
  std::string line;
  for (int n = 1; std::getline(lines, line); ++n) {
    std::smatch m;
    if (!std::regex_search(line, m, include)) continue;
    const std::string header = m[2];
    const auto where = "line " + std::to_string(n) + ": #include " + m[1].str() + header + ": ";
    if (is_simgrid(header) && layer != "sim/engine" && layer != "tests") out.push_back(where + "only sim/engine includes SimGrid");
    if (is_cuda(header) && layer != "kernels/cuda") out.push_back(where + "only kernels/cuda includes CUDA headers");
    if (m[1] != "\"" || layer == "tests") continue;
    const std::string target = layer_of(header);
    if (target.empty() || target == layer) continue;
    const auto rule = allowed().find(layer);
    if (rule != allowed().end() && !rule->second.count(target))
      out.push_back(where + layer + "/ may not include " + target + "/");
  }
  return out;
}

}  // namespace

TEST_SUITE("layout") {
  TEST_CASE("include rules: no source file breaks a layering rule") {
    const fs::path root(DTSIM_SOURCE_DIR);
    std::size_t files = 0;
    std::vector<std::string> found;
    for (const char* top : {"sim", "models", "policies", "kernels", "bench"}) {
      for (const auto& entry : fs::recursive_directory_iterator(root / top)) {
        const auto ext = entry.path().extension().string();
        if (!entry.is_regular_file() || (ext != ".cpp" && ext != ".hpp" && ext != ".cu" && ext != ".cuh")) continue;
        const std::string path = fs::relative(entry.path(), root).generic_string();
        std::ifstream in(entry.path());
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        for (const auto& v : violations(path, text)) found.push_back(path + ": " + v);
        ++files;
      }
    }
    CHECK(files > 50);
    for (const auto& v : found) FAIL_CHECK(v);
  }

  TEST_CASE("include rules: the checker catches each kind of violation") {
    CHECK(violations("models/mlp.cpp", "#include <simgrid/s4u.hpp>\n").size() == 1);
    CHECK(violations("kernels/cpu/cpu_backend.cpp", "#include <cublas_v2.h>\n").size() == 1);
    CHECK(violations("policies/aggregation/fedavg.cpp", "#include \"models/mlp.hpp\"\n").size() == 1);
    CHECK(violations("sim/scenario/params.cpp", "  #  include \"sim/engine/run_one.hpp\"\n").size() == 1);
    CHECK(violations("sim/common/rng.hpp", "#include \"sim/scenario/units.hpp\"\n").size() == 1);
    CHECK(violations("models/mlp.cpp", "#include \"policies/common.hpp\"\n").size() == 1);
    CHECK(violations("sim/report/csv_writer.cpp", "#include \"kernels/backend.hpp\"\n").size() == 1);
    CHECK(violations("sim/sweep/runner.cpp", "#include <simgrid/s4u.hpp>\n").size() == 1);
    CHECK(violations("sim/engine/run_one.cpp", "#include \"sim/sweep/grid.hpp\"\n").size() == 1);
    // and lets the allowed ones through
    CHECK(violations("sim/engine/actors/task.cpp", "#include <simgrid/s4u.hpp>\n#include \"models/workload.hpp\"\n")
              .empty());
    CHECK(violations("kernels/cuda/cuda_backend.cpp", "#include <cuda_runtime.h>\n#include \"kernels/backend.hpp\"\n")
              .empty());
    CHECK(violations("policies/aggregation/fedavg.cpp", "#include \"kernels/backend.hpp\"\n").empty());
    CHECK(violations("sim/main.cpp", "#include \"sim/engine/run_one.hpp\"\n").empty());
  }
}
