// The optimizers' update loops: one fused pass over a parameter per step. The generic
// loops serve Double (and the tests); Float's are vectorised C (Sources/CKernels/optimizers.c).

import CKernels

/// The update rules as static requirements of the scalar type. Every pointer covers `n`
/// elements (w, g and the state buffers [n]); an optional buffer is nil when its option
/// is off. The arithmetic follows torch.optim's order of operations, and coefficients
/// such as 1 − β₁ come in computed in Double (as PyTorch computes them in Python), not
/// from the rounded β₁ (for Float, 1 − 0.999f is 1.3e-5 away from 0.001f).
public protocol OptimizerKernels {
    /// SGD (PyTorch's form): d = g + l2·w; with momentum, v = d on the `first` step, else
    /// v = μ v + (1 − dampening) d; w −= lr · (nesterov ? d + μ v : v). With μ = 0, v is
    /// not touched. L1 shrinkage w −= lr · l1 · sign(w) comes first, outside the buffer.
    static func sgdStep(
        _ w: UnsafeMutablePointer<Self>, _ g: UnsafePointer<Self>, _ v: UnsafeMutablePointer<Self>, _ n: Int,
        lr: Self, momentum: Self, oneMinusDampening: Self, l2: Self, l1: Self, nesterov: Bool, first: Bool)
    /// Adam / AdamW: w ·= shrink (AdamW's decoupled decay, 1 − lr·wd; 1 for Adam);
    /// d = g + l2·w; m = β₁m + (1−β₁)d; v = β₂v + (1−β₂)d²; with AMSGrad v̂ = max(v̂, v)
    /// (`vMax`), else v̂ = v; w −= (lr / c₁) · m / (√v̂ / √c₂ + ε), with the bias corrections
    /// c₁ = 1 − β₁ᵗ, c₂ = 1 − β₂ᵗ.
    static func adamStep(
        _ w: UnsafeMutablePointer<Self>, _ g: UnsafePointer<Self>, _ m: UnsafeMutablePointer<Self>,
        _ v: UnsafeMutablePointer<Self>, _ vMax: UnsafeMutablePointer<Self>?, _ n: Int, lr: Self, beta1: Self, beta2: Self,
        oneMinusBeta1: Self, oneMinusBeta2: Self, epsilon: Self, l2: Self, shrink: Self, correction1: Self, correction2: Self)
    /// RMSprop: d = g + l2·w; s = α s + (1−α) d²; centered: a = α a + (1−α) d (`gAvg`),
    /// r = √(s − a²) + ε, else r = √s + ε; with momentum (`buffer`) b = μ b + d / r,
    /// w −= lr · b; else w −= lr · d / r.
    static func rmspropStep(
        _ w: UnsafeMutablePointer<Self>, _ g: UnsafePointer<Self>, _ s: UnsafeMutablePointer<Self>,
        _ buffer: UnsafeMutablePointer<Self>?, _ gAvg: UnsafeMutablePointer<Self>?, _ n: Int,
        lr: Self, alpha: Self, oneMinusAlpha: Self, epsilon: Self, l2: Self, momentum: Self)
    /// Adagrad: d = g + l2·w; s += d²; w −= lr · d / (√s + ε) (lr already decayed:
    /// lr / (1 + (t − 1) · lr_decay)).
    static func adagradStep(
        _ w: UnsafeMutablePointer<Self>, _ g: UnsafePointer<Self>, _ s: UnsafeMutablePointer<Self>, _ n: Int,
        lr: Self, epsilon: Self, l2: Self)
    /// Max-norm: w [rows, length]; each row with L2 norm r > maxNorm is multiplied by
    /// maxNorm / (r + 1e-7) (torch.renorm's rule).
    static func maxNormRows(_ w: UnsafeMutablePointer<Self>, _ rows: Int, _ length: Int, maxNorm: Self)
}

extension OptimizerKernels where Self: TensorScalar {
    public static func sgdStep(
        _ w: UnsafeMutablePointer<Self>, _ g: UnsafePointer<Self>, _ v: UnsafeMutablePointer<Self>, _ n: Int,
        lr: Self, momentum: Self, oneMinusDampening: Self, l2: Self, l1: Self, nesterov: Bool, first: Bool
    ) {
        // branches hoisted out of the loops, so each loop vectorizes
        if l1 != 0 {
            // the L1 term first, as a gradient: decoupled from the loops below
            forEachChunk(n) { r in for i in r where w[i] != 0 { w[i] -= lr * l1 * (w[i] > 0 ? 1 : -1) } }
        }
        let keep = oneMinusDampening
        if momentum == 0 {
            forEachChunk(n) { r in for i in r { w[i] -= lr * (g[i] + l2 * w[i]) } }
        } else if first {
            forEachChunk(n) { r in
                for i in r {
                    let d = g[i] + l2 * w[i]
                    v[i] = d
                    w[i] -= lr * (nesterov ? d + momentum * d : d)
                }
            }
        } else if nesterov {
            forEachChunk(n) { r in
                for i in r {
                    let d = g[i] + l2 * w[i]
                    let vi = momentum * v[i] + keep * d
                    v[i] = vi
                    w[i] -= lr * (d + momentum * vi)
                }
            }
        } else {
            forEachChunk(n) { r in
                for i in r {
                    let vi = momentum * v[i] + keep * (g[i] + l2 * w[i])
                    v[i] = vi
                    w[i] -= lr * vi
                }
            }
        }
    }

