// Direct stride-1 convolution with AVX-512, the CPU backend's fast path.
//
// im2col + GEMM spends as long building and scattering the 25x-expanded
// columns of a 5x5 convolution as the GEMM spends multiplying them
// (bench/RESULTS.md). These kernels never expand the input: they vectorise
// over 16 output channels and broadcast each input value from a padded copy
// of the image, the register-blocked scheme of oneDNN's AVX-512 direct
// convolution (one zmm accumulator per output pixel and 16 channels; the
// weights are repacked channel-innermost so each (c, ki, kj) tap is one load).
//
//   forward      y[o, y, x]  = b[o] + sum_{c,i,j} w[o, c, i, j] * xpad[c, y+i, x+j]
//   data grad    dx = forward of dy padded by (k-1-pad) with w transposed and
//                flipped (the adjoint of a stride-1 convolution)
//   weight grad  dw[o, c, i, j] += sum_{y,x} dy[o, y, x] * xpad[c, y+i, x+j]
//
// Everything here works on one image; cpu_conv.cc owns threads and scratch.
// The kernels are compiled with -mavx512f in their own translation unit and
// may only run when available() is true; this header is safe to include
// anywhere (plain structs, no inline code).
#pragma once

#include <cstddef>

namespace cadre::kernels::direct_conv {

// True when the CPU (and OS) run AVX-512F. Checked once.
bool available();

// Output channels are computed 16 at a time; packed arrays pad them to this.
constexpr int kLanes = 16;

// One image's convolution. Padding may differ per axis (the data-gradient
// convolution of a non-square kernel pads each axis by k-1-pad).
struct Geometry {
  int in_channels = 0;
  int height = 0, width = 0;  // input, unpadded
  int kernel_h = 0, kernel_w = 0;
  int pad_h = 0, pad_w = 0;
  int out_channels = 0;
  int out_h = 0, out_w = 0;        // height + 2 pad_h - kernel_h + 1, likewise w
  int padded_h = 0, padded_w = 0;  // height + 2 pad_h, width + 2 pad_w
  int out_lanes = 0;               // out_channels rounded up to kLanes
};

// The geometry of a stride-1 convolution; pad_h/pad_w as given.
Geometry make_geometry(int in_channels, int height, int width, int kernel_h, int kernel_w,
                       int pad_h, int pad_w, int out_channels);

// The convolution that computes the data gradient of `g`: input dy
// (out_channels x out_h x out_w), output dx (in_channels x height x width).
Geometry data_grad_geometry(const Geometry& g);

// Sizes, in floats, of the per-image scratch arrays.
size_t padded_input_size(const Geometry& g);        // in_channels * padded_h * padded_w
size_t packed_weights_size(const Geometry& g);      // in_channels * kh * kw * out_lanes
size_t row_tile_size(const Geometry& g);            // out_w * out_lanes
size_t pixel_major_output_size(const Geometry& g);  // out_h * out_w * out_lanes

// packed[c, i, j, o] = w[o, c, i, j], o padded with zeros to out_lanes.
void pack_weights(const Geometry& g, const float* w, float* packed);
// For data_grad_geometry(g): packed[o, i, j, c] = w[o, c, kh-1-i, kw-1-j].
void pack_data_grad_weights(const Geometry& g, const float* w, float* packed);
// bias padded to out_lanes (zeros when bias is null).
void pack_bias(const Geometry& g, const float* bias, float* packed);

// padded[c, pad_h + y, pad_w + x] = x[c, y, x], zeros around.
void pad_input(const Geometry& g, const float* x, float* padded);

// y[o, oy, ox] (NCHW, one image) from a padded input; bias is pack_bias()'s.
// row_tile has row_tile_size(g) floats.
void forward(const Geometry& g, const float* padded, const float* packed_w,
             const float* packed_bias, float* y, float* row_tile);

// dy[o, oy, ox] (one image) to pixel-major [oy, ox, o] with o padded to
// out_lanes, the layout weight_grad() reads.
void to_pixel_major(const Geometry& g, const float* dy, float* pixel_major);

// packed_dw[c, i, j, o] += this image's weight gradient.
void weight_grad(const Geometry& g, const float* padded, const float* dy_pixel_major,
                 float* packed_dw);

// dw[o, c, i, j] = sum over parts p of packed_dw[p][c, i, j, o].
void unpack_weight_grad(const Geometry& g, const float* const* packed_dw, int parts, float* dw);

}  // namespace cadre::kernels::direct_conv
