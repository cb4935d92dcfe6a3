// Float's normalization kernels: the contracts of `NormalizationKernels` as C loops.
import CKernels

/// `Float`'s normalization kernels: the contracts of `NormalizationKernels` as C loops in
/// Sources/CKernels/normalization.c, compiled for AVX-512, AVX2 and the baseline and picked
/// for the CPU at load time (the Swift package itself is compiled for baseline SSE2):
/// per-channel mean and variance, scale-shift, the backward's per-channel sums and the input
/// gradient's combination, over x seen as [outer, C, inner].
///
/// Work is split over threads by channel (statistics) or by row o·C + c (broadcasts); each
/// channel's sums are taken by one thread in a fixed order (32 float partial sums per row, a
/// double total per channel), so results do not depend on the thread count. They equal the
/// generic kernels' to rounding. `Double` keeps the generic Swift kernels: it serves
/// gradient checks.
extension Float {
    public static func channelMeanVariance(
        _ x: UnsafePointer<Float>, outer: Int, channels: Int, inner: Int,
        mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>
    ) {
        // x [outer, C, inner] → mean, variance [C]
        Threads.parallelFor(channels, costPerItem: 2 * outer * inner) { range in
            bp_channel_mean_variance_f32(x, outer, channels, inner, range.lowerBound, range.upperBound, mean, variance)
        }
    }

    public static func channelScaleShift(
        _ x: UnsafePointer<Float>, scale: UnsafePointer<Float>, shift: UnsafePointer<Float>?,
        _ out: UnsafeMutablePointer<Float>, outer: Int, channels: Int, inner: Int
    ) {
        // x [outer, C, inner] → out [outer, C, inner]
        Threads.parallelFor(outer * channels, costPerItem: inner) { range in
            bp_channel_scale_shift_f32(x, scale, shift, out, channels, inner, range.lowerBound, range.upperBound)
        }
    }

    public static func channelSumAndDot(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, center: UnsafePointer<Float>?,
        outer: Int, channels: Int, inner: Int,
        sum: UnsafeMutablePointer<Float>, dot: UnsafeMutablePointer<Float>
    ) {
        // a, b [outer, C, inner] → sum, dot [C]
        Threads.parallelFor(channels, costPerItem: 2 * outer * inner) { range in
            bp_channel_sum_and_dot_f32(a, b, center, outer, channels, inner, range.lowerBound, range.upperBound, sum, dot)
        }
    }

    public static func channelCombine(
        _ a: UnsafePointer<Float>, scaleA: UnsafePointer<Float>,
        _ b: UnsafePointer<Float>, scaleB: UnsafePointer<Float>, shift: UnsafePointer<Float>,
        _ out: UnsafeMutablePointer<Float>, outer: Int, channels: Int, inner: Int
    ) {
        // a, b [outer, C, inner] → out [outer, C, inner]
        Threads.parallelFor(outer * channels, costPerItem: 2 * inner) { range in
            bp_channel_combine_f32(a, scaleA, b, scaleB, shift, out, channels, inner, range.lowerBound, range.upperBound)
        }
    }
}
