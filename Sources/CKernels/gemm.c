// Single-precision GEMM (contract in include/gemm.h): C = alpha · op(A) · op(B) + beta · C,
// row-major, written for AVX-512 in the manner of BLIS / GotoBLAS.
//
// Blocking. Three loops cut the product into blocks that fit the caches, two pack the
// blocks into contiguous buffers in the order the micro-kernel reads them, and two walk
// the micro-tiles:
//
//   for jc in n by NC                      columns of C and op(B)        (the B panel: L3)
//     for pc in k by KC                    the shared dimension
//       pack op(B)[pc:+kc, jc:+nc]  → B̃   slivers of kc × NR           (one sliver: L1)
//       for ic in m by MC                  rows of C and op(A)
//         pack op(A)[ic:+mc, pc:+kc] → Ã   slivers of MR × kc           (the block: L2)
//         for jr in nc by NR               one B̃ sliver, kept in L1 ...
//           for ir in mc by MR             ... against every Ã sliver, streamed from L2
//             micro-kernel: C[ir:+MR, jr:+NR] (+)= alpha · Ã sliver · B̃ sliver
//
// The block sizes are for Zen 5 (48 KB L1D, 1 MB L2 per core) and suit other AVX-512 cores
// too: KC = 256 makes a B̃ sliver 256 × 32 floats = 32 KB (two thirds of L1), MC = 336 an
// Ã block 336 × 256 floats = 336 KB (a third of L2), NC = 2048 a B̃ panel of 2 MB. The
// sizes actually used are balanced (k = 784 runs as 4 × 196, not 3 × 256 + 16).
// When op(A) is one block (m ≤ MC: every batch-sized product of the library), B̃ is not
// packed as a whole panel but one sliver at a time, right before the micro-kernels that use
// it: the sliver goes from the source to L1 and is read from there, instead of going out to
// L3 and back.
//
// Micro-kernel: MR × NR = 14 × 32. C is row-major, so a row of the tile is two 512-bit
// vectors (NR = 32 floats) and the tile holds 14 × 2 = 28 accumulators; with the two B̃
// vectors of a step and one broadcast of an Ã element that is 31 of the 32 zmm registers.
// Each step of k does 2 vector loads and 14 broadcasts for 28 FMAs: enough independent FMAs
// to cover the FMA latency (4 cycles × 2 pipes needs 8), and loads well under the two per
// cycle the core can issue. (16 × 32 would need 32 accumulators; 8 × 48 or 6 × 64 have
// fewer FMAs per loaded byte of B̃ and wider column edges.) Tiles at the edges run kernels
// specialised for fewer rows (1…13) or one vector of columns (nr ≤ 16), with masked loads
// and stores for the last columns, so no edge does the work of a full tile; Ã and B̃
// slivers are padded with zeros to full width.
//
// beta is applied by the first k block only (later blocks add to C), and beta = 0 never
// reads C. Without AVX-512 (other CPUs, or bp_sgemm_set_avx512(0)) bp_sgemm calls
// cblas_sgemm.
#include "gemm.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static atomic_int use_avx512 = 1;
void bp_sgemm_set_avx512(int enabled) { atomic_store_explicit(&use_avx512, enabled != 0, memory_order_relaxed); }

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>
#define BP_GEMM_AVX512 1
#define BP_TARGET_AVX512 __attribute__((target("avx512f")))
#define BP_INLINE static inline __attribute__((always_inline))
#define BP_UNROLL _Pragma("clang loop unroll(full)")

// The CPU check, made once (__builtin_cpu_supports reads a table the loader filled).
static int cpu_has_avx512(void) {
    static atomic_int cached = -1;
    int known = atomic_load_explicit(&cached, memory_order_relaxed);
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx512f") ? 1 : 0;
        atomic_store_explicit(&cached, known, memory_order_relaxed);
    }
    return known;
}
int bp_sgemm_uses_avx512(void) { return atomic_load_explicit(&use_avx512, memory_order_relaxed) && cpu_has_avx512(); }
#else
int bp_sgemm_uses_avx512(void) { return 0; }
#endif

