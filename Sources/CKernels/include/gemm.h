// Single-precision matrix product for Backprop (see gemm.c): an AVX-512 SGEMM with the
// exact contract of cblas_sgemm(CblasRowMajor, ...), and a fallback to cblas_sgemm on CPUs
// without AVX-512.
#pragma once
#include <stddef.h>

/// C = alpha · op(A) · op(B) + beta · C, row-major, as cblas_sgemm(CblasRowMajor, ...):
/// a [m, k] (or [k, m] if trans_a), b [k, n] (or [n, k] if trans_b), c [m, n], each row
/// `ld*` floats apart (lda ≥ the row width, ...). beta 0: C is not read (it may hold NaN).
/// Any m, n, k ≥ 0 (nothing to do when m or n is 0; k 0 or alpha 0 only scales C by beta).
/// Single-threaded; safe to call from several threads at once (the packing buffers are per
/// thread, allocated on a thread's first call and reused).
/// A product of one output row or column (m or n is 1) is a GEMV (cblas_sgemv): nothing packed.
void bp_sgemm(int trans_a, int trans_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, float alpha, const float *a,
              ptrdiff_t lda, const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc);

/// 1 when bp_sgemm runs its own AVX-512 kernel (the CPU has AVX-512F and it is enabled),
/// 0 when it calls cblas_sgemm.
int bp_sgemm_uses_avx512(void);

/// 1 (the default): bp_sgemm takes its AVX-512 kernel where the CPU has AVX-512F. 0: it
/// calls cblas_sgemm, as on other CPUs (for tests and comparisons). Atomic.
void bp_sgemm_set_avx512(int enabled);
