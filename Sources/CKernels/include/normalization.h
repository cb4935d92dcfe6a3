// Single-precision loops of the normalization layers (see normalization.c): per-channel
// statistics and per-channel broadcasts over a tensor seen as [outer, C, inner], the
// contracts of `NormalizationKernels` (Sources/Backprop/Layers/Normalization/).
//
// Each takes the range of channels (or of rows o·C + c) it computes, so that callers can
// split the work over threads; every channel's result is computed by one call, in an order
// fixed by this code, so results do not depend on the split.
#pragma once
#include <stddef.h>

/// For channels c in [c0, c1) of x [outer, C, inner]: mean[c] = (1/m) Σ_{o,i} x[o, c, i],
/// variance[c] = (1/m) Σ (x − mean[c])² (biased, two passes), m = outer · inner.
void bp_channel_mean_variance_f32(const float *x, ptrdiff_t outer, ptrdiff_t channels, ptrdiff_t inner,
                                  ptrdiff_t c0, ptrdiff_t c1, float *mean, float *variance);

/// For rows r = o·C + c in [r0, r1): out[r, i] = x[r, i] · scale[c] + shift[c] (shift NULL: 0).
/// out may be x.
void bp_channel_scale_shift_f32(const float *x, const float *scale, const float *shift, float *out,
                                ptrdiff_t channels, ptrdiff_t inner, ptrdiff_t r0, ptrdiff_t r1);

/// For channels c in [c0, c1) of a, b [outer, C, inner]: sum[c] = Σ_{o,i} a[o, c, i],
/// dot[c] = Σ_{o,i} a · (b − center[c]) (center NULL: 0).
void bp_channel_sum_and_dot_f32(const float *a, const float *b, const float *center,
                                ptrdiff_t outer, ptrdiff_t channels, ptrdiff_t inner,
                                ptrdiff_t c0, ptrdiff_t c1, float *sum, float *dot);

/// For rows r = o·C + c in [r0, r1): out[r, i] = a[r, i] · scaleA[c] + b[r, i] · scaleB[c] + shift[c].
void bp_channel_combine_f32(const float *a, const float *scaleA, const float *b, const float *scaleB,
                            const float *shift, float *out, ptrdiff_t channels, ptrdiff_t inner,
                            ptrdiff_t r0, ptrdiff_t r1);
