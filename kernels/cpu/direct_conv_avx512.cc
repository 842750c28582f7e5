// The AVX-512 half of the direct convolution (see direct_conv.h). This file is
// compiled with -mavx512f: it includes no header with inline functions of its
// own (an out-of-line copy compiled here could be picked by the linker for
// callers on any CPU), keeps every helper in an anonymous namespace, and runs
// no code before forward() or weight_grad() is called, which callers do only
// when direct_conv::available().
#include <immintrin.h>

#include <cstddef>

#include "kernels/cpu/direct_conv.h"

namespace cadre::kernels::direct_conv {
namespace {

// 32 zmm registers: accumulators, the weight (or dy) vectors and one broadcast.
constexpr int kAccumulators = 28;
constexpr int kMaxVectors = 2;  // output-channel vectors per block (32 channels)

using ForwardBlock = void (*)(const Geometry&, const float*, const float*, const float*, float*,
                              int, int, int);

// Output pixels [x0, x0 + XB) of row `oy`, channels [o0, o0 + 16 NV), into the
// pixel-major row tile. acc[x][v] holds 16 channels of one pixel; each tap
// (c, i, j) loads NV weight vectors and broadcasts XB input values, so every
// weight load feeds XB FMAs and every broadcast NV.
template <int NV, int XB>
void forward_block(const Geometry& g, const float* padded, const float* w, const float* bias,
                   float* tile, int oy, int x0, int o0) {
  const size_t lanes = static_cast<size_t>(g.out_lanes);
  __m512 acc[XB][NV];
#pragma GCC unroll 2
  for (int v = 0; v < NV; ++v) {
    const __m512 b = _mm512_loadu_ps(bias + o0 + v * kLanes);
#pragma GCC unroll 28
    for (int x = 0; x < XB; ++x) acc[x][v] = b;
  }
  for (int c = 0; c < g.in_channels; ++c) {
    for (int i = 0; i < g.kernel_h; ++i) {
      const float* in = padded + (static_cast<size_t>(c) * g.padded_h + oy + i) * g.padded_w + x0;
      const float* wr = w + (static_cast<size_t>(c) * g.kernel_h + i) * g.kernel_w * lanes + o0;
      for (int j = 0; j < g.kernel_w; ++j) {
        __m512 wv[NV];
#pragma GCC unroll 2
        for (int v = 0; v < NV; ++v) wv[v] = _mm512_loadu_ps(wr + j * lanes + v * kLanes);
#pragma GCC unroll 28
        for (int x = 0; x < XB; ++x) {
          const __m512 b = _mm512_set1_ps(in[x + j]);
#pragma GCC unroll 2
          for (int v = 0; v < NV; ++v) acc[x][v] = _mm512_fmadd_ps(b, wv[v], acc[x][v]);
        }
      }
    }
  }
#pragma GCC unroll 28
  for (int x = 0; x < XB; ++x)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v)
      _mm512_storeu_ps(tile + (x0 + x) * lanes + o0 + v * kLanes, acc[x][v]);
}

// forward_block<NV, XB> for every XB in 1..kAccumulators / NV, by pixel count.
struct ForwardTables {
  ForwardBlock by_width[kMaxVectors + 1][kAccumulators + 1] = {};
};

template <int NV, int XB>
struct FillForward {
  static void into(ForwardTables* t) {
    t->by_width[NV][XB] = &forward_block<NV, XB>;
    FillForward<NV, XB - 1>::into(t);
  }
};
template <int NV>
struct FillForward<NV, 0> {
  static void into(ForwardTables*) {}
};

const ForwardTables& forward_tables() {
  // Built on first use, never at load time: this code needs AVX-512.
  static const ForwardTables tables = [] {
    ForwardTables t;
    FillForward<1, kAccumulators>::into(&t);
    FillForward<2, kAccumulators / 2>::into(&t);
    return t;
  }();
  return tables;
}

using WeightGradBlock = void (*)(const Geometry&, const float*, const float*, float*, int, int, int,
                                 int);

// Weight-gradient taps (c0 + cb, i, j0 + k) for cb < CB, k < KB and channels
// [o0, o0 + 16 NV), accumulated over every output pixel of one image. Per
// pixel: NV dy vectors are loaded once and each of the CB x KB input values is
// broadcast once, for CB x KB x NV FMAs.
template <int NV, int CB, int KB>
void weight_grad_block(const Geometry& g, const float* padded, const float* dy, float* dw, int c0,
                       int i, int j0, int o0) {
  const size_t lanes = static_cast<size_t>(g.out_lanes);
  auto tap = [&](int cb, int k) {
    return dw + ((static_cast<size_t>(c0 + cb) * g.kernel_h + i) * g.kernel_w + j0 + k) * lanes +
           o0;
  };
  __m512 acc[CB][KB][NV];
#pragma GCC unroll 28
  for (int cb = 0; cb < CB; ++cb)
#pragma GCC unroll 7
    for (int k = 0; k < KB; ++k)
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[cb][k][v] = _mm512_loadu_ps(tap(cb, k) + v * kLanes);
  const size_t plane = static_cast<size_t>(g.padded_h) * g.padded_w;
  for (int oy = 0; oy < g.out_h; ++oy) {
    const float* in = padded + c0 * plane + static_cast<size_t>(oy + i) * g.padded_w + j0;
    const float* d = dy + static_cast<size_t>(oy) * g.out_w * lanes + o0;
    for (int ox = 0; ox < g.out_w; ++ox) {
      __m512 dv[NV];
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) dv[v] = _mm512_loadu_ps(d + ox * lanes + v * kLanes);
#pragma GCC unroll 28
      for (int cb = 0; cb < CB; ++cb)
#pragma GCC unroll 7
        for (int k = 0; k < KB; ++k) {
          const __m512 b = _mm512_set1_ps(in[cb * plane + ox + k]);
#pragma GCC unroll 2
          for (int v = 0; v < NV; ++v) acc[cb][k][v] = _mm512_fmadd_ps(b, dv[v], acc[cb][k][v]);
        }
    }
  }
#pragma GCC unroll 28
  for (int cb = 0; cb < CB; ++cb)
#pragma GCC unroll 7
    for (int k = 0; k < KB; ++k)
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) _mm512_storeu_ps(tap(cb, k) + v * kLanes, acc[cb][k][v]);
}

