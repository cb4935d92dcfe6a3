// Single-precision loops of convolution and pooling (contracts in
// include/convolution.h, the same as the generic Swift kernels).
//
// Written as plain loops that the compiler vectorises for each target of BP_CLONES. They
// move data more than they compute, so the point is to keep the inner loops long,
// contiguous and free of calls: the common cases (a stride-1 convolution without padding,
// a 2×2 stride-2 max pool) get their own loops, every other geometry the general ones.
//
// The rows that im2col and col2im move are short (10 floats in the second convolution of
// a LeNet-style network): too short for the vectorised loops, whose scalar remainders
// then cost most of the time. On AVX-512 these two fast paths are written with masked
// loads and stores instead, one instruction per row of up to 16 floats.
#include "convolution.h"
#include "vector_math.h"

#include <stdatomic.h>
static atomic_int use_avx512 = 1;
void bp_convolution_set_avx512(int enabled) { atomic_store_explicit(&use_avx512, enabled != 0, memory_order_relaxed); }
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#define BP_AVX512 1
#define BP_TARGET_AVX512 __attribute__((target("avx512f")))
static int has_avx512(void) { return atomic_load_explicit(&use_avx512, memory_order_relaxed) && __builtin_cpu_supports("avx512f"); }
#endif


static inline ptrdiff_t min_index(ptrdiff_t a, ptrdiff_t b) { return a < b ? a : b; }
static inline ptrdiff_t max_index(ptrdiff_t a, ptrdiff_t b) { return a > b ? a : b; }

static inline ptrdiff_t output_height(const bp_window *g) {
    return (g->height + 2 * g->padding_height - g->kernel_height) / g->stride_height + 1;
}
static inline ptrdiff_t output_width(const bp_window *g) {
    return (g->width + 2 * g->padding_width - g->kernel_width) / g->stride_width + 1;
}

// The outputs o ∈ [*lo, *hi) whose window offset k lands inside the input along one axis:
// o·stride − padding + k ∈ [0, size). (WindowGeometry.validRows / validColumns.)
static inline void valid_outputs(ptrdiff_t k, ptrdiff_t padding, ptrdiff_t stride, ptrdiff_t size,
                                 ptrdiff_t outputs, ptrdiff_t *lo, ptrdiff_t *hi) {
    ptrdiff_t shift = padding - k;
    ptrdiff_t l = min_index(shift > 0 ? (shift + stride - 1) / stride : 0, outputs);
    ptrdiff_t last = size - 1 + shift;                 // the largest o·stride allowed
    ptrdiff_t h = last < 0 ? 0 : min_index(outputs, last / stride + 1);
    *lo = l;
    *hi = h > l ? h : l;
}

// MARK: im2col / col2im

// im2col for stride 1 without padding: block (row (c, i, j), image n) of the columns is
// the outH × outW piece of plane (n, c) whose top-left corner is (i, j).
// input [N, C, H, W] → columns [C·kH·kW, N·outH·outW], images [first, last)
BP_CLONES static void im2col_stride1(const float *restrict input, const bp_window *g, ptrdiff_t first,
                                                  ptrdiff_t last, float *restrict columns) {
    const ptrdiff_t C = g->channels, H = g->height, W = g->width, kH = g->kernel_height, kW = g->kernel_width;
    const ptrdiff_t outH = H - kH + 1, outW = W - kW + 1, plane = outH * outW, row_length = g->batch * plane;
    for (ptrdiff_t c = 0; c < C; c++)
        for (ptrdiff_t i = 0; i < kH; i++)
            for (ptrdiff_t j = 0; j < kW; j++) {
                float *restrict row = columns + ((c * kH + i) * kW + j) * row_length;
                for (ptrdiff_t n = first; n < last; n++) {
                    const float *restrict src = input + (n * C + c) * H * W + i * W + j;
                    float *restrict dst = row + n * plane;
                    for (ptrdiff_t oh = 0; oh < outH; oh++)
                        for (ptrdiff_t ow = 0; ow < outW; ow++) dst[oh * outW + ow] = src[oh * W + ow];
                }
            }
}

// col2im for stride 1 without padding: block (row (c, i, j), image n) is added onto the
// outH × outW piece of plane (n, c) whose top-left corner is (i, j). The planes of channel
// c must be zero on entry. columns [C·kH·kW, N·outH·outW] → grad_input [N, C, H, W]
BP_CLONES static void col2im_stride1_channel(const float *restrict columns, const bp_window *g, ptrdiff_t c,
                                             ptrdiff_t first, ptrdiff_t last, float *restrict grad_input) {
    const ptrdiff_t C = g->channels, H = g->height, W = g->width, kH = g->kernel_height, kW = g->kernel_width;
    const ptrdiff_t outH = H - kH + 1, outW = W - kW + 1, plane = outH * outW, row_length = g->batch * plane;
    for (ptrdiff_t i = 0; i < kH; i++)
        for (ptrdiff_t j = 0; j < kW; j++) {
            const float *restrict row = columns + ((c * kH + i) * kW + j) * row_length;
            for (ptrdiff_t n = first; n < last; n++) {
                const float *restrict src = row + n * plane;
                float *restrict dst = grad_input + (n * C + c) * H * W + i * W + j;
                for (ptrdiff_t oh = 0; oh < outH; oh++)
                    for (ptrdiff_t ow = 0; ow < outW; ow++) dst[oh * W + ow] += src[oh * outW + ow];
            }
        }
}

#ifdef BP_AVX512
// The lanes l of the 16-float vector at column `start` of a W-wide row that window column j
// of an outW-wide output row reaches: 0 ≤ start + l − j < outW, and start + l < W.
static inline __mmask16 reach_mask(ptrdiff_t start, ptrdiff_t j, ptrdiff_t out_width, ptrdiff_t width) {
    const ptrdiff_t lo = max_index(j - start, 0), hi = min_index(min_index(j + out_width - start, 16), width - start);
    return hi > lo ? (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1)) : 0;
}

// im2col_stride1 with each row moved by whole 16-float vectors and a masked last one
// (a single masked copy when the row has at most 16 floats).
BP_TARGET_AVX512 static void im2col_stride1_avx512(const float *restrict input, const bp_window *g, ptrdiff_t first,
                                                    ptrdiff_t last, float *restrict columns) {
    const ptrdiff_t C = g->channels, H = g->height, W = g->width, kH = g->kernel_height, kW = g->kernel_width;
    const ptrdiff_t outH = H - kH + 1, outW = W - kW + 1, plane = outH * outW, row_length = g->batch * plane;
    const ptrdiff_t whole = outW & ~(ptrdiff_t)15;     // floats of a row moved by whole vectors
    const __mmask16 tail = (__mmask16)((1u << (outW - whole)) - 1);
    for (ptrdiff_t c = 0; c < C; c++)
        for (ptrdiff_t i = 0; i < kH; i++)
            for (ptrdiff_t j = 0; j < kW; j++) {
                float *restrict row = columns + ((c * kH + i) * kW + j) * row_length;
                for (ptrdiff_t n = first; n < last; n++) {
                    const float *restrict src = input + (n * C + c) * H * W + i * W + j;
                    float *restrict dst = row + n * plane;
                    if (whole == 0) {
                        for (ptrdiff_t oh = 0; oh < outH; oh++)
                            _mm512_mask_storeu_ps(dst + oh * outW, tail, _mm512_maskz_loadu_ps(tail, src + oh * W));
                        continue;
                    }
                    for (ptrdiff_t oh = 0; oh < outH; oh++, src += W, dst += outW) {
                        for (ptrdiff_t ow = 0; ow < whole; ow += 16) _mm512_storeu_ps(dst + ow, _mm512_loadu_ps(src + ow));
                        _mm512_mask_storeu_ps(dst + whole, tail, _mm512_maskz_loadu_ps(tail, src + whole));
                    }
                }
            }
}

