// MLP: shapes and costs, the trainer's gradient against central finite differences of a double-precision
// reference, momentum and weight decay against the same reference iterated, learning on a separable
// problem, determinism across threads and chunk sizes, and the equality of the modelled cost with what
// the Backend reports.
#include "models/mlp.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/backend.hpp"
#include "tests/unit/kernels/tensor_compare.hpp"

namespace {

using namespace dtsim;
using namespace dtsim::models;
using dtsim::test::compare_bits;
using dtsim::test::compare_close;

constexpr std::uint64_t kSeeds[] = {1, 2, 3};

Dataset random_dataset(std::int64_t samples, std::int64_t features, std::int64_t classes, std::uint64_t seed) {
  Dataset d;
  d.samples = samples;
  d.features = features;
  d.classes = classes;
  Rng rng(seed, "mlp-test-data");
  for (std::int64_t i = 0; i < samples * features; ++i) d.x.push_back(static_cast<float>(rng.uniform(-1, 1)));
  for (std::int64_t i = 0; i < samples; ++i)
    d.y.push_back(static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(classes))));
  return d;
}

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

std::vector<std::int32_t> iota(std::int32_t first, std::int32_t count) {
  std::vector<std::int32_t> v(static_cast<std::size_t>(count));
  for (std::int32_t i = 0; i < count; ++i) v[static_cast<std::size_t>(i)] = first + i;
  return v;
}

// Mean cross-entropy of the MLP over `rows` of d, in double. min_pre: the smallest |pre-activation| of
// any hidden unit (how close the point is to a ReLU kink).
double reference_loss(const MlpShape& shape, const std::vector<double>& p, const Dataset& d,
                      const std::vector<std::int32_t>& rows, double* min_pre = nullptr, std::int64_t* hits = nullptr) {
  std::vector<std::int64_t> widths = {shape.inputs};
  widths.insert(widths.end(), shape.hidden.begin(), shape.hidden.end());
  widths.push_back(shape.classes);
  double total = 0;
  if (min_pre) *min_pre = INFINITY;
  for (std::int32_t row : rows) {
    std::vector<double> a(d.x.begin() + row * d.features, d.x.begin() + (row + 1) * d.features);
    std::size_t off = 0;
    for (std::size_t l = 0; l + 1 < widths.size(); ++l) {
      const std::int64_t in = widths[l], out = widths[l + 1];
      std::vector<double> z(static_cast<std::size_t>(out));
      for (std::int64_t o = 0; o < out; ++o) {
        double s = p[off + static_cast<std::size_t>(in * out + o)];
        for (std::int64_t i = 0; i < in; ++i)
          s += a[static_cast<std::size_t>(i)] * p[off + static_cast<std::size_t>(i * out + o)];
        z[static_cast<std::size_t>(o)] = s;
      }
      off += static_cast<std::size_t>(in * out + out);
      if (l + 2 < widths.size()) {
        for (double& v : z) {
          if (min_pre) *min_pre = std::min(*min_pre, std::abs(v));
          v = std::max(v, 0.0);
        }
      }
      a = z;
    }
    const double mx = *std::max_element(a.begin(), a.end());
    double s = 0;
    for (double v : a) s += std::exp(v - mx);
    const auto label = static_cast<std::size_t>(d.y[static_cast<std::size_t>(row)]);
    total += std::log(s) - (a[label] - mx);
    if (hits) *hits += std::max_element(a.begin(), a.end()) - a.begin() == static_cast<std::ptrdiff_t>(label) ? 1 : 0;
  }
  return total / static_cast<double>(rows.size());
}

// ∇ reference_loss at p by central finite differences.
std::vector<double> fd_gradient(const MlpShape& shape, const std::vector<double>& p, const Dataset& d,
                                const std::vector<std::int32_t>& rows) {
  const double eps = 1e-6;
  std::vector<double> grad;
  for (std::size_t i = 0; i < p.size(); ++i) {
    auto plus = p, minus = p;
    plus[i] += eps;
    minus[i] -= eps;
    grad.push_back((reference_loss(shape, plus, d, rows) - reference_loss(shape, minus, d, rows)) / (2 * eps));
  }
  return grad;
}

