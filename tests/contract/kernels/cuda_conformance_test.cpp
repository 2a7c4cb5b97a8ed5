// Every Backend operation on CUDA against the CPU reference: |got − ref| <= atol + rtol·|ref|
// (DESIGN "Backend"). Its own executable (test_cuda, ctest label `cuda`): where no device is usable it
// prints why ("no CUDA device …", or "this dtsim was built without CUDA") and exits 77, which ctest
// reports as skipped — never as passed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "kernels/backend.hpp"
#include "sim/common/rng.hpp"
#include "tests/unit/kernels/tensor_compare.hpp"

namespace {

using namespace dtsim::kernels;
using dtsim::test::compare_bits;
using dtsim::test::compare_close;

constexpr double kAtol = 1e-5;
constexpr double kRtol = 1e-4;

// A matrix kept in host memory and mirrored in one backend's memory.
struct Mat {
  std::int64_t rows, cols, ld;
  std::vector<float> host;
};

Mat random_mat(std::int64_t rows, std::int64_t cols, std::int64_t pad, dtsim::Rng& rng, float lo = -1, float hi = 1) {
  Mat m{rows, cols, cols + pad, {}};
  m.host.assign(static_cast<std::size_t>(std::max<std::int64_t>(rows * m.ld, 1)), 0.0f);
  for (auto& v : m.host) v = static_cast<float>(rng.uniform(lo, hi));
  return m;
}

// The same inputs on one backend: buffers and views.
struct OnBackend {
  Backend& be;
  std::vector<Buffer> buffers;
  explicit OnBackend(Backend& b) : be(b) {}
  MatView put(const Mat& m) {
    buffers.push_back(be.alloc(m.host.size()));
    be.upload(m.host.data(), m.host.size(), buffers.back().data());
    return MatView{buffers.back().data(), m.rows, m.cols, m.ld};
  }
  float* put(const std::vector<float>& v) {
    buffers.push_back(be.alloc(v.size()));
    be.upload(v.data(), v.size(), buffers.back().data());
    return buffers.back().data();
  }
  std::vector<float> get(const MatView& v) {
    std::vector<float> all(static_cast<std::size_t>(std::max<std::int64_t>(v.rows * v.ld, 1)));
    be.download(v.data, all.size(), all.data());
    std::vector<float> out;
    for (std::int64_t r = 0; r < v.rows; ++r)
      for (std::int64_t c = 0; c < v.cols; ++c) out.push_back(all[static_cast<std::size_t>(r * v.ld + c)]);
    return out;
  }
  std::vector<float> get(const float* p, std::size_t n) {
    std::vector<float> out(n);
    be.download(p, n, out.data());
    return out;
  }
};

struct Backends {
  std::unique_ptr<Backend> cpu = make_cpu_backend(2);
  std::unique_ptr<Backend> cuda = make_cuda_backend();
};

void check_close(const std::vector<float>& got, const std::vector<float>& ref, std::int64_t cols, const char* what) {
  const auto diff = compare_close<float, float>(got, ref, kAtol, kRtol, cols);
  CHECK_MESSAGE(diff.empty(), what << ": " << diff);
}

struct Shape {
  std::int64_t m, n, k, pad;
};

void check_bits(const std::vector<float>& got, const std::vector<float>& ref, std::int64_t cols, const char* what) {
  const auto diff = compare_bits(got, ref, cols);
  CHECK_MESSAGE(diff.empty(), what << ": " << diff);
}

// A float sum of `terms` products of values in [-1, 1], computed in another order than the CPU's.
void check_sum(const std::vector<float>& got, const std::vector<float>& ref, double terms, std::int64_t cols,
               const char* what) {
  const auto diff = compare_close<float, float>(got, ref, 1e-6 * terms + kAtol, kRtol, cols);
  CHECK_MESSAGE(diff.empty(), what << ": " << diff);
}

// One item's image batch: rows × cols with a padded stride, on both backends.
struct ImagePair {
  MatView cpu, gpu;
};
ImagePair put_images(OnBackend& cpu, OnBackend& gpu, std::int64_t rows, std::int64_t cols, std::int64_t pad,
                     dtsim::Rng& rng, float lo = -1, float hi = 1) {
  const Mat m = random_mat(rows, cols, pad, rng, lo, hi);
  return {cpu.put(m), gpu.put(m)};
}

}  // namespace

