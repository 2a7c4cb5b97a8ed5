// Same scenario and seed, same bytes: rounds.csv and clients.csv do not depend on the thread count or
// on how many clients one batched training call holds (DESIGN principle 3). And run.yaml, run again,
// reproduces the run.
#include <doctest/doctest.h>

#include "e2e_util.hpp"

using namespace e2e;

TEST_SUITE("e2e") {
  TEST_CASE("determinism: rounds.csv and clients.csv are byte-identical for threads 1|2 and chunk 1|5") {
    const auto scenario = (source_dir() / "tests" / "e2e" / "fmnist_small" / "scenario.yaml").string();
    std::vector<fs::path> outs;
    for (const char* threads : {"1", "2"}) {
      for (const char* chunk : {"1", "5"}) {
        auto out = scratch(std::string("det_t") + threads + "_c" + chunk);
        auto r = run_dtsim({"run", scenario, "--out", out.string(), "--quiet", "--threads", threads, "--chunk", chunk});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        outs.push_back(out);
      }
    }
    const auto rounds = slurp(outs[0] / "rounds.csv");
    const auto clients = slurp(outs[0] / "clients.csv");
    REQUIRE(rounds.find("\n2,") == std::string::npos);  // sanity: rows are keyed by run_id first
    REQUIRE(read_csv(outs[0] / "rounds.csv").size() == 4);
    for (std::size_t i = 1; i < outs.size(); ++i) {
      CAPTURE(outs[i]);
      CHECK(slurp(outs[i] / "rounds.csv") == rounds);
      CHECK(slurp(outs[i] / "clients.csv") == clients);
    }
  }

  TEST_CASE("determinism: the CNN with dropout gives the same bytes for threads 1|2 and chunk 1|3") {
    const auto scenario = (source_dir() / "tests" / "e2e" / "fmnist_small" / "scenario.yaml").string();
    const std::vector<std::string> cnn = {"--set", "workload.model={name: cnn, dropout: 0.5, channels: [4, 8], dense: 16}",
                                          "--set", "workload.model.hidden=null", "--set", "training.rounds=2"};
    std::vector<fs::path> outs;
    for (const char* threads : {"1", "2"}) {
      for (const char* chunk : {"1", "3"}) {
        auto out = scratch(std::string("det_cnn_t") + threads + "_c" + chunk);
        std::vector<std::string> args = {"run", scenario, "--out", out.string(), "--quiet", "--threads", threads,
                                         "--chunk", chunk};
        args.insert(args.end(), cnn.begin(), cnn.end());
        auto r = run_dtsim(args);
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        outs.push_back(out);
      }
    }
    const auto rows = read_csv(outs[0] / "rounds.csv");
    REQUIRE(rows.size() == 2);
    REQUIRE_FALSE(rows[0].at("train_loss").empty());
    for (std::size_t i = 1; i < outs.size(); ++i) {
      CAPTURE(outs[i]);
      CHECK(slurp(outs[i] / "rounds.csv") == slurp(outs[0] / "rounds.csv"));
      CHECK(slurp(outs[i] / "clients.csv") == slurp(outs[0] / "clients.csv"));
    }
    // The masks act: without dropout the same start gives another training loss.
    auto other = scratch("det_cnn_nodrop");
    std::vector<std::string> args = {"run", scenario, "--out", other.string(), "--quiet"};
    args.insert(args.end(), cnn.begin(), cnn.end());
    args.insert(args.end(), {"--set", "workload.model.dropout=0"});
    REQUIRE(run_dtsim(args).exit_code == 0);
    CHECK(read_csv(other / "rounds.csv")[0].at("train_loss") != rows[0].at("train_loss"));
  }

  TEST_CASE("determinism: running the written run.yaml again reproduces the run") {
    const auto scenario = (source_dir() / "tests" / "e2e" / "synthetic_small" / "scenario.yaml").string();
    const auto first = scratch("rerun_first");
    const auto second = scratch("rerun_second");
    auto r1 = run_dtsim({"run", scenario, "--out", first.string(), "--quiet", "--set", "training.rounds=3"});
    REQUIRE(r1.exit_code == 0);
    auto r2 = run_dtsim({"run", (first / "run.yaml").string(), "--out", second.string(), "--quiet"});
    INFO(r2.err);
    REQUIRE(r2.exit_code == 0);
    CHECK(slurp(second / "rounds.csv") == slurp(first / "rounds.csv"));
    CHECK(slurp(second / "clients.csv") == slurp(first / "clients.csv"));
    CHECK(read_csv(second / "rounds.csv").size() == 3);
  }

  TEST_CASE("determinism: another seed gives another run") {
    const auto scenario = (source_dir() / "tests" / "e2e" / "synthetic_small" / "scenario.yaml").string();
    const auto a = scratch("seed_a"), b = scratch("seed_b");
    REQUIRE(run_dtsim({"run", scenario, "--out", a.string(), "--quiet"}).exit_code == 0);
    REQUIRE(run_dtsim({"run", scenario, "--out", b.string(), "--quiet", "--set", "seed=8"}).exit_code == 0);
    CHECK(slurp(a / "clients.csv") != slurp(b / "clients.csv"));
  }
}
