// Single-precision activation loops: exp, sigmoid and tanh (Cephes approximations, see
// vector_math.h; Tests/BackpropTests/Tensor/FloatElementwiseTests.swift compares them with
// libm), ReLU and leaky ReLU, and the row sums of bias gradients. Contracts in
// include/activations.h.
#include "activations.h"
#include "vector_math.h"

BP_CLONES void bp_exp_f32(const float *x, float *y, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) y[i] = exp1(x[i]);
}

BP_CLONES void bp_sigmoid_f32(const float *x, float *y, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + exp1(-x[i]));
}

BP_CLONES void bp_tanh_f32(const float *x, float *y, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) y[i] = tanh1(x[i]);
}

// MARK: ReLU (slope 0) and leaky ReLU

BP_CLONES void bp_relu_f32(const float *restrict x, float *restrict y, ptrdiff_t n, float slope) {
    if (slope == 0) {
        for (ptrdiff_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0.0f;
    } else {
        for (ptrdiff_t i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : x[i] * slope;
    }
}

BP_CLONES void bp_relu_backward_f32(const float *restrict x, const float *restrict gy, float *restrict gx,
                                    ptrdiff_t n, float slope) {
    for (ptrdiff_t i = 0; i < n; i++) gx[i] = x[i] > 0 ? gy[i] : gy[i] * slope;
}

// MARK: row sums

// x [rows, cols] → out [rows]
BP_CLONES void bp_row_sums_f32(const float *restrict x, ptrdiff_t rows, ptrdiff_t cols, float *restrict out) {
    // 32 partial sums (vectorised; the order is fixed by this code, so every target rounds alike)
    enum { LANES = 32 };
    for (ptrdiff_t r = 0; r < rows; r++) {
        const float *restrict row = x + r * cols;
        float partial[LANES] = {0};
        ptrdiff_t c = 0;
        for (; c + LANES <= cols; c += LANES)
            for (int k = 0; k < LANES; k++) partial[k] += row[c + k];
        for (int k = 0; c < cols; c++, k++) partial[k] += row[c];
        for (int width = LANES / 2; width > 0; width /= 2)
            for (int k = 0; k < width; k++) partial[k] += partial[k + width];
        out[r] = partial[0];
    }
}
