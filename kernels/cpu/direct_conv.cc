// The portable half of the direct convolution: CPU detection, geometry, and the
// layout changes around the AVX-512 kernels (direct_conv_avx512.cc). Nothing
// here needs AVX-512, so this file is built with the project's baseline flags.
#include "kernels/cpu/direct_conv.h"

#include <algorithm>
#include <cstring>

namespace cadre::kernels::direct_conv {

bool available() {
  // __builtin_cpu_supports also checks that the OS saves the zmm state.
  static const bool yes = __builtin_cpu_supports("avx512f");
  return yes;
}

Geometry make_geometry(int in_channels, int height, int width, int kernel_h, int kernel_w,
                       int pad_h, int pad_w, int out_channels) {
  Geometry g;
  g.in_channels = in_channels;
  g.height = height;
  g.width = width;
  g.kernel_h = kernel_h;
  g.kernel_w = kernel_w;
  g.pad_h = pad_h;
  g.pad_w = pad_w;
  g.out_channels = out_channels;
  g.padded_h = height + 2 * pad_h;
  g.padded_w = width + 2 * pad_w;
  g.out_h = g.padded_h - kernel_h + 1;
  g.out_w = g.padded_w - kernel_w + 1;
  g.out_lanes = (out_channels + kLanes - 1) / kLanes * kLanes;
  return g;
}

Geometry data_grad_geometry(const Geometry& g) {
  return make_geometry(g.out_channels, g.out_h, g.out_w, g.kernel_h, g.kernel_w,
                       g.kernel_h - 1 - g.pad_h, g.kernel_w - 1 - g.pad_w, g.in_channels);
}

size_t padded_input_size(const Geometry& g) {
  return static_cast<size_t>(g.in_channels) * g.padded_h * g.padded_w;
}
size_t packed_weights_size(const Geometry& g) {
  return static_cast<size_t>(g.in_channels) * g.kernel_h * g.kernel_w * g.out_lanes;
}
size_t row_tile_size(const Geometry& g) { return static_cast<size_t>(g.out_w) * g.out_lanes; }
size_t pixel_major_output_size(const Geometry& g) {
  return static_cast<size_t>(g.out_h) * g.out_w * g.out_lanes;
}

void pack_weights(const Geometry& g, const float* w, float* packed) {
  const size_t taps = static_cast<size_t>(g.kernel_h) * g.kernel_w;
  std::fill(packed, packed + packed_weights_size(g), 0.0f);
  for (int o = 0; o < g.out_channels; ++o)
    for (int c = 0; c < g.in_channels; ++c)
      for (size_t t = 0; t < taps; ++t)
        packed[(c * taps + t) * g.out_lanes + o] =
            w[(static_cast<size_t>(o) * g.in_channels + c) * taps + t];
}

void pack_data_grad_weights(const Geometry& g, const float* w, float* packed) {
  // For the data-gradient convolution the roles swap: its input channels are
  // g's outputs o, its outputs are g's inputs c, and the taps are flipped.
  const Geometry d = data_grad_geometry(g);
  const int kh = g.kernel_h, kw = g.kernel_w;
  std::fill(packed, packed + packed_weights_size(d), 0.0f);
  for (int o = 0; o < g.out_channels; ++o)
    for (int c = 0; c < g.in_channels; ++c)
      for (int i = 0; i < kh; ++i)
        for (int j = 0; j < kw; ++j)
          packed[((static_cast<size_t>(o) * kh + i) * kw + j) * d.out_lanes + c] =
              w[((static_cast<size_t>(o) * g.in_channels + c) * kh + (kh - 1 - i)) * kw +
                (kw - 1 - j)];
}

void pack_bias(const Geometry& g, const float* bias, float* packed) {
  std::fill(packed, packed + g.out_lanes, 0.0f);
  if (bias) std::copy_n(bias, g.out_channels, packed);
}

void pad_input(const Geometry& g, const float* x, float* padded) {
  const size_t plane = static_cast<size_t>(g.padded_h) * g.padded_w;
  for (int c = 0; c < g.in_channels; ++c) {
    float* dst = padded + c * plane;
    const float* src = x + static_cast<size_t>(c) * g.height * g.width;
    // Border rows and columns only: the interior is overwritten just below.
    std::fill(dst, dst + static_cast<size_t>(g.pad_h) * g.padded_w, 0.0f);
    for (int y = 0; y < g.height; ++y) {
      float* row = dst + static_cast<size_t>(g.pad_h + y) * g.padded_w;
      std::fill(row, row + g.pad_w, 0.0f);
      std::memcpy(row + g.pad_w, src + static_cast<size_t>(y) * g.width, sizeof(float) * g.width);
      std::fill(row + g.pad_w + g.width, row + g.padded_w, 0.0f);
    }
    std::fill(dst + static_cast<size_t>(g.pad_h + g.height) * g.padded_w, dst + plane, 0.0f);
  }
}

void to_pixel_major(const Geometry& g, const float* dy, float* pixel_major) {
  const size_t pixels = static_cast<size_t>(g.out_h) * g.out_w;
  for (size_t p = 0; p < pixels; ++p) {
    float* dst = pixel_major + p * g.out_lanes;
    for (int o = 0; o < g.out_channels; ++o) dst[o] = dy[o * pixels + p];
    std::fill(dst + g.out_channels, dst + g.out_lanes, 0.0f);
  }
}

void unpack_weight_grad(const Geometry& g, const float* const* packed_dw, int parts, float* dw) {
  const size_t taps = static_cast<size_t>(g.kernel_h) * g.kernel_w;
  for (int o = 0; o < g.out_channels; ++o)
    for (int c = 0; c < g.in_channels; ++c)
      for (size_t t = 0; t < taps; ++t) {
        const size_t at = (c * taps + t) * g.out_lanes + o;
        float sum = 0.0f;
        for (int p = 0; p < parts; ++p) sum += packed_dw[p][at];
        dw[(static_cast<size_t>(o) * g.in_channels + c) * taps + t] = sum;
      }
}

}  // namespace cadre::kernels::direct_conv
