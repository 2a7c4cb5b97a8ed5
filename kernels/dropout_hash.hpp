// The counter-based hash behind Backend::dropout's masks (kernels/op_contract.hpp re-exports it): a
// pure function of (key, row, unit), so a mask is the same on every backend, thread count and chunk,
// and needs no generator state. Plain C++17 with no library types, so that kernels/cuda/cuda_kernels.cu
// (nvcc, CUDA 17) includes this very code: host and device compute the same bits.
//
// The construction is SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number
// generators", OOPSLA 2014; Vigna's finaliser constants) nested twice: the row's state is output
// row + 1 of the stream seeded by the mixed key, and a unit's value is output unit + 1 of the stream
// seeded by the row's state. Its 53 high bits make a double in [0, 1), exactly on every IEEE machine.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define DTSIM_HOST_DEVICE __host__ __device__
#else
#define DTSIM_HOST_DEVICE
#endif

namespace dtsim::kernels::contract {

// SplitMix64's finaliser: a bijection of 64-bit words that mixes every input bit into every output bit.
DTSIM_HOST_DEVICE inline std::uint64_t mix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The row's state: what dropout_unit_uniform needs to draw the row's units (computed once per row).
DTSIM_HOST_DEVICE inline std::uint64_t dropout_row_state(std::uint64_t key, std::int64_t row) {
  return mix64(mix64(key) + 0x9e3779b97f4a7c15ULL * (static_cast<std::uint64_t>(row) + 1));
}

// Uniform in [0, 1), a multiple of 2^-53, for one unit of the row whose state is `row_state`.
DTSIM_HOST_DEVICE inline double dropout_unit_uniform(std::uint64_t row_state, std::int64_t unit) {
  const std::uint64_t h = mix64(row_state + 0x9e3779b97f4a7c15ULL * (static_cast<std::uint64_t>(unit) + 1));
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

// The uniform draw for (key, row, unit): Backend::dropout keeps the unit when it is >= p.
DTSIM_HOST_DEVICE inline double dropout_uniform(std::uint64_t key, std::int64_t row, std::int64_t unit) {
  return dropout_unit_uniform(dropout_row_state(key, row), unit);
}

}  // namespace dtsim::kernels::contract
