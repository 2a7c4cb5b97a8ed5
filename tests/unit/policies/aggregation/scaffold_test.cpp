#include "policies/aggregation/scaffold.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <vector>

#include "sim/common/rng.hpp"
#include "tests/unit/policies/aggregation/aggregation_test_support.hpp"

using namespace dtsim;
using namespace dtsim::policies;
using namespace dtsim::policies::testing;

namespace {

// What SCAFFOLD's checkpoint holds: c and the materialised c_i (the format of Scaffold::save).
struct State {
  std::vector<float> c;
  std::map<std::int32_t, std::vector<float>> ci;
};
State state_of(const AggregationPolicy& rule) {
  ByteWriter w;
  rule.save(w);
  ByteReader r(w.bytes());
  State s;
  const auto d = r.u64();
  s.c = r.floats();
  const auto count = r.u64();
  for (std::uint64_t k = 0; k < count; ++k) {
    const auto client = static_cast<std::int32_t>(r.i64());
    s.ci[client] = r.floats();
  }
  REQUIRE(r.done());
  REQUIRE(s.c.size() == d);
  return s;
}

// Clients with F_i(w) = ½·a_i·‖w − b_i‖² (d = 3), each running `steps` steps of local GD at lr from x,
// with the correction the rule writes (none for FedAvg).
struct Quadratics {
  std::vector<double> a;
  std::vector<std::vector<double>> b;
  double lr = 0.05;
  std::int64_t steps = 5;

  std::vector<float> local(AggregationPolicy& rule, kernels::Backend& be, ClientId id, const std::vector<float>& x) const {
    std::vector<float> corr(x.size(), 0.0f);
    if (rule.local_objective(id, 1).corrected) rule.write_correction(id, be, corr.data());
    std::vector<float> y = x;
    const auto i = id.index();
    for (std::int64_t s = 0; s < steps; ++s)
      for (std::size_t j = 0; j < y.size(); ++j)
        y[j] -= static_cast<float>(lr * (a[i] * (static_cast<double>(y[j]) - b[i][j]) + corr[j]));
    return y;
  }
  // One round with `clients` taking part.
  void round(AggregationPolicy& rule, kernels::Backend& be, const std::vector<std::int32_t>& clients,
             std::vector<float>& x, std::int64_t r) const {
    std::vector<UpdateInfo> infos;
    std::vector<std::vector<float>> models;
    for (auto c : clients) {
      infos.push_back({ClientId{c}, 10, steps});
      models.push_back(local(rule, be, ClientId{c}, x));
    }
    aggregate_once(rule, be, infos, models, x, 2, r);
  }
  std::vector<double> optimum() const {
    std::vector<double> x(3, 0);
    double sum = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      sum += a[i];
      for (std::size_t j = 0; j < 3; ++j) x[j] += a[i] * b[i][j];
    }
    for (auto& v : x) v /= sum;
    return x;
  }
};

const Quadratics kClients{{0.5, 1.0, 2.0, 4.0}, {{1, 0, -2}, {-3, 1, 0.5}, {2, 2, 2}, {0, -1, 4}}};

}  // namespace

