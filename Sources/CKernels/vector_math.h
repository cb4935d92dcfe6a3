// What the kernel files share (private to this target): BP_CLONES, which compiles a
// function for AVX-512, AVX2+FMA and the baseline at once (target_clones; the loader picks
// the best for the CPU), and the classic Cephes single-precision exp and tanh, accurate to
// a few ulp over the whole range, written as branch-free scalar code that vectorises.
#pragma once
#include <math.h>
#include <stdint.h>
#include <string.h>

// Each clone names a feature level, not a CPU model: clang dispatches an "arch=<cpu>" clone
// on the CPU's model, so "arch=haswell" would leave every AMD processor on the baseline;
// "arch=x86-64-v3" (AVX2, FMA, BMI2) is picked by the features the CPU reports.
// No clones under ThreadSanitizer: their ifunc resolvers run during relocation, before
// the TSan runtime is initialised, and crash on the instrumentation TSan adds to them.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BP_NO_CLONES 1
#endif
#endif
#if defined(__x86_64__) && defined(__clang__) && !defined(BP_NO_CLONES)
#define BP_CLONES __attribute__((target_clones("avx512f", "arch=x86-64-v3", "default")))
#else
#define BP_CLONES
#endif

static inline float bits_to_float(int32_t i) { float f; memcpy(&f, &i, 4); return f; }
static inline int32_t float_to_bits(float f) { int32_t i; memcpy(&i, &f, 4); return i; }

// exp: range reduction x = n·ln2 + r with |r| ≤ ln2/2, a degree-6 polynomial for eʳ,
// and 2ⁿ through the exponent bits. Below −87.34 the result would be subnormal: 0.
static inline float exp1(float x) {
    float v = x < -87.33654f ? -87.33654f : (x > 88.72283f ? 88.72283f : x);
    // n = round(v / ln2): adding 1.5·2²³ leaves the rounded integer in the low mantissa bits
    float t = v * 1.44269504088896341f + 12582912.0f;
    float n = t - 12582912.0f;
    int32_t ni = float_to_bits(t) - 0x4B400000;
    float r = v - n * 0.693359375f;          // ln2 split in two: n·C1 is exact
    r = r - n * -2.12194440e-4f;
    float r2 = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r2 + r + 1.0f;
    int32_t capped = ni > 127 ? 127 : ni;    // n = 128 only just below overflow: 2¹²⁷ · 2
    float y = p * bits_to_float((capped + 127) << 23) * (ni > 127 ? 2.0f : 1.0f);
    y = x > 88.72283f ? INFINITY : y;
    y = x < -87.33654f ? 0.0f : y;
    return x != x ? x : y;                   // NaN stays NaN
}

// tanh: x + x³·P(x²) for |x| < 0.625, else 1 − 2/(e^{2|x|} + 1) with the sign of x.
static inline float tanh1(float x) {
    float a = fabsf(x);
    float s = x * x;
    float p = -5.70498872745e-3f;
    p = p * s + 2.06390887954e-2f;
    p = p * s - 5.37397155531e-2f;
    p = p * s + 1.33314422036e-1f;
    p = p * s - 3.33332819422e-1f;
    float small = p * s * x + x;
    float large = 1.0f - 2.0f / (exp1(2.0f * a) + 1.0f);
    large = x < 0 ? -large : large;
    float y = a < 0.625f ? small : large;
    return x != x ? x : y;
}
