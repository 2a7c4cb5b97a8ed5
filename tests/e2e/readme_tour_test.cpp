// README's tour works exactly as written, twice in a row (no run may refuse the folder an earlier one
// left): every `build/dtsim` line of its first sh block, run in a folder that holds build/, scenarios/
// and analysis/ as a fresh clone does.
#include <doctest/doctest.h>

#include <cstdlib>
#include <sstream>

#include "e2e_util.hpp"

using namespace e2e;

TEST_SUITE("e2e") {
  TEST_CASE("readme: the tour's dtsim commands run, twice, as written") {
    const auto readme = slurp(source_dir() / "README.md");
    const auto tour = readme.find("## A short tour");
    REQUIRE(tour != std::string::npos);
    const auto begin = readme.find("```sh\n", tour);
    const auto end = readme.find("```", begin + 6);
    REQUIRE(begin != std::string::npos);
    std::istringstream block(readme.substr(begin + 6, end - begin - 6));
    std::vector<std::string> commands;
    int other_lines = 0;  // every line of the tour is a dtsim command
    for (std::string line; std::getline(block, line);) {
      const auto hash = line.find("  #");
      if (hash != std::string::npos) line = line.substr(0, hash);
      while (!line.empty() && line.back() == ' ') line.pop_back();
      if (line.starts_with("build/dtsim ")) commands.push_back(line);
      else if (!line.empty()) ++other_lines;
    }
    REQUIRE(commands.size() >= 5);
    // A clone's layout: build/dtsim (the binary under test), scenarios/, analysis/.
    const auto clone = scratch("readme_tour");
    fs::create_directories(clone / "build");
    fs::create_symlink(DTSIM_BINARY, clone / "build" / "dtsim");
    fs::create_symlink(fs::path(DTSIM_BINARY).parent_path() / "libdtsim_cuda.so", clone / "build" / "libdtsim_cuda.so");
    fs::create_symlink(source_dir() / "scenarios", clone / "scenarios");
    fs::create_symlink(source_dir() / "analysis", clone / "analysis");
    for (int pass = 1; pass <= 2; ++pass) {
      for (const auto& command : commands) {
        CAPTURE(pass);
        CAPTURE(command);
        const auto cmd =
            "cd " + quote(clone.string()) + " && " + command + " >/dev/null 2>" + quote((clone / "err").string());
        const int status = std::system(cmd.c_str());
        INFO(slurp(clone / "err"));
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
      }
    }
    CHECK(other_lines == 0);
    CHECK(fs::exists(clone / "results" / "quickstart" / "rounds.csv"));
    CHECK(fs::exists(clone / "results" / "quickstart" / "plots" / "accuracy.png"));
    CHECK(e2e::read_csv(clone / "results" / "sweep" / "runs.csv").size() == 6);
    CHECK(fs::exists(clone / "results" / "sweep" / "plots" / "sweep_policies.aggregation.png"));
  }
}
