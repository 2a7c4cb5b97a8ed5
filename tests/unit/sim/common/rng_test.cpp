#include "sim/common/rng.hpp"

#include <doctest/doctest.h>

#include <set>

using dtsim::Rng;
using dtsim::splitmix64;

namespace {
// The spine's two-key stream (seed, purpose, a, b), written out: the variadic Rng must reproduce it.
std::uint64_t spine_first_draw(std::uint64_t seed, std::string_view purpose, std::uint64_t a, std::uint64_t b) {
  std::uint64_t sm = seed;
  std::uint64_t mix = splitmix64(sm) ^ dtsim::purpose_hash(purpose);
  mix = splitmix64(mix) ^ a;
  mix = splitmix64(mix) ^ b;
  std::uint64_t s[4];
  for (auto& word : s) word = splitmix64(mix);
  // xoshiro256**'s first output
  const std::uint64_t x = s[1] * 5;
  return ((x << 7) | (x >> 57)) * 9;
}
}  // namespace

TEST_SUITE("common") {
  TEST_CASE("rng: streams with up to two keys are the spine's, bit for bit") {
    for (std::uint64_t seed : {0u, 1u, 7u, 123456789u}) {
      CAPTURE(seed);
      CHECK(Rng(seed, "shuffle", 3, 9).next_u64() == spine_first_draw(seed, "shuffle", 3, 9));
      CHECK(Rng(seed, "platform.speed", 41).next_u64() == spine_first_draw(seed, "platform.speed", 41, 0));
      CHECK(Rng(seed, "init").next_u64() == spine_first_draw(seed, "init", 0, 0));
    }
  }

  TEST_CASE("rng: missing keys read as 0, and a third key makes another stream") {
    CHECK(Rng(5, "x").next_u64() == Rng(5, "x", 0).next_u64());
    CHECK(Rng(5, "x", 2).next_u64() == Rng(5, "x", 2, 0).next_u64());
    std::set<std::uint64_t> firsts;
    for (int epoch = 0; epoch < 50; ++epoch) firsts.insert(Rng(5, "shuffle", 3, 9, epoch).next_u64());
    CHECK(firsts.size() == 50);
    CHECK(firsts.count(Rng(5, "shuffle", 3, 9).next_u64()) == 0);
    CHECK(Rng(5, "shuffle", 3, 9, 1, 2).next_u64() != Rng(5, "shuffle", 3, 9, 2, 1).next_u64());
  }
}
