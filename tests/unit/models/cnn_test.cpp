// CNN as a Model trained by the LocalTrainer: parameter counts from the layer shapes, bad shapes, the
// initialisation, the whole network's gradient against central finite differences of a double-precision
// reference (with and without dropout), evaluation, determinism across threads, chunks and parallel
// structures with dropout on, the modelled flops against what the Backend reports, and learning on
// separable toy images.
#include "models/cnn.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "kernels/backend.hpp"
#include "models/local_trainer.hpp"
#include "tests/unit/kernels/tensor_compare.hpp"
#include "tests/unit/models/trainer_test_support.hpp"

namespace {

using namespace dtsim;
using namespace dtsim::models;
using dtsim::test::check_same_results;
using dtsim::test::compare_close;
using dtsim::test::CountingBackend;
using dtsim::test::iota;
using dtsim::test::make_task;
using dtsim::test::random_dataset;
using dtsim::test::store_of;

// Seed 1 leaves most of tiny_valid's dense layer dead (its gradient 0), which would check little.
constexpr std::uint64_t kSeeds[] = {2, 3, 4};

CnnShape cnn_mnist() { return CnnShape{}; }
// The FedAvg paper's CNN (McMahan et al. 2017): 5×5 "same" convolutions with 32 and 64 channels, dense 512.
CnnShape fedavg_cnn() {
  CnnShape s;
  s.channels = {32, 64};
  s.dense = 512;
  s.padding = 2;
  return s;
}
CnnShape with_dropout(CnnShape s, double p = 0.5) {
  s.dropout = p;
  return s;
}
// Tiny networks for the finite-difference checks: 1×8×8 → conv 3 (3×3, pad 1) → 3×4×4 → conv 4 → 4×2×2
// → dense 8 → 3 classes; and 2×14×14 → conv 3 (3×3) → 3×6×6 → conv 4 → 4×2×2 → dense 8 → 3 classes.
CnnShape tiny_padded(double dropout = 0) { return CnnShape{1, 8, 8, {3, 4}, 3, 1, 8, 3, dropout}; }
CnnShape tiny_valid(double dropout = 0) { return CnnShape{2, 14, 14, {3, 4}, 3, 0, 8, 3, dropout}; }

// The layer shapes of models/cnn.hpp, worked out here: each convolution (stride 1, zero padding) then a
// 2×2 max-pool; its filters (out × in × k × k) then its biases; then the dense layer's W (flat × dense)
// and b, then the output layer's W (dense × classes) and b.
struct ConvDims {
  std::int64_t cin, cout, h, w, ho, wo;  // input channels and sides, output channels and sides (before pooling)
  std::size_t offset;                    // of the filters
};
struct Layout {
  std::vector<ConvDims> convs;
  std::int64_t flat = 0;
  std::size_t dense_w = 0, dense_b = 0, out_w = 0, out_b = 0, count = 0;
};
Layout layout_of(const CnnShape& s) {
  Layout l;
  std::int64_t c = s.image_channels, h = s.height, w = s.width;
  std::size_t offset = 0;
  for (std::int64_t out : s.channels) {
    const std::int64_t ho = h + 2 * s.padding - s.kernel + 1, wo = w + 2 * s.padding - s.kernel + 1;
    l.convs.push_back({c, out, h, w, ho, wo, offset});
    offset += static_cast<std::size_t>(out * c * s.kernel * s.kernel + out);
    c = out;
    h = ho / 2;
    w = wo / 2;
  }
  l.flat = c * h * w;
  l.dense_w = offset;
  l.dense_b = l.dense_w + static_cast<std::size_t>(l.flat * s.dense);
  l.out_w = l.dense_b + static_cast<std::size_t>(s.dense);
  l.out_b = l.out_w + static_cast<std::size_t>(s.dense * s.classes);
  l.count = l.out_b + static_cast<std::size_t>(s.classes);
  return l;
}

// The CNN in double on `rows` of d, in order. conv_masks[c] (c >= 1, rows × cout·ho·wo) multiplies
// convolution c's output before its pooling (Dropout2d), dense_mask (rows × dense) the dense layer's
// output after its ReLU; empty: none.
struct CnnReference {
  std::vector<double> losses;
  std::int64_t hits = 0;
  double min_margin = INFINITY;  // nearest kink: |ReLU input| or a pool tile's top-two gap (kept units)
  double mean_loss() const {
    double s = 0;
    for (double l : losses) s += l;
    return s / static_cast<double>(losses.size());
  }
};
CnnReference cnn_reference(const CnnShape& s, const std::vector<double>& p, const Dataset& d,
                           std::span<const std::int32_t> rows, const std::vector<std::vector<double>>& conv_masks = {},
                           const std::vector<double>& dense_mask = {}) {
  const Layout L = layout_of(s);
  const std::int64_t k = s.kernel, pad = s.padding;
  CnnReference out;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const std::int32_t row = rows[r];
    std::vector<double> a(d.x.begin() + row * d.features, d.x.begin() + (row + 1) * d.features);
    for (std::size_t c = 0; c < L.convs.size(); ++c) {
      const ConvDims& cv = L.convs[c];
      const std::size_t bias = cv.offset + static_cast<std::size_t>(cv.cout * cv.cin * k * k);
      const std::int64_t size = cv.cout * cv.ho * cv.wo;
      std::vector<double> y(static_cast<std::size_t>(size));
      for (std::int64_t o = 0; o < cv.cout; ++o) {
        for (std::int64_t i = 0; i < cv.ho; ++i) {
          for (std::int64_t j = 0; j < cv.wo; ++j) {
            double sum = p[bias + static_cast<std::size_t>(o)];
            for (std::int64_t ci = 0; ci < cv.cin; ++ci) {
              for (std::int64_t ky = 0; ky < k; ++ky) {
                for (std::int64_t kx = 0; kx < k; ++kx) {
                  const std::int64_t yy = i + ky - pad, xx = j + kx - pad;
                  if (yy < 0 || yy >= cv.h || xx < 0 || xx >= cv.w) continue;
                  sum += p[cv.offset + static_cast<std::size_t>(((o * cv.cin + ci) * k + ky) * k + kx)] *
                         a[static_cast<std::size_t>((ci * cv.h + yy) * cv.w + xx)];
                }
              }
            }
            y[static_cast<std::size_t>((o * cv.ho + i) * cv.wo + j)] = sum;
          }
        }
      }
      const bool masked = c > 0 && !conv_masks.empty() && !conv_masks[c].empty();
      if (masked) {
        for (std::int64_t e = 0; e < size; ++e)
          y[static_cast<std::size_t>(e)] *=
              conv_masks[c][r * static_cast<std::size_t>(size) + static_cast<std::size_t>(e)];
      }
      // 2×2 max-pool (the first largest of a tile in row-major order), then ReLU.
      const std::int64_t hp = cv.ho / 2, wp = cv.wo / 2;
      std::vector<double> pooled(static_cast<std::size_t>(cv.cout * hp * wp));
      for (std::int64_t o = 0; o < cv.cout; ++o) {
        const bool kept =
            !masked ||
            conv_masks[c][r * static_cast<std::size_t>(size) + static_cast<std::size_t>(o * cv.ho * cv.wo)] != 0;
        for (std::int64_t i = 0; i < hp; ++i) {
          for (std::int64_t j = 0; j < wp; ++j) {
            double v[4];
            for (int t = 0; t < 4; ++t)
              v[t] = y[static_cast<std::size_t>((o * cv.ho + 2 * i + t / 2) * cv.wo + 2 * j + t % 2)];
            double best = v[0];
            for (int t = 1; t < 4; ++t)
              if (v[t] > best) best = v[t];
            std::sort(v, v + 4);
            if (kept) out.min_margin = std::min({out.min_margin, v[3] - v[2], std::abs(best)});
            pooled[static_cast<std::size_t>((o * hp + i) * wp + j)] = std::max(best, 0.0);
          }
        }
      }
      a = pooled;
    }
    std::vector<double> h(static_cast<std::size_t>(s.dense));
    for (std::int64_t o = 0; o < s.dense; ++o) {
      double z = p[L.dense_b + static_cast<std::size_t>(o)];
      for (std::int64_t i = 0; i < L.flat; ++i)
        z += a[static_cast<std::size_t>(i)] * p[L.dense_w + static_cast<std::size_t>(i * s.dense + o)];
      const double m =
          dense_mask.empty() ? 1.0 : dense_mask[r * static_cast<std::size_t>(s.dense) + static_cast<std::size_t>(o)];
      if (m != 0) out.min_margin = std::min(out.min_margin, std::abs(z));
      h[static_cast<std::size_t>(o)] = std::max(z, 0.0) * m;
    }
    std::vector<double> logits(static_cast<std::size_t>(s.classes));
    for (std::int64_t o = 0; o < s.classes; ++o) {
      double z = p[L.out_b + static_cast<std::size_t>(o)];
      for (std::int64_t i = 0; i < s.dense; ++i)
        z += h[static_cast<std::size_t>(i)] * p[L.out_w + static_cast<std::size_t>(i * s.classes + o)];
      logits[static_cast<std::size_t>(o)] = z;
    }
    const double mx = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (double v : logits) sum += std::exp(v - mx);
    const auto label = static_cast<std::size_t>(d.y[static_cast<std::size_t>(row)]);
    out.losses.push_back(std::log(sum) - (logits[label] - mx));
    out.hits += std::max_element(logits.begin(), logits.end()) - logits.begin() == static_cast<std::ptrdiff_t>(label);
  }
  return out;
}

