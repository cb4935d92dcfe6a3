// Single-precision activation loops for Backprop (see activations.c): exp, sigmoid, tanh,
// ReLU and the row sums of bias gradients.
//
// Swift code in a package is compiled for the baseline x86-64 (SSE2) and cannot ask for
// more without unsafeFlags; these C loops are compiled for AVX-512, AVX2+FMA and the
// baseline at once (target_clones), and the best one is picked at load time for the CPU.
#pragma once
#include <stddef.h>

/// y[i] = exp(x[i]); x and y may be the same array.
void bp_exp_f32(const float *x, float *y, ptrdiff_t n);
/// y[i] = 1 / (1 + exp(-x[i])).
void bp_sigmoid_f32(const float *x, float *y, ptrdiff_t n);
/// y[i] = tanh(x[i]).
void bp_tanh_f32(const float *x, float *y, ptrdiff_t n);

/// y[i] = x[i] > 0 ? x[i] : x[i]·slope (exactly 0, not −0, when slope is 0).
void bp_relu_f32(const float *x, float *y, ptrdiff_t n, float slope);

/// gx[i] = x[i] > 0 ? gy[i] : gy[i]·slope.
void bp_relu_backward_f32(const float *x, const float *gy, float *gx, ptrdiff_t n, float slope);

/// out[r] = Σ_c x[r, c] for x [rows, cols].
void bp_row_sums_f32(const float *x, ptrdiff_t rows, ptrdiff_t cols, float *out);
