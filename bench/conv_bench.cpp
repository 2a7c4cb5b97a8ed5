// Micro benchmark of the image operations: one training step of the CNN "CNNMnist" (McMahan et al.,
// "Communication-Efficient Learning of Deep Networks from Decentralized Data", AISTATS 2017, as in the
// usual PyTorch port: 1×28×28 → conv 1→10 5×5 → maxpool 2 → relu → conv 10→20 5×5 → dropout2d 0.5 →
// maxpool 2 → relu → 320 → dense 50 (relu) → dense 10) at batch 10, through the Backend's single-item
// calls on one CPU thread, as a client's local training runs on one lane of the trainer.
//
//     conv_bench [--steps N] [--threads T]
//
// Times every call of N steps (after 20 warm-up steps) and prints, per operation, its median time,
// its modelled flops and GFLOP/s; then the median step and what a round of 6,000 samples (600 steps)
// would take on two cores running clients side by side (half of 600 steps each). conv1's
// conv2d_backward_input is timed on its own line but left out of the step: a first layer needs no
// input gradient.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "kernels/backend.hpp"
#include "sim/common/rng.hpp"

namespace {

using namespace dtsim::kernels;
using Clock = std::chrono::steady_clock;

// A one-item span (the temporary it views lives to the end of the call's full expression).
template <class T>
std::span<const T> one(const T& v) {
  return {&v, 1};
}

struct Op {
  Op(std::string n, bool step, std::function<Cost()> f) : name(std::move(n)), in_step(step), call(std::move(f)) {}
  std::string name;
  bool in_step;  // counted in the step's total
  std::function<Cost()> call;
  std::vector<double> seconds;
  double flops = 0;
};

}  // namespace

