// Single-precision loop of image augmentation: bilinear resampling through an affine map
// (translation, rotation) plus an optional displacement field (elastic distortion).
// Contract in include/augmentation.h; Tests/BackpropTests/Data/AugmentationTests.swift
// compares it with the generic Swift (Double) kernel.
#include "augmentation.h"
#include "vector_math.h"

// image [C, H, W] → out [C, H, W], sampled at a·(x, y, 1) + (dx, dy)
BP_CLONES void bp_warp_bilinear_f32(const float *restrict image, float *restrict out, ptrdiff_t channels,
                                    ptrdiff_t height, ptrdiff_t width, const double *affine,
                                    const double *dx, const double *dy) {
    const ptrdiff_t plane = height * width;
    for (ptrdiff_t y = 0; y < height; y++) {
        for (ptrdiff_t x = 0; x < width; x++) {
            const ptrdiff_t p = y * width + x;
            double sx = affine[0] * (double)x + affine[1] * (double)y + affine[2];
            double sy = affine[3] * (double)x + affine[4] * (double)y + affine[5];
            if (dx) { sx += dx[p]; sy += dy[p]; }
            // the four neighbours (x0, y0) … (x0 + 1, y0 + 1) and the weights of the far ones
            double fx0 = floor(sx), fy0 = floor(sy);
            if (!(fx0 > -2 && fx0 < (double)width && fy0 > -2 && fy0 < (double)height)) {   // (NaN too)
                for (ptrdiff_t c = 0; c < channels; c++) out[c * plane + p] = 0;
                continue;
            }
            ptrdiff_t x0 = (ptrdiff_t)fx0, y0 = (ptrdiff_t)fy0;
            float wx = (float)(sx - fx0), wy = (float)(sy - fy0);
            int in00 = x0 >= 0 && y0 >= 0, in01 = x0 + 1 < width && y0 >= 0;
            int in10 = x0 >= 0 && y0 + 1 < height, in11 = x0 + 1 < width && y0 + 1 < height;
            for (ptrdiff_t c = 0; c < channels; c++) {
                const float *src = image + c * plane;
                float p00 = in00 ? src[y0 * width + x0] : 0;
                float p01 = in01 ? src[y0 * width + x0 + 1] : 0;
                float p10 = in10 ? src[(y0 + 1) * width + x0] : 0;
                float p11 = in11 ? src[(y0 + 1) * width + x0 + 1] : 0;
                float top = p00 + wx * (p01 - p00), bottom = p10 + wx * (p11 - p10);
                out[c * plane + p] = top + wy * (bottom - top);
            }
        }
    }
}
