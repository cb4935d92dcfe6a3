// The kernels of the normalization layers (BatchNorm1d, BatchNorm2d, LayerNorm): per-channel
// statistics and per-channel broadcasts over a tensor seen as [outer, C, inner].
//
// A batch norm's input [N, C, H, W] is [outer = N, C, inner = H·W]; a layer norm's [rows, D]
// is [1, rows, D] for its per-row statistics and [rows, D, 1] for its per-position affine
// map. Written once, generically (Double uses them); Float has C loops in
// FloatNormalizationKernels.swift.

/// Kernels of the normalization family, over x seen as [outer, C, inner] (row-major):
/// channel c is the elements x[o, c, i] for every o and i (m = outer · inner of them).
public protocol NormalizationKernels {
    /// mean [C] = (1/m) Σ_{o,i} x[o, c, i]; variance [C] = (1/m) Σ (x − mean[c])² (biased),
    /// for x [outer, C, inner]. Two passes (the mean first), so no cancellation.
    static func channelMeanVariance(
        _ x: UnsafePointer<Self>, outer: Int, channels: Int, inner: Int,
        mean: UnsafeMutablePointer<Self>, variance: UnsafeMutablePointer<Self>)
    /// out [outer, C, inner] = x · scale[c] + shift[c] (shift nil: 0). `out` may be `x`.
    static func channelScaleShift(
        _ x: UnsafePointer<Self>, scale: UnsafePointer<Self>, shift: UnsafePointer<Self>?,
        _ out: UnsafeMutablePointer<Self>, outer: Int, channels: Int, inner: Int)
    /// sum [C] = Σ_{o,i} a[o, c, i]; dot [C] = Σ_{o,i} a · (b − center[c]) (center nil: 0),
    /// for a, b [outer, C, inner]: Σ gy and Σ gy · x̂ in a normalization's backward.
    static func channelSumAndDot(
        _ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, center: UnsafePointer<Self>?,
        outer: Int, channels: Int, inner: Int,
        sum: UnsafeMutablePointer<Self>, dot: UnsafeMutablePointer<Self>)
    /// out [outer, C, inner] = a · scaleA[c] + b · scaleB[c] + shift[c], for a, b
    /// [outer, C, inner]: the input gradient through the statistics.
    static func channelCombine(
        _ a: UnsafePointer<Self>, scaleA: UnsafePointer<Self>,
        _ b: UnsafePointer<Self>, scaleB: UnsafePointer<Self>, shift: UnsafePointer<Self>,
        _ out: UnsafeMutablePointer<Self>, outer: Int, channels: Int, inner: Int)
    /// The per-channel affine map of a batch norm, y = x · scale[c] + shift[c], from its
    /// statistics: invStd [C] = 1/√(variance + ε), scale = γ · invStd, shift = β − mean · scale.
    static func normalizationCoefficients(
        mean: UnsafePointer<Self>, variance: UnsafePointer<Self>, epsilon: Self,
        gamma: UnsafePointer<Self>, beta: UnsafePointer<Self>, channels: Int,
        invStd: UnsafeMutablePointer<Self>, scale: UnsafeMutablePointer<Self>, shift: UnsafeMutablePointer<Self>)
    /// The input gradient's coefficients through the batch statistics of m values per channel,
    /// gx = a[c] · gy + b[c] · x + d[c]: a = γ · invStd, b = −(a/m) · invStd² · dot,
    /// d = −(a/m) · sum − b · mean (sum = Σ gy, dot = Σ gy (x − mean)).
    static func normalizationGradientCoefficients(
        gamma: UnsafePointer<Self>, invStd: UnsafePointer<Self>, mean: UnsafePointer<Self>,
        sum: UnsafePointer<Self>, dot: UnsafePointer<Self>, count m: Int, channels: Int,
        a: UnsafeMutablePointer<Self>, b: UnsafeMutablePointer<Self>, d: UnsafeMutablePointer<Self>)
}

