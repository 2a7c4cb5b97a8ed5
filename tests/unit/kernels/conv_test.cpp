// The CPU backend's image operations (conv2d and its backward passes, max pooling, relu, dropout)
// against naive double-precision loops and central differences; their determinism across thread counts
// and item groupings, their modelled costs and their argument checks.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/backend.hpp"
#include "kernels/op_contract.hpp"
#include "sim/common/rng.hpp"
#include "tests/unit/kernels/host_mat.hpp"
#include "tests/unit/kernels/tensor_compare.hpp"

namespace {

using namespace dtsim::kernels;
using dtsim::test::compare_bits;
using dtsim::test::compare_close;

constexpr std::uint64_t kSeeds[] = {1, 2, 3};
const float kNaN = std::numeric_limits<float>::quiet_NaN();

// A batch of `rows` images of `cols` floats with a padded row stride (tests/unit/kernels/host_mat.hpp).
using Images = dtsim::test::HostMat;

std::vector<float> random_floats(std::int64_t n, dtsim::Rng& rng, float scale = 1) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (float& x : v) x = static_cast<float>(rng.uniform(-scale, scale));
  return v;
}

template <class T>
std::span<const T> one(const T& v) {
  return {&v, 1};
}

// Input pixel (c, iy, ix) of image r, 0 in the zero padding.
double pixel(const Conv2dShape& s, const Images& x, std::int64_t r, std::int64_t c, std::int64_t iy, std::int64_t ix) {
  if (iy < 0 || iy >= s.height || ix < 0 || ix >= s.width) return 0;
  return x.at(r, (c * s.height + iy) * s.width + ix);
}
double weight(const Conv2dShape& s, const std::vector<float>& w, std::int64_t o, std::int64_t c, std::int64_t ky,
              std::int64_t kx) {
  return w[static_cast<std::size_t>(((o * s.in_channels + c) * s.kernel + ky) * s.kernel + kx)];
}

// y[r](o, oy, ox) = bias[o] + Σ_{c, ky, kx} W[o][c][ky][kx] · x[r](c, oy + ky − pad, ox + kx − pad), as
// one FMA chain from the bias in that order (padding zeros included) in T: double for a reference, float
// for the kernel's exact bits.
template <class T>
std::vector<T> conv_ref(const Conv2dShape& s, const Images& x, const std::vector<float>& w) {
  std::vector<T> y;
  for (std::int64_t r = 0; r < x.rows; ++r)
    for (std::int64_t o = 0; o < s.out_channels; ++o)
      for (std::int64_t oy = 0; oy < s.out_height(); ++oy)
        for (std::int64_t ox = 0; ox < s.out_width(); ++ox) {
          T acc = w[static_cast<std::size_t>(s.weight_count() + o)];
          for (std::int64_t c = 0; c < s.in_channels; ++c)
            for (std::int64_t ky = 0; ky < s.kernel; ++ky)
              for (std::int64_t kx = 0; kx < s.kernel; ++kx) {
                const auto in = static_cast<T>(pixel(s, x, r, c, oy + ky - s.padding, ox + kx - s.padding));
                acc = std::fma(static_cast<T>(weight(s, w, o, c, ky, kx)), in, acc);
              }
          y.push_back(acc);
        }
  return y;
}

// dx[r](c, iy, ix) = Σ_{o, ky, kx} W[o][c][ky][kx] · dy[r](o, iy + pad − ky, ix + pad − kx) over valid outputs.
std::vector<double> conv_backward_input_ref(const Conv2dShape& s, const Images& dy, const std::vector<float>& w) {
  std::vector<double> dx;
  const std::int64_t ho = s.out_height(), wo = s.out_width();
  for (std::int64_t r = 0; r < dy.rows; ++r)
    for (std::int64_t c = 0; c < s.in_channels; ++c)
      for (std::int64_t iy = 0; iy < s.height; ++iy)
        for (std::int64_t ix = 0; ix < s.width; ++ix) {
          double acc = 0;
          for (std::int64_t o = 0; o < s.out_channels; ++o)
            for (std::int64_t ky = 0; ky < s.kernel; ++ky)
              for (std::int64_t kx = 0; kx < s.kernel; ++kx) {
                const std::int64_t oy = iy + s.padding - ky, ox = ix + s.padding - kx;
                if (oy < 0 || oy >= ho || ox < 0 || ox >= wo) continue;
                acc += weight(s, w, o, c, ky, kx) * dy.at(r, (o * ho + oy) * wo + ox);
              }
          dx.push_back(acc);
        }
  return dx;
}

// The gradient of Σ dy·y over the filters then the biases, summed over the images.
std::vector<double> conv_backward_params_ref(const Conv2dShape& s, const Images& x, const Images& dy) {
  std::vector<double> g(static_cast<std::size_t>(s.parameter_count()), 0.0);
  const std::int64_t ho = s.out_height(), wo = s.out_width();
  for (std::int64_t r = 0; r < x.rows; ++r)
    for (std::int64_t o = 0; o < s.out_channels; ++o)
      for (std::int64_t oy = 0; oy < ho; ++oy)
        for (std::int64_t ox = 0; ox < wo; ++ox) {
          const double d = dy.at(r, (o * ho + oy) * wo + ox);
          g[static_cast<std::size_t>(s.weight_count() + o)] += d;
          for (std::int64_t c = 0; c < s.in_channels; ++c)
            for (std::int64_t ky = 0; ky < s.kernel; ++ky)
              for (std::int64_t kx = 0; kx < s.kernel; ++kx)
                g[static_cast<std::size_t>(((o * s.in_channels + c) * s.kernel + ky) * s.kernel + kx)] +=
                    d * pixel(s, x, r, c, oy + ky - s.padding, ox + kx - s.padding);
        }
  return g;
}