// col2im for stride 1 without padding, the other way round: each 16-float piece of a
// gradient row is summed in a register over the window offsets (i, j) that reach it —
// masked loads of the column rows, shifted by j — and stored once. No zero-fill, no
// read-modify-write of the planes, and the sum runs in the generic kernel's (i, j) order.
// columns [C·kH·kW, N·outH·outW] → grad_input [N, C, H, W], images [first, last) overwritten
// (`kW` is a parameter so that the common widths can be compiled with it constant: the
// loop over j unrolled, its masks in registers — twice as fast.)
BP_TARGET_AVX512 static inline __attribute__((always_inline))
void col2im_stride1_avx512_kw(const float *restrict columns, const bp_window *g, ptrdiff_t first, ptrdiff_t last,
                              float *restrict grad_input, const ptrdiff_t kW) {
    const ptrdiff_t C = g->channels, H = g->height, W = g->width, kH = g->kernel_height;
    const ptrdiff_t outH = H - kH + 1, outW = W - kW + 1, plane = outH * outW, row_length = g->batch * plane;
    __mmask16 reach[kW];                               // per window column j, for the current piece
    for (ptrdiff_t start = 0; start < W; start += 16) {  // the 16-float pieces of a row (one up to W = 16)
        for (ptrdiff_t j = 0; j < kW; j++) reach[j] = reach_mask(start, j, outW, W);
        const __mmask16 inside = (__mmask16)((1u << min_index(W - start, 16)) - 1);
        for (ptrdiff_t c = 0; c < C; c++)              // channel by channel: its kH·kW column rows stream
            for (ptrdiff_t n = first; n < last; n++) {
                const float *restrict block = columns + c * kH * kW * row_length + n * plane;  // row (c, 0, 0), image n
                float *restrict image = grad_input + (n * C + c) * H * W;
                for (ptrdiff_t h = 0; h < H; h++) {
                    // window rows i with output row oh = h − i in [0, outH)
                    const ptrdiff_t i_lo = max_index(h - outH + 1, 0), i_hi = min_index(h, kH - 1);
                    __m512 sum = _mm512_setzero_ps();
                    for (ptrdiff_t i = i_lo; i <= i_hi; i++) {
                        // lane l of piece `start` takes column (i, j)'s value at ow = start + l − j
                        const float *restrict src = block + i * kW * row_length + (h - i) * outW + start;
                        for (ptrdiff_t j = 0; j < kW; j++)
                            sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(reach[j], src + j * row_length - j));
                    }
                    _mm512_mask_storeu_ps(image + h * W + start, inside, sum);
                }
            }
        }
}

// The lanes l < 16 with lo ≤ l < hi, as a mask (empty when hi ≤ lo).
static inline __mmask16 lane_range(ptrdiff_t lo, ptrdiff_t hi) {
    lo = max_index(lo, 0);
    hi = min_index(hi, 16);
    return hi > lo ? (__mmask16)(((1u << hi) - 1) & ~((1u << lo) - 1)) : 0;
}

// im2col for stride 1 with padding (the 3×3, padding-1 convolutions of a ResNet): each
// output row of block (row (c, i, j), image n) is the input row oh − pH + i shifted by
// j − pW, or zeros when that row is in the padding. It is moved 16 floats at a time: a
// masked load reads only the lanes whose pixel lies inside the input row (masked-out lanes
// are not read, so the row's neighbours in memory are never touched, and they read as 0:
// the padding), a masked store writes the lanes inside the output row. No per-element
// index arithmetic, no calls, no zero fill written twice.
// input [N, C, H, W] → columns [C·kH·kW, N·outH·outW], images [first, last)
BP_TARGET_AVX512 static void im2col_stride1_padded_avx512(const float *restrict input, const bp_window *g,
                                                           ptrdiff_t first, ptrdiff_t last, float *restrict columns) {
    const ptrdiff_t C = g->channels, H = g->height, W = g->width, kH = g->kernel_height, kW = g->kernel_width;
    const ptrdiff_t pH = g->padding_height, pW = g->padding_width;
    const ptrdiff_t outH = output_height(g), outW = output_width(g), plane = outH * outW, row_length = g->batch * plane;
    const ptrdiff_t pieces = (outW + 15) / 16;         // 16-float pieces of an output row
    __mmask16 store[pieces], load[kW][pieces];         // per piece; per window column j and piece
    for (ptrdiff_t p = 0; p < pieces; p++) {
        // lanes of output columns 16p + l < outW; of those, the ones reading input columns
        // 16p + l + j − pW inside [0, W)
        store[p] = lane_range(0, outW - 16 * p);
        for (ptrdiff_t j = 0; j < kW; j++)
            load[j][p] = (__mmask16)(store[p] & lane_range(pW - j - 16 * p, W + pW - j - 16 * p));
    }
    const __m512 zero = _mm512_setzero_ps();
    for (ptrdiff_t c = 0; c < C; c++)
        for (ptrdiff_t i = 0; i < kH; i++)
            for (ptrdiff_t j = 0; j < kW; j++) {
                float *restrict row = columns + ((c * kH + i) * kW + j) * row_length;
                const __mmask16 *restrict reads = load[j];
                for (ptrdiff_t n = first; n < last; n++) {
                    const float *restrict image = input + (n * C + c) * H * W;
                    float *restrict dst = row + n * plane;
                    for (ptrdiff_t oh = 0; oh < outH; oh++, dst += outW) {
                        const ptrdiff_t ih = oh - pH + i;
                        if (ih < 0 || ih >= H) {       // a row of the padding
                            for (ptrdiff_t p = 0; p < pieces; p++) _mm512_mask_storeu_ps(dst + 16 * p, store[p], zero);
                            continue;
                        }
                        const float *src = image + ih * W + j - pW;   // only dereferenced under a mask
                        for (ptrdiff_t p = 0; p < pieces; p++)
                            _mm512_mask_storeu_ps(dst + 16 * p, store[p], _mm512_maskz_loadu_ps(reads[p], src + 16 * p));
                    }
                }
            }
}

// col2im for stride 1 with padding, as col2im_stride1_avx512_kw: each 16-float piece of a
// gradient row h is summed in a register over the window offsets (i, j) that reach it —
// output row oh = h + pH − i, output column ow = w + pW − j, both inside the output — and
// stored once, in the generic kernel's (i, j) order. Pixels that no window reads get 0.
// columns [C·kH·kW, N·outH·outW] → grad_input [N, C, H, W], images [first, last) overwritten
BP_TARGET_AVX512 static inline __attribute__((always_inline))
void col2im_stride1_padded_avx512_kw(const float *restrict columns, const bp_window *g, ptrdiff_t first, ptrdiff_t last,
                                     float *restrict grad_input, const ptrdiff_t kW) {
    const ptrdiff_t C = g->channels, H = g->height, W = g->width, kH = g->kernel_height;
    const ptrdiff_t pH = g->padding_height, pW = g->padding_width;
    const ptrdiff_t outH = output_height(g), outW = output_width(g), plane = outH * outW, row_length = g->batch * plane;
    __mmask16 reach[kW];                               // per window column j, for the current piece
    for (ptrdiff_t start = 0; start < W; start += 16) {  // the 16-float pieces of a row
        // lane l (pixel w = start + l < W) takes column (i, j) at ow = start + l + pW − j ∈ [0, outW)
        for (ptrdiff_t j = 0; j < kW; j++)
            reach[j] = lane_range(j - pW - start, min_index(j - pW + outW - start, W - start));
        const __mmask16 inside = lane_range(0, W - start);
        for (ptrdiff_t c = 0; c < C; c++)
            for (ptrdiff_t n = first; n < last; n++) {
                const float *restrict block = columns + c * kH * kW * row_length + n * plane;  // row (c, 0, 0), image n
                float *restrict image = grad_input + (n * C + c) * H * W;
                for (ptrdiff_t h = 0; h < H; h++) {
                    // window rows i with output row oh = h + pH − i in [0, outH)
                    const ptrdiff_t i_lo = max_index(h + pH - outH + 1, 0), i_hi = min_index(h + pH, kH - 1);
                    __m512 sum = _mm512_setzero_ps();
                    for (ptrdiff_t i = i_lo; i <= i_hi; i++) {
                        const float *src = block + i * kW * row_length + (h + pH - i) * outW + start + pW;
                        for (ptrdiff_t j = 0; j < kW; j++)
                            sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(reach[j], src + j * row_length - j));
                    }
                    _mm512_mask_storeu_ps(image + h * W + start, inside, sum);
                }
            }
    }
}

