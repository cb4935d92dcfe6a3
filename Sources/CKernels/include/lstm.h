// Single-precision LSTM steps for Backprop (see lstm.c).
#pragma once
#include <stddef.h>

/// One LSTM step forward, Float. gates [N, 4H] (i, f, g, o pre-activations without bias)
/// in, activations out (bias [4H] added first); cell_prev [N, H] is c_{t−1}; writes
/// cell = f·c_{t−1} + i·g, tanh_cell = tanh(cell), hidden = o·tanh_cell, all [N, H].
void bp_lstm_forward_f32(float *gates, const float *bias, const float *cell_prev, float *cell,
                         float *tanh_cell, float *hidden, ptrdiff_t batch, ptrdiff_t hidden_size);
/// One LSTM step backward, Float (see RecurrentKernels.lstmBackwardStep for the contract).
void bp_lstm_backward_f32(const float *gates, const float *cell_prev, const float *tanh_cell,
                          const float *grad_output, const float *grad_hidden, float *grad_cell,
                          float *grad_gates, ptrdiff_t batch, ptrdiff_t hidden_size);
