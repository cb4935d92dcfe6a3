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

/// One LSTM step forward, Float. gates [N, 4H] (i, f, g, o pre-activations without bias)
/// in, activations out (bias [4H] added first); cell_prev [N, H] is c_{t−1}; writes
/// cell = f·c_{t−1} + i·g, tanh_cell = tanh(cell), hidden = o·tanh_cell, all [N, H].
void bp_lstm_forward_f32(float *gates, const float *bias, const float *cell_prev, float *cell,
                         float *tanh_cell, float *hidden, ptrdiff_t batch, ptrdiff_t hidden_size);
/// One LSTM step backward, Float (see RecurrentKernels.lstmBackwardStep for the contract).
void bp_lstm_backward_f32(const float *gates, const float *cell_prev, const float *tanh_cell,
                          const float *grad_output, const float *grad_hidden, float *grad_cell,
                          float *grad_gates, ptrdiff_t batch, ptrdiff_t hidden_size);