TEST_SUITE("cuda") {
  TEST_CASE("cuda gemm: matches the cpu reference for every transpose pair, alpha/beta and ragged padded items") {
    Backends b;
    const std::vector<Shape> shapes = {
        {1, 1, 1, 0}, {10, 200, 784, 0}, {784, 200, 10, 3}, {17, 33, 65, 2}, {5, 3, 0, 1}};
    for (Trans ta : {Trans::no, Trans::yes}) {
      for (Trans tb : {Trans::no, Trans::yes}) {
        for (auto [alpha, beta] : {std::pair{1.0f, 0.0f}, std::pair{-0.01f, 1.0f}, std::pair{2.0f, 0.5f}}) {
          dtsim::Rng rng(1, "cuda-gemm");
          OnBackend cpu(*b.cpu), gpu(*b.cuda);
          std::vector<ConstMatView> ac, bc, ag, bg;
          std::vector<MatView> cc, cg;
          for (const auto& s : shapes) {
            const Mat a = random_mat(ta == Trans::no ? s.m : s.k, ta == Trans::no ? s.k : s.m, s.pad, rng);
            const Mat bm = random_mat(tb == Trans::no ? s.k : s.n, tb == Trans::no ? s.n : s.k, s.pad, rng);
            const Mat c = random_mat(s.m, s.n, s.pad, rng);
            ac.push_back(cpu.put(a));
            bc.push_back(cpu.put(bm));
            cc.push_back(cpu.put(c));
            ag.push_back(gpu.put(a));
            bg.push_back(gpu.put(bm));
            cg.push_back(gpu.put(c));
          }

          const Cost cost_cpu = b.cpu->gemm(ta, tb, alpha, ac, bc, beta, cc);
          const Cost cost_gpu = b.cuda->gemm(ta, tb, alpha, ag, bg, beta, cg);

          CHECK(cost_gpu.flops == cost_cpu.flops);
          CHECK(cost_gpu.bytes == cost_cpu.bytes);
          for (std::size_t i = 0; i < shapes.size(); ++i) {
            INFO("ta " << (ta == Trans::yes) << ", tb " << (tb == Trans::yes) << ", alpha " << alpha << ", beta "
                       << beta << ", item " << i);
            check_close(gpu.get(cg[i]), cpu.get(cc[i]), shapes[i].n, "C");
          }
        }
      }
    }
  }

  TEST_CASE("cuda bias_activation and relu_backward: match the cpu reference") {
    Backends b;
    for (Activation act : {Activation::none, Activation::relu}) {
      dtsim::Rng rng(2, "cuda-bias");
      OnBackend cpu(*b.cpu), gpu(*b.cuda);
      std::vector<MatView> xc, xg, gc, gg;
      std::vector<ConstMatView> actc, actg;
      std::vector<const float*> bc, bg;
      for (std::int64_t m : {1, 10, 300}) {
        const Mat x = random_mat(m, 200, m % 3, rng);
        const Mat g = random_mat(m, 200, 1, rng);
        std::vector<float> bias(200);
        for (auto& v : bias) v = static_cast<float>(rng.uniform(-1, 1));
        xc.push_back(cpu.put(x));
        xg.push_back(gpu.put(x));
        gc.push_back(cpu.put(g));
        gg.push_back(gpu.put(g));
        bc.push_back(cpu.put(bias));
        bg.push_back(gpu.put(bias));
      }
      for (std::size_t i = 0; i < xc.size(); ++i) {
        actc.push_back(xc[i]);
        actg.push_back(xg[i]);
      }

      b.cpu->bias_activation(act, bc, xc);
      b.cuda->bias_activation(act, bg, xg);
      b.cpu->relu_backward(actc, gc);
      b.cuda->relu_backward(actg, gg);

      for (std::size_t i = 0; i < xc.size(); ++i) {
        INFO("relu " << (act == Activation::relu) << ", item " << i);
        check_close(gpu.get(xg[i]), cpu.get(xc[i]), 200, "X");
        check_close(gpu.get(gg[i]), cpu.get(gc[i]), 200, "grad");
      }
    }
  }

  TEST_CASE("cuda softmax_xent: loss, hits and gradient match the cpu reference, with and without grad") {
    Backends b;
    for (bool with_grad : {true, false}) {
      dtsim::Rng rng(3, "cuda-softmax");
      OnBackend cpu(*b.cpu), gpu(*b.cuda);
      std::vector<MatView> zc, zg;
      std::vector<std::vector<std::int32_t>> labels;
      std::vector<const std::int32_t*> lv;
      for (std::int64_t m : {1, 10, 257}) {
        for (std::int64_t n : {10, 47}) {
          Mat z = random_mat(m, n, 1, rng, -6, 6);
          z.host[0] = 7.0f;  // a tie between columns 0 and 1 in row 0
          z.host[1] = 7.0f;
          zc.push_back(cpu.put(z));
          zg.push_back(gpu.put(z));
          labels.emplace_back();
          for (std::int64_t r = 0; r < m; ++r)
            labels.back().push_back(static_cast<std::int32_t>(rng.below(static_cast<std::uint64_t>(n))));
        }
      }
      for (auto& l : labels) lv.push_back(l.data());
      std::vector<double> loss_c(zc.size(), 0.25), loss_g(zc.size(), 0.25);
      std::vector<double> sq_c(zc.size(), 0.5), sq_g(zc.size(), 0.5);
      std::vector<std::int64_t> hits_c(zc.size(), 1), hits_g(zc.size(), 1);

      b.cpu->softmax_xent(zc, lv, with_grad, 0.1f, loss_c, sq_c, hits_c);
      b.cuda->softmax_xent(zg, lv, with_grad, 0.1f, loss_g, sq_g, hits_g);

      for (std::size_t i = 0; i < zc.size(); ++i) {
        INFO("with_grad " << with_grad << ", item " << i);
        CHECK(loss_g[i] == doctest::Approx(loss_c[i]).epsilon(1e-5));
        CHECK(sq_g[i] == doctest::Approx(sq_c[i]).epsilon(1e-5));
        CHECK(hits_g[i] == hits_c[i]);
        check_close(gpu.get(zg[i]), cpu.get(zc[i]), zc[i].cols, with_grad ? "gradient" : "logits (unchanged)");
      }
    }
  }

  TEST_CASE("cuda add_column_sums, gather_rows and weighted_sum: match the cpu reference") {
    Backends b;
    dtsim::Rng rng(4, "cuda-misc");
    OnBackend cpu(*b.cpu), gpu(*b.cuda);
    std::vector<ConstMatView> gc, gg;
    std::vector<float*> bc, bg;
    std::vector<std::vector<float>> bias_host;
    for (std::int64_t m : {1, 10, 100}) {
      const Mat g = random_mat(m, 300, 2, rng);
      gc.push_back(cpu.put(g));
      gg.push_back(gpu.put(g));
      bias_host.emplace_back(300);
      for (auto& v : bias_host.back()) v = static_cast<float>(rng.uniform(-1, 1));
      bc.push_back(cpu.put(bias_host.back()));
      bg.push_back(gpu.put(bias_host.back()));
    }
    const Mat src = random_mat(1000, 784, 0, rng, 0, 1);
    const MatView src_c = cpu.put(src), src_g = gpu.put(src);
    std::vector<std::vector<std::int32_t>> rows;
    std::vector<const std::int32_t*> rv;
    std::vector<MatView> dc, dg;
    for (std::int64_t m : {10, 3, 64}) {
      rows.emplace_back();
      for (std::int64_t r = 0; r < m; ++r) rows.back().push_back(static_cast<std::int32_t>(rng.below(1000)));
      const Mat d = random_mat(m, 784, 5, rng);
      dc.push_back(cpu.put(d));
      dg.push_back(gpu.put(d));
    }
    for (auto& r : rows) rv.push_back(r.data());
    const std::size_t n = 159010;
    std::vector<const float*> xc, xg;
    std::vector<double> w;
    for (int i = 0; i < 12; ++i) {
      std::vector<float> x(n);
      for (auto& v : x) v = static_cast<float>(rng.uniform(-1, 1));
      xc.push_back(cpu.put(x));
      xg.push_back(gpu.put(x));
      w.push_back(rng.uniform(0, 1));
    }
    float* out_c = cpu.put(std::vector<float>(n));
    float* out_g = gpu.put(std::vector<float>(n));

    b.cpu->add_column_sums(-0.01f, gc, bc);
    b.cuda->add_column_sums(-0.01f, gg, bg);
    b.cpu->gather_rows(src_c, rv, dc);
    b.cuda->gather_rows(src_g, rv, dg);
    // Two chunks accumulated in double, then rounded; one zero weight (skipped).
    w[5] = 0;
    auto acc_c = b.cpu->alloc_doubles(n), acc_g = b.cuda->alloc_doubles(n);
    for (auto* be : {b.cpu.get(), b.cuda.get()}) {
      auto& x = be == b.cpu.get() ? xc : xg;
      double* acc = (be == b.cpu.get() ? acc_c : acc_g).doubles();
      be->weighted_sum(std::span(x).first(7), std::span(w).first(7), n, false, acc, nullptr);
      be->weighted_sum(std::span(x).subspan(7), std::span(w).subspan(7), n, true, acc,
                       be == b.cpu.get() ? out_c : out_g);
    }

    for (std::size_t i = 0; i < gc.size(); ++i) check_close(gpu.get(bg[i], 300), cpu.get(bc[i], 300), 0, "bias");
    for (std::size_t i = 0; i < dc.size(); ++i) check_close(gpu.get(dg[i]), cpu.get(dc[i]), 784, "gathered rows");
    check_close(gpu.get(out_g, n), cpu.get(out_c, n), 0, "weighted sum");
  }

  TEST_CASE(
      "cuda sgd_step: matches the cpu reference with weight decay, proximal term and correction, over 32+ items") {
    Backends b;
    const std::size_t n = 159010, items = 35;  // more items than one launch takes
    for (auto [momentum, weight_decay, mu] :
         {std::tuple{0.9f, 0.0f, 0.0f}, std::tuple{0.5f, 1e-4f, 0.0f}, std::tuple{0.0f, 0.01f, 0.0f},
          std::tuple{0.0f, 0.0f, 0.0f}, std::tuple{0.5f, 1e-4f, 0.1f}}) {
      INFO("momentum " << momentum << ", weight decay " << weight_decay << ", mu " << mu);
      dtsim::Rng rng(5, "cuda-sgd-momentum");
      OnBackend cpu(*b.cpu), gpu(*b.cuda);
      std::vector<float*> pc, pg, vc, vg;
      std::vector<const float*> ac, ag, cc, cg;  // anchors; corrections (every third item has none)
      for (std::size_t i = 0; i < items; ++i) {
        std::vector<float> p(n), v(n), a(n), c(n);
        for (auto* arr : {&p, &v, &a, &c})
          for (auto& x : *arr) x = static_cast<float>(rng.uniform(-1, 1));
        pc.push_back(cpu.put(p));
        pg.push_back(gpu.put(p));
        vc.push_back(cpu.put(v));
        vg.push_back(gpu.put(v));
        ac.push_back(cpu.put(a));
        ag.push_back(gpu.put(a));
        cc.push_back(i % 3 == 0 ? nullptr : cpu.put(c));
        cg.push_back(i % 3 == 0 ? nullptr : gpu.put(c));
      }
      const bool with_terms = mu != 0.0f;
      const SgdStep step{0.05f, momentum, weight_decay, mu};
      using Ptrs = std::span<const float* const>;
      const Cost cost_cpu =
          b.cpu->sgd_step(step, pc, vc, with_terms ? Ptrs(ac) : Ptrs(), with_terms ? Ptrs(cc) : Ptrs(), n);
      const Cost cost_gpu =
          b.cuda->sgd_step(step, pg, vg, with_terms ? Ptrs(ag) : Ptrs(), with_terms ? Ptrs(cg) : Ptrs(), n);

      CHECK(cost_gpu.flops == cost_cpu.flops);
      CHECK(cost_gpu.bytes == cost_cpu.bytes);
      for (std::size_t i = 0; i < items; ++i) {
        INFO("item " << i);
        check_close(gpu.get(pg[i], n), cpu.get(pc[i], n), 0, "params");
        check_close(gpu.get(vg[i], n), cpu.get(vc[i], n), 0, "velocity");
      }
    }
  }

  TEST_CASE("cuda gemm: items of one shape, batched (strided or over pointer arrays), give one-item calls' bits") {
    Backends b;
    dtsim::Rng rng(6, "cuda-gemm-batched");
    OnBackend gpu(*b.cuda);
    constexpr std::int64_t m = 10, n = 50, k = 320, kItems = 12;
    // Items 0..11 evenly spaced in shared buffers (one strided batch); items 12..23 at irregular
    // offsets (one batch over pointer arrays); item 24 of another shape (one sgemm).
    const MatView a_even = gpu.put(random_mat(kItems * m, k, 0, rng)),
                  b_even = gpu.put(random_mat(kItems * n, k, 0, rng));
    const Mat c_even = random_mat(kItems * m, n, 0, rng);
    const MatView c_even_batched = gpu.put(c_even), c_even_single = gpu.put(c_even);
    const MatView a_ragged = gpu.put(random_mat(kItems * m + kItems * kItems, k, 1, rng));
    std::vector<ConstMatView> av, bv;
    std::vector<MatView> cv_batched, cv_single;
    for (std::int64_t i = 0; i < kItems; ++i) {
      av.push_back(ConstMatView(a_even.data + i * m * k, m, k, k));
      bv.push_back(ConstMatView(b_even.data + i * n * k, n, k, k));
      cv_batched.push_back(MatView{c_even_batched.data + i * m * n, m, n, n});
      cv_single.push_back(MatView{c_even_single.data + i * m * n, m, n, n});
    }
    for (std::int64_t i = 0; i <= kItems; ++i) {
      const bool lone = i == kItems;
      const std::int64_t row0 = i * m + i * (i - 1) / 2;  // gaps of 0, 1, 2, … rows
      av.push_back(lone ? ConstMatView(gpu.put(random_mat(3, k, 1, rng)))
                        : ConstMatView(a_ragged.data + row0 * a_ragged.ld, m, k, a_ragged.ld));
      bv.push_back(gpu.put(random_mat(n, k, 2, rng)));
      const Mat c = random_mat(av.back().rows, n, 0, rng);
      cv_batched.push_back(gpu.put(c));
      cv_single.push_back(gpu.put(c));
    }

    // The same products on the cpu, from dense host copies.
    auto dense = [&](const ConstMatView& v) {
      return gpu.get(MatView{const_cast<float*>(v.data), v.rows, v.cols, v.ld});
    };
    std::vector<std::vector<float>> a_host, b_host, c_host;
    std::vector<ConstMatView> ac, bc;
    std::vector<MatView> cc;
    for (std::size_t i = 0; i < av.size(); ++i) {
      a_host.push_back(dense(av[i]));
      b_host.push_back(dense(bv[i]));
      c_host.push_back(gpu.get(cv_batched[i]));
    }
    for (std::size_t i = 0; i < av.size(); ++i) {
      ac.push_back(ConstMatView(a_host[i].data(), av[i].rows, k, k));
      bc.push_back(ConstMatView(b_host[i].data(), n, k, k));
      cc.push_back(MatView{c_host[i].data(), av[i].rows, n, n});
    }

    b.cuda->gemm(Trans::no, Trans::yes, -0.5f, av, bv, 1.0f, cv_batched);
    for (std::size_t i = 0; i < av.size(); ++i) {
      b.cuda->gemm(Trans::no, Trans::yes, -0.5f, std::span(av).subspan(i, 1), std::span(bv).subspan(i, 1), 1.0f,
                   std::span(cv_single).subspan(i, 1));
    }
    b.cpu->gemm(Trans::no, Trans::yes, -0.5f, ac, bc, 1.0f, cc);

    for (std::size_t i = 0; i < av.size(); ++i) {
      INFO("item " << i);
      const auto batched = gpu.get(cv_batched[i]);
      check_bits(batched, gpu.get(cv_single[i]), n, "C, batched against one item per call");
      check_close(batched, c_host[i], n, "C against the cpu");
    }
  }

  TEST_CASE("cuda conv2d and its backward passes: match the cpu reference for several shapes and ragged items") {
    Backends b;
    const std::vector<Conv2dShape> shapes = {{1, 10, 28, 28, 5, 0}, {10, 20, 12, 12, 5, 0}, {32, 64, 14, 14, 5, 2},
                                             {3, 7, 9, 11, 3, 1},   {4, 13, 5, 7, 3, 3},    {2, 3, 4, 4, 1, 0}};
    for (const Conv2dShape& s : shapes) {
      INFO("conv " << s.in_channels << "->" << s.out_channels << ", " << s.height << "x" << s.width << ", kernel "
                   << s.kernel << ", padding " << s.padding);
      dtsim::Rng rng(7, "cuda-conv", s.in_channels, s.out_channels);
      OnBackend cpu(*b.cpu), gpu(*b.cuda);
      std::vector<ConstMatView> xc, xg, dyc, dyg;
      std::vector<MatView> yc, yg, dxc, dxg;
      std::vector<const float*> wc, wg;
      std::vector<float*> gc, gg;
      // 35 items for the small shapes: more than one launch takes.
      const std::int64_t items = s.in_features() < 200 ? 35 : 3;
      for (std::int64_t i = 0; i < items; ++i) {
        // Item 2 has no images and null parameters (allowed then).
        const std::int64_t rows = i == 2 ? 0 : i % 3 == 0 ? 10 : i % 3 == 1 ? 1 : 3;
        const auto x = put_images(cpu, gpu, rows, s.in_features(), i % 2, rng);
        const auto dy = put_images(cpu, gpu, rows, s.out_features(), 1, rng);
        const auto y = put_images(cpu, gpu, rows, s.out_features(), 2, rng);
        const auto dx = put_images(cpu, gpu, rows, s.in_features(), 0, rng);
        std::vector<float> w(static_cast<std::size_t>(s.parameter_count()));
        for (auto& v : w) v = static_cast<float>(rng.uniform(-1, 1));
        xc.push_back(x.cpu);
        xg.push_back(x.gpu);
        dyc.push_back(dy.cpu);
        dyg.push_back(dy.gpu);
        yc.push_back(y.cpu);
        yg.push_back(y.gpu);
        dxc.push_back(dx.cpu);
        dxg.push_back(dx.gpu);
        wc.push_back(rows == 0 ? nullptr : cpu.put(w));
        wg.push_back(rows == 0 ? nullptr : gpu.put(w));
        gc.push_back(rows == 0 ? nullptr : cpu.put(w));
        gg.push_back(rows == 0 ? nullptr : gpu.put(w));
      }

      const Cost fwd_c = b.cpu->conv2d(s, xc, wc, yc), fwd_g = b.cuda->conv2d(s, xg, wg, yg);
      const Cost in_c = b.cpu->conv2d_backward_input(s, dyc, wc, dxc);
      const Cost in_g = b.cuda->conv2d_backward_input(s, dyg, wg, dxg);
      const Cost par_c = b.cpu->conv2d_backward_params(s, xc, dyc, -0.01f, gc);
      const Cost par_g = b.cuda->conv2d_backward_params(s, xg, dyg, -0.01f, gg);

      CHECK(fwd_g.flops == fwd_c.flops);
      CHECK(fwd_g.bytes == fwd_c.bytes);
      CHECK(in_g.flops == in_c.flops);
      CHECK(par_g.flops == par_c.flops);
      const auto n = static_cast<std::size_t>(s.parameter_count());
      for (std::size_t i = 0; i < xc.size(); ++i) {
        INFO("item " << i << " (" << xc[i].rows << " images)");
        if (xc[i].rows == 0) continue;
        check_sum(gpu.get(yg[i]), cpu.get(yc[i]), static_cast<double>(s.in_channels * s.kernel * s.kernel),
                  s.out_features(), "y");
        check_sum(gpu.get(dxg[i]), cpu.get(dxc[i]), static_cast<double>(s.out_channels * s.kernel * s.kernel),
                  s.in_features(), "dx");
        check_sum(gpu.get(gg[i], n), cpu.get(gc[i], n),
                  0.01 * static_cast<double>(xc[i].rows * s.out_height() * s.out_width()), 0, "parameters");
      }
    }
  }

  TEST_CASE("cuda max_pool2d, max_pool2d_backward and relu: match the cpu reference bit for bit, ties included") {
    Backends b;
    for (const Pool2dShape& s : {Pool2dShape{10, 24, 24, 2}, Pool2dShape{20, 8, 8, 2}, Pool2dShape{3, 6, 9, 3}}) {
      INFO("pool window " << s.window << ", " << s.channels << " channels");
      dtsim::Rng rng(8, "cuda-pool", s.channels);
      OnBackend cpu(*b.cpu), gpu(*b.cuda);
      std::vector<ConstMatView> xc, xg, dyc, dyg;
      std::vector<MatView> yc, yg, dxc, dxg;
      for (std::int64_t i = 0; i < 35; ++i) {
        const std::int64_t rows = 1 + i % 4;
        Mat x = random_mat(rows, s.in_features(), i % 2, rng);
        for (auto& v : x.host) v = static_cast<float>(static_cast<int>(v * 3)) / 3;  // ties
        xc.push_back(cpu.put(x));
        xg.push_back(gpu.put(x));
        const auto dy = put_images(cpu, gpu, rows, s.out_features(), 1, rng);
        const auto y = put_images(cpu, gpu, rows, s.out_features(), 0, rng);
        const auto dx = put_images(cpu, gpu, rows, s.in_features(), 2, rng);
        dyc.push_back(dy.cpu);
        dyg.push_back(dy.gpu);
        yc.push_back(y.cpu);
        yg.push_back(y.gpu);
        dxc.push_back(dx.cpu);
        dxg.push_back(dx.gpu);
      }

      b.cpu->max_pool2d(s, xc, yc);
      b.cuda->max_pool2d(s, xg, yg);
      b.cpu->max_pool2d_backward(s, xc, dyc, dxc);
      b.cuda->max_pool2d_backward(s, xg, dyg, dxg);
      b.cpu->relu(dxc);
      b.cuda->relu(dxg);

      for (std::size_t i = 0; i < xc.size(); ++i) {
        INFO("item " << i);
        check_bits(gpu.get(yg[i]), cpu.get(yc[i]), s.out_features(), "pooled");
        check_bits(gpu.get(dxg[i]), cpu.get(dxc[i]), s.in_features(), "pool gradient after relu");
      }
    }
  }

  TEST_CASE("cuda dropout: the device's masks and values are the cpu's bit for bit (one hash, host and device)") {
    Backends b;
    for (auto [p, group] : {std::pair{0.5f, std::int64_t{1}}, std::pair{0.3f, std::int64_t{64}},
                            std::pair{0.9f, std::int64_t{5}}, std::pair{0.0f, std::int64_t{1}}}) {
      INFO("p " << p << ", group " << group);
      dtsim::Rng rng(9, "cuda-dropout");
      OnBackend cpu(*b.cpu), gpu(*b.cuda);
      std::vector<MatView> xc, xg;
      std::vector<std::uint64_t> keys;
      for (std::int64_t i = 0; i < 35; ++i) {
        const auto x = put_images(cpu, gpu, 1 + i % 11, 20 * 64, i % 3, rng);
        xc.push_back(x.cpu);
        xg.push_back(x.gpu);
        keys.push_back(rng.next_u64());
      }

      const Cost cost_c = b.cpu->dropout(p, group, keys, xc);
      const Cost cost_g = b.cuda->dropout(p, group, keys, xg);

      CHECK(cost_g.flops == cost_c.flops);
      for (std::size_t i = 0; i < xc.size(); ++i) {
        INFO("item " << i);
        check_bits(gpu.get(xg[i]), cpu.get(xc[i]), xc[i].cols, "x");
      }
    }
  }

  TEST_CASE("cuda backend: alloc is zeroed, copy moves device memory, and view_host declines") {
    Backends b;
    Buffer buf = b.cuda->alloc(1000);
    Buffer other = b.cuda->alloc(1000);
    std::vector<float> host(1000, 3.0f), back(1000, -1.0f);

    b.cuda->download(buf.data(), 1000, back.data());
    const bool zero = std::all_of(back.begin(), back.end(), [](float v) { return v == 0.0f; });
    b.cuda->upload(host.data(), 1000, buf.data());
    b.cuda->copy(buf.data(), 1000, other.data());
    b.cuda->download(other.data(), 1000, back.data());

    CHECK(zero);
    CHECK(back == host);
    CHECK(b.cuda->view_host(host.data(), host.size()) == nullptr);
    CHECK(b.cuda->name() == "cuda");
  }
}

int main(int argc, char** argv) {
  std::string why;
  if (!cuda_device_available(&why)) {
    std::printf("test_cuda: SKIPPED: %s\n", why.c_str());
    return 77;  // ctest SKIP_RETURN_CODE
  }
  doctest::Context context(argc, argv);
  return context.run();
}
