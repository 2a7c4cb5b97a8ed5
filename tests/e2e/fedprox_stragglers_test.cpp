// FedProx's straggler experiment (POLICIES.md §6.1): synthetic(1,1), 30 devices, 10 a round, E = 20,
// B = 10, lr 0.01, 50 rounds. Metric: the global model's training loss (rounds.csv global_train_loss),
// mean of rounds 41-50, at seeds 1-5. FedAvg drops the stragglers; FedProx keeps their partial work.
//
// Paper mode (scenarios/fedprox_paper.yaml, as in the paper's code): each round 9 of the 10 selected
// devices straggle and do U{1..19} of their 20 epochs. Asserted at every seed: FedAvg at 90 % is worse
// than at 0 %, and FedProx μ = 0 better than FedAvg at 90 %, each by more than kPaperMargin nats (the
// smallest gaps measured are 0.46 and 0.48). μ = 1 below μ = 0 at 90 % holds at seeds 2, 3 and 5 but
// not at 1 (by 0.0014) and 4 (by 0.053, where μ = 1 is also behind with no stragglers: after 50 rounds
// the proximal term has not yet paid off; at the paper's 200 rounds it is ahead at both); so it is
// asserted on the mean over the five seeds (a gap of 0.20 measured, kMeanMargin asserted) and reported
// per seed (MESSAGE).
//
// Simulation mode (scenarios/fedprox_stragglers.yaml): a persistent slow class of 90 % of the devices,
// 10x slower, and a deadline that class cannot meet with E epochs. Asserted at every seed: at 90 %
// FedProx — μ = 0 and μ = 1 alike — ends far below FedAvg (by more than kMargin nats; the smallest gap
// measured is 1.5 nats). Not reproduced, reported but not asserted: FedAvg at 0 % below FedAvg at 90 %
// (the deadline also drops the fast devices holding more than ~400 samples, most of the data at seeds 3
// and 5), and μ = 1 below μ = 0 (time-limited partial work is a few epochs, too little local drift for
// the proximal term to pay off). docs/design-notes.md ("FedProx's stragglers") has both tables.
#include <doctest/doctest.h>

#include "e2e_util.hpp"

using namespace e2e;

namespace {

constexpr double kMargin = 0.5;        // nats
constexpr double kPaperMargin = 0.25;  // nats
constexpr double kMeanMargin = 0.1;    // nats

struct Outcome {
  double loss = 0;              // mean global_train_loss of rounds 41-50
  int partial = 0, full = 0;    // completed clients with fewer / all of their planned steps
};

struct Mode {
  std::string scenario;      // in scenarios/
  std::string fraction_key;  // the straggler fraction's key
};
const Mode kSimulation{"fedprox_stragglers.yaml", "dynamics.slow_hosts.fraction"};
const Mode kPaper{"fedprox_paper.yaml", "dynamics.epoch_stragglers.fraction"};

Outcome run(const Mode& mode, int seed, double stragglers, const std::vector<std::string>& method) {
  const auto scenario = (source_dir() / "scenarios" / mode.scenario).string();
  const auto out = scratch("fedprox_" + mode.scenario + "_" + std::to_string(seed) + "_" + std::to_string(stragglers) +
                           "_" + std::to_string(method.size()) + (method.empty() ? "" : method.back()));
  auto sets = method;
  sets.push_back("seed=" + std::to_string(seed));
  sets.push_back(mode.fraction_key + "=" + std::to_string(stragglers));
  const auto r = run_dtsim(with_sets({"run", scenario, "--out", out.string(), "--quiet"}, sets));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  Outcome o;
  int rounds = 0;
  for (const auto& row : read_csv(out / "rounds.csv"))
    if (std::stoi(row.at("round")) >= 41) {
      REQUIRE_FALSE(row.at("global_train_loss").empty());
      o.loss += std::stod(row.at("global_train_loss"));
      ++rounds;
    }
  REQUIRE(rounds == 10);
  o.loss /= rounds;
  std::map<std::string, std::int64_t> samples;
  for (const auto& p : read_csv(out / "platform.csv")) samples[p.at("client")] = std::stoll(p.at("samples"));
  for (const auto& c : read_csv(out / "clients.csv"))
    if (c.at("status") == "completed") {
      const std::int64_t planned = 20 * ((samples.at(c.at("client")) + 9) / 10);
      (std::stoll(c.at("local_steps")) < planned ? o.partial : o.full) += 1;
    }
  return o;
}

}  // namespace

