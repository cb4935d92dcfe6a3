// Single-precision loop of image augmentation (see augmentation.c): resampling an image
// through an affine map plus an optional displacement field, the contract of
// `AugmentationKernels.warpBilinear` (Sources/Backprop/Data/Augmentation.swift).
#pragma once
#include <stddef.h>

/// image, out [C, H, W] (out must not be image). For every output pixel (x, y) (x the
/// column, y the row) and channel c:
///   sx = a[0]·x + a[1]·y + a[2] + dx[y·W + x],  sy = a[3]·x + a[4]·y + a[5] + dy[y·W + x]
///   out[c, y, x] = bilinear interpolation of image[c] at (sx, sy), pixels outside the
///                  image counting as 0
/// dx and dy may both be NULL (no displacement). Integer source coordinates copy pixels
/// exactly.
void bp_warp_bilinear_f32(const float *image, float *out, ptrdiff_t channels, ptrdiff_t height, ptrdiff_t width,
                          const double *affine, const double *dx, const double *dy);
