// Convolutions as small GEMMs over unrolled images, with a register-tiled kernel of our own: at the
// CNN's shapes (M = 10..64 channels, K = 10..800, per image) Eigen's packing and blocking cost more
// than the product (measured: bench/conv_bench.cpp).
//
//   forward          Y (Co × Ho·Wo) = W (Co × Ci·k²) · cols (Ci·k² × Ho·Wo) + bias        per image
//   backward input   dcols_c (k² × Ho·Wo) = W_cᵀ (k² × Co) · dY (Co × Ho·Wo), scattered back
//                    into channel c of dX (col2im)                                        per image, channel
//   backward params  dW|db (Co × Ci·k² + 1) += dY (Co × Ho·Wo) · rows (Ho·Wo × Ci·k² + 1)  summed over images
//
// cols is im2col (row (c, ky, kx), column (oy, ox): the padded image at (c, oy + ky, ox + kx)); rows is
// its transpose with a last column of ones, so that the product's last column is the bias gradient.
// Both are built from a zero-padded copy of the image, so neither needs bounds checks.
//
// The GEMM kernel keeps an MR × 16·NV tile of C in registers (MR·NV <= 24 of the 32 vector registers),
// streams K rows of B and broadcasts A's elements; C's element (m, n) is a fused multiply-add chain
// over k = 0, 1, …, K − 1, so its value depends only on the operands.
#include "kernels/cpu/image_ops.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <utility>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace dtsim::kernels::cpu {
namespace {

// 16 float lanes: AVX-512 where the compiler targets it (-march=native on AVX-512 machines), else
// arrays with std::fma, which compute the same bits more slowly. Masked lanes are neither read nor
// written (and read as 0).
constexpr int kLanes = 16;
#if defined(__AVX512F__)
using Mask = __mmask16;
struct Vec {
  __m512 v;
};
inline Vec zero() { return {_mm512_setzero_ps()}; }
inline Vec splat(float s) { return {_mm512_set1_ps(s)}; }
inline Vec load(const float* p, Mask m) { return {_mm512_maskz_loadu_ps(m, p)}; }
inline void store(float* p, Vec a, Mask m) { _mm512_mask_storeu_ps(p, m, a.v); }
inline Vec fma(Vec a, Vec b, Vec c) { return {_mm512_fmadd_ps(a.v, b.v, c.v)}; }
inline Vec add(Vec a, Vec b) { return {_mm512_add_ps(a.v, b.v)}; }
#else
using Mask = unsigned;
struct Vec {
  float v[kLanes];
};
inline Vec splat(float s) {
  Vec r;
  for (float& x : r.v) x = s;
  return r;
}
inline Vec zero() { return splat(0.0f); }
inline Vec load(const float* p, Mask m) {
  Vec r;
  for (int l = 0; l < kLanes; ++l) r.v[l] = (m >> l) & 1u ? p[l] : 0.0f;
  return r;
}
inline void store(float* p, Vec a, Mask m) {
  for (int l = 0; l < kLanes; ++l)
    if ((m >> l) & 1u) p[l] = a.v[l];
}
inline Vec fma(Vec a, Vec b, Vec c) {
  for (int l = 0; l < kLanes; ++l) c.v[l] = std::fma(a.v[l], b.v[l], c.v[l]);
  return c;
}
inline Vec add(Vec a, Vec b) {
  for (int l = 0; l < kLanes; ++l) a.v[l] += b.v[l];
  return a;
}
#endif

// The first n lanes (n clamped to [0, 16]).
inline Mask first(std::int64_t n) {
  return static_cast<Mask>((1u << std::clamp<std::int64_t>(n, 0, kLanes)) - 1u);
}

void copy_floats(float* dst, const float* src, std::int64_t n) {
  for (std::int64_t j = 0; j < n; j += kLanes) store(dst + j, load(src + j, first(n - j)), first(n - j));
}
void add_floats(float* dst, const float* src, std::int64_t n) {
  for (std::int64_t j = 0; j < n; j += kLanes) {
    const Mask m = first(n - j);
    store(dst + j, add(load(dst + j, m), load(src + j, m)), m);
  }
}

// C (M × N, row stride ldc) = start + A · B, where A(m, k) = a[m·a_rs + k·a_cs] and B row k is at
// b + k·ldb. start is 0, bias[m] on row m, or C's own values.
enum class Start { zero, bias, c };
struct Gemm {
  std::int64_t m, n, k;
  const float* a;
  std::int64_t a_rs, a_cs;
  const float* b;
  std::int64_t ldb;
  float* c;
  std::int64_t ldc;
  Start start;
  const float* bias;
};

constexpr int kMaxTileRows = 12;
constexpr int kMaxTileVectors = 4;
constexpr int kTileRegisters = 24;

// Rows [m0, m0 + MR) and columns [n0, n0 + 16·NV) of C (the columns past g.n are masked off).
template <int MR, int NV>
void gemm_tile(const Gemm& g, std::int64_t m0, std::int64_t n0) {
  // Locals and fully unrolled loops, so that the compiler keeps acc in registers.
  const std::int64_t depth = g.k, a_rs = g.a_rs, a_cs = g.a_cs, ldb = g.ldb, ldc = g.ldc;
  float* const c = g.c + m0 * ldc + n0;
  Mask mask[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) mask[v] = first(g.n - n0 - v * kLanes);
  Vec acc[MR][NV];
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      if (g.start == Start::zero) acc[r][v] = zero();
      if (g.start == Start::bias) acc[r][v] = splat(g.bias[m0 + r]);
      if (g.start == Start::c) acc[r][v] = load(c + r * ldc + v * kLanes, mask[v]);
    }
  }
  const float* a = g.a + m0 * a_rs;
  const float* b = g.b + n0;
  for (std::int64_t k = 0; k < depth; ++k, a += a_cs, b += ldb) {
    Vec bk[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bk[v] = load(b + v * kLanes, mask[v]);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r) {
      const Vec ar = splat(a[r * a_rs]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = fma(ar, bk[v], acc[r][v]);
    }
  }
#pragma GCC unroll 12
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) store(c + r * ldc + v * kLanes, acc[r][v], mask[v]);
}

