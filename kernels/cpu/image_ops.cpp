// Convolutions as small GEMMs over unrolled images, with a register-tiled kernel of our own: at the
// CNNs' per-image shapes (M = 10..64 channels, K = 10..800) Eigen's packing and blocking cost too
// much. Measured on a Zen 4 core: Eigen's product alone runs at 61 (conv1) and 78 (conv2) GFLOP/s, the
// whole forward operation here, unrolling included, at 75 and 99 (bench/conv_bench.cpp).
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
// The GEMM kernel keeps an MR × 16·NV tile of C in registers (AVX-512: MR·NV <= 24 of the 32 vector registers),
// streams K rows of B and broadcasts A's elements; C's element (m, n) is a fused multiply-add chain
// over k = 0, 1, …, K − 1, so its value depends only on the operands.
#include "kernels/cpu/image_ops.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <utility>
#include <vector>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

namespace dtsim::kernels::cpu {
namespace {

// 16 float lanes: AVX-512 where the compiler targets it (-march=native on AVX-512 machines), two AVX2
// vectors where it targets AVX2 and FMA, else arrays with std::fma. All three compute the same bits (one
// rounding per FMA). Masked lanes are neither read nor written (and read as 0).
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
#elif defined(__AVX2__) && defined(__FMA__)
using Mask = unsigned;
struct Vec {
  __m256 lo, hi;  // lanes 0-7, 8-15
};
// Bits 0-7 of m as AVX2's lane mask (all ones where the bit is set).
inline __m256i lanes(unsigned m) {
  const __m256i bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(static_cast<int>(m & 0xffu)), bit), bit);
}
inline Vec zero() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
inline Vec splat(float s) {
  const __m256 v = _mm256_set1_ps(s);
  return {v, v};
}
inline Vec load(const float* p, Mask m) {
  return {_mm256_maskload_ps(p, lanes(m)), _mm256_maskload_ps(p + 8, lanes(m >> 8))};
}
inline void store(float* p, Vec a, Mask m) {
  _mm256_maskstore_ps(p, lanes(m), a.lo);
  _mm256_maskstore_ps(p + 8, lanes(m >> 8), a.hi);
}
inline Vec fma(Vec a, Vec b, Vec c) { return {_mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi)}; }
inline Vec add(Vec a, Vec b) { return {_mm256_add_ps(a.lo, b.lo), _mm256_add_ps(a.hi, b.hi)}; }
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
inline Mask first(std::int64_t n) { return static_cast<Mask>((1u << std::clamp<std::int64_t>(n, 0, kLanes)) - 1u); }

// Copies n <= 16 floats, m = first(n): up to 8 with 256-bit operations, which AMD's Zen 4 runs at
// twice the rate of masked 512-bit ones (measured: conv2d_backward_params 15-20 % faster).
inline void copy_short(float* dst, const float* src, [[maybe_unused]] std::int64_t n, Mask m) {
#if defined(__AVX512VL__)
  if (n <= kLanes / 2) {
    const auto half = static_cast<__mmask8>(m);
    _mm256_mask_storeu_ps(dst, half, _mm256_maskz_loadu_ps(half, src));
    return;
  }
#endif
  store(dst, load(src, m), m);
}

void copy_floats(float* dst, const float* src, std::int64_t n) {
  for (std::int64_t j = 0; j < n; j += kLanes) store(dst + j, load(src + j, first(n - j)), first(n - j));
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
  // dense_gemm's alpha != 1: the tile starts from 0 and stores alpha·acc, plus C's old value when
  // add_c (so the k loop is the same FMA chain as every other product's, alpha out of it).
  float alpha = 1;
  bool add_c = false;
};