int main(int argc, char** argv) {
  int steps = 300, threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--steps")) {
      steps = std::max(1, std::atoi(argv[i + 1]));
    } else if (!std::strcmp(argv[i], "--threads")) {
      threads = std::max(1, std::atoi(argv[i + 1]));
    } else {
      std::fprintf(stderr, "usage: %s [--steps N] [--threads T]\n", argv[0]);
      return 2;
    }
  }
  auto be = make_cpu_backend(threads);
  constexpr std::int64_t b = 10;
  const Conv2dShape c1{1, 10, 28, 28, 5, 0}, c2{10, 20, 12, 12, 5, 0};
  const Pool2dShape p1{10, 24, 24, 2}, p2{20, 8, 8, 2};
  constexpr std::int64_t kHidden = 50, kClasses = 10, kFlat = 320;
  const float lr = 0.01f;

  dtsim::Rng rng(1, "conv-bench");
  auto buffer = [&](std::int64_t n, float scale) {
    Buffer buf = be->alloc(static_cast<std::size_t>(n));
    for (std::int64_t j = 0; j < n; ++j) buf.data()[j] = static_cast<float>(rng.uniform(-scale, scale));
    return buf;
  };
  // Inputs, parameters (filters then biases; dense weights out × in) and activations.
  Buffer x = buffer(b * c1.in_features(), 1), w1 = buffer(c1.parameter_count(), 0.2f),
         w2 = buffer(c2.parameter_count(), 0.06f), w3 = buffer(kHidden * kFlat + kHidden, 0.05f),
         w4 = buffer(kClasses * kHidden + kClasses, 0.14f);
  Buffer a1 = buffer(b * c1.out_features(), 0), h1 = buffer(b * p1.out_features(), 0),
         a2 = buffer(b * c2.out_features(), 0), h2 = buffer(b * p2.out_features(), 0), h3 = buffer(b * kHidden, 0),
         z = buffer(b * kClasses, 0);
  Buffer dh3 = buffer(b * kHidden, 0), dh2 = buffer(b * kFlat, 0), da2 = buffer(b * c2.out_features(), 0),
         dh1 = buffer(b * p1.out_features(), 0), da1 = buffer(b * c1.out_features(), 0),
         dx = buffer(b * c1.in_features(), 0);
  std::vector<std::int32_t> labels(b);
  for (auto& l : labels) l = static_cast<std::int32_t>(rng.below(kClasses));

  auto m = [](const Buffer& buf, std::int64_t rows, std::int64_t cols, std::size_t offset = 0) {
    return buf.mat(rows, cols, offset);
  };
  auto c = [](const MatView& v) { return ConstMatView(v); };
  const float* w1p = w1.data();
  const float* w2p = w2.data();
  float* w1g = w1.data();
  float* w2g = w2.data();
  const float* b3 = w3.data() + kHidden * kFlat;
  const float* b4 = w4.data() + kClasses * kHidden;
  float* b3g = w3.data() + kHidden * kFlat;
  float* b4g = w4.data() + kClasses * kHidden;
  const MatView W3 = m(w3, kHidden, kFlat), W4 = m(w4, kClasses, kHidden);
  std::uint64_t key = 0;
  double loss = 0;
  std::int64_t hits = 0;
  const std::int32_t* lab = labels.data();

  std::vector<Op> ops = {
      {"conv1 conv2d", true, [&] { return be->conv2d(c1, one(c(m(x, b, 784))), one(w1p), one(m(a1, b, 5760))); }},
      {"pool1 max_pool2d", true, [&] { return be->max_pool2d(p1, one(c(m(a1, b, 5760))), one(m(h1, b, 1440))); }},
      {"pool1 relu", true, [&] { return be->relu(one(m(h1, b, 1440))); }},
      {"conv2 conv2d", true, [&] { return be->conv2d(c2, one(c(m(h1, b, 1440))), one(w2p), one(m(a2, b, 1280))); }},
      {"conv2 dropout2d", true, [&] { return be->dropout(0.5f, 64, one(++key), one(m(a2, b, 1280))); }},
      {"pool2 max_pool2d", true, [&] { return be->max_pool2d(p2, one(c(m(a2, b, 1280))), one(m(h2, b, 320))); }},
      {"pool2 relu", true, [&] { return be->relu(one(m(h2, b, 320))); }},
      {"fc1 gemm+bias_relu", true,
       [&] {
         Cost cost = be->gemm(Trans::no, Trans::yes, 1, one(c(m(h2, b, kFlat))), one(c(W3)), 0, one(m(h3, b, kHidden)));
         cost += be->bias_activation(Activation::relu, one(b3), one(m(h3, b, kHidden)));
         return cost;
       }},
      {"fc2 gemm+bias", true,
       [&] {
         Cost cost =
             be->gemm(Trans::no, Trans::yes, 1, one(c(m(h3, b, kHidden))), one(c(W4)), 0, one(m(z, b, kClasses)));
         cost += be->bias_activation(Activation::none, one(b4), one(m(z, b, kClasses)));
         return cost;
       }},
      {"softmax_xent", true,
       [&] {
         return be->softmax_xent(one(m(z, b, kClasses)), one(lab), true, 1.0f / b, std::span(&loss, 1), {},
                                 std::span(&hits, 1));
       }},
      {"fc2 backward", true,
       [&] {
         Cost cost =
             be->gemm(Trans::no, Trans::no, 1, one(c(m(z, b, kClasses))), one(c(W4)), 0, one(m(dh3, b, kHidden)));
         cost += be->gemm(Trans::yes, Trans::no, -lr, one(c(m(z, b, kClasses))), one(c(m(h3, b, kHidden))), 1, one(W4));
         cost += be->add_column_sums(-lr, one(c(m(z, b, kClasses))), one(b4g));
         cost += be->relu_backward(one(c(m(h3, b, kHidden))), one(m(dh3, b, kHidden)));
         return cost;
       }},
      {"fc1 backward", true,
       [&] {
         Cost cost =
             be->gemm(Trans::no, Trans::no, 1, one(c(m(dh3, b, kHidden))), one(c(W3)), 0, one(m(dh2, b, kFlat)));
         cost += be->gemm(Trans::yes, Trans::no, -lr, one(c(m(dh3, b, kHidden))), one(c(m(h2, b, kFlat))), 1, one(W3));
         cost += be->add_column_sums(-lr, one(c(m(dh3, b, kHidden))), one(b3g));
         cost += be->relu_backward(one(c(m(h2, b, kFlat))), one(m(dh2, b, kFlat)));
         return cost;
       }},
      {"pool2 max_pool2d_backward", true,
       [&] {
         return be->max_pool2d_backward(p2, one(c(m(a2, b, 1280))), one(c(m(dh2, b, 320))), one(m(da2, b, 1280)));
       }},
      {"conv2 dropout2d backward", true, [&] { return be->dropout(0.5f, 64, one(key), one(m(da2, b, 1280))); }},
      {"conv2 conv2d_backward_input", true,
       [&] { return be->conv2d_backward_input(c2, one(c(m(da2, b, 1280))), one(w2p), one(m(dh1, b, 1440))); }},
      {"conv2 conv2d_backward_params", true,
       [&] { return be->conv2d_backward_params(c2, one(c(m(h1, b, 1440))), one(c(m(da2, b, 1280))), -lr, one(w2g)); }},
      {"pool1 relu_backward", true, [&] { return be->relu_backward(one(c(m(h1, b, 1440))), one(m(dh1, b, 1440))); }},
      {"pool1 max_pool2d_backward", true,
       [&] {
         return be->max_pool2d_backward(p1, one(c(m(a1, b, 5760))), one(c(m(dh1, b, 1440))), one(m(da1, b, 5760)));
       }},
      {"conv1 conv2d_backward_params", true,
       [&] { return be->conv2d_backward_params(c1, one(c(m(x, b, 784))), one(c(m(da1, b, 5760))), -lr, one(w1g)); }},
      {"conv1 conv2d_backward_input", false,
       [&] { return be->conv2d_backward_input(c1, one(c(m(da1, b, 5760))), one(w1p), one(m(dx, b, 784))); }},
  };

  constexpr int kWarmup = 20;
  std::vector<double> step_s;
  for (int s = 0; s < kWarmup + steps; ++s) {
    double step = 0;
    for (Op& op : ops) {
      const auto start = Clock::now();
      op.flops = op.call().flops;
      const double t = std::chrono::duration<double>(Clock::now() - start).count();
      if (s >= kWarmup) op.seconds.push_back(t);
      if (op.in_step) step += t;
    }
    if (s >= kWarmup) step_s.push_back(step);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };

  std::printf("CNNMnist training step, batch %lld, %d backend thread(s), %d steps (medians)\n",
              static_cast<long long>(b), threads, steps);
  std::printf("%-30s %10s %10s %9s\n", "operation", "MFLOP", "us", "GFLOP/s");
  double step_flops = 0;
  for (const Op& op : ops) {
    const double t = median(op.seconds);
    std::printf("%-30s %10.3f %10.1f %9.2f%s\n", op.name.c_str(), op.flops * 1e-6, t * 1e6, op.flops / t * 1e-9,
                op.in_step ? "" : "   (not in the step)");
    if (op.in_step) step_flops += op.flops;
  }
  const double step = median(step_s);
  std::printf("%-30s %10.3f %10.1f %9.2f\n", "step", step_flops * 1e-6, step * 1e6, step_flops / step * 1e-9);
  std::printf("round of 600 steps on 2 cores (300 each): %.3f s\n", 300 * step);
  return 0;
}
