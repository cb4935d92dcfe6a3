// Optimizer updates for Float (contracts in include/optimizers.h). An update reads and
// writes every parameter once per step, at memory speed; each variant is its own loop,
// branch-free inside, compiled for AVX-512, AVX2+FMA and the baseline (picked at load time).
#include "optimizers.h"
#include "vector_math.h"
#include <math.h>


// √x without errno handling (x ≥ 0 here), so the loop vectorises
#if defined(__has_builtin) && __has_builtin(__builtin_elementwise_sqrt)
#define BP_SQRT(x) __builtin_elementwise_sqrt(x)
#else
#define BP_SQRT(x) sqrtf(x)
#endif

// w, g, v [n]
BP_CLONES void bp_sgd_f32(float *restrict w, const float *restrict g, float *restrict v, ptrdiff_t n,
                          float lr, float momentum, float one_minus_dampening, float l2, float l1, int nesterov, int first) {
    if (l1 != 0) {
        float step = lr * l1;
        for (ptrdiff_t i = 0; i < n; i++) w[i] -= w[i] > 0 ? step : (w[i] < 0 ? -step : 0.0f);
    }
    float keep = one_minus_dampening;
    if (momentum == 0) {
        for (ptrdiff_t i = 0; i < n; i++) w[i] -= lr * (g[i] + l2 * w[i]);
    } else if (first) {
        // PyTorch's first step: the buffer is the gradient itself (no dampening)
        for (ptrdiff_t i = 0; i < n; i++) {
            float d = g[i] + l2 * w[i];
            v[i] = d;
            w[i] -= lr * (nesterov ? d + momentum * d : d);
        }
    } else if (nesterov) {
        for (ptrdiff_t i = 0; i < n; i++) {
            float d = g[i] + l2 * w[i];
            float vi = momentum * v[i] + keep * d;
            v[i] = vi;
            w[i] -= lr * (d + momentum * vi);
        }
    } else if (l2 == 0 && keep == 1) {
        for (ptrdiff_t i = 0; i < n; i++) {
            float vi = momentum * v[i] + g[i];
            v[i] = vi;
            w[i] -= lr * vi;
        }
    } else {
        for (ptrdiff_t i = 0; i < n; i++) {
            float vi = momentum * v[i] + keep * (g[i] + l2 * w[i]);
            v[i] = vi;
            w[i] -= lr * vi;
        }
    }
}

// w, g, m, v [n], v_max [n] or NULL
BP_CLONES void bp_adam_f32(float *restrict w, const float *restrict g, float *restrict m, float *restrict v,
                           float *restrict v_max, ptrdiff_t n, float lr, float beta1, float beta2,
                           float one_minus_beta1, float one_minus_beta2, float epsilon,
                           float l2, float shrink, float correction1, float correction2) {
    float step_size = lr / correction1, root_c2 = BP_SQRT(correction2);
    if (v_max) {
        for (ptrdiff_t i = 0; i < n; i++) {
            float wi = w[i] * shrink;
            float d = g[i] + l2 * wi;
            float mi = beta1 * m[i] + one_minus_beta1 * d;
            float vi = beta2 * v[i] + one_minus_beta2 * (d * d);
            float top = v_max[i] > vi ? v_max[i] : vi;
            m[i] = mi;
            v[i] = vi;
            v_max[i] = top;
            w[i] = wi - step_size * (mi / (BP_SQRT(top) / root_c2 + epsilon));
        }
    } else {
        for (ptrdiff_t i = 0; i < n; i++) {
            float wi = w[i] * shrink;
            float d = g[i] + l2 * wi;
            float mi = beta1 * m[i] + one_minus_beta1 * d;
            float vi = beta2 * v[i] + one_minus_beta2 * (d * d);
            m[i] = mi;
            v[i] = vi;
            w[i] = wi - step_size * (mi / (BP_SQRT(vi) / root_c2 + epsilon));
        }
    }
}

// w, g, s [n]; buffer, g_avg [n] or NULL
BP_CLONES void bp_rmsprop_f32(float *restrict w, const float *restrict g, float *restrict s, float *restrict buffer,
                              float *restrict g_avg, ptrdiff_t n, float lr, float alpha, float one_minus_alpha, float epsilon,
                              float l2, float momentum) {
    float keep = one_minus_alpha;
    if (g_avg && buffer) {
        for (ptrdiff_t i = 0; i < n; i++) {
            float d = g[i] + l2 * w[i];
            float si = alpha * s[i] + keep * (d * d), ai = alpha * g_avg[i] + keep * d;
            s[i] = si;
            g_avg[i] = ai;
            float bi = momentum * buffer[i] + d / (BP_SQRT(si - ai * ai) + epsilon);
            buffer[i] = bi;
            w[i] -= lr * bi;
        }
    } else if (g_avg) {
        for (ptrdiff_t i = 0; i < n; i++) {
            float d = g[i] + l2 * w[i];
            float si = alpha * s[i] + keep * (d * d), ai = alpha * g_avg[i] + keep * d;
            s[i] = si;
            g_avg[i] = ai;
            w[i] -= lr * (d / (BP_SQRT(si - ai * ai) + epsilon));
        }
    } else if (buffer) {
        for (ptrdiff_t i = 0; i < n; i++) {
            float d = g[i] + l2 * w[i];
            float si = alpha * s[i] + keep * (d * d);
            s[i] = si;
            float bi = momentum * buffer[i] + d / (BP_SQRT(si) + epsilon);
            buffer[i] = bi;
            w[i] -= lr * bi;
        }
    } else {
        for (ptrdiff_t i = 0; i < n; i++) {
            float d = g[i] + l2 * w[i];
            float si = alpha * s[i] + keep * (d * d);
            s[i] = si;
            w[i] -= lr * (d / (BP_SQRT(si) + epsilon));
        }
    }
}

// w, g, s [n]
BP_CLONES void bp_adagrad_f32(float *restrict w, const float *restrict g, float *restrict s, ptrdiff_t n,
                              float lr, float epsilon, float l2) {
    for (ptrdiff_t i = 0; i < n; i++) {
        float d = g[i] + l2 * w[i];
        float si = s[i] + d * d;
        s[i] = si;
        w[i] -= lr * (d / (BP_SQRT(si) + epsilon));
    }
}

// w [rows, length]
BP_CLONES void bp_max_norm_rows_f32(float *restrict w, ptrdiff_t rows, ptrdiff_t length, float max_norm) {
    for (ptrdiff_t r = 0; r < rows; r++) {
        float *row = w + r * length;
        // eight partial sums in double: independent chains that vectorise, and accurate
        double part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        ptrdiff_t i = 0;
        for (; i + 8 <= length; i += 8)
            for (int k = 0; k < 8; k++) part[k] += (double)row[i + k] * row[i + k];
        double sum = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
        for (; i < length; i++) sum += (double)row[i] * row[i];
        float norm = (float)sqrt(sum);
        if (norm > max_norm) {
            float factor = max_norm / (norm + 1e-7f);
            for (ptrdiff_t i = 0; i < length; i++) row[i] *= factor;
        }
    }
}
