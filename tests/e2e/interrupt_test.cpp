// SIGINT during a run: the round in progress finishes, the finished rounds are in the files as whole
// rows, runs.csv says `interrupted`, the exit code is 1, and stderr says which round it stops after.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include "e2e_util.hpp"

using namespace e2e;

TEST_SUITE("e2e") {
  TEST_CASE("interrupt: SIGINT keeps complete files of the finished rounds and reports interrupted") {
    const auto scenario = (source_dir() / "tests" / "e2e" / "fmnist_small" / "scenario.yaml").string();
    const auto out = scratch("interrupt");
    const auto err_path = (out / "stderr.txt").string();
    const pid_t pid = spawn({"run", scenario, "--out", out.string(), "--quiet", "--set", "training.rounds=1000000"}, err_path);

    // Wait until the run has finished a round (rounds.csv holds a row), let some more finish, interrupt.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (read_csv(out / "rounds.csv").empty() && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const bool started = !read_csv(out / "rounds.csv").empty();
    if (started) std::this_thread::sleep_for(std::chrono::milliseconds(300));
    REQUIRE(kill(pid, started ? SIGINT : SIGKILL) == 0);  // never leave the child running
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE(started);

    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 1);
    const auto err = slurp(err_path);
    CHECK(err.find("interrupted") != std::string::npos);
    CHECK(err.find("dtsim: stopping after round ") != std::string::npos);
    const auto runs = read_csv(out / "runs.csv");
    REQUIRE(runs.size() == 1);
    CHECK(runs[0].at("status") == "interrupted");
    const auto completed = std::stoll(runs[0].at("rounds_completed"));
    CHECK(completed < 1000000);
    const auto rounds = read_csv(out / "rounds.csv");
    REQUIRE(static_cast<long long>(rounds.size()) == completed);
    if (completed > 0) CHECK(std::stoll(rounds.back().at("round")) == completed);
    const auto text = slurp(out / "rounds.csv");
    CHECK(text.back() == '\n');  // the last row is whole
    CHECK(read_csv(out / "clients.csv").size() == static_cast<std::size_t>(completed) * 5);
    for (const auto& entry : fs::directory_iterator(out))
      CHECK_MESSAGE(entry.path().filename().string().find(".tmp") == std::string::npos, entry.path());
    CHECK(fs::exists(out / "run.yaml"));
    // The accuracy is that of the last evaluated round, and runs.csv says which.
    CHECK(runs[0].at("final_test_round") == rounds.back().at("round"));
    // The interrupted run checkpointed its last round: --resume goes on from there, redoing nothing.
    CHECK(fs::exists(out / "checkpoint" / "state.bin"));
  }
}
