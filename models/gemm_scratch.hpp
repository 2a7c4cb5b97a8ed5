// What the CPU backend's GEMM allocates per call, for the memory estimate of models built from GEMMs.
#pragma once

#include <cstdint>

namespace dtsim::models {

// Bytes the CPU backend allocates for one GEMM item with a rows × cols result and inner dimension depth
// (Eigen's packed panels, freed after each call).
double eigen_gemm_workspace(std::int64_t rows, std::int64_t cols, std::int64_t depth);

}  // namespace dtsim::models
