// The round protocol against its closed form (network_model: analytic, tests/e2e/round_protocol): each
// client's task takes exactly
//   duration_i = 2 · (server latency + latency + S / b_i) + flops_i / speed_i
// with S = 4·d bytes, d = 60·10 + 10 for logistic regression on 60 features and 10 classes, b_i and
// speed_i read from platform.csv, and flops_i = epochs · n_i · f, n_i from platform.csv and f the
// per-sample training flops of the cost model (kernels/op_contract.hpp: gemm 2mnk, bias mn, softmax 5mn
// plus 2mn for its gradient, column sums mn). A round that starts at t0 keeps the first K arrivals and
// stops at the earlier of the K-th arrival and t0 + D; it then aggregates (2·d flops per kept update on
// the 1 Tf server) when at least min_completed arrived. Every expected time is computed here; only the
// selection (which clients a round started) is read from clients.csv.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "e2e_util.hpp"

using namespace e2e;

namespace {

constexpr double in = 60, classes = 10, d = in * classes + classes;
constexpr double bytes = 4 * d;
constexpr double epochs = 2, server_lat = 0.001, lat = 0.020, server_speed = 1e12;
// logistic: forward gemm 2·in·c + bias c + softmax 5c; gradient 2c; W update gemm 2·in·c; b column sums c.
constexpr double flops_per_sample = 2 * in * classes + classes + 5 * classes + 2 * classes + 2 * in * classes + classes;

struct Client {
  double duration = 0;  // its whole task, from the round's start
};

std::map<std::int64_t, Client> clients_from(const fs::path& out) {
  std::map<std::int64_t, Client> m;
  for (const auto& row : read_csv(out / "platform.csv")) {
    const double b = std::stod(row.at("bandwidth_bytes_per_s")), speed = std::stod(row.at("speed_flops_per_s"));
    const double n = std::stod(row.at("samples"));
    CHECK(std::stod(row.at("latency_s")) == lat);
    const double transfer = server_lat + lat + bytes / b;
    m[std::stoll(row.at("client"))] = {2 * transfer + epochs * n * flops_per_sample / speed};
  }
  return m;
}

// round -> the clients it started (from clients.csv).
std::map<std::int64_t, std::vector<std::int64_t>> selections(const fs::path& out) {
  std::map<std::int64_t, std::vector<std::int64_t>> m;
  for (const auto& row : read_csv(out / "clients.csv")) m[std::stoll(row.at("round"))].push_back(std::stoll(row.at("client")));
  return m;
}

bool near(double got, double want) { return std::abs(got - want) <= 1e-9 * std::max(1.0, std::abs(want)); }

fs::path run(const std::string& name, std::vector<std::string> sets, bool train = false) {
  const auto scenario = (source_dir() / "tests" / "e2e" / "round_protocol" / "scenario.yaml").string();
  const auto out = scratch("round_protocol_" + name);
  std::vector<std::string> args{"run", scenario, "--out", out.string(), "--quiet"};
  if (!train) args.push_back("--no-train");
  for (auto& s : sets) {
    args.push_back("--set");
    args.push_back(s);
  }
  const auto r = run_dtsim(args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return out;
}

// The sorted durations of the clients each round started, in the no-deadline run (the selection does
// not depend on timing: uniform draws from (seed, round)).
std::map<std::int64_t, std::vector<double>> durations_by_round(const fs::path& out) {
  const auto clients = clients_from(out);
  std::map<std::int64_t, std::vector<double>> m;
  for (const auto& [round, ids] : selections(out))
    for (auto id : ids) m[round].push_back(clients.at(id).duration);
  for (auto& [round, v] : m) std::sort(v.begin(), v.end());
  return m;
}

// A deadline in the middle of the widest gap between two consecutive durations (of any round), among
// those that cut at least one client in some round and none in another.
double pick_deadline(const std::map<std::int64_t, std::vector<double>>& rounds) {
  std::vector<double> all;
  for (const auto& [r, v] : rounds) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  double best = -1, width = 0;
  for (std::size_t i = 0; i + 1 < all.size(); ++i) {
    const double cut = (all[i] + all[i + 1]) / 2;
    bool some_cut = false, some_whole = false;
    for (const auto& [r, v] : rounds) {
      if (v.back() > cut) some_cut = true;
      if (v.back() <= cut && v.front() <= cut) some_whole = true;
    }
    if (some_cut && some_whole && all[i + 1] - all[i] > width) {
      width = all[i + 1] - all[i];
      best = cut;
    }
  }
  REQUIRE(best > 0);
  return best;
}

}  // namespace

TEST_SUITE("e2e") {
  TEST_CASE("round protocol: without a deadline every client completes and the round ends at the last arrival") {
    const auto out = run("all", {});
    const auto clients = clients_from(out);
    double t0 = 0;
    for (const auto& round : read_csv(out / "rounds.csv")) {
      const auto r = std::stoll(round.at("round"));
      double last = 0;
      for (const auto& row : read_csv(out / "clients.csv")) {
        if (std::stoll(row.at("round")) != r) continue;
        CHECK(row.at("status") == "completed");
        last = std::max(last, clients.at(std::stoll(row.at("client"))).duration);
      }
      CAPTURE(r);
      CHECK(round.at("aggregated") == "1");
      CHECK(near(std::stod(round.at("sim_time_s")), t0 + last + 2 * d * 6 / server_speed));
      t0 += last + 2 * d * 6 / server_speed;
    }
  }

  TEST_CASE("round protocol: a deadline cuts exactly the clients whose finish time exceeds it") {
    const auto base = run("deadline_base", {});
    const auto durations = durations_by_round(base);
    const double deadline = pick_deadline(durations);
    const auto out = run("deadline", {"training.deadline=" + std::to_string(deadline) + "s"});
    // std::to_string keeps 6 decimals: the deadline the run used.
    const double D = std::stod(std::to_string(deadline));
    const auto clients = clients_from(out);
    const auto picked = selections(base);
    double t0 = 0;
    int late_seen = 0;
    for (const auto& round : read_csv(out / "rounds.csv")) {
      const auto r = std::stoll(round.at("round"));
      CAPTURE(r);
      int kept = 0;
      double last = 0;
      std::size_t rows = 0;
      for (const auto& row : read_csv(out / "clients.csv")) {
        if (std::stoll(row.at("round")) != r) continue;
        ++rows;
        const auto id = std::stoll(row.at("client"));
        CAPTURE(id);
        const double duration = clients.at(id).duration;
        if (duration <= D) {
          CHECK(row.at("status") == "completed");
          CHECK(near(std::stod(row.at("upload_end_s")), t0 + duration));
          ++kept;
          last = std::max(last, duration);
        } else {
          CHECK(row.at("status") == "late");
          CHECK(row.at("upload_end_s").empty());
          CHECK(std::stod(row.at("bytes_up")) < bytes);  // waste: only the part sent before the cut
          ++late_seen;
        }
      }
      CHECK(rows == picked.at(r).size());
      CHECK(std::stoll(round.at("completed")) == kept);
      CHECK(std::stoll(round.at("dropped")) == 6 - kept);
      const double end = (kept < 6 ? t0 + D : t0 + last) + 2 * d * kept / server_speed;
      CHECK(near(std::stod(round.at("sim_time_s")), end));
      t0 = end;
    }
    CHECK(late_seen > 0);
  }

  TEST_CASE("round protocol: over-selection keeps exactly the K earliest and drops the rest") {
    const auto out = run("over", {"training.over_selection=1.5", "training.clients_per_round=4"});
    const auto clients = clients_from(out);
    double t0 = 0;
    for (const auto& round : read_csv(out / "rounds.csv")) {
      const auto r = std::stoll(round.at("round"));
      CAPTURE(r);
      std::vector<std::pair<double, const std::map<std::string, std::string>*>> started;
      const auto rows = read_csv(out / "clients.csv");
      for (const auto& row : rows)
        if (std::stoll(row.at("round")) == r) started.push_back({clients.at(std::stoll(row.at("client"))).duration, &row});
      REQUIRE(started.size() == 6);  // ceil(1.5 · 4)
      std::sort(started.begin(), started.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      for (std::size_t i = 0; i < started.size(); ++i) {
        CAPTURE(started[i].second->at("client"));
        CHECK(started[i].second->at("status") == (i < 4 ? "completed" : "dropped"));
      }
      CHECK(round.at("selected") == "6");
      CHECK(round.at("completed") == "4");
      CHECK(round.at("dropped") == "2");
      const double end = t0 + started[3].first + 2 * d * 4 / server_speed;
      CHECK(near(std::stod(round.at("sim_time_s")), end));
      t0 = end;
    }
  }

  TEST_CASE("round protocol: a round with fewer than min_completed arrivals keeps the model and is still a round") {
    const auto base = run("min_base", {});
    const auto durations = durations_by_round(base);
    const double deadline = pick_deadline(durations);
    const double D = std::stod(std::to_string(deadline));
    const auto out = run("min", {"training.deadline=" + std::to_string(deadline) + "s", "training.min_completed=6"},
                         /*train=*/true);
    const auto rounds = read_csv(out / "rounds.csv");
    REQUIRE(rounds.size() == 5);
    int kept_rounds = 0, skipped_rounds = 0;
    double t0 = 0;
    std::string previous_loss;
    for (std::size_t i = 0; i < rounds.size(); ++i) {
      const auto& round = rounds[i];
      const auto r = std::stoll(round.at("round"));
      CAPTURE(r);
      const auto& v = durations.at(r);
      const bool all_arrive = v.back() <= D;
      CHECK(round.at("aggregated") == (all_arrive ? "1" : "0"));
      CHECK_FALSE(round.at("test_loss").empty());  // evaluated every round, aggregated or not
      if (!all_arrive) {
        ++skipped_rounds;
        CHECK(near(std::stod(round.at("sim_time_s")), t0 + D));  // no aggregation on the server
        if (i > 0) CHECK(round.at("test_loss") == previous_loss);   // the model was kept
        t0 += D;
      } else {
        ++kept_rounds;
        if (i > 0) CHECK(round.at("test_loss") != previous_loss);
        t0 += v.back() + 2 * d * 6 / server_speed;
      }
      previous_loss = round.at("test_loss");
    }
    CHECK(kept_rounds > 0);
    CHECK(skipped_rounds > 0);
  }
}
