// Skip-gram negative-sampling steps for Float (contract in include/word2vec.h): per
// example, k + 1 dot products and 2(k + 1) + 1 axpys of length dim on rows of two tables,
// compiled for AVX-512, AVX2+FMA and the baseline (picked at load time).
#include "word2vec.h"
#include "vector_math.h"
#include <math.h>

// u·v with 16 partial sums, so that the loop vectorizes without reassociating flags
static inline float dot(const float *restrict u, const float *restrict v, ptrdiff_t n) {
    float acc[16] = {0};
    ptrdiff_t j = 0;
    for (; j + 16 <= n; j += 16)
        for (int i = 0; i < 16; i++) acc[i] += u[j + i] * v[j + i];
    float f = 0;
    for (; j < n; j++) f += u[j] * v[j];
    for (int i = 0; i < 16; i++) f += acc[i];
    return f;
}

// input [*, dim], output [*, dim], work [dim]; inputs, positives [count], negatives [count, k]
BP_CLONES double bp_skipgram_ns_f32(float *input, float *output, ptrdiff_t dim, const int32_t *inputs,
                                    const int32_t *positives, const int32_t *negatives, ptrdiff_t count,
                                    ptrdiff_t k, float lr, float *work) {
    double loss = 0;   // summed in double, each term in float
    for (ptrdiff_t p = 0; p < count; p++) {
        float *restrict u = input + (ptrdiff_t)inputs[p] * dim;
        float *restrict e = work;
        for (ptrdiff_t j = 0; j < dim; j++) e[j] = 0;
        int32_t positive = positives[p];
        for (ptrdiff_t d = 0; d <= k; d++) {
            int32_t target = d == 0 ? positive : negatives[p * k + d - 1];
            if (d > 0 && target == positive) continue;
            float *restrict v = output + (ptrdiff_t)target * dim;
            float f = dot(u, v, dim);
            float label = d == 0 ? 1.0f : 0.0f;
            // σ(f) and the loss from one exponential: softplus(−f) = log(1 + e⁻ᶠ) (≈ −f far
            // below 0, where e⁻ᶠ would overflow), softplus(f) = f + softplus(−f)
            float ef = expf(-f > 80.0f ? 80.0f : -f);
            float sigma = 1.0f / (1.0f + ef);
            float sp = f > -30.0f ? log1pf(ef) : -f;
            loss += d == 0 ? sp : f + sp;
            float g = lr * (label - sigma);
            for (ptrdiff_t j = 0; j < dim; j++) e[j] += g * v[j];
            for (ptrdiff_t j = 0; j < dim; j++) v[j] += g * u[j];
        }
        for (ptrdiff_t j = 0; j < dim; j++) u[j] += e[j];
    }
    return loss;
}
