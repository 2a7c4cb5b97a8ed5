// MLP as a Model trained by the LocalTrainer: shapes and costs, the gradient against central finite
// differences of a double-precision reference (with and without dropout), momentum and weight decay
// against the same reference iterated, learning on a separable problem, determinism across threads and
// chunk sizes, and the equality of the modelled cost with what the Backend reports.
#include "models/mlp.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/backend.hpp"
#include "models/local_trainer.hpp"
#include "tests/unit/kernels/tensor_compare.hpp"
#include "tests/unit/models/trainer_test_support.hpp"

namespace {

using namespace dtsim;
using namespace dtsim::models;
using dtsim::test::check_same_results;
using dtsim::test::compare_bits;
using dtsim::test::compare_close;
using dtsim::test::CountingBackend;
using dtsim::test::iota;
using dtsim::test::make_task;
using dtsim::test::mlp_reference;
using dtsim::test::random_dataset;
using dtsim::test::store_of;

constexpr std::uint64_t kSeeds[] = {1, 2, 3};

// Three well separated Gaussian blobs in `features` dimensions.
Dataset blobs(std::int64_t samples, std::int64_t features, std::uint64_t seed) {
  Dataset d;
  d.samples = samples;
  d.features = features;
  d.classes = 3;
  Rng rng(seed, "blobs");
  for (std::int64_t i = 0; i < samples; ++i) {
    const auto label = static_cast<std::int32_t>(i % 3);
    for (std::int64_t f = 0; f < features; ++f) {
      const double centre = f == label ? 2.0 : 0.0;
      d.x.push_back(static_cast<float>(rng.normal(centre, 0.5)));
    }
    d.y.push_back(label);
  }
  return d;
}

// Mean cross-entropy of the MLP over `rows` of d, in double. min_pre: the smallest |pre-activation| of
// any hidden unit (how close the point is to a ReLU kink).
double reference_loss(const MlpShape& shape, const std::vector<double>& p, const Dataset& d,
                      const std::vector<std::int32_t>& rows, double* min_pre = nullptr, std::int64_t* hits = nullptr) {
  const auto ref = mlp_reference(shape, p, d, rows);
  if (min_pre) *min_pre = ref.min_pre;
  if (hits) *hits += ref.hits;
  return ref.mean_loss();
}

// ∇ reference_loss at p by central finite differences.
std::vector<double> fd_gradient(const MlpShape& shape, const std::vector<double>& p, const Dataset& d,
                                const std::vector<std::int32_t>& rows) {
  return dtsim::test::fd_gradient([&](const std::vector<double>& q) { return reference_loss(shape, q, d, rows); }, p);
}

// One task per entry of `samples`, client k·3, round 4, from version 0.
std::vector<TrainTask> tasks_of(const std::vector<std::vector<std::int32_t>>& samples) {
  std::vector<TrainTask> tasks;
  for (std::size_t k = 0; k < samples.size(); ++k)
    tasks.push_back(make_task(static_cast<std::int32_t>(k * 3), samples[k], 4));
  return tasks;
}

}  // namespace

