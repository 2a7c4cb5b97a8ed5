// The CPU backend against naive double-precision references, its determinism across threads and item
// groupings, its cost model and its argument checks.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/backend.hpp"
#include "kernels/cpu/thread_pool.hpp"
#include "sim/common/rng.hpp"
#include "tests/unit/kernels/host_mat.hpp"
#include "tests/unit/kernels/tensor_compare.hpp"

namespace {

using namespace dtsim::kernels;
using dtsim::test::compare_bits;
using dtsim::test::compare_close;
using dtsim::test::HostMat;

constexpr std::uint64_t kSeeds[] = {1, 2, 3};
const float kNaN = std::numeric_limits<float>::quiet_NaN();

double op_at(const HostMat& m, Trans t, std::int64_t r, std::int64_t c) {
  return t == Trans::no ? m.at(r, c) : m.at(c, r);
}

struct GemmShape {
  std::int64_t m, n, k, pad;
};

// The four transpose combinations × several (alpha, beta) × ragged items with padded strides.
void check_gemm(Backend& be, Trans ta, Trans tb, float alpha, float beta, std::uint64_t seed) {
  // Minibatch shapes too: 10 rows times a weight matrix (ragged 16-column panels), and a depth-10 weight
  // gradient, which the register-tiled kernel computes instead of Eigen.
  const std::vector<GemmShape> shapes = {{1, 1, 1, 0},   {5, 7, 3, 2},   {17, 33, 65, 3}, {4, 3, 0, 1},
                                         {64, 40, 50, 0}, {10, 70, 100, 1}, {90, 50, 10, 2}};
  dtsim::Rng rng(seed, "gemm-test");
  std::vector<HostMat> a, b, c;
  for (const auto& s : shapes) {
    a.emplace_back(ta == Trans::no ? s.m : s.k, ta == Trans::no ? s.k : s.m, s.pad, rng);
    b.emplace_back(tb == Trans::no ? s.k : s.n, tb == Trans::no ? s.n : s.k, s.pad + 1, rng);
    c.emplace_back(s.m, s.n, s.pad, rng);
    if (beta == 0.0f) std::fill(c.back().data.begin(), c.back().data.end(), kNaN);  // beta = 0 must not read C
  }
  std::vector<std::vector<double>> expected;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const auto& s = shapes[i];
    std::vector<double> e;
    for (std::int64_t r = 0; r < s.m; ++r) {
      for (std::int64_t col = 0; col < s.n; ++col) {
        double acc = 0;
        for (std::int64_t k = 0; k < s.k; ++k) acc += op_at(a[i], ta, r, k) * op_at(b[i], tb, k, col);
        e.push_back(alpha * acc + (beta == 0.0f ? 0.0 : beta * static_cast<double>(c[i].at(r, col))));
      }
    }
    expected.push_back(std::move(e));
  }
  std::vector<ConstMatView> av, bv;
  std::vector<MatView> cv;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    av.push_back(a[i].cview());
    bv.push_back(b[i].cview());
    cv.push_back(c[i].view());
  }

  be.gemm(ta, tb, alpha, av, bv, beta, cv);

  for (std::size_t i = 0; i < shapes.size(); ++i) {
    INFO("seed " << seed << ", ta " << (ta == Trans::yes) << ", tb " << (tb == Trans::yes) << ", alpha " << alpha
                 << ", beta " << beta << ", item " << i << " (m " << shapes[i].m << ", n " << shapes[i].n << ", k "
                 << shapes[i].k << ")");
    const auto got = c[i].dense();
    const auto diff = compare_close<float, double>(got, expected[i], 1e-5, 1e-5, shapes[i].n);
    CHECK_MESSAGE(diff.empty(), diff);
    CHECK(c[i].padding_intact());
  }
}

std::vector<double> softmax_ref(const HostMat& z, const std::vector<std::int32_t>& labels, float scale, double& loss,
                                std::int64_t& hits) {
  std::vector<double> grad;
  for (std::int64_t r = 0; r < z.rows; ++r) {
    double mx = z.at(r, 0);
    std::int64_t arg = 0;
    for (std::int64_t c = 1; c < z.cols; ++c) {
      if (z.at(r, c) > mx) {
        mx = z.at(r, c);
        arg = c;
      }
    }
    double s = 0;
    for (std::int64_t c = 0; c < z.cols; ++c) s += std::exp(z.at(r, c) - mx);
    loss += std::log(s) - (z.at(r, labels[static_cast<std::size_t>(r)]) - mx);
    hits += arg == labels[static_cast<std::size_t>(r)] ? 1 : 0;
    for (std::int64_t c = 0; c < z.cols; ++c) {
      grad.push_back(scale * (std::exp(z.at(r, c) - mx) / s - (c == labels[static_cast<std::size_t>(r)] ? 1 : 0)));
    }
  }
  return grad;
}

