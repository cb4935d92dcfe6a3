// The optimizers' update loops: one fused pass over a parameter per step. The generic
// loops serve Double (and the tests); Float's are vectorised C (Sources/CKernels/optimizers.c).

import CKernels

/// The update rules as static requirements of the scalar type.
public protocol OptimizerKernels {
    /// SGD with momentum (PyTorch's form): d = g + l2·w; v = μ v + d;
    /// w −= lr · (nesterov ? d + μ v : v). With μ = 0, v is not touched. L1 shrinkage
    /// w −= lr · l1 · sign(w) is applied directly (not through the momentum buffer).
    static func sgdStep(_ w: UnsafeMutablePointer<Self>, _ g: UnsafePointer<Self>, _ v: UnsafeMutablePointer<Self>, _ n: Int,
                        lr: Self, momentum: Self, l2: Self, l1: Self, nesterov: Bool)
    /// Adam: d = g + l2·w; m = β₁m + (1−β₁)d; v = β₂v + (1−β₂)d²;
    /// w −= lr · (m / c₁) / (√(v / c₂) + ε), with bias corrections c₁ = 1 − β₁ᵗ, c₂ = 1 − β₂ᵗ.
    static func adamStep(_ w: UnsafeMutablePointer<Self>, _ g: UnsafePointer<Self>, _ m: UnsafeMutablePointer<Self>,
                         _ v: UnsafeMutablePointer<Self>, _ n: Int, lr: Self, beta1: Self, beta2: Self,
                         epsilon: Self, l2: Self, correction1: Self, correction2: Self)
}

extension OptimizerKernels where Self: TensorScalar {
    public static func sgdStep(_ w: UnsafeMutablePointer<Self>, _ g: UnsafePointer<Self>, _ v: UnsafeMutablePointer<Self>, _ n: Int,
                               lr: Self, momentum: Self, l2: Self, l1: Self, nesterov: Bool) {
        // branches hoisted out of the loops, so each loop vectorizes
        if l1 != 0 {
            // the L1 term first, as a gradient: decoupled from the loops below
            forEachChunk(n) { r in for i in r where w[i] != 0 { w[i] -= lr * l1 * (w[i] > 0 ? 1 : -1) } }
        }
        if momentum == 0 {
            forEachChunk(n) { r in for i in r { w[i] -= lr * (g[i] + l2 * w[i]) } }
        } else if nesterov {
            forEachChunk(n) { r in for i in r {
                let d = g[i] + l2 * w[i]
                let vi = momentum * v[i] + d
                v[i] = vi
                w[i] -= lr * (d + momentum * vi)
            } }
        } else {
            forEachChunk(n) { r in for i in r {
                let vi = momentum * v[i] + g[i] + l2 * w[i]
                v[i] = vi
                w[i] -= lr * vi
            } }
        }
    }
    public static func adamStep(_ w: UnsafeMutablePointer<Self>, _ g: UnsafePointer<Self>, _ m: UnsafeMutablePointer<Self>,
                                _ v: UnsafeMutablePointer<Self>, _ n: Int, lr: Self, beta1: Self, beta2: Self,
                                epsilon: Self, l2: Self, correction1: Self, correction2: Self) {
        let stepSize = lr / correction1, rootC2 = correction2.squareRoot()
        forEachChunk(n) { r in for i in r {
            let d = g[i] + l2 * w[i]
            let mi = beta1 * m[i] + (1 - beta1) * d
            let vi = beta2 * v[i] + (1 - beta2) * d * d
            m[i] = mi
            v[i] = vi
            w[i] -= stepSize * mi / (vi.squareRoot() / rootC2 + epsilon)
        } }
    }
}

/// `Float`'s optimizer updates: one fused, vectorised C pass per parameter (same arithmetic
/// as the generic `sgdStep` and `adamStep`), split over threads for large parameters.
extension Float {
    public static func sgdStep(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ v: UnsafeMutablePointer<Float>, _ n: Int,
                               lr: Float, momentum: Float, l2: Float, l1: Float, nesterov: Bool) {
        forEachChunk(n) { r in
            let o = r.lowerBound
            bp_sgd_f32(w + o, g + o, v + o, r.count, lr, momentum, l2, l1, nesterov ? 1 : 0)
        }
    }

    public static func adamStep(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                                _ v: UnsafeMutablePointer<Float>, _ n: Int, lr: Float, beta1: Float, beta2: Float,
                                epsilon: Float, l2: Float, correction1: Float, correction2: Float) {
        forEachChunk(n) { r in
            let o = r.lowerBound
            bp_adam_f32(w + o, g + o, m + o, v + o, r.count, lr, beta1, beta2, epsilon, l2, correction1, correction2)
        }
    }
}
