// FedProx's straggler experiment in simulation mode (POLICIES.md §6.1; scenarios/fedprox_stragglers.yaml):
// synthetic(1,1), 30 devices, 10 a round, E = 20, B = 10, lr 0.01, 50 rounds; a persistent slow class of
// 90 % of the devices, 10x slower, and a deadline that class cannot meet with E epochs. FedAvg drops the
// devices that miss it; FedProx keeps their partial work. Metric: the global model's training loss
// (rounds.csv global_train_loss), mean of rounds 41-50, at seeds 1-5.
//
// What this simulation reproduces, and is asserted at every seed: at 90 % stragglers FedProx — μ = 0 and
// μ = 1 alike — ends far below FedAvg (by more than kMargin nats; the smallest gap measured is 1.5 nats).
// What it does not reproduce, and is reported (MESSAGE) but not asserted: FedAvg at 0 % below FedAvg at
// 90 % (the deadline also drops the fast devices holding more than ~400 samples, most of the data at
// seeds 3 and 5), and FedProx μ = 1 below μ = 0 (time-limited partial work is a few epochs, too little
// local drift for the proximal term to pay off). docs/design-notes.md ("FedProx's stragglers") has the table.
#include <doctest/doctest.h>

#include "e2e_util.hpp"

using namespace e2e;

namespace {

constexpr double kMargin = 0.5;  // nats

struct Outcome {
  double loss = 0;              // mean global_train_loss of rounds 41-50
  int partial = 0, full = 0;    // completed clients with fewer / all of their planned steps
};

Outcome run(int seed, double stragglers, const std::vector<std::string>& method) {
  const auto scenario = (source_dir() / "scenarios" / "fedprox_stragglers.yaml").string();
  const auto out = scratch("fedprox_stragglers_" + std::to_string(seed) + "_" + std::to_string(stragglers) + "_" +
                           std::to_string(method.size()) + (method.empty() ? "" : method.back()));
  auto sets = method;
  sets.push_back("seed=" + std::to_string(seed));
  sets.push_back("dynamics.slow_hosts.fraction=" + std::to_string(stragglers));
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
      const Outcome avg0 = run(seed, 0, fedavg), avg90 = run(seed, 0.9, fedavg);
      const Outcome prox0 = run(seed, 0.9, {"policies.aggregation.mu=0"});
      const Outcome prox1 = run(seed, 0.9, {"policies.aggregation.mu=1"});
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
}