TEST_SUITE("models") {
  TEST_CASE("mlp: parameter_count counts every W and b, logistic regression included") {
    CHECK(parameter_count({6, {5, 4}, 3}) == 6 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3);
    CHECK(parameter_count({784, {200}, 10}) == 159010);
    CHECK(parameter_count({784, {}, 10}) == 7850);
    CHECK(make_mlp_model({6, {5, 4}, 3})->parameter_count() == 6 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3);
    CHECK(make_mlp_model({784, {}, 10})->parameter_count() == 7850);
    CHECK(make_mlp_model({784, {}, 10})->name() == "logistic");
    CHECK(make_mlp_model({784, {200}, 10})->name() == "mlp");
    CHECK_THROWS_AS(parameter_count({784, {0}, 10}), std::invalid_argument);
  }

  TEST_CASE("mlp: a bad shape or dropout is rejected by every entry point") {
    for (const MlpShape& bad : {MlpShape{0, {5}, 3}, MlpShape{6, {5}, 0}, MlpShape{6, {-1}, 3},
                                MlpShape{6, {5}, 3, 1.0}, MlpShape{6, {5}, 3, -0.1}, MlpShape{6, {5}, 3, NAN}}) {
      INFO("inputs " << bad.inputs << ", classes " << bad.classes << ", dropout " << bad.dropout);
      CHECK_THROWS_AS(make_mlp_model(bad), std::invalid_argument);
      CHECK_THROWS_AS(parameter_count(bad), std::invalid_argument);
      CHECK_THROWS_AS(train_flops_per_sample(bad), std::invalid_argument);
    }
    CHECK_THROWS_WITH_AS(make_mlp_model({6, {5}, 3, 1.5}), doctest::Contains("dropout"), std::invalid_argument);
    CHECK_NOTHROW(make_mlp_model({6, {5}, 3, 0.0}));
  }

  TEST_CASE("mlp: local_steps is epochs times the number of minibatches, a short last one included") {
    CHECK(local_steps(600, {1, 10, 0.01}) == 60);
    CHECK(local_steps(25, {2, 10, 0.01}) == 6);
    CHECK(local_steps(1, {3, 10, 0.01}) == 3);
    CHECK(local_steps(0, {5, 10, 0.01}) == 0);
  }

  TEST_CASE("mlp: init_parameters draws PyTorch's nn.Linear defaults (W and b in ±1/sqrt(in)), the same for the same stream") {
    const MlpShape shape{6, {5}, 3};
    Rng a(9, "init"), b(9, "init"), c(10, "init"), d(9, "init");

    const auto pa = init_parameters(shape, a);
    const auto pb = init_parameters(shape, b);
    const auto pc = init_parameters(shape, c);
    const auto pm = make_mlp_model(shape)->init_parameters(d);

    CHECK(pa == pb);
    CHECK(pa == pm);
    CHECK(pa != pc);
    REQUIRE(pa.size() == 53);  // W_0 6×5, b_0 5, W_1 5×3, b_1 3
    const double lim0 = 1 / std::sqrt(6.0), lim1 = 1 / std::sqrt(5.0);
    double largest0 = 0, largest1 = 0;
    for (std::size_t i = 0; i < 35; ++i) largest0 = std::max(largest0, std::abs(static_cast<double>(pa[i])));
    for (std::size_t i = 35; i < 53; ++i) largest1 = std::max(largest1, std::abs(static_cast<double>(pa[i])));
    CHECK(largest0 <= lim0);
    CHECK(largest1 <= lim1);
    // Drawn, not zero, and spread over the range (35 and 18 uniform draws).
    CHECK(largest0 > lim0 / 2);
    CHECK(largest1 > lim1 / 2);
    CHECK(pa[30] != 0.0f);  // a bias
  }

  TEST_CASE("mlp: one SGD step moves every parameter by lr times the finite-difference gradient") {
    for (const MlpShape& shape : {MlpShape{6, {5, 4}, 3}, MlpShape{6, {7}, 3}, MlpShape{6, {}, 3}}) {
      for (std::uint64_t seed : kSeeds) {
        INFO("hidden layers " << shape.hidden.size() << ", seed " << seed);
        // One client, one step on all n = 8 samples, lr = 1 so that p0 − p1 is the gradient itself.
        const Dataset train = random_dataset(8, 6, 3, seed);
        const Dataset test = random_dataset(4, 6, 3, seed + 100);
        Rng rng(seed, "init");
        auto p0 = init_parameters(shape, rng);
        for (auto& v : p0) v += static_cast<float>(rng.uniform(-0.1, 0.1));  // non-zero biases too
        const std::vector<double> p0d(p0.begin(), p0.end());
        const auto rows = iota(0, 8);
        double min_pre = 0;
        const double loss0 = reference_loss(shape, p0d, train, rows, &min_pre);
        REQUIRE_MESSAGE(min_pre > 1e-4, "a hidden unit sits on a ReLU kink; finite differences would be wrong");
        auto backend = kernels::make_cpu_backend(1);
        // B = 16 > n on one seed: a short minibatch still takes the mean over its own 8 rows.
        const std::int64_t batch = seed == 2 ? 16 : 8;
        const auto model = make_mlp_model(shape);
        LocalTrainer trainer(*backend, *model, train, test, {1, batch, 1.0}, seed, 1);
        const std::vector<TrainTask> tasks = {make_task(0, rows, 0)};

        const auto result = trainer.train(tasks, store_of(p0));

        const auto grad_fd = fd_gradient(shape, p0d, train, rows);
        std::vector<double> grad_sgd;
        for (std::size_t i = 0; i < p0.size(); ++i)
          grad_sgd.push_back(static_cast<double>(p0[i]) - static_cast<double>(result[0].params[i]));
        REQUIRE(result[0].steps == 1);
        CHECK(result[0].loss_sum / 8 == doctest::Approx(loss0).epsilon(1e-6));
        const auto diff = compare_close<double, double>(grad_sgd, grad_fd, 1e-5, 1e-4);
        CHECK_MESSAGE(diff.empty(), diff);
        CHECK(dtsim::test::norm2(grad_fd) > 1e-3);  // the check above compared something
      }
    }
  }

  TEST_CASE(
      "mlp: with dropout, two SGD steps follow the finite-difference gradients of the loss under each step's "
      "keyed masks") {
    // Two epochs of one full minibatch each (n = B = 8, lr = 0.5): step s visits the samples in the
    // order of epoch s's shuffle, and hidden layer l's mask is Backend::dropout's (the contract's hash)
    // under dropout_layer_key(Rng(seed, "dropout", client, round, s), l) for row r of the minibatch. The
    // reference applies those masks to the double-precision MLP and differentiates it.
    const float p = 0.3f;
    const MlpShape shape{6, {5, 4}, 3, p};
    const std::int32_t client = 3;
    const std::int64_t round = 2;
    const double lr = 0.5;
    for (std::uint64_t seed : kSeeds) {
      INFO("seed " << seed);
      const Dataset train = random_dataset(8, 6, 3, seed);
      const Dataset test = random_dataset(4, 6, 3, seed + 100);
      Rng rng(seed, "init");
      auto p0 = init_parameters(shape, rng);
      for (auto& v : p0) v += static_cast<float>(rng.uniform(-0.1, 0.1));
      const auto rows = iota(0, 8);
      auto backend = kernels::make_cpu_backend(1);
      const auto model = make_mlp_model(shape);
      LocalTrainer trainer(*backend, *model, train, test, {2, 8, lr}, seed, 1);
      const std::vector<TrainTask> tasks = {make_task(client, rows, round)};

      const auto result = trainer.train(tasks, store_of(p0));

      std::vector<double> pd(p0.begin(), p0.end());
      std::vector<double> undropped = pd;  // the same two steps without dropout
      double loss_sum = 0;
      std::int64_t dropped = 0, kept = 0;
      for (std::int64_t step = 0; step < 2; ++step) {
        const auto order = dtsim::test::epoch_order(rows, seed, client, round, step);
        const std::uint64_t key = dtsim::test::dropout_step_key(seed, client, round, step);
        std::vector<std::vector<double>> masks;
        for (std::size_t l = 0; l < shape.hidden.size(); ++l) {
          masks.push_back(dtsim::test::dropout_mask(p, 1, dropout_layer_key(key, l), 8, shape.hidden[l]));
          for (double m : masks.back()) (m == 0 ? dropped : kept) += 1;
        }
        const auto ref = mlp_reference(shape, pd, train, order, masks);
        REQUIRE_MESSAGE(ref.min_pre > 1e-4, "a kept hidden unit sits on a ReLU kink");
        loss_sum += 8 * ref.mean_loss();
        const auto g = dtsim::test::fd_gradient(
            [&](const std::vector<double>& q) { return mlp_reference(shape, q, train, order, masks).mean_loss(); }, pd);
        const auto g_plain = fd_gradient(shape, undropped, train, rows);
        for (std::size_t i = 0; i < pd.size(); ++i) {
          pd[i] -= lr * g[i];
          undropped[i] -= lr * g_plain[i];
        }
      }

      REQUIRE(result[0].steps == 2);
      CHECK(dropped > 0);  // the masks drop some units and keep others: there is something to get wrong
      CHECK(kept > 0);
      CHECK(result[0].loss_sum == doctest::Approx(loss_sum).epsilon(1e-5));
      const auto diff = compare_close<float, double>(result[0].params, pd, 1e-5, 1e-4);
      CHECK_MESSAGE(diff.empty(), diff);
      // The tolerance can tell dropout from none: the undropped reference fails the same comparison.
      CHECK_FALSE(compare_close<float, double>(result[0].params, undropped, 1e-5, 1e-4).empty());
    }
  }

  TEST_CASE("mlp: dropout is keyed by (seed, client, round): the same task repeats, another round or client differs") {
    const MlpShape shape{6, {16}, 3, 0.5};
    const Dataset train = random_dataset(10, 6, 3, 1), test = random_dataset(5, 6, 3, 2);
    auto backend = kernels::make_cpu_backend(1);
    const auto model = make_mlp_model(shape);
    LocalTrainer trainer(*backend, *model, train, test, {1, 10, 0.1}, 1, 2);
    Rng rng(1, "init");
    const auto store = store_of(init_parameters(shape, rng));
    // One minibatch of all 10 samples: without dropout the order of its rows would change the minibatch
    // loss only by float rounding, so a larger change comes from the masks.
    const auto samples = iota(0, 10);

    const auto r0 = trainer.train(std::vector<TrainTask>{make_task(0, samples, 0)}, store);
    const auto r0_again = trainer.train(std::vector<TrainTask>{make_task(0, samples, 0)}, store);
    const auto r1 = trainer.train(std::vector<TrainTask>{make_task(0, samples, 1)}, store);
    const auto other_client = trainer.train(std::vector<TrainTask>{make_task(1, samples, 0)}, store);

    check_same_results(r0_again, r0);
    CHECK(std::abs(r0[0].loss_sum - r1[0].loss_sum) > 1e-4 * r0[0].loss_sum);
    CHECK(std::abs(r0[0].loss_sum - other_client[0].loss_sum) > 1e-4 * r0[0].loss_sum);
    CHECK(r0[0].params != r1[0].params);
    CHECK(r0[0].params != other_client[0].params);
  }

  TEST_CASE("mlp: dropout is off in evaluation") {
    const Dataset train = random_dataset(10, 6, 3, 1), test = random_dataset(300, 6, 3, 2);
    auto backend = kernels::make_cpu_backend(2);
    const auto dropped = make_mlp_model({6, {8, 5}, 3, 0.5});
    const auto plain = make_mlp_model({6, {8, 5}, 3});
    LocalTrainer with_dropout(*backend, *dropped, train, test, {1, 10, 0.1}, 1, 2);
    LocalTrainer without(*backend, *plain, train, test, {1, 10, 0.1}, 1, 2);
    Rng rng(1, "init");
    const auto params = plain->init_parameters(rng);
    std::int64_t hits = 0;
    const double loss = reference_loss({6, {8, 5}, 3}, std::vector<double>(params.begin(), params.end()), test,
                                       iota(0, 300), nullptr, &hits);

    const Evaluation a = with_dropout.evaluate(params);
    const Evaluation b = without.evaluate(params);

    CHECK(a.loss == b.loss);
    CHECK(a.accuracy == b.accuracy);
    CHECK(a.loss == doctest::Approx(loss).epsilon(1e-5));
    CHECK(a.accuracy == doctest::Approx(static_cast<double>(hits) / 300).epsilon(1e-12));
  }

  TEST_CASE("mlp: momentum and weight decay follow PyTorch SGD: 3 full-batch steps match a double reference") {
    const double lr = 0.5;
    // With and without weight decay: the backend's update takes a different loop for each.
    for (const auto& setting : {std::pair{0.9, 0.01}, std::pair{0.5, 0.0}}) {
      const double momentum = setting.first, weight_decay = setting.second;  // INFO captures them
      for (const MlpShape& shape : {MlpShape{6, {5, 4}, 3}, MlpShape{6, {}, 3}}) {
        for (std::uint64_t seed : kSeeds) {
          INFO("momentum " << momentum << ", weight decay " << weight_decay << ", hidden layers " << shape.hidden.size()
                           << ", seed " << seed);
          // n = B = 8: every step takes the same full minibatch, whatever the shuffle; E = 3 epochs = 3 steps.
          const Dataset train = random_dataset(8, 6, 3, seed);
          const Dataset test = random_dataset(4, 6, 3, seed + 100);
          Rng rng(seed, "init");
          auto p0 = init_parameters(shape, rng);
          for (auto& v : p0) v += static_cast<float>(rng.uniform(-0.1, 0.1));  // non-zero biases too
          const auto rows = iota(0, 8);
          const std::vector<TrainTask> tasks = {make_task(0, rows, 0)};
          auto backend = kernels::make_cpu_backend(1);
          const auto model = make_mlp_model(shape);
          LocalTrainer trainer(*backend, *model, train, test, {3, 8, lr, momentum, weight_decay}, seed, 1);
          LocalTrainer plain_trainer(*backend, *model, train, test, {3, 8, lr}, seed, 1);
          // The three update equations in double, from the analytic (finite-difference) gradient.
          std::vector<double> p(p0.begin(), p0.end()), v(p0.size(), 0.0);
          double loss_sum = 0;
          for (int step = 0; step < 3; ++step) {
            double min_pre = 0;
            loss_sum += 8 * reference_loss(shape, p, train, rows, &min_pre);
            REQUIRE_MESSAGE(min_pre > 1e-4, "a hidden unit sits on a ReLU kink; finite differences would be wrong");
            const auto g = fd_gradient(shape, p, train, rows);
            for (std::size_t i = 0; i < p.size(); ++i) {
              v[i] = momentum * v[i] + (g[i] + weight_decay * p[i]);
              p[i] -= lr * v[i];
            }
          }

          const auto result = trainer.train(tasks, store_of(p0));
          const auto plain = plain_trainer.train(tasks, store_of(p0));

          REQUIRE(result[0].steps == 3);
          CHECK(result[0].loss_sum == doctest::Approx(loss_sum).epsilon(1e-5));
          const auto diff = compare_close<float, double>(result[0].params, p, 1e-5, 1e-4);
          CHECK_MESSAGE(diff.empty(), diff);
          // The tolerance can tell momentum from plain SGD: the plain result fails the same comparison.
          CHECK_FALSE(compare_close<float, double>(plain[0].params, p, 1e-5, 1e-4).empty());
        }
      }
    }
  }

  TEST_CASE("mlp: weight decay alone (momentum 0) shrinks the parameters as lr·weight_decay·p per step") {
    // One step from p0 with momentum 0 gives p0 − lr·(g + wd·p0): it differs from plain SGD's p0 − lr·g
    // by exactly −lr·wd·p0, up to float rounding.
    const MlpShape shape{6, {5}, 3};
    const Dataset train = random_dataset(8, 6, 3, 4), test = random_dataset(4, 6, 3, 5);
    Rng rng(4, "init");
    auto p0 = init_parameters(shape, rng);
    for (auto& v : p0) v += static_cast<float>(rng.uniform(-0.1, 0.1));
    const auto rows = iota(0, 8);
    const std::vector<TrainTask> tasks = {make_task(0, rows, 0)};
    auto backend = kernels::make_cpu_backend(1);
    const auto model = make_mlp_model(shape);
    LocalTrainer decayed(*backend, *model, train, test, {1, 8, 0.1, 0.0, 0.5}, 1, 1);
    LocalTrainer plain(*backend, *model, train, test, {1, 8, 0.1}, 1, 1);

    const auto a = decayed.train(tasks, store_of(p0));
    const auto b = plain.train(tasks, store_of(p0));

    std::vector<double> expected, got;
    for (std::size_t i = 0; i < p0.size(); ++i) {
      expected.push_back(-0.1 * 0.5 * static_cast<double>(p0[i]));
      got.push_back(static_cast<double>(a[0].params[i]) - static_cast<double>(b[0].params[i]));
    }
    const auto diff = compare_close<double, double>(got, expected, 1e-6, 1e-4);
    CHECK_MESSAGE(diff.empty(), diff);
  }

  TEST_CASE("mlp: training separable blobs lowers the test loss and reaches high accuracy") {
    const MlpShape shape{4, {16}, 3};
    const Dataset train = blobs(150, 4, 1), test = blobs(60, 4, 2);
    auto backend = kernels::make_cpu_backend(2);
    const auto model = make_mlp_model(shape);
    LocalTrainer trainer(*backend, *model, train, test, {20, 10, 0.1}, 1, 4);
    Rng rng(1, "init");
    const auto p0 = init_parameters(shape, rng);
    const auto samples = iota(0, 150);  // TrainTask holds a span: keep the indices alive
    const std::vector<TrainTask> tasks = {make_task(0, samples, 0)};

    const Evaluation before = trainer.evaluate(p0);
    const auto result = trainer.train(tasks, store_of(p0));
    const Evaluation after = trainer.evaluate(result[0].params);

    CHECK(result[0].steps == 20 * 15);
    CHECK(after.loss < 0.5 * before.loss);
    CHECK(after.accuracy >= 0.95);
  }

  TEST_CASE("mlp: evaluate matches a double reference over a test set split into ragged items") {
    const MlpShape shape{12, {9}, 4};
    const Dataset train = random_dataset(10, 12, 4, 5), test = random_dataset(600, 12, 4, 6);  // 256 + 256 + 88 rows
    auto backend = kernels::make_cpu_backend(2);
    const auto model = make_mlp_model(shape);
    LocalTrainer trainer(*backend, *model, train, test, {1, 10, 0.1}, 1, 1);
    Rng rng(5, "init");
    const auto p = init_parameters(shape, rng);
    std::int64_t hits = 0;
    const double loss =
        reference_loss(shape, std::vector<double>(p.begin(), p.end()), test, iota(0, 600), nullptr, &hits);

    const Evaluation e = trainer.evaluate(p);

    CHECK(e.loss == doctest::Approx(loss).epsilon(1e-5));
    CHECK(e.accuracy == doctest::Approx(static_cast<double>(hits) / 600).epsilon(1e-12));
  }

  TEST_CASE(
      "mlp: LocalTrainer results are bit-identical for threads {1, 2, 3} x chunk {1, 3, 10} x batched or "
      "concurrent, with and without momentum, with and without dropout") {
    const Dataset train = random_dataset(400, 30, 5, 7), test = random_dataset(300, 30, 5, 8);
    const std::vector<std::int32_t> sizes = {0, 1, 7, 10, 23, 40, 3, 55, 12, 9, 31};
    std::vector<std::vector<std::int32_t>> samples;
    std::int32_t next = 0;
    for (std::int32_t n : sizes) {
      samples.push_back(iota(next, n));
      next += n;
    }
    const std::vector<TrainTask> tasks = tasks_of(samples);
    for (double dropout : {0.0, 0.25}) {
      const MlpShape shape{30, {24, 16}, 5, dropout};
      const auto model = make_mlp_model(shape);
      Rng rng(7, "init");
      const auto store = store_of(init_parameters(shape, rng));
      for (const LocalTrainingConfig& config :
           {LocalTrainingConfig{2, 10, 0.05}, LocalTrainingConfig{2, 10, 0.05, 0.9, 1e-3}}) {
        // The reference steps the clients one at a time through batched calls (the CUDA structure); the
        // CPU backend runs whole clients concurrently on its lanes (the `concurrent` structure).
        auto one = kernels::make_cpu_backend(1);
        CountingBackend batched(*one);
        LocalTrainer reference_trainer(batched, *model, train, test, config, 11, 1);
        const auto reference = reference_trainer.train(tasks, store);
        const Evaluation reference_eval = reference_trainer.evaluate(reference[5].params);

        for (int threads : {1, 2, 3}) {
          auto cpu = kernels::make_cpu_backend(threads);
          CountingBackend lockstep(*cpu);  // batched: clients of a chunk in lockstep
          for (std::int64_t chunk : {1, 3, 10}) {
            for (kernels::Backend* backend :
                 {static_cast<kernels::Backend*>(cpu.get()), static_cast<kernels::Backend*>(&lockstep)}) {
              INFO("dropout " << dropout << ", momentum " << config.momentum << ", threads " << threads << ", chunk "
                              << chunk << ", " << (backend == cpu.get() ? "concurrent" : "batched"));
              LocalTrainer trainer(*backend, *model, train, test, config, 11, chunk);

              const auto got = trainer.train(tasks, store);
              const auto again = trainer.train(tasks, store);  // the velocity starts at 0 again
              const Evaluation e = trainer.evaluate(got[5].params);

              check_same_results(got, reference);
              check_same_results(again, reference);
              CHECK(e.loss == reference_eval.loss);
              CHECK(e.accuracy == reference_eval.accuracy);
            }
          }
        }
      }
    }
  }

  TEST_CASE("mlp: on a concurrent backend the LocalTrainer forks once per chunk, each item one whole client") {
    const MlpShape shape{30, {24}, 5};
    const Dataset train = random_dataset(200, 30, 5, 7), test = random_dataset(50, 30, 5, 8);
    const std::vector<std::int32_t> sizes = {12, 35, 0, 21, 8, 40, 17};  // steps 2, 4, 0, 3, 1, 4, 2 (B = 10)
    std::vector<std::vector<std::int32_t>> samples;
    std::int32_t next = 0;
    for (std::int32_t n : sizes) {
      samples.push_back(iota(next, n));
      next += n;
    }
    std::vector<TrainTask> tasks;
    for (std::size_t k = 0; k < sizes.size(); ++k)
      tasks.push_back(make_task(static_cast<std::int32_t>(k), samples[k], 1));
    Rng rng(7, "init");
    const auto store = store_of(init_parameters(shape, rng));
    auto cpu = kernels::make_cpu_backend(2);
    CountingBackend concurrent(*cpu, CountingBackend::Schedule::forwarded);
    CountingBackend batched(*cpu);
    const LocalTrainingConfig config{1, 10, 0.05, 0.9, 0.0};
    const auto model = make_mlp_model(shape);
    LocalTrainer trainer(concurrent, *model, train, test, config, 3, 3);
    LocalTrainer reference_trainer(batched, *model, train, test, config, 3, 3);

    const auto got = trainer.train(tasks, store);
    const auto reference = reference_trainer.train(tasks, store);

    CHECK(concurrent.for_each_calls == 3);  // chunks of 3, 3 and 1 clients
    CHECK(concurrent.items == 7);
    CHECK(concurrent.update_calls == 2 + 4 + 0 + 3 + 1 + 4 + 2);  // one single-client update per step
    CHECK(batched.for_each_calls == 0);
    CHECK(batched.update_calls == 4 + 4 + 2);  // one batched update per lockstep step of each chunk
    CHECK(concurrent.total.flops == batched.total.flops);
    check_same_results(got, reference);
  }

  TEST_CASE("mlp: explicit zero momentum and weight decay take the fused plain-SGD path, bit for bit") {
    const MlpShape shape{30, {24}, 5};
    const Dataset train = random_dataset(100, 30, 5, 7), test = random_dataset(50, 30, 5, 8);
    const auto s0 = iota(0, 37), s1 = iota(37, 63);
    const std::vector<TrainTask> tasks = {make_task(0, s0, 2), make_task(1, s1, 2)};
    Rng rng(7, "init");
    const auto store = store_of(init_parameters(shape, rng));
    auto cpu = kernels::make_cpu_backend(2);
    CountingBackend counting(*cpu);
    LocalTrainingConfig defaults;
    defaults.epochs = 2;
    defaults.lr = 0.05;
    const LocalTrainingConfig zeros{2, 10, 0.05, 0.0, 0.0};
    const auto model = make_mlp_model(shape);
    LocalTrainer by_default(*cpu, *model, train, test, defaults, 3, 2);
    LocalTrainer explicit_zeros(counting, *model, train, test, zeros, 3, 2);
    LocalTrainer with_momentum(*cpu, *model, train, test, {2, 10, 0.05, 0.5, 0.0}, 3, 2);

    const auto reference = by_default.train(tasks, store);
    const auto got = explicit_zeros.train(tasks, store);
    const auto other = with_momentum.train(tasks, store);

    check_same_results(got, reference);
    CHECK(counting.update_calls == 0);  // no velocity: the SGD update is fused into the gradient GEMM
    CHECK(update_flops_per_step(*model, zeros) == 0.0);
    CHECK_FALSE(needs_velocity(zeros));
    CHECK(other[0].params != reference[0].params);  // momentum does change the result
  }

  TEST_CASE("mlp: a client with no samples returns its start model after 0 steps") {
    const MlpShape shape{6, {5}, 3};
    const Dataset train = random_dataset(20, 6, 3, 1), test = random_dataset(5, 6, 3, 2);
    auto backend = kernels::make_cpu_backend(2);
    const auto model = make_mlp_model(shape);
    LocalTrainer trainer(*backend, *model, train, test, {1, 10, 0.1}, 1, 3);
    Rng rng(1, "init");
    const auto global = init_parameters(shape, rng);
    const auto samples = iota(0, 20);
    const std::vector<TrainTask> tasks = {make_task(0, {}, 0), make_task(1, samples, 0)};

    const auto r = trainer.train(tasks, store_of(global));

    CHECK(r[0].params == global);
    CHECK(r[0].steps == 0);
    CHECK(r[0].samples_seen == 0);
    CHECK(r[0].loss_sum == 0.0);
    CHECK(r[0].loss_sq_sum == 0.0);
    CHECK(r[0].correct == 0);
    CHECK(r[0].flops == 0.0);
    CHECK(r[1].steps == 2);
    CHECK(r[1].params != global);
  }

  TEST_CASE(
      "mlp: the shuffle is keyed by (seed, client, round): another round, client or seed differs, the same repeats") {
    const MlpShape shape{6, {5}, 3};
    const Dataset train = random_dataset(50, 6, 3, 1), test = random_dataset(5, 6, 3, 2);
    auto backend = kernels::make_cpu_backend(1);
    const auto model = make_mlp_model(shape);
    LocalTrainer trainer(*backend, *model, train, test, {1, 10, 0.1}, 1, 2);
    LocalTrainer other_seed(*backend, *model, train, test, {1, 10, 0.1}, 2, 2);
    Rng rng(1, "init");
    const auto store = store_of(init_parameters(shape, rng));
    const auto samples = iota(0, 50);

    const auto r0 = trainer.train(std::vector<TrainTask>{make_task(0, samples, 0)}, store);
    const auto r1 = trainer.train(std::vector<TrainTask>{make_task(0, samples, 1)}, store);
    const auto other_client = trainer.train(std::vector<TrainTask>{make_task(1, samples, 0)}, store);
    const auto seed2 = other_seed.train(std::vector<TrainTask>{make_task(0, samples, 0)}, store);
    const auto r0_again = trainer.train(std::vector<TrainTask>{make_task(0, samples, 0)}, store);

    CHECK(r0[0].params != r1[0].params);
    CHECK(r0[0].params != other_client[0].params);
    CHECK(r0[0].params != seed2[0].params);
    check_same_results(r0_again, r0);
  }

  TEST_CASE("mlp: train, update and forward flops equal what the Backend reports, with and without momentum") {
    const std::vector<LocalTrainingConfig> configs = {
        {2, 10, 0.01}, {2, 10, 0.01, 0.9, 0.01}, {2, 10, 0.01, 0.5, 0.0}, {2, 10, 0.01, 0.0, 0.01}};
    for (const MlpShape& shape :
         {MlpShape{784, {200}, 10}, MlpShape{30, {24, 16}, 5}, MlpShape{8, {}, 4}, MlpShape{30, {24, 16}, 5, 0.5}}) {
      const auto model = make_mlp_model(shape);
      for (const LocalTrainingConfig& config : configs) {
        INFO("hidden layers " << shape.hidden.size() << ", dropout " << shape.dropout << ", momentum "
                              << config.momentum << ", weight decay " << config.weight_decay);
        const Dataset train = random_dataset(120, shape.inputs, shape.classes, 3);
        const Dataset test = random_dataset(300, shape.inputs, shape.classes, 4);
        auto cpu = kernels::make_cpu_backend(2);
        CountingBackend counting(*cpu);
        LocalTrainer trainer(counting, *model, train, test, config, 1, 3);
        Rng rng(3, "init");
        const auto global = init_parameters(shape, rng);
        // Ragged minibatches: 25 = 10 + 10 + 5, 1 = 1, 17 = 10 + 7.
        const auto s0 = iota(0, 25), s1 = iota(25, 1), s2 = iota(26, 17);
        const std::vector<TrainTask> tasks = {make_task(0, s0, 0), make_task(1, s1, 0), make_task(2, s2, 0),
                                              make_task(3, {}, 0)};

        const auto results = trainer.train(tasks, store_of(global));
        const double train_reported = counting.total.flops;
        const std::string by_op = counting.report();
        counting.reset();
        trainer.evaluate(global);
        const double eval_reported = counting.total.flops;

        INFO("training's reported flops by operation:\n" << by_op);
        double seen = 0, steps = 0, result_flops = 0;
        for (const auto& r : results) {
          seen += static_cast<double>(r.samples_seen);
          steps += static_cast<double>(r.steps);
          result_flops += r.flops;
        }
        const double per_step = update_flops_per_step(*model, config);
        CHECK(seen == 2 * (25 + 1 + 17));
        CHECK(steps == 2 * (3 + 1 + 2));
        CHECK((per_step > 0) == (config.momentum > 0 || config.weight_decay > 0));
        CHECK(train_reported == seen * train_flops_per_sample(shape) + steps * per_step);
        CHECK(model->train_flops_per_sample() == train_flops_per_sample(shape));
        CHECK(result_flops == train_reported);
        CHECK(results[0].flops == 50 * train_flops_per_sample(shape) + 6 * per_step);
        CHECK(eval_reported == 300 * forward_flops_per_sample(shape));
        CHECK(model->forward_flops_per_sample() == forward_flops_per_sample(shape));
        // One update pass per lockstep step of the chunk (the longest client takes 6 steps), none for plain SGD.
        CHECK(counting.update_calls == (per_step > 0 ? 6 : 0));
      }
    }
  }

  TEST_CASE("mlp: update_flops_per_step counts one fused update pass over all parameters, weight decay included") {
    const auto model = make_mlp_model({8, {}, 4});  // 36 parameters

    CHECK(update_flops_per_step(*model, {1, 10, 0.01}) == 0.0);
    CHECK(update_flops_per_step(*model, {1, 10, 0.01, 0.9, 0.0}) == 3 * 36);   // p −= lr·v; v *= m
    CHECK(update_flops_per_step(*model, {1, 10, 0.01, 0.0, 0.01}) == 5 * 36);  // and v += wd·p
    CHECK(update_flops_per_step(*model, {1, 10, 0.01, 0.9, 0.01}) == 5 * 36);
    CHECK(update_flops_per_step(*make_mlp_model({784, {200}, 10}), {1, 10, 0.01, 0.5, 0.0}) == 3 * 159010);
  }

  TEST_CASE(
      "mlp: the LocalTrainer rejects a bad chunk or optimizer setting, a wrong-sized model, unknown samples and "
      "mismatched data") {
    const MlpShape shape{6, {5}, 3};
    const Dataset train = random_dataset(20, 6, 3, 1), test = random_dataset(5, 6, 3, 2);
    const Dataset wrong = random_dataset(5, 7, 3, 2);
    Dataset bad_label = random_dataset(5, 6, 3, 2);
    bad_label.y[3] = 3;
    Dataset short_x = random_dataset(5, 6, 3, 2);
    short_x.x.pop_back();
    auto backend = kernels::make_cpu_backend(1);
    const auto model = make_mlp_model(shape);
    LocalTrainer trainer(*backend, *model, train, test, {1, 10, 0.1}, 1, 2);
    Rng rng(1, "init");
    const auto global = store_of(init_parameters(shape, rng));
    const std::vector<std::int32_t> bad = {0, 20}, negative = {-1};

    CHECK_THROWS_AS(LocalTrainer(*backend, *model, train, test, {1, 10, 0.1}, 1, 0), std::invalid_argument);
    for (const LocalTrainingConfig& bad_config :
         {LocalTrainingConfig{1, 10, 0.1, 1.0, 0}, LocalTrainingConfig{1, 10, 0.1, -0.1, 0},
          LocalTrainingConfig{1, 10, 0.1, NAN, 0}, LocalTrainingConfig{1, 10, 0.1, 0, -1e-4},
          LocalTrainingConfig{1, 10, 0.1, 0, INFINITY}, LocalTrainingConfig{1, 0, 0.1},
          LocalTrainingConfig{-1, 10, 0.1}, LocalTrainingConfig{1, 10, NAN}}) {
      INFO("epochs " << bad_config.epochs << ", batch " << bad_config.batch_size << ", lr " << bad_config.lr
                     << ", momentum " << bad_config.momentum << ", weight decay " << bad_config.weight_decay);
      CHECK_THROWS_AS(LocalTrainer(*backend, *model, train, test, bad_config, 1, 1), std::invalid_argument);
      CHECK_THROWS_AS(update_flops_per_step(*model, bad_config), std::invalid_argument);
    }
    CHECK_THROWS_AS(LocalTrainer(*backend, *model, train, wrong, {1, 10, 0.1}, 1, 1), std::invalid_argument);
    CHECK_THROWS_WITH_AS(LocalTrainer(*backend, *model, train, bad_label, {1, 10, 0.1}, 1, 1),
                         doctest::Contains("label 3"), std::invalid_argument);
    CHECK_THROWS_AS(LocalTrainer(*backend, *model, short_x, test, {1, 10, 0.1}, 1, 1), std::invalid_argument);
    const auto five = iota(0, 5);
    CHECK_THROWS_AS(trainer.train(std::vector<TrainTask>{make_task(0, five, 0)}, store_of(std::vector<float>(3))),
                    std::invalid_argument);
    CHECK_THROWS_WITH_AS(trainer.train(std::vector<TrainTask>{make_task(0, bad, 0)}, global), doctest::Contains("20"),
                         std::invalid_argument);
    CHECK_THROWS_AS(trainer.train(std::vector<TrainTask>{make_task(0, negative, 0)}, global), std::invalid_argument);
    CHECK_THROWS_AS(trainer.evaluate(std::vector<float>(3)), std::invalid_argument);
  }
}