// Tile sizes (MR <= kMaxTileRows, NV <= kMaxTileVectors, MR·NV <= kTileRegisters), one template
// instance each. The bits do not depend on them (every element is the same FMA chain), only the speed.
#if defined(__AVX512F__)
constexpr int kMaxTileRows = 12;
constexpr int kMaxTileVectors = 4;
constexpr int kTileRegisters = 24;  // of the 32 vector registers
#elif defined(__AVX2__) && defined(__FMA__)
// 6 rows × 16 lanes: 12 of AVX2's 16 registers hold the tile, 2 a row of B, 1 the broadcast. Measured
// (conv_bench's step, x86-64-v3 build): 43 GFLOP/s; 6 × 2 or 3 × 2 tiles 35, 4 × 1 29-41.
constexpr int kMaxTileRows = 6;
constexpr int kMaxTileVectors = 1;
constexpr int kTileRegisters = 6;
#else
// The arrays: the 48 fully unrolled AVX-512 shapes took 2 minutes to compile (4 under ASan), on the
// critical path of every build without AVX-512, and tiles of 16-float arrays do not stay in registers
// anyway. 8 shapes.
constexpr int kMaxTileRows = 4;
constexpr int kMaxTileVectors = 2;
constexpr int kTileRegisters = 6;
#endif

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
  if (g.alpha != 1.0f) {
    const Vec alpha = splat(g.alpha);
#pragma GCC unroll 12
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        acc[r][v] = fma(alpha, acc[r][v], g.add_c ? load(c + r * ldc + v * kLanes, mask[v]) : zero());
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

// Panels of 16·kMaxTileVectors columns; in each, the rows in even blocks of at most kTileRegisters / NV rows.
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
      : ci(s.in_channels),
        co(s.out_channels),
        h(s.height),
        w(s.width),
        k(s.kernel),
        pad(s.padding),
        hp(s.height + 2 * s.padding),
        wp(s.width + 2 * s.padding),
        ho(s.out_height()),
        wo(s.out_width()),
        n(ho * wo),
        kw(ci * k * k) {}
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
// Rows of up to 16 outputs (the CNNs' second layers) take one short copy each.
void im2col(const ConvDims& d, const float* img, float* cols) {
  const Mask row_mask = first(d.wo);
  for (std::int64_t c = 0; c < d.ci; ++c)
    for (std::int64_t ky = 0; ky < d.k; ++ky)
      for (std::int64_t kx = 0; kx < d.k; ++kx) {
        float* row = cols + ((c * d.k + ky) * d.k + kx) * d.n;
        const float* src = img + (c * d.hp + ky) * d.wp + kx;
        if (d.wo <= kLanes) {
          for (std::int64_t oy = 0; oy < d.ho; ++oy) copy_short(row + oy * d.wo, src + oy * d.wp, d.wo, row_mask);
        } else {
          for (std::int64_t oy = 0; oy < d.ho; ++oy) copy_floats(row + oy * d.wo, src + oy * d.wp, d.wo);
        }
      }
}

// rows (Ho·Wo × Ci·k² + 1): im2col's transpose, then a column of ones.
void im2row(const ConvDims& d, const float* img, float* rows) {
  const std::int64_t ld = d.kw + 1;
  const Mask kernel_mask = first(d.k);
  for (std::int64_t oy = 0; oy < d.ho; ++oy)
    for (std::int64_t ox = 0; ox < d.wo; ++ox) {
      float* row = rows + (oy * d.wo + ox) * ld;
      const float* src = img + oy * d.wp + ox;
      for (std::int64_t c = 0; c < d.ci; ++c)
        for (std::int64_t ky = 0; ky < d.k; ++ky) {
          const float* from = src + (c * d.hp + ky) * d.wp;
          float* to = row + (c * d.k + ky) * d.k;
          if (d.k <= kLanes) {
            copy_short(to, from, d.k, kernel_mask);
          } else {
            copy_floats(to, from, d.k);
          }
        }
      row[d.kw] = 1.0f;
    }
}

// One channel of dX (H × W) = Σ over (ky, kx), in that order, of dcols' row (ky, kx) placed at
// (oy + ky − pad, ox + kx − pad). Gathered 16 output columns at a time in a register, each term a
// masked load of the shifted row, so nothing is stored and reloaded.
void col2im(const ConvDims& d, const float* dcols, float* out) {
  for (std::int64_t iy = 0; iy < d.h; ++iy)
    for (std::int64_t ix0 = 0; ix0 < d.w; ix0 += kLanes) {
      Vec acc = zero();
      for (std::int64_t ky = 0; ky < d.k; ++ky) {
        const std::int64_t oy = iy + d.pad - ky;
        if (oy < 0 || oy >= d.ho) continue;
        for (std::int64_t kx = 0; kx < d.k; ++kx) {
          const std::int64_t ox0 = ix0 + d.pad - kx;  // the output column of lane 0
          const Mask valid = first(std::min(d.wo - ox0, d.w - ix0)) & static_cast<Mask>(~first(-ox0));
          acc = add(acc, load(dcols + (ky * d.k + kx) * d.n + oy * d.wo + ox0, valid));
        }
      }
      store(out + iy * d.w + ix0, acc, first(d.w - ix0));
    }
}

}  // namespace