BP_TARGET_AVX512 static void col2im_stride1_padded_avx512(const float *restrict columns, const bp_window *g,
                                                           ptrdiff_t first, ptrdiff_t last, float *restrict grad_input) {
    switch (g->kernel_width) {
    case 3: col2im_stride1_padded_avx512_kw(columns, g, first, last, grad_input, 3); break;
    default: col2im_stride1_padded_avx512_kw(columns, g, first, last, grad_input, g->kernel_width); break;
    }
}

// im2col and col2im for strides above 1 (the 4×4, stride-2 convolutions of a DCGAN), by
// way of the plane's phases: phase (a, b) of a zero-padded input plane is its pixels
// (s·y + a, s·x + b), a plane of its own. Window offset (i, j) of output pixel (oh, ow)
// reads padded pixel (s·oh + i, s·ow + j) = phase (i mod s, j mod s) at (oh + i / s,
// ow + j / s): so block (row (c, i, j), image n) of the columns is a plain outH × outW
// window of one phase, copied (or added) a row at a time with masked vectors, as at
// stride 1. Each phase is phase_rows × phase_columns (outH + (kH − 1) / sH by
// outW + (kW − 1) / sW); `phases` holds the sH·sW of them, one plane's worth.
static inline ptrdiff_t phase_rows(const bp_window *g) { return output_height(g) + (g->kernel_height - 1) / g->stride_height; }
static inline ptrdiff_t phase_columns(const bp_window *g) { return output_width(g) + (g->kernel_width - 1) / g->stride_width; }

// plane [H, W] → phases [sH, sW, phase_rows, phase_columns] (zero where the pixel is padding)
BP_TARGET_AVX512 static void split_phases(const float *restrict plane, const bp_window *g, float *restrict phases) {
    const ptrdiff_t H = g->height, W = g->width, sH = g->stride_height, sW = g->stride_width;
    const ptrdiff_t pH = g->padding_height, pW = g->padding_width, PH = phase_rows(g), PW = phase_columns(g);
    for (ptrdiff_t a = 0; a < sH; a++)
        for (ptrdiff_t b = 0; b < sW; b++)
            for (ptrdiff_t y = 0; y < PH; y++) {
                float *restrict dst = phases + ((a * sW + b) * PH + y) * PW;
                const ptrdiff_t h = sH * y + a - pH;   // the input row of this phase row
                if (h < 0 || h >= H) {
                    memset(dst, 0, (size_t)PW * sizeof(float));
                    continue;
                }
                const float *src = plane + h * W;
                if (sW == 2) {                         // 16 phase columns from 32 pixels, by one permutation
                    const __m512i evens = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
                    for (ptrdiff_t x = 0; x < PW; x += 16) {
                        // pixels w … w + 31 from w = 2x + b − pW, the pixel of phase column x
                        // (the masks read only the row's own pixels: the others are padding, 0)
                        const ptrdiff_t w = 2 * x + b - pW;
                        const __m512 lo = _mm512_maskz_loadu_ps(lane_range(-w, W - w), src + w);
                        const __m512 hi = _mm512_maskz_loadu_ps(lane_range(-w - 16, W - w - 16), src + w + 16);
                        _mm512_mask_storeu_ps(dst + x, lane_range(0, PW - x), _mm512_permutex2var_ps(lo, evens, hi));
                    }
                    continue;
                }
                for (ptrdiff_t x = 0; x < PW; x++) {
                    const ptrdiff_t w = sW * x + b - pW;
                    dst[x] = w >= 0 && w < W ? src[w] : 0;
                }
            }
}

// phases [sH, sW, phase_rows, phase_columns] → plane [H, W] (pixels no window reads get 0)
BP_TARGET_AVX512 static void merge_phases(const float *restrict phases, const bp_window *g, float *restrict plane) {
    const ptrdiff_t H = g->height, W = g->width, sH = g->stride_height, sW = g->stride_width;
    const ptrdiff_t pH = g->padding_height, pW = g->padding_width, PH = phase_rows(g), PW = phase_columns(g);
    for (ptrdiff_t h = 0; h < H; h++) {
        const ptrdiff_t a = (h + pH) % sH, y = (h + pH) / sH;
        float *restrict dst = plane + h * W;
        memset(dst, 0, (size_t)W * sizeof(float));
        if (y >= PH) continue;
        for (ptrdiff_t b = 0; b < sW; b++) {
            const float *restrict src = phases + ((a * sW + b) * PH + y) * PW;
            // phase column x holds pixel w = sW·x + b − pW
            const ptrdiff_t x_lo = b >= pW ? 0 : (pW - b + sW - 1) / sW;
            const ptrdiff_t x_hi = min_index(PW, (W - 1 + pW - b) / sW + 1);
            for (ptrdiff_t x = x_lo; x < x_hi; x++) dst[sW * x + b - pW] = src[x];
        }
    }
}

// scratch for one plane's phases [sH, sW, phase_rows, phase_columns] (NULL if out of memory)
static float *phase_scratch(const bp_window *g) {
    return malloc((size_t)(g->stride_height * g->stride_width * phase_rows(g) * phase_columns(g)) * sizeof(float));
}

// input [N, C, H, W] → columns [C·kH·kW, N·outH·outW], images [first, last); 0 (nothing
// done) if its scratch cannot be allocated
BP_TARGET_AVX512 static int im2col_strided_avx512(const float *restrict input, const bp_window *g, ptrdiff_t first,
                                                   ptrdiff_t last, float *restrict columns) {
    float *restrict phases = phase_scratch(g);
    if (!phases) return 0;
    const ptrdiff_t C = g->channels, H = g->height, W = g->width, kH = g->kernel_height, kW = g->kernel_width;
    const ptrdiff_t sH = g->stride_height, sW = g->stride_width, PH = phase_rows(g), PW = phase_columns(g);
    const ptrdiff_t outH = output_height(g), outW = output_width(g), plane = outH * outW, row_length = g->batch * plane;
    const ptrdiff_t pieces = (outW + 15) / 16;
    __mmask16 lanes[pieces];                           // the lanes of each piece inside an output row
    for (ptrdiff_t p = 0; p < pieces; p++) lanes[p] = lane_range(0, outW - 16 * p);
    for (ptrdiff_t c = 0; c < C; c++)
        for (ptrdiff_t n = first; n < last; n++) {
            split_phases(input + (n * C + c) * H * W, g, phases);
            for (ptrdiff_t i = 0; i < kH; i++)
                for (ptrdiff_t j = 0; j < kW; j++) {
                    const float *restrict src = phases + ((i % sH * sW + j % sW) * PH + i / sH) * PW + j / sW;
                    float *restrict dst = columns + ((c * kH + i) * kW + j) * row_length + n * plane;
                    for (ptrdiff_t oh = 0; oh < outH; oh++, src += PW, dst += outW)
                        for (ptrdiff_t p = 0; p < pieces; p++)
                            _mm512_mask_storeu_ps(dst + 16 * p, lanes[p], _mm512_maskz_loadu_ps(lanes[p], src + 16 * p));
                }
        }
    free(phases);
    return 1;
}

