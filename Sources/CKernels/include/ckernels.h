// Vectorised single-precision exp, sigmoid and tanh for Backprop.
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

/// Asks glibc to keep freed memory for reuse instead of returning it to the system (raising
/// the mmap and trim thresholds). A training step frees and allocates the same large
/// buffers every time; returned memory would cost a page fault per 4 KiB on the next step.
void bp_retain_freed_memory(void);
