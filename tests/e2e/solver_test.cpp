// platform.solver: auto must give SimGrid's own times (solver: simgrid, every link simulated) on both of
// its paths:
//  - a star whose clients' peak bandwidths sum to no more than the server's (the server link can never
//    bind) leaves that link out of the routes and folds its latency into the clients' links: every stage
//    time relative to its round's start within 1e-12 relative, identical statuses, the same platform.csv
//    (the route reported is the topology's, folded link included) — both network models, 100 and 1,000
//    clients, stragglers, crashes and a deadline stopping transfers mid-way;
//  - a contended star under analytic has its server link shared by dtsim's exact solver
//    (actors/server_link.hpp): within 1e-9 relative (the bound; 3e-14 measured), identical
//    statuses and byte counts — at 100 and 1,000 clients, and with stragglers, crashes, over-selection
//    and a deadline; under flow it stays SimGrid's, to the byte.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>

#include "e2e_util.hpp"

using namespace e2e;

namespace {

struct Pair {
  fs::path folded, simgrid;
};

Pair run_both(const std::string& name, const std::vector<std::string>& sets) {
  const auto scenario = (source_dir() / "scenarios" / "quickstart.yaml").string();
  const auto dir = scratch("solver_" + name);
  Pair p{dir / "auto", dir / "simgrid"};
  for (const auto& [out, solver] : {std::pair{p.folded, "auto"}, std::pair{p.simgrid, "simgrid"}}) {
    auto args = with_sets({"run", scenario, "--out", out.string(), "--quiet", "--no-train"}, sets);
    args.insert(args.end(), {"--set", std::string("platform.solver=") + solver});
    const auto r = run_dtsim(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  return p;
}

double tolerance = 1e-12;  // relative
bool near(double a, double b) { return std::abs(a - b) <= tolerance * std::max(std::abs(a), std::abs(b)); }

// Every client row of both runs: same clients and statuses, stage times from the round's start to
// `tolerance`. Returns how many rows were stopped (late, dropped, crashed).
std::size_t check_same_times(const Pair& p, std::size_t expected_rows) {
  const auto a = read_csv(p.folded / "clients.csv");
  const auto b = read_csv(p.simgrid / "clients.csv");
  REQUIRE(a.size() == expected_rows);
  REQUIRE(b.size() == a.size());
  std::size_t stopped = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    CAPTURE(i);
    CHECK(a[i].at("round") == b[i].at("round"));
    CHECK(a[i].at("client") == b[i].at("client"));
    CHECK(a[i].at("status") == b[i].at("status"));
    stopped += a[i].at("status") != "completed";
    const double start_a = std::stod(a[i].at("start_s")), start_b = std::stod(b[i].at("start_s"));
    CHECK(near(start_a, start_b));
    for (const char* stage : {"download_end_s", "compute_end_s", "upload_end_s"}) {
      CAPTURE(stage);
      REQUIRE(a[i].at(stage).empty() == b[i].at(stage).empty());
      if (a[i].at(stage).empty()) continue;
      const double x = std::stod(a[i].at(stage)) - start_a, y = std::stod(b[i].at(stage)) - start_b;
      CHECK_MESSAGE(near(x, y), x << " vs " << y);
    }
    for (const char* count : {"bytes_down", "bytes_up", "local_steps"}) CHECK(a[i].at(count) == b[i].at(count));
  }
  CHECK(slurp(p.folded / "platform.csv") == slurp(p.simgrid / "platform.csv"));
  const auto ra = read_csv(p.folded / "rounds.csv");
  const auto rb = read_csv(p.simgrid / "rounds.csv");
  REQUIRE(ra.size() == rb.size());
  for (std::size_t r = 0; r < ra.size(); ++r) CHECK(near(std::stod(ra[r].at("sim_time_s")), std::stod(rb[r].at("sim_time_s"))));
  return stopped;
}

// The quickstart fleet (5–50 Mbps) behind a 100 Gbps server: 1,000 clients peak at 50 Gbps.
const std::vector<std::string> kFastServer{"platform.server.bandwidth=100Gbps", "training.rounds=3"};

std::vector<std::string> fleet(std::int64_t clients, std::int64_t per_round, const std::string& model) {
  auto sets = kFastServer;
  sets.push_back("platform.clients.count=" + std::to_string(clients));
  sets.push_back("training.clients_per_round=" + std::to_string(per_round));
  sets.push_back("platform.network_model=" + model);
  return sets;
}

}  // namespace

TEST_SUITE("e2e") {
  TEST_CASE("solver: the folded server link gives SimGrid's times at 100 clients, both network models") {
    for (const char* model : {"flow", "analytic"}) {
      CAPTURE(model);
      check_same_times(run_both(std::string("100_") + model, fleet(100, 100, model)), 300);
    }
  }

  TEST_CASE("solver: the folded server link gives SimGrid's times at 1,000 clients, every client selected") {
    check_same_times(run_both("1000", fleet(1000, 1000, "analytic")), 3000);
  }

  TEST_CASE("solver: the folded server link gives SimGrid's times with stragglers, crashes and a deadline") {
    auto sets = fleet(200, 40, "flow");
    sets.insert(sets.end(), {"training.over_selection=1.5", "training.deadline=3s", "dynamics.crash.probability=0.2",
                             "dynamics.straggler={dist: lognormal, median: 1, sigma: 1}",
                             "dynamics.straggler_target=both"});
    CHECK(check_same_times(run_both("dynamics", sets), 180) > 20);
  }

  TEST_CASE("solver: a contended star under flow keeps SimGrid's solver: the same files to the byte") {
    const auto p = run_both("contended_flow", {"training.rounds=3"});  // quickstart: 100 × 5–50 Mbps on 1 Gbps
    for (const char* file : {"clients.csv", "rounds.csv", "platform.csv"}) {
      CAPTURE(file);
      CHECK(slurp(p.folded / file) == slurp(p.simgrid / file));
    }
  }

  TEST_CASE("solver: the exact server-link solver gives SimGrid's times on a contended star, 100 and 1,000 clients") {
    tolerance = 1e-9;
    for (const std::int64_t clients : {100, 1000}) {
      CAPTURE(clients);
      // The quickstart's 1 Gbps server: 100 clients peak at 5 Gbps, 1,000 at 50.
      const std::vector<std::string> sets{"platform.network_model=analytic", "training.rounds=3",
                                          "platform.clients.count=" + std::to_string(clients),
                                          "training.clients_per_round=" + std::to_string(clients)};
      const auto p = run_both("contended_" + std::to_string(clients), sets);
      check_same_times(p, static_cast<std::size_t>(3 * clients));
      CHECK(read_csv(p.folded / "runs.csv").at(0).at("message").find("exact") != std::string::npos);
    }
    tolerance = 1e-12;
  }

  TEST_CASE("solver: the exact server-link solver gives SimGrid's times under a bandwidth profile (caps changing mid-transfer)") {
    tolerance = 1e-9;
    const auto dir = scratch("solver_profile_trace");
    const auto trace = dir / "bandwidth.csv";
    // Trace clients 0..2 (client i follows i mod 3): steps down, up and down again across the rounds.
    std::ofstream(trace) << "client,time_s,bandwidth_bytes_per_s\n0,0.3,200000\n0,0.9,4000000\n1,0.5,100000\n"
                            "2,0.1,6000000\n2,1.2,300000\n";
    const std::vector<std::string> sets{"platform.network_model=analytic", "training.rounds=3",
                                        "platform.clients.count=100", "training.clients_per_round=100",
                                        "dynamics.bandwidth_profile.trace=" + trace.string()};
    const auto p = run_both("contended_profile", sets);
    check_same_times(p, 300);
    CHECK(read_csv(p.folded / "runs.csv").at(0).at("message").find("exact") != std::string::npos);
    tolerance = 1e-12;
  }

  TEST_CASE("solver: the exact server-link solver gives SimGrid's times with stragglers, crashes and a deadline") {
    tolerance = 1e-9;
    const std::vector<std::string> sets{"platform.network_model=analytic", "training.rounds=3",
                                        "platform.clients.count=200", "training.clients_per_round=40",
                                        "training.over_selection=1.5", "training.deadline=3s",
                                        "dynamics.crash.probability=0.2",
                                        "dynamics.straggler={dist: lognormal, median: 1, sigma: 1}",
                                        "dynamics.straggler_target=both"};
    const auto p = run_both("contended_dynamics", sets);
    const auto rows = read_csv(p.folded / "clients.csv");
    std::map<std::string, int> statuses;
    for (const auto& r : rows) ++statuses[r.at("status")];
    CHECK(check_same_times(p, 180) > 20);
    // Every way a transfer ends early happened: crashes, the round's first K (dropped), the deadline (late).
    CHECK(statuses["crashed"] > 0);
    CHECK(statuses["dropped"] > 0);
    CHECK(statuses["late"] > 0);
    // ... and many of them mid-transfer: a part of the model's bytes carried (the counts matched above).
    double model = 0;  // the model's bytes: the largest download
    for (const auto& r : rows) model = std::max(model, std::stod(r.at("bytes_down")));
    int partial = 0;
    for (const auto& r : rows)
      for (const char* count : {"bytes_down", "bytes_up"})
        partial += std::stod(r.at(count)) > 0 && std::stod(r.at(count)) < model;
    CHECK(partial > 10);
    tolerance = 1e-12;
  }
}