// Images where class k (of 4) has a bright 3×3 patch in quadrant k of an 8×8 picture, plus noise.
Dataset quadrant_images(std::int64_t samples, std::uint64_t seed) {
  Dataset d;
  d.samples = samples;
  d.features = 64;
  d.classes = 4;
  Rng rng(seed, "quadrants");
  for (std::int64_t n = 0; n < samples; ++n) {
    const auto label = static_cast<std::int32_t>(n % 4);
    const std::int64_t y0 = (label / 2) * 4, x0 = (label % 2) * 4;
    for (std::int64_t y = 0; y < 8; ++y) {
      for (std::int64_t x = 0; x < 8; ++x) {
        const bool patch = y >= y0 && y < y0 + 3 && x >= x0 && x < x0 + 3;
        d.x.push_back(static_cast<float>((patch ? 1.0 : 0.0) + rng.normal(0, 0.3)));
      }
    }
    d.y.push_back(label);
  }
  return d;
}

// [first, end) of each layer's parameters: every convolution's (filters and biases), the dense layer's,
// the output layer's.
std::vector<std::pair<std::size_t, std::size_t>> layer_ranges(const Layout& L) {
  std::vector<std::pair<std::size_t, std::size_t>> r;
  for (std::size_t c = 0; c < L.convs.size(); ++c)
    r.emplace_back(L.convs[c].offset, c + 1 < L.convs.size() ? L.convs[c + 1].offset : L.dense_w);
  r.emplace_back(L.dense_w, L.out_w);
  r.emplace_back(L.out_w, L.count);
  return r;
}

