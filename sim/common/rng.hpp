// Keyed random streams (DESIGN principle 3): every draw comes from a stream named by
// (seed, purpose, keys...) — typically (seed, "shuffle", client, round) — so results never depend on
// the order in which clients are scheduled, batched or threaded. Any number of keys may follow the
// purpose; streams with up to two keys are the ones the spine used (fewer keys are padded with 0s, so
// Rng(s, p) == Rng(s, p, 0) == Rng(s, p, 0, 0)), and each further key mixes in one more step. The generator is xoshiro256**
// seeded through SplitMix64; the distributions are written by hand because the standard library's
// differ between implementations.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <string_view>
#include <type_traits>

namespace dtsim {

constexpr std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// FNV-1a of the purpose name: stable across builds and platforms.
constexpr std::uint64_t purpose_hash(std::string_view purpose) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : purpose) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

class Rng {
 public:
  // A stream for (seed, purpose, keys...); keys are integers (client ids, rounds, epochs, layers),
  // converted to uint64 (a negative key wraps, and is still a distinct key).
  template <class... Keys>
    requires(std::is_integral_v<Keys> && ...)
  explicit Rng(std::uint64_t seed, std::string_view purpose, Keys... keys) {
    std::uint64_t sm = seed;
    std::uint64_t mix = splitmix64(sm) ^ purpose_hash(purpose);
    const std::uint64_t list[] = {static_cast<std::uint64_t>(keys)..., 0, 0};
    constexpr std::size_t count = sizeof...(Keys) < 2 ? 2 : sizeof...(Keys);
    for (std::size_t i = 0; i < count; ++i) mix = splitmix64(mix) ^ list[i];
    for (auto& word : s_) word = splitmix64(mix);
  }

  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform on [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // Uniform integer on [0, n), n > 0, without modulo bias (Lemire's rejection).
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t threshold = (0 - n) % n;
    for (;;) {
      const std::uint64_t r = next_u64();
      const unsigned __int128 m = static_cast<unsigned __int128>(r) * n;
      if (static_cast<std::uint64_t>(m) >= threshold) return static_cast<std::uint64_t>(m >> 64);
    }
  }

  // Standard normal by Box–Muller (one value per call; the pair's second value is discarded so a
  // stream's n-th draw never depends on how earlier draws were interleaved).
  double normal() {
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }
  double normal(double mean, double stddev) { return mean + stddev * normal(); }

  double exponential(double rate) {
    double u = uniform();
    while (u <= 0.0) u = uniform();
    return -std::log(u) / rate;
  }

  // Gamma(shape, 1) by Marsaglia–Tsang; shape < 1 through the boost u^(1/shape).
  double gamma(double shape) {
    if (shape < 1.0) {
      double u = uniform();
      while (u <= 0.0) u = uniform();
      return gamma(shape + 1.0) * std::pow(u, 1.0 / shape);
    }
    const double d = shape - 1.0 / 3.0;
    const double c = 1.0 / std::sqrt(9.0 * d);
    for (;;) {
      double x = normal();
      double v = 1.0 + c * x;
      if (v <= 0.0) continue;
      v = v * v * v;
      double u = uniform();
      if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
      if (u > 0.0 && std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
    }
  }

 private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4]{};
};

}  // namespace dtsim