using TileFn = void (*)(const Gemm&, std::int64_t, std::int64_t);
template <std::size_t... I>
constexpr std::array<TileFn, sizeof...(I)> tile_table(std::index_sequence<I...>) {
  return {&gemm_tile<static_cast<int>(I / kMaxTileVectors) + 1, static_cast<int>(I % kMaxTileVectors) + 1>...};
}
constexpr auto kTiles = tile_table(std::make_index_sequence<kMaxTileRows * kMaxTileVectors>());

// Panels of 64 columns; in each, the rows in even blocks of at most kTileRegisters / NV rows.
void gemm(const Gemm& g) {
  for (std::int64_t n0 = 0; n0 < g.n; n0 += kMaxTileVectors * kLanes) {
    const int nv = static_cast<int>(std::min<std::int64_t>(kMaxTileVectors, (g.n - n0 + kLanes - 1) / kLanes));
    const std::int64_t most = std::min(kMaxTileRows, kTileRegisters / nv);
    const std::int64_t blocks = (g.m + most - 1) / most;
    std::int64_t m0 = 0;
    for (std::int64_t blk = 0; blk < blocks; ++blk) {
      const std::int64_t rows = g.m / blocks + (blk < g.m % blocks ? 1 : 0);
      kTiles[static_cast<std::size_t>((rows - 1) * kMaxTileVectors + nv - 1)](g, m0, n0);
      m0 += rows;
    }
  }
}

// This thread's scratch, at least n floats (grown, never shrunk; one per thread, so calls on
// different threads never share it).
float* scratch(std::size_t n) {
  thread_local std::vector<float> buffer;
  if (buffer.size() < n) buffer.resize(n);
  return buffer.data();
}