TEST_SUITE("e2e") {
  TEST_CASE("FedProx stragglers: partial work beats dropping the stragglers at 90 %, every seed") {
    const std::vector<std::string> fedavg{"policies.aggregation.name=fedavg", "policies.aggregation.mu=null",
                                          "training.partial_work=false"};
    for (int seed = 1; seed <= 5; ++seed) {
      CAPTURE(seed);
      const Outcome avg0 = run(kSimulation, seed, 0, fedavg), avg90 = run(kSimulation, seed, 0.9, fedavg);
      const Outcome prox0 = run(kSimulation, seed, 0.9, {"policies.aggregation.mu=0"});
      const Outcome prox1 = run(kSimulation, seed, 0.9, {"policies.aggregation.mu=1"});
      MESSAGE("seed " << seed << ": FedAvg 0% " << avg0.loss << ", FedAvg 90% " << avg90.loss << ", FedProx mu=0 90% "
                      << prox0.loss << ", FedProx mu=1 90% " << prox1.loss);
      // The protocol: FedAvg keeps only whole local work, FedProx also keeps partial work.
      CHECK(avg90.partial == 0);
      CHECK(prox0.partial > 0);
      CHECK(prox1.partial > 0);
      CHECK(prox0.partial + prox0.full > avg90.full);
      // The result.
      CHECK(prox0.loss < avg90.loss - kMargin);
      CHECK(prox1.loss < avg90.loss - kMargin);
    }
  }

  TEST_CASE("FedProx stragglers, paper mode: FedAvg worsens with stragglers, FedProx keeps its loss, every seed") {
    const std::vector<std::string> fedavg{"policies.aggregation.name=fedavg", "policies.aggregation.mu=null",
                                          "training.partial_work=false"};
    double mean_prox0 = 0, mean_prox1 = 0;
    const int seeds = 5, rounds = 50;
    for (int seed = 1; seed <= seeds; ++seed) {
      CAPTURE(seed);
      const Outcome avg0 = run(kPaper, seed, 0, fedavg), avg90 = run(kPaper, seed, 0.9, fedavg);
      const Outcome prox0 = run(kPaper, seed, 0.9, {"policies.aggregation.mu=0"});
      const Outcome prox1 = run(kPaper, seed, 0.9, {"policies.aggregation.mu=1"});
      MESSAGE("paper mode, seed " << seed << ": FedAvg 0% " << avg0.loss << ", FedAvg 90% " << avg90.loss
                                  << ", FedProx mu=0 90% " << prox0.loss << ", FedProx mu=1 90% " << prox1.loss);
      // The protocol: 10 - round(10 x 0.1) = 9 stragglers a round, each below its 20 epochs. FedAvg keeps the
      // one device a round that did all its work; FedProx keeps all ten.
      CHECK(avg0.full == 10 * rounds);
      CHECK(avg90.full == rounds);
      CHECK(avg90.partial == 0);
      for (const Outcome* prox : {&prox0, &prox1}) {
        CHECK(prox->full == rounds);
        CHECK(prox->partial == 9 * rounds);
      }
      // The result.
      CHECK(avg90.loss > avg0.loss + kPaperMargin);
      CHECK(prox0.loss < avg90.loss - kPaperMargin);
      mean_prox0 += prox0.loss / seeds;
      mean_prox1 += prox1.loss / seeds;
    }
    MESSAGE("paper mode, mean over seeds 1-5 at 90%: FedProx mu=0 " << mean_prox0 << ", mu=1 " << mean_prox1);
    CHECK(mean_prox1 < mean_prox0 - kMeanMargin);
  }
}