// columns [C·kH·kW, N·outH·outW] → grad_input [N, C, H, W], images [first, last) overwritten;
// 0 (nothing done) if its scratch cannot be allocated. Each 16-float piece of a phase row
// is summed in a register over the window offsets (i, j) of that phase that reach it (as
// col2im_stride1_avx512_kw does for the whole plane: no read-modify-write of the phases),
// in the general kernel's (i, j) order, and stored once.
BP_TARGET_AVX512 static int col2im_strided_avx512(const float *restrict columns, const bp_window *g, ptrdiff_t first,
                                                   ptrdiff_t last, float *restrict grad_input) {
    float *restrict phases = phase_scratch(g);
    if (!phases) return 0;
    const ptrdiff_t C = g->channels, H = g->height, W = g->width, kH = g->kernel_height, kW = g->kernel_width;
    const ptrdiff_t sH = g->stride_height, sW = g->stride_width, PH = phase_rows(g), PW = phase_columns(g);
    const ptrdiff_t outH = output_height(g), outW = output_width(g), plane = outH * outW, row_length = g->batch * plane;
    const ptrdiff_t pieces = (PW + 15) / 16, shifts = (kW - 1) / sW + 1;
    // reach[p][u]: lanes of piece p of a phase row that window column j = u·sW + b reaches
    // (phase column x = 16p + l takes output column ow = x − u)
    __mmask16 reach[pieces][shifts], inside[pieces];
    for (ptrdiff_t p = 0; p < pieces; p++) {
        inside[p] = lane_range(0, PW - 16 * p);
        for (ptrdiff_t u = 0; u < shifts; u++) reach[p][u] = reach_mask(16 * p, u, outW, PW);
    }
    for (ptrdiff_t c = 0; c < C; c++)
        for (ptrdiff_t n = first; n < last; n++) {
            const float *restrict block = columns + c * kH * kW * row_length + n * plane;  // row (c, 0, 0), image n
            for (ptrdiff_t a = 0; a < sH; a++)
                for (ptrdiff_t b = 0; b < sW; b++)
                    for (ptrdiff_t y = 0; y < PH; y++) {
                        float *restrict dst = phases + ((a * sW + b) * PH + y) * PW;
                        for (ptrdiff_t p = 0; p < pieces; p++) {
                            __m512 sum = _mm512_setzero_ps();
                            // window rows i = t·sH + a with output row oh = y − t in [0, outH)
                            for (ptrdiff_t t = max_index(y - outH + 1, 0); t <= y && t * sH + a < kH; t++) {
                                const ptrdiff_t i = t * sH + a;
                                for (ptrdiff_t u = 0; u * sW + b < kW; u++) {
                                    const float *src = block + (i * kW + u * sW + b) * row_length + (y - t) * outW + 16 * p - u;
                                    sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(reach[p][u], src));
                                }
                            }
                            _mm512_mask_storeu_ps(dst + 16 * p, inside[p], sum);
                        }
                    }
            merge_phases(phases, g, grad_input + (n * C + c) * H * W);
        }
    free(phases);
    return 1;
}

BP_TARGET_AVX512 static void col2im_stride1_avx512(const float *restrict columns, const bp_window *g, ptrdiff_t first,
                                                    ptrdiff_t last, float *restrict grad_input) {
    switch (g->kernel_width) {
    case 3: col2im_stride1_avx512_kw(columns, g, first, last, grad_input, 3); break;
    case 5: col2im_stride1_avx512_kw(columns, g, first, last, grad_input, 5); break;
    default: col2im_stride1_avx512_kw(columns, g, first, last, grad_input, g->kernel_width); break;
    }
}
#endif

// input [N, C, H, W] → columns [C·kH·kW, N·outH·outW], images [first, last)
BP_CLONES void bp_im2col_f32(const float *restrict input, const bp_window *g, ptrdiff_t first, ptrdiff_t last,
                             float *restrict columns) {
    const ptrdiff_t C = g->channels, H = g->height, W = g->width, kH = g->kernel_height, kW = g->kernel_width;
    const ptrdiff_t sH = g->stride_height, sW = g->stride_width, pH = g->padding_height, pW = g->padding_width;
    const ptrdiff_t outH = output_height(g), outW = output_width(g), plane = outH * outW;
    const ptrdiff_t row_length = g->batch * plane;     // N·outH·outW
    // Each row (c, i, j) of the columns is written front to back, image after image: the
    // writes stream, the reads come from one input plane (small enough to stay in cache).
    if (sH == 1 && sW == 1 && pH == 0 && pW == 0) {
#ifdef BP_AVX512
        if (has_avx512()) {
            im2col_stride1_avx512(input, g, first, last, columns);
            return;
        }
#endif
        im2col_stride1(input, g, first, last, columns);
        return;
    }
#ifdef BP_AVX512
    if (sH == 1 && sW == 1 && has_avx512()) {         // stride 1 with padding
        im2col_stride1_padded_avx512(input, g, first, last, columns);
        return;
    }
    if (has_avx512() && im2col_strided_avx512(input, g, first, last, columns)) return;  // strides above 1
#endif
    for (ptrdiff_t c = 0; c < C; c++)
        for (ptrdiff_t i = 0; i < kH; i++) {
            ptrdiff_t oh_lo, oh_hi;                    // rows whose window row i is inside the image
            valid_outputs(i, pH, sH, H, outH, &oh_lo, &oh_hi);
            for (ptrdiff_t j = 0; j < kW; j++) {
                ptrdiff_t ow_lo, ow_hi;                // columns whose window column j is inside the image
                valid_outputs(j, pW, sW, W, outW, &ow_lo, &ow_hi);
                float *restrict row = columns + ((c * kH + i) * kW + j) * row_length;
                for (ptrdiff_t n = first; n < last; n++) {
                    const float *restrict image = input + (n * C + c) * H * W;
                    float *restrict block = row + n * plane;
                    memset(block, 0, (size_t)(oh_lo * outW) * sizeof(float));
                    for (ptrdiff_t oh = oh_lo; oh < oh_hi; oh++) {
                        float *restrict dst = block + oh * outW;
                        // input row of this output row; its column for ow is ow·sW − pW + j
                        const float *restrict src = image + (oh * sH - pH + i) * W - pW + j;
                        for (ptrdiff_t ow = 0; ow < ow_lo; ow++) dst[ow] = 0;
                        if (sW == 1) {
                            for (ptrdiff_t ow = ow_lo; ow < ow_hi; ow++) dst[ow] = src[ow];
                        } else {
                            for (ptrdiff_t ow = ow_lo; ow < ow_hi; ow++) dst[ow] = src[ow * sW];
                        }
                        for (ptrdiff_t ow = ow_hi; ow < outW; ow++) dst[ow] = 0;
                    }
                    memset(block + oh_hi * outW, 0, (size_t)((outH - oh_hi) * outW) * sizeof(float));
                }
            }
        }
}

// columns [C·kH·kW, N·outH·outW] → grad_input [N, C, H, W], images [first, last)
BP_CLONES void bp_col2im_f32(const float *restrict columns, const bp_window *g, ptrdiff_t first, ptrdiff_t last,
                             float *restrict grad_input) {
    const ptrdiff_t C = g->channels, H = g->height, W = g->width, kH = g->kernel_height, kW = g->kernel_width;
    const ptrdiff_t sH = g->stride_height, sW = g->stride_width, pH = g->padding_height, pW = g->padding_width;
    const ptrdiff_t outH = output_height(g), outW = output_width(g), plane = outH * outW;
    const ptrdiff_t row_length = g->batch * plane;
    // Channel by channel: the channel's planes of all the images are zeroed, then every
    // column row of the channel is read front to back (image after image) and added onto
    // them. The rows stream (the prefetcher follows them), the planes stay in cache, and
    // two overlapping additions into one plane are a whole row apart (a vector added at
    // (h, w + 1) right after one stored at (h, w) would wait for that store).
#ifdef BP_AVX512
    if (sH == 1 && sW == 1 && pH == 0 && pW == 0 && has_avx512()) {
        col2im_stride1_avx512(columns, g, first, last, grad_input);
        return;
    }
    if (sH == 1 && sW == 1 && has_avx512()) {          // stride 1 with padding
        col2im_stride1_padded_avx512(columns, g, first, last, grad_input);
        return;
    }
    if (has_avx512() && col2im_strided_avx512(columns, g, first, last, grad_input)) return;  // strides above 1
#endif
    for (ptrdiff_t c = 0; c < C; c++) {
        for (ptrdiff_t n = first; n < last; n++)
            memset(grad_input + (n * C + c) * H * W, 0, (size_t)(H * W) * sizeof(float));
        if (sH == 1 && sW == 1 && pH == 0 && pW == 0) {
            col2im_stride1_channel(columns, g, c, first, last, grad_input);
            continue;
        }
        for (ptrdiff_t i = 0; i < kH; i++) {
            ptrdiff_t oh_lo, oh_hi;                    // rows whose window row i is inside the image
            valid_outputs(i, pH, sH, H, outH, &oh_lo, &oh_hi);
            for (ptrdiff_t j = 0; j < kW; j++) {
                ptrdiff_t ow_lo, ow_hi;                // columns whose window column j is inside the image
                valid_outputs(j, pW, sW, W, outW, &ow_lo, &ow_hi);
                const float *restrict row = columns + ((c * kH + i) * kW + j) * row_length;
                for (ptrdiff_t n = first; n < last; n++) {
                    const float *restrict block = row + n * plane;
                    float *restrict image = grad_input + (n * C + c) * H * W;
                    for (ptrdiff_t oh = oh_lo; oh < oh_hi; oh++) {
                        const float *restrict src = block + oh * outW;
                        float *restrict dst = image + (oh * sH - pH + i) * W - pW + j;
                        if (sW == 1) {
                            for (ptrdiff_t ow = ow_lo; ow < ow_hi; ow++) dst[ow] += src[ow];
                        } else {
                            for (ptrdiff_t ow = ow_lo; ow < ow_hi; ow++) dst[ow * sW] += src[ow];
                        }
                    }
                }
            }
        }
    }
}

