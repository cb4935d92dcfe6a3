// Optimizer updates for Float. An update reads and writes every parameter once per step
// (for the mlp workload, 1.9 million weights); as baseline-SSE2 Swift it cost 6 % of a
// step. Here each variant is its own loop, branch-free inside, compiled for AVX-512,
// AVX2+FMA and the baseline (picked at load time).
#include "optimizer_kernels.h"
#include <math.h>

// No clones under ThreadSanitizer: their ifunc resolvers run during relocation, before
// the TSan runtime is initialised, and crash on the instrumentation TSan adds to them.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BP_NO_CLONES 1
#endif
#endif
#if defined(__x86_64__) && defined(__clang__) && !defined(BP_NO_CLONES)
#define BP_CLONES __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define BP_CLONES
#endif

// √x without errno handling (x ≥ 0 here), so the loop vectorises
#if defined(__has_builtin) && __has_builtin(__builtin_elementwise_sqrt)
#define BP_SQRT(x) __builtin_elementwise_sqrt(x)
#else
#define BP_SQRT(x) sqrtf(x)
#endif

// w, g, v [n]
BP_CLONES void bp_sgd_f32(float *restrict w, const float *restrict g, float *restrict v, ptrdiff_t n,
                          float lr, float momentum, float l2, float l1, int nesterov) {
    if (l1 != 0) {
        float step = lr * l1;
        for (ptrdiff_t i = 0; i < n; i++) w[i] -= w[i] > 0 ? step : (w[i] < 0 ? -step : 0.0f);
    }
    if (momentum == 0) {
        for (ptrdiff_t i = 0; i < n; i++) w[i] -= lr * (g[i] + l2 * w[i]);
    } else if (nesterov) {
        for (ptrdiff_t i = 0; i < n; i++) {
            float d = g[i] + l2 * w[i];
            float vi = momentum * v[i] + d;
            v[i] = vi;
            w[i] -= lr * (d + momentum * vi);
        }
    } else if (l2 == 0) {
        for (ptrdiff_t i = 0; i < n; i++) {
            float vi = momentum * v[i] + g[i];
            v[i] = vi;
            w[i] -= lr * vi;
        }
    } else {
        for (ptrdiff_t i = 0; i < n; i++) {
            float vi = momentum * v[i] + g[i] + l2 * w[i];
            v[i] = vi;
            w[i] -= lr * vi;
        }
    }
}

// w, g, m, v [n]
BP_CLONES void bp_adam_f32(float *restrict w, const float *restrict g, float *restrict m, float *restrict v,
                           ptrdiff_t n, float lr, float beta1, float beta2, float epsilon, float l2,
                           float correction1, float correction2) {
    float step_size = lr / correction1, root_c2 = BP_SQRT(correction2);
    for (ptrdiff_t i = 0; i < n; i++) {
        float d = g[i] + l2 * w[i];
        float mi = beta1 * m[i] + (1 - beta1) * d;
        float vi = beta2 * v[i] + (1 - beta2) * d * d;
        m[i] = mi;
        v[i] = vi;
        w[i] -= step_size * mi / (BP_SQRT(vi) / root_c2 + epsilon);
    }
}
