// Skip-gram with negative sampling for Float: a run of (input, positive, negatives)
// examples, each an SGD step on the rows it uses (see word2vec.c).
#pragma once
#include <stddef.h>
#include <stdint.h>

/// For each example p in 0..<count, with u = input[inputs[p]] and targets t₀ = positives[p]
/// (label 1), t₁…t_k = negatives[p·k …] (label 0; one equal to t₀ is skipped): with
/// f = u·output[t], g = lr·(label − σ(f)), e += g·output[t], then output[t] += g·u; last
/// u += e. This is one SGD step of −log σ(u·v₀) − Σ log σ(−u·vⱼ) on the k + 2 rows used
/// (as gensim's fast_sentence_sg_neg, with σ computed, not tabulated, and no clipping).
/// input [*, dim], output [*, dim], work [dim] scratch. Returns the sum of the examples'
/// losses (computed from the dot products before the updates; each term in float, the sum in double).
double bp_skipgram_ns_f32(float *input, float *output, ptrdiff_t dim, const int32_t *inputs, const int32_t *positives,
                          const int32_t *negatives, ptrdiff_t count, ptrdiff_t k, float lr, float *work);