// Every operation on fixed inputs large enough to be spread over threads; returns every output value.
// groups: how the items are split into calls (sizes summing to the item count).
std::vector<float> run_every_op(Backend& be, const std::vector<std::size_t>& groups) {
  constexpr std::size_t kItems = 7;
  dtsim::Rng rng(42, "determinism");
  std::vector<HostMat> a, b, c, x, g;
  std::vector<std::vector<float>> bias;
  std::vector<std::vector<std::int32_t>> labels;
  for (std::size_t i = 0; i < kItems; ++i) {
    // Large enough that every operation is spread over the threads rather than run inline.
    const std::int64_t m = 60 + 23 * static_cast<std::int64_t>(i), n = 150 + static_cast<std::int64_t>(i), k = 50;
    a.emplace_back(m, k, 1, rng);
    b.emplace_back(k, n, 0, rng);
    c.emplace_back(m, n, 2, rng);
    x.emplace_back(m, n, 0, rng, -3, 3);
    g.emplace_back(m, n, 1, rng);
    bias.emplace_back();
    for (std::int64_t j = 0; j < n; ++j) bias.back().push_back(static_cast<float>(rng.uniform(-1, 1)));
    labels.emplace_back();
    for (std::int64_t r = 0; r < m; ++r)
      labels.back().push_back(static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(n))));
  }
  HostMat src(300, 200, 3, rng);
  std::vector<HostMat> gathered;
  std::vector<std::vector<std::int32_t>> rows;
  for (std::size_t i = 0; i < kItems; ++i) {
    gathered.emplace_back(10 + static_cast<std::int64_t>(i) * 13, 200, 1, rng);
    rows.emplace_back();
    for (std::int64_t r = 0; r < gathered.back().rows; ++r)
      rows.back().push_back(static_cast<std::int32_t>(rng.below(300)));
  }
  std::vector<std::vector<float>> wx(kItems);
  std::vector<double> w;
  for (auto& v : wx) {
    for (int j = 0; j < 5000; ++j) v.push_back(static_cast<float>(rng.uniform(-1, 1)));
    w.push_back(rng.uniform(0, 2));
  }
  // Parameters and velocities spanning several update blocks, the last one ragged.
  constexpr std::size_t kUpdateN = 40000;
  std::vector<std::vector<float>> up(kItems), uv(kItems);
  for (std::size_t i = 0; i < kItems; ++i) {
    for (std::size_t j = 0; j < kUpdateN; ++j) {
      up[i].push_back(static_cast<float>(rng.uniform(-1, 1)));
      uv[i].push_back(static_cast<float>(rng.uniform(-1, 1)));
    }
  }
  std::vector<double> loss(kItems, 0.5), loss_sq(kItems, 0.25);
  std::vector<std::int64_t> hits(kItems, 0);
  // sgd_step's anchors (FedProx) and corrections (SCAFFOLD); item 1 has no correction.
  std::vector<std::vector<float>> anchor(kItems), corr(kItems);
  for (std::size_t i = 0; i < kItems; ++i) {
    for (std::size_t j = 0; j < kUpdateN; ++j) {
      anchor[i].push_back(static_cast<float>(rng.uniform(-1, 1)));
      corr[i].push_back(static_cast<float>(rng.uniform(-0.1, 0.1)));
    }
  }

  std::size_t first = 0;
  for (std::size_t count : groups) {
    std::vector<ConstMatView> av, bv, gv, xv_const;
    std::vector<MatView> cv, xv, gathered_v;
    std::vector<const float*> bias_c;
    std::vector<float*> bias_m;
    std::vector<const std::int32_t*> lab, idx;
    std::vector<float*> upv, uvv;
    std::vector<const float*> anchor_v, corr_v;
    for (std::size_t i = first; i < first + count; ++i) {
      anchor_v.push_back(anchor[i].data());
      corr_v.push_back(i == 1 ? nullptr : corr[i].data());
      upv.push_back(up[i].data());
      uvv.push_back(uv[i].data());
      av.push_back(a[i].cview());
      bv.push_back(b[i].cview());
      cv.push_back(c[i].view());
      xv.push_back(x[i].view());
      xv_const.push_back(x[i].cview());
      gv.push_back(g[i].cview());
      bias_c.push_back(bias[i].data());
      bias_m.push_back(bias[i].data());
      lab.push_back(labels[i].data());
      idx.push_back(rows[i].data());
      gathered_v.push_back(gathered[i].view());
    }
    be.gemm(Trans::no, Trans::no, 0.5f, av, bv, 1.0f, cv);
    be.bias_activation(Activation::relu, bias_c, xv);
    be.relu_backward(xv_const, cv);
    be.add_column_sums(-0.1f, gv, bias_m);
    be.softmax_xent(xv, lab, true, 0.25f, std::span(loss).subspan(first, count), std::span(loss_sq).subspan(first, count),
                    std::span(hits).subspan(first, count));
    be.gather_rows(src.cview(), idx, gathered_v);
    be.sgd_step(SgdStep{0.05f, 0.9f, 0.01f, 0.0f}, upv, uvv, {}, {}, kUpdateN);
    be.sgd_step(SgdStep{0.05f, 0.5f, 0.0f, 0.1f}, upv, uvv, anchor_v, corr_v, kUpdateN);
    first += count;
  }
  std::vector<float> out(5000);
  std::vector<const float*> wp;
  for (auto& v : wx) wp.push_back(v.data());
  auto acc = be.alloc_doubles(out.size());
  be.weighted_sum(wp, w, out.size(), false, acc.doubles(), out.data());

  for (std::size_t i = 0; i < kItems; ++i) {
    for (const auto* m : {&c[i], &x[i], &gathered[i]}) {
      const auto d = m->dense();
      out.insert(out.end(), d.begin(), d.end());
    }
    out.insert(out.end(), bias[i].begin(), bias[i].end());
    out.insert(out.end(), up[i].begin(), up[i].end());
    out.insert(out.end(), uv[i].begin(), uv[i].end());
    float bits[2];  // every bit of the double loss and of the sum of squares
    std::memcpy(bits, &loss[i], sizeof(double));
    out.insert(out.end(), bits, bits + 2);
    std::memcpy(bits, &loss_sq[i], sizeof(double));
    out.insert(out.end(), bits, bits + 2);
    out.push_back(static_cast<float>(hits[i]));
  }
  return out;
}

}  // namespace

