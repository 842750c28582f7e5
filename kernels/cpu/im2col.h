// Serial im2col / col2im over a range of rows or channels: the building blocks
// of the CPU backend's parallel im2col and of its fused convolution, which runs
// them per image group on one thread each.
#pragma once

#include <cstddef>

#include "kernels/backend.h"

namespace cadre::kernels {

// Rows [r_lo, r_hi) of col[C*kh*kw, N*OH*OW] for input x (NCHW, s.batch images).
void im2col_rows(const ConvShape& s, const float* x, float* col, size_t r_lo, size_t r_hi);

// Channels [c_lo, c_hi) of dx (overwritten) from col, the adjoint of im2col.
void col2im_channels(const ConvShape& s, const float* col, float* dx, size_t c_lo, size_t c_hi);

}  // namespace cadre::kernels