// The initial parameters with the hidden layers' biases raised by 0.2, so that few ReLUs of the tiny
// networks are dead (a dead unit's gradient is 0 in both computations and checks nothing).
std::vector<float> livened(const CnnShape& s, std::vector<float> p) {
  const Layout L = layout_of(s);
  for (const ConvDims& cv : L.convs) {
    const std::size_t bias = cv.offset + static_cast<std::size_t>(cv.cout * cv.cin * s.kernel * s.kernel);
    for (std::int64_t o = 0; o < cv.cout; ++o) p[bias + static_cast<std::size_t>(o)] += 0.2f;
  }
  for (std::size_t i = L.dense_b; i < L.out_w; ++i) p[i] += 0.2f;
  return p;
}

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

}  // namespace

TEST_SUITE("models") {
  TEST_CASE(
      "cnn: parameter_count is the layers' filters, biases and dense weights (CNNMnist 21,840; FedAvg 1,663,370)") {
    // CNNMnist: conv 1→10 5×5 (260), 28→24→12; conv 10→20 5×5 (5,020), 12→8→4; dense 320→50 (16,050); 50→10 (510).
    CHECK(layout_of(cnn_mnist()).count == 260 + 5020 + 16050 + 510);
    CHECK(260 + 5020 + 16050 + 510 == 21840);
    // FedAvg: conv 1→32 (832), 28→28→14; conv 32→64 (51,264), 14→14→7; dense 3136→512 (1,606,144); 512→10 (5,130).
    CHECK(layout_of(fedavg_cnn()).count == 832 + 51264 + 1606144 + 5130);
    CHECK(832 + 51264 + 1606144 + 5130 == 1663370);
    for (const CnnShape& s : {cnn_mnist(), fedavg_cnn(), tiny_padded(), tiny_valid(),
                              CnnShape{3, 32, 32, {8, 16, 16}, 3, 1, 32, 10, 0.5}}) {
      INFO("channels " << s.channels.size() << ", " << s.image_channels << "x" << s.height << "x" << s.width);
      const auto model = make_cnn_model(s);
      CHECK(parameter_count(s) == static_cast<std::int64_t>(layout_of(s).count));
      CHECK(model->parameter_count() == static_cast<std::int64_t>(layout_of(s).count));
      CHECK(model->input_features() == s.image_channels * s.height * s.width);
      CHECK(model->classes() == s.classes);
      CHECK(model->name() == "cnn");
    }
    CHECK(parameter_count(cnn_mnist()) == 21840);
    CHECK(parameter_count(fedavg_cnn()) == 1663370);
  }

  TEST_CASE("cnn: a shape that cannot be built is rejected, naming the problem, by every entry point") {
    struct Bad {
      CnnShape shape;
      const char* says;
    };
    auto with = [](auto change) {
      CnnShape s;
      change(s);
      return s;
    };
    const std::vector<Bad> bad = {
        {with([](CnnShape& s) { s.channels.clear(); }), "channels"},
        {with([](CnnShape& s) {
           s.channels = {10, 0};
         }),
         "channels"},
        {with([](CnnShape& s) { s.kernel = 0; }), "kernel"},
        {with([](CnnShape& s) { s.padding = -1; }), "padding"},
        {with([](CnnShape& s) { s.padding = 5; }), "padding"},
        {with([](CnnShape& s) { s.dense = 0; }), "dense"},
        {with([](CnnShape& s) { s.classes = 0; }), "classes"},
        {with([](CnnShape& s) { s.dropout = 1.0; }), "dropout"},
        {with([](CnnShape& s) { s.dropout = -0.1; }), "dropout"},
        {with([](CnnShape& s) { s.dropout = NAN; }), "dropout"},
        {with([](CnnShape& s) { s.image_channels = 0; }), "images"},
        {with([](CnnShape& s) { s.height = 0; }), "images"},
        {with([](CnnShape& s) { s.height = s.width = 27; }), "convolution 1"},  // 23×23 cannot be halved
        {with([](CnnShape& s) {
           s.channels = {10, 20, 40};
         }),
         "convolution 3"},                                           // 4×4 → 0×0
        {with([](CnnShape& s) { s.width = 30; }), "convolution 2"},  // 13 wide after the first pool
    };
    for (const Bad& b : bad) {
      INFO("expects a message naming " << b.says);
      CHECK_THROWS_WITH_AS(make_cnn_model(b.shape), doctest::Contains(b.says), std::invalid_argument);
      CHECK_THROWS_AS(parameter_count(b.shape), std::invalid_argument);
      CHECK_THROWS_AS(train_flops_per_sample(b.shape), std::invalid_argument);
      Rng rng(1, "init");
      CHECK_THROWS_AS(init_parameters(b.shape, rng), std::invalid_argument);
    }
    CHECK_NOTHROW(make_cnn_model(with([](CnnShape& s) { s.padding = 4; })));
  }

  TEST_CASE("cnn: init_parameters draws every layer uniform in ±1/sqrt(fan_in), biases included, from the stream") {
    const CnnShape s = cnn_mnist();
    const Layout L = layout_of(s);
    Rng a(4, "init"), b(4, "init"), c(5, "init"), m(4, "init");

    const auto pa = init_parameters(s, a);
    const auto pb = init_parameters(s, b);
    const auto pc = init_parameters(s, c);
    const auto pm = make_cnn_model(s)->init_parameters(m);

    CHECK(pa == pb);
    CHECK(pa == pm);
    CHECK(pa != pc);
    REQUIRE(pa.size() == L.count);
    // [first, end) of each layer's weights and biases, and its fan-in.
    struct Range {
      std::size_t first, end;
      double fan_in;
    };
    std::vector<Range> ranges;
    for (const ConvDims& cv : L.convs) {
      const auto fan = static_cast<double>(cv.cin * s.kernel * s.kernel);
      const std::size_t weights = static_cast<std::size_t>(cv.cout) * static_cast<std::size_t>(fan);
      ranges.push_back({cv.offset, cv.offset + weights, fan});
      ranges.push_back({cv.offset + weights, cv.offset + weights + static_cast<std::size_t>(cv.cout), fan});
    }
    ranges.push_back({L.dense_w, L.dense_b, static_cast<double>(L.flat)});
    ranges.push_back({L.dense_b, L.out_w, static_cast<double>(L.flat)});
    ranges.push_back({L.out_w, L.out_b, static_cast<double>(s.dense)});
    ranges.push_back({L.out_b, L.count, static_cast<double>(s.dense)});
    for (const Range& r : ranges) {
      INFO("parameters [" << r.first << ", " << r.end << "), fan-in " << r.fan_in);
      const double bound = 1 / std::sqrt(r.fan_in);
      double largest = 0;
      for (std::size_t i = r.first; i < r.end; ++i) largest = std::max(largest, std::abs(static_cast<double>(pa[i])));
      CHECK(largest <= bound);
      // Hundreds of draws come close to the bound: the bound is this layer's, not a smaller one.
      if (r.end - r.first >= 200) CHECK(largest > 0.95 * bound);
      if (r.end - r.first < 200) CHECK(largest > 0.0);
    }
  }

  TEST_CASE(
      "cnn: one SGD step moves every parameter by lr times the finite-difference gradient, with and without "
      "dropout") {
    // One task, one step on all 6 images (B = 6), lr = 1: p0 − p1 is the gradient of the minibatch mean
    // loss. With dropout, the minibatch holds the images in the order of the epoch's shuffle
    // Rng(seed, "shuffle", client, round, 0), and the masks are Backend::dropout's (the contract's hash)
    // under dropout_layer_key(Rng(seed, "dropout", client, round, 0), layer), the layers numbered
    // convolution c (c >= 1) = c and the dense layer = the number of convolutions.
    const std::int32_t client = 5;
    const std::int64_t round = 3;
    const float p = 0.3f;
    for (const double dropout : {0.0, static_cast<double>(p)}) {
      for (const CnnShape& shape : {tiny_padded(dropout), tiny_valid(dropout)}) {
        for (std::uint64_t seed : kSeeds) {
          INFO("dropout " << dropout << ", input " << shape.image_channels << "x" << shape.height << "x" << shape.width
                          << ", padding " << shape.padding << ", seed " << seed);
          const Layout L = layout_of(shape);
          const std::int64_t features = shape.image_channels * shape.height * shape.width;
          const Dataset train = random_dataset(6, features, 3, seed), test = random_dataset(4, features, 3, seed + 1);
          Rng rng(seed, "init");
          const auto p0 = livened(shape, init_parameters(shape, rng));
          const auto rows = iota(0, 6);
          const auto order = dtsim::test::epoch_order(rows, seed, client, round, 0);
          std::vector<std::vector<double>> conv_masks(L.convs.size());
          std::vector<double> dense_mask;
          std::int64_t dropped = 0, kept = 0;
          if (dropout > 0) {
            const std::uint64_t key = dtsim::test::dropout_step_key(seed, client, round, 0);
            for (std::size_t c = 1; c < L.convs.size(); ++c) {
              const ConvDims& cv = L.convs[c];
              conv_masks[c] =
                  dtsim::test::dropout_mask(p, cv.ho * cv.wo, dropout_layer_key(key, c), 6, cv.cout * cv.ho * cv.wo);
            }
            dense_mask = dtsim::test::dropout_mask(p, 1, dropout_layer_key(key, L.convs.size()), 6, shape.dense);
            for (const auto& m : conv_masks)
              for (double v : m) (v == 0 ? dropped : kept) += 1;
            for (double v : dense_mask) (v == 0 ? dropped : kept) += 1;
            REQUIRE(dropped > 0);  // something is dropped and something kept: the masks matter
            REQUIRE(kept > 0);
          }
          auto loss = [&](const std::vector<double>& q) {
            return cnn_reference(shape, q, train, order, conv_masks, dense_mask).mean_loss();
          };
          const auto ref = cnn_reference(shape, to_double(p0), train, order, conv_masks, dense_mask);
          // A central difference (eps = 1e-7) moves a unit's input by at most a few 1e-7, float rounding of
          // the forward pass by ~1e-7: a margin of 5e-6 keeps every ReLU and pooling choice on one side of
          // its kink in both computations.
          REQUIRE_MESSAGE(ref.min_margin > 5e-6, "a unit sits near a ReLU or max-pool kink; pick another seed");
          const auto grad_fd = dtsim::test::fd_gradient(loss, to_double(p0), 1e-7);
          auto backend = kernels::make_cpu_backend(1);
          const auto model = make_cnn_model(shape);
          LocalTrainer trainer(*backend, *model, train, test, {1, 6, 1.0}, seed, 1);

          const auto result = trainer.train(std::vector<TrainTask>{make_task(client, rows, round)}, store_of(p0));

          REQUIRE(result[0].steps == 1);
          std::vector<double> grad_sgd;
          for (std::size_t i = 0; i < p0.size(); ++i)
            grad_sgd.push_back(static_cast<double>(p0[i]) - static_cast<double>(result[0].params[i]));
          CHECK(result[0].loss_sum / 6 == doctest::Approx(ref.mean_loss()).epsilon(1e-5));
          const auto diff = compare_close<double, double>(grad_sgd, grad_fd, 1e-5, 1e-4);
          CHECK_MESSAGE(diff.empty(), diff);
          CHECK(dtsim::test::norm2(grad_fd) > 1e-3);  // the check above compared something
          // Over a fifth of every layer's parameters have a gradient (dead ReLUs zero the others'): the
          // comparison covers every layer.
          for (const auto& range : layer_ranges(L)) {
            const std::size_t first = range.first, end = range.second;  // INFO captures them
            INFO("parameters [" << first << ", " << end << ")");
            std::size_t live = 0;
            for (std::size_t i = first; i < end; ++i) live += std::abs(grad_fd[i]) > 1e-9 ? 1 : 0;
            CHECK(5 * live > end - first);
          }
          if (dropout > 0) {
            // The tolerance tells dropout from none: the unmasked gradient fails the same comparison.
            const auto grad_plain = dtsim::test::fd_gradient(
                [&](const std::vector<double>& q) { return cnn_reference(shape, q, train, order).mean_loss(); },
                to_double(p0), 1e-7);
            CHECK_FALSE(compare_close<double, double>(grad_sgd, grad_plain, 1e-5, 1e-4).empty());
          }
        }
      }
    }
  }

  TEST_CASE("cnn: evaluate matches the double reference without dropout, over ragged test items") {
    for (const CnnShape& shape : {tiny_padded(), tiny_padded(0.5)}) {
      INFO("dropout " << shape.dropout);
      const Dataset train = random_dataset(10, 64, 3, 1), test = random_dataset(300, 64, 3, 2);  // 256 + 44 rows
      Rng rng(3, "init");
      const auto params = init_parameters(shape, rng);
      const auto ref = cnn_reference(shape, to_double(params), test, iota(0, 300));
      auto backend = kernels::make_cpu_backend(2);
      const auto model = make_cnn_model(shape);
      LocalTrainer trainer(*backend, *model, train, test, {1, 10, 0.1}, 1, 2);

      const Evaluation e = trainer.evaluate(params);

      CHECK(e.loss == doctest::Approx(ref.mean_loss()).epsilon(1e-5));
      CHECK(e.accuracy == doctest::Approx(static_cast<double>(ref.hits) / 300).epsilon(1e-12));
    }
  }

  TEST_CASE(
      "cnn: with dropout, results are bit-identical for threads {1, 2} x chunk {1, 3, all} x batched or "
      "concurrent, and keyed by (seed, client, round)") {
    const CnnShape shape = tiny_padded(0.3);
    const Dataset train = random_dataset(80, 64, 3, 7), test = random_dataset(40, 64, 3, 8);
    const auto model = make_cnn_model(shape);
    Rng rng(7, "init");
    const auto store = store_of(init_parameters(shape, rng));
    const std::vector<std::int32_t> sizes = {0, 1, 5, 9, 12, 3, 17, 8};
    std::vector<std::vector<std::int32_t>> samples;
    std::int32_t next = 0;
    for (std::int32_t n : sizes) {
      samples.push_back(iota(next, n));
      next += n;
    }
    std::vector<TrainTask> tasks;
    for (std::size_t k = 0; k < sizes.size(); ++k)
      tasks.push_back(make_task(static_cast<std::int32_t>(k), samples[k], 2));
    for (const LocalTrainingConfig& config :
         {LocalTrainingConfig{2, 4, 0.05}, LocalTrainingConfig{2, 4, 0.05, 0.9, 1e-3}}) {
      auto one = kernels::make_cpu_backend(1);
      CountingBackend batched_one(*one);
      LocalTrainer reference_trainer(batched_one, *model, train, test, config, 13, 1);
      const auto reference = reference_trainer.train(tasks, store);
      const Evaluation reference_eval = reference_trainer.evaluate(reference[4].params);
      for (int threads : {1, 2}) {
        auto cpu = kernels::make_cpu_backend(threads);
        CountingBackend lockstep(*cpu);
        for (std::int64_t chunk : {std::int64_t{1}, std::int64_t{3}, static_cast<std::int64_t>(tasks.size())}) {
          for (kernels::Backend* backend :
               {static_cast<kernels::Backend*>(cpu.get()), static_cast<kernels::Backend*>(&lockstep)}) {
            INFO("momentum " << config.momentum << ", threads " << threads << ", chunk " << chunk << ", "
                             << (backend == cpu.get() ? "concurrent" : "batched"));
            LocalTrainer trainer(*backend, *model, train, test, config, 13, chunk);

            const auto got = trainer.train(tasks, store);
            const Evaluation e = trainer.evaluate(got[4].params);

            check_same_results(got, reference);
            CHECK(e.loss == reference_eval.loss);
            CHECK(e.accuracy == reference_eval.accuracy);
          }
        }
      }
    }
    // The masks are keyed: the same task in another round, or as another client, trains differently,
    // though one minibatch of all its images makes the shuffle change only the rounding.
    const auto twelve = iota(0, 12);
    auto cpu = kernels::make_cpu_backend(1);
    LocalTrainer trainer(*cpu, *model, train, test, {1, 12, 0.05}, 13, 1);
    const auto a = trainer.train(std::vector<TrainTask>{make_task(0, twelve, 0)}, store);
    const auto b = trainer.train(std::vector<TrainTask>{make_task(0, twelve, 1)}, store);
    const auto c = trainer.train(std::vector<TrainTask>{make_task(1, twelve, 0)}, store);
    const auto a_again = trainer.train(std::vector<TrainTask>{make_task(0, twelve, 0)}, store);
    check_same_results(a_again, a);
    CHECK(std::abs(a[0].loss_sum - b[0].loss_sum) > 1e-4 * a[0].loss_sum);
    CHECK(std::abs(a[0].loss_sum - c[0].loss_sum) > 1e-4 * a[0].loss_sum);
  }

  TEST_CASE("cnn: train and forward flops per sample equal what the Backend reports, with and without dropout") {
    for (const CnnShape& shape : {cnn_mnist(), with_dropout(cnn_mnist()), fedavg_cnn(), tiny_padded(0.3), tiny_valid(),
                                  CnnShape{3, 32, 32, {8, 16, 16}, 3, 1, 32, 10, 0.5}}) {
      INFO("channels " << shape.channels.size() << ", dense " << shape.dense << ", dropout " << shape.dropout);
      const auto model = make_cnn_model(shape);
      const std::int64_t features = shape.image_channels * shape.height * shape.width;
      const Dataset train = random_dataset(7, features, shape.classes, 3);
      const Dataset test = random_dataset(5, features, shape.classes, 4);
      Rng rng(3, "init");
      const auto store = store_of(init_parameters(shape, rng));
      auto cpu = kernels::make_cpu_backend(2);
      const auto s0 = iota(0, 7), s1 = iota(0, 2);
      for (const LocalTrainingConfig& config :
           {LocalTrainingConfig{1, 4, 0.01}, LocalTrainingConfig{1, 4, 0.01, 0.9}}) {
        INFO("momentum " << config.momentum);
        CountingBackend counting(*cpu);
        LocalTrainer trainer(counting, *model, train, test, config, 1, 2);

        // Ragged minibatches: 7 = 4 + 3 and 2.
        const auto r = trainer.train(std::vector<TrainTask>{make_task(0, s0, 0), make_task(1, s1, 0)}, store);
        const double train_reported = counting.total.flops;
        const std::string by_op = counting.report();
        counting.reset();
        trainer.evaluate(store.at(0));
        const double eval_reported = counting.total.flops;

        INFO("training's reported flops by operation:\n" << by_op);
        const double update = update_flops_per_step(*model, config);
        const double steps = static_cast<double>(r[0].steps + r[1].steps);
        REQUIRE(steps == 3);
        CHECK(train_reported == 9 * model->train_flops_per_sample() + steps * update);
        CHECK(model->train_flops_per_sample() == train_flops_per_sample(shape));
        CHECK(r[0].flops + r[1].flops == train_reported);
        CHECK(eval_reported == 5 * model->forward_flops_per_sample());
        CHECK(model->forward_flops_per_sample() == forward_flops_per_sample(shape));
        CHECK(counting.calls.count("dropout") == 0);  // evaluation never drops out
      }
    }
  }

  TEST_CASE("cnn: a few epochs on separable toy images lower the test loss and reach high accuracy") {
    for (double dropout : {0.0, 0.2}) {
      INFO("dropout " << dropout);
      const CnnShape shape{1, 8, 8, {4, 8}, 3, 1, 16, 4, dropout};
      const Dataset train = quadrant_images(200, 1), test = quadrant_images(80, 2);
      const auto model = make_cnn_model(shape);
      auto backend = kernels::make_cpu_backend(2);
      LocalTrainer trainer(*backend, *model, train, test, {5, 10, 0.1, 0.5}, 1, 4);
      Rng rng(1, "init");
      const auto p0 = init_parameters(shape, rng);
      const auto samples = iota(0, 200);

      const Evaluation before = trainer.evaluate(p0);
      const auto result = trainer.train(std::vector<TrainTask>{make_task(0, samples, 0)}, store_of(p0));
      const Evaluation after = trainer.evaluate(result[0].params);

      CHECK(result[0].steps == 5 * 20);
      CHECK(after.loss < 0.5 * before.loss);
      CHECK(after.accuracy >= 0.9);
      CHECK(static_cast<double>(result[0].correct) / static_cast<double>(result[0].samples_seen) > 0.5);
    }
  }
}
