// What the simulating engine tests share: each is one executable whose cases run one per process (SimGrid
// keeps global state: one engine per process), `NAME CASE [SIMGRID ARGS]`, one ctest entry per case.
// expect() records a failure and goes on; run_case() makes the engine, runs the case and reports.
#pragma once

#include <simgrid/s4u.hpp>
// clang-format off
#include <xbt/log.h>
// clang-format on

#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace dtsim::engine_tests {

inline int failures = 0;

inline void expect(bool ok, const std::string& what) {
  if (!ok) {
    std::fprintf(stderr, "FAILED: %s\n", what.c_str());
    ++failures;
  }
}

// Runs the case named by argv[1]; the arguments after it go to SimGrid (.ci/sanitizers.sh passes
// --cfg=contexts/factory:thread). `before` runs once the engine exists, before the case (a plugin's init).
inline int run_case(int argc, char** argv, const std::map<std::string, std::function<void()>>& cases,
                    const std::function<void()>& before = {}) {
  if (argc < 2 || !cases.count(argv[1])) {
    std::fprintf(stderr, "usage: %s CASE; cases:", argv[0]);
    for (const auto& [name, _] : cases) std::fprintf(stderr, " %s", name.c_str());
    std::fprintf(stderr, "\n");
    return 2;
  }
  xbt_log_control_set("root.thres:critical");
  std::vector<char*> sg_argv{argv[0]};
  for (int i = 2; i < argc; ++i) sg_argv.push_back(argv[i]);
  sg_argv.push_back(nullptr);
  int sg_argc = static_cast<int>(sg_argv.size()) - 1;
  simgrid::s4u::Engine engine(&sg_argc, sg_argv.data());
  if (before) before();
  cases.at(argv[1])();
  if (failures == 0) std::printf("%s: ok\n", argv[1]);
  return failures == 0 ? 0 : 1;
}

}  // namespace dtsim::engine_tests
