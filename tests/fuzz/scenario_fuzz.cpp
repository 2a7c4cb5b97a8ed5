// libFuzzer target: the scenario loader on arbitrary text (DESIGN principle 5: bad input gets a clear
// error, never a crash, a hang or a wrong file). Leading lines "#set KEY=VALUE" (YAML comments, so every
// seed stays a valid scenario) are also passed as --set overrides.
//
// Expected: ConfigError. Anything else (another exception, a sanitizer report, a timeout) is a bug.
// When a scenario loads, its resolved text (run.yaml) must load again to the same resolved text.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "policies/aggregation/aggregation.hpp"
#include "policies/scheduling/scheduling.hpp"
#include "sim/scenario/config_error.hpp"
#include "sim/scenario/params.hpp"
#include "sim/scenario/scenario.hpp"

namespace {

using namespace dtsim;

// What prepare_run does with the scenario before it builds components that read files: the loader, then
// the policy factories (which add their own errors), then finish_validation.
Scenario load_like_dtsim(const std::string& text, const std::string& label, const std::vector<Override>& overrides) {
  Scenario s = read_scenario_text(text, label, overrides);
  const BuildContext build{s.platform.clients.count, 0, {}, s.training.mode, 0, 0};
  auto& a = s.policies.aggregation;
  if (const auto* entry = policies::aggregation_registry().lookup(a.name, *a.params)) entry->make(*a.params, build);
  auto& sc = s.policies.scheduling;
  if (const auto* entry = policies::scheduling_registry().lookup(sc.name, *sc.params)) entry->make(*sc.params, build);
  finish_validation(s);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<Override> overrides;
  try {
    for (std::size_t start = 0; text.compare(start, 5, "#set ") == 0 && overrides.size() < 4;) {
      const std::size_t end = text.find('\n', start);
      overrides.push_back(parse_override(text.substr(start + 5, end == std::string::npos ? end : end - start - 5)));
      if (end == std::string::npos) break;
      start = end + 1;
    }
  } catch (const ConfigError&) {
    return 0;
  }

  std::string resolved;
  try {
    resolved = resolved_yaml(load_like_dtsim(text, "fuzz.yaml", overrides));
  } catch (const ConfigError& e) {
    // A message never brings a control character to the terminal (only its own line breaks).
    const std::string message = e.what();
    for (std::size_t start = 0;;) {
      const std::size_t end = message.find('\n', start);
      const std::string line = message.substr(start, end == std::string::npos ? end : end - start);
      if (escape_control(line) != line) {
        std::fprintf(stderr, "a message holds a control character:\n%s\n", message.c_str());
        std::abort();
      }
      if (end == std::string::npos) break;
      start = end + 1;
    }
    return 0;
  }
  // run.yaml of a valid scenario must run again, identically.
  try {
    const std::string again = resolved_yaml(load_like_dtsim(resolved, "run.yaml", {}));
    if (again != resolved) {
      std::fprintf(stderr, "resolved text changed on reload:\n--- first\n%s\n--- again\n%s\n", resolved.c_str(),
                   again.c_str());
      std::abort();
    }
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "the resolved text of a valid scenario does not load:\n%s\n--- error\n%s\n", resolved.c_str(),
                 e.what());
    std::abort();
  }
  return 0;
}