// Taps per block along a kernel row; wider kernels are split into such blocks.
constexpr int kMaxTapBlock = 7;

// The most channels per block that keep CB x KB x NV accumulators in registers.
constexpr int channel_block(int nv, int kb) { return kAccumulators / (kb * nv); }

// [NV][KB]: the block for channel_block(NV, KB) channels, and for one channel
// (the remainder).
struct WeightGradTables {
  WeightGradBlock full[kMaxVectors + 1][kMaxTapBlock + 1] = {};
  WeightGradBlock single[kMaxVectors + 1][kMaxTapBlock + 1] = {};
};

template <int NV, int KB>
struct FillWeightGrad {
  static void into(WeightGradTables* t) {
    t->full[NV][KB] = &weight_grad_block<NV, channel_block(NV, KB), KB>;
    t->single[NV][KB] = &weight_grad_block<NV, 1, KB>;
    FillWeightGrad<NV, KB - 1>::into(t);
  }
};
template <int NV>
struct FillWeightGrad<NV, 0> {
  static void into(WeightGradTables*) {}
};

const WeightGradTables& weight_grad_tables() {
  static const WeightGradTables tables = [] {
    WeightGradTables t;
    FillWeightGrad<1, kMaxTapBlock>::into(&t);
    FillWeightGrad<2, kMaxTapBlock>::into(&t);
    return t;
  }();
  return tables;
}

// Channel vectors in the block starting at o0: two while 32 lanes remain.
int vectors_at(const Geometry& g, int o0) { return g.out_lanes - o0 >= 2 * kLanes ? 2 : 1; }

int min_int(int a, int b) { return a < b ? a : b; }

}  // namespace

void forward(const Geometry& g, const float* padded, const float* packed_w,
             const float* packed_bias, float* y, float* row_tile) {
  const ForwardTables& tables = forward_tables();
  const size_t lanes = static_cast<size_t>(g.out_lanes);
  const size_t plane = static_cast<size_t>(g.out_h) * g.out_w;
  for (int oy = 0; oy < g.out_h; ++oy) {
    for (int o0 = 0; o0 < g.out_lanes;) {
      const int nv = vectors_at(g, o0);
      const int widest = kAccumulators / nv;
      for (int x0 = 0; x0 < g.out_w;) {
        const int xb = min_int(g.out_w - x0, widest);
        tables.by_width[nv][xb](g, padded, packed_w, packed_bias, row_tile, oy, x0, o0);
        x0 += xb;
      }
      o0 += nv * kLanes;
    }
    // The row tile is pixel-major; the layer's output is NCHW.
    for (int o = 0; o < g.out_channels; ++o) {
      float* dst = y + o * plane + static_cast<size_t>(oy) * g.out_w;
      for (int x = 0; x < g.out_w; ++x) dst[x] = row_tile[x * lanes + o];
    }
  }
}

void weight_grad(const Geometry& g, const float* padded, const float* dy_pixel_major,
                 float* packed_dw) {
  const WeightGradTables& tables = weight_grad_tables();
  for (int o0 = 0; o0 < g.out_lanes;) {
    const int nv = vectors_at(g, o0);
    for (int j0 = 0; j0 < g.kernel_w;) {
      const int kb = min_int(g.kernel_w - j0, kMaxTapBlock);
      const int cb = channel_block(nv, kb);
      for (int i = 0; i < g.kernel_h; ++i) {
        int c0 = 0;
        for (; c0 + cb <= g.in_channels; c0 += cb)
          tables.full[nv][kb](g, padded, dy_pixel_major, packed_dw, c0, i, j0, o0);
        for (; c0 < g.in_channels; ++c0)
          tables.single[nv][kb](g, padded, dy_pixel_major, packed_dw, c0, i, j0, o0);
      }
      j0 += kb;
    }
    o0 += nv * kLanes;
  }
}

}  // namespace cadre::kernels::direct_conv