// The sizes a convolution's unrolling works with.
struct ConvDims {
  std::int64_t ci, co, h, w, k, pad, hp, wp, ho, wo;
  std::int64_t n;   // Ho·Wo, output positions
  std::int64_t kw;  // Ci·k², filter weights per output channel
  explicit ConvDims(const Conv2dShape& s)
      : ci(s.in_channels), co(s.out_channels), h(s.height), w(s.width), k(s.kernel), pad(s.padding),
        hp(s.height + 2 * s.padding), wp(s.width + 2 * s.padding), ho(s.out_height()), wo(s.out_width()),
        n(ho * wo), kw(ci * k * k) {}
  std::int64_t padded_floats() const { return pad > 0 ? ci * hp * wp : 0; }
};

// The image (Ci × H × W) with pad zeros on every side, at out (Ci × Hp × Wp); the image itself when
// pad = 0.
const float* padded(const ConvDims& d, const float* img, float* out) {
  if (d.pad == 0) return img;
  std::fill(out, out + d.ci * d.hp * d.wp, 0.0f);
  for (std::int64_t c = 0; c < d.ci; ++c)
    for (std::int64_t y = 0; y < d.h; ++y)
      copy_floats(out + (c * d.hp + y + d.pad) * d.wp + d.pad, img + (c * d.h + y) * d.w, d.w);
  return out;
}

// cols (Ci·k² × Ho·Wo): row (c, ky, kx), column (oy, ox) = padded image at (c, oy + ky, ox + kx).
void im2col(const ConvDims& d, const float* img, float* cols) {
  for (std::int64_t c = 0; c < d.ci; ++c)
    for (std::int64_t ky = 0; ky < d.k; ++ky)
      for (std::int64_t kx = 0; kx < d.k; ++kx) {
        float* row = cols + ((c * d.k + ky) * d.k + kx) * d.n;
        const float* src = img + (c * d.hp + ky) * d.wp + kx;
        for (std::int64_t oy = 0; oy < d.ho; ++oy) copy_floats(row + oy * d.wo, src + oy * d.wp, d.wo);
      }
}

// rows (Ho·Wo × Ci·k² + 1): im2col's transpose, then a column of ones.
void im2row(const ConvDims& d, const float* img, float* rows) {
  const std::int64_t ld = d.kw + 1;
  for (std::int64_t oy = 0; oy < d.ho; ++oy)
    for (std::int64_t ox = 0; ox < d.wo; ++ox) {
      float* row = rows + (oy * d.wo + ox) * ld;
      for (std::int64_t c = 0; c < d.ci; ++c)
        for (std::int64_t ky = 0; ky < d.k; ++ky)
          copy_floats(row + (c * d.k + ky) * d.k, img + (c * d.hp + oy + ky) * d.wp + ox, d.k);
      row[d.kw] = 1.0f;
    }
}

}  // namespace

void conv2d_rows(const Conv2dShape& s, const ConstMatView& x, const float* w, const MatView& y, std::int64_t r0,
                 std::int64_t r1) {
  const ConvDims d(s);
  float* pad_buf = scratch(static_cast<std::size_t>(d.padded_floats() + d.kw * d.n));
  float* cols = pad_buf + d.padded_floats();
  for (std::int64_t r = r0; r < r1; ++r) {
    im2col(d, padded(d, x.data + r * x.ld, pad_buf), cols);
    gemm({d.co, d.n, d.kw, w, d.kw, 1, cols, d.n, y.data + r * y.ld, d.n, Start::bias, w + d.co * d.kw});
  }
}

void conv2d_backward_input_rows(const Conv2dShape& s, const ConstMatView& dy, const float* w, const MatView& dx,
                                std::int64_t r0, std::int64_t r1) {
  const ConvDims d(s);
  const std::int64_t kk = d.k * d.k;
  float* acc = scratch(static_cast<std::size_t>(d.hp * d.wp + kk * d.n));  // channel c of dX, padded
  float* dcols = acc + d.hp * d.wp;                                        // k² × Ho·Wo
  for (std::int64_t r = r0; r < r1; ++r) {
    const float* dy_r = dy.data + r * dy.ld;
    for (std::int64_t c = 0; c < d.ci; ++c) {
      // A(m, o) = W[o][c][m] for m = (ky, kx): filter o's weights for channel c, transposed.
      gemm({kk, d.n, d.co, w + c * kk, 1, d.kw, dy_r, d.n, dcols, d.n, Start::zero, nullptr});
      std::fill(acc, acc + d.hp * d.wp, 0.0f);
      for (std::int64_t ky = 0; ky < d.k; ++ky)
        for (std::int64_t kx = 0; kx < d.k; ++kx)
          for (std::int64_t oy = 0; oy < d.ho; ++oy)
            add_floats(acc + (oy + ky) * d.wp + kx, dcols + (ky * d.k + kx) * d.n + oy * d.wo, d.wo);
      float* out = dx.data + r * dx.ld + c * d.h * d.w;
      for (std::int64_t iy = 0; iy < d.h; ++iy) copy_floats(out + iy * d.w, acc + (iy + d.pad) * d.wp + d.pad, d.w);
    }
  }
}

