// Run outcomes other than success: divergence stops cleanly (exit 1, status=diverged, no NaN in the
// CSVs, the finished rounds intact); a timing-only run writes empty learning cells.
#include <doctest/doctest.h>

#include "e2e_util.hpp"

using namespace e2e;

TEST_SUITE("e2e") {
  TEST_CASE("divergence: a run whose loss blows up ends with status diverged and exit 1, never NaN cells") {
    const auto scenario = (source_dir() / "tests" / "e2e" / "synthetic_small" / "scenario.yaml").string();
    const auto out = scratch("diverge");
    auto r = run_dtsim({"run", scenario, "--out", out.string(), "--quiet", "--set", "workload.model.name=mlp", "--set",
                        "workload.local.lr=1000000"});
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("diverged") != std::string::npos);
    const auto runs = read_csv(out / "runs.csv");
    REQUIRE(runs.size() == 1);
    CHECK(runs[0].at("status") == "diverged");
    const auto text = slurp(out / "rounds.csv");
    CHECK(text.find("nan") == std::string::npos);
    CHECK(text.find("inf") == std::string::npos);
    CHECK(read_csv(out / "rounds.csv").size() == std::stoul(runs[0].at("rounds_completed")));
  }

  TEST_CASE("timing only: --no-train writes the same timings with empty learning cells") {
    const auto scenario = (source_dir() / "tests" / "e2e" / "synthetic_small" / "scenario.yaml").string();
    const auto real = scratch("timing_real"), none = scratch("timing_none");
    REQUIRE(run_dtsim({"run", scenario, "--out", real.string(), "--quiet"}).exit_code == 0);
    REQUIRE(run_dtsim({"run", scenario, "--out", none.string(), "--quiet", "--no-train"}).exit_code == 0);
    // The same timings; only the learning columns (samples, train_loss) are empty without training.
    const auto real_clients = read_csv(real / "clients.csv"), none_clients = read_csv(none / "clients.csv");
    REQUIRE(real_clients.size() == none_clients.size());
    for (std::size_t i = 0; i < real_clients.size(); ++i) {
      for (const auto& [column, value] : real_clients[i]) {
        if (column == "samples" || column == "train_loss") {
          CHECK_FALSE(value.empty());
          CHECK(none_clients[i].at(column).empty());
        } else {
          CHECK(none_clients[i].at(column) == value);
        }
      }
    }
    const auto rows = read_csv(none / "rounds.csv");
    REQUIRE(rows.size() == 6);
    for (const auto& row : rows) {
      CHECK(row.at("train_loss").empty());
      CHECK(row.at("test_accuracy").empty());
    }
    const auto real_rows = read_csv(real / "rounds.csv");
    CHECK_FALSE(real_rows[0].at("train_loss").empty());
    CHECK(real_rows[0].at("test_accuracy").empty());  // eval_every: 2
    CHECK_FALSE(real_rows[1].at("test_accuracy").empty());
  }
}
