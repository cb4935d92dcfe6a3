// Single-precision loops of convolution and pooling for Backprop.
//
// The same contracts as the generic Swift kernels in
// Sources/Backprop/Layers/Convolution/ConvolutionKernels.swift, written in C so that they
// are compiled for AVX-512, AVX2+FMA and the baseline at once (see convolution.c);
// FloatConvolutionKernels.swift beside it plugs them in for Float.
//
// Every image kernel works on a sub-range [first, last) of the batch (or of the N·C image
// planes), so that callers can split the work over threads: different ranges never write
// the same memory.
#pragma once
#include <stddef.h>
#include <stdint.h>

/// The geometry of a 2-D sliding window over NCHW images (Swift's WindowGeometry):
/// input [batch, channels, height, width], a kernel_height × kernel_width window moved by
/// stride_* over the input padded by padding_* on both sides of each axis.
typedef struct {
    ptrdiff_t batch, channels, height, width;
    ptrdiff_t kernel_height, kernel_width;
    ptrdiff_t stride_height, stride_width;
    ptrdiff_t padding_height, padding_width;
} bp_window;

/// im2col: input [N, C, H, W] → columns [C·kH·kW, N·outH·outW]; row (c, i, j), column
/// (n, oh, ow) holds input[n, c, oh·sH − pH + i, ow·sW − pW + j], or 0 in the padding.
/// Writes the columns of images [first, last) only.
void bp_im2col_f32(const float *input, const bp_window *g, ptrdiff_t first, ptrdiff_t last, float *columns);

/// col2im, the adjoint of im2col: columns [C·kH·kW, N·outH·outW] → grad_input [N, C, H, W],
/// images [first, last) overwritten with the sum of every column value read from each pixel.
void bp_col2im_f32(const float *columns, const bp_window *g, ptrdiff_t first, ptrdiff_t last, float *grad_input);

/// product [F, N·P] (+ bias [F], may be NULL) → output [N, F, P], images [first, last).
void bp_feature_major_to_batch_major_f32(const float *product, const float *bias, ptrdiff_t features,
                                         ptrdiff_t batch, ptrdiff_t plane, ptrdiff_t first, ptrdiff_t last,
                                         float *output);

/// x [N, F, P] → columns [F, N·P], images [first, last).
void bp_batch_major_to_feature_major_f32(const float *x, ptrdiff_t features, ptrdiff_t batch, ptrdiff_t plane,
                                         ptrdiff_t first, ptrdiff_t last, float *columns);

/// Max pooling: input [N·C, H, W] → output, argmax [N·C, outH, outW] for planes
/// [first, last); argmax is the index h·W + w of the maximum inside its input plane.
/// Padding never wins; ties go to the first maximum in scan order (row by row, left to right).
void bp_max_pool_f32(const float *input, const bp_window *g, ptrdiff_t first, ptrdiff_t last,
                     float *output, int32_t *argmax);

/// Max pooling backward: grad_output, argmax [N·C, outH, outW] → grad_input [N·C, H, W],
/// planes [first, last) overwritten: each gradient added at its argmax, zeros elsewhere.
void bp_max_pool_backward_f32(const float *grad_output, const int32_t *argmax, const bp_window *g,
                              ptrdiff_t first, ptrdiff_t last, float *grad_input);

/// Direct 3×3 convolution, stride 1, padding 1 (output the size of the input), without
/// im2col: 1 when the kernels below run for geometry `g` (a 3×3, stride-1, padding-1 window
/// on a CPU with AVX-512 and the AVX-512 paths enabled), else 0 (use im2col and a GEMM).
int bp_direct_conv3x3_available(const bp_window *g);

/// weight [F, C, 3, 3] → packed [⌈F/16⌉, C, 9, 16], the layout bp_direct_conv3x3_f32 reads
/// (filters in blocks of 16, zeros past F). With `adjoint` nonzero, the weights of the
/// adjoint convolution (gradOutput → gradInput: channels and filters swapped, the window
/// turned by 180°): packed [⌈C/16⌉, F, 9, 16].
void bp_direct_conv3x3_pack_f32(const float *weight, ptrdiff_t filters, ptrdiff_t channels, int adjoint, float *packed);

/// input [N, C, H, W], packed [⌈F/16⌉, C, 9, 16] → output [N, F, H, W] (images [first, last)
/// overwritten): the 3×3, stride-1, padding-1 cross-correlation. Run only where
/// bp_direct_conv3x3_available says so. With `stack` > 1, each plane holds `stack` H×W
/// images one above the other ([N, C, stack·H, W]; a window never reaches across two):
/// small planes whose pixel count is not a multiple of 16 waste fewer vector lanes so.
void bp_direct_conv3x3_f32(const float *input, ptrdiff_t channels, ptrdiff_t height, ptrdiff_t width, ptrdiff_t stack,
                           const float *packed, ptrdiff_t filters, ptrdiff_t first, ptrdiff_t last, float *output);

/// Its weight gradient: input [N, C, H, W], grad_output [N, F, H, W] → weight_grad
/// [F, C, 3, 3] += the sum over images [first, last). Same condition (no stacking: the
/// kernel's vectors hold 16 filters, which any plane fills).
void bp_direct_conv3x3_weight_grad_f32(const float *input, const float *grad_output, ptrdiff_t channels,
                                       ptrdiff_t height, ptrdiff_t width, ptrdiff_t filters,
                                       ptrdiff_t first, ptrdiff_t last, float *weight_grad);

/// 1 (the default): the stride-1 im2col and col2im and the direct 3×3 convolution take their AVX-512 paths where the CPU
/// has AVX-512. 0: they take the portable loops, as on other CPUs (for tests). Atomic.
void bp_convolution_set_avx512(int enabled);
