#include "policies/aggregation/fedprox.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "models/local_trainer.hpp"
#include "models/mlp.hpp"
#include "tests/unit/models/trainer_test_support.hpp"
#include "tests/unit/policies/aggregation/aggregation_test_support.hpp"

using namespace dtsim;
using namespace dtsim::policies;
using namespace dtsim::policies::testing;

TEST_SUITE("policies") {
  TEST_CASE("fedprox: asks local training for μ and nothing else, and aggregates as fedavg, bit for bit") {
    for (const double mu : {0.0, 0.01, 1.0}) {
      CAPTURE(mu);
      auto rule = make_rule("fedprox", build_context(10, 3), "{mu: " + std::to_string(mu) + "}");
      const LocalObjective o = rule->local_objective(ClientId{4}, 7);
      CHECK(o.proximal_mu == mu);
      CHECK_FALSE(o.corrected);
      auto be = kernels::make_cpu_backend(1);
      auto fedavg = make_rule("fedavg", build_context(10, 3));
      const std::vector<std::vector<float>> models{{1, 2, 3}, {0.1f, -4, 2}, {7, 0, -1}};
      const std::vector<UpdateInfo> infos{{ClientId{1}, 30, 3}, {ClientId{4}, 7, 1}, {ClientId{8}, 11, 2}};
      std::vector<float> g_prox(3, 0.5f), g_avg(3, 0.5f);
      aggregate_once(*rule, *be, infos, models, g_prox, 2);
      aggregate_once(*fedavg, *be, infos, models, g_avg, 2);
      CHECK(g_prox == g_avg);
      CHECK(rule->wire_bytes(1000).down_bytes == fedavg->wire_bytes(1000).down_bytes);
      CHECK(rule->server_flops(10, 1000) == fedavg->server_flops(10, 1000));
    }
  }

  TEST_CASE("fedprox: a local step's gradient is ∇F(w) + μ·(w − x_t), against finite differences of h_k") {
    // Logistic regression on 8 samples with a full batch: the second step's direction, (w1 − w2)/η, must
    // be the gradient of h(w) = F(w) + (μ/2)·‖w − x_t‖² at w1, F the mean loss over the 8 samples (the
    // trainer evaluates it with the training set as its test set). At w1 ≠ x_t the proximal term is live.
    const double mu = 0.5, lr = 0.1, eps = 1e-3;
    const models::MlpShape shape{5, {}, 3};
    const auto model = models::make_mlp_model(shape);
    const models::Dataset data = test::random_dataset(8, 5, 3, 3);
    auto be = kernels::make_cpu_backend(1);
    auto rule = make_rule("fedprox", build_context(10, model->parameter_count()), "{mu: 0.5}");
    const LocalObjective o = rule->local_objective(ClientId{0}, 1);
    models::LocalTrainer trainer(*be, *model, data, data, {2, 8, lr}, 5, 1);
    Rng rng(2, "init");
    auto x = models::init_parameters(shape, rng);
    for (auto& v : x) v += static_cast<float>(rng.uniform(-0.1, 0.1));  // non-zero biases too
    const auto rows = test::iota(0, 8);
    const auto store = test::store_of(x);
    const models::LocalObjective objective{o.proximal_mu, false, nullptr};
    const auto w1 = trainer.train(std::vector{test::make_task(0, rows, 1, 0, 1, -1, objective)}, store)[0].params;
    const auto w2 = trainer.train(std::vector{test::make_task(0, rows, 1, 0, 2, -1, objective)}, store)[0].params;

    const auto h = [&](const std::vector<float>& w, bool with_prox) {
      double prox = 0;
      for (std::size_t j = 0; j < w.size(); ++j) prox += (static_cast<double>(w[j]) - x[j]) * (static_cast<double>(w[j]) - x[j]);
      return trainer.evaluate(w).loss + (with_prox ? 0.5 * mu * prox : 0.0);
    };
    double worst = 0, prox_part = 0;
    for (std::size_t j = 0; j < w1.size(); ++j) {
      auto up = w1, down = w1;
      up[j] += static_cast<float>(eps);
      down[j] -= static_cast<float>(eps);
      const double step = static_cast<double>(up[j]) - static_cast<double>(down[j]);  // 2·eps as floats hold it
      const double fd = (h(up, true) - h(down, true)) / step;
      const double fd_without = (h(up, false) - h(down, false)) / step;
      const double used = (static_cast<double>(w1[j]) - static_cast<double>(w2[j])) / lr;
      CAPTURE(j);
      CHECK(used == doctest::Approx(fd).epsilon(1e-2).scale(1e-2));
      worst = std::max(worst, std::abs(used - fd));
      prox_part = std::max(prox_part, std::abs(used - fd_without));
    }
    MESSAGE("largest |step direction − finite difference| " << worst << "; without the proximal term " << prox_part);
    // The check can tell the proximal term: without it the gradient is off by far more than the tolerance.
    CHECK(prox_part > 10 * std::max(worst, 1e-3));
  }
}
