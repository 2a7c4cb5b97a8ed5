// LocalTrainer: the optimizer terms of a task's LocalObjective (FedProx's proximal term, SCAFFOLD's
// correction) against a double-precision reference, partial work (max_steps) and per-task epochs, the
// ModelStore and tasks that start from older versions, mixed objectives in one call, the per-sample loss
// statistics (loss_sq_sum, correct), the shuffle's (client, round, epoch) keying, the optimizer's
// modelled cost, and determinism across threads, chunks and parallel structures.
#include "models/local_trainer.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/backend.hpp"
#include "models/mlp.hpp"
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

std::vector<float> perturbed_init(const MlpShape& shape, std::uint64_t seed) {
  Rng rng(seed, "init");
  auto p = init_parameters(shape, rng);
  for (auto& v : p) v += static_cast<float>(rng.uniform(-0.1, 0.1));  // non-zero biases too
  return p;
}

std::vector<float> random_vector(std::size_t n, double scale, std::uint64_t seed) {
  Rng rng(seed, "correction");
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(rng.uniform(-scale, scale));
  return v;
}

// The optimizer of models/local_trainer.hpp in double, over full-batch steps (every step the same
// minibatch, all of `rows`): g = ∇loss + wd·p + μ·(p − anchor) + c; v = m·v + g; p −= lr·v.
struct Optimizer {
  double lr = 0, momentum = 0, weight_decay = 0, mu = 0;
  std::vector<double> anchor, correction;  // correction empty: none
};
std::vector<double> reference_steps(const MlpShape& shape, const Dataset& d, const std::vector<std::int32_t>& rows,
                                    std::vector<double> p, const Optimizer& o, int steps, double* loss_sum) {
  std::vector<double> v(p.size(), 0.0);
  if (loss_sum) *loss_sum = 0;
  for (int s = 0; s < steps; ++s) {
    const auto ref = mlp_reference(shape, p, d, rows);
    REQUIRE_MESSAGE(ref.min_pre > 1e-4, "a hidden unit sits on a ReLU kink; finite differences would be wrong");
    if (loss_sum) *loss_sum += ref.mean_loss() * static_cast<double>(rows.size());
    const auto g = dtsim::test::fd_gradient(
        [&](const std::vector<double>& q) { return mlp_reference(shape, q, d, rows).mean_loss(); }, p);
    for (std::size_t i = 0; i < p.size(); ++i) {
      double gi = g[i] + o.weight_decay * p[i] + o.mu * (p[i] - o.anchor[i]);
      if (!o.correction.empty()) gi += o.correction[i];
      v[i] = o.momentum * v[i] + gi;
      p[i] -= o.lr * v[i];
    }
  }
  return p;
}

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// Per-sample reference losses at p of `rows`, in order.
std::vector<double> sample_losses(const MlpShape& shape, const std::vector<float>& p, const Dataset& d,
                                  const std::vector<std::int32_t>& rows) {
  return mlp_reference(shape, to_double(p), d, rows).losses;
}

}  // namespace