static void fallback(int trans_a, int trans_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a,
                     ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, (int)m,
                (int)n, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

#ifdef BP_GEMM_AVX512

enum { MR = 14, NR = 32, KC = 256, MC = 24 * MR, NC = 64 * NR };

// Per-thread packing buffers: B̃ (KC × NC floats) then Ã (MC × KC), 64-byte aligned,
// allocated on a thread's first call and freed when the thread ends.
static pthread_key_t buffer_key;
static pthread_once_t buffer_once = PTHREAD_ONCE_INIT;
static void make_buffer_key(void) { pthread_key_create(&buffer_key, free); }
static float *thread_buffer(void) {
    pthread_once(&buffer_once, make_buffer_key);
    float *buffer = pthread_getspecific(buffer_key);
    if (!buffer) {
        buffer = aligned_alloc(64, sizeof(float) * ((size_t)KC * NC + (size_t)MC * KC));
        if (buffer) pthread_setspecific(buffer_key, buffer);
    }
    return buffer;
}

static inline ptrdiff_t min_index(ptrdiff_t a, ptrdiff_t b) { return a < b ? a : b; }
static inline __mmask16 lanes(ptrdiff_t count) {
    return count >= 16 ? (__mmask16)0xFFFF : count <= 0 ? (__mmask16)0 : (__mmask16)((1u << count) - 1);
}

// In place: r[i][j] → r[j][i] for a 16 × 16 block of floats, r[i] one row.
BP_TARGET_AVX512 BP_INLINE void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        r[4 * i + 0] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i + 0], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int h = 0; h < 2; h++) {
        for (int i = 0; i < 4; i++) {
            t[8 * h + i] = _mm512_shuffle_f32x4(r[8 * h + i], r[8 * h + 4 + i], 0x88);
            t[8 * h + 4 + i] = _mm512_shuffle_f32x4(r[8 * h + i], r[8 * h + 4 + i], 0xdd);
        }
    }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
        r[8 + i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xdd);
    }
}

// Reads a block of a row-major matrix x whose rows run along `rows` and columns along
// `cols` (x[r · ldx + q], r < rows ≤ 16, q < cols), transposed, 16 columns at a time:
// for each column q it stores the 16 (zero-padded) values x[0..15][q] with `store_mask`
// at dst + q · dst_stride. Used where the packed order is the transpose of the source's.
BP_TARGET_AVX512 BP_INLINE void pack_transposed(const float *x, ptrdiff_t ldx, ptrdiff_t rows, ptrdiff_t cols,
                                                 float *dst, ptrdiff_t dst_stride, __mmask16 store_mask) {
    for (ptrdiff_t q0 = 0; q0 < cols; q0 += 16) {
        ptrdiff_t count = min_index(16, cols - q0);
        __mmask16 load_mask = lanes(count);
        __m512 r[16];
        for (int i = 0; i < 16; i++)
            r[i] = i < rows ? _mm512_maskz_loadu_ps(load_mask, x + i * ldx + q0) : _mm512_setzero_ps();
        transpose16(r);
        for (int q = 0; q < count; q++) _mm512_mask_storeu_ps(dst + (q0 + q) * dst_stride, store_mask, r[q]);
    }
}

// One B̃ sliver: op(B)[0:kc, 0:nr] (nr ≤ NR) → bp [kc][NR], zero-padded to NR columns.
// b points at op(B)[0][0]: b [kc, ≥nr] (ldb) if !trans_b, b [nr, ≥kc] (ldb) if trans_b.
BP_TARGET_AVX512 static void pack_b_sliver(int trans_b, const float *b, ptrdiff_t ldb, ptrdiff_t kc, ptrdiff_t nr,
                                           float *bp) {
    if (!trans_b) {
        __mmask16 m0 = lanes(nr), m1 = lanes(nr - 16);
        for (ptrdiff_t p = 0; p < kc; p++) {
            const float *row = b + p * ldb;
            _mm512_store_ps(bp + p * NR, _mm512_maskz_loadu_ps(m0, row));
            _mm512_store_ps(bp + p * NR + 16, _mm512_maskz_loadu_ps(m1, row + 16));
        }
    } else {
        // op(B)[p][j] = b[j · ldb + p]: 16 columns j at a time, transposed
        for (int h = 0; h < 2; h++) {
            ptrdiff_t rows = nr - 16 * h;
            if (rows <= 0) {
                // the unused half of a narrow sliver: zeros (a one-vector kernel never reads it,
                // but keep the sliver defined)
                for (ptrdiff_t p = 0; p < kc; p++) _mm512_store_ps(bp + p * NR + 16, _mm512_setzero_ps());
                continue;
            }
            pack_transposed(b + 16 * h * ldb, ldb, min_index(rows, 16), kc, bp + 16 * h, NR, 0xFFFF);
        }
    }
}

