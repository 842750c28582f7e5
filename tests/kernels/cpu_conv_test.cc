// The CPU convolution, both ways it runs (AVX-512 direct kernels and im2col +
// GEMM), against a naive double-precision reference on shapes chosen to reach
// every blocking remainder: channel counts around the 16-lane vectors, rows
// wider than one register block, kernels wider than one tap block, non-square
// kernels, every legal padding, and batches that split unevenly over threads.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/cpu/direct_conv.h"
#include "tests/kernels/kernel_test_support.h"
#include "tests/support/status_matchers.h"

namespace cadre::kernels {
namespace {

struct Case {
  ConvShape shape;
  int out_channels;
};

std::string describe(const Case& c, int threads, bool direct) {
  const ConvShape& s = c.shape;
  return "batch " + std::to_string(s.batch) + " c " + std::to_string(s.channels) + " " +
         std::to_string(s.height) + "x" + std::to_string(s.width) + " k " +
         std::to_string(s.kernel_h) + "x" + std::to_string(s.kernel_w) + " pad " +
         std::to_string(s.pad) + " oc " + std::to_string(c.out_channels) + " threads " +
         std::to_string(threads) + (direct ? " direct" : " gemm");
}

std::vector<Case> awkward_cases() {
  std::vector<Case> cases = {
      // The cnn's two layers (1 -> 16 at 28x28, 16 -> 32 at 14x14).
      {{3, 1, 28, 28, 5, 5, 2, 1}, 16},
      {{5, 16, 14, 14, 5, 5, 2, 1}, 32},
      // 13 images: uneven split over threads and several im2col image groups.
      {{13, 16, 10, 10, 5, 5, 2, 1}, 8},
      // Channels off the vector width: 17 -> 33 (32 + 1 lanes), 3 -> 48 (32 + 16).
      {{2, 17, 9, 7, 3, 3, 1, 1}, 33},
      {{2, 3, 6, 6, 3, 3, 0, 1}, 48},
      // Rows wider than a register block (31 > 28 and > 14 pixels).
      {{2, 2, 5, 31, 3, 3, 1, 1}, 5},
      {{2, 2, 4, 31, 3, 3, 1, 1}, 40},
      // A kernel row wider than one weight-gradient tap block (9 > 7), 1x1, 7x7.
      {{2, 4, 12, 12, 9, 9, 4, 1}, 6},
      {{3, 7, 5, 6, 1, 1, 0, 1}, 19},
      {{2, 5, 9, 9, 7, 7, 3, 1}, 17},
      // Non-square kernels and every legal pad.
      {{2, 5, 11, 9, 5, 3, 0, 1}, 7},
      {{2, 5, 11, 9, 5, 3, 1, 1}, 7},
      {{2, 5, 11, 9, 5, 3, 2, 1}, 7},
      // Paths the direct kernels do not take: stride 2, pad wider than k-1.
      {{3, 4, 11, 10, 3, 3, 1, 2}, 9},
      {{2, 3, 6, 6, 3, 3, 3, 1}, 4},
  };
  return cases;
}

TEST(CpuConv, EveryPathMatchesTheNaiveConvolutionOnAwkwardShapes) {
  uint32_t seed = 100;
  for (const Case& c : awkward_cases())
    for (int threads : {1, 2, 3})
      for (bool direct : {true, false}) {
        SCOPED_TRACE(describe(c, threads, direct));
        const ConvShape& s = c.shape;
        const int oc = c.out_channels;
        auto be = cpu(threads, direct);
        const size_t in_n = static_cast<size_t>(s.batch) * s.channels * s.height * s.width;
        const size_t out_n = static_cast<size_t>(s.batch) * oc * s.out_height() * s.out_width();
        const size_t w_n = static_cast<size_t>(oc) * s.channels * s.kernel_h * s.kernel_w;
        auto x = random_vector(in_n, ++seed), w = random_vector(w_n, ++seed);
        auto b = random_vector(oc, ++seed), dy = random_vector(out_n, ++seed);

        std::vector<float> y(out_n, 7.0f);
        ASSERT_OK(be->conv2d_forward(s, oc, x.data(), w.data(), b.data(), y.data()));
        expect_near_all(y, naive_conv_forward(s, oc, x, w, b));

        // Outputs start as garbage: backward must overwrite, not accumulate.
        std::vector<float> dw(w_n, 7.0f), db(oc, 7.0f), dx(in_n, 7.0f);
        ASSERT_OK(be->conv2d_backward(s, oc, x.data(), w.data(), dy.data(), dw.data(), db.data(),
                                      dx.data()));
        const ConvGradients want = naive_conv_backward(s, oc, x, w, dy);
        expect_near_all(db, want.db, 1e-3f);
        expect_near_all(dw, want.dw, 1e-3f);
        expect_near_all(dx, want.dx, 1e-3f);

        // A first layer asks for no input gradient.
        std::vector<float> dw_only(w_n, 7.0f), db_only(oc);
        ASSERT_OK(be->conv2d_backward(s, oc, x.data(), w.data(), dy.data(), dw_only.data(),
                                      db_only.data(), nullptr));
        expect_near_all(dw_only, want.dw, 1e-3f);
      }
}

TEST(DirectConv, DataGradientGeometryIsTheAdjointConvolutionsShape) {
  const auto g = direct_conv::make_geometry(16, 14, 12, 5, 3, 2, 1, 33);
  EXPECT_EQ(g.out_h, 14);
  EXPECT_EQ(g.out_w, 12);
  EXPECT_EQ(g.out_lanes, 48);
  const auto d = direct_conv::data_grad_geometry(g);
  EXPECT_EQ(d.in_channels, 33);
  EXPECT_EQ(d.out_channels, 16);
  EXPECT_EQ(d.pad_h, 2);  // 5 - 1 - 2
  EXPECT_EQ(d.pad_w, 1);  // 3 - 1 - 1
  EXPECT_EQ(d.out_h, g.height);
  EXPECT_EQ(d.out_w, g.width);
  EXPECT_EQ(d.out_lanes, 16);
}

TEST(DirectConv, KernelsAgreeWithTheReferenceOnOneImageWhenTheCpuHasAvx512) {
  if (!direct_conv::available()) GTEST_SKIP() << "this CPU has no AVX-512F";
  // The kernels called directly, so this test fails if the backend ever stops
  // routing to them and the tests above silently cover only im2col + GEMM.
  const ConvShape s{1, 16, 14, 14, 5, 5, 2, 1};
  const int oc = 32;
  const auto g = direct_conv::make_geometry(16, 14, 14, 5, 5, 2, 2, oc);
  auto x = random_vector(16 * 14 * 14, 1), w = random_vector(oc * 16 * 25, 2);
  auto b = random_vector(oc, 3);
  std::vector<float> padded(direct_conv::padded_input_size(g)),
      packed_w(direct_conv::packed_weights_size(g)), packed_b(g.out_lanes),
      tile(direct_conv::row_tile_size(g)), y(oc * 14 * 14);
  direct_conv::pad_input(g, x.data(), padded.data());
  direct_conv::pack_weights(g, w.data(), packed_w.data());
  direct_conv::pack_bias(g, b.data(), packed_b.data());
  direct_conv::forward(g, padded.data(), packed_w.data(), packed_b.data(), y.data(), tile.data());
  expect_near_all(y, naive_conv_forward(s, oc, x, w, b));

  auto dy = random_vector(y.size(), 4);
  std::vector<float> pixel_major(direct_conv::pixel_major_output_size(g)),
      packed_dw(direct_conv::packed_weights_size(g), 0.0f), dw(w.size());
  direct_conv::to_pixel_major(g, dy.data(), pixel_major.data());
  direct_conv::weight_grad(g, padded.data(), pixel_major.data(), packed_dw.data());
  const float* parts[] = {packed_dw.data()};
  direct_conv::unpack_weight_grad(g, parts, 1, dw.data());
  expect_near_all(dw, naive_conv_backward(s, oc, x, w, dy).dw, 1e-3f);
}

}  // namespace
}  // namespace cadre::kernels
