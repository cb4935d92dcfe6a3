// Single-precision LSTM steps, forward and backward (contracts in include/lstm.h; the same
// arithmetic as the generic RecurrentKernels in Swift): after its GEMMs, an LSTM step is
// the sigmoid and tanh of its gates.
#include "lstm.h"
#include "vector_math.h"

// gates [N, 4H] (i, f, g, o), bias [4H], cell_prev / cell / tanh_cell / hidden [N, H]
BP_CLONES void bp_lstm_forward_f32(float *restrict gates, const float *restrict bias, const float *restrict cell_prev,
                                   float *restrict cell, float *restrict tanh_cell, float *restrict hidden,
                                   ptrdiff_t batch, ptrdiff_t h) {
    for (ptrdiff_t n = 0; n < batch; n++) {
        float *restrict i = gates + n * 4 * h, *restrict f = i + h, *restrict g = f + h, *restrict o = g + h;
        const float *restrict cp = cell_prev + n * h;
        float *restrict c = cell + n * h, *restrict tc = tanh_cell + n * h, *restrict y = hidden + n * h;
        for (ptrdiff_t j = 0; j < 2 * h; j++) i[j] = 1.0f / (1.0f + exp1(-(i[j] + bias[j])));  // i and f
        for (ptrdiff_t j = 0; j < h; j++) g[j] = tanh1(g[j] + bias[2 * h + j]);
        for (ptrdiff_t j = 0; j < h; j++) o[j] = 1.0f / (1.0f + exp1(-(o[j] + bias[3 * h + j])));
        for (ptrdiff_t j = 0; j < h; j++) c[j] = f[j] * cp[j] + i[j] * g[j];
        for (ptrdiff_t j = 0; j < h; j++) tc[j] = tanh1(c[j]);
        for (ptrdiff_t j = 0; j < h; j++) y[j] = o[j] * tc[j];
    }
}

// gates / grad_gates [N, 4H], the rest [N, H]; grad_cell: ∂L/∂c_t in, ∂L/∂c_{t−1} out
// (the arrays never overlap: `restrict` lets the compiler vectorise the fused loop)
BP_CLONES void bp_lstm_backward_f32(const float *restrict gates, const float *restrict cell_prev,
                                    const float *restrict tanh_cell, const float *restrict grad_output,
                                    const float *restrict grad_hidden, float *restrict grad_cell,
                                    float *restrict grad_gates, ptrdiff_t batch, ptrdiff_t h) {
    for (ptrdiff_t n = 0; n < batch; n++) {
        const float *restrict i = gates + n * 4 * h, *restrict f = i + h, *restrict g = f + h, *restrict o = g + h;
        float *restrict di = grad_gates + n * 4 * h, *restrict df = di + h, *restrict dg = df + h, *restrict d_o = dg + h;
        const float *restrict cp = cell_prev + n * h, *restrict tc = tanh_cell + n * h;
        const float *restrict gy = grad_output + n * h, *restrict gh = grad_hidden + n * h;
        float *restrict dc = grad_cell + n * h;
        for (ptrdiff_t j = 0; j < h; j++) {
            float dh = gy[j] + gh[j];                                   // ∂L/∂h_t
            float dct = dc[j] + dh * o[j] * (1.0f - tc[j] * tc[j]);    // ∂L/∂c_t
            d_o[j] = dh * tc[j] * o[j] * (1.0f - o[j]);
            di[j] = dct * g[j] * i[j] * (1.0f - i[j]);
            df[j] = dct * cp[j] * f[j] * (1.0f - f[j]);
            dg[j] = dct * i[j] * (1.0f - g[j] * g[j]);
            dc[j] = dct * f[j];                                         // ∂L/∂c_{t−1}
        }
    }
}
