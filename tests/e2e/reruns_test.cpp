// Exact reruns and outcomes (DESIGN "Outputs: run.yaml"): run.yaml records every option that changes
// results and is checked when run again (a changed input file is an error); relative dataset paths
// resolve against the scenario's folder; what dtsim writes it reads back; divergence by factor.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>

#include "e2e_util.hpp"

using namespace e2e;

namespace {
fs::path write(const fs::path& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir / name) << text;
  return dir / name;
}
}  // namespace

TEST_SUITE("e2e") {
  TEST_CASE("reruns: --no-train is recorded in run.yaml, so running run.yaml again repeats the timing-only run") {
    const auto scenario = (source_dir() / "tests" / "e2e" / "synthetic_small" / "scenario.yaml").string();
    const auto first = scratch("rerun_no_train_first"), second = scratch("rerun_no_train_second");
    REQUIRE(run_dtsim({"run", scenario, "--out", (first / "o").string(), "--quiet", "--no-train"}).exit_code == 0);
    CHECK(slurp(first / "o" / "run.yaml").find("compute: none") != std::string::npos);
    const auto again = run_dtsim({"run", (first / "o" / "run.yaml").string(), "--out", (second / "o").string(), "--quiet"});
    INFO(again.err);
    REQUIRE(again.exit_code == 0);
    CHECK(read_csv(second / "o" / "rounds.csv").at(0).at("train_loss").empty());
    CHECK(slurp(second / "o" / "clients.csv") == slurp(first / "o" / "clients.csv"));
  }

  TEST_CASE("reruns: a dataset file changed since the run is an error naming it; relative paths follow the file") {
    const auto dir = scratch("rerun_checksum");
    const fs::path data = dir / "data" / "fmnist";
    fs::create_directories(data);
    for (const auto& f : fs::directory_iterator("/usr/share/datasets/fashion-mnist"))
      fs::copy_file(f.path(), data / f.path().filename());
    // The scenario names its dataset relative to its own folder, and is run from elsewhere.
    const auto scenario = write(dir, "s.yaml",
                                "name: checksum\n"
                                "platform: {clients: {count: 10}}\n"
                                "workload:\n"
                                "  dataset: {name: fashion_mnist, path: data/fmnist, max_train: 500, max_test: 100}\n"
                                "  model: {name: logistic}\n"
                                "training: {rounds: 2, clients_per_round: 3}\n");
    const auto elsewhere = scratch("rerun_checksum_cwd");
    const auto first = run_dtsim({"run", scenario.string(), "--out", (dir / "first").string(), "--quiet"}, elsewhere);
    INFO(first.err);
    REQUIRE(first.exit_code == 0);
    const auto run_yaml = slurp(dir / "first" / "run.yaml");
    CHECK(run_yaml.find(data.lexically_normal().string()) != std::string::npos);  // stored resolved
    // The same files: the rerun is the same run.
    const auto same = run_dtsim({"run", (dir / "first" / "run.yaml").string(), "--out", (dir / "same").string(), "--quiet"},
                                elsewhere);
    INFO(same.err);
    CHECK(same.exit_code == 0);
    CHECK(slurp(dir / "same" / "rounds.csv") == slurp(dir / "first" / "rounds.csv"));
    // One training label changed (still a valid file): refused, naming it.
    const auto labels = quote((data / "train-labels-idx1-ubyte.gz").string()), raw = quote((dir / "labels").string());
    REQUIRE(std::system(("gzip -dc " + labels + " > " + raw + " && printf '\\011' | dd of=" + raw +
                         " bs=1 seek=108 conv=notrunc status=none && gzip -c " + raw + " > " + labels)
                            .c_str()) == 0);
    const auto changed = run_dtsim({"run", (dir / "first" / "run.yaml").string(), "--out", (dir / "changed").string()},
                                   elsewhere);
    CHECK(changed.exit_code == 2);
    CHECK(changed.err.find("train-labels-idx1-ubyte.gz' changed since the run") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "changed"));
  }

  TEST_CASE("reruns: a scenario whose run.yaml could not be read back is refused up front") {
    const auto dir = scratch("rerun_too_big");
    std::string hidden;
    for (int i = 0; i < 99'903; ++i) hidden += i ? ",1" : "1";
    const auto scenario = write(dir, "s.yaml",
                                "platform: {clients: {count: 10}}\n"
                                "workload: {dataset: {name: synthetic}, model: {name: mlp, hidden: [" + hidden + "]}}\n");
    const auto r = run_dtsim({"validate", scenario.string()});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("run.yaml this dtsim cannot read back") != std::string::npos);
  }

  TEST_CASE("divergence: a training loss above factor × the first one ends the run, diverged, at that round") {
    const auto scenario = (source_dir() / "tests" / "e2e" / "synthetic_small" / "scenario.yaml").string();
    const auto out = scratch("divergence_factor");
    // A probe run at a large learning rate (no divergence check that could fire: the default factor) gives
    // the losses; the factor is chosen between the first later round's ratio above 1 and 1, so the run
    // must end exactly at that round.
    REQUIRE(run_dtsim({"run", scenario, "--out", (out / "probe").string(), "--quiet", "--set", "workload.local.lr=2"})
                .exit_code == 0);
    const auto probe = read_csv(out / "probe" / "rounds.csv");
    REQUIRE(probe.size() >= 2);
    const double base = std::max(std::stod(probe.front().at("train_loss")), std::log(10.0));
    std::size_t stop = 0;
    for (std::size_t i = 1; i < probe.size() && stop == 0; ++i)
      if (std::stod(probe[i].at("train_loss")) > base) stop = i;
    REQUIRE_MESSAGE(stop > 0, "lr 2 no longer makes a later round's loss exceed the first: pick a larger lr");
    const double factor = (1 + std::stod(probe[stop].at("train_loss")) / base) / 2;
    const auto r = run_dtsim({"run", scenario, "--out", (out / "o").string(), "--quiet", "--set", "workload.local.lr=2",
                              "--set", "training.divergence.factor=" + std::to_string(factor)});
    CHECK(r.exit_code == 1);
    const auto rounds = read_csv(out / "o" / "rounds.csv");
    REQUIRE(rounds.size() == stop + 1);
    const double limit = factor * base;
    for (std::size_t i = 0; i + 1 < rounds.size(); ++i) CHECK(std::stod(rounds[i].at("train_loss")) <= limit);
    CHECK(std::stod(rounds.back().at("train_loss")) > limit);
    CHECK(rounds.back().at("train_loss") == probe[stop].at("train_loss"));
    const auto runs = read_csv(out / "o" / "runs.csv");
    CHECK(runs.at(0).at("status") == "diverged");
    CHECK(runs.at(0).at("message").find("exceeded") != std::string::npos);
    CHECK(runs.at(0).at("rounds_completed") == rounds.back().at("round"));
  }

  TEST_CASE("progress: off a terminal, a plain line at each tenth of the rounds; --quiet prints none") {
    const auto scenario = (source_dir() / "tests" / "e2e" / "synthetic_small" / "scenario.yaml").string();
    const auto out = scratch("progress");
    const auto r = run_dtsim({"run", scenario, "--out", (out / "a").string(), "--set", "training.rounds=20"});
    REQUIRE(r.exit_code == 0);
    for (int round = 2; round <= 20; round += 2)
      CHECK_MESSAGE(r.err.find("round " + std::to_string(round) + "/20  simulated") != std::string::npos, round);
    CHECK(r.err.find("round 3/20") == std::string::npos);
    const auto quiet = run_dtsim({"run", scenario, "--out", (out / "b").string(), "--quiet"});
    CHECK(quiet.err.find("round ") == std::string::npos);
  }
}
