// SIGINT during a run: the round in progress finishes, the finished rounds are committed as complete,
// valid CSV files, runs.csv says `interrupted`, the exit code is 1, and stderr says what was kept.
#include <doctest/doctest.h>

#include "e2e_util.hpp"

using namespace e2e;

TEST_SUITE("e2e") {
  TEST_CASE("interrupt: SIGINT keeps complete files of the finished rounds and reports interrupted") {
    const auto scenario = (source_dir() / "tests" / "e2e" / "fmnist_small" / "scenario.yaml").string();
    const auto out = scratch("interrupt");
    // `timeout` sends SIGINT after 2 s; --preserve-status returns dtsim's own exit code.
    const std::string cmd = "timeout --preserve-status -s INT 2 " + quote(DTSIM_BINARY) + " run " + quote(scenario) +
                            " --out " + quote(out.string()) + " --quiet --set training.rounds=1000000 2>" +
                            quote((out / "stderr.txt").string());
    const int status = std::system(cmd.c_str());
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
    const auto err = slurp(out / "stderr.txt");
    CHECK(err.find("interrupted") != std::string::npos);
    const auto runs = read_csv(out / "runs.csv");
    REQUIRE(runs.size() == 1);
    CHECK(runs[0].at("status") == "interrupted");
    const auto completed = std::stoll(runs[0].at("rounds_completed"));
    CHECK(completed > 0);
    CHECK(completed < 1000000);
    const auto rounds = read_csv(out / "rounds.csv");
    REQUIRE(static_cast<long long>(rounds.size()) == completed);
    CHECK(std::stoll(rounds.back().at("round")) == completed);
    const auto text = slurp(out / "rounds.csv");
    CHECK(text.back() == '\n');  // the last row is whole
    CHECK(read_csv(out / "clients.csv").size() == static_cast<std::size_t>(completed) * 5);
    for (const char* f : {"rounds.csv.tmp", "clients.csv.tmp", "runs.csv.tmp"}) CHECK_FALSE(fs::exists(out / f));
    CHECK(fs::exists(out / "run.yaml"));
  }
}
