// Every ready scenario in scenarios/ validates and runs a short horizon (2 rounds): a scenario that
// stops loading or running is caught the day it breaks.
#include <doctest/doctest.h>

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "e2e_util.hpp"

using namespace e2e;

TEST_SUITE("e2e") {
  TEST_CASE("scenarios: every file in scenarios/ validates and runs two rounds") {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(source_dir() / "scenarios"))
      if (entry.path().extension() == ".yaml") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    REQUIRE(files.size() >= 2);
    for (const auto& file : files) {
      CAPTURE(file.filename().string());
      const auto validated = run_dtsim({"validate", file.string()});
      INFO(validated.err);
      CHECK(validated.exit_code == 0);
      const auto out = scratch("scenario_" + file.stem().string());
      const auto ran = run_dtsim({"run", file.string(), "--out", out.string(), "--quiet", "--set", "training.rounds=2",
                                  "--set", "training.eval_every=1"});
      INFO(ran.err);
      REQUIRE(ran.exit_code == 0);
      const auto rounds = read_csv(out / "rounds.csv");
      REQUIRE(rounds.size() == 2);
      CHECK_FALSE(rounds[1].at("test_accuracy").empty());
      // platform.csv: one row per client of the resolved scenario
      const auto count = YAML::LoadFile((out / "run.yaml").string())["platform"]["clients"]["count"].as<std::size_t>();
      CHECK(read_csv(out / "platform.csv").size() == count);
    }
  }
}
