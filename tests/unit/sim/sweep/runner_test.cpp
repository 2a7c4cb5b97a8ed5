#include "sim/sweep/runner.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>

#include "scratch.hpp"
#include <sstream>

namespace fs = std::filesystem;
using namespace dtsim::sweep;

namespace {

// Jobs that record when they start and end (seconds, from the same clock) and sleep in between.
std::vector<Job> sleepers(const fs::path& dir, int count, double memory_bytes) {
  std::vector<Job> jobs;
  for (int i = 0; i < count; ++i) {
    const std::string folder = "000" + std::to_string(i) + "-p";
    fs::create_directories(dir / folder);
    const std::string script = "date +%s.%N > times; sleep 0.3; date +%s.%N >> times";
    jobs.push_back({folder, {"/bin/sh", "-c", "cd " + folder + " && " + script}, memory_bytes});
  }
  return jobs;
}

// Each job's [start, end] as it recorded them.
std::vector<std::pair<double, double>> spans(const fs::path& dir, const std::vector<Job>& jobs) {
  std::vector<std::pair<double, double>> out;
  for (const auto& j : jobs) {
    std::ifstream in(dir / j.folder / "times");
    double start = 0, end = 0;
    in >> start >> end;
    out.emplace_back(start, end);
  }
  return out;
}

bool any_overlap(std::vector<std::pair<double, double>> s) {
  std::sort(s.begin(), s.end());
  for (std::size_t i = 1; i < s.size(); ++i)
    if (s[i].first < s[i - 1].second) return true;
  return false;
}

}  // namespace

TEST_SUITE("sweep") {
  TEST_CASE("runner: points whose memory estimates do not fit the budget together run one at a time") {
    block_sweep_signals();
    const auto dir = fresh_dir("budget_tight");
    const auto jobs = sleepers(dir, 3, 600e6);  // two would need 1.2 GB

    const auto outcome = run_jobs(dir, jobs, {3, 1e9, false, true}, 0, [] {});

    CHECK(outcome.succeeded == 3);
    CHECK_FALSE(outcome.interrupted);
    const auto s = spans(dir, jobs);
    for (const auto& [start, end] : s) CHECK(end > start);
    CHECK_FALSE(any_overlap(s));
    CHECK(fs::exists(dir / "0000-p" / "log"));  // the child's output, and the runner's line
  }

  TEST_CASE("runner: points that fit run side by side, at most -j at once, and a failing one is counted") {
    block_sweep_signals();
    const auto dir = fresh_dir("budget_loose");
    auto jobs = sleepers(dir, 3, 600e6);
    jobs.push_back({"0003-p", {"/bin/sh", "-c", "exit 3"}, 1});
    fs::create_directories(dir / "0003-p");
    int ended = 0;

    const auto outcome = run_jobs(dir, jobs, {2, 2e9, false, true}, 0, [&] { ++ended; });

    CHECK(outcome.succeeded == 3);
    CHECK(outcome.failed == 1);
    CHECK(ended == 4);
    std::ifstream log(dir / "0003-p" / "log");
    const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    CHECK(text.find("process ended: exit code 3") != std::string::npos);
    const auto s = spans(dir, {jobs.begin(), jobs.begin() + 3});
    CHECK(any_overlap(s));  // the first two started together
    // never three at once: the third started after one of the first two ended
    CHECK(s[2].first >= std::min(s[0].second, s[1].second));
  }
}