// The flat index (within the row) of the element max pooling picks in tile (c, ty, tx) of image r.
std::int64_t pool_pick(const Pool2dShape& s, const Images& x, std::int64_t r, std::int64_t c, std::int64_t ty,
                       std::int64_t tx) {
  std::int64_t best = -1;
  for (std::int64_t dy = 0; dy < s.window; ++dy)
    for (std::int64_t dx = 0; dx < s.window; ++dx) {
      const std::int64_t at = (c * s.height + ty * s.window + dy) * s.width + tx * s.window + dx;
      if (best < 0 || x.at(r, at) > x.at(r, best)) best = at;
    }
  return best;
}

// Sizes of several conv layers: CNNMnist's two, the FedAvg paper's two (padding 2), and odd ones that
// exercise the tiling's remainders, 1×1 kernels, padding beyond kernel − 1 and a kernel wider than the
// unpadded input.
const std::vector<Conv2dShape> kConvShapes = {
    {1, 10, 28, 28, 5, 0}, {10, 20, 12, 12, 5, 0}, {1, 32, 28, 28, 5, 2}, {32, 64, 14, 14, 5, 2}, {3, 7, 9, 11, 3, 1},
    {2, 5, 6, 5, 1, 0},    {4, 13, 5, 7, 3, 3},    {1, 2, 3, 3, 5, 1},    {17, 3, 6, 6, 2, 0},
};

std::string describe(const Conv2dShape& s) {
  return std::to_string(s.in_channels) + "->" + std::to_string(s.out_channels) + " channels, " +
         std::to_string(s.height) + "x" + std::to_string(s.width) + ", kernel " + std::to_string(s.kernel) +
         ", padding " + std::to_string(s.padding);
}

// Images per item: small for the big shapes, so the naive references stay fast.
std::vector<std::int64_t> batch_rows(const Conv2dShape& s) {
  if (s.in_features() * s.out_channels > 100000) return {2, 1};
  return {3, 1, 10};
}

// Tolerance for a float sum of `terms` products of values in [-1, 1] against its double reference.
double sum_atol(double terms) { return 1e-6 * terms + 1e-5; }

// Every image op on fixed inputs, items of different row counts (some spanning several row blocks),
// large enough to be spread over threads; returns every output. groups: items per call.
std::vector<float> run_image_ops(Backend& be, const std::vector<std::size_t>& groups) {
  const Conv2dShape cs{3, 16, 10, 8, 3, 1};
  const Pool2dShape ps{16, 10, 8, 2};
  const std::vector<std::int64_t> rows = {1, 9, 17, 3, 12};
  dtsim::Rng rng(42, "image-determinism");
  std::vector<Images> x, y, dy, dx, pooled, dpool, dpooled;
  std::vector<std::vector<float>> w, g;
  std::vector<std::uint64_t> keys;
  for (std::int64_t b : rows) {
    x.emplace_back(b, cs.in_features(), 1, rng);
    y.emplace_back(b, cs.out_features(), 2, rng);
    dy.emplace_back(b, cs.out_features(), 0, rng);
    dx.emplace_back(b, cs.in_features(), 1, rng);
    pooled.emplace_back(b, ps.out_features(), 1, rng);
    dpool.emplace_back(b, ps.out_features(), 0, rng);
    dpooled.emplace_back(b, ps.in_features(), 3, rng);
    w.push_back(random_floats(cs.parameter_count(), rng, 0.5f));
    g.push_back(random_floats(cs.parameter_count(), rng));
    keys.push_back(rng.next_u64());
  }
  std::size_t first = 0;
  for (std::size_t count : groups) {
    std::vector<ConstMatView> xv, yc, dyv, dpv;
    std::vector<MatView> yv, dxv, pv, dpdv;
    std::vector<const float*> wv;
    std::vector<float*> gv;
    for (std::size_t i = first; i < first + count; ++i) {
      xv.push_back(x[i].cview());
      yv.push_back(y[i].view());
      yc.push_back(y[i].cview());
      dyv.push_back(dy[i].cview());
      dxv.push_back(dx[i].view());
      pv.push_back(pooled[i].view());
      dpv.push_back(dpool[i].cview());
      dpdv.push_back(dpooled[i].view());
      wv.push_back(w[i].data());
      gv.push_back(g[i].data());
    }
    const auto key_span = std::span(keys).subspan(first, count);
    be.conv2d(cs, xv, wv, yv);
    be.dropout(0.3f, 1, key_span, yv);
    be.max_pool2d(ps, yc, pv);
    be.relu(pv);
    be.max_pool2d_backward(ps, yc, dpv, dpdv);
    be.dropout(0.5f, cs.out_height() * cs.out_width(), key_span, dpdv);
    be.conv2d_backward_input(cs, dyv, wv, dxv);
    be.conv2d_backward_params(cs, xv, dyv, -0.1f, gv);
    first += count;
  }
  std::vector<float> out;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    for (const Images* m : {&y[i], &dx[i], &pooled[i], &dpooled[i]}) {
      const auto d = m->dense();
      out.insert(out.end(), d.begin(), d.end());
    }
    out.insert(out.end(), g[i].begin(), g[i].end());
  }
  return out;
}

}  // namespace

