/// The element loops of the autoencoder modules (penalties, the Gaussian sample of
/// a VAE, the energy of a tied autoencoder).
///
/// Like every kernel of the library, these are static requirements of a protocol that
/// `TensorScalar` inherits, so each loop is compiled once for `Float` and once for
/// `Double`, and generic layer code pays one dynamic call per kernel, never per element.
/// Matrices are row-major `[rows, cols]`; outputs may alias inputs unless stated otherwise.
public protocol AutoencoderKernels {
    // MARK: L1 penalty

    /// Σ |x[i]|
    static func sumOfAbsolute(_ x: UnsafePointer<Self>, _ n: Int) -> Self
    /// gx = gy + scale · sign(x), with sign(0) = 0 (Torch7's `nn.L1Penalty`).
    static func l1PenaltyBackward(
        _ x: UnsafePointer<Self>, _ gy: UnsafePointer<Self>, _ gx: UnsafeMutablePointer<Self>,
        _ n: Int, scale: Self)

    // MARK: contractive penalty (h = σ(z), code h [rows, cols], w [cols] = squared norms of the weight rows)

    /// out [rows] = Σ_cols x [rows, cols]²: the squared norm of each row.
    static func rowSumsOfSquares(_ x: UnsafePointer<Self>, rows: Int, cols: Int, _ out: UnsafeMutablePointer<Self>)
    /// Σ_r Σ_c (h[r, c] (1 − h[r, c]))² · w[c]: the squared Frobenius norm of the encoder's
    /// Jacobian ∂h/∂x, summed over the rows (examples) of h [rows, cols].
    static func contractivePenalty(_ h: UnsafePointer<Self>, _ w: UnsafePointer<Self>, rows: Int, cols: Int) -> Self
    /// gx = gy + scale · 2 a (1 − 2h) w[c], with a = h (1 − h): the gradient of
    /// scale · Σ a² w with respect to h [rows, cols], added to gy.
    static func contractiveBackward(
        _ h: UnsafePointer<Self>, _ w: UnsafePointer<Self>, _ gy: UnsafePointer<Self>,
        _ gx: UnsafeMutablePointer<Self>, rows: Int, cols: Int, scale: Self)
    /// out [cols] = Σ_r (h[r, c] (1 − h[r, c]))², for h [rows, cols].
    static func sigmoidSlopeSquaredColumnSums(_ h: UnsafePointer<Self>, rows: Int, cols: Int, _ out: UnsafeMutablePointer<Self>)
    /// out [rows, cols] += alpha · s[r] · x [rows, cols]: each row scaled by its own factor.
    static func addScaledRows(
        _ x: UnsafePointer<Self>, _ s: UnsafePointer<Self>, alpha: Self,
        _ out: UnsafeMutablePointer<Self>, rows: Int, cols: Int)

    // MARK: Gaussian sample (input [rows, 2k] = μ | log σ², ε and z [rows, k])

    /// z = μ + exp(½ log σ²) · ε; returns Σ ½ (μ² + σ² − 1 − log σ²), the KL divergence of
    /// N(μ, σ²) from N(0, 1) summed over all rows and units.
    static func gaussianSample(
        _ input: UnsafePointer<Self>, _ eps: UnsafePointer<Self>, _ z: UnsafeMutablePointer<Self>,
        rows: Int, k: Int
    ) -> Self
    /// gx [rows, 2k]: ∂/∂μ = gz + klScale · μ, ∂/∂log σ² = ½ gz ε σ + klScale · ½ (σ² − 1).
    static func gaussianSampleBackward(
        _ input: UnsafePointer<Self>, _ eps: UnsafePointer<Self>, _ gz: UnsafePointer<Self>,
        _ gx: UnsafeMutablePointer<Self>, rows: Int, k: Int, klScale: Self)

    // MARK: antiderivatives of activations (the energy of a tied autoencoder)

    /// y = log cosh x = |x| + log(1 + e^−2|x|) − log 2, without overflow (its derivative is tanh).
    static func logCosh(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int)
    /// y = ½ x², or ½ max(x, 0)² when `rectified` (derivatives: x, ReLU(x)).
    static func halfSquare(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int, rectified: Bool)
}

// MARK: - Element loops, specialized per conformance

extension AutoencoderKernels where Self: TensorScalar {
    public static func sumOfAbsolute(_ x: UnsafePointer<Self>, _ n: Int) -> Self {
        var s0: Self = 0, s1: Self = 0
        var i = 0
        while i + 2 <= n { s0 += Swift.abs(x[i]); s1 += Swift.abs(x[i + 1]); i += 2 }
        if i < n { s0 += Swift.abs(x[i]) }
        return s0 + s1
    }