TEST_SUITE("policies") {
  TEST_CASE("scaffold O1: with every control variate at 0, round 1 is FedAvg with equal weights and step η_g") {
    auto be = kernels::make_cpu_backend(1);
    const std::vector<std::vector<float>> models{{1, 2, 3}, {0.1f, -4, 2}, {7, 0, -1}};
    const std::vector<UpdateInfo> unequal{{ClientId{1}, 30, 3}, {ClientId{4}, 7, 1}, {ClientId{8}, 11, 2}};
    const std::vector<UpdateInfo> equal{{ClientId{1}, 1, 3}, {ClientId{4}, 1, 1}, {ClientId{8}, 1, 2}};
    const std::vector<float> x0{0.5f, 0.25f, -1};
    auto scaffold = make_rule("scaffold", build_context(10, 3));
    auto fedavg = make_rule("fedavg", build_context(10, 3));
    std::vector<float> g1 = x0, g2 = x0;
    aggregate_once(*scaffold, *be, unequal, models, g1);
    aggregate_once(*fedavg, *be, equal, models, g2);
    CHECK(g1 == g2);  // η_g = 1: the uniform mean, whatever the sample counts

    auto half = make_rule("scaffold", build_context(10, 3), "{server_lr: 0.5}");
    std::vector<float> g3 = x0;
    aggregate_once(*half, *be, unequal, models, g3);
    for (std::size_t j = 0; j < 3; ++j) {
      const double mean = (models[0][j] + static_cast<double>(models[1][j]) + models[2][j]) / 3;
      CHECK(g3[j] == doctest::Approx(x0[j] + 0.5 * (mean - x0[j])));
    }
  }

  TEST_CASE("scaffold O2: c = (1/N)·Σ c_i after every round, with partial participation; c_i follow option II") {
    auto be = kernels::make_cpu_backend(1);
    const std::int64_t population = 4;
    auto rule = make_rule("scaffold", build_context(population, 3, kClients.lr));
    std::vector<float> x{0, 0, 0};
    Rng rng(5, "scaffold-o2");
    for (std::int64_t r = 1; r <= 30; ++r) {
      CAPTURE(r);
      std::vector<std::int32_t> clients;
      for (std::int32_t c = 0; c < population; ++c)
        if (rng.uniform(0, 1) < 0.5) clients.push_back(c);
      if (clients.empty()) clients.push_back(static_cast<std::int32_t>(r % population));
      const State before = state_of(*rule);
      const std::vector<float> x_before = x;
      std::map<std::int32_t, std::vector<float>> y;
      for (auto c : clients) y[c] = kClients.local(*rule, *be, ClientId{c}, x);
      kClients.round(*rule, *be, clients, x, r);
      const State after = state_of(*rule);
      // Up to float rounding of the terms: c is a running sum of rounded c_i⁺ − c_i, far smaller than the c_i.
      double largest = 0;
      for (const auto& [client, ci] : after.ci)
        for (float v : ci) largest = std::max(largest, std::abs(static_cast<double>(v)));
      for (std::size_t j = 0; j < 3; ++j) {
        double mean = 0;
        for (const auto& [client, ci] : after.ci) mean += ci[j];
        mean /= static_cast<double>(population);
        CHECK(after.c[j] == doctest::Approx(mean).epsilon(1e-6).scale(largest));
      }
      // Option II: c_i⁺ = c_i − c + (x − y_i)/(τ·η_l) for the round's clients; the others keep theirs.
      for (std::int32_t c = 0; c < population; ++c) {
        const bool took_part = std::find(clients.begin(), clients.end(), c) != clients.end();
        const auto old_ci = before.ci.count(c) ? before.ci.at(c) : std::vector<float>(3, 0.0f);
        for (std::size_t j = 0; j < 3; ++j) {
          const double expected =
              took_part ? old_ci[j] - static_cast<double>(before.c[j]) +
                              (static_cast<double>(x_before[j]) - y[c][j]) / (static_cast<double>(kClients.steps) * kClients.lr)
                        : old_ci[j];
          const double got = after.ci.count(c) ? after.ci.at(c)[j] : 0.0;
          CHECK(got == doctest::Approx(expected).epsilon(1e-5).scale(1e-6));
        }
      }
    }
  }

  TEST_CASE("scaffold O3: removes client drift on heterogeneous quadratics; FedAvg's fixed point is biased") {
    auto be = kernels::make_cpu_backend(1);
    auto scaffold = make_rule("scaffold", build_context(4, 3, kClients.lr));
    auto fedavg = make_rule("fedavg", build_context(4, 3, kClients.lr));
    std::vector<float> xs{0, 0, 0}, xf{0, 0, 0};
    const std::vector<std::int32_t> everyone{0, 1, 2, 3};
    for (std::int64_t r = 1; r <= 400; ++r) {
      kClients.round(*scaffold, *be, everyone, xs, r);
      kClients.round(*fedavg, *be, everyone, xf, r);
    }
    const auto opt = kClients.optimum();
    double scaffold_error = 0, fedavg_error = 0;
    for (std::size_t j = 0; j < 3; ++j) {
      scaffold_error = std::max(scaffold_error, std::abs(xs[j] - opt[j]));
      fedavg_error = std::max(fedavg_error, std::abs(xf[j] - opt[j]));
    }
    MESSAGE("max |x − x*|: SCAFFOLD " << scaffold_error << ", FedAvg " << fedavg_error);
    CHECK(scaffold_error < 1e-4);
    CHECK(fedavg_error > 1e-2);
    // The stated fixed point of the control variates: c_i = ∇F_i(x*) = a_i·(x* − b_i), c = 0.
    const State s = state_of(*scaffold);
    for (std::int32_t i = 0; i < 4; ++i)
      for (std::size_t j = 0; j < 3; ++j)
        CHECK(s.ci.at(i)[j] == doctest::Approx(kClients.a[i] * (opt[j] - kClients.b[i][j])).scale(1e-3).epsilon(1e-3));
    for (float v : s.c) CHECK(std::abs(v) < 1e-4);
  }

  TEST_CASE("scaffold: state saved after round 3 and loaded into a fresh rule continues to the same bits") {
    auto be = kernels::make_cpu_backend(1);
    auto a = make_rule("scaffold", build_context(4, 3, kClients.lr));
    std::vector<float> x{0, 0, 0};
    for (std::int64_t r = 1; r <= 3; ++r) kClients.round(*a, *be, {static_cast<std::int32_t>(r % 3), 3}, x, r);
    ByteWriter saved;
    a->save(saved);
    auto b = make_rule("scaffold", build_context(4, 3, kClients.lr));
    ByteReader in(saved.bytes());
    b->load(in);
    CHECK(in.done());
    std::vector<float> xa = x, xb = x;
    for (std::int64_t r = 4; r <= 6; ++r) {
      kClients.round(*a, *be, {0, 1, 2}, xa, r);
      kClients.round(*b, *be, {0, 1, 2}, xb, r);
    }
    CHECK(xa == xb);
    ByteWriter wa, wb;
    a->save(wa);
    b->save(wb);
    CHECK(wa.bytes() == wb.bytes());
    // A rule never used saves what it loaded.
    auto c = make_rule("scaffold", build_context(4, 3, kClients.lr));
    ByteReader again(saved.bytes());
    c->load(again);
    ByteWriter wc;
    c->save(wc);
    CHECK(wc.bytes() == saved.bytes());
  }

  TEST_CASE("scaffold: sends two models each way, reports ‖c‖ per round and counts its state in memory") {
    auto be = kernels::make_cpu_backend(1);
    auto rule = make_rule("scaffold", build_context(4, 3, kClients.lr));
    CHECK(rule->wire_bytes(1000).down_bytes == 8000);
    CHECK(rule->wire_bytes(1000).up_bytes == 8000);
    std::vector<float> x{0, 0, 0};
    KeptMetrics sink;
    std::vector<UpdateInfo> infos{{ClientId{1}, 10, kClients.steps}};
    const std::vector<std::vector<float>> models{kClients.local(*rule, *be, ClientId{1}, x)};
    aggregate_once(*rule, *be, infos, models, x, 1, 1, &sink);
    REQUIRE(sink.values.size() == 1);
    CHECK(sink.values[0].first == "server_control_norm");
    const State s = state_of(*rule);
    double sq = 0;
    for (float v : s.c) sq += static_cast<double>(v) * v;
    CHECK(sink.values[0].second == doctest::Approx(std::sqrt(sq)));
    CHECK(sink.values[0].second > 0);
    // Up to min(population 4, rounds 10 × 4 per round) = 4 clients' c_i of 3 floats, beside c and scratch.
    const auto parts = rule->memory();
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].bytes >= 4.0 * 3 * (4 + 1));
  }
}
