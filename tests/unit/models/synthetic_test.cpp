// FedProx synthetic(alpha, beta) generator: the checks of shared/reference/POLICIES.md §1.2 (n_k >= 50,
// train = int(0.9 n_k), every label = argmax(x·W_k + b_k), Σ = diag(j^-1.2)) plus determinism and the
// iid variant.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <set>
#include <stdexcept>
#include <vector>

#include "models/dataset.hpp"

namespace {

using dtsim::models::Dataset;
using dtsim::models::generate_synthetic;
using dtsim::models::LoadedData;
using dtsim::models::synthetic_user_model;
using dtsim::models::SyntheticParams;
using dtsim::models::SyntheticUserModel;

constexpr std::array<std::uint64_t, 4> k_seeds = {1, 7, 42, 20240917};

// argmax(x·w + b) for sample i of `set`, computed as the contract states (double, first maximum).
std::int32_t model_label(const SyntheticUserModel& model, const Dataset& set, std::size_t i) {
  const auto dim = static_cast<std::size_t>(set.features);
  const auto classes = static_cast<std::size_t>(set.classes);
  std::vector<double> logits(model.b);
  for (std::size_t j = 0; j < dim; ++j) {
    const double xj = set.x[i * dim + j];
    for (std::size_t c = 0; c < classes; ++c) logits[c] += xj * model.w[j * classes + c];
  }
  std::size_t best = 0;
  for (std::size_t c = 1; c < classes; ++c) {
    if (logits[c] > logits[best]) best = c;
  }
  return static_cast<std::int32_t>(best);
}

// Indices into the pooled test set of each user's test samples (users' test samples are appended in order).
std::vector<std::vector<std::size_t>> test_indices(const SyntheticParams& params, std::uint64_t seed) {
  std::vector<std::vector<std::size_t>> out;
  std::size_t next = 0;
  for (std::int64_t k = 0; k < params.users; ++k) {
    const auto n = static_cast<std::size_t>(synthetic_user_model(params, seed, k).samples);
    const auto train = static_cast<std::size_t>(0.9 * static_cast<double>(n));
    out.emplace_back(n - train);
    std::iota(out.back().begin(), out.back().end(), next);
    next += n - train;
  }
  return out;
}

// Fraction of user k's samples (train and test) whose label is argmax under `model`.
double agreement(const LoadedData& data, const std::vector<std::vector<std::size_t>>& tests, std::int64_t k,
                 const SyntheticUserModel& model) {
  std::size_t agree = 0;
  std::size_t total = 0;
  for (std::int32_t i : data.natural_partition[static_cast<std::size_t>(k)]) {
    agree += model_label(model, data.train, static_cast<std::size_t>(i)) == data.train.y[static_cast<std::size_t>(i)];
    ++total;
  }
  for (std::size_t i : tests[static_cast<std::size_t>(k)]) {
    agree += model_label(model, data.test, i) == data.test.y[i];
    ++total;
  }
  return static_cast<double>(agree) / static_cast<double>(total);
}

double mean(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double stddev(const std::vector<double>& v) {
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

}  // namespace

TEST_SUITE("models") {
  TEST_CASE("synthetic: each user has n_k >= 50 samples, the first int(0.9 n_k) for training") {
    for (std::uint64_t seed : k_seeds) {
      INFO("seed " << seed);
      // prepare
      const SyntheticParams params{.alpha = 1.0, .beta = 1.0};

      // execute
      const LoadedData data = generate_synthetic(params, seed);

      // assert
      REQUIRE(data.natural_partition.size() == 30);
      std::int64_t train_total = 0;
      std::int64_t test_total = 0;
      std::int32_t next_index = 0;
      for (std::int64_t k = 0; k < params.users; ++k) {
        const std::int64_t n = synthetic_user_model(params, seed, k).samples;
        const auto train = static_cast<std::int64_t>(0.9 * static_cast<double>(n));
        const auto& indices = data.natural_partition[static_cast<std::size_t>(k)];
        INFO("user " << k << ", n_k " << n);
        CHECK(n >= 50);
        CHECK(n <= 100'000);
        CHECK(static_cast<std::int64_t>(indices.size()) == train);
        // each user's training samples are the next contiguous run of the pooled set
        for (std::int32_t i : indices) CHECK(i == next_index++);
        train_total += train;
        test_total += n - train;
      }
      CHECK(data.train.samples == train_total);
      CHECK(data.test.samples == test_total);
      for (const Dataset* set : {&data.train, &data.test}) {
        CHECK(set->features == 60);
        CHECK(set->classes == 10);
        CHECK(set->x.size() == static_cast<std::size_t>(set->samples * 60));
        CHECK(set->y.size() == static_cast<std::size_t>(set->samples));
      }
      CHECK(data.checksums.empty());
    }
  }

  TEST_CASE("synthetic: every label is the argmax of x·W_k + b_k of its user") {
    for (std::uint64_t seed : k_seeds) {
      INFO("seed " << seed);
      // prepare
      const SyntheticParams params{.alpha = 0.5, .beta = 0.5};
      const LoadedData data = generate_synthetic(params, seed);
      const auto tests = test_indices(params, seed);

      double other_agreement = 0;
      for (std::int64_t k = 0; k < params.users; ++k) {
        INFO("user " << k);
        // execute
        const SyntheticUserModel own = synthetic_user_model(params, seed, k);
        const SyntheticUserModel other = synthetic_user_model(params, seed, (k + 1) % params.users);

        // assert: exact under its own model
        CHECK(agreement(data, tests, k, own) == 1.0);
        other_agreement += agreement(data, tests, k, other) / static_cast<double>(params.users);
      }
      // Another user's model labels the data differently (so the check above can fail). Per user it may
      // agree by chance, since x clusters around v_k, so the check is on the average.
      CHECK(other_agreement < 0.7);
      const std::set<std::int32_t> labels(data.train.y.begin(), data.train.y.end());
      CHECK(labels.size() >= 5);
    }
  }

  TEST_CASE("synthetic: x has covariance diag(j^-1.2) around the user's mean v_k") {
    for (std::uint64_t seed : k_seeds) {
      INFO("seed " << seed);
      // prepare
      const SyntheticParams params{.alpha = 1.0, .beta = 1.0, .users = 100};
      const LoadedData data = generate_synthetic(params, seed);

      // execute: pooled mean and variance of x_j - v_k[j] over every training sample
      std::vector<double> sum(60, 0.0);
      std::vector<double> sum_sq(60, 0.0);
      double count = 0;
      for (std::int64_t k = 0; k < params.users; ++k) {
        const SyntheticUserModel model = synthetic_user_model(params, seed, k);
        for (std::int32_t i : data.natural_partition[static_cast<std::size_t>(k)]) {
          for (std::size_t j = 0; j < 60; ++j) {
            const double d = data.train.x[static_cast<std::size_t>(i) * 60 + j] - model.mean[j];
            sum[j] += d;
            sum_sq[j] += d * d;
          }
          ++count;
        }
      }

      // assert: within ~6 standard errors (count is in the thousands)
      REQUIRE(count > 3000);
      for (std::size_t j = 0; j < 60; ++j) {
        INFO("coordinate j = " << j + 1);
        const double sigma2 = std::pow(static_cast<double>(j + 1), -1.2);
        CHECK(std::abs(sum[j] / count) < 6 * std::sqrt(sigma2 / count));
        CHECK(sum_sq[j] / count == doctest::Approx(sigma2).epsilon(6 * std::sqrt(2 / count)));
      }
    }
  }

  TEST_CASE("synthetic: alpha and beta are the spreads of the users' model and data means") {
    for (std::uint64_t seed : k_seeds) {
      INFO("seed " << seed);
      // prepare
      const SyntheticParams homogeneous{.alpha = 0.0, .beta = 0.0, .users = 60};
      const SyntheticParams heterogeneous{.alpha = 1.0, .beta = 1.0, .users = 60};

      // execute: across users, the spread of mean(W_k) (≈ u_k) and of mean(v_k) (≈ B_k)
      std::vector<double> w0, w1, v0, v1;
      for (std::int64_t k = 0; k < 60; ++k) {
        const auto m0 = synthetic_user_model(homogeneous, seed, k);
        const auto m1 = synthetic_user_model(heterogeneous, seed, k);
        w0.push_back(mean(m0.w));
        w1.push_back(mean(m1.w));
        v0.push_back(mean(m0.mean));
        v1.push_back(mean(m1.mean));
      }

      // assert: alpha = beta = 0 leaves only the within-user noise (std 1/sqrt(600) and 1/sqrt(60))
      CHECK(stddev(w0) < 0.1);
      CHECK(stddev(v0) < 0.25);
      CHECK(stddev(w1) == doctest::Approx(1.0).epsilon(0.35));
      CHECK(stddev(v1) == doctest::Approx(1.0).epsilon(0.35));
    }
  }

  TEST_CASE("synthetic: the same seed gives identical data and another seed different data") {
    // prepare
    const SyntheticParams params{.alpha = 1.0, .beta = 1.0, .users = 10};

    // execute
    const LoadedData a = generate_synthetic(params, 42);
    const LoadedData b = generate_synthetic(params, 42);
    const LoadedData c = generate_synthetic(params, 43);

    // assert
    CHECK(a.train.x == b.train.x);
    CHECK(a.train.y == b.train.y);
    CHECK(a.test.x == b.test.x);
    CHECK(a.test.y == b.test.y);
    CHECK(a.natural_partition == b.natural_partition);
    CHECK(a.train.x != c.train.x);
  }

  TEST_CASE("synthetic: a user's data do not depend on how many users follow it") {
    // prepare
    const SyntheticParams few{.users = 3};
    const SyntheticParams many{.users = 30};

    // execute
    const LoadedData a = generate_synthetic(few, 5);
    const LoadedData b = generate_synthetic(many, 5);

    // assert
    const auto n = static_cast<std::size_t>(a.train.samples);
    CHECK(std::vector<float>(b.train.x.begin(), b.train.x.begin() + static_cast<std::ptrdiff_t>(n * 60)) == a.train.x);
  }

  TEST_CASE("synthetic: the iid variant shares W and b and centres every user's x at zero") {
    for (std::uint64_t seed : k_seeds) {
      INFO("seed " << seed);
      // prepare
      const SyntheticParams params{.alpha = 0.0, .beta = 0.0, .iid = true};
      const LoadedData data = generate_synthetic(params, seed);
      const auto tests = test_indices(params, seed);
      const SyntheticUserModel first = synthetic_user_model(params, seed, 0);

      std::set<std::int64_t> sizes;
      for (std::int64_t k = 0; k < params.users; ++k) {
        INFO("user " << k);
        // execute
        const SyntheticUserModel model = synthetic_user_model(params, seed, k);
        sizes.insert(model.samples);

        // assert
        CHECK(model.w == first.w);
        CHECK(model.b == first.b);
        CHECK(model.mean == std::vector<double>(60, 0.0));
        CHECK(agreement(data, tests, k, model) == 1.0);
      }
      CHECK(sizes.size() > 1);  // n_k still drawn per user
    }
  }

  TEST_CASE("synthetic: custom dimension and class counts shape the data") {
    const SyntheticParams params{.users = 4, .dimension = 7, .classes = 3};
    const LoadedData data = generate_synthetic(params, 9);
    CHECK(data.train.features == 7);
    CHECK(data.train.classes == 3);
    CHECK(data.train.x.size() == static_cast<std::size_t>(data.train.samples * 7));
    for (std::int32_t y : data.train.y) CHECK((y >= 0 && y < 3));
    CHECK(synthetic_user_model(params, 9, 3).w.size() == 21);
  }

  TEST_CASE("synthetic: rejects impossible parameters") {
    CHECK_THROWS_AS(generate_synthetic(SyntheticParams{.users = 0}, 1), std::invalid_argument);
    CHECK_THROWS_AS(generate_synthetic(SyntheticParams{.dimension = 0}, 1), std::invalid_argument);
    CHECK_THROWS_AS(generate_synthetic(SyntheticParams{.classes = 0}, 1), std::invalid_argument);
    CHECK_THROWS_AS(generate_synthetic(SyntheticParams{.alpha = -1.0}, 1), std::invalid_argument);
    CHECK_THROWS_AS(generate_synthetic(SyntheticParams{.beta = NAN}, 1), std::invalid_argument);
    CHECK_THROWS_AS(synthetic_user_model(SyntheticParams{}, 1, 30), std::invalid_argument);
  }
}