    public static func l1PenaltyBackward(
        _ x: UnsafePointer<Self>, _ gy: UnsafePointer<Self>, _ gx: UnsafeMutablePointer<Self>,
        _ n: Int, scale: Self
    ) {
        for i in 0..<n { gx[i] = gy[i] + (x[i] > 0 ? scale : (x[i] < 0 ? -scale : 0)) }
    }

    public static func rowSumsOfSquares(_ x: UnsafePointer<Self>, rows: Int, cols: Int, _ out: UnsafeMutablePointer<Self>) {
        for r in 0..<rows { out[r] = dot(cols, x + r * cols, x + r * cols) }
    }

    // h [rows, cols], w [cols]
    public static func contractivePenalty(_ h: UnsafePointer<Self>, _ w: UnsafePointer<Self>, rows: Int, cols: Int) -> Self {
        var total: Self = 0
        for r in 0..<rows {
            let hr = h + r * cols
            var rowTotal: Self = 0
            for c in 0..<cols {
                let a = hr[c] * (1 - hr[c])
                rowTotal += a * a * w[c]
            }
            total += rowTotal
        }
        return total
    }

    // h, gy, gx [rows, cols], w [cols]
    public static func contractiveBackward(
        _ h: UnsafePointer<Self>, _ w: UnsafePointer<Self>, _ gy: UnsafePointer<Self>,
        _ gx: UnsafeMutablePointer<Self>, rows: Int, cols: Int, scale: Self
    ) {
        for r in 0..<rows {
            let o = r * cols
            for c in 0..<cols {
                let hv = h[o + c], a = hv * (1 - hv)
                gx[o + c] = gy[o + c] + 2 * scale * a * (1 - 2 * hv) * w[c]
            }
        }
    }

    // h [rows, cols] → out [cols]
    public static func sigmoidSlopeSquaredColumnSums(_ h: UnsafePointer<Self>, rows: Int, cols: Int, _ out: UnsafeMutablePointer<Self>) {
        fill(out, 0, cols)
        for r in 0..<rows {
            let hr = h + r * cols
            for c in 0..<cols {
                let a = hr[c] * (1 - hr[c])
                out[c] += a * a
            }
        }
    }

    // x, out [rows, cols], s [rows]
    public static func addScaledRows(
        _ x: UnsafePointer<Self>, _ s: UnsafePointer<Self>, alpha: Self,
        _ out: UnsafeMutablePointer<Self>, rows: Int, cols: Int
    ) {
        for r in 0..<rows { axpy(cols, alpha * s[r], x + r * cols, out + r * cols) }
    }

    // input [rows, 2k], eps, z [rows, k]
    public static func gaussianSample(
        _ input: UnsafePointer<Self>, _ eps: UnsafePointer<Self>, _ z: UnsafeMutablePointer<Self>,
        rows: Int, k: Int
    ) -> Self {
        var kl: Self = 0
        for r in 0..<rows {
            let mu = input + r * 2 * k, logVar = mu + k, e = eps + r * k, zr = z + r * k
            for j in 0..<k {
                let variance = exp(logVar[j])
                zr[j] = mu[j] + variance.squareRoot() * e[j]
                kl += (mu[j] * mu[j] + variance - 1 - logVar[j]) / 2
            }
        }
        return kl
    }

    // input, gx [rows, 2k], eps, gz [rows, k]
    public static func gaussianSampleBackward(
        _ input: UnsafePointer<Self>, _ eps: UnsafePointer<Self>, _ gz: UnsafePointer<Self>,
        _ gx: UnsafeMutablePointer<Self>, rows: Int, k: Int, klScale: Self
    ) {
        for r in 0..<rows {
            let mu = input + r * 2 * k, logVar = mu + k, e = eps + r * k, g = gz + r * k
            let gMu = gx + r * 2 * k, gLogVar = gMu + k
            for j in 0..<k {
                let variance = exp(logVar[j])
                gMu[j] = g[j] + klScale * mu[j]
                gLogVar[j] = g[j] * e[j] * variance.squareRoot() / 2 + klScale * (variance - 1) / 2
            }
        }
    }

    public static func logCosh(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int) {
        let log2 = log(Self(2))
        for i in 0..<n {
            let a = Swift.abs(x[i])
            y[i] = a + log1p(exp(-2 * a)) - log2
        }
    }

    public static func halfSquare(_ x: UnsafePointer<Self>, _ y: UnsafeMutablePointer<Self>, _ n: Int, rectified: Bool) {
        if rectified {
            for i in 0..<n { let v = Swift.max(x[i], 0); y[i] = v * v / 2 }
        } else {
            for i in 0..<n { y[i] = x[i] * x[i] / 2 }
        }
    }
}
