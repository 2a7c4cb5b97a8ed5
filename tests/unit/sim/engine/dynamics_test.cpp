// The Dynamics seam's draws against their formulas, with fixed seeds (sim/engine/dynamics/): straggler
// factors, slow hosts, crash points, Markov availability, trace availability and its loader. Each
// statistical check states its tolerance: 5 standard errors of the estimate, computed in the test from the
// distribution's own variance, so a correct stream fails with probability below 1e-6.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "policies/scheduling/uniform.hpp"
#include "sim/engine/dynamics/dynamics.hpp"

using namespace dtsim;
using namespace dtsim::engine;

namespace {

DynamicsSpec straggling(Distribution d) {
  DynamicsSpec s;
  s.straggler = d;
  return s;
}

std::string write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("dtsim_dynamics_test_" + name);
  std::ofstream(path) << text;
  return path.string();
}

std::string load_error(const std::string& text) {
  try {
    load_availability_trace(write_temp("bad.csv", text));
  } catch (const TraceError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_SUITE("engine") {
  TEST_CASE("dynamics: shifted-exponential straggler factors have mean shift + 1/rate") {
    Distribution d;
    d.kind = Distribution::Kind::shifted_exponential;
    d.shift = 1.0;
    d.rate = 2.0;
    const Dynamics dynamics(straggling(d), 7);
    const int clients = 2000, rounds = 100;
    double sum = 0, sum_sq = 0;
    for (int c = 0; c < clients; ++c)
      for (int r = 1; r <= rounds; ++r) {
        const Slowdown s = dynamics.slowdown(ClientId{c}, r);
        CHECK(s.link == 1.0);  // the default target is compute
        sum += s.compute;
        sum_sq += s.compute * s.compute;
        if (s.compute < d.shift) FAIL("a factor below the shift: " << s.compute);
      }
    const double n = static_cast<double>(clients) * rounds;
    const double expected_mean = d.shift + 1.0 / d.rate;
    const double standard_error = (1.0 / d.rate) / std::sqrt(n);  // Exp(rate) has stddev 1/rate
    CHECK(std::abs(sum / n - expected_mean) < 5 * standard_error);
    const double variance = sum_sq / n - (sum / n) * (sum / n);
    CHECK(std::abs(variance - 1.0 / (d.rate * d.rate)) < 0.02 / (d.rate * d.rate));
    // Keyed per (client, round): the same question, the same answer.
    CHECK(dynamics.slowdown(ClientId{3}, 5).compute == Dynamics(straggling(d), 7).slowdown(ClientId{3}, 5).compute);
    CHECK(dynamics.slowdown(ClientId{3}, 5).compute != dynamics.slowdown(ClientId{3}, 6).compute);
  }

  TEST_CASE("dynamics: lognormal and pareto factors follow their medians") {
    Distribution lognormal;
    lognormal.kind = Distribution::Kind::lognormal;
    lognormal.median = 2.0;
    lognormal.sigma = 0.5;
    Distribution pareto;
    pareto.kind = Distribution::Kind::pareto;
    pareto.scale = 1.0;
    pareto.shape = 3.0;
    // Median of a Pareto: scale · 2^(1/shape).
    for (const auto& [d, median] : {std::pair{lognormal, 2.0}, std::pair{pareto, std::pow(2.0, 1.0 / 3.0)}}) {
      const Dynamics dynamics(straggling(d), 11);
      const int n = 40000;
      int below = 0;
      for (int c = 0; c < n; ++c) below += dynamics.slowdown(ClientId{c}, 1).compute < median ? 1 : 0;
      // The share below the median is 1/2, binomial standard error sqrt(1/4n).
      CHECK(std::abs(below / static_cast<double>(n) - 0.5) < 5 * std::sqrt(0.25 / n));
    }
  }

  TEST_CASE("dynamics: slow hosts are a persistent share of the clients, k times slower on their target") {
    DynamicsSpec spec;
    spec.slow_fraction = 0.3;
    spec.slow_factor = 10;
    for (const auto target : {StragglerTarget::compute, StragglerTarget::link, StragglerTarget::both}) {
      spec.target = target;
      const Dynamics dynamics(spec, 3);
      const int n = 20000;
      int slow = 0;
      for (int c = 0; c < n; ++c) {
        const ClientId id{c};
        const Slowdown s1 = dynamics.slowdown(id, 1), s9 = dynamics.slowdown(id, 9);
        const double expected = dynamics.slow_host(id) ? 10.0 : 1.0;
        slow += dynamics.slow_host(id) ? 1 : 0;
        CHECK(s1.compute == (target == StragglerTarget::link ? 1.0 : expected));
        CHECK(s1.link == (target == StragglerTarget::compute ? 1.0 : expected));
        CHECK(s9.compute == s1.compute);  // persistent: the same every round
      }
      CHECK(std::abs(slow / static_cast<double>(n) - 0.3) < 5 * std::sqrt(0.3 * 0.7 / n));
    }
  }

  TEST_CASE("dynamics: crashes happen with their probability, at uniform points of the work") {
    DynamicsSpec spec;
    spec.crash_probability = 0.2;
    const Dynamics dynamics(spec, 5);
    std::vector<double> points;
    const int clients = 500, rounds = 100;
    for (int c = 0; c < clients; ++c)
      for (int r = 1; r <= rounds; ++r)
        if (const auto u = dynamics.crash_point(ClientId{c}, r)) {
          REQUIRE((*u >= 0 && *u < 1));
          points.push_back(*u);
        }
    const double n = static_cast<double>(clients) * rounds;
    CHECK(std::abs(static_cast<double>(points.size()) / n - 0.2) < 5 * std::sqrt(0.2 * 0.8 / n));
    // Kolmogorov–Smirnov against U(0, 1): sup |F_n(x) − x| below its 0.1 % critical value 1.95 / sqrt(m).
    std::sort(points.begin(), points.end());
    const double m = static_cast<double>(points.size());
    double sup = 0;
    for (std::size_t i = 0; i < points.size(); ++i)
      sup = std::max({sup, std::abs((static_cast<double>(i) + 1) / m - points[i]), std::abs(static_cast<double>(i) / m - points[i])});
    CHECK(sup < 1.95 / std::sqrt(m));
    CHECK_FALSE(Dynamics(DynamicsSpec{}, 5).crash_point(ClientId{0}, 1).has_value());
  }

  TEST_CASE("dynamics: paper-mode stragglers are all but round(planned x (1 - fraction)) of a round, U{1..E-1} epochs") {
    for (const double fraction : {0.0, 0.5, 0.9, 1.0}) {
      DynamicsSpec spec;
      spec.epoch_straggler_fraction = fraction;
      const Dynamics dynamics(spec, 11);
      for (const std::size_t planned : {std::size_t{1}, std::size_t{7}, std::size_t{10}}) {
        // Half to even, as Python's round(): 7 x 0.5 = 3.5 -> 4 on time; 1 x 0.5 = 0.5 -> 0.
        const double on_time_exact = static_cast<double>(planned) * (1 - fraction);
        const auto on_time = static_cast<std::size_t>(std::nearbyint(on_time_exact));
        CAPTURE(fraction);
        CAPTURE(planned);
        std::vector<int> chosen(planned, 0);
        const int rounds = 2000;
        for (int r = 1; r <= rounds; ++r) {
          const std::vector<bool> s = dynamics.epoch_stragglers(r, planned);
          REQUIRE(s.size() == planned);
          REQUIRE(static_cast<std::size_t>(std::count(s.begin(), s.end(), true)) == planned - on_time);
          for (std::size_t i = 0; i < planned; ++i) chosen[i] += s[i];
          CHECK(dynamics.epoch_stragglers(r, planned) == s);  // a pure function of (seed, round)
        }
        // Each position straggles with probability (planned - on_time) / planned, within 5 standard errors.
        const double p = static_cast<double>(planned - on_time) / static_cast<double>(planned);
        for (std::size_t i = 0; i < planned; ++i)
          CHECK(std::abs(chosen[i] / static_cast<double>(rounds) - p) <= 5 * std::sqrt(p * (1 - p) / rounds) + 1e-12);
      }
    }
    CHECK(Dynamics(DynamicsSpec{}, 11).epoch_stragglers(1, 10) == std::vector<bool>(10, false));  // off

    DynamicsSpec spec;
    spec.epoch_straggler_fraction = 0.9;
    const Dynamics dynamics(spec, 11);
    const std::int64_t epochs = 20;
    std::vector<int> count(epochs + 1, 0);
    const int draws = 19'000;
    for (int c = 0; c < draws; ++c) {
      const std::int64_t e = dynamics.straggler_epochs(ClientId{c}, 3, epochs);
      REQUIRE((e >= 1 && e <= epochs - 1));
      ++count[e];
      CHECK(dynamics.straggler_epochs(ClientId{c}, 3, epochs) == e);
    }
    // Uniform on {1..19}: each count within 5 standard errors of draws / 19.
    const double q = 1.0 / (epochs - 1);
    for (std::int64_t e = 1; e < epochs; ++e)
      CHECK(std::abs(count[e] / static_cast<double>(draws) - q) < 5 * std::sqrt(q * (1 - q) / draws));
    CHECK(dynamics.straggler_epochs(ClientId{0}, 1, 1) == 1);  // a single epoch cannot be cut
  }

  TEST_CASE("dynamics: Markov availability is online mean_on / (mean_on + mean_off) of the time") {
    const double on = 7200, off = 1200;  // 2 h on, 20 min off
    const MarkovAvailability a(9, on, off);
    const double p = on / (on + off);
    CHECK(a.on_fraction() == doctest::Approx(p));
    // Across clients at fixed times (stationary from t = 0: the same share at every t).
    for (const double t : {0.0, 1234.5, 86400.0 * 3}) {
      const int n = 20000;
      int online = 0;
      for (int c = 0; c < n; ++c) online += a.available(ClientId{c}, t) ? 1 : 0;
      CAPTURE(t);
      CHECK(std::abs(online / static_cast<double>(n) - p) < 5 * std::sqrt(p * (1 - p) / n));
    }
    // The mean length of a client's whole online and offline periods, walked through online_until.
    double on_sum = 0, off_sum = 0;
    int on_count = 0, off_count = 0;
    for (int c = 0; c < 200; ++c) {
      const ClientId id{c};
      double t = 0;
      bool first = true;
      while (t < 86400.0 * 30) {
        if (a.available(id, t)) {
          const double end = a.online_until(id, t);
          REQUIRE(end > t);
          CHECK_FALSE(a.available(id, end));  // periods are [start, end)
          if (!first) on_sum += end - t, ++on_count;
          t = end;
        } else {
          CHECK(a.online_until(id, t) == t);  // offline now
          const double end = a.offline_until(id, t);
          REQUIRE(end > t);
          CHECK(a.available(id, end));
          if (!first) off_sum += end - t, ++off_count;
          t = end;
        }
        first = false;
      }
    }
    // Exponential periods: standard error mean / sqrt(count).
    CHECK(std::abs(on_sum / on_count - on) < 5 * on / std::sqrt(on_count));
    CHECK(std::abs(off_sum / off_count - off) < 5 * off / std::sqrt(off_count));
  }

  TEST_CASE("dynamics: Markov answers do not depend on the order of the questions") {
    const MarkovAvailability forward(4, 600, 300), scattered(4, 600, 300);
    std::vector<double> times;
    for (int i = 0; i < 400; ++i) times.push_back(i * 37.5);
    std::vector<bool> in_order;
    for (const double t : times) in_order.push_back(forward.available(ClientId{12}, t));
    for (std::size_t k = 0; k < times.size(); ++k) {
      const std::size_t i = (k * 7919) % times.size();  // a permutation: jumps back and forth
      CHECK(scattered.available(ClientId{12}, times[i]) == in_order[i]);
    }
  }

  TEST_CASE("dynamics: uniform selection among available clients never picks an offline one") {
    const MarkovAvailability a(2, 600, 1400);  // online 30 % of the time
    struct Counting final : policies::AvailabilityOracle {
      const MarkovAvailability& inner;
      mutable int asked = 0;
      explicit Counting(const MarkovAvailability& i) : inner(i) {}
      bool available(ClientId c, double t) const override { return ++asked, inner.available(c, t); }
    } oracle(a);
    double asked_total = 0;
    const int rounds = 50, k = 20;
    for (int r = 1; r <= rounds; ++r) {
      policies::SchedulingContext ctx;
      ctx.round = {r, 0, r * 100.0};
      ctx.population = 1'000'000;
      ctx.wanted = ctx.keep_first = k;
      ctx.availability = &oracle;
      ctx.seed = 1;
      oracle.asked = 0;
      const auto chosen = policies::uniform_sample(ctx);
      CHECK(chosen.size() == static_cast<std::size_t>(k));
      for (const ClientId c : chosen) CHECK(a.available(c, ctx.round.sim_time_s));
      asked_total += oracle.asked;
    }
    // Rejection sampling: about K / on-fraction questions a round, not the population.
    CHECK(asked_total / rounds < 2.0 * k / a.on_fraction());
  }

  TEST_CASE("dynamics: a trace's intervals, merged, serve every client modulo the trace's clients") {
    const auto path = write_temp("trace.csv",
                                 "client,start_s,end_s\n"
                                 "0,0,100\n"
                                 "0,50,150\n"    // overlaps: merged into [0, 150)
                                 "0,150,200\n"   // touches: merged into [0, 200)
                                 "0,500,600\n"
                                 "2,10,20\r\n");  // trace client 1 has no row: never online
    const TraceAvailability t = load_availability_trace(path);
    CHECK(t.trace_clients() == 3);
    CHECK(t.intervals() == 3);
    CHECK(t.available(ClientId{0}, 0));
    CHECK(t.online_until(ClientId{0}, 120) == 200);
    CHECK_FALSE(t.available(ClientId{0}, 200));
    CHECK(t.online_until(ClientId{0}, 300) == 300);
    CHECK(t.online_until(ClientId{3}, 550) == 600);  // client 3 follows trace client 0
    CHECK(t.offline_until(ClientId{0}, 300) == 500);
    CHECK(t.offline_until(ClientId{0}, 120) == 120);
    CHECK(t.offline_until(ClientId{0}, 600) == std::numeric_limits<double>::infinity());
    CHECK(t.offline_until(ClientId{1}, 0) == std::numeric_limits<double>::infinity());
    CHECK_FALSE(t.available(ClientId{1}, 15));
    CHECK_FALSE(t.available(ClientId{4}, 15));
    CHECK(t.available(ClientId{5}, 15));
    CHECK_FALSE(t.available(ClientId{5}, 20));
    const Dynamics d(DynamicsSpec{}, 1);
    CHECK(d.online_until(ClientId{0}, 5) == std::numeric_limits<double>::infinity());
    CHECK(d.availability() == nullptr);
  }

  TEST_CASE("dynamics: a malformed trace is refused at its line") {
    CHECK(load_error("client,start,end\n0,0,1\n").find(":1: the header must be") != std::string::npos);
    CHECK(load_error("client,start_s,end_s\n0,0\n").find(":2: a row has 3 fields, as the header says") != std::string::npos);
    CHECK(load_error("client,start_s,end_s\n0,0,1,2\n").find(":2: a row has 3 fields, as the header says") != std::string::npos);
    CHECK(load_error("client,start_s,end_s\n-1,0,1\n").find(":2: the client '-1' is not an integer") != std::string::npos);
    CHECK(load_error("client,start_s,end_s\n1x,0,1\n").find(":2: the client '1x'") != std::string::npos);
    CHECK(load_error("client,start_s,end_s\n0,0,1\n0,nan,1\n").find(":3: start_s 'nan'") != std::string::npos);
    CHECK(load_error("client,start_s,end_s\n0,0,inf\n").find(":2: end_s 'inf'") != std::string::npos);
    CHECK(load_error("client,start_s,end_s\n0,5,5\n").find(":2: the interval ends (5) at or before") != std::string::npos);
    CHECK(load_error("").find("the trace is empty") != std::string::npos);
    CHECK(load_error("client,start_s,end_s\n").find("the trace has no interval") != std::string::npos);
    CHECK(load_error("client,start_s,end_s\n1000000000,0,1\n").find("not an integer in [0, 10^9)") != std::string::npos);
    try {
      load_availability_trace("/nonexistent/trace.csv");
      FAIL("no error");
    } catch (const TraceError& e) {
      CHECK(std::string(e.what()).find("/nonexistent/trace.csv: cannot read the trace") != std::string::npos);
    }
  }
}