// MARK: direct 3×3 convolution (stride 1, padding 1)
//
// The 3×3, stride-1, padding-1 convolutions of a ResNet keep the image size (outH = H,
// outW = W), so an output plane and an input plane have the same flat layout: output pixel
// q = oh·W + ow reads input pixel q + (i − 1)·W + (j − 1) at window offset (i, j), unless that
// falls in the padding. These kernels compute such a convolution straight from the NCHW
// planes — no columns, no GEMM, nothing written but the result — 16 consecutive pixels of a
// plane at a time (a "piece": it may span several image rows, so 7- and 14-wide planes waste
// no lanes): each window offset is one masked load of 16 input pixels (the mask drops the
// lanes whose source lies in the padding; they read as 0), multiplied into 16 accumulators.
// They run on AVX-512 only; other CPUs (and other geometries) take im2col and the GEMM.

enum { DIRECT_TAPS = 9, DIRECT_BLOCK = 16 };   // window offsets t = 3i + j; filters per accumulator block
enum { DIRECT_MASKS = DIRECT_TAPS + 1 };       // per piece: a mask per tap, then the piece's own pixels

int bp_direct_conv3x3_available(const bp_window *g) {
#ifdef BP_AVX512
    return has_avx512() && g->kernel_height == 3 && g->kernel_width == 3 && g->stride_height == 1 &&
           g->stride_width == 1 && g->padding_height == 1 && g->padding_width == 1;
#else
    (void)g;
    return 0;
#endif
}

// weight [F, C, 3, 3] → packed [⌈F/16⌉, C, 9, 16]: for block b, input channel c and tap t, the
// 16 weights of filters 16b … 16b + 15 (zeros past F). With `adjoint`, the packing of the
// adjoint convolution (gradOutput [F planes] → gradInput [C planes]): filters and channels
// swapped and the window turned by 180°, packed [⌈C/16⌉, F, 9, 16] with
// packed[b, f, t, k] = weight[f, 16b + k, 8 − t].
void bp_direct_conv3x3_pack_f32(const float *weight, ptrdiff_t filters, ptrdiff_t channels, int adjoint,
                                float *packed) {
    const ptrdiff_t outs = adjoint ? channels : filters, ins = adjoint ? filters : channels;
    const ptrdiff_t blocks = (outs + DIRECT_BLOCK - 1) / DIRECT_BLOCK;
    if (outs % DIRECT_BLOCK) memset(packed, 0, (size_t)(blocks * ins * DIRECT_TAPS * DIRECT_BLOCK) * sizeof(float));
    // the weights read front to back, each written to its place (no branch per weight)
    for (ptrdiff_t f = 0; f < filters; f++)
        for (ptrdiff_t c = 0; c < channels; c++) {
            const float *w = weight + (f * channels + c) * DIRECT_TAPS;
            const ptrdiff_t o = adjoint ? c : f, i = adjoint ? f : c; // output, input of the packed convolution
            float *dst = packed + ((o / DIRECT_BLOCK * ins + i) * DIRECT_TAPS) * DIRECT_BLOCK + o % DIRECT_BLOCK;
            for (ptrdiff_t t = 0; t < DIRECT_TAPS; t++) dst[(adjoint ? DIRECT_TAPS - 1 - t : t) * DIRECT_BLOCK] = w[t];
        }
}

#ifdef BP_AVX512
// masks [pieces, 10]: for piece p (pixels q = 16p + l of a plane of `stack` H×W images one
// above the other) and tap t = (i, j), the lanes whose pixel exists and whose source pixel
// (oh + i − 1, ow + j − 1) is inside the pixel's own image; then (entry 9) the lanes whose
// pixel exists.
static void direct_masks(ptrdiff_t H, ptrdiff_t W, ptrdiff_t stack, __mmask16 *masks) {
    const ptrdiff_t total = stack * H * W, pieces = (total + 15) / 16;
    for (ptrdiff_t p = 0; p < pieces; p++) {
        unsigned rows[3] = {0, 0, 0}, cols[3] = {0, 0, 0};   // lanes whose row oh + i − 1 / column ow + j − 1 is inside
        ptrdiff_t oh = (16 * p) / W % H, ow = (16 * p) % W; // row inside its image, column
        for (int l = 0; l < 16 && 16 * p + l < total; l++) {
            for (int d = 0; d < 3; d++) {
                if (oh + d - 1 >= 0 && oh + d - 1 < H) rows[d] |= 1u << l;
                if (ow + d - 1 >= 0 && ow + d - 1 < W) cols[d] |= 1u << l;
            }
            if (++ow == W) { ow = 0; if (++oh == H) oh = 0; }
        }
        for (int t = 0; t < DIRECT_TAPS; t++) masks[p * DIRECT_MASKS + t] = (__mmask16)(rows[t / 3] & cols[t % 3]);
        masks[p * DIRECT_MASKS + DIRECT_TAPS] = lane_range(0, total - 16 * p);
    }
}

// input [N, C, H, W], packed [⌈F/16⌉, C, 9, 16] → output [N, F, H, W], images [first, last)
// For each piece of each image and each block of 16 filters: 16 accumulators (one per
// filter, 16 pixels each), and per (channel, tap) one masked load of the input and 16 FMAs
// with the filters' weights broadcast from the packed block (read front to back).
BP_TARGET_AVX512 static void direct_conv3x3_avx512(const float *restrict input, ptrdiff_t C, ptrdiff_t H, ptrdiff_t W,
                                                    const float *restrict packed, ptrdiff_t F, ptrdiff_t first,
                                                    ptrdiff_t last, const __mmask16 *restrict masks,
                                                    float *restrict output) {
    const ptrdiff_t HW = H * W, pieces = (HW + 15) / 16, blocks = (F + DIRECT_BLOCK - 1) / DIRECT_BLOCK;
    ptrdiff_t offset[DIRECT_TAPS];                     // source of pixel q at tap (i, j): q + offset
    for (int t = 0; t < DIRECT_TAPS; t++) offset[t] = (t / 3 - 1) * W + (t % 3 - 1);
    for (ptrdiff_t n = first; n < last; n++) {
        const float *restrict x = input + n * C * HW;
        float *restrict y = output + n * F * HW;
        for (ptrdiff_t p = 0; p < pieces; p++) {
            const __mmask16 *restrict m = masks + p * DIRECT_MASKS, tail = m[DIRECT_TAPS];
            for (ptrdiff_t b = 0; b < blocks; b++) {
                __m512 acc[DIRECT_BLOCK];
#pragma clang loop unroll(full)
                for (int k = 0; k < DIRECT_BLOCK; k++) acc[k] = _mm512_setzero_ps();
                const float *restrict w = packed + b * C * DIRECT_TAPS * DIRECT_BLOCK;
                for (ptrdiff_t c = 0; c < C; c++) {
                    const float *src = x + c * HW + 16 * p;       // only dereferenced under a mask
#pragma clang loop unroll(full)
                    for (int t = 0; t < DIRECT_TAPS; t++, w += DIRECT_BLOCK) {
                        const __m512 v = _mm512_maskz_loadu_ps(m[t], src + offset[t]);
#pragma clang loop unroll(full)
                        for (int k = 0; k < DIRECT_BLOCK; k++)
                            acc[k] = _mm512_fmadd_ps(v, _mm512_set1_ps(w[k]), acc[k]);
                    }
                }
                const ptrdiff_t count = min_index(DIRECT_BLOCK, F - b * DIRECT_BLOCK);
                float *restrict dst = y + b * DIRECT_BLOCK * HW + 16 * p;
                // (a loop of constant length, unrolled: the accumulators stay in registers)
#pragma clang loop unroll(full)
                for (int k = 0; k < DIRECT_BLOCK; k++)
                    if (k < count) _mm512_mask_storeu_ps(dst + k * HW, tail, acc[k]);
            }
        }
    }
}