extension NormalizationKernels where Self: TensorScalar {
    public static func channelMeanVariance(
        _ x: UnsafePointer<Self>, outer: Int, channels: Int, inner: Int,
        mean: UnsafeMutablePointer<Self>, variance: UnsafeMutablePointer<Self>
    ) {
        let m = Self(outer * inner)
        Threads.parallelFor(channels, costPerItem: outer * inner) { range in
            for c in range {
                var total: Self = 0
                for o in 0..<outer { total += sum(x + (o * channels + c) * inner, inner) }
                let mu = total / m
                var squares: Self = 0
                for o in 0..<outer {
                    let row = x + (o * channels + c) * inner
                    for i in 0..<inner { let d = row[i] - mu; squares += d * d }
                }
                mean[c] = mu
                variance[c] = squares / m
            }
        }
    }

    public static func channelScaleShift(
        _ x: UnsafePointer<Self>, scale: UnsafePointer<Self>, shift: UnsafePointer<Self>?,
        _ out: UnsafeMutablePointer<Self>, outer: Int, channels: Int, inner: Int
    ) {
        Threads.parallelFor(outer * channels, costPerItem: inner) { range in
            for row in range {
                let c = row % channels, a = scale[c], b = shift?[c] ?? 0
                let xr = x + row * inner, yr = out + row * inner
                for i in 0..<inner { yr[i] = xr[i] * a + b }
            }
        }
    }

    public static func channelSumAndDot(
        _ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, center: UnsafePointer<Self>?,
        outer: Int, channels: Int, inner: Int,
        sum: UnsafeMutablePointer<Self>, dot: UnsafeMutablePointer<Self>
    ) {
        Threads.parallelFor(channels, costPerItem: outer * inner) { range in
            for c in range {
                let mu = center?[c] ?? 0
                var s: Self = 0, d: Self = 0
                for o in 0..<outer {
                    let ar = a + (o * channels + c) * inner, br = b + (o * channels + c) * inner
                    for i in 0..<inner { s += ar[i]; d += ar[i] * (br[i] - mu) }
                }
                sum[c] = s
                dot[c] = d
            }
        }
    }

    public static func channelCombine(
        _ a: UnsafePointer<Self>, scaleA: UnsafePointer<Self>,
        _ b: UnsafePointer<Self>, scaleB: UnsafePointer<Self>, shift: UnsafePointer<Self>,
        _ out: UnsafeMutablePointer<Self>, outer: Int, channels: Int, inner: Int
    ) {
        Threads.parallelFor(outer * channels, costPerItem: inner) { range in
            for row in range {
                let c = row % channels, sa = scaleA[c], sb = scaleB[c], d = shift[c]
                let ar = a + row * inner, br = b + row * inner, yr = out + row * inner
                for i in 0..<inner { yr[i] = ar[i] * sa + br[i] * sb + d }
            }
        }
    }

    public static func normalizationCoefficients(
        mean: UnsafePointer<Self>, variance: UnsafePointer<Self>, epsilon: Self,
        gamma: UnsafePointer<Self>, beta: UnsafePointer<Self>, channels: Int,
        invStd: UnsafeMutablePointer<Self>, scale: UnsafeMutablePointer<Self>, shift: UnsafeMutablePointer<Self>
    ) {
        for c in 0..<channels {
            invStd[c] = 1 / (variance[c] + epsilon).squareRoot()
            scale[c] = gamma[c] * invStd[c]
            shift[c] = beta[c] - mean[c] * scale[c]
        }
    }

    public static func normalizationGradientCoefficients(
        gamma: UnsafePointer<Self>, invStd: UnsafePointer<Self>, mean: UnsafePointer<Self>,
        sum: UnsafePointer<Self>, dot: UnsafePointer<Self>, count m: Int, channels: Int,
        a: UnsafeMutablePointer<Self>, b: UnsafeMutablePointer<Self>, d: UnsafeMutablePointer<Self>
    ) {
        let m = Self(m)
        for c in 0..<channels {
            a[c] = gamma[c] * invStd[c]
            b[c] = -a[c] / m * invStd[c] * invStd[c] * dot[c]
            d[c] = -a[c] / m * sum[c] - b[c] * mean[c]
        }
    }
}