// One Ã sliver: op(A)[0:mr, 0:kc] (mr ≤ MR) → ap [kc][MR], zero-padded to MR rows.
// a points at op(A)[0][0]: a [mr, ≥kc] (lda) if !trans_a, a [kc, ≥mr] (lda) if trans_a.
BP_TARGET_AVX512 static void pack_a_sliver(int trans_a, const float *a, ptrdiff_t lda, ptrdiff_t mr, ptrdiff_t kc,
                                           float *ap) {
    const __mmask16 store_mask = (__mmask16)((1u << MR) - 1);
    if (trans_a) {
        // op(A)[i][p] = a[p · lda + i]: a row of the source is a column of the sliver
        __mmask16 load_mask = lanes(mr);
        for (ptrdiff_t p = 0; p < kc; p++)
            _mm512_mask_storeu_ps(ap + p * MR, store_mask, _mm512_maskz_loadu_ps(load_mask, a + p * lda));
    } else {
        pack_transposed(a, lda, mr, kc, ap, MR, store_mask);
    }
}

// The micro-kernel: c [mr, nr] (ldc) = alpha · Ã sliver [mr, kc] · B̃ sliver [kc, nr] + beta · c,
// from ap [kc][MR] and bp [kc][NR]; MRV = mr rows (1…14) and NV = 1 or 2 vectors of
// columns (nr ≤ 16 · NV) are compile-time constants of each specialisation. beta 0: c is
// not read.
BP_TARGET_AVX512 BP_INLINE void micro_kernel(const int MRV, const int NV, ptrdiff_t kc, const float *restrict ap,
                                              const float *restrict bp, float *c, ptrdiff_t ldc, ptrdiff_t nr,
                                              float alpha, float beta) {
    __m512 c0[MR], c1[MR];
    BP_UNROLL for (int i = 0; i < MRV; i++) {
        c0[i] = _mm512_setzero_ps();
        c1[i] = _mm512_setzero_ps();
        // the tile's rows of C, needed after the k loop: fetched during it (a large C is
        // not in cache, and its rows are ldc apart)
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        if (NV > 1) _mm_prefetch((const char *)(c + i * ldc + 16), _MM_HINT_T0);
    }
    for (ptrdiff_t p = 0; p < kc; p++) {
        __m512 b0 = _mm512_load_ps(bp);
        __m512 b1 = NV > 1 ? _mm512_load_ps(bp + 16) : _mm512_setzero_ps();
        BP_UNROLL for (int i = 0; i < MRV; i++) {
            __m512 ai = _mm512_set1_ps(ap[i]);
            c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
            if (NV > 1) c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
        }
        ap += MR;
        bp += NR;
    }
    __mmask16 m0 = lanes(nr), m1 = lanes(nr - 16);
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    BP_UNROLL for (int i = 0; i < MRV; i++) {
        float *row = c + i * ldc;
        __m512 v0 = _mm512_mul_ps(va, c0[i]);
        if (beta != 0) v0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, row), v0);
        _mm512_mask_storeu_ps(row, m0, v0);
        if (NV > 1) {
            __m512 v1 = _mm512_mul_ps(va, c1[i]);
            if (beta != 0) v1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, row + 16), v1);
            _mm512_mask_storeu_ps(row + 16, m1, v1);
        }
    }
}

typedef void (*micro_kernel_fn)(ptrdiff_t kc, const float *ap, const float *bp, float *c, ptrdiff_t ldc,
                                ptrdiff_t nr, float alpha, float beta);
