// A misbehaving fleet end to end (tests/e2e/dynamics_small: host classes, straggler factors, slow hosts,
// crashes, Markov availability, a deadline with partial work): every status shows up and every row is
// consistent with the closed forms of its status; the bytes do not depend on threads or chunks; a run
// interrupted and resumed equals an uninterrupted one; crashes without a deadline never hang a round.
// The draws themselves are checked against their formulas in tests/unit/sim/engine/dynamics_test.cpp,
// the task's stage times in tests/engine/task_dynamics_test.cpp.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "e2e_util.hpp"

using namespace e2e;

namespace {

std::string scenario() { return (source_dir() / "tests" / "e2e" / "dynamics_small" / "scenario.yaml").string(); }

double num(const std::map<std::string, std::string>& row, const std::string& column) { return std::stod(row.at(column)); }

// Samples the trainer sees in its first m steps: each epoch is ceil(n / B) minibatches, the last one holding
// the remainder.
std::int64_t samples_in_steps(std::int64_t m, std::int64_t n, std::int64_t batch) {
  const std::int64_t per_epoch = (n + batch - 1) / batch;
  return (m / per_epoch) * n + std::min((m % per_epoch) * batch, n);
}

}  // namespace

TEST_SUITE("e2e") {
  TEST_CASE("dynamics: every status appears, each row consistent with its status") {
    const auto out = scratch("dynamics_rows");
    const auto r = run_dtsim({"run", scenario(), "--out", out.string(), "--quiet"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    std::map<std::string, std::int64_t> samples_of;
    for (const auto& p : read_csv(out / "platform.csv")) samples_of[p.at("client")] = std::stoll(p.at("samples"));
    std::map<std::string, double> round_start;
    double previous_end = 0;
    for (const auto& row : read_csv(out / "rounds.csv")) {
      round_start[row.at("round")] = previous_end;
      previous_end = num(row, "sim_time_s");
    }
    const double deadline = 3.0, epochs = 2, batch = 10;
    std::map<std::string, int> statuses;
    int partial = 0;
    for (const auto& c : read_csv(out / "clients.csv")) {
      const std::string& status = c.at("status");
      ++statuses[status];
      CAPTURE(c.at("round"));
      CAPTURE(c.at("client"));
      CAPTURE(status);
      const std::int64_t n = samples_of.at(c.at("client"));
      const auto planned = static_cast<std::int64_t>(epochs) * ((n + 9) / 10);
      const auto steps = std::stoll(c.at("local_steps"));
      CHECK(num(c, "start_s") == round_start.at(c.at("round")));
      CHECK_FALSE(c.at("energy_j").empty());  // host classes: everyone selected is metered, failures included
      if (status == "completed") {
        CHECK(steps >= 1);
        CHECK(steps <= planned);
        // Real training ran exactly the steps SimGrid timed.
        CHECK(std::stoll(c.at("samples")) == samples_in_steps(steps, n, static_cast<std::int64_t>(batch)));
        if (steps < planned) {  // partial work: computing ended by the deadline, the upload after it
          ++partial;
          CHECK(num(c, "compute_end_s") <= num(c, "start_s") + deadline + 1e-9);
          CHECK(num(c, "upload_end_s") > num(c, "compute_end_s"));
        }
      } else if (status == "crashed" || status == "unavailable") {
        CHECK(c.at("upload_end_s").empty());
        CHECK(c.at("samples").empty());  // nothing of theirs was trained
        CHECK(num(c, "bytes_up") < 2440);
      }
    }
    CHECK(statuses["completed"] > 0);
    CHECK(statuses["crashed"] > 0);
    CHECK(statuses["unavailable"] > 0);
    CHECK(partial > 0);
    // rounds.csv agrees with clients.csv.
    for (const auto& row : read_csv(out / "rounds.csv")) {
      int completed = 0, selected = 0;
      for (const auto& c : read_csv(out / "clients.csv"))
        if (c.at("round") == row.at("round")) ++selected, completed += c.at("status") == "completed" ? 1 : 0;
      CHECK(std::stoi(row.at("selected")) == selected);
      CHECK(std::stoi(row.at("completed")) == completed);
    }
  }

  TEST_CASE("dynamics: the same bytes for threads 1|2 and chunk 1|3") {
    std::vector<fs::path> outs;
    for (const char* threads : {"1", "2"})
      for (const char* chunk : {"1", "3"}) {
        auto out = scratch(std::string("dynamics_det_t") + threads + "_c" + chunk);
        const auto r = run_dtsim({"run", scenario(), "--out", out.string(), "--quiet", "--threads", threads, "--chunk", chunk});
        INFO(r.err);
        REQUIRE(r.exit_code == 0);
        outs.push_back(out);
      }
    for (std::size_t i = 1; i < outs.size(); ++i)
      for (const char* f : {"rounds.csv", "clients.csv", "platform.csv"}) {
        CAPTURE(f);
        CHECK(slurp(outs[i] / f) == slurp(outs[0] / f));
      }
  }

  TEST_CASE("dynamics: a run interrupted and resumed equals an uninterrupted one") {
    const std::vector<std::string> sets{"training.rounds=1000", "training.eval_every=100"};
    const auto reference = scratch("dynamics_reference");
    REQUIRE(run_dtsim(with_sets({"run", scenario(), "--out", reference.string(), "--quiet"}, sets)).exit_code == 0);

    const auto out = scratch("dynamics_resumed");
    const pid_t pid = spawn(with_sets({"run", scenario(), "--out", out.string(), "--quiet"}, sets), "/dev/null");
    // Interrupt once a few rounds are in the files (checkpoint_every 1); the run may also have finished.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (read_csv(out / "rounds.csv").size() < 3 && std::chrono::steady_clock::now() < give_up)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    kill(pid, SIGINT);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    const auto done = read_csv(out / "rounds.csv").size();
    CAPTURE(done);
    REQUIRE(done < 1000);  // interrupted: there is something left to resume
    const auto resumed = run_dtsim(with_sets({"run", scenario(), "--out", out.string(), "--quiet", "--resume"}, sets));
    INFO(resumed.err);
    REQUIRE(resumed.exit_code == 0);
    for (const char* f : {"rounds.csv", "clients.csv", "policy_metrics.csv"}) {
      CAPTURE(f);
      CHECK(slurp(out / f) == slurp(reference / f));
    }
  }

  TEST_CASE("dynamics: every client crashing, without a deadline, ends each round (never hangs)") {
    const auto out = scratch("dynamics_all_crash");
    const auto r = run_dtsim(with_sets({"run", scenario(), "--out", out.string(), "--quiet"},
                                       {"dynamics.crash.probability=1", "dynamics.availability=null",
                                        "training.deadline=null", "training.partial_work=false"}));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const auto rounds = read_csv(out / "rounds.csv");
    REQUIRE(rounds.size() == 8);
    for (const auto& row : rounds) {
      CHECK(row.at("completed") == "0");
      CHECK(row.at("aggregated") == "0");
      CHECK(std::stod(row.at("round_duration_s")) > 0);
    }
    for (const auto& c : read_csv(out / "clients.csv")) CHECK(c.at("status") == "crashed");
  }

  TEST_CASE("dynamics: per-client epochs from epochs_dist") {
    const auto out = scratch("dynamics_epochs");
    const auto r = run_dtsim(with_sets({"run", scenario(), "--out", out.string(), "--quiet"},
                                       {"dynamics=null", "training.deadline=null", "training.partial_work=false",
                                        "workload.local.epochs_dist={dist: choice, values: [1, 2, 5]}"}));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    std::map<std::string, std::int64_t> samples_of;
    for (const auto& p : read_csv(out / "platform.csv")) samples_of[p.at("client")] = std::stoll(p.at("samples"));
    std::set<std::int64_t> epochs_seen;
    for (const auto& c : read_csv(out / "clients.csv")) {
      const std::int64_t per_epoch = (samples_of.at(c.at("client")) + 9) / 10;
      const auto steps = std::stoll(c.at("local_steps"));
      CHECK(steps % per_epoch == 0);
      epochs_seen.insert(steps / per_epoch);
    }
    CHECK(epochs_seen == std::set<std::int64_t>{1, 2, 5});
  }

  TEST_CASE("dynamics: paper-mode stragglers do U{1..E-1} epochs; partial work delivers them, without it they give up") {
    // 8 planned a round, fraction 0.5: round(8 x 0.5) = 4 keep their 5 epochs, 4 straggle. No deadline.
    const std::int64_t epochs = 5, batch = 10, planned = 8, stragglers = planned - 4;
    const std::vector<std::string> sets{"dynamics=null", "dynamics.epoch_stragglers.fraction=0.5", "training.deadline=null",
                                        "workload.local.epochs=5", "training.rounds=4"};
    auto run_with = [&](bool partial_work) {
      const auto out = scratch(std::string("dynamics_epoch_stragglers_") + (partial_work ? "partial" : "drop"));
      auto all = sets;
      all.push_back(std::string("training.partial_work=") + (partial_work ? "true" : "false"));
      const auto r = run_dtsim(with_sets({"run", scenario(), "--out", out.string(), "--quiet"}, all));
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      return out;
    };
    const auto kept = run_with(true), dropped = run_with(false);
    std::map<std::string, std::int64_t> samples_of;
    for (const auto& p : read_csv(kept / "platform.csv")) samples_of[p.at("client")] = std::stoll(p.at("samples"));
    // (round, client) -> the compute time of each straggler, from either run: the same draws, the same work.
    std::map<std::pair<std::string, std::string>, double> kept_compute, dropped_compute;
    std::map<std::string, int> kept_per_round, dropped_per_round;
    for (const auto& c : read_csv(kept / "clients.csv")) {
      CAPTURE(c.at("round"));
      CAPTURE(c.at("client"));
      REQUIRE(c.at("status") == "completed");  // partial work: every straggler delivers
      const std::int64_t n = samples_of.at(c.at("client")), per_epoch = (n + batch - 1) / batch;
      const auto steps = std::stoll(c.at("local_steps"));
      REQUIRE(steps % per_epoch == 0);
      CHECK(std::stoll(c.at("samples")) == samples_in_steps(steps, n, batch));  // trained exactly those steps
      if (steps < epochs * per_epoch) {
        CHECK(steps / per_epoch >= 1);
        ++kept_per_round[c.at("round")];
        kept_compute[{c.at("round"), c.at("client")}] = num(c, "compute_end_s") - num(c, "download_end_s");
      }
    }
    for (const auto& c : read_csv(dropped / "clients.csv")) {
      CAPTURE(c.at("round"));
      CAPTURE(c.at("client"));
      if (c.at("status") == "late") {  // gave up after its fewer epochs: no upload, nothing trained
        ++dropped_per_round[c.at("round")];
        CHECK(c.at("upload_end_s").empty());
        CHECK(num(c, "bytes_up") == 0);
        CHECK(c.at("samples").empty());
        dropped_compute[{c.at("round"), c.at("client")}] = num(c, "compute_end_s") - num(c, "download_end_s");
      } else {
        CHECK(c.at("status") == "completed");
        const std::int64_t n = samples_of.at(c.at("client"));
        CHECK(std::stoll(c.at("local_steps")) == epochs * ((n + batch - 1) / batch));
      }
    }
    for (const auto& row : read_csv(dropped / "rounds.csv")) {
      CHECK(kept_per_round[row.at("round")] == stragglers);
      CHECK(dropped_per_round[row.at("round")] == stragglers);
      CHECK(std::stoi(row.at("completed")) == planned - stragglers);
    }
    // The same clients straggle in both runs, with the same compute (the draws do not depend on partial work).
    REQUIRE(kept_compute.size() == dropped_compute.size());
    for (const auto& [key, seconds] : kept_compute) {
      REQUIRE(dropped_compute.count(key) == 1);
      CHECK(dropped_compute.at(key) == doctest::Approx(seconds).epsilon(1e-12));
    }
  }

  TEST_CASE("dynamics: platform.clients.trace gives client i the figures of row i mod M, checksummed") {
    const auto dir = scratch("dynamics_client_trace");
    const auto trace = dir / "capacity.csv";
    {
      std::ofstream f(trace);
      f << "client,speed_flops_per_s,bandwidth_bytes_per_s,latency_s\n2,3e9,2e6,0.03\n0,1e9,1e6,0.01\n1,2e9,1.5e6,0.02\n";
    }
    const auto out = dir / "out";
    const auto r = run_dtsim(with_sets({"run", scenario(), "--out", out.string(), "--quiet"},
                                       {"platform.clients.trace=" + trace.string(), "training.rounds=1"}));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const double speed[] = {1e9, 2e9, 3e9}, bandwidth[] = {1e6, 1.5e6, 2e6}, latency[] = {0.01, 0.02, 0.03};
    const auto platform = read_csv(out / "platform.csv");
    REQUIRE(platform.size() == 40);
    for (const auto& p : platform) {
      const int k = std::stoi(p.at("client")) % 3;
      CAPTURE(p.at("client"));
      CHECK(std::stod(p.at("speed_flops_per_s")) == speed[k]);  // the trace's, not the host class's draw
      CHECK(std::stod(p.at("bandwidth_bytes_per_s")) == bandwidth[k]);
      CHECK(std::stod(p.at("latency_s")) == latency[k]);
    }
    CHECK(slurp(out / "run.yaml").find(trace.string() + ": sha256:") != std::string::npos);
  }

  TEST_CASE("dynamics: a bandwidth profile changes a client's link from its time on (closed form, analytic network)") {
    const auto dir = scratch("dynamics_bandwidth_profile");
    const auto trace = dir / "bandwidth.csv";
    std::ofstream(trace) << "client,time_s,bandwidth_bytes_per_s\n0,0.05,1000\n";
    const auto base = with_sets({"run", scenario(), "--quiet"},
                                {"dynamics=null", "training.deadline=null", "training.partial_work=false",
                                 "training.rounds=1", "training.eval_every=0"});
    auto with_profile = base, without = base;
    with_profile.insert(with_profile.end(), {"--out", (dir / "with").string(), "--set",
                                             "dynamics.bandwidth_profile.trace=" + trace.string()});
    without.insert(without.end(), {"--out", (dir / "without").string()});
    REQUIRE(run_dtsim(with_profile).exit_code == 0);
    REQUIRE(run_dtsim(without).exit_code == 0);
    std::map<std::string, std::map<std::string, std::string>> route;
    for (const auto& p : read_csv(dir / "with" / "platform.csv")) route[p.at("client")] = p;
    const auto changed = read_csv(dir / "with" / "clients.csv"), unchanged = read_csv(dir / "without" / "clients.csv");
    REQUIRE(changed.size() == unchanged.size());
    int checked = 0;
    for (std::size_t k = 0; k < changed.size(); ++k) {
      const auto& c = changed[k];
      CAPTURE(c.at("client"));
      const double compute_end = num(c, "compute_end_s"), latency = num(route.at(c.at("client")), "route_latency_s");
      // Every client follows trace client 0 (M = 1): an upload that starts after 0.05 s runs at 1000 bytes/s
      // (the server's 1 Gbps is wider), after the route's latency.
      if (compute_end >= 0.05) {
        CHECK(num(c, "upload_end_s") == doctest::Approx(compute_end + latency + num(c, "bytes_up") / 1000).epsilon(1e-9));
        ++checked;
      }
      // A download that ended before the change is as without the profile.
      if (num(unchanged[k], "download_end_s") < 0.05) CHECK(c.at("download_end_s") == unchanged[k].at("download_end_s"));
    }
    CHECK(checked > 0);
    CHECK(slurp(dir / "with" / "run.yaml").find(trace.string() + ": sha256:") != std::string::npos);
  }
}
