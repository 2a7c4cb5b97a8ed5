// Host classes and energy end to end, with expectations computed here (network_model: analytic,
// constant speeds and links): each client draws a class by weight; a class's speed and bandwidth replace
// the platform.clients draws of its members, its efficiency stretches compute time to
// flops / (speed × efficiency), and a participant's energy is watts_busy × compute time + watts_idle ×
// the rest of its time from the round's start to its last stage end; rounds.csv sums the round's.
#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include "e2e_util.hpp"

using namespace e2e;

namespace {

// Logistic regression on synthetic data (60 features, 10 classes): d = 610, 2440 bytes each way.
constexpr double kBytes = 4 * (60 * 10 + 10);

struct Class {
  double speed, bandwidth, efficiency, idle_w, busy_w;
};
const std::map<std::string, Class> kClasses{{"phone", {1e9, 2.5e6, 0.5, 0.5, 3}},
                                            {"laptop", {2e10, 1.25e7, 1.0, 5, 40}}};

fs::path run(const std::string& name, const std::vector<std::string>& sets) {
  const auto out = scratch("host_classes_" + name);
  const auto r = run_dtsim(with_sets({"run", (source_dir() / "tests" / "e2e" / "analytic" / "scenario.yaml").string(),
                                      "--out", out.string(), "--quiet", "--no-train"},
                                     sets));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return out;
}

const std::string kTwoClasses =
    "platform.host_classes={phone: {weight: 0.7, speed: 1Gf, bandwidth: 20Mbps, efficiency: 0.5, watts_idle: 0.5, "
    "watts_busy: 3}, laptop: {weight: 0.3, speed: 20Gf, bandwidth: 100Mbps, watts_idle: 5, watts_busy: 40}}";

}  // namespace

TEST_SUITE("e2e") {
  TEST_CASE("host classes: members take their class's speed and link; compute time and energy follow the closed form") {
    const auto out = run("closed_form", {kTwoClasses, "platform.clients.count=12", "training.clients_per_round=6"});
    std::map<std::string, std::string> class_of;
    for (const auto& p : read_csv(out / "platform.csv")) {
      const auto& c = kClasses.at(p.at("host_class"));
      CHECK(std::stod(p.at("speed_flops_per_s")) == c.speed);
      CHECK(std::stod(p.at("bandwidth_bytes_per_s")) == c.bandwidth);
      class_of[p.at("client")] = p.at("host_class");
    }
    const double latency = 0.001 + 0.020;  // server and client links (analytic/scenario.yaml)
    std::map<std::string, double> round_energy;
    for (const auto& t : read_csv(out / "clients.csv")) {
      CAPTURE(t.at("client"));
      const auto& c = kClasses.at(class_of.at(t.at("client")));
      const double transfer = latency + kBytes / c.bandwidth;
      const double compute = std::stod(t.at("flops")) / (c.speed * c.efficiency);
      const double start = std::stod(t.at("start_s")), down = std::stod(t.at("download_end_s"));
      const double comp = std::stod(t.at("compute_end_s")), up = std::stod(t.at("upload_end_s"));
      CHECK(down - start == doctest::Approx(transfer).epsilon(1e-9));
      CHECK(comp - down == doctest::Approx(compute).epsilon(1e-9));
      CHECK(up - comp == doctest::Approx(transfer).epsilon(1e-9));
      const double energy = c.busy_w * compute + c.idle_w * (2 * transfer);
      CHECK(std::stod(t.at("energy_j")) == doctest::Approx(energy).epsilon(1e-9));
      round_energy[t.at("round")] += energy;
    }
    for (const auto& r : read_csv(out / "rounds.csv"))
      CHECK(std::stod(r.at("energy_j")) == doctest::Approx(round_energy.at(r.at("round"))).epsilon(1e-9));
  }

  TEST_CASE("host classes: 2,000 clients draw their classes in proportion to the weights") {
    const auto out = run("shares", {kTwoClasses, "platform.clients.count=2000", "training.rounds=1"});
    double phones = 0, n = 0;
    for (const auto& p : read_csv(out / "platform.csv")) {
      phones += p.at("host_class") == "phone";
      ++n;
    }
    // Binomial(2000, 0.7): within 4 standard deviations (4·sqrt(2000·0.7·0.3) ≈ 82 clients).
    CHECK(std::abs(phones - 0.7 * n) <= 4 * std::sqrt(n * 0.7 * 0.3));
  }

  TEST_CASE("host classes: without them energy_j is empty, not 0, and a late client's energy counts to where it stopped") {
    const auto plain = run("none", {});
    for (const auto& t : read_csv(plain / "clients.csv")) CHECK(t.at("energy_j").empty());
    for (const auto& r : read_csv(plain / "rounds.csv")) CHECK(r.at("energy_j").empty());
    // A deadline of 22.5 ms: after every download (21.2 ms for laptops, 22.0 ms for phones), inside the
    // phones' computation and the laptops' upload. Each late client's energy runs to the deadline.
    const double deadline = 0.0225;
    const auto late = run("late", {kTwoClasses, "platform.clients.count=12", "training.clients_per_round=6",
                                   "training.deadline=22.5ms", "training.min_completed=1", "training.rounds=1"});
    std::map<std::string, std::string> class_of;
    for (const auto& p : read_csv(late / "platform.csv")) class_of[p.at("client")] = p.at("host_class");
    int late_seen = 0;
    for (const auto& t : read_csv(late / "clients.csv")) {
      CAPTURE(t.at("client"));
      REQUIRE(t.at("status") == "late");
      ++late_seen;
      const auto& c = kClasses.at(class_of.at(t.at("client")));
      const double down = std::stod(t.at("download_end_s"));
      const double compute_end = t.at("compute_end_s").empty() ? deadline : std::stod(t.at("compute_end_s"));
      const double busy = std::min(compute_end, deadline) - down;
      CHECK(std::stod(t.at("energy_j")) == doctest::Approx(c.busy_w * busy + c.idle_w * (deadline - busy)).epsilon(1e-9));
    }
    CHECK(late_seen > 0);
  }
}