#define BP_MICRO(MRV, NV)                                                                                          \
    BP_TARGET_AVX512 static void micro_##MRV##_##NV(ptrdiff_t kc, const float *ap, const float *bp, float *c,       \
                                                    ptrdiff_t ldc, ptrdiff_t nr, float alpha, float beta) {        \
        micro_kernel(MRV, NV, kc, ap, bp, c, ldc, nr, alpha, beta);                                                \
    }
#define BP_MICRO_ROWS(NV)                                                                                          \
    BP_MICRO(1, NV) BP_MICRO(2, NV) BP_MICRO(3, NV) BP_MICRO(4, NV) BP_MICRO(5, NV) BP_MICRO(6, NV)                \
    BP_MICRO(7, NV) BP_MICRO(8, NV) BP_MICRO(9, NV) BP_MICRO(10, NV) BP_MICRO(11, NV) BP_MICRO(12, NV)             \
    BP_MICRO(13, NV) BP_MICRO(14, NV)
BP_MICRO_ROWS(1)
BP_MICRO_ROWS(2)
#define BP_MICRO_TABLE(NV)                                                                                         \
    {micro_1_##NV, micro_2_##NV, micro_3_##NV, micro_4_##NV, micro_5_##NV, micro_6_##NV, micro_7_##NV,          \
     micro_8_##NV, micro_9_##NV, micro_10_##NV, micro_11_##NV, micro_12_##NV, micro_13_##NV, micro_14_##NV}
// micro_kernels[nv − 1][mr − 1]
static const micro_kernel_fn micro_kernels[2][MR] = {BP_MICRO_TABLE(1), BP_MICRO_TABLE(2)};

// The ir loop of one jr: c [mc, nr] (ldc) = alpha · Ã block [mc, kc] · B̃ sliver [kc, nr] + beta · c,
// from ap (mc / MR slivers of [kc][MR]) and bp [kc][NR].
BP_TARGET_AVX512 static void sliver_column(const float *ap, ptrdiff_t mc, ptrdiff_t kc, const float *bp, float *c,
                                           ptrdiff_t ldc, ptrdiff_t nr, float alpha, float beta) {
    const micro_kernel_fn *row = micro_kernels[nr > 16];
    for (ptrdiff_t ir = 0; ir < mc; ir += MR) {
        ptrdiff_t mr = min_index(MR, mc - ir);
        row[mr - 1](kc, ap + ir * kc, bp, c + ir * ldc, ldc, nr, alpha, beta);
    }
}

// A block size of at most `limit` that cuts `size` into equal blocks, rounded up to a multiple of `unit`.
static ptrdiff_t block_size(ptrdiff_t size, ptrdiff_t limit, ptrdiff_t unit) {
    ptrdiff_t blocks = (size + limit - 1) / limit;
    ptrdiff_t each = (size + blocks - 1) / blocks;
    return (each + unit - 1) / unit * unit;
}

// a [m, k] (or [k, m] if trans_a), b [k, n] (or [n, k] if trans_b), c [m, n]; alpha ≠ 0, k > 0.
BP_TARGET_AVX512 static void sgemm_avx512(int trans_a, int trans_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                                          float alpha, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                                          float beta, float *c, ptrdiff_t ldc, float *buffer) {
    float *bpack = buffer, *apack = buffer + (size_t)KC * NC;
    ptrdiff_t ncb = block_size(n, NC, NR), kcb = block_size(k, KC, 1), mcb = block_size(m, MC, MR);
    int one_row_block = m <= mcb;
    for (ptrdiff_t jc = 0; jc < n; jc += ncb) {
        ptrdiff_t nc = min_index(ncb, n - jc);
        for (ptrdiff_t pc = 0; pc < k; pc += kcb) {
            ptrdiff_t kc = min_index(kcb, k - pc);
            float beta_block = pc == 0 ? beta : 1.0f;
            // op(B)[pc + p][jc + j]
            const float *b_block = trans_b ? b + jc * ldb + pc : b + pc * ldb + jc;
            if (!one_row_block) {
                for (ptrdiff_t jr = 0; jr < nc; jr += NR)
                    pack_b_sliver(trans_b, trans_b ? b_block + jr * ldb : b_block + jr, ldb, kc,
                                  min_index(NR, nc - jr), bpack + jr * kc);
            }
            for (ptrdiff_t ic = 0; ic < m; ic += mcb) {
                ptrdiff_t mc = min_index(mcb, m - ic);
                // op(A)[ic + i][pc + p]
                const float *a_block = trans_a ? a + pc * lda + ic : a + ic * lda + pc;
                for (ptrdiff_t ir = 0; ir < mc; ir += MR)
                    pack_a_sliver(trans_a, trans_a ? a_block + ir : a_block + ir * lda, lda,
                                  min_index(MR, mc - ir), kc, apack + ir * kc);
                for (ptrdiff_t jr = 0; jr < nc; jr += NR) {
                    ptrdiff_t nr = min_index(NR, nc - jr);
                    const float *bp = bpack + jr * kc;
                    if (one_row_block) {
                        // pack this sliver only, into the panel's first sliver (hot in L1)
                        pack_b_sliver(trans_b, trans_b ? b_block + jr * ldb : b_block + jr, ldb, kc, nr, bpack);
                        bp = bpack;
                    }
                    sliver_column(apack, mc, kc, bp, c + ic * ldc + jc + jr, ldc, nr, alpha, beta_block);
                }
            }
        }
    }
}
#endif // BP_GEMM_AVX512

// c [m, n] = beta · c (beta 0: zeros, c not read).
static void scale_c(ptrdiff_t m, ptrdiff_t n, float beta, float *c, ptrdiff_t ldc) {
    for (ptrdiff_t i = 0; i < m; i++) {
        float *row = c + i * ldc;
        if (beta == 0) memset(row, 0, sizeof(float) * (size_t)n);
        else if (beta != 1)
            for (ptrdiff_t j = 0; j < n; j++) row[j] *= beta;
    }
}

// A product with one row or one column of output is a matrix-vector product (a batch of
// one image at inference, a Linear layer of one output): GEMV reads the matrix once, where
// the GEMM would first pack all of it. a, b, c as bp_sgemm's; m == 1 or n == 1, k > 0.
static void gemv(int trans_a, int trans_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a,
                 ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc) {
    if (beta == 0) scale_c(m, n, 0, c, ldc);  // c is not read: zeros, never 0 · NaN
    if (m == 1) {
        // c [1, n] = alpha · a [1, k] · op(b) + beta · c; a's elements k apart by lda if trans_a
        int inc_a = trans_a ? (int)lda : 1;
        if (trans_b)  // b [n, k]: c = b · a
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)k, alpha, b, (int)ldb, a, inc_a, beta, c, 1);
        else  // b [k, n]: c = bᵀ · a
            cblas_sgemv(CblasRowMajor, CblasTrans, (int)k, (int)n, alpha, b, (int)ldb, a, inc_a, beta, c, 1);
    } else {
        // c [m, 1] (ldc apart) = alpha · op(a) · b [k, 1] + beta · c; b's elements ldb apart unless trans_b
        int inc_b = trans_b ? 1 : (int)ldb;
        if (trans_a)  // a [k, m]: c = aᵀ · b
            cblas_sgemv(CblasRowMajor, CblasTrans, (int)k, (int)m, alpha, a, (int)lda, b, inc_b, beta, c, (int)ldc);
        else  // a [m, k]: c = a · b
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)k, alpha, a, (int)lda, b, inc_b, beta, c, (int)ldc);
    }
}

// a [m, k] (or [k, m] if trans_a), b [k, n] (or [n, k] if trans_b), c [m, n].
void bp_sgemm(int trans_a, int trans_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a,
              ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc) {
    if (m <= 0 || n <= 0) return;
    if ((m == 1 || n == 1) && k > 0 && alpha != 0) {
        gemv(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
#ifdef BP_GEMM_AVX512
    if (bp_sgemm_uses_avx512()) {
        if (k <= 0 || alpha == 0) {
            scale_c(m, n, beta, c, ldc);
            return;
        }
        float *buffer = thread_buffer();
        if (buffer) {
            sgemm_avx512(trans_a != 0, trans_b != 0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, buffer);
            return;
        }
    }
#endif
    fallback(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