// Forwards to another backend and adds up the cost every operation reports. Its parallel structure is
// `batched` (the Backend default, as on CUDA) unless it is told to forward the inner backend's.
class CountingBackend final : public kernels::Backend {
 public:
  enum class Schedule { batched, forwarded };
  explicit CountingBackend(kernels::Backend& inner, Schedule schedule = Schedule::batched)
      : inner_(inner), schedule_(schedule) {}
  kernels::Cost total;
  std::atomic<std::int64_t> update_calls{0};  // sgd_step calls
  std::int64_t for_each_calls = 0;            // for_each_item calls
  std::int64_t items = 0;                     // items run by for_each_item

  std::string name() const override { return inner_.name(); }
  int threads() const override { return inner_.threads(); }
  kernels::ItemSchedule item_schedule() const override {
    return schedule_ == Schedule::batched ? kernels::ItemSchedule::batched : inner_.item_schedule();
  }
  void for_each_item(std::int64_t n, const std::function<void(std::int64_t, int)>& fn) override {
    ++for_each_calls;
    items += n;
    if (schedule_ == Schedule::batched) return kernels::Backend::for_each_item(n, fn);
    inner_.for_each_item(n, fn);
  }
  kernels::Buffer alloc(std::size_t n) override { return inner_.alloc(n); }
  void upload(const float* host, std::size_t n, float* dst) override { inner_.upload(host, n, dst); }
  void download(const float* src, std::size_t n, float* host) override { inner_.download(src, n, host); }
  void copy(const float* src, std::size_t n, float* dst) override { inner_.copy(src, n, dst); }
  const float* view_host(const float* host, std::size_t n) override { return inner_.view_host(host, n); }
  kernels::Cost gemm(kernels::Trans ta, kernels::Trans tb, float alpha, std::span<const kernels::ConstMatView> a,
                     std::span<const kernels::ConstMatView> b, float beta,
                     std::span<const kernels::MatView> c) override {
    return add(inner_.gemm(ta, tb, alpha, a, b, beta, c));
  }
  kernels::Cost bias_activation(kernels::Activation act, std::span<const float* const> bias,
                                std::span<const kernels::MatView> x) override {
    return add(inner_.bias_activation(act, bias, x));
  }
  kernels::Cost relu_backward(std::span<const kernels::ConstMatView> act,
                              std::span<const kernels::MatView> grad) override {
    return add(inner_.relu_backward(act, grad));
  }
  kernels::Cost softmax_xent(std::span<const kernels::MatView> logits, std::span<const std::int32_t* const> labels,
                             bool with_grad, float grad_scale, std::span<double> loss_sum,
                             std::span<double> loss_sq_sum, std::span<std::int64_t> correct) override {
    return add(inner_.softmax_xent(logits, labels, with_grad, grad_scale, loss_sum, loss_sq_sum, correct));
  }
  kernels::Cost add_column_sums(float alpha, std::span<const kernels::ConstMatView> g,
                                std::span<float* const> bias) override {
    return add(inner_.add_column_sums(alpha, g, bias));
  }
  kernels::Cost gather_rows(kernels::ConstMatView src, std::span<const std::int32_t* const> rows,
                            std::span<const kernels::MatView> dst) override {
    return add(inner_.gather_rows(src, rows, dst));
  }
  kernels::Cost weighted_sum(std::span<const float* const> x, std::span<const double> w, std::size_t n,
                             float* out) override {
    return add(inner_.weighted_sum(x, w, n, out));
  }
  kernels::Cost sgd_step(const kernels::SgdStep& step, std::span<float* const> params,
                         std::span<float* const> velocity, std::span<const float* const> anchor,
                         std::span<const float* const> correction, std::size_t n) override {
    ++update_calls;
    return add(inner_.sgd_step(step, params, velocity, anchor, correction, n));
  }
  kernels::Cost conv2d(const kernels::Conv2dShape& shape, std::span<const kernels::ConstMatView> x,
                       std::span<const float* const> w, std::span<const kernels::MatView> y) override {
    return add(inner_.conv2d(shape, x, w, y));
  }
  kernels::Cost conv2d_backward_input(const kernels::Conv2dShape& shape, std::span<const kernels::ConstMatView> dy,
                                      std::span<const float* const> w, std::span<const kernels::MatView> dx) override {
    return add(inner_.conv2d_backward_input(shape, dy, w, dx));
  }
  kernels::Cost conv2d_backward_params(const kernels::Conv2dShape& shape, std::span<const kernels::ConstMatView> x,
                                       std::span<const kernels::ConstMatView> dy, float alpha,
                                       std::span<float* const> g) override {
    return add(inner_.conv2d_backward_params(shape, x, dy, alpha, g));
  }
  kernels::Cost max_pool2d(const kernels::Pool2dShape& shape, std::span<const kernels::ConstMatView> x,
                           std::span<const kernels::MatView> y) override {
    return add(inner_.max_pool2d(shape, x, y));
  }
  kernels::Cost max_pool2d_backward(const kernels::Pool2dShape& shape, std::span<const kernels::ConstMatView> x,
                                    std::span<const kernels::ConstMatView> dy,
                                    std::span<const kernels::MatView> dx) override {
    return add(inner_.max_pool2d_backward(shape, x, dy, dx));
  }
  kernels::Cost relu(std::span<const kernels::MatView> x) override { return add(inner_.relu(x)); }
  kernels::Cost dropout(float p, std::int64_t group, std::span<const std::uint64_t> keys,
                        std::span<const kernels::MatView> x) override {
    return add(inner_.dropout(p, group, keys, x));
  }

