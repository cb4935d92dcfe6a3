// Optimizer updates for Float, one fused pass over a parameter (see optimizers.c). The
// one_minus_* coefficients come computed in double by the caller, as PyTorch's.
#pragma once
#include <stddef.h>

/// SGD (PyTorch's form) over n elements: d = g + l2·w; v = d on the first step, else
/// v = μ v + (1 − dampening) d; w −= lr · (nesterov ? d + μ v : v); with μ = 0,
/// w −= lr · d and v is not touched. L1 shrinkage w −= lr · l1 · sign(w) comes first,
/// outside the momentum buffer.
void bp_sgd_f32(float *w, const float *g, float *v, ptrdiff_t n, float lr, float momentum, float one_minus_dampening,
                float l2, float l1, int nesterov, int first);

/// Adam / AdamW: w ·= shrink; d = g + l2·w; m = β₁m + (1−β₁)d; v = β₂v + (1−β₂)d²;
/// v̂ = max(v̂, v) if v_max is not NULL (AMSGrad, stored back), else v̂ = v;
/// w −= (lr / c₁) · (m / (√v̂ / √c₂ + ε)).
void bp_adam_f32(float *w, const float *g, float *m, float *v, float *v_max, ptrdiff_t n, float lr, float beta1,
                 float beta2, float one_minus_beta1, float one_minus_beta2, float epsilon, float l2, float shrink, float correction1, float correction2);

/// RMSprop: d = g + l2·w; s = α s + (1−α) d²; if g_avg is not NULL (centered)
/// a = α a + (1−α) d, r = √(s − a²) + ε, else r = √s + ε; if buffer is not NULL
/// (momentum) b = μ b + d / r, w −= lr · b; else w −= lr · (d / r).
void bp_rmsprop_f32(float *w, const float *g, float *s, float *buffer, float *g_avg, ptrdiff_t n, float lr,
                    float alpha, float one_minus_alpha, float epsilon, float l2, float momentum);

/// Adagrad: d = g + l2·w; s += d²; w −= lr · (d / (√s + ε)).
void bp_adagrad_f32(float *w, const float *g, float *s, ptrdiff_t n, float lr, float epsilon, float l2);

/// Max-norm over w [rows, length]: a row of L2 norm r > max_norm is multiplied by
/// max_norm / (r + 1e-7) (torch.renorm). The norm is summed in double.
void bp_max_norm_rows_f32(float *w, ptrdiff_t rows, ptrdiff_t length, float max_norm);