// A convolution with at most 3 filters (the last layer of a generator: 32 channels → 1
// image) would leave 13 or more of the 16 accumulators above idle. Here the accumulators
// hold `PIECES` consecutive pieces of the plane for each of the `nf` filters instead:
// per (channel, tap) one masked load per piece and nf FMAs on it, the weights broadcast.
enum { FEW_FILTERS = 3, FEW_PIECES = 4 };   // at most 3 filters; 4 pieces of 16 pixels per filter
BP_TARGET_AVX512 static inline __attribute__((always_inline)) void
direct_few_filters_pieces(const float *restrict x, ptrdiff_t C, ptrdiff_t HW, const ptrdiff_t offset[DIRECT_TAPS],
                          const float *restrict packed, const __mmask16 *restrict masks, ptrdiff_t p0,
                          ptrdiff_t count, const int nf, float *restrict y) {
    __m512 acc[FEW_FILTERS][FEW_PIECES];
#pragma clang loop unroll(full)
    for (int f = 0; f < FEW_FILTERS; f++)
#pragma clang loop unroll(full)
        for (int j = 0; j < FEW_PIECES; j++) acc[f][j] = _mm512_setzero_ps();
    const float *restrict w = packed;
    for (ptrdiff_t c = 0; c < C; c++) {
        const float *src = x + c * HW + 16 * p0;       // only dereferenced under a mask
#pragma clang loop unroll(full)
        for (int t = 0; t < DIRECT_TAPS; t++, w += DIRECT_BLOCK) {
#pragma clang loop unroll(full)
            for (int j = 0; j < FEW_PIECES; j++) {
                if (j >= count) break;
                const __m512 v = _mm512_maskz_loadu_ps(masks[(p0 + j) * DIRECT_MASKS + t], src + 16 * j + offset[t]);
#pragma clang loop unroll(full)
                for (int f = 0; f < FEW_FILTERS; f++)
                    if (f < nf) acc[f][j] = _mm512_fmadd_ps(v, _mm512_set1_ps(w[f]), acc[f][j]);
            }
        }
    }
#pragma clang loop unroll(full)
    for (int j = 0; j < FEW_PIECES; j++) {
        if (j >= count) break;
        const __mmask16 tail = masks[(p0 + j) * DIRECT_MASKS + DIRECT_TAPS];
#pragma clang loop unroll(full)
        for (int f = 0; f < FEW_FILTERS; f++)
            if (f < nf) _mm512_mask_storeu_ps(y + f * HW + 16 * (p0 + j), tail, acc[f][j]);
    }
}

// input [N, C, H, W], packed [1, C, 9, 16] → output [N, F, H, W] for F ≤ 3, images [first, last)
BP_TARGET_AVX512 static void direct_conv3x3_few_filters_avx512(const float *restrict input, ptrdiff_t C, ptrdiff_t H,
                                                                ptrdiff_t W, const float *restrict packed, ptrdiff_t F,
                                                                ptrdiff_t first, ptrdiff_t last,
                                                                const __mmask16 *restrict masks, float *restrict output) {
    const ptrdiff_t HW = H * W, pieces = (HW + 15) / 16;
    ptrdiff_t offset[DIRECT_TAPS];
    for (int t = 0; t < DIRECT_TAPS; t++) offset[t] = (t / 3 - 1) * W + (t % 3 - 1);
    for (ptrdiff_t n = first; n < last; n++)
        for (ptrdiff_t p = 0; p < pieces; p += FEW_PIECES) {
            const ptrdiff_t count = min_index(FEW_PIECES, pieces - p);
            const float *x = input + n * C * HW;
            float *y = output + n * F * HW;
            // (a constant filter count per call: the loops over filters unroll to exactly F)
            if (F == 1) direct_few_filters_pieces(x, C, HW, offset, packed, masks, p, count, 1, y);
            else if (F == 2) direct_few_filters_pieces(x, C, HW, offset, packed, masks, p, count, 2, y);
            else direct_few_filters_pieces(x, C, HW, offset, packed, masks, p, count, 3, y);
        }
}

// The weight gradient of a convolution with at most 3 filters, pixels in the lanes: for
// each channel, nf · 9 accumulators (one per filter and tap) take per piece the filters'
// gradients (nf loads, kept for the channel's 9 taps) times the tap's masked input.
// input [N, C, H, W], grad_output [N, F, H, W] → weight_grad [F, C, 3, 3] += images [first, last), F ≤ 3
BP_TARGET_AVX512 static inline __attribute__((always_inline)) void
direct_weight_grad_few_filters(const float *restrict input, const float *restrict grad_output, ptrdiff_t C,
                               ptrdiff_t H, ptrdiff_t W, const int nf, ptrdiff_t first, ptrdiff_t last,
                               const __mmask16 *restrict masks, float *restrict weight_grad) {
    const ptrdiff_t HW = H * W, pieces = (HW + 15) / 16;
    ptrdiff_t offset[DIRECT_TAPS];
    for (int t = 0; t < DIRECT_TAPS; t++) offset[t] = (t / 3 - 1) * W + (t % 3 - 1);
    for (ptrdiff_t c = 0; c < C; c++) {
        __m512 acc[FEW_FILTERS][DIRECT_TAPS];
#pragma clang loop unroll(full)
        for (int f = 0; f < FEW_FILTERS; f++)
#pragma clang loop unroll(full)
            for (int t = 0; t < DIRECT_TAPS; t++) acc[f][t] = _mm512_setzero_ps();
        for (ptrdiff_t n = first; n < last; n++) {
            const float *x = input + (n * C + c) * HW, *g = grad_output + n * nf * HW;
            for (ptrdiff_t p = 0; p < pieces; p++) {
                const __mmask16 *m = masks + p * DIRECT_MASKS;
                __m512 gy[FEW_FILTERS];
#pragma clang loop unroll(full)
                for (int f = 0; f < FEW_FILTERS; f++)
                    if (f < nf) gy[f] = _mm512_maskz_loadu_ps(m[DIRECT_TAPS], g + f * HW + 16 * p);
#pragma clang loop unroll(full)
                for (int t = 0; t < DIRECT_TAPS; t++) {
                    const __m512 v = _mm512_maskz_loadu_ps(m[t], x + 16 * p + offset[t]);
#pragma clang loop unroll(full)
                    for (int f = 0; f < FEW_FILTERS; f++)
                        if (f < nf) acc[f][t] = _mm512_fmadd_ps(gy[f], v, acc[f][t]);
                }
            }
        }
#pragma clang loop unroll(full)
        for (int f = 0; f < FEW_FILTERS; f++)
#pragma clang loop unroll(full)
            for (int t = 0; t < DIRECT_TAPS; t++)
                if (f < nf) weight_grad[(f * C + c) * DIRECT_TAPS + t] += _mm512_reduce_add_ps(acc[f][t]);
    }
}

