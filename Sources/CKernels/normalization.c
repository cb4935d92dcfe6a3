// Single-precision loops of the normalization layers: per-channel mean and variance,
// scale-shift, the backward's per-channel sums, and the input gradient's combination.
// Contracts in include/normalization.h; Tests/BackpropTests/Layers/Normalization/
// FloatNormalizationKernelTests.swift compares them with the generic Swift kernels.
//
// Sums over a row of `inner` values use 32 partial sums (two AVX-512 registers, so the
// adds overlap; vectorised, in an order fixed by this code, so every target rounds alike),
// and each row's sum is added into a double total per channel: accurate over the
// m = outer · inner values of a channel.
#include "normalization.h"
#include "vector_math.h"

enum { LANES = 32 };

static inline __attribute__((always_inline)) float reduce_lanes(float *partial) {
    for (int width = LANES / 2; width > 0; width /= 2)
        for (int k = 0; k < width; k++) partial[k] += partial[k + width];
    return partial[0];
}

// Σ row[i], i < n
static inline __attribute__((always_inline)) float row_sum(const float *restrict row, ptrdiff_t n) {
    float partial[LANES] = {0};
    ptrdiff_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) partial[k] += row[i + k];
    for (int k = 0; i < n; i++, k++) partial[k] += row[i];
    return reduce_lanes(partial);
}

// Σ (row[i] − mu)², i < n
static inline __attribute__((always_inline)) float row_squares(const float *restrict row, ptrdiff_t n, float mu) {
    float partial[LANES] = {0};
    ptrdiff_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int k = 0; k < LANES; k++) { float d = row[i + k] - mu; partial[k] += d * d; }
    for (int k = 0; i < n; i++, k++) { float d = row[i] - mu; partial[k] += d * d; }
    return reduce_lanes(partial);
}

// x [outer, C, inner] → mean, variance [C], channels [c0, c1)
BP_CLONES void bp_channel_mean_variance_f32(const float *restrict x, ptrdiff_t outer, ptrdiff_t channels,
                                            ptrdiff_t inner, ptrdiff_t c0, ptrdiff_t c1,
                                            float *restrict mean, float *restrict variance) {
    double m = (double)(outer * inner);
    if (inner == 1) {
        // x [outer, C] (BatchNorm1d on [N, C]): walk the rows, which are contiguous, with a
        // double total per channel of a block; the same additions, in the same order, as the
        // loop below (a row of one value sums to that value), without a stride of C per value
        enum { BLOCK = 512 };
        for (ptrdiff_t b0 = c0; b0 < c1; b0 += BLOCK) {
            ptrdiff_t n = c1 - b0 < BLOCK ? c1 - b0 : BLOCK;
            double totals[BLOCK] = {0}, squares[BLOCK] = {0};
            float mu[BLOCK];
            for (ptrdiff_t o = 0; o < outer; o++) {
                const float *restrict row = x + o * channels + b0;
                for (ptrdiff_t j = 0; j < n; j++) totals[j] += (double)row[j];
            }
            for (ptrdiff_t j = 0; j < n; j++) mu[j] = (float)(totals[j] / m);
            for (ptrdiff_t o = 0; o < outer; o++) {
                const float *restrict row = x + o * channels + b0;
                for (ptrdiff_t j = 0; j < n; j++) { float d = row[j] - mu[j]; squares[j] += (double)(d * d); }
            }
            for (ptrdiff_t j = 0; j < n; j++) { mean[b0 + j] = mu[j]; variance[b0 + j] = (float)(squares[j] / m); }
        }
        return;
    }
    for (ptrdiff_t c = c0; c < c1; c++) {
        double total = 0;
        for (ptrdiff_t o = 0; o < outer; o++) total += row_sum(x + (o * channels + c) * inner, inner);
        float mu = (float)(total / m);
        double squares = 0;
        for (ptrdiff_t o = 0; o < outer; o++) squares += row_squares(x + (o * channels + c) * inner, inner, mu);
        mean[c] = mu;
        variance[c] = (float)(squares / m);
    }
}