TEST_SUITE("kernels") {
  TEST_CASE("cpu conv2d: matches a naive loop for several channel counts, kernels and paddings, ld > cols") {
    auto be = make_cpu_backend(2);
    for (const Conv2dShape& s : kConvShapes) {
      dtsim::Rng rng(11, "conv-forward", s.in_channels, s.out_channels, s.height);
      std::vector<Images> x, y;
      for (std::int64_t b : batch_rows(s)) {
        x.emplace_back(b, s.in_features(), b % 3, rng);
        y.emplace_back(b, s.out_features(), 1 + b % 2, rng);
      }
      const auto w = random_floats(s.parameter_count(), rng);
      std::vector<ConstMatView> xv;
      std::vector<MatView> yv;
      std::vector<const float*> wv;
      for (std::size_t i = 0; i < x.size(); ++i) {
        xv.push_back(x[i].cview());
        yv.push_back(y[i].view());
        wv.push_back(w.data());
      }

      be->conv2d(s, xv, wv, yv);

      for (std::size_t i = 0; i < x.size(); ++i) {
        INFO(describe(s) << ", item " << i);
        const double terms = static_cast<double>(s.in_channels * s.kernel * s.kernel);
        const auto diff = compare_close<float, double>(y[i].dense(), conv_ref<double>(s, x[i], w), sum_atol(terms),
                                                       1e-5, s.out_features());
        CHECK_MESSAGE(diff.empty(), diff);
        CHECK(y[i].padding_intact());
      }
    }
  }

  // The kernel's contract (image_ops.cpp): an output is one float FMA chain from its bias over (c, ky, kx),
  // padding zeros included, so its bits depend on the operands only, never on the tile sizes (which
  // differ between the AVX-512, AVX2 and portable paths).
  TEST_CASE("cpu conv2d: every output is the float FMA chain from its bias over (c, ky, kx), bit for bit") {
    auto be = make_cpu_backend(1);
    for (const Conv2dShape& s : kConvShapes) {
      dtsim::Rng rng(17, "conv-forward-bits", s.in_channels, s.out_channels, s.height);
      Images x(batch_rows(s).front(), s.in_features(), 0, rng), y(x.rows, s.out_features(), 0, rng);
      const auto w = random_floats(s.parameter_count(), rng);
      const ConstMatView xv = x.cview();
      const MatView yv = y.view();
      const float* wp = w.data();

      be->conv2d(s, one(xv), one(wp), one(yv));

      INFO(describe(s));
      const auto diff = compare_bits(y.dense(), conv_ref<float>(s, x, w), s.out_features());
      CHECK_MESSAGE(diff.empty(), diff);
    }
  }

  TEST_CASE("cpu conv2d_backward_input: matches the transposed convolution, dx overwritten") {
    auto be = make_cpu_backend(2);
    for (const Conv2dShape& s : kConvShapes) {
      dtsim::Rng rng(12, "conv-backward-input", s.in_channels, s.out_channels, s.height);
      std::vector<Images> dy, dx;
      for (std::int64_t b : batch_rows(s)) {
        dy.emplace_back(b, s.out_features(), b % 2, rng);
        dx.emplace_back(b, s.in_features(), 1, rng);  // garbage to overwrite
      }
      const auto w = random_floats(s.parameter_count(), rng);
      std::vector<ConstMatView> dyv;
      std::vector<MatView> dxv;
      std::vector<const float*> wv;
      for (std::size_t i = 0; i < dy.size(); ++i) {
        dyv.push_back(dy[i].cview());
        dxv.push_back(dx[i].view());
        wv.push_back(w.data());
      }

      be->conv2d_backward_input(s, dyv, wv, dxv);

      for (std::size_t i = 0; i < dy.size(); ++i) {
        INFO(describe(s) << ", item " << i);
        const auto diff = compare_close<float, double>(
            dx[i].dense(), conv_backward_input_ref(s, dy[i], w),
            sum_atol(static_cast<double>(s.out_channels * s.kernel * s.kernel)), 1e-5, s.in_features());
        CHECK_MESSAGE(diff.empty(), diff);
        CHECK(dx[i].padding_intact());
      }
    }
  }

  TEST_CASE("cpu conv2d_backward_params: adds alpha times the filter and bias gradients summed over the images") {
    auto be = make_cpu_backend(2);
    for (const Conv2dShape& s : kConvShapes) {
      dtsim::Rng rng(13, "conv-backward-params", s.in_channels, s.out_channels, s.height);
      std::vector<Images> x, dy;
      std::vector<std::vector<float>> g;
      for (std::int64_t b : batch_rows(s)) {
        x.emplace_back(b, s.in_features(), 1, rng);
        dy.emplace_back(b, s.out_features(), b % 2, rng);
        g.push_back(random_floats(s.parameter_count(), rng));
      }
      const auto g0 = g;
      std::vector<ConstMatView> xv, dyv;
      std::vector<float*> gv;
      for (std::size_t i = 0; i < x.size(); ++i) {
        xv.push_back(x[i].cview());
        dyv.push_back(dy[i].cview());
        gv.push_back(g[i].data());
      }
      const float alpha = -0.3f;

      be->conv2d_backward_params(s, xv, dyv, alpha, gv);

      for (std::size_t i = 0; i < x.size(); ++i) {
        INFO(describe(s) << ", item " << i << " (" << x[i].rows << " images)");
        auto expected = conv_backward_params_ref(s, x[i], dy[i]);
        for (std::size_t j = 0; j < expected.size(); ++j) expected[j] = g0[i][j] + alpha * expected[j];
        const double terms = static_cast<double>(x[i].rows * s.out_height() * s.out_width());
        const auto diff = compare_close<float, double>(g[i], expected, sum_atol(terms), 1e-5);
        CHECK_MESSAGE(diff.empty(), diff);
      }
    }
  }

  TEST_CASE("cpu conv2d backward passes: agree with central differences of the forward pass") {
    auto be = make_cpu_backend(1);
    for (const Conv2dShape& s : {Conv2dShape{10, 20, 12, 12, 5, 0}, Conv2dShape{3, 4, 7, 6, 3, 2}}) {
      for (std::uint64_t seed : kSeeds) {
        INFO(describe(s) << ", seed " << seed);
        dtsim::Rng rng(seed, "conv-finite-differences");
        Images x(2, s.in_features(), 0, rng), dy(2, s.out_features(), 0, rng), y(2, s.out_features(), 0, rng);
        std::vector<float> w = random_floats(s.parameter_count(), rng, 0.5f);
        // L = Σ dy·y in double: linear in x and in w, so central differences are exact but for rounding.
        auto loss = [&] {
          be->conv2d(s, one(x.cview()), one<const float*>(w.data()), one(y.view()));
          double l = 0;
          for (std::size_t j = 0; j < y.data.size(); ++j) l += static_cast<double>(dy.data[j]) * y.data[j];
          return l;
        };
        Images dx(2, s.in_features(), 0, rng);
        std::vector<float> g(w.size(), 0.0f);
        be->conv2d_backward_input(s, one(dy.cview()), one<const float*>(w.data()), one(dx.view()));
        be->conv2d_backward_params(s, one(x.cview()), one(dy.cview()), 1.0f, one(g.data()));
        constexpr float kStep = 0.25f;
        for (int t = 0; t < 20; ++t) {
          float& xi = x.data[rng.below(x.data.size())];
          const float x0 = xi;
          xi = x0 + kStep;
          const double up = loss();
          xi = x0 - kStep;
          const double down = loss();
          xi = x0;
          const double fd = (up - down) / (2 * kStep);
          CHECK(dx.data[static_cast<std::size_t>(&xi - x.data.data())] == doctest::Approx(fd).epsilon(1e-3).scale(1));
        }
        for (int t = 0; t < 20; ++t) {
          const std::size_t j = t == 0 ? w.size() - 1 : rng.below(w.size());  // a bias, then filters
          const float w0 = w[j];
          w[j] = w0 + kStep;
          const double up = loss();
          w[j] = w0 - kStep;
          const double down = loss();
          w[j] = w0;
          CHECK(g[j] == doctest::Approx((up - down) / (2 * kStep)).epsilon(1e-3).scale(1));
        }
      }
    }
  }

  TEST_CASE("cpu max_pool2d: takes each tile's first maximum, for windows 2 and 3 and ragged items") {
    auto be = make_cpu_backend(2);
    for (const Pool2dShape& s : {Pool2dShape{10, 24, 24, 2}, Pool2dShape{3, 6, 9, 3}, Pool2dShape{2, 4, 4, 1}}) {
      dtsim::Rng rng(14, "max-pool", s.channels, s.window);
      std::vector<Images> x, y;
      for (std::int64_t b : {3, 1, 12}) {
        // Values on a coarse grid, so that tiles often hold ties and the first maximum matters.
        x.emplace_back(b, s.in_features(), 2, rng);
        for (float& v : x.back().data)
          if (!std::isnan(v)) v = std::round(v * 3) / 3;
        y.emplace_back(b, s.out_features(), 1, rng);
      }
      std::vector<ConstMatView> xv;
      std::vector<MatView> yv;
      for (std::size_t i = 0; i < x.size(); ++i) {
        xv.push_back(x[i].cview());
        yv.push_back(y[i].view());
      }

      be->max_pool2d(s, xv, yv);

      for (std::size_t i = 0; i < x.size(); ++i) {
        INFO("window " << s.window << ", item " << i);
        std::vector<float> expected;
        for (std::int64_t r = 0; r < x[i].rows; ++r)
          for (std::int64_t c = 0; c < s.channels; ++c)
            for (std::int64_t ty = 0; ty < s.out_height(); ++ty)
              for (std::int64_t tx = 0; tx < s.out_width(); ++tx)
                expected.push_back(x[i].at(r, pool_pick(s, x[i], r, c, ty, tx)));
        const auto diff = compare_bits(y[i].dense(), expected, s.out_features());
        CHECK_MESSAGE(diff.empty(), diff);
        CHECK(y[i].padding_intact());
      }
    }
  }

  TEST_CASE("cpu max_pool2d_backward: routes each gradient to the first maximum of its tile, zero elsewhere") {
    auto be = make_cpu_backend(2);
    for (const Pool2dShape& s : {Pool2dShape{10, 24, 24, 2}, Pool2dShape{20, 8, 8, 2}, Pool2dShape{3, 6, 9, 3}}) {
      dtsim::Rng rng(15, "max-pool-backward", s.channels, s.window);
      std::vector<Images> x, dy, dx;
      for (std::int64_t b : {3, 1, 12}) {
        x.emplace_back(b, s.in_features(), 1, rng);
        for (float& v : x.back().data)
          if (!std::isnan(v)) v = std::round(v * 3) / 3;  // ties
        dy.emplace_back(b, s.out_features(), 2, rng);
        dx.emplace_back(b, s.in_features(), 1, rng);  // garbage to overwrite
      }
      std::vector<ConstMatView> xv, dyv;
      std::vector<MatView> dxv;
      for (std::size_t i = 0; i < x.size(); ++i) {
        xv.push_back(x[i].cview());
        dyv.push_back(dy[i].cview());
        dxv.push_back(dx[i].view());
      }

      be->max_pool2d_backward(s, xv, dyv, dxv);

      for (std::size_t i = 0; i < x.size(); ++i) {
        INFO("window " << s.window << ", item " << i);
        std::vector<float> expected(static_cast<std::size_t>(x[i].rows * s.in_features()), 0.0f);
        for (std::int64_t r = 0; r < x[i].rows; ++r)
          for (std::int64_t c = 0; c < s.channels; ++c)
            for (std::int64_t ty = 0; ty < s.out_height(); ++ty)
              for (std::int64_t tx = 0; tx < s.out_width(); ++tx)
                expected[static_cast<std::size_t>(r * s.in_features() + pool_pick(s, x[i], r, c, ty, tx))] =
                    dy[i].at(r, (c * s.out_height() + ty) * s.out_width() + tx);
        const auto diff = compare_bits(dx[i].dense(), expected, s.in_features());
        CHECK_MESSAGE(diff.empty(), diff);
        CHECK(dx[i].padding_intact());
      }
    }
  }

  TEST_CASE("cpu max_pool2d_backward: agrees with central differences of max_pool2d") {
    auto be = make_cpu_backend(1);
    const Pool2dShape s{4, 6, 8, 2};
    for (std::uint64_t seed : kSeeds) {
      INFO("seed " << seed);
      dtsim::Rng rng(seed, "max-pool-finite-differences");
      // Distinct values 1e-3 apart, so a step of 2e-4 never changes which element is the maximum.
      const std::int64_t n = 2 * s.in_features();
      std::vector<std::int64_t> order(static_cast<std::size_t>(n));
      std::iota(order.begin(), order.end(), 0);
      for (std::size_t j = order.size(); j > 1; --j) std::swap(order[j - 1], order[rng.below(j)]);
      Images x(2, s.in_features(), 0, rng), dy(2, s.out_features(), 0, rng), y(2, s.out_features(), 0, rng);
      for (std::size_t j = 0; j < order.size(); ++j) x.data[j] = static_cast<float>(order[j] - n / 2) * 1e-3f;
      Images dx(2, s.in_features(), 0, rng);
      be->max_pool2d_backward(s, one(x.cview()), one(dy.cview()), one(dx.view()));
      auto loss = [&] {
        be->max_pool2d(s, one(x.cview()), one(y.view()));
        double l = 0;
        for (std::size_t j = 0; j < y.data.size(); ++j) l += static_cast<double>(dy.data[j]) * y.data[j];
        return l;
      };
      constexpr float kStep = 2e-4f;
      for (std::size_t j = 0; j < x.data.size(); ++j) {
        const float x0 = x.data[j];
        x.data[j] = x0 + kStep;
        const double up = loss();
        x.data[j] = x0 - kStep;
        const double down = loss();
        x.data[j] = x0;
        const double fd = (up - down) / (static_cast<double>(x0 + kStep) - static_cast<double>(x0 - kStep));
        INFO("element " << j);
        CHECK(dx.data[j] == doctest::Approx(fd).epsilon(1e-3).scale(1));
      }
    }
  }

  TEST_CASE("cpu relu: clamps negatives to zero in place and leaves the padding alone") {
    auto be = make_cpu_backend(2);
    dtsim::Rng rng(16, "relu");
    std::vector<Images> x;
    for (std::int64_t b : {1, 7, 300}) x.emplace_back(b, 37, b % 3, rng);
    std::vector<std::vector<float>> expected;
    for (const auto& m : x) {
      expected.push_back(m.dense());
      for (float& v : expected.back()) v = v > 0 ? v : 0;
    }
    std::vector<MatView> xv;
    for (auto& m : x) xv.push_back(m.view());

    be->relu(xv);

    for (std::size_t i = 0; i < x.size(); ++i) {
      const auto diff = compare_bits(x[i].dense(), expected[i], 37);
      CHECK_MESSAGE(diff.empty(), diff);
      CHECK(x[i].padding_intact());
    }
  }

  TEST_CASE("dropout_uniform: a multiple of 2^-53 in [0, 1) that changes with key, row and unit") {
    double sum = 0;
    int equal_neighbours = 0;
    constexpr int kDraws = 100000;
    for (int j = 0; j < kDraws; ++j) {
      const double u = contract::dropout_uniform(7, j / 100, j % 100);
      CHECK((u >= 0 && u < 1));
      CHECK(std::ldexp(u, 53) == std::floor(std::ldexp(u, 53)));
      sum += u;
      equal_neighbours += u == contract::dropout_uniform(8, j / 100, j % 100) ? 1 : 0;
      equal_neighbours += u == contract::dropout_uniform(7, j / 100 + 1, j % 100) ? 1 : 0;
      equal_neighbours += u == contract::dropout_uniform(7, j / 100, j % 100 + 1) ? 1 : 0;
    }
    CHECK(sum / kDraws == doctest::Approx(0.5).epsilon(0.01));
    CHECK(equal_neighbours == 0);
    CHECK(contract::dropout_uniform(7, 3, 4) == contract::dropout_unit_uniform(contract::dropout_row_state(7, 3), 4));
  }

  TEST_CASE("cpu dropout: keeps a unit when dropout_uniform >= p and scales it by 1/(1 - p), else zeroes it") {
    auto be = make_cpu_backend(2);
    for (float p : {0.1f, 0.5f, 0.9f}) {
      for (std::int64_t group : {1, 64}) {
        INFO("p " << p << ", group " << group);
        dtsim::Rng rng(17, "dropout");
        Images x(500, 20 * 64, 3, rng, 0.5f, 1.5f);  // no zeros, so a zero means dropped
        const Images x0 = x;
        const std::uint64_t key = 0x1234567890abcdefULL;

        be->dropout(p, group, one(key), one(x.view()));

        const float scale = 1.0f / (1.0f - p);
        std::int64_t kept = 0, wrong = 0;
        for (std::int64_t r = 0; r < x.rows; ++r)
          for (std::int64_t c = 0; c < x.cols; ++c) {
            const bool keep = contract::dropout_uniform(key, r, c / group) >= static_cast<double>(p);
            kept += keep ? 1 : 0;
            wrong += x.at(r, c) == (keep ? x0.at(r, c) * scale : 0.0f) ? 0 : 1;
          }
        CHECK(wrong == 0);
        CHECK(x.padding_intact());
        // Whole units are kept or dropped; the kept fraction is 1 − p within 5 standard deviations.
        const double units = static_cast<double>(x.rows * x.cols / group);
        const double rate = static_cast<double>(kept) / static_cast<double>(x.rows * x.cols);
        CHECK(std::abs(rate - (1 - p)) <= 5 * std::sqrt(p * (1 - p) / units));
      }
    }
  }

  TEST_CASE("cpu dropout: p = 0 is the identity, the same key gives the same mask, another key another") {
    auto be = make_cpu_backend(2);
    dtsim::Rng rng(18, "dropout-keys");
    Images x(40, 300, 1, rng), same(40, 300, 1, rng), other(40, 300, 1, rng);
    same.data = x.data;
    other.data = x.data;
    const auto before = x.dense();

    be->dropout(0.0f, 1, one(std::uint64_t{5}), one(x.view()));
    const auto identity = compare_bits(x.dense(), before, 300);
    be->dropout(0.5f, 1, one(std::uint64_t{5}), one(x.view()));
    be->dropout(0.5f, 1, one(std::uint64_t{5}), one(same.view()));
    be->dropout(0.5f, 1, one(std::uint64_t{6}), one(other.view()));

    CHECK_MESSAGE(identity.empty(), identity);
    const auto diff = compare_bits(same.dense(), x.dense(), 300);
    CHECK_MESSAGE(diff.empty(), diff);
    CHECK_FALSE(compare_bits(other.dense(), x.dense(), 300).empty());
  }

  TEST_CASE("cpu dropout: group = H·W drops whole channels, and its backward pass agrees with central differences") {
    auto be = make_cpu_backend(1);
    constexpr std::int64_t kChannels = 20, kPlane = 64;
    dtsim::Rng rng(19, "dropout2d");
    Images x(10, kChannels * kPlane, 0, rng, 0.5f, 1.5f), dy(10, kChannels * kPlane, 0, rng);
    const Images x0 = x;
    const std::uint64_t key = 99;

    be->dropout(0.5f, kPlane, one(key), one(x.view()));
    Images dx = dy;
    be->dropout(0.5f, kPlane, one(key), one(dx.view()));  // the backward pass: the same op, the same key

    std::int64_t mixed = 0, dropped = 0;
    for (std::int64_t r = 0; r < x.rows; ++r)
      for (std::int64_t ch = 0; ch < kChannels; ++ch) {
        std::int64_t zeros = 0;
        for (std::int64_t j = 0; j < kPlane; ++j) zeros += x.at(r, ch * kPlane + j) == 0.0f ? 1 : 0;
        mixed += zeros != 0 && zeros != kPlane ? 1 : 0;
        dropped += zeros == kPlane ? 1 : 0;
      }
    CHECK(mixed == 0);
    CHECK(dropped > 0);
    CHECK(dropped < x.rows * kChannels);
    // L(x) = Σ dy·dropout(x) is linear in x, so ∂L/∂x is exactly the central difference.
    for (int t = 0; t < 50; ++t) {
      const std::size_t j = rng.below(x.data.size());
      Images up = x0, down = x0;
      up.data[j] += 0.5f;
      down.data[j] -= 0.5f;
      be->dropout(0.5f, kPlane, one(key), one(up.view()));
      be->dropout(0.5f, kPlane, one(key), one(down.view()));
      const double fd = (static_cast<double>(up.data[j]) - down.data[j]) * dy.data[j];
      CHECK(dx.data[j] == doctest::Approx(fd).epsilon(1e-6));
    }
  }

  TEST_CASE("cpu image ops: bit-identical for 1, 2 and 3 threads, any grouping of items, and inside for_each_item") {
    auto one_thread = make_cpu_backend(1);
    auto two = make_cpu_backend(2);
    auto three = make_cpu_backend(3);

    const auto reference = run_image_ops(*one_thread, {5});
    const auto two_threads = run_image_ops(*two, {5});
    const auto three_threads = run_image_ops(*three, {5});
    const auto one_per_call = run_image_ops(*two, {1, 1, 1, 1, 1});
    const auto uneven = run_image_ops(*three, {2, 3});
    std::vector<std::vector<float>> lanes(3);
    three->for_each_item(3,
                         [&](std::int64_t i, int) { lanes[static_cast<std::size_t>(i)] = run_image_ops(*three, {5}); });

    for (const std::vector<float>* got : std::initializer_list<const std::vector<float>*>{
             &two_threads, &three_threads, &one_per_call, &uneven, &lanes[0], &lanes[1], &lanes[2]}) {
      const auto diff = compare_bits(*got, reference);
      CHECK_MESSAGE(diff.empty(), diff);
    }
  }

  TEST_CASE("cpu image ops: report the modelled cost from the shapes") {
    auto be = make_cpu_backend(1);
    const Conv2dShape s{10, 20, 12, 12, 5, 0};
    const Pool2dShape ps{20, 8, 8, 2};
    constexpr std::int64_t b = 3;
    std::vector<float> x(b * s.in_features()), y(b * s.out_features()), w(s.parameter_count()),
        pooled(b * ps.out_features());
    const ConstMatView xv(x.data(), b, s.in_features(), s.in_features()),
        yc(y.data(), b, s.out_features(), s.out_features());
    const MatView yv{y.data(), b, s.out_features(), s.out_features()},
        xm{x.data(), b, s.in_features(), s.in_features()};
    const MatView pv{pooled.data(), b, ps.out_features(), ps.out_features()};
    const ConstMatView pc(pv);

    const Cost fwd = be->conv2d(s, one(xv), one<const float*>(w.data()), one(yv));
    const Cost bwd_in = be->conv2d_backward_input(s, one(yc), one<const float*>(w.data()), one(xm));
    const Cost bwd_params = be->conv2d_backward_params(s, one(xv), one(yc), 0.0f, one(w.data()));
    const Cost pool = be->max_pool2d(ps, one(yc), one(pv));
    const Cost pool_bwd = be->max_pool2d_backward(ps, one(yc), one(pc), one(yv));
    const Cost relu = be->relu(one(pv));
    const Cost drop = be->dropout(0.5f, 16, one(std::uint64_t{1}), one(pv));

    const double macs = 20.0 * 8 * 8 * 10 * 5 * 5;  // per image
    CHECK(fwd.flops == b * (2 * macs + 20 * 8 * 8));
    CHECK(fwd.bytes == 4.0 * (b * (1440 + 1280) + 5020));
    CHECK(bwd_in.flops == b * 2 * macs);
    CHECK(bwd_in.bytes == 4.0 * (b * (1280 + 1440) + 5000));
    CHECK(bwd_params.flops == b * (2 * macs + 20 * 8 * 8));
    CHECK(bwd_params.bytes == 4.0 * (b * (1440 + 1280) + 2 * 5020));
    CHECK(pool.flops == b * 1280.0);
    CHECK(pool.bytes == 4.0 * b * (1280 + 320));
    CHECK(pool_bwd.flops == b * 1280.0);
    CHECK(pool_bwd.bytes == 4.0 * b * (2 * 1280 + 320));
    CHECK(relu.flops == b * 320.0);
    CHECK(relu.bytes == 8.0 * b * 320);
    CHECK(drop.flops == b * 320.0);
    CHECK(drop.bytes == 8.0 * b * 320);
  }

  TEST_CASE("cpu image ops: reject mismatched shapes, item counts, null pointers and bad parameters, naming the item") {
    auto be = make_cpu_backend(2);
    const Conv2dShape s{1, 2, 4, 4, 3, 0};  // 16 features in, 2·2·2 = 8 out, 2·9 + 2 = 20 parameters
    std::vector<float> buf(400, 1.0f);
    const ConstMatView x(buf.data(), 2, 16, 16), short_x(buf.data(), 2, 15, 15);
    const MatView y{buf.data() + 100, 2, 8, 8}, tall_y{buf.data() + 100, 3, 8, 8};
    const float* w = buf.data() + 200;
    float* g = buf.data() + 300;
    const std::vector<ConstMatView> xs = {x, x}, mixed = {x, short_x};
    const std::vector<MatView> ys = {y, y};
    const std::vector<const float*> ws = {w, nullptr};
    const std::vector<float*> gs = {g, nullptr};
    const ConstMatView yc(y);
    const std::vector<ConstMatView> ycs = {yc, yc};

    CHECK_THROWS_WITH_AS(be->conv2d(s, mixed, std::vector<const float*>{w, w}, ys),
                         doctest::Contains("conv2d: item 1: x is 2x15, expected 2x16"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(be->conv2d(s, one(x), one(w), one(tall_y)), doctest::Contains("y is 3x8, expected 2x8"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(be->conv2d(s, xs, ws, ys), doctest::Contains("item 1: w is null"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(be->conv2d(s, xs, one(w), ys), doctest::Contains("w has 1 items, expected 2"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(be->conv2d(Conv2dShape{1, 2, 4, 4, 7, 1}, one(x), one(w), one(y)),
                         doctest::Contains("kernel 7 is larger than the padded input 6x6"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(be->conv2d(Conv2dShape{0, 2, 4, 4, 3, 0}, one(x), one(w), one(y)),
                         doctest::Contains("bad shape"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(
        be->conv2d_backward_input(s, ycs, ws,
                                  std::vector<MatView>{MatView{buf.data(), 2, 16, 16}, MatView{buf.data(), 2, 16, 16}}),
        doctest::Contains("conv2d_backward_input: item 1: w is null"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(
        be->conv2d_backward_input(s, one(ConstMatView(x)), one(w), one(MatView{buf.data(), 2, 16, 16})),
        doctest::Contains("dy is 2x16, expected 2x8"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(be->conv2d_backward_params(s, xs, ycs, -0.1f, gs),
                         doctest::Contains("conv2d_backward_params: item 1: g is null"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(be->conv2d_backward_params(s, one(x), one(ConstMatView(buf.data(), 1, 8, 8)), -0.1f, one(g)),
                         doctest::Contains("dy is 1x8, expected 2x8"), std::invalid_argument);

    // An item without images may have null parameters.
    const std::vector<ConstMatView> empty = {ConstMatView(nullptr, 0, 16, 16)},
                                    empty_dy = {ConstMatView(nullptr, 0, 8, 8)};
    CHECK_NOTHROW(be->conv2d(s, empty, one<const float*>(nullptr), one(MatView{nullptr, 0, 8, 8})));
    CHECK_NOTHROW(be->conv2d_backward_input(s, empty_dy, one<const float*>(nullptr), one(MatView{nullptr, 0, 16, 16})));
    CHECK_NOTHROW(be->conv2d_backward_params(s, empty, empty_dy, -0.1f, one<float*>(nullptr)));

    const Pool2dShape ps{1, 4, 4, 2};
    const MatView pooled{buf.data() + 100, 2, 4, 4};
    CHECK_THROWS_WITH_AS(be->max_pool2d(Pool2dShape{1, 4, 4, 3}, one(x), one(pooled)),
                         doctest::Contains("max_pool2d: input 4x4 is not divisible by the window 3"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(be->max_pool2d(ps, one(x), one(MatView{buf.data() + 100, 2, 5, 5})),
                         doctest::Contains("item 0: y is 2x5, expected 2x4"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(be->max_pool2d(ps, xs, one(pooled)), doctest::Contains("y has 1 items, expected 2"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(
        be->max_pool2d_backward(ps, one(x), one(ConstMatView(pooled)), one(MatView{buf.data(), 2, 15, 15})),
        doctest::Contains("max_pool2d_backward: item 0: dx is 2x15, expected 2x16"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(be->relu(one(MatView{buf.data(), 2, 4, 3})),
                         doctest::Contains("relu: item 0: x has ld 3 < cols 4"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(be->relu(one(MatView{nullptr, 2, 4, 4})), doctest::Contains("is 2x4 but null"),
                         std::invalid_argument);

    const MatView d{buf.data(), 2, 12, 12};
    for (float bad : {1.0f, -0.1f, kNaN}) {
      CHECK_THROWS_WITH_AS(be->dropout(bad, 1, one(std::uint64_t{1}), one(d)), doctest::Contains("is outside [0, 1)"),
                           std::invalid_argument);
    }
    CHECK_THROWS_WITH_AS(be->dropout(0.5f, 5, one(std::uint64_t{1}), one(d)),
                         doctest::Contains("dropout: item 0: x has 12 columns, not a multiple of the group 5"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(be->dropout(0.5f, 0, one(std::uint64_t{1}), one(d)), doctest::Contains("group 0 is < 1"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(be->dropout(0.5f, 1, std::vector<std::uint64_t>{1, 2}, one(d)),
                         doctest::Contains("keys has 2 items, expected 1"), std::invalid_argument);
  }
}