void conv2d_backward_params(const Conv2dShape& s, const ConstMatView& x, const ConstMatView& dy, float alpha,
                            float* g) {
  if (x.rows == 0) return;
  const ConvDims d(s);
  const std::int64_t ld = d.kw + 1;  // a filter's weights, then its bias
  float* sum = scratch(static_cast<std::size_t>(d.co * ld + d.padded_floats() + d.n * ld));
  float* pad_buf = sum + d.co * ld;
  float* rows = pad_buf + d.padded_floats();
  for (std::int64_t r = 0; r < x.rows; ++r) {
    im2row(d, padded(d, x.data + r * x.ld, pad_buf), rows);
    gemm({d.co, ld, d.n, dy.data + r * dy.ld, d.n, 1, rows, ld, sum, ld, r == 0 ? Start::zero : Start::c, nullptr});
  }
  for (std::int64_t o = 0; o < d.co; ++o) {
    for (std::int64_t q = 0; q < d.kw; ++q) g[o * d.kw + q] += alpha * sum[o * ld + q];
    g[d.co * d.kw + o] += alpha * sum[o * ld + d.kw];
  }
}

void max_pool2d_rows(const Pool2dShape& s, const ConstMatView& x, const MatView& y, std::int64_t r0, std::int64_t r1) {
  const std::int64_t win = s.window, h = s.height, w = s.width, ho = s.out_height(), wo = s.out_width();
  for (std::int64_t r = r0; r < r1; ++r) {
    for (std::int64_t c = 0; c < s.channels; ++c) {
      const float* img = x.data + r * x.ld + c * h * w;
      float* out = y.data + r * y.ld + c * ho * wo;
      for (std::int64_t oy = 0; oy < ho; ++oy)
        for (std::int64_t ox = 0; ox < wo; ++ox) {
          const float* tile = img + oy * win * w + ox * win;
          float best = tile[0];
          for (std::int64_t ty = 0; ty < win; ++ty)
            for (std::int64_t tx = 0; tx < win; ++tx) best = tile[ty * w + tx] > best ? tile[ty * w + tx] : best;
          out[oy * wo + ox] = best;
        }
    }
  }
}

void max_pool2d_backward_rows(const Pool2dShape& s, const ConstMatView& x, const ConstMatView& dy, const MatView& dx,
                              std::int64_t r0, std::int64_t r1) {
  const std::int64_t win = s.window, h = s.height, w = s.width, ho = s.out_height(), wo = s.out_width();
  for (std::int64_t r = r0; r < r1; ++r) {
    for (std::int64_t c = 0; c < s.channels; ++c) {
      const float* img = x.data + r * x.ld + c * h * w;
      const float* grad = dy.data + r * dy.ld + c * ho * wo;
      float* out = dx.data + r * dx.ld + c * h * w;
      for (std::int64_t oy = 0; oy < ho; ++oy)
        for (std::int64_t ox = 0; ox < wo; ++ox) {
          const std::int64_t corner = oy * win * w + ox * win;
          std::int64_t arg = corner;
          for (std::int64_t ty = 0; ty < win; ++ty)
            for (std::int64_t tx = 0; tx < win; ++tx) {
              const std::int64_t at = corner + ty * w + tx;
              out[at] = 0.0f;
              if (img[at] > img[arg]) arg = at;
            }
          out[arg] = grad[oy * wo + ox];
        }
    }
  }
}

}  // namespace dtsim::kernels::cpu