// x [outer·C, inner] → out [outer·C, inner], rows [r0, r1)
BP_CLONES void bp_channel_scale_shift_f32(const float *x, const float *restrict scale, const float *restrict shift,
                                          float *out, ptrdiff_t channels, ptrdiff_t inner, ptrdiff_t r0, ptrdiff_t r1) {
    for (ptrdiff_t r = r0; r < r1; r++) {
        ptrdiff_t c = r % channels;
        float a = scale[c], b = shift ? shift[c] : 0.0f;
        const float *xr = x + r * inner;
        float *yr = out + r * inner;
        for (ptrdiff_t i = 0; i < inner; i++) yr[i] = xr[i] * a + b;
    }
}

// a, b [outer, C, inner] → sum, dot [C], channels [c0, c1)
BP_CLONES void bp_channel_sum_and_dot_f32(const float *restrict a, const float *restrict b, const float *restrict center,
                                          ptrdiff_t outer, ptrdiff_t channels, ptrdiff_t inner,
                                          ptrdiff_t c0, ptrdiff_t c1, float *restrict sum, float *restrict dot) {
    if (inner == 1) {
        // a, b [outer, C]: by rows, as in bp_channel_mean_variance_f32 (same sums, same order)
        enum { BLOCK = 512 };
        for (ptrdiff_t b0 = c0; b0 < c1; b0 += BLOCK) {
            ptrdiff_t n = c1 - b0 < BLOCK ? c1 - b0 : BLOCK;
            double s[BLOCK] = {0}, d[BLOCK] = {0};
            for (ptrdiff_t o = 0; o < outer; o++) {
                const float *restrict ar = a + o * channels + b0, *restrict br = b + o * channels + b0;
                for (ptrdiff_t j = 0; j < n; j++) {
                    float mu = center ? center[b0 + j] : 0.0f;
                    s[j] += (double)ar[j];
                    d[j] += (double)(ar[j] * (br[j] - mu));
                }
            }
            for (ptrdiff_t j = 0; j < n; j++) { sum[b0 + j] = (float)s[j]; dot[b0 + j] = (float)d[j]; }
        }
        return;
    }
    for (ptrdiff_t c = c0; c < c1; c++) {
        float mu = center ? center[c] : 0.0f;
        double s = 0, d = 0;
        for (ptrdiff_t o = 0; o < outer; o++) {
            const float *restrict ar = a + (o * channels + c) * inner, *restrict br = b + (o * channels + c) * inner;
            float ps[LANES] = {0}, pd[LANES] = {0};
            ptrdiff_t i = 0;
            for (; i + LANES <= inner; i += LANES)
                for (int k = 0; k < LANES; k++) { ps[k] += ar[i + k]; pd[k] += ar[i + k] * (br[i + k] - mu); }
            for (int k = 0; i < inner; i++, k++) { ps[k] += ar[i]; pd[k] += ar[i] * (br[i] - mu); }
            s += reduce_lanes(ps);
            d += reduce_lanes(pd);
        }
        sum[c] = (float)s;
        dot[c] = (float)d;
    }
}

// a, b [outer·C, inner] → out [outer·C, inner], rows [r0, r1)
BP_CLONES void bp_channel_combine_f32(const float *a, const float *restrict scaleA, const float *b,
                                      const float *restrict scaleB, const float *restrict shift, float *out,
                                      ptrdiff_t channels, ptrdiff_t inner, ptrdiff_t r0, ptrdiff_t r1) {
    for (ptrdiff_t r = r0; r < r1; r++) {
        ptrdiff_t c = r % channels;
        float sa = scaleA[c], sb = scaleB[c], d = shift[c];
        const float *ar = a + r * inner, *br = b + r * inner;
        float *yr = out + r * inner;
        for (ptrdiff_t i = 0; i < inner; i++) yr[i] = ar[i] * sa + br[i] * sb + d;
    }
}
