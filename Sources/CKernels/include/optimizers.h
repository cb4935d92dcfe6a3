// Optimizer updates for Float, one fused pass over a parameter (see optimizers.c).
#pragma once
#include <stddef.h>

/// SGD (PyTorch's form) over n elements: d = g + l2·w; v = μ v + d;
/// w −= lr · (nesterov ? d + μ v : v); with μ = 0, w −= lr · d and v is not touched.
/// L1 shrinkage w −= lr · l1 · sign(w) comes first, outside the momentum buffer.
void bp_sgd_f32(float *w, const float *g, float *v, ptrdiff_t n, float lr, float momentum,
                float l2, float l1, int nesterov);

/// Adam: d = g + l2·w; m = β₁m + (1−β₁)d; v = β₂v + (1−β₂)d²;
/// w −= (lr / c₁) · m / (√v / √c₂ + ε).
void bp_adam_f32(float *w, const float *g, float *m, float *v, ptrdiff_t n, float lr, float beta1,
                 float beta2, float epsilon, float l2, float correction1, float correction2);