TEST_SUITE("models") {
  TEST_CASE(
      "LocalTrainer: the proximal term μ·(p − from) and the correction c join every step's gradient, as a double "
      "reference of PyTorch SGD") {
    struct Case {
      double momentum, weight_decay, mu;
      bool corrected;
    };
    const double lr = 0.5;
    for (const Case& c : {Case{0, 0, 0.5, false}, Case{0.9, 0, 0.5, false}, Case{0, 0, 0, true},
                          Case{0.9, 0.01, 0, true}, Case{0.5, 0.01, 0.5, true}}) {
      for (const MlpShape& shape : {MlpShape{5, {}, 3}, MlpShape{5, {4}, 3}}) {
        for (std::uint64_t seed : kSeeds) {
          INFO("momentum " << c.momentum << ", weight decay " << c.weight_decay << ", mu " << c.mu << ", correction "
                           << c.corrected << ", hidden layers " << shape.hidden.size() << ", seed " << seed);
          // n = B = 8 and 3 epochs: 3 steps on the same full minibatch, whatever the shuffle.
          const Dataset train = random_dataset(8, 5, 3, seed), test = random_dataset(4, 5, 3, seed + 100);
          const auto p0 = perturbed_init(shape, seed);
          const auto correction = random_vector(p0.size(), 0.2, seed);
          const auto rows = iota(0, 8);
          const auto model = make_mlp_model(shape);
          auto backend = kernels::make_cpu_backend(1);
          LocalTrainer trainer(*backend, *model, train, test, {3, 8, lr, c.momentum, c.weight_decay}, seed, 1);
          TrainTask task = make_task(0, rows, 0);
          task.objective.proximal_mu = c.mu;
          if (c.corrected) task.objective = {c.mu, true, correction.data()};
          Optimizer full{lr, c.momentum, c.weight_decay, c.mu, to_double(p0), {}};
          if (c.corrected) full.correction = to_double(correction);
          Optimizer without_objective = full;
          without_objective.mu = 0;
          without_objective.correction.clear();
          double loss_sum = 0;
          const auto expected = reference_steps(shape, train, rows, to_double(p0), full, 3, &loss_sum);
          const auto unmodified = reference_steps(shape, train, rows, to_double(p0), without_objective, 3, nullptr);

          const auto result = trainer.train(std::vector<TrainTask>{task}, store_of(p0));

          REQUIRE(result[0].steps == 3);
          CHECK(result[0].samples_seen == 24);
          CHECK(result[0].loss_sum == doctest::Approx(loss_sum).epsilon(1e-5));
          const auto diff = compare_close<float, double>(result[0].params, expected, 1e-5, 1e-4);
          CHECK_MESSAGE(diff.empty(), diff);
          // The tolerance can tell the objective's term: the reference without it fails the comparison.
          CHECK_FALSE(compare_close<float, double>(result[0].params, unmodified, 1e-5, 1e-4).empty());
        }
      }
    }
  }

  TEST_CASE("LocalTrainer: a task starts from its own version in the store, which is also its proximal anchor") {
    const MlpShape shape{5, {4}, 3};
    const Dataset train = random_dataset(8, 5, 3, 4), test = random_dataset(4, 5, 3, 5);
    const auto older = perturbed_init(shape, 4), newer = perturbed_init(shape, 5);
    ModelStore store;
    store.put(3, older);
    store.put(5, newer);
    const auto rows = iota(0, 8);
    const auto model = make_mlp_model(shape);
    auto backend = kernels::make_cpu_backend(2);
    const double lr = 0.5, mu = 0.5;
    LocalTrainer trainer(*backend, *model, train, test, {3, 8, lr}, 1, 4);
    TrainTask plain_old = make_task(0, rows, 0, 3), plain_new = make_task(0, rows, 0, 5),
              prox_old = make_task(0, rows, 0, 3);
    prox_old.objective.proximal_mu = mu;
    double unused = 0;
    const auto expected =
        reference_steps(shape, train, rows, to_double(older), {lr, 0, 0, mu, to_double(older), {}}, 3, &unused);
    const auto anchored_newer =
        reference_steps(shape, train, rows, to_double(older), {lr, 0, 0, mu, to_double(newer), {}}, 3, &unused);

    const auto got = trainer.train(std::vector<TrainTask>{plain_old, plain_new, prox_old}, store);
    const auto alone_old = trainer.train(std::vector<TrainTask>{make_task(0, rows, 0)}, store_of(older));
    const auto alone_new = trainer.train(std::vector<TrainTask>{make_task(0, rows, 0)}, store_of(newer));

    check_same_results({got[0]}, alone_old);
    check_same_results({got[1]}, alone_new);
    CHECK(got[0].params != got[1].params);
    const auto diff = compare_close<float, double>(got[2].params, expected, 1e-5, 1e-4);
    CHECK_MESSAGE(diff.empty(), diff);
    CHECK_FALSE(compare_close<float, double>(got[2].params, anchored_newer, 1e-5, 1e-4).empty());
  }

  TEST_CASE("ModelStore: put, contains, at, size and release_before keep exactly the versions asked for") {
    ModelStore store;
    store.put(3, {1.0f, 2.0f});
    store.put(5, {3.0f});
    store.put(7, {4.0f, 5.0f, 6.0f});
    store.put(5, {8.0f, 9.0f});  // put replaces a version

    CHECK(store.size() == 3);
    CHECK(store.contains(3));
    CHECK_FALSE(store.contains(4));
    CHECK(std::vector<float>(store.at(5).begin(), store.at(5).end()) == std::vector<float>{8.0f, 9.0f});
    CHECK_THROWS_WITH_AS(store.at(4), doctest::Contains("4"), std::out_of_range);

    store.release_before(5);

    CHECK(store.size() == 2);
    CHECK_FALSE(store.contains(3));
    CHECK(store.contains(5));
    CHECK(store.contains(7));
    CHECK(std::vector<float>(store.at(7).begin(), store.at(7).end()) == std::vector<float>{4.0f, 5.0f, 6.0f});
    store.release_before(2);  // nothing older than 5 is left
    CHECK(store.size() == 2);
    store.release_before(8);
    CHECK(store.size() == 0);
  }

  TEST_CASE("LocalTrainer: a task from a version the store does not hold is rejected, naming the version") {
    const MlpShape shape{5, {}, 3};
    const Dataset train = random_dataset(8, 5, 3, 1), test = random_dataset(4, 5, 3, 2);
    const auto model = make_mlp_model(shape);
    auto backend = kernels::make_cpu_backend(1);
    LocalTrainer trainer(*backend, *model, train, test, {1, 8, 0.1}, 1, 2);
    ModelStore store;
    store.put(3, perturbed_init(shape, 1));
    store.put(9, perturbed_init(shape, 2));
    store.release_before(9);
    const auto rows = iota(0, 8);

    CHECK_THROWS_WITH_AS(trainer.train(std::vector<TrainTask>{make_task(0, rows, 0, 3)}, store), doctest::Contains("3"),
                         std::out_of_range);
    CHECK_THROWS_AS(trainer.train(std::vector<TrainTask>{make_task(0, rows, 0, 9), make_task(1, rows, 0, 7)}, store),
                    std::out_of_range);
    CHECK(trainer.train(std::vector<TrainTask>{make_task(0, rows, 0, 9)}, store)[0].steps == 1);
  }

  TEST_CASE(
      "LocalTrainer: max_steps stops a task after that many steps, with samples_seen, loss and the cost of the "
      "steps taken") {
    // 25 samples, B = 10, 2 epochs: 3 steps per epoch (10, 10, 5 rows), 6 in all.
    const MlpShape shape{5, {4}, 3};
    const Dataset train = random_dataset(25, 5, 3, 6), test = random_dataset(4, 5, 3, 7);
    const auto p0 = perturbed_init(shape, 6);
    const auto store = store_of(p0);
    const auto rows = iota(0, 25);
    const auto model = make_mlp_model(shape);
    auto backend = kernels::make_cpu_backend(2);
    LocalTrainer two_epochs(*backend, *model, train, test, {2, 10, 0.1, 0.5}, 9, 3);
    LocalTrainer one_epoch(*backend, *model, train, test, {1, 10, 0.1, 0.5}, 9, 3);
    auto capped = [&](std::int64_t max_steps) { return make_task(2, rows, 1, 0, max_steps); };
    const double update = update_flops_per_step(*model, {2, 10, 0.1, 0.5});
    REQUIRE(update > 0);

    const auto r = two_epochs.train(
        std::vector<TrainTask>{capped(-1), capped(0), capped(3), capped(4), capped(6), capped(100)}, store);
    const auto first_epoch = one_epoch.train(std::vector<TrainTask>{capped(-1)}, store);

    CHECK(r[0].steps == 6);
    CHECK(r[0].samples_seen == 50);
    CHECK(r[1].steps == 0);
    CHECK(r[1].samples_seen == 0);
    CHECK(r[1].params == p0);
    CHECK(r[1].loss_sum == 0.0);
    CHECK(r[1].flops == 0.0);
    CHECK(r[2].steps == 3);
    CHECK(r[2].samples_seen == 25);
    CHECK(r[3].steps == 4);
    CHECK(r[3].samples_seen == 35);  // 10 + 10 + 5, then the first 10 of the second epoch
    CHECK(r[3].flops == 35 * model->train_flops_per_sample() + 4 * update);
    CHECK(r[3].loss_sum > r[2].loss_sum);
    CHECK(r[3].loss_sum < r[0].loss_sum);
    // Stopping after the first epoch's steps is training one epoch; a cap at or above the steps is none.
    check_same_results({r[2]}, first_epoch);
    check_same_results({r[4]}, {r[0]});
    check_same_results({r[5]}, {r[0]});
    CHECK(r[3].params != r[2].params);
    CHECK(r[3].params != r[0].params);
  }

  TEST_CASE(
      "LocalTrainer: a capped task's loss statistics are those of exactly the samples it saw (lr = 0, so every "
      "loss is at the start parameters)") {
    // With lr = 0 the parameters never move, so each visited sample contributes its loss at p0. 4 of the
    // 6 steps visit the first epoch's 25 samples, then the first 10 in the second epoch's order, which
    // the test recomputes from the stream Rng(seed, "shuffle", client, round, epoch = 1).
    const MlpShape shape{5, {4}, 3};
    const std::uint64_t seed = 9;
    const std::int32_t client = 2;
    const std::int64_t round = 1;
    const Dataset train = random_dataset(25, 5, 3, 6), test = random_dataset(4, 5, 3, 7);
    const auto p0 = perturbed_init(shape, 6);
    const auto rows = iota(0, 25);
    const auto model = make_mlp_model(shape);
    auto backend = kernels::make_cpu_backend(1);
    LocalTrainer trainer(*backend, *model, train, test, {2, 10, 0.0}, seed, 1);
    const auto second = dtsim::test::epoch_order(rows, seed, client, round, 1);
    auto seen = rows;
    seen.insert(seen.end(), second.begin(), second.begin() + 10);
    const auto ref = mlp_reference(shape, to_double(p0), train, seen);
    REQUIRE(ref.min_margin > 1e-4);  // no argmax near a tie
    double loss = 0, loss_sq = 0;
    for (double l : ref.losses) {
      loss += l;
      loss_sq += l * l;
    }
    // Another choice of the second epoch's 10 (the first 10 indices) gives another loss: the check can tell.
    auto unshuffled = rows;
    unshuffled.insert(unshuffled.end(), rows.begin(), rows.begin() + 10);
    const double other_loss = mlp_reference(shape, to_double(p0), train, unshuffled).mean_loss() * 35;
    REQUIRE(std::abs(other_loss - loss) > 1e-3 * loss);

    const auto r = trainer.train(std::vector<TrainTask>{make_task(client, rows, round, 0, 4)}, store_of(p0));

    REQUIRE(r[0].steps == 4);
    CHECK(r[0].params == p0);
    CHECK(r[0].samples_seen == 35);
    CHECK(r[0].loss_sum == doctest::Approx(loss).epsilon(1e-6));
    CHECK(r[0].loss_sq_sum == doctest::Approx(loss_sq).epsilon(1e-6));
    CHECK(r[0].correct == ref.hits);
    CHECK(r[0].loss_sum != doctest::Approx(other_loss).epsilon(1e-6));
  }

  TEST_CASE(
      "LocalTrainer: the shuffle is keyed by (seed, client, round, epoch): every step visits the sample the "
      "recomputed order names") {
    // B = 1 and lr = 0: step k's minibatch is one sample, whose loss at p0 (all distinct) tells which it was.
    // Capping a task at k steps and at k − 1 isolates step k's loss.
    const MlpShape shape{5, {}, 4};
    const std::uint64_t seed = 5;
    const std::int32_t client = 7;
    const std::int64_t round = 3;
    const Dataset train = random_dataset(16, 5, 4, 8), test = random_dataset(4, 5, 4, 9);
    const auto p0 = perturbed_init(shape, 8);
    const auto store = store_of(p0);
    const auto samples = std::vector<std::int32_t>{3, 11, 4, 15, 9, 0, 6};
    const auto n = static_cast<std::int64_t>(samples.size());
    const auto model = make_mlp_model(shape);
    auto backend = kernels::make_cpu_backend(1);
    LocalTrainer trainer(*backend, *model, train, test, {2, 1, 0.0}, seed, 1);
    const auto losses = sample_losses(shape, p0, train, iota(0, 16));
    double min_gap = INFINITY;
    for (std::int32_t a : samples)
      for (std::int32_t b : samples)
        if (a != b) min_gap = std::min(min_gap, std::abs(losses[a] - losses[b]));
    REQUIRE(min_gap > 1e-3);
    auto expected = dtsim::test::epoch_order(samples, seed, client, round, 0);
    const auto second = dtsim::test::epoch_order(samples, seed, client, round, 1);
    REQUIRE(expected != second);  // the epochs' orders differ: the check below can tell the epoch key
    REQUIRE(expected != dtsim::test::epoch_order(samples, seed, client, round + 1, 0));
    REQUIRE(expected != dtsim::test::epoch_order(samples, seed, client + 1, round, 0));
    expected.insert(expected.end(), second.begin(), second.end());

    std::vector<TrainTask> tasks;
    for (std::int64_t k = 0; k <= 2 * n; ++k) tasks.push_back(make_task(client, samples, round, 0, k));
    const auto r = trainer.train(tasks, store);

    for (std::int64_t k = 1; k <= 2 * n; ++k) {
      INFO("step " << k);
      const double step_loss = r[static_cast<std::size_t>(k)].loss_sum - r[static_cast<std::size_t>(k - 1)].loss_sum;
      CHECK(step_loss == doctest::Approx(losses[expected[static_cast<std::size_t>(k - 1)]]).epsilon(1e-5));
    }
  }

  TEST_CASE("LocalTrainer: a task's epochs override the configuration's; 0 epochs is no training") {
    const MlpShape shape{5, {4}, 3};
    const Dataset train = random_dataset(30, 5, 3, 10), test = random_dataset(4, 5, 3, 11);
    const auto p0 = perturbed_init(shape, 10);
    const auto store = store_of(p0);
    const auto s0 = iota(0, 13), s1 = iota(13, 17);
    const auto model = make_mlp_model(shape);
    auto backend = kernels::make_cpu_backend(2);
    for (const LocalTrainingConfig& base : {LocalTrainingConfig{1, 5, 0.1}, LocalTrainingConfig{1, 5, 0.1, 0.9}}) {
      INFO("momentum " << base.momentum);
      LocalTrainer trainer(*backend, *model, train, test, base, 4, 3);
      LocalTrainingConfig three = base;
      three.epochs = 3;
      LocalTrainer three_epochs(*backend, *model, train, test, three, 4, 3);
      TrainTask a = make_task(0, s0, 2), b = make_task(1, s1, 2), c = make_task(1, s1, 2), d = make_task(0, s0, 2);
      b.epochs = 3;
      c.epochs = 0;
      d.epochs = -1;

      const auto r = trainer.train(std::vector<TrainTask>{a, b, c, d}, store);
      const auto ref3 = three_epochs.train(std::vector<TrainTask>{make_task(1, s1, 2)}, store);

      CHECK(r[0].steps == 3);      // ceil(13 / 5), one epoch
      CHECK(r[1].steps == 3 * 4);  // ceil(17 / 5) per epoch
      CHECK(r[1].samples_seen == 3 * 17);
      check_same_results({r[1]}, ref3);
      CHECK(r[2].steps == 0);
      CHECK(r[2].params == p0);
      check_same_results({r[3]}, {r[0]});
    }
  }

  TEST_CASE(
      "LocalTrainer: tasks with plain, proximal and corrected objectives in one call each get the result they get "
      "alone") {
    const MlpShape shape{6, {8}, 3};
    const Dataset train = random_dataset(120, 6, 3, 12), test = random_dataset(10, 6, 3, 13);
    ModelStore store;
    store.put(0, perturbed_init(shape, 12));
    store.put(1, perturbed_init(shape, 13));
    const auto model = make_mlp_model(shape);
    const auto n = static_cast<std::size_t>(model->parameter_count());
    const auto c1 = random_vector(n, 0.1, 1), c2 = random_vector(n, 0.1, 2);
    const auto s0 = iota(0, 23), s1 = iota(23, 40), s2 = iota(63, 7), s3 = iota(70, 31), s4 = iota(101, 19);
    // Tasks 0 and 1 differ only in their objective.
    std::vector<TrainTask> tasks = {make_task(0, s0, 1, 0),        make_task(0, s0, 1, 0),    make_task(1, s1, 1, 1),
                                    make_task(2, s2, 1, 0),        make_task(3, s3, 1, 1, 2), make_task(4, s4, 1, 0),
                                    make_task(5, s1, 1, 0, -1, 2), make_task(6, s0, 1, 1)};
    tasks[1].objective = {0.1, false, nullptr};
    tasks[2].objective = {0.01, false, nullptr};
    tasks[3].objective = {0.0, true, c1.data()};
    tasks[4].objective = {0.1, true, c2.data()};
    tasks[6].objective = {0.1, true, c1.data()};
    for (const LocalTrainingConfig& config : {LocalTrainingConfig{2, 10, 0.1}, LocalTrainingConfig{2, 10, 0.1, 0.9}}) {
      auto one = kernels::make_cpu_backend(1);
      LocalTrainer alone_trainer(*one, *model, train, test, config, 3, 1);
      std::vector<TrainResult> alone;
      for (const TrainTask& t : tasks) alone.push_back(alone_trainer.train(std::vector<TrainTask>{t}, store)[0]);
      CHECK(alone[0].params != alone[1].params);  // the objective changes the result
      auto cpu = kernels::make_cpu_backend(2);
      CountingBackend batched(*cpu);
      for (std::int64_t chunk : {1, 3, 100}) {
        for (kernels::Backend* backend :
             {static_cast<kernels::Backend*>(cpu.get()), static_cast<kernels::Backend*>(&batched)}) {
          INFO("momentum " << config.momentum << ", chunk " << chunk << ", "
                           << (backend == cpu.get() ? "concurrent" : "batched"));
          LocalTrainer trainer(*backend, *model, train, test, config, 3, chunk);

          const auto together = trainer.train(tasks, store);

          check_same_results(together, alone);
        }
      }
    }
  }

  TEST_CASE("LocalTrainer: loss_sq_sum sums the squared per-sample losses and correct counts the argmax hits") {
    for (const MlpShape& shape : {MlpShape{5, {}, 3}, MlpShape{5, {6}, 3}}) {
      for (std::uint64_t seed : kSeeds) {
        INFO("hidden layers " << shape.hidden.size() << ", seed " << seed);
        const Dataset train = random_dataset(25, 5, 3, seed), test = random_dataset(4, 5, 3, seed + 100);
        const auto p0 = perturbed_init(shape, seed);
        const auto model = make_mlp_model(shape);
        auto backend = kernels::make_cpu_backend(2);
        // One step on a minibatch of 12: the statistics are at p0, whatever happens after.
        LocalTrainer one_step(*backend, *model, train, test, {1, 12, 0.5}, seed, 2);
        // lr = 0 over 2 epochs of ragged minibatches (10, 10, 5): every sample twice, always at p0.
        LocalTrainer frozen(*backend, *model, train, test, {2, 10, 0.0, 0.5}, seed, 2);
        const auto twelve = iota(0, 12), all = iota(0, 25);
        const auto ref12 = mlp_reference(shape, to_double(p0), train, twelve);
        const auto ref25 = mlp_reference(shape, to_double(p0), train, all);
        REQUIRE(ref25.min_margin > 1e-4);  // no argmax near a tie
        REQUIRE(ref12.hits > 0);           // some hits and some misses: the count has something to count
        REQUIRE(ref12.hits < 12);
        auto sums = [](const std::vector<double>& losses) {
          std::pair<double, double> s{0, 0};
          for (double l : losses) {
            s.first += l;
            s.second += l * l;
          }
          return s;
        };
        const auto [sum12, sq12] = sums(ref12.losses);
        const auto [sum25, sq25] = sums(ref25.losses);

        const auto a = one_step.train(std::vector<TrainTask>{make_task(0, twelve, 0)}, store_of(p0));
        const auto b = frozen.train(std::vector<TrainTask>{make_task(0, all, 0)}, store_of(p0));

        REQUIRE(a[0].steps == 1);
        CHECK(a[0].loss_sum == doctest::Approx(sum12).epsilon(1e-6));
        CHECK(a[0].loss_sq_sum == doctest::Approx(sq12).epsilon(1e-6));
        CHECK(a[0].loss_sq_sum != doctest::Approx(sum12 * sum12 / 12).epsilon(1e-3));  // not the squared mean
        CHECK(a[0].correct == ref12.hits);
        REQUIRE(b[0].steps == 6);
        CHECK(b[0].params == p0);
        CHECK(b[0].loss_sum == doctest::Approx(2 * sum25).epsilon(1e-6));
        CHECK(b[0].loss_sq_sum == doctest::Approx(2 * sq25).epsilon(1e-6));
        CHECK(b[0].correct == 2 * ref25.hits);
      }
    }
  }

  TEST_CASE(
      "LocalTrainer: update_flops_per_step counts the objective's terms, and every task's cost is what the Backend "
      "reports") {
    // sgd_step's flops per parameter (kernels/op_contract.hpp): 3, + 2 for weight decay, + 3 for the
    // proximal term, + 1 for a correction.
    const MlpShape shape{8, {6}, 4};
    const auto model = make_mlp_model(shape);
    const double n = static_cast<double>(model->parameter_count());
    const std::vector<float> corr(static_cast<std::size_t>(model->parameter_count()), 0.01f);
    const LocalObjective none, prox{0.1}, corrected{0.0, true}, both{0.1, true};
    const LocalTrainingConfig plain{1, 10, 0.01}, momentum{1, 10, 0.01, 0.9}, decayed{1, 10, 0.01, 0.9, 0.01};

    CHECK(update_flops_per_step(*model, plain, none) == 0.0);
    CHECK(update_flops_per_step(*model, plain, prox) == 6 * n);
    CHECK(update_flops_per_step(*model, plain, corrected) == 4 * n);
    CHECK(update_flops_per_step(*model, plain, both) == 7 * n);
    CHECK(update_flops_per_step(*model, momentum, none) == 3 * n);
    CHECK(update_flops_per_step(*model, decayed, both) == 9 * n);
    CHECK_FALSE(needs_velocity(plain, none));
    CHECK(needs_velocity(plain, prox));
    CHECK(needs_velocity(plain, corrected));
    CHECK(needs_velocity(momentum, none));

    const Dataset train = random_dataset(90, 8, 4, 14), test = random_dataset(10, 8, 4, 15);
    Rng rng(14, "init");
    const auto store = store_of(init_parameters(shape, rng));
    const auto s0 = iota(0, 25), s1 = iota(25, 12), s2 = iota(37, 40), s3 = iota(77, 13);
    std::vector<TrainTask> tasks = {make_task(0, s0, 0), make_task(1, s1, 0), make_task(2, s2, 0, 0, 3),
                                    make_task(3, s3, 0)};
    tasks[1].objective = prox;
    tasks[2].objective = {0.0, true, corr.data()};
    tasks[3].objective = {0.1, true, corr.data()};
    for (const LocalTrainingConfig& config : {plain, decayed}) {
      INFO("momentum " << config.momentum);
      auto cpu = kernels::make_cpu_backend(2);
      CountingBackend counting(*cpu);
      LocalTrainer trainer(counting, *model, train, test, config, 1, 2);

      const auto r = trainer.train(tasks, store);

      INFO("reported flops by operation:\n" << counting.report());
      double sum = 0, updates = 0;
      for (std::size_t k = 0; k < tasks.size(); ++k) {
        const double update = update_flops_per_step(*model, config, tasks[k].objective);
        CHECK(r[k].flops == static_cast<double>(r[k].samples_seen) * model->train_flops_per_sample() +
                                static_cast<double>(r[k].steps) * update);
        sum += r[k].flops;
        updates += static_cast<double>(r[k].steps) * update;
      }
      CHECK(r[2].steps == 3);
      CHECK(sum == counting.total.flops);
      CHECK(counting.by_op["sgd_step"].flops == updates);
    }
  }

  TEST_CASE(
      "LocalTrainer: results are bit-identical for threads {1, 2} x chunk {1, 3, all} x batched or concurrent, with "
      "mixed versions, objectives, epochs and caps") {
    const MlpShape shape{12, {10, 6}, 4};
    const Dataset train = random_dataset(300, 12, 4, 16), test = random_dataset(100, 12, 4, 17);
    ModelStore store;
    store.put(4, perturbed_init(shape, 16));
    store.put(6, perturbed_init(shape, 17));
    const auto model = make_mlp_model(shape);
    const auto corr = random_vector(static_cast<std::size_t>(model->parameter_count()), 0.05, 3);
    const std::vector<std::int32_t> sizes = {0, 1, 9, 10, 27, 44, 5, 61, 13, 30};
    std::vector<std::vector<std::int32_t>> samples;
    std::int32_t next = 0;
    for (std::int32_t n : sizes) {
      samples.push_back(iota(next, n));
      next += n;
    }
    std::vector<TrainTask> tasks;
    for (std::size_t k = 0; k < sizes.size(); ++k) {
      TrainTask t = make_task(static_cast<std::int32_t>(k * 5), samples[k], 7, k % 3 == 0 ? 4 : 6);
      if (k % 4 == 1) t.max_steps = 3;
      if (k % 4 == 2) t.epochs = 3;
      if (k % 3 == 1) t.objective.proximal_mu = 0.05;
      if (k % 5 == 2) t.objective = {t.objective.proximal_mu, true, corr.data()};
      tasks.push_back(t);
    }
    for (const LocalTrainingConfig& config :
         {LocalTrainingConfig{2, 10, 0.05}, LocalTrainingConfig{2, 10, 0.05, 0.9, 1e-3}}) {
      auto one = kernels::make_cpu_backend(1);
      CountingBackend stepwise(*one);
      LocalTrainer reference_trainer(stepwise, *model, train, test, config, 21, 1);
      const auto reference = reference_trainer.train(tasks, store);
      for (int threads : {1, 2}) {
        auto cpu = kernels::make_cpu_backend(threads);
        CountingBackend lockstep(*cpu);
        for (std::int64_t chunk : {std::int64_t{1}, std::int64_t{3}, static_cast<std::int64_t>(tasks.size())}) {
          for (kernels::Backend* backend :
               {static_cast<kernels::Backend*>(cpu.get()), static_cast<kernels::Backend*>(&lockstep)}) {
            INFO("momentum " << config.momentum << ", threads " << threads << ", chunk " << chunk << ", "
                             << (backend == cpu.get() ? "concurrent" : "batched"));
            LocalTrainer trainer(*backend, *model, train, test, config, 21, chunk);

            const auto got = trainer.train(tasks, store);

            check_same_results(got, reference);
          }
        }
      }
    }
  }

  TEST_CASE("LocalTrainer: rejects a corrected task without its correction, and evaluating on an empty test set") {
    const MlpShape shape{5, {4}, 3};
    const Dataset train = random_dataset(10, 5, 3, 1), test = random_dataset(4, 5, 3, 2);
    const auto model = make_mlp_model(shape);
    auto backend = kernels::make_cpu_backend(1);
    LocalTrainer trainer(*backend, *model, train, test, {1, 5, 0.1}, 1, 2);
    const auto p0 = perturbed_init(shape, 1);
    const auto store = store_of(p0);
    const auto rows = iota(0, 10);
    TrainTask bad = make_task(4, rows, 0);
    bad.objective.corrected = true;
    Dataset no_test;
    no_test.features = 5;
    LocalTrainer without_test(*backend, *model, train, no_test, {1, 5, 0.1}, 1, 2);

    CHECK_THROWS_WITH_AS(trainer.train(std::vector<TrainTask>{make_task(0, rows, 0), bad}, store),
                         doctest::Contains("correction"), std::invalid_argument);
    CHECK_THROWS_AS(without_test.evaluate(p0), std::invalid_argument);
    CHECK(without_test.train(std::vector<TrainTask>{make_task(0, rows, 0)}, store)[0].steps == 2);
  }
}