    public static func adamStep(
        _ w: UnsafeMutablePointer<Self>, _ g: UnsafePointer<Self>, _ m: UnsafeMutablePointer<Self>,
        _ v: UnsafeMutablePointer<Self>, _ vMax: UnsafeMutablePointer<Self>?, _ n: Int, lr: Self, beta1: Self, beta2: Self,
        oneMinusBeta1: Self, oneMinusBeta2: Self, epsilon: Self, l2: Self, shrink: Self, correction1: Self, correction2: Self
    ) {
        let stepSize = lr / correction1, rootC2 = correction2.squareRoot()
        forEachChunk(n) { r in
            for i in r {
                let wi = w[i] * shrink // (exact when shrink = 1)
                let d = g[i] + l2 * wi
                let mi = beta1 * m[i] + oneMinusBeta1 * d
                let vi = beta2 * v[i] + oneMinusBeta2 * (d * d)
                m[i] = mi
                v[i] = vi
                var top = vi
                if let vMax { top = Swift.max(vMax[i], vi); vMax[i] = top }
                w[i] = wi - stepSize * (mi / (top.squareRoot() / rootC2 + epsilon))
            }
        }
    }

    public static func rmspropStep(
        _ w: UnsafeMutablePointer<Self>, _ g: UnsafePointer<Self>, _ s: UnsafeMutablePointer<Self>,
        _ buffer: UnsafeMutablePointer<Self>?, _ gAvg: UnsafeMutablePointer<Self>?, _ n: Int,
        lr: Self, alpha: Self, oneMinusAlpha: Self, epsilon: Self, l2: Self, momentum: Self
    ) {
        forEachChunk(n) { r in
            for i in r {
                let d = g[i] + l2 * w[i]
                let si = alpha * s[i] + oneMinusAlpha * (d * d)
                s[i] = si
                var root: Self
                if let gAvg {
                    let ai = alpha * gAvg[i] + oneMinusAlpha * d
                    gAvg[i] = ai
                    root = (si - ai * ai).squareRoot() + epsilon
                } else {
                    root = si.squareRoot() + epsilon
                }
                if let buffer {
                    let bi = momentum * buffer[i] + d / root
                    buffer[i] = bi
                    w[i] -= lr * bi
                } else {
                    w[i] -= lr * (d / root)
                }
            }
        }
    }

    public static func adagradStep(
        _ w: UnsafeMutablePointer<Self>, _ g: UnsafePointer<Self>, _ s: UnsafeMutablePointer<Self>, _ n: Int,
        lr: Self, epsilon: Self, l2: Self
    ) {
        forEachChunk(n) { r in
            for i in r {
                let d = g[i] + l2 * w[i]
                let si = s[i] + d * d
                s[i] = si
                w[i] -= lr * (d / (si.squareRoot() + epsilon))
            }
        }
    }

    public static func maxNormRows(_ w: UnsafeMutablePointer<Self>, _ rows: Int, _ length: Int, maxNorm: Self) {
        for row in 0..<rows {
            let p = w + row * length
            let norm = sumOfSquares(UnsafePointer(p), length).squareRoot()
            if norm > maxNorm {
                let factor = maxNorm / (norm + Self(1e-7))
                for i in 0..<length { p[i] *= factor }
            }
        }
    }
}

/// `Float`'s optimizer updates: one fused, vectorised C pass per parameter (same arithmetic
/// as the generic rules), split over threads for large parameters.
extension Float {
    public static func sgdStep(
        _ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ v: UnsafeMutablePointer<Float>, _ n: Int,
        lr: Float, momentum: Float, oneMinusDampening: Float, l2: Float, l1: Float, nesterov: Bool, first: Bool
    ) {
        forEachChunk(n) { r in
            let o = r.lowerBound
            bp_sgd_f32(w + o, g + o, v + o, r.count, lr, momentum, oneMinusDampening, l2, l1, nesterov ? 1 : 0, first ? 1 : 0)
        }
    }

    public static func adamStep(
        _ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
        _ v: UnsafeMutablePointer<Float>, _ vMax: UnsafeMutablePointer<Float>?, _ n: Int, lr: Float, beta1: Float, beta2: Float,
        oneMinusBeta1: Float, oneMinusBeta2: Float, epsilon: Float, l2: Float, shrink: Float, correction1: Float, correction2: Float
    ) {
        forEachChunk(n) { r in
            let o = r.lowerBound
            bp_adam_f32(
                w + o, g + o, m + o, v + o, vMax.map { $0 + o }, r.count, lr, beta1, beta2, oneMinusBeta1, oneMinusBeta2, epsilon, l2,
                shrink,
                correction1, correction2)
        }
    }

    public static func rmspropStep(
        _ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ s: UnsafeMutablePointer<Float>,
        _ buffer: UnsafeMutablePointer<Float>?, _ gAvg: UnsafeMutablePointer<Float>?, _ n: Int,
        lr: Float, alpha: Float, oneMinusAlpha: Float, epsilon: Float, l2: Float, momentum: Float
    ) {
        forEachChunk(n) { r in
            let o = r.lowerBound
            bp_rmsprop_f32(
                w + o, g + o, s + o, buffer.map { $0 + o }, gAvg.map { $0 + o }, r.count, lr, alpha, oneMinusAlpha, epsilon, l2, momentum)
        }
    }

    public static func adagradStep(
        _ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ s: UnsafeMutablePointer<Float>, _ n: Int,
        lr: Float, epsilon: Float, l2: Float
    ) {
        forEachChunk(n) { r in
            let o = r.lowerBound
            bp_adagrad_f32(w + o, g + o, s + o, r.count, lr, epsilon, l2)
        }
    }

    public static func maxNormRows(_ w: UnsafeMutablePointer<Float>, _ rows: Int, _ length: Int, maxNorm: Float) {
        Threads.parallelFor(rows, costPerItem: max(length, 1), minimumWork: 1 << 16) { r in
            bp_max_norm_rows_f32(w + r.lowerBound * length, r.count, length, maxNorm)
        }
    }
}
