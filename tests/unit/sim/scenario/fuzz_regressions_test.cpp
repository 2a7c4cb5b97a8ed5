// Replays the inputs under tests/fuzz/regressions/ (each once crashed, hung or misled the loader, or
// stresses a fixed bug) with the fuzz targets' oracles: a ConfigError or a scenario whose resolved text
// loads again to itself (scenario/); a reason for every refused quantity (units/).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/scenario/scenario.hpp"
#include "sim/scenario/units.hpp"

using namespace dtsim;

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> inputs(const std::string& kind) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(fs::path(DTSIM_SOURCE_DIR) / "tests" / "fuzz" / "regressions" / kind))
    if (entry.is_regular_file()) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// As scenario_fuzz: leading "#set KEY=VALUE" lines are overrides.
std::vector<Override> overrides_of(const std::string& text) {
  std::vector<Override> out;
  for (std::size_t start = 0; text.compare(start, 5, "#set ") == 0 && out.size() < 4;) {
    const std::size_t end = text.find('\n', start);
    out.push_back(parse_override(text.substr(start + 5, end == std::string::npos ? end : end - start - 5)));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

}  // namespace

TEST_SUITE("scenario") {
  TEST_CASE("fuzz regressions: every scenario input gives a ConfigError or a scenario that reloads to itself") {
    const auto files = inputs("scenario");
    REQUIRE(files.size() >= 5);
    for (const auto& file : files) {
      const auto name = file.filename().string();
      CAPTURE(name);
      const std::string text = slurp(file);

      std::string resolved;
      try {
        Scenario s = read_scenario_text(text, name, overrides_of(text));
        finish_validation(s);
        resolved = resolved_yaml(s);
      } catch (const ConfigError& e) {
        CHECK(std::string(e.what()).find("error: ") != std::string::npos);
        continue;
      }
      Scenario again = read_scenario_text(resolved, "run.yaml");
      finish_validation(again);
      CHECK(resolved_yaml(again) == resolved);
    }
  }

  TEST_CASE("fuzz regressions: every units input gives a finite quantity >= 0 or a reason") {
    const auto files = inputs("units");
    REQUIRE(files.size() >= 2);
    for (const auto& file : files) {
      const auto name = file.filename().string();
      CAPTURE(name);
      const std::string text = slurp(file);
      for (const UnitKind kind : {UnitKind::flop_rate, UnitKind::data_rate, UnitKind::time, UnitKind::data_size}) {
        std::string why;
        const auto value = parse_quantity(text, kind, &why);
        if (value)
          CHECK((std::isfinite(*value) && *value >= 0 && !std::signbit(*value)));
        else
          CHECK_FALSE(why.empty());
      }
      std::string key_path = "(refused)";
      try {
        key_path = parse_override(text).key_path;
      } catch (const ConfigError&) {
      }
      CHECK_FALSE(key_path.empty());
    }
  }
}