// input [N, C, H, W], grad_output [N, F, H, W] → weight_grad [F, C, 3, 3] += images [first, last), F ≤ 3
BP_TARGET_AVX512 static void direct_conv3x3_weight_grad_few_filters_avx512(const float *restrict input,
                                                                            const float *restrict grad_output,
                                                                            ptrdiff_t C, ptrdiff_t H, ptrdiff_t W,
                                                                            ptrdiff_t F, ptrdiff_t first,
                                                                            ptrdiff_t last, float *restrict weight_grad) {
    __mmask16 *masks = malloc((size_t)((H * W + 15) / 16 * DIRECT_MASKS) * sizeof(__mmask16));
    direct_masks(H, W, 1, masks);
    // (a constant filter count per call, as in the forward kernel)
    if (F == 1) direct_weight_grad_few_filters(input, grad_output, C, H, W, 1, first, last, masks, weight_grad);
    else if (F == 2) direct_weight_grad_few_filters(input, grad_output, C, H, W, 2, first, last, masks, weight_grad);
    else direct_weight_grad_few_filters(input, grad_output, C, H, W, 3, first, last, masks, weight_grad);
    free(masks);
}

// r[i] = row i of a 16×16 block of floats → r[j] = its column j
BP_TARGET_AVX512 static inline void transpose16x16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; i++) { // pairs of rows interleaved
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) { // 4×4 blocks within each 128-bit lane
        const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
        const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
        r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    for (int i = 0; i < 4; i++) { // then the 128-bit lanes, in two rounds
        t[i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0x88);
        t[4 + i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0xdd);
        t[8 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0x88);
        t[12 + i] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0xdd);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
        r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xdd);
        r[4 + i] = _mm512_shuffle_f32x4(t[4 + i], t[12 + i], 0x88);
        r[12 + i] = _mm512_shuffle_f32x4(t[4 + i], t[12 + i], 0xdd);
    }
}

// One block of 16 filters and `group` channels of one image: sums [group, 9, 16] += Σ over
// the pixels (h, w) of gradients [H·W, 16] (the block's 16 filters at each pixel) times the
// window's input values, broadcast from padded [group, H + 2, W + 2] (zero borders).
// group · 9 accumulators; per pixel one load and group · 9 FMAs.
BP_TARGET_AVX512 static inline __attribute__((always_inline)) void
direct_weight_grad_block(float *restrict sums, const float *restrict gradients, const float *restrict padded, ptrdiff_t H,
                         ptrdiff_t W, const int group) {
    const ptrdiff_t Wp = W + 2, plane = (H + 2) * Wp;
    __m512 acc[3][DIRECT_TAPS];
#pragma clang loop unroll(full)
    for (int k = 0; k < 3; k++)
#pragma clang loop unroll(full)
        for (int t = 0; t < DIRECT_TAPS; t++)
            if (k < group) acc[k][t] = _mm512_load_ps(sums + (k * DIRECT_TAPS + t) * 16);
    for (ptrdiff_t h = 0; h < H; h++)
        for (ptrdiff_t w = 0; w < W; w++) {
            const __m512 gy = _mm512_load_ps(gradients + (h * W + w) * 16); // the 16 filters' gradients at (h, w)
            const float *window = padded + h * Wp + w;                     // its 3×3 window's top left, padded
#pragma clang loop unroll(full)
            for (int k = 0; k < 3; k++)
#pragma clang loop unroll(full)
                for (int t = 0; t < DIRECT_TAPS; t++)
                    if (k < group)
                        acc[k][t] = _mm512_fmadd_ps(gy, _mm512_set1_ps(window[k * plane + (t / 3) * Wp + t % 3]), acc[k][t]);
        }
#pragma clang loop unroll(full)
    for (int k = 0; k < 3; k++)
#pragma clang loop unroll(full)
        for (int t = 0; t < DIRECT_TAPS; t++)
            if (k < group) _mm512_store_ps(sums + (k * DIRECT_TAPS + t) * 16, acc[k][t]);
}

// input [N, C, H, W], grad_output [N, F, H, W] → weight_grad [F, C, 3, 3] += Σ over images
// [first, last) and their pixels q of grad_output[n, f, q] · input[n, c, q + tap]. Filters in the lanes: per image, the input is
// copied into zero-bordered planes [C', H + 2, W + 2] (C' = C rounded up to 3; the border
// stands for the padding, so no window needs a mask) and grad_output transposed to
// [⌈F/16⌉, H·W, 16] (16×16 blocks in registers); then for each block of 16 filters and
// group of 3 channels (1 if C = 1), 27 accumulators (3 channels × 9 taps, 16 filters each)
// take per pixel one load of its 16 gradients and 27 FMAs with the input values broadcast:
// the forward kernel's shape. The accumulators are kept in `sums` [⌈F/16⌉, C', 9, 16]
// across the images and added to weight_grad at the end.
BP_TARGET_AVX512 static void direct_conv3x3_weight_grad_avx512(const float *restrict input, const float *restrict grad_output,
                                                                ptrdiff_t C, ptrdiff_t H, ptrdiff_t W, ptrdiff_t F,
                                                                ptrdiff_t first, ptrdiff_t last, float *restrict weight_grad) {
    const int group = C == 1 ? 1 : 3;                 // channels per group
    const ptrdiff_t HW = H * W, Wp = W + 2, plane = (H + 2) * Wp;
    const ptrdiff_t groups = (C + group - 1) / group, padded_channels = groups * group, blocks = (F + 15) / 16;
    const size_t sums_size = (size_t)(blocks * padded_channels * DIRECT_TAPS) * 16 * sizeof(float);
    float *padded = calloc((size_t)(padded_channels * plane), sizeof(float)); // borders and extra channels stay 0
    float *transposed = aligned_alloc(64, (size_t)(blocks * HW) * 16 * sizeof(float));
    float *sums = aligned_alloc(64, sums_size);
    memset(sums, 0, sums_size);
    for (ptrdiff_t n = first; n < last; n++) {
        const float *x = input + n * C * HW, *g = grad_output + n * F * HW;
        for (ptrdiff_t c = 0; c < C; c++)
            for (ptrdiff_t h = 0; h < H; h++)
                memcpy(padded + c * plane + (h + 1) * Wp + 1, x + c * HW + h * W, (size_t)W * sizeof(float));
        for (ptrdiff_t b = 0; b < blocks; b++)
            for (ptrdiff_t q0 = 0; q0 < HW; q0 += 16) {
                const ptrdiff_t count = min_index(16, HW - q0);
                const __mmask16 lanes = (__mmask16)((1u << count) - 1);
                __m512 r[16];                             // r[k]: filter 16b + k at pixels q0 …
                for (int k = 0; k < 16; k++)
                    r[k] = 16 * b + k < F ? _mm512_maskz_loadu_ps(lanes, g + (16 * b + k) * HW + q0)
                                          : _mm512_setzero_ps();
                transpose16x16(r);                        // r[j]: pixel q0 + j, the 16 filters
                for (ptrdiff_t j = 0; j < count; j++) _mm512_store_ps(transposed + (b * HW + q0 + j) * 16, r[j]);
            }
        for (ptrdiff_t b = 0; b < blocks; b++)
            for (ptrdiff_t c = 0; c < padded_channels; c += group) {
                float *block_sums = sums + (b * padded_channels + c) * DIRECT_TAPS * 16;
                const float *gradients = transposed + b * HW * 16, *window_source = padded + c * plane;
                if (group == 1) direct_weight_grad_block(block_sums, gradients, window_source, H, W, 1);
                else direct_weight_grad_block(block_sums, gradients, window_source, H, W, 3);
            }
    }
    for (ptrdiff_t f = 0; f < F; f++)
        for (ptrdiff_t c = 0; c < C; c++)
            for (int t = 0; t < DIRECT_TAPS; t++)
                weight_grad[(f * C + c) * DIRECT_TAPS + t] += sums[((f / 16 * padded_channels + c) * DIRECT_TAPS + t) * 16 + f % 16];
    free(padded);
    free(transposed);
    free(sums);
}
#endif

