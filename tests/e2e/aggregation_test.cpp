// Aggregation rules end to end (issue "Aggregation over the Backend"): FedProx with μ = 0 is FedAvg to
// the byte; μ > 0 adds exactly its proximal term's flops to every local step; SCAFFOLD sends two models
// each way (rounds.csv and clients.csv bytes show it), reports ‖c‖ per round, gives the same bytes for
// any --chunk and --threads, and a SCAFFOLD run killed and resumed equals an uninterrupted one.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "e2e_util.hpp"

extern char** environ;

using namespace e2e;

namespace {

const char* kRoundFiles[] = {"rounds.csv", "clients.csv", "platform.csv", "policy_metrics.csv"};

std::string scenario() { return (source_dir() / "tests" / "e2e" / "fmnist_small" / "scenario.yaml").string(); }

std::vector<std::string> with(std::vector<std::string> head, const std::vector<std::string>& tail) {
  head.insert(head.end(), tail.begin(), tail.end());
  return head;
}

fs::path run_rule(const std::string& name, const std::vector<std::string>& rule, const std::vector<std::string>& more = {}) {
  const auto out = scratch("aggregation_" + name);
  const auto r = run_dtsim(with(with({"run", scenario(), "--out", out.string(), "--quiet"}, rule), more));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return out;
}

const std::vector<std::string> kScaffold{"--set", "policies.aggregation={name: scaffold}", "--set",
                                         "training.rounds=6", "--set", "training.checkpoint_every=1"};

}  // namespace

TEST_SUITE("e2e") {
  TEST_CASE("aggregation: fedprox with mu 0 writes fedavg's bytes; mu > 0 adds 6·d flops per local step") {
    const auto fedavg = run_rule("fedavg", {});
    const auto prox0 = run_rule("fedprox0", {"--set", "policies.aggregation={name: fedprox, mu: 0}"});
    for (const char* f : kRoundFiles) {
      CAPTURE(f);
      CHECK(slurp(prox0 / f) == slurp(fedavg / f));
    }
    const auto prox = run_rule("fedprox", {"--set", "policies.aggregation={name: fedprox, mu: 0.1}"});
    const auto a = read_csv(fedavg / "clients.csv"), p = read_csv(prox / "clients.csv");
    REQUIRE(a.size() == p.size());
    REQUIRE(!a.empty());
    for (std::size_t i = 0; i < a.size(); ++i) {
      const double d = std::stod(a[i].at("bytes_down")) / 4;  // float32 parameters
      const double steps = std::stod(a[i].at("local_steps"));
      // sgd_step with a proximal term: p −= lr·v (2), v *= momentum (1), v += μ·(p − anchor) (3) per parameter.
      CHECK(std::stod(p[i].at("flops")) - std::stod(a[i].at("flops")) == doctest::Approx(steps * 6 * d));
    }
    CHECK(slurp(prox / "rounds.csv") != slurp(fedavg / "rounds.csv"));
  }

  TEST_CASE("aggregation: scaffold sends twice fedavg's bytes each way and records the norm of c every round") {
    const auto fedavg = run_rule("fedavg_bytes", {"--set", "training.rounds=6"});
    const auto scaffold = run_rule("scaffold_bytes", kScaffold);
    const auto a = read_csv(fedavg / "rounds.csv"), s = read_csv(scaffold / "rounds.csv");
    REQUIRE(a.size() == 6);
    REQUIRE(s.size() == 6);
    for (std::size_t i = 0; i < a.size(); ++i) {
      for (const char* column : {"bytes_down", "bytes_up"})
        CHECK(std::stod(s[i].at(column)) == 2 * std::stod(a[i].at(column)));
      CHECK(std::stod(s[i].at("round_duration_s")) > std::stod(a[i].at("round_duration_s")));
    }
    const auto metrics = read_csv(scaffold / "policy_metrics.csv");
    REQUIRE(metrics.size() == 6);
    for (std::size_t i = 0; i < metrics.size(); ++i) {
      CHECK(metrics[i].at("round") == std::to_string(i + 1));
      CHECK(metrics[i].at("family") == "aggregation");
      CHECK(metrics[i].at("policy") == "scaffold");
      CHECK(metrics[i].at("metric") == "server_control_norm");
      CHECK(std::stod(metrics[i].at("value")) > 0);
    }
    CHECK(read_csv(fedavg / "policy_metrics.csv").empty());
  }

  TEST_CASE("aggregation: scaffold and fedavg give the same bytes with --chunk 1, 3 and 5 and --threads 1 and 2") {
    for (const auto& rule : {std::vector<std::string>{}, kScaffold}) {
      const auto reference = run_rule("chunk_reference", rule, {"--threads", "2"});
      for (const char* chunk : {"1", "3", "5"}) {
        for (const char* threads : {"1", "2"}) {
          CAPTURE(chunk);
          CAPTURE(threads);
          const auto out = run_rule("chunk", rule, {"--chunk", chunk, "--threads", threads});
          for (const char* f : kRoundFiles) {
            CAPTURE(f);
            CHECK(slurp(out / f) == slurp(reference / f));
          }
        }
      }
    }
  }

  TEST_CASE("aggregation: a scaffold run killed after round 2, 5 or 8 of 12 and resumed writes the uninterrupted bytes") {
    const auto rules = with(kScaffold, {"--set", "training.rounds=12"});
    const auto reference = run_rule("scaffold_reference", rules);
    for (const std::size_t after : {2, 5, 8}) {
      CAPTURE(after);
      const auto dir = scratch("scaffold_kill_" + std::to_string(after));
      const auto out = dir / "out";
      auto args = with({DTSIM_BINARY, "run", scenario(), "--out", out.string(), "--quiet"}, rules);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      posix_spawn_file_actions_t actions;
      posix_spawn_file_actions_init(&actions);
      posix_spawn_file_actions_addopen(&actions, 2, (dir / "err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      pid_t pid = 0;
      REQUIRE(posix_spawn(&pid, DTSIM_BINARY, &actions, nullptr, argv.data(), environ) == 0);
      posix_spawn_file_actions_destroy(&actions);
      // Kill as soon as rounds.csv shows the round (its header and `after` rows).
      const auto lines = [&] {
        const auto text = fs::exists(out / "rounds.csv") ? slurp(out / "rounds.csv") : std::string();
        return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
      };
      while (lines() < after + 1 && waitpid(pid, nullptr, WNOHANG) == 0)
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      const auto seen = lines();
      CHECK(seen >= after + 1);
      CHECK(seen < 13);  // killed mid-run, not after the end
      const auto resumed =
          run_dtsim(with({"run", scenario(), "--out", out.string(), "--resume", "--quiet", "--threads", "1"}, rules));
      INFO(resumed.err);
      REQUIRE(resumed.exit_code == 0);
      for (const char* f : kRoundFiles) {
        CAPTURE(f);
        CHECK(slurp(out / f) == slurp(reference / f));
      }
    }
  }
}