void dense_gemm(float alpha, const ConstMatView& a, bool trans_a, const ConstMatView& b, bool accumulate,
                const MatView& c) {
  // op(A)(m, k): A(m, k) = a[m·ld + k], or Aᵀ(m, k) = a[k·ld + m].
  const std::int64_t m = c.rows, n = c.cols, k = trans_a ? a.rows : a.cols;
  const bool scaled = alpha != 1.0f;
  gemm({m, n, k, a.data, trans_a ? 1 : a.ld, trans_a ? a.ld : 1, b.data, b.ld, c.data, c.ld,
        accumulate && !scaled ? Start::c : Start::zero, nullptr, alpha, accumulate && scaled});
}

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
  // dcols (k² × Ho·Wo) with slack on both sides: col2im's shifted loads start up to k − 1 floats
  // before a row or past its end (on masked-off lanes), and pointers stay inside the buffer.
  float* dcols = scratch(static_cast<std::size_t>(kk * d.n + 2 * (d.k + d.w + d.pad))) + d.k;
  for (std::int64_t r = r0; r < r1; ++r) {
    const float* dy_r = dy.data + r * dy.ld;
    for (std::int64_t c = 0; c < d.ci; ++c) {
      // A(m, o) = W[o][c][m] for m = (ky, kx): filter o's weights for channel c, transposed.
      gemm({kk, d.n, d.co, w + c * kk, 1, d.kw, dy_r, d.n, dcols, d.n, Start::zero, nullptr});
      col2im(d, dcols, dx.data + r * dx.ld + c * d.h * d.w);
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

namespace {

#if defined(__AVX512F__)
// 2×2 pooling, 16 tiles of a band (two input rows of 2·wo floats) at a time: the even and odd columns
// of each row are split with two-source permutes. Selections only, so the bits are the scalar path's.
struct Band {
  __m512 a, b, c, d;  // the tiles' top-left, top-right, bottom-left and bottom-right elements
};
Band load_band(const float* row0, const float* row1, std::int64_t tiles) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  const Mask lo = first(2 * tiles), hi = first(2 * tiles - kLanes);
  const __m512 t0 = _mm512_maskz_loadu_ps(lo, row0), t1 = _mm512_maskz_loadu_ps(hi, row0 + kLanes);
  const __m512 b0 = _mm512_maskz_loadu_ps(lo, row1), b1 = _mm512_maskz_loadu_ps(hi, row1 + kLanes);
  return {_mm512_permutex2var_ps(t0, even, t1), _mm512_permutex2var_ps(t0, odd, t1),
          _mm512_permutex2var_ps(b0, even, b1), _mm512_permutex2var_ps(b0, odd, b1)};
}
// The first maximum in row-major order: a strict > scan.
__m512 band_max(const Band& t) {
  __m512 m = t.a;
  m = _mm512_mask_mov_ps(m, _mm512_cmp_ps_mask(t.b, m, _CMP_GT_OQ), t.b);
  m = _mm512_mask_mov_ps(m, _mm512_cmp_ps_mask(t.c, m, _CMP_GT_OQ), t.c);
  return _mm512_mask_mov_ps(m, _mm512_cmp_ps_mask(t.d, m, _CMP_GT_OQ), t.d);
}
void pool2_band(const float* row0, const float* row1, float* out, std::int64_t wo) {
  for (std::int64_t ox = 0; ox < wo; ox += kLanes) {
    const std::int64_t tiles = std::min<std::int64_t>(kLanes, wo - ox);
    _mm512_mask_storeu_ps(out + ox, first(tiles), band_max(load_band(row0 + 2 * ox, row1 + 2 * ox, tiles)));
  }
}
void pool2_band_backward(const float* row0, const float* row1, const float* grad, float* out0, float* out1,
                         std::int64_t wo) {
  const __m512i lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i hi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  for (std::int64_t ox = 0; ox < wo; ox += kLanes) {
    const std::int64_t tiles = std::min<std::int64_t>(kLanes, wo - ox);
    const Band t = load_band(row0 + 2 * ox, row1 + 2 * ox, tiles);
    const __m512 m = band_max(t), g = _mm512_maskz_loadu_ps(first(tiles), grad + ox);
    const Mask pick_a = _mm512_cmp_ps_mask(t.a, m, _CMP_EQ_OQ);
    const Mask pick_b = _mm512_cmp_ps_mask(t.b, m, _CMP_EQ_OQ) & ~pick_a;
    const Mask pick_c = _mm512_cmp_ps_mask(t.c, m, _CMP_EQ_OQ) & ~(pick_a | pick_b);
    const Mask pick_d = ~(pick_a | pick_b | pick_c);
    const __m512 ga = _mm512_maskz_mov_ps(pick_a, g), gb = _mm512_maskz_mov_ps(pick_b, g);
    const __m512 gc = _mm512_maskz_mov_ps(pick_c, g), gd = _mm512_maskz_mov_ps(pick_d, g);
    const Mask m0 = first(2 * tiles), m1 = first(2 * tiles - kLanes);
    _mm512_mask_storeu_ps(out0 + 2 * ox, m0, _mm512_permutex2var_ps(ga, lo, gb));
    _mm512_mask_storeu_ps(out0 + 2 * ox + kLanes, m1, _mm512_permutex2var_ps(ga, hi, gb));
    _mm512_mask_storeu_ps(out1 + 2 * ox, m0, _mm512_permutex2var_ps(gc, lo, gd));
    _mm512_mask_storeu_ps(out1 + 2 * ox + kLanes, m1, _mm512_permutex2var_ps(gc, hi, gd));
  }
}
constexpr bool kVectorPool2 = true;
#else
constexpr bool kVectorPool2 = false;
void pool2_band(const float*, const float*, float*, std::int64_t) {}
void pool2_band_backward(const float*, const float*, const float*, float*, float*, std::int64_t) {}
#endif

}  // namespace

// Each tile's first maximum in row-major order (a strict > scan); 2×2 tiles vectorised where possible.
void max_pool2d_rows(const Pool2dShape& s, const ConstMatView& x, const MatView& y, std::int64_t r0, std::int64_t r1) {
  const std::int64_t win = s.window, h = s.height, w = s.width, ho = s.out_height(), wo = s.out_width();
  for (std::int64_t r = r0; r < r1; ++r)
    for (std::int64_t c = 0; c < s.channels; ++c)
      for (std::int64_t oy = 0; oy < ho; ++oy) {
        const float* band = x.data + r * x.ld + (c * h + oy * win) * w;
        float* out = y.data + r * y.ld + (c * ho + oy) * wo;
        if (kVectorPool2 && win == 2) {
          pool2_band(band, band + w, out, wo);
          continue;
        }
        for (std::int64_t ox = 0; ox < wo; ++ox) {
          float best = band[ox * win];
          for (std::int64_t ty = 0; ty < win; ++ty)
            for (std::int64_t tx = 0; tx < win; ++tx) {
              const float v = band[ty * w + ox * win + tx];
              best = v > best ? v : best;
            }
          out[ox] = best;
        }
      }
}

void max_pool2d_backward_rows(const Pool2dShape& s, const ConstMatView& x, const ConstMatView& dy, const MatView& dx,
                              std::int64_t r0, std::int64_t r1) {
  const std::int64_t win = s.window, h = s.height, w = s.width, ho = s.out_height(), wo = s.out_width();
  for (std::int64_t r = r0; r < r1; ++r)
    for (std::int64_t c = 0; c < s.channels; ++c)
      for (std::int64_t oy = 0; oy < ho; ++oy) {
        const float* band = x.data + r * x.ld + (c * h + oy * win) * w;
        const float* grad = dy.data + r * dy.ld + (c * ho + oy) * wo;
        float* out = dx.data + r * dx.ld + (c * h + oy * win) * w;
        if (kVectorPool2 && win == 2) {
          pool2_band_backward(band, band + w, grad, out, out + w, wo);
          continue;
        }
        for (std::int64_t ox = 0; ox < wo; ++ox) {
          std::int64_t arg = ox * win;
          for (std::int64_t ty = 0; ty < win; ++ty)
            for (std::int64_t tx = 0; tx < win; ++tx) {
              const std::int64_t at = ty * w + ox * win + tx;
              arg = band[at] > band[arg] ? at : arg;
            }
          for (std::int64_t ty = 0; ty < win; ++ty)
            for (std::int64_t tx = 0; tx < win; ++tx) {
              const std::int64_t at = ty * w + ox * win + tx;
              out[at] = at == arg ? grad[ox] : 0.0f;
            }
        }
      }
}

}  // namespace dtsim::kernels::cpu