// input [N, C, stack·H, W], packed [⌈F/16⌉, C, 9, 16] → output [N, F, stack·H, W], images [first, last)
void bp_direct_conv3x3_f32(const float *input, ptrdiff_t channels, ptrdiff_t height, ptrdiff_t width, ptrdiff_t stack,
                           const float *packed, ptrdiff_t filters, ptrdiff_t first, ptrdiff_t last, float *output) {
#ifdef BP_AVX512
    const ptrdiff_t pieces = (stack * height * width + 15) / 16;
    __mmask16 *masks = malloc((size_t)(pieces * DIRECT_MASKS) * sizeof(__mmask16));
    direct_masks(height, width, stack, masks);
    if (filters <= FEW_FILTERS)
        direct_conv3x3_few_filters_avx512(input, channels, stack * height, width, packed, filters, first, last, masks,
                                          output);
    else
        direct_conv3x3_avx512(input, channels, stack * height, width, packed, filters, first, last, masks, output);
    free(masks);
#else
    (void)input; (void)channels; (void)height; (void)width; (void)stack; (void)packed; (void)filters; (void)first;
    (void)last; (void)output;
#endif
}

// input [N, C, H, W], grad_output [N, F, H, W] → weight_grad [F, C, 3, 3] += images [first, last)
void bp_direct_conv3x3_weight_grad_f32(const float *input, const float *grad_output, ptrdiff_t channels,
                                       ptrdiff_t height, ptrdiff_t width, ptrdiff_t filters,
                                       ptrdiff_t first, ptrdiff_t last, float *weight_grad) {
#ifdef BP_AVX512
    if (filters <= FEW_FILTERS)
        direct_conv3x3_weight_grad_few_filters_avx512(input, grad_output, channels, height, width, filters, first, last,
                                                      weight_grad);
    else
        direct_conv3x3_weight_grad_avx512(input, grad_output, channels, height, width, filters, first, last, weight_grad);
#else
    (void)input; (void)grad_output; (void)channels; (void)height; (void)width; (void)filters; (void)first; (void)last;
    (void)weight_grad;
#endif
}

// MARK: rearrangements between the GEMM's layout and NCHW

// product [F, N·P] (+ bias [F]) → output [N, F, P], images [first, last)
BP_CLONES void bp_feature_major_to_batch_major_f32(const float *restrict product, const float *restrict bias,
                                                   ptrdiff_t features, ptrdiff_t batch, ptrdiff_t plane,
                                                   ptrdiff_t first, ptrdiff_t last, float *restrict output) {
    for (ptrdiff_t n = first; n < last; n++)
        for (ptrdiff_t f = 0; f < features; f++) {
            const float *restrict src = product + (f * batch + n) * plane;
            float *restrict dst = output + (n * features + f) * plane;
            if (bias) {
                const float b = bias[f];
                for (ptrdiff_t p = 0; p < plane; p++) dst[p] = src[p] + b;
            } else {
                memcpy(dst, src, (size_t)plane * sizeof(float));
            }
        }
}

// x [N, F, P] → columns [F, N·P], images [first, last)
BP_CLONES void bp_batch_major_to_feature_major_f32(const float *restrict x, ptrdiff_t features, ptrdiff_t batch,
                                                   ptrdiff_t plane, ptrdiff_t first, ptrdiff_t last,
                                                   float *restrict columns) {
    for (ptrdiff_t n = first; n < last; n++)
        for (ptrdiff_t f = 0; f < features; f++)
            memcpy(columns + (f * batch + n) * plane, x + (n * features + f) * plane, (size_t)plane * sizeof(float));
}

// MARK: max pooling

// input [N·C, H, W] → output, argmax [N·C, outH, outW], planes [first, last)
BP_CLONES void bp_max_pool_f32(const float *restrict input, const bp_window *g, ptrdiff_t first, ptrdiff_t last,
                               float *restrict output, int32_t *restrict argmax) {
    const ptrdiff_t H = g->height, W = g->width, kH = g->kernel_height, kW = g->kernel_width;
    const ptrdiff_t sH = g->stride_height, sW = g->stride_width, pH = g->padding_height, pW = g->padding_width;
    const ptrdiff_t outH = output_height(g), outW = output_width(g);
    // The comparisons are selects, not branches (the winner of a window is unpredictable),
    // and strict `>`: the first maximum in scan order wins ties.
    if (kH == 2 && kW == 2 && pH == 0 && pW == 0) {
        // a 2×2 window without padding lies inside the image: candidates a, b (top row),
        // c, d (bottom row); the better of (a, b), of (c, d), then of the two
        for (ptrdiff_t p = first; p < last; p++) {
            const float *restrict x = input + p * H * W;
            float *restrict y = output + p * outH * outW;
            int32_t *restrict index = argmax + p * outH * outW;
            for (ptrdiff_t oh = 0; oh < outH; oh++) {
                const ptrdiff_t top = oh * sH * W;
                const float *restrict r0 = x + top, *restrict r1 = r0 + W;
                float *restrict yr = y + oh * outW;
                int32_t *restrict ir = index + oh * outW;
#define BP_POOL_2X2(step)                                                                        \
                for (ptrdiff_t ow = 0; ow < outW; ow++) {                                        \
                    const ptrdiff_t w = ow * (step);                                             \
                    const float a = r0[w], b = r0[w + 1], c = r1[w], d = r1[w + 1];              \
                    const int take_b = b > a, take_d = d > c;                                    \
                    const float upper = take_b ? b : a, lower = take_d ? d : c;                  \
                    const int32_t upper_at = (int32_t)(top + w) + take_b;                        \
                    const int32_t lower_at = (int32_t)(top + W + w) + take_d;                    \
                    const int take_lower = lower > upper;                                        \
                    yr[ow] = take_lower ? lower : upper;                                         \
                    ir[ow] = take_lower ? lower_at : upper_at;                                   \
                }
                if (sW == 2) {
                    BP_POOL_2X2(2)                     // the usual 2×2 stride-2 pool: a constant stride vectorises
                } else {
                    BP_POOL_2X2(sW)
                }
#undef BP_POOL_2X2
            }
        }
        return;
    }
    for (ptrdiff_t p = first; p < last; p++) {
        const float *restrict x = input + p * H * W;
        float *restrict y = output + p * outH * outW;
        int32_t *restrict index = argmax + p * outH * outW;
        for (ptrdiff_t oh = 0; oh < outH; oh++) {
            const ptrdiff_t h0 = oh * sH - pH, h_lo = max_index(h0, 0), h_hi = min_index(h0 + kH, H);
            for (ptrdiff_t ow = 0; ow < outW; ow++) {
                const ptrdiff_t w0 = ow * sW - pW, w_lo = max_index(w0, 0), w_hi = min_index(w0 + kW, W);
                ptrdiff_t best_at = h_lo * W + w_lo;
                float best = x[best_at];
                for (ptrdiff_t h = h_lo; h < h_hi; h++)
                    for (ptrdiff_t w = w_lo; w < w_hi; w++) {
                        const float v = x[h * W + w];
                        const int take = v > best;
                        best = take ? v : best;
                        best_at = take ? h * W + w : best_at;
                    }
                y[oh * outW + ow] = best;
                index[oh * outW + ow] = (int32_t)best_at;
            }
        }
    }
}

// grad_output, argmax [N·C, outH, outW] → grad_input [N·C, H, W], planes [first, last)
BP_CLONES void bp_max_pool_backward_f32(const float *restrict grad_output, const int32_t *restrict argmax,
                                        const bp_window *g, ptrdiff_t first, ptrdiff_t last,
                                        float *restrict grad_input) {
    const ptrdiff_t H = g->height, W = g->width, outH = output_height(g), outW = output_width(g);
    const ptrdiff_t out_plane = outH * outW;
    for (ptrdiff_t p = first; p < last; p++) {
        float *restrict gx = grad_input + p * H * W;
        const float *restrict gy = grad_output + p * out_plane;
        const int32_t *restrict index = argmax + p * out_plane;
        // one plane at a time, zeroed then scattered into while it is in the L1 cache (a
        // branch-free write of every window pixel was tried for 2×2 windows: slower)
        memset(gx, 0, (size_t)(H * W) * sizeof(float));
        for (ptrdiff_t k = 0; k < out_plane; k++) gx[index[k]] += gy[k];
    }
}
