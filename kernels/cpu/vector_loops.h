// The CPU backend's element-wise loops over [lo, hi), each compiled three times
// — x86-64-v4 (AVX-512), v3 (AVX2) and the baseline — with the dynamic linker
// picking one per process (GCC target_clones, resolved once at load). The rest
// of the library stays at the baseline ISA so the binaries run on any x86-64
// CPU; these loops are where the wider vectors pay (11% of a cnn training step
// on an AVX-512 machine). CpuBackend splits ranges across its threads.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cadre::kernels::loops {

void axpy(size_t lo, size_t hi, float alpha, const float* x, float* y);
void scale(size_t lo, size_t hi, float alpha, float* x);
void multiply(size_t lo, size_t hi, const float* x, const float* y, float* z);
void relu_forward(size_t lo, size_t hi, const float* x, float* y);
// dx = dy where y > 0, else 0.
void relu_backward(size_t lo, size_t hi, const float* y, const float* dy, float* dx);
// v = momentum v + (g + wd w); w -= lr v.
void sgd_momentum(size_t lo, size_t hi, float lr, float momentum, float weight_decay,
                  const float* grad, float* velocity, float* param);
// Adam with the bias corrections folded into step = lr / (1 - beta1^t) and
// inv_sqrt_c2 = 1 / sqrt(1 - beta2^t).
void adam(size_t lo, size_t hi, float beta1, float beta2, float eps, float step, float inv_sqrt_c2,
          const float* grad, float* m, float* v, float* param);

// 2x2, stride-2, unpadded max-pooling of planes [lo, hi) of height x width
// (even or odd; a last odd row/column is dropped). argmax gets the flat index
// into x of each chosen input.
void maxpool2x2(size_t lo, size_t hi, int height, int width, const float* x, float* y,
                int32_t* argmax);

}  // namespace cadre::kernels::loops