 private:
  kernels::Cost add(kernels::Cost c) {
    std::lock_guard lock(mutex_);  // items of for_each_item call in concurrently
    total += c;
    return c;
  }
  kernels::Backend& inner_;
  Schedule schedule_;
  std::mutex mutex_;
};

void check_same_results(const std::vector<ClientResult>& got, const std::vector<ClientResult>& ref) {
  REQUIRE(got.size() == ref.size());
  for (std::size_t k = 0; k < got.size(); ++k) {
    INFO("client " << k);
    const auto diff = compare_bits(got[k].params, ref[k].params);
    CHECK_MESSAGE(diff.empty(), diff);
    CHECK(got[k].steps == ref[k].steps);
    CHECK(got[k].samples_seen == ref[k].samples_seen);
    CHECK(std::memcmp(&got[k].loss_sum, &ref[k].loss_sum, sizeof(double)) == 0);
    CHECK(got[k].flops == ref[k].flops);
  }
}

}  // namespace

TEST_SUITE("models") {
  TEST_CASE("mlp: parameter_count counts every W and b, logistic regression included") {
    CHECK(parameter_count({6, {5, 4}, 3}) == 6 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3);
    CHECK(parameter_count({784, {200}, 10}) == 159010);
    CHECK(parameter_count({784, {}, 10}) == 7850);
    CHECK_THROWS_AS(parameter_count({784, {0}, 10}), std::invalid_argument);
  }

  TEST_CASE("mlp: local_steps is epochs times the number of minibatches, a short last one included") {
    CHECK(local_steps(600, {1, 10, 0.01}) == 60);
    CHECK(local_steps(25, {2, 10, 0.01}) == 6);
    CHECK(local_steps(1, {3, 10, 0.01}) == 3);
    CHECK(local_steps(0, {5, 10, 0.01}) == 0);
  }

  TEST_CASE("mlp: init_parameters draws Glorot-uniform weights and zero biases, the same for the same stream") {
    const MlpShape shape{6, {5}, 3};
    Rng a(9, "init"), b(9, "init"), c(10, "init");

    const auto pa = init_parameters(shape, a);
    const auto pb = init_parameters(shape, b);
    const auto pc = init_parameters(shape, c);

    CHECK(pa == pb);
    CHECK(pa != pc);
    const double lim0 = std::sqrt(6.0 / 11), lim1 = std::sqrt(6.0 / 8);
    for (std::size_t i = 0; i < 30; ++i) CHECK(std::abs(pa[i]) <= lim0);
    for (std::size_t i = 30; i < 35; ++i) CHECK(pa[i] == 0.0f);
    for (std::size_t i = 35; i < 50; ++i) CHECK(std::abs(pa[i]) <= lim1);
    for (std::size_t i = 50; i < 53; ++i) CHECK(pa[i] == 0.0f);
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
        MlpTrainer trainer(*backend, shape, train, test, {1, batch, 1.0}, seed, 1);
        const std::vector<ClientWork> work = {{0, rows, 0}};

        const auto result = trainer.train(p0, work);

        std::vector<double> grad_fd, grad_sgd;
        const double eps = 1e-6;
        for (std::size_t i = 0; i < p0.size(); ++i) {
          auto plus = p0d, minus = p0d;
          plus[i] += eps;
          minus[i] -= eps;
          grad_fd.push_back((reference_loss(shape, plus, train, rows) - reference_loss(shape, minus, train, rows)) /
                            (2 * eps));
          grad_sgd.push_back(static_cast<double>(p0[i]) - static_cast<double>(result[0].params[i]));
        }
        REQUIRE(result[0].steps == 1);
        CHECK(result[0].loss_sum / 8 == doctest::Approx(loss0).epsilon(1e-6));
        const auto diff = compare_close<double, double>(grad_sgd, grad_fd, 1e-5, 1e-4);
        CHECK_MESSAGE(diff.empty(), diff);
        const double norm = std::sqrt(std::inner_product(grad_fd.begin(), grad_fd.end(), grad_fd.begin(), 0.0));
        CHECK(norm > 1e-3);  // the check above compared something
      }
    }
  }

  TEST_CASE("mlp: momentum and weight decay follow PyTorch SGD: 3 full-batch steps match a double reference") {
    const double lr = 0.5;
    // With and without weight decay: the backend's update takes a different loop for each.
    for (auto [momentum, weight_decay] : {std::pair{0.9, 0.01}, std::pair{0.5, 0.0}}) {
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
          const std::vector<ClientWork> work = {{0, rows, 0}};
          auto backend = kernels::make_cpu_backend(1);
          MlpTrainer trainer(*backend, shape, train, test, {3, 8, lr, momentum, weight_decay}, seed, 1);
          MlpTrainer plain_trainer(*backend, shape, train, test, {3, 8, lr}, seed, 1);
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

          const auto result = trainer.train(p0, work);
          const auto plain = plain_trainer.train(p0, work);

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
    const std::vector<ClientWork> work = {{0, rows, 0}};
    auto backend = kernels::make_cpu_backend(1);
    MlpTrainer decayed(*backend, shape, train, test, {1, 8, 0.1, 0.0, 0.5}, 1, 1);
    MlpTrainer plain(*backend, shape, train, test, {1, 8, 0.1}, 1, 1);

    const auto a = decayed.train(p0, work);
    const auto b = plain.train(p0, work);

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
    MlpTrainer trainer(*backend, shape, train, test, {20, 10, 0.1}, 1, 4);
    Rng rng(1, "init");
    const auto p0 = init_parameters(shape, rng);
    const auto samples = iota(0, 150);  // ClientWork holds a span: keep the indices alive
    const std::vector<ClientWork> work = {{0, samples, 0}};

    const Evaluation before = trainer.evaluate(p0);
    const auto result = trainer.train(p0, work);
    const Evaluation after = trainer.evaluate(result[0].params);

    CHECK(result[0].steps == 20 * 15);
    CHECK(after.loss < 0.5 * before.loss);
    CHECK(after.accuracy >= 0.95);
  }

  TEST_CASE("mlp: evaluate matches a double reference over a test set split into ragged items") {
    const MlpShape shape{12, {9}, 4};
    const Dataset train = random_dataset(10, 12, 4, 5), test = random_dataset(600, 12, 4, 6);  // 256 + 256 + 88 rows
    auto backend = kernels::make_cpu_backend(2);
    MlpTrainer trainer(*backend, shape, train, test, {1, 10, 0.1}, 1, 1);
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
      "mlp: trainer results are bit-identical for threads {1, 2, 3} x chunk {1, 3, 10} x batched or concurrent, with "
      "and without momentum") {
    const MlpShape shape{30, {24, 16}, 5};
    const Dataset train = random_dataset(400, 30, 5, 7), test = random_dataset(300, 30, 5, 8);
    const std::vector<std::int32_t> sizes = {0, 1, 7, 10, 23, 40, 3, 55, 12, 9, 31};
    std::vector<std::vector<std::int32_t>> samples;
    std::int32_t next = 0;
    for (std::int32_t n : sizes) {
      samples.push_back(iota(next, n));
      next += n;
    }
    std::vector<ClientWork> work;
    for (std::size_t k = 0; k < sizes.size(); ++k) work.push_back({static_cast<std::int32_t>(k * 3), samples[k], 4});
    Rng rng(7, "init");
    const auto global = init_parameters(shape, rng);
    for (const LocalTrainingConfig& config :
         {LocalTrainingConfig{2, 10, 0.05}, LocalTrainingConfig{2, 10, 0.05, 0.9, 1e-3}}) {
      // The reference steps the clients one at a time through batched calls (the CUDA structure); the
      // CPU backend runs whole clients concurrently on its lanes (the `concurrent` structure).
      auto one = kernels::make_cpu_backend(1);
      CountingBackend batched(*one);
      MlpTrainer reference_trainer(batched, shape, train, test, config, 11, 1);
      const auto reference = reference_trainer.train(global, work);
      const Evaluation reference_eval = reference_trainer.evaluate(reference[5].params);

      for (int threads : {1, 2, 3}) {
        auto cpu = kernels::make_cpu_backend(threads);
        CountingBackend lockstep(*cpu);  // batched: clients of a chunk in lockstep
        for (std::int64_t chunk : {1, 3, 10}) {
          for (kernels::Backend* backend :
               {static_cast<kernels::Backend*>(cpu.get()), static_cast<kernels::Backend*>(&lockstep)}) {
            INFO("momentum " << config.momentum << ", threads " << threads << ", chunk " << chunk << ", "
                             << (backend == cpu.get() ? "concurrent" : "batched"));
            MlpTrainer trainer(*backend, shape, train, test, config, 11, chunk);

            const auto got = trainer.train(global, work);
            const auto again = trainer.train(global, work);  // the velocity starts at 0 again
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

  TEST_CASE("mlp: on a concurrent backend the trainer forks once per chunk, each item one whole client") {
    const MlpShape shape{30, {24}, 5};
    const Dataset train = random_dataset(200, 30, 5, 7), test = random_dataset(50, 30, 5, 8);
    const std::vector<std::int32_t> sizes = {12, 35, 0, 21, 8, 40, 17};  // steps 2, 4, 0, 3, 1, 4, 2 (B = 10)
    std::vector<std::vector<std::int32_t>> samples;
    std::int32_t next = 0;
    for (std::int32_t n : sizes) {
      samples.push_back(iota(next, n));
      next += n;
    }
    std::vector<ClientWork> work;
    for (std::size_t k = 0; k < sizes.size(); ++k) work.push_back({static_cast<std::int32_t>(k), samples[k], 1});
    Rng rng(7, "init");
    const auto global = init_parameters(shape, rng);
    auto cpu = kernels::make_cpu_backend(2);
    CountingBackend concurrent(*cpu, CountingBackend::Schedule::forwarded);
    CountingBackend batched(*cpu);
    const LocalTrainingConfig config{1, 10, 0.05, 0.9, 0.0};
    MlpTrainer trainer(concurrent, shape, train, test, config, 3, 3);
    MlpTrainer reference_trainer(batched, shape, train, test, config, 3, 3);

    const auto got = trainer.train(global, work);
    const auto reference = reference_trainer.train(global, work);

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
    const std::vector<ClientWork> work = {{0, s0, 2}, {1, s1, 2}};
    Rng rng(7, "init");
    const auto global = init_parameters(shape, rng);
    auto cpu = kernels::make_cpu_backend(2);
    CountingBackend counting(*cpu);
    LocalTrainingConfig defaults;
    defaults.epochs = 2;
    defaults.lr = 0.05;
    const LocalTrainingConfig zeros{2, 10, 0.05, 0.0, 0.0};
    MlpTrainer by_default(*cpu, shape, train, test, defaults, 3, 2);
    MlpTrainer explicit_zeros(counting, shape, train, test, zeros, 3, 2);
    MlpTrainer with_momentum(*cpu, shape, train, test, {2, 10, 0.05, 0.5, 0.0}, 3, 2);

    const auto reference = by_default.train(global, work);
    const auto got = explicit_zeros.train(global, work);
    const auto other = with_momentum.train(global, work);

    check_same_results(got, reference);
    CHECK(counting.update_calls == 0);  // no velocity: the SGD update is fused into the gradient GEMM
    CHECK(update_flops_per_step(shape, zeros) == 0.0);
    CHECK(other[0].params != reference[0].params);  // momentum does change the result
  }

  TEST_CASE("mlp: a client with no samples returns the global model after 0 steps") {
    const MlpShape shape{6, {5}, 3};
    const Dataset train = random_dataset(20, 6, 3, 1), test = random_dataset(5, 6, 3, 2);
    auto backend = kernels::make_cpu_backend(2);
    MlpTrainer trainer(*backend, shape, train, test, {1, 10, 0.1}, 1, 3);
    Rng rng(1, "init");
    const auto global = init_parameters(shape, rng);
    const auto samples = iota(0, 20);
    const std::vector<ClientWork> work = {{0, {}, 0}, {1, samples, 0}};

    const auto r = trainer.train(global, work);

    CHECK(r[0].params == global);
    CHECK(r[0].steps == 0);
    CHECK(r[0].samples_seen == 0);
    CHECK(r[0].loss_sum == 0.0);
    CHECK(r[0].flops == 0.0);
    CHECK(r[1].steps == 2);
    CHECK(r[1].params != global);
  }

  TEST_CASE("mlp: the shuffle is keyed by (seed, client, round): another round differs, the same one repeats") {
    const MlpShape shape{6, {5}, 3};
    const Dataset train = random_dataset(50, 6, 3, 1), test = random_dataset(5, 6, 3, 2);
    auto backend = kernels::make_cpu_backend(1);
    MlpTrainer trainer(*backend, shape, train, test, {1, 10, 0.1}, 1, 2);
    Rng rng(1, "init");
    const auto global = init_parameters(shape, rng);
    const auto samples = iota(0, 50);

    const auto r0 = trainer.train(global, std::vector<ClientWork>{{0, samples, 0}});
    const auto r1 = trainer.train(global, std::vector<ClientWork>{{0, samples, 1}});
    const auto other_client = trainer.train(global, std::vector<ClientWork>{{1, samples, 0}});
    const auto r0_again = trainer.train(global, std::vector<ClientWork>{{0, samples, 0}});

    CHECK(r0[0].params != r1[0].params);
    CHECK(r0[0].params != other_client[0].params);
    check_same_results(r0_again, r0);
  }

  TEST_CASE("mlp: train, update and forward flops equal what the Backend reports, with and without momentum") {
    const std::vector<LocalTrainingConfig> configs = {
        {2, 10, 0.01}, {2, 10, 0.01, 0.9, 0.01}, {2, 10, 0.01, 0.5, 0.0}, {2, 10, 0.01, 0.0, 0.01}};
    for (const MlpShape& shape : {MlpShape{784, {200}, 10}, MlpShape{30, {24, 16}, 5}, MlpShape{8, {}, 4}}) {
      for (const LocalTrainingConfig& config : configs) {
        INFO("hidden layers " << shape.hidden.size() << ", momentum " << config.momentum << ", weight decay "
                              << config.weight_decay);
        const Dataset train = random_dataset(120, shape.inputs, shape.classes, 3);
        const Dataset test = random_dataset(300, shape.inputs, shape.classes, 4);
        auto cpu = kernels::make_cpu_backend(2);
        CountingBackend counting(*cpu);
        MlpTrainer trainer(counting, shape, train, test, config, 1, 3);
        Rng rng(3, "init");
        const auto global = init_parameters(shape, rng);
        // Ragged minibatches: 25 = 10 + 10 + 5, 1 = 1, 17 = 10 + 7.
        const auto s0 = iota(0, 25), s1 = iota(25, 1), s2 = iota(26, 17);
        const std::vector<ClientWork> work = {{0, s0, 0}, {1, s1, 0}, {2, s2, 0}, {3, {}, 0}};

        const auto results = trainer.train(global, work);
        const double train_reported = counting.total.flops;
        counting.total = {};
        trainer.evaluate(global);
        const double eval_reported = counting.total.flops;

        double seen = 0, steps = 0, result_flops = 0;
        for (const auto& r : results) {
          seen += static_cast<double>(r.samples_seen);
          steps += static_cast<double>(r.steps);
          result_flops += r.flops;
        }
        const double per_step = update_flops_per_step(shape, config);
        CHECK(seen == 2 * (25 + 1 + 17));
        CHECK(steps == 2 * (3 + 1 + 2));
        CHECK((per_step > 0) == (config.momentum > 0 || config.weight_decay > 0));
        CHECK(train_reported == seen * train_flops_per_sample(shape) + steps * per_step);
        CHECK(result_flops == train_reported);
        CHECK(results[0].flops == 50 * train_flops_per_sample(shape) + 6 * per_step);
        CHECK(eval_reported == 300 * forward_flops_per_sample(shape));
        // One update pass per lockstep step of the chunk (the longest client takes 6 steps), none for plain SGD.
        CHECK(counting.update_calls == (per_step > 0 ? 6 : 0));
      }
    }
  }

  TEST_CASE("mlp: update_flops_per_step counts one fused update pass over all parameters, weight decay included") {
    const MlpShape shape{8, {}, 4};  // 36 parameters

    CHECK(update_flops_per_step(shape, {1, 10, 0.01}) == 0.0);
    CHECK(update_flops_per_step(shape, {1, 10, 0.01, 0.9, 0.0}) == 3 * 36);   // p −= lr·v; v *= m
    CHECK(update_flops_per_step(shape, {1, 10, 0.01, 0.0, 0.01}) == 5 * 36);  // and v += wd·p
    CHECK(update_flops_per_step(shape, {1, 10, 0.01, 0.9, 0.01}) == 5 * 36);
    CHECK(update_flops_per_step({784, {200}, 10}, {1, 10, 0.01, 0.5, 0.0}) == 3 * 159010);
  }

  TEST_CASE(
      "mlp: the trainer rejects a bad chunk or optimizer setting, a wrong-sized model, unknown samples and mismatched "
      "data") {
    const MlpShape shape{6, {5}, 3};
    const Dataset train = random_dataset(20, 6, 3, 1), test = random_dataset(5, 6, 3, 2);
    const Dataset wrong = random_dataset(5, 7, 3, 2);
    auto backend = kernels::make_cpu_backend(1);
    MlpTrainer trainer(*backend, shape, train, test, {1, 10, 0.1}, 1, 2);
    Rng rng(1, "init");
    const auto global = init_parameters(shape, rng);
    const std::vector<std::int32_t> bad = {0, 20};

    CHECK_THROWS_AS(MlpTrainer(*backend, shape, train, test, {1, 10, 0.1}, 1, 0), std::invalid_argument);
    for (const LocalTrainingConfig& bad_config :
         {LocalTrainingConfig{1, 10, 0.1, 1.0, 0}, LocalTrainingConfig{1, 10, 0.1, -0.1, 0},
          LocalTrainingConfig{1, 10, 0.1, NAN, 0}, LocalTrainingConfig{1, 10, 0.1, 0, -1e-4},
          LocalTrainingConfig{1, 10, 0.1, 0, INFINITY}}) {
      INFO("momentum " << bad_config.momentum << ", weight decay " << bad_config.weight_decay);
      CHECK_THROWS_AS(MlpTrainer(*backend, shape, train, test, bad_config, 1, 1), std::invalid_argument);
      CHECK_THROWS_AS(update_flops_per_step(shape, bad_config), std::invalid_argument);
    }
    CHECK_THROWS_AS(MlpTrainer(*backend, shape, train, wrong, {1, 10, 0.1}, 1, 1), std::invalid_argument);
    const auto five = iota(0, 5);
    CHECK_THROWS_AS(trainer.train(std::vector<float>(3), std::vector<ClientWork>{{0, five, 0}}), std::invalid_argument);
    CHECK_THROWS_WITH_AS(trainer.train(global, std::vector<ClientWork>{{0, bad, 0}}), doctest::Contains("20"),
                         std::invalid_argument);
    CHECK_THROWS_AS(trainer.evaluate(std::vector<float>(3)), std::invalid_argument);
  }
}