TEST_SUITE("kernels") {
  TEST_CASE("cpu gemm: matches a naive triple loop for every transpose pair, alpha/beta, ragged items and ld > cols") {
    auto be = make_cpu_backend(2);
    for (std::uint64_t seed : kSeeds) {
      for (Trans ta : {Trans::no, Trans::yes}) {
        for (Trans tb : {Trans::no, Trans::yes}) {
          check_gemm(*be, ta, tb, 1.0f, 0.0f, seed);
          check_gemm(*be, ta, tb, -0.5f, 1.0f, seed);
          check_gemm(*be, ta, tb, 2.0f, 0.25f, seed);
        }
      }
    }
  }

  TEST_CASE("cpu bias_activation: adds the bias to every row, then applies the activation") {
    auto be = make_cpu_backend(2);
    for (Activation act : {Activation::none, Activation::relu}) {
      dtsim::Rng rng(7, "bias-test");
      std::vector<HostMat> x;
      std::vector<std::vector<float>> bias;
      for (std::int64_t m : {1, 9, 40}) {
        x.emplace_back(m, 13 + m, m % 3, rng);
        bias.emplace_back();
        for (std::int64_t c = 0; c < 13 + m; ++c) bias.back().push_back(static_cast<float>(rng.uniform(-1, 1)));
      }
      std::vector<std::vector<double>> expected;
      for (std::size_t i = 0; i < x.size(); ++i) {
        std::vector<double> e;
        for (std::int64_t r = 0; r < x[i].rows; ++r)
          for (std::int64_t c = 0; c < x[i].cols; ++c) {
            const double v = static_cast<double>(x[i].at(r, c)) + bias[i][static_cast<std::size_t>(c)];
            e.push_back(act == Activation::relu ? std::max(v, 0.0) : v);
          }
        expected.push_back(e);
      }
      std::vector<MatView> xv;
      std::vector<const float*> bv;
      for (std::size_t i = 0; i < x.size(); ++i) {
        xv.push_back(x[i].view());
        bv.push_back(bias[i].data());
      }

      be->bias_activation(act, bv, xv);

      for (std::size_t i = 0; i < x.size(); ++i) {
        INFO("relu " << (act == Activation::relu) << ", item " << i);
        const auto diff = compare_close<float, double>(x[i].dense(), expected[i], 1e-6, 1e-6, x[i].cols);
        CHECK_MESSAGE(diff.empty(), diff);
        CHECK(x[i].padding_intact());
      }
    }
  }

  TEST_CASE("cpu relu_backward: zeroes the gradient where the activation is not positive") {
    auto be = make_cpu_backend(2);
    dtsim::Rng rng(8, "relu-test");
    std::vector<HostMat> act, grad;
    for (std::int64_t m : {3, 17}) {
      act.emplace_back(m, 11, 2, rng);
      grad.emplace_back(m, 11, 1, rng);
    }
    act[0].at(0, 0) = 0.0f;  // exactly zero counts as inactive
    std::vector<std::vector<float>> expected;
    for (std::size_t i = 0; i < act.size(); ++i) {
      std::vector<float> e;
      for (std::int64_t r = 0; r < act[i].rows; ++r)
        for (std::int64_t c = 0; c < act[i].cols; ++c) e.push_back(act[i].at(r, c) > 0 ? grad[i].at(r, c) : 0.0f);
      expected.push_back(e);
    }
    std::vector<ConstMatView> av = {act[0].cview(), act[1].cview()};
    std::vector<MatView> gv = {grad[0].view(), grad[1].view()};

    be->relu_backward(av, gv);

    for (std::size_t i = 0; i < act.size(); ++i) {
      const auto diff = compare_bits(grad[i].dense(), expected[i], grad[i].cols);
      CHECK_MESSAGE(diff.empty(), diff);
      CHECK(grad[i].padding_intact());
    }
  }

  TEST_CASE("cpu softmax_xent: adds summed loss and argmax hits, and writes the scaled gradient") {
    auto be = make_cpu_backend(2);
    for (std::uint64_t seed : kSeeds) {
      dtsim::Rng rng(seed, "softmax-test");
      std::vector<HostMat> z;
      std::vector<std::vector<std::int32_t>> labels;
      for (std::int64_t m : {1, 6, 33}) {
        z.emplace_back(m, 10, m % 4, rng, -4, 4);
        labels.emplace_back();
        for (std::int64_t r = 0; r < m; ++r) labels.back().push_back(static_cast<std::int32_t>(rng.below(10)));
      }
      // A tie: the first maximum is the prediction.
      z[1].at(0, 2) = 5.0f;
      z[1].at(0, 7) = 5.0f;
      labels[1][0] = 2;
      std::vector<double> loss_ref(3, 1.5), loss(3, 1.5);
      std::vector<std::int64_t> hits_ref(3, 2), hits(3, 2);
      std::vector<std::vector<double>> grad_ref;
      for (std::size_t i = 0; i < z.size(); ++i)
        grad_ref.push_back(softmax_ref(z[i], labels[i], 0.125f, loss_ref[i], hits_ref[i]));
      std::vector<HostMat> z_nograd = z;
      std::vector<MatView> zv, zv_nograd;
      std::vector<const std::int32_t*> lv;
      for (std::size_t i = 0; i < z.size(); ++i) {
        zv.push_back(z[i].view());
        zv_nograd.push_back(z_nograd[i].view());
        lv.push_back(labels[i].data());
      }
      std::vector<double> loss_nograd(3, 1.5);
      std::vector<std::int64_t> hits_nograd(3, 2);

      be->softmax_xent(zv, lv, true, 0.125f, loss, {}, hits);
      be->softmax_xent(zv_nograd, lv, false, 0.125f, loss_nograd, {}, hits_nograd);

      for (std::size_t i = 0; i < z.size(); ++i) {
        INFO("seed " << seed << ", item " << i);
        CHECK(loss[i] == doctest::Approx(loss_ref[i]).epsilon(1e-6));
        CHECK(hits[i] == hits_ref[i]);
        CHECK(loss_nograd[i] == loss[i]);
        CHECK(hits_nograd[i] == hits[i]);
        const auto diff = compare_close<float, double>(z[i].dense(), grad_ref[i], 1e-7, 1e-5, z[i].cols);
        CHECK_MESSAGE(diff.empty(), diff);
        CHECK(z[i].padding_intact());
      }
      CHECK(hits[1] >= 3);  // the tie at row 0 resolved to the label (column 2)
    }
  }

  TEST_CASE("cpu softmax_xent: is stable for large logits") {
    auto be = make_cpu_backend(1);
    std::vector<float> z = {1000.0f, 0.0f, -1000.0f};
    std::vector<std::int32_t> label = {0};
    std::vector<MatView> zv = {MatView{z.data(), 1, 3, 3}};
    std::vector<const std::int32_t*> lv = {label.data()};
    std::vector<double> loss(1, 0.0);
    std::vector<std::int64_t> hits(1, 0);

    be->softmax_xent(zv, lv, true, 1.0f, loss, {}, hits);

    CHECK(loss[0] == doctest::Approx(0.0));
    CHECK(hits[0] == 1);
    CHECK(z[0] == doctest::Approx(0.0f));
    CHECK(std::isfinite(z[2]));
  }

  TEST_CASE("cpu add_column_sums: adds alpha times the column sums to the bias") {
    auto be = make_cpu_backend(2);
    dtsim::Rng rng(9, "colsum-test");
    std::vector<HostMat> g;
    std::vector<std::vector<float>> bias;
    for (std::int64_t m : {1, 10, 37}) {
      g.emplace_back(m, 300 + m, 2, rng);  // more than one 256-column block
      bias.emplace_back();
      for (std::int64_t c = 0; c < 300 + m; ++c) bias.back().push_back(static_cast<float>(rng.uniform(-1, 1)));
    }
    std::vector<std::vector<double>> expected;
    for (std::size_t i = 0; i < g.size(); ++i) {
      std::vector<double> e;
      for (std::int64_t c = 0; c < g[i].cols; ++c) {
        double s = 0;
        for (std::int64_t r = 0; r < g[i].rows; ++r) s += g[i].at(r, c);
        e.push_back(bias[i][static_cast<std::size_t>(c)] - 0.3 * s);
      }
      expected.push_back(e);
    }
    std::vector<ConstMatView> gv;
    std::vector<float*> bv;
    for (std::size_t i = 0; i < g.size(); ++i) {
      gv.push_back(g[i].cview());
      bv.push_back(bias[i].data());
    }

    be->add_column_sums(-0.3f, gv, bv);

    for (std::size_t i = 0; i < g.size(); ++i) {
      const auto diff = compare_close<float, double>(bias[i], expected[i], 1e-6, 1e-5);
      CHECK_MESSAGE(diff.empty(), diff);
    }
  }

  TEST_CASE("cpu gather_rows: copies the indexed source rows, repeats included") {
    auto be = make_cpu_backend(2);
    dtsim::Rng rng(10, "gather-test");
    HostMat src(50, 9, 3, rng);
    HostMat d0(4, 9, 2, rng), d1(1, 9, 0, rng);
    std::vector<std::int32_t> r0 = {49, 0, 7, 7}, r1 = {13};
    std::vector<const std::int32_t*> rv = {r0.data(), r1.data()};
    std::vector<MatView> dv = {d0.view(), d1.view()};

    be->gather_rows(src.cview(), rv, dv);

    for (auto [d, r] : {std::pair{&d0, &r0}, std::pair{&d1, &r1}}) {
      std::vector<float> expected;
      for (std::int32_t i : *r)
        for (std::int64_t c = 0; c < 9; ++c) expected.push_back(src.at(i, c));
      const auto diff = compare_bits(d->dense(), expected, 9);
      CHECK_MESSAGE(diff.empty(), diff);
      CHECK(d->padding_intact());
    }
  }

  TEST_CASE("cpu weighted_sum: sums in double in item order, so float cancellation does not lose terms") {
    auto be = make_cpu_backend(2);
    // In float, 1e8 + 1 − 1e8 is 0; in double it is 1.
    std::vector<float> a = {1e8f, 2.0f}, b = {1.0f, 3.0f}, c = {-1e8f, 4.0f};
    std::vector<const float*> x = {a.data(), b.data(), c.data()};
    std::vector<double> w = {1.0, 1.0, 1.0};
    std::vector<float> out(2, kNaN);
    auto acc = be->alloc_doubles(2);

    be->weighted_sum(x, w, 2, false, acc.doubles(), out.data());

    CHECK(out[0] == 1.0f);
    CHECK(out[1] == 9.0f);
  }

  TEST_CASE("cpu weighted_sum: chunks accumulated in double and rounded once equal one call over every item") {
    auto be = make_cpu_backend(2);
    dtsim::Rng rng(12, "wsum-chunks");
    const std::size_t n = 9001;  // several blocks, the last ragged
    std::vector<std::vector<float>> xs(7);
    std::vector<double> w;
    for (auto& v : xs) {
      for (std::size_t j = 0; j < n; ++j) v.push_back(static_cast<float>(rng.uniform(-1, 1)));
      w.push_back(rng.uniform(0, 1));
    }
    w[3] = 0;  // a zero weight skips its item, even a non-finite one
    xs[3][5] = std::numeric_limits<float>::infinity();
    std::vector<const float*> x;
    for (auto& v : xs) x.push_back(v.data());
    std::vector<float> whole(n), chunked(n, kNaN);
    auto acc = be->alloc_doubles(n);
    be->weighted_sum(x, w, n, false, acc.doubles(), whole.data());
    // Chunks of 1, 2 and 4 items, then a rounding-only call.
    std::size_t first = 0;
    for (const std::size_t count : {1, 2, 4}) {
      be->weighted_sum(std::span(x).subspan(first, count), std::span(w).subspan(first, count), n, first > 0,
                       acc.doubles(), nullptr);
      first += count;
    }
    be->weighted_sum({}, {}, n, true, acc.doubles(), chunked.data());
    CHECK(std::memcmp(whole.data(), chunked.data(), n * sizeof(float)) == 0);
    CHECK(std::isfinite(whole[5]));
    // The sum of every item, in double, in item order: the same bits.
    for (std::size_t j = 0; j < n; ++j) {
      double e = 0;
      for (std::size_t i = 0; i < xs.size(); ++i)
        if (w[i] != 0) e += w[i] * static_cast<double>(xs[i][j]);
      REQUIRE(whole[j] == static_cast<float>(e));
    }
  }

  TEST_CASE("cpu weighted_sum: out may be one of the items (each element is read before it is written)") {
    auto be = make_cpu_backend(2);
    std::vector<float> c{1, 2, 3}, y{10, 20, 30};
    std::vector<const float*> x{c.data(), y.data()};
    std::vector<double> w{1, -0.5};
    auto acc = be->alloc_doubles(3);
    be->weighted_sum(x, w, 3, false, acc.doubles(), c.data());
    CHECK(c == std::vector<float>{-4, -8, -12});
  }

  TEST_CASE("cpu weighted_sum: matches a double reference on many elements with unequal weights") {
    auto be = make_cpu_backend(2);
    dtsim::Rng rng(11, "wsum-test");
    const std::size_t n = 3001;  // not a multiple of the block
    std::vector<std::vector<float>> xs(5);
    std::vector<double> w = {0.1, 0.4, 0.2, 0.05, 0.25};
    for (auto& v : xs)
      for (std::size_t j = 0; j < n; ++j) v.push_back(static_cast<float>(rng.uniform(-1, 1)));
    std::vector<double> expected(n, 0.0);
    for (std::size_t i = 0; i < xs.size(); ++i)
      for (std::size_t j = 0; j < n; ++j) expected[j] += w[i] * xs[i][j];
    std::vector<const float*> x;
    for (auto& v : xs) x.push_back(v.data());
    std::vector<float> out(n);
    auto acc = be->alloc_doubles(n);

    be->weighted_sum(x, w, n, false, acc.doubles(), out.data());

    const auto diff = compare_close<float, double>(out, expected, 1e-7, 1e-6);
    CHECK_MESSAGE(diff.empty(), diff);
  }

  TEST_CASE("cpu sgd_step: v += wd·p; p −= lr·v; v *= momentum per element, in one pass") {
    auto be = make_cpu_backend(2);
    // 1001: not a multiple of any vector width; 40000: several update blocks, the last one ragged.
    for (const std::size_t n : {std::size_t{1001}, std::size_t{40000}}) {
      for (const float weight_decay : {0.0f, 0.01f}) {
        for (const float momentum : {0.0f, 0.5f, 0.9f}) {
          INFO("n " << n << ", momentum " << momentum << ", weight decay " << weight_decay);
          const float lr = 0.05f;
          dtsim::Rng rng(12, "sgd-momentum-test");
          std::vector<std::vector<float>> ps(3), vs(3);
          for (std::size_t i = 0; i < 3; ++i) {
            for (std::size_t j = 0; j < n; ++j) {
              ps[i].push_back(static_cast<float>(rng.uniform(-1, 1)));
              vs[i].push_back(static_cast<float>(rng.uniform(-1, 1)));
            }
          }
          std::vector<std::vector<double>> p_expected(3), v_expected(3);
          for (std::size_t i = 0; i < 3; ++i) {
            for (std::size_t j = 0; j < n; ++j) {
              const double v = static_cast<double>(vs[i][j]) + static_cast<double>(weight_decay) * ps[i][j];
              p_expected[i].push_back(static_cast<double>(ps[i][j]) - static_cast<double>(lr) * v);
              v_expected[i].push_back(static_cast<double>(momentum) * v);
            }
          }
          std::vector<float*> pv, vv;
          for (std::size_t i = 0; i < 3; ++i) {
            pv.push_back(ps[i].data());
            vv.push_back(vs[i].data());
          }

          const Cost cost = be->sgd_step(SgdStep{lr, momentum, weight_decay, 0.0f}, pv, vv, {}, {}, n);

          for (std::size_t i = 0; i < 3; ++i) {
            INFO("item " << i);
            const auto p_diff = compare_close<float, double>(ps[i], p_expected[i], 1e-7, 1e-6);
            CHECK_MESSAGE(p_diff.empty(), p_diff);
            const auto v_diff = compare_close<float, double>(vs[i], v_expected[i], 1e-7, 1e-6);
            CHECK_MESSAGE(v_diff.empty(), v_diff);
          }
          CHECK(cost.flops == (weight_decay != 0.0f ? 5.0 : 3.0) * 3 * static_cast<double>(n));
          CHECK(cost.bytes == 16.0 * 3 * static_cast<double>(n));
        }
      }
    }
  }

  TEST_CASE("cpu sgd_step: with the gradient added to the pre-scaled velocity it is PyTorch's SGD") {
    // PyTorch, in double: v_t = m·v_{t−1} + g_t + wd·p_{t−1}; p_t = p_{t−1} − lr·v_t; v_0 = 0. The backend
    // keeps u = m·v_{t−1}: the caller adds g_t to u, then one update call gives p_t and u = m·v_t.
    auto be = make_cpu_backend(1);
    const float lr = 0.1f, momentum = 0.9f, weight_decay = 0.05f;
    const std::size_t n = 257;
    dtsim::Rng rng(13, "sgd-momentum-pytorch");
    std::vector<float> p(n), u(n, 0.0f);
    for (auto& x : p) x = static_cast<float>(rng.uniform(-1, 1));
    std::vector<double> p_ref(p.begin(), p.end()), v_ref(n, 0.0);
    std::vector<float*> pv = {p.data()}, uv = {u.data()};

    for (int step = 0; step < 5; ++step) {
      for (std::size_t j = 0; j < n; ++j) {
        const auto g = static_cast<float>(rng.uniform(-1, 1));
        u[j] += g;
        v_ref[j] = static_cast<double>(momentum) * v_ref[j] + g + static_cast<double>(weight_decay) * p_ref[j];
        p_ref[j] -= static_cast<double>(lr) * v_ref[j];
      }
      be->sgd_step(SgdStep{lr, momentum, weight_decay, 0.0f}, pv, uv, {}, {}, n);
    }

    const auto p_diff = compare_close<float, double>(p, p_ref, 1e-6, 1e-5);
    CHECK_MESSAGE(p_diff.empty(), p_diff);
    std::vector<double> u_ref;
    for (double v : v_ref) u_ref.push_back(static_cast<double>(momentum) * v);
    const auto u_diff = compare_close<float, double>(u, u_ref, 1e-6, 1e-5);
    CHECK_MESSAGE(u_diff.empty(), u_diff);
  }

  TEST_CASE("cpu sgd_step: the proximal term μ·(p − anchor) and the correction join the velocity before the step") {
    auto be = make_cpu_backend(2);
    for (const std::size_t n : {std::size_t{1001}, std::size_t{40000}}) {
      for (const float weight_decay : {0.0f, 0.01f}) {
        for (const float mu : {0.0f, 0.5f}) {
          for (const bool corrected : {false, true}) {
            INFO("n " << n << ", weight decay " << weight_decay << ", mu " << mu << ", corrected " << corrected);
            const float lr = 0.05f, momentum = 0.5f;
            dtsim::Rng rng(14, "sgd-step-test");
            std::vector<float> p(n), v(n), a(n), c(n);
            for (std::size_t j = 0; j < n; ++j) {
              p[j] = static_cast<float>(rng.uniform(-1, 1));
              v[j] = static_cast<float>(rng.uniform(-1, 1));
              a[j] = static_cast<float>(rng.uniform(-1, 1));
              c[j] = static_cast<float>(rng.uniform(-1, 1));
            }
            std::vector<double> p_expected, v_expected;
            for (std::size_t j = 0; j < n; ++j) {
              const double pj = p[j];
              const double vj = v[j] + weight_decay * pj + mu * (pj - a[j]) + (corrected ? c[j] : 0.0);
              p_expected.push_back(pj - lr * vj);
              v_expected.push_back(momentum * vj);
            }
            std::vector<float*> pv = {p.data()}, vv = {v.data()};
            std::vector<const float*> av = {a.data()}, cv = {c.data()};
            const Cost cost = be->sgd_step(SgdStep{lr, momentum, weight_decay, mu}, pv, vv,
                                           mu != 0.0f ? std::span<const float* const>(av) : std::span<const float* const>(),
                                           corrected ? std::span<const float* const>(cv) : std::span<const float* const>(), n);
            const auto p_diff = compare_close<float, double>(p, p_expected, 1e-6, 1e-5);
            CHECK_MESSAGE(p_diff.empty(), p_diff);
            const auto v_diff = compare_close<float, double>(v, v_expected, 1e-6, 1e-5);
            CHECK_MESSAGE(v_diff.empty(), v_diff);
            const double terms = 3 + (weight_decay != 0 ? 2 : 0) + (mu != 0 ? 3 : 0) + (corrected ? 1 : 0);
            CHECK(cost.flops == terms * static_cast<double>(n));
            CHECK(cost.bytes == 4.0 * static_cast<double>(n) * (4 + (mu != 0 ? 1 : 0) + (corrected ? 1 : 0)));
          }
        }
      }
    }
    std::vector<float> p(10), v(10);
    std::vector<float*> pv = {p.data()}, vv = {v.data()};
    std::vector<const float*> no_anchor = {nullptr};
    CHECK_THROWS_WITH_AS(be->sgd_step(SgdStep{0.1f, 0.0f, 0.0f, 0.5f}, pv, vv, {}, {}, 10),
                         doctest::Contains("anchor has 0 items, expected 1"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(be->sgd_step(SgdStep{0.1f, 0.0f, 0.0f, 0.5f}, pv, vv, no_anchor, {}, 10),
                         doctest::Contains("anchor is null"), std::invalid_argument);
  }

  TEST_CASE("cpu softmax_xent: adds the sum of the rows' squared losses when asked") {
    auto be = make_cpu_backend(1);
    dtsim::Rng rng(15, "softmax-sq-test");
    HostMat z(7, 10, 2, rng, -3, 3);
    std::vector<std::int32_t> labels;
    for (int r = 0; r < 7; ++r) labels.push_back(static_cast<std::int32_t>(rng.below(10)));
    double sum_expected = 0, sq_expected = 0;
    for (std::int64_t r = 0; r < 7; ++r) {
      double mx = z.at(r, 0);
      for (std::int64_t c = 1; c < 10; ++c) mx = std::max(mx, static_cast<double>(z.at(r, c)));
      double s = 0;
      for (std::int64_t c = 0; c < 10; ++c) s += std::exp(static_cast<double>(z.at(r, c)) - mx);
      const double loss = std::log(s) - (static_cast<double>(z.at(r, labels[static_cast<std::size_t>(r)])) - mx);
      sum_expected += loss;
      sq_expected += loss * loss;
    }
    std::vector<MatView> zv = {z.view()};
    std::vector<const std::int32_t*> lv = {labels.data()};
    std::vector<double> loss = {1.0}, loss_sq = {2.0};
    std::vector<std::int64_t> hits = {0};
    be->softmax_xent(zv, lv, false, 1.0f, loss, loss_sq, hits);
    CHECK(loss[0] == doctest::Approx(1.0 + sum_expected).epsilon(1e-6));
    CHECK(loss_sq[0] == doctest::Approx(2.0 + sq_expected).epsilon(1e-6));
  }

  TEST_CASE("cpu backend: results are bit-identical for 1, 2 and 3 threads and for any grouping of items") {
    auto one = make_cpu_backend(1);
    auto two = make_cpu_backend(2);
    auto three = make_cpu_backend(3);

    const auto reference = run_every_op(*one, {7});
    const auto two_threads = run_every_op(*two, {7});
    const auto three_threads = run_every_op(*three, {7});
    const auto one_per_call = run_every_op(*two, {1, 1, 1, 1, 1, 1, 1});
    const auto uneven = run_every_op(*three, {2, 5});

    for (const auto* got : {&two_threads, &three_threads, &one_per_call, &uneven}) {
      const auto diff = compare_bits(*got, reference);
      CHECK_MESSAGE(diff.empty(), diff);
    }
  }

  TEST_CASE("cpu backend: for_each_item runs whole items concurrently on lanes; their calls give the same bits") {
    auto one = make_cpu_backend(1);
    auto three = make_cpu_backend(3);
    const auto reference = run_every_op(*one, {7});
    constexpr std::int64_t kItems = 5;
    std::vector<std::vector<float>> got(kItems);
    std::vector<int> lane_of(kItems, -1), inside(kItems, 0);

    CHECK(one->item_schedule() == ItemSchedule::concurrent);
    CHECK(three->item_schedule() == ItemSchedule::concurrent);
    three->for_each_item(kItems, [&](std::int64_t i, int lane) {
      const auto k = static_cast<std::size_t>(i);
      lane_of[k] = lane;
      inside[k] = ThreadPool::inside_item() ? 1 : 0;  // so its operations run inline on this thread
      got[k] = run_every_op(*three, {1, 1, 1, 1, 1, 1, 1});
    });

    for (std::size_t k = 0; k < got.size(); ++k) {
      INFO("item " << k << " on lane " << lane_of[k]);
      CHECK(lane_of[k] >= 0);
      CHECK(lane_of[k] < 3);
      CHECK(inside[k] == 1);
      const auto diff = compare_bits(got[k], reference);
      CHECK_MESSAGE(diff.empty(), diff);
    }
  }

  TEST_CASE("cpu backend: reports the modelled cost from the shapes") {
    auto be = make_cpu_backend(1);
    std::vector<float> a(6 * 4), b(4 * 5), c(6 * 5), c2(2 * 3), a2(2 * 7), b2(7 * 3);
    std::vector<ConstMatView> av = {ConstMatView(a.data(), 6, 4, 4), ConstMatView(a2.data(), 2, 7, 7)};
    std::vector<ConstMatView> bv = {ConstMatView(b.data(), 4, 5, 5), ConstMatView(b2.data(), 7, 3, 3)};
    std::vector<MatView> cv = {MatView{c.data(), 6, 5, 5}, MatView{c2.data(), 2, 3, 3}};
    std::vector<const float*> bias = {b.data(), b.data()};
    std::vector<std::int32_t> labels(6, 1);
    std::vector<const std::int32_t*> lv = {labels.data(), labels.data()};
    std::vector<double> loss(2);
    std::vector<std::int64_t> hits(2);

    const Cost g = be->gemm(Trans::no, Trans::no, 1.0f, av, bv, 0.0f, cv);
    const Cost ba = be->bias_activation(Activation::relu, bias, cv);
    const Cost sx = be->softmax_xent(cv, lv, true, 1.0f, loss, {}, hits);
    const Cost sx_eval = be->softmax_xent(cv, lv, false, 1.0f, loss, {}, hits);

    CHECK(g.flops == 2.0 * (6 * 5 * 4 + 2 * 3 * 7));
    CHECK(g.bytes == 4.0 * ((6 * 4 + 4 * 5 + 6 * 5) + (2 * 7 + 7 * 3 + 2 * 3)));
    CHECK(ba.flops == 2.0 * (6 * 5 + 2 * 3));
    CHECK(sx.flops == 7.0 * (6 * 5 + 2 * 3));
    CHECK(sx_eval.flops == 5.0 * (6 * 5 + 2 * 3));
  }

  TEST_CASE("cpu backend: rejects mismatched shapes, item counts and out-of-range indices, naming the item") {
    auto be = make_cpu_backend(2);
    std::vector<float> buf(100, 1.0f);
    std::vector<ConstMatView> a = {ConstMatView(buf.data(), 2, 3, 3), ConstMatView(buf.data(), 2, 3, 3)};
    std::vector<ConstMatView> b = {ConstMatView(buf.data(), 3, 4, 4), ConstMatView(buf.data(), 5, 4, 4)};
    std::vector<MatView> c = {MatView{buf.data() + 50, 2, 4, 4}, MatView{buf.data() + 50, 2, 4, 4}};
    std::vector<std::int32_t> bad_label = {0, 4};
    std::vector<const std::int32_t*> lv = {bad_label.data()};
    std::vector<MatView> z = {MatView{buf.data(), 2, 4, 4}};
    std::vector<double> loss(1);
    std::vector<std::int64_t> hits(1);
    std::vector<std::int32_t> bad_row = {10};
    std::vector<const std::int32_t*> rv = {bad_row.data()};
    std::vector<MatView> dst = {MatView{buf.data() + 60, 1, 3, 3}};
    std::vector<MatView> bad_ld = {MatView{buf.data(), 2, 4, 3}};
    std::vector<const float*> bias = {buf.data()};

    CHECK_THROWS_WITH_AS(be->gemm(Trans::no, Trans::no, 1.0f, a, b, 0.0f, c), doctest::Contains("item 1"),
                         std::invalid_argument);
    CHECK_THROWS_AS(be->gemm(Trans::no, Trans::no, 1.0f, std::span(a).first(1), b, 0.0f, c), std::invalid_argument);
    CHECK_THROWS_WITH_AS(be->softmax_xent(z, lv, true, 1.0f, loss, {}, hits), doctest::Contains("label 4"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(be->gather_rows(ConstMatView(buf.data(), 10, 3, 3), rv, dst),
                         doctest::Contains("row index 10"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(be->bias_activation(Activation::relu, bias, bad_ld), doctest::Contains("ld"),
                         std::invalid_argument);
    std::vector<const float*> x = {buf.data()};
    std::vector<double> w = {1.0};
    auto acc = be->alloc_doubles(10);
    CHECK_THROWS_WITH_AS(be->weighted_sum(x, w, 10, false, acc.doubles(), buf.data() + 5), doctest::Contains("overlaps"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(be->weighted_sum(x, w, 10, false, nullptr, nullptr), doctest::Contains("acc is null"),
                         std::invalid_argument);
    std::vector<float*> p = {buf.data() + 20}, two_v = {buf.data() + 40, buf.data() + 60}, null_v = {nullptr};
    std::vector<float*> overlapping_v = {buf.data() + 25}, two_p = {buf.data() + 20, nullptr};
    CHECK_THROWS_WITH_AS(be->sgd_step(SgdStep{0.1f, 0.9f, 0.0f, 0.0f}, p, two_v, {}, {}, 10),
                         doctest::Contains("velocity has 2 items, expected 1"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(be->sgd_step(SgdStep{0.1f, 0.9f, 0.0f, 0.0f}, p, null_v, {}, {}, 10),
                         doctest::Contains("velocity is null"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(be->sgd_step(SgdStep{0.1f, 0.9f, 0.0f, 0.0f}, p, overlapping_v, {}, {}, 10), doctest::Contains("overlaps"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(be->sgd_step(SgdStep{0.1f, 0.9f, 0.0f, 0.0f}, two_p, two_v, {}, {}, 10),
                         doctest::Contains("item 1: params is null"), std::invalid_argument);
  }

  TEST_CASE("cpu backend: alloc gives zeroed 64-byte aligned memory and view_host reads host memory in place") {
    auto be = make_cpu_backend(1);

    Buffer buf = be->alloc(1000);
    std::vector<float> host = {1, 2, 3};

    REQUIRE(buf.data() != nullptr);
    CHECK(buf.size() == 1000);
    CHECK(reinterpret_cast<std::uintptr_t>(buf.data()) % 64 == 0);
    bool zero = true;
    for (std::size_t i = 0; i < buf.size(); ++i) zero = zero && buf.data()[i] == 0.0f;
    CHECK(zero);
    CHECK(be->view_host(host.data(), host.size()) == host.data());
    be->upload(host.data(), 3, buf.data());
    std::vector<float> back(3);
    be->download(buf.data(), 3, back.data());
    CHECK(back == host);
  }
}
