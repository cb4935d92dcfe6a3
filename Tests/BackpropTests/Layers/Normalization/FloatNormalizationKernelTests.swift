@testable import Backprop
import XCTest

/// The C loops behind `Float`'s normalization kernels (FloatNormalizationKernels.swift)
/// against the generic Swift kernels, which `Double` still uses: same inputs (Float values
/// widened to Double), results equal to Float rounding. Shapes are odd ([outer, C, inner]
/// with rows shorter and longer than the 32 partial sums, not multiples of them), with
/// large offsets in the data (a one-pass variance would cancel); each is run on 1 and 2
/// threads, which must give bit-identical results.
final class FloatNormalizationKernelTests: XCTestCase {
    private let shapes: [(outer: Int, channels: Int, inner: Int)] = [
        (3, 5, 7), (2, 3, 49), (5, 2, 17), (1, 7, 33), (4, 3, 1), (9, 1, 16), (2, 4, 200), (6, 1100, 1)
    ]

    private func data(_ count: Int, offset: Float, using rng: inout Random) -> [Float] {
        Tensor<Float>.normal([count], using: &rng).scalars.map { $0 * 3 + offset }
    }

    private func assertClose(
        _ a: [Float], _ b: [Double], tolerance: Double = 2e-5, _ message: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(a.count, b.count, message, file: file, line: line)
        for i in 0..<Swift.min(a.count, b.count) {
            let d = Swift.abs(Double(a[i]) - b[i]) / Swift.max(1, Swift.abs(b[i]))
            if !(d <= tolerance) {
                XCTFail("\(message): element \(i) is \(a[i]), expected \(b[i])", file: file, line: line)
                return
            }
        }
    }

    /// Runs `body` on 1 and on 2 threads (with the kernels' parallel split forced by
    /// shapes large enough or not: both paths give the same bits) and checks they agree.
    private func onOneAndTwoThreads(_ body: () -> [Float]) -> [Float] {
        let saved = Threads.count
        defer { Threads.count = saved }
        Threads.count = 1
        let one = body()
        Threads.count = 2
        let two = body()
        XCTAssertEqual(one, two, "1 and 2 threads differ")
        return one
    }

    func testMeanVarianceMatchesGeneric() {
        var rng = Random(seed: testSeed())
        for s in shapes + [(64, 3, 200)] { // the last is split over threads
            let n = s.outer * s.channels * s.inner
            let x = data(n, offset: 100, using: &rng)
            let got = onOneAndTwoThreads {
                var mean = [Float](repeating: 0, count: s.channels), variance = mean
                Float.channelMeanVariance(x, outer: s.outer, channels: s.channels, inner: s.inner, mean: &mean, variance: &variance)
                return mean + variance
            }
            var mean = [Double](repeating: 0, count: s.channels), variance = mean
            Double.channelMeanVariance(
                x.map(Double.init), outer: s.outer, channels: s.channels, inner: s.inner,
                mean: &mean, variance: &variance)
            assertClose(Array(got[..<s.channels]), mean, "mean \(s)")
            // the variance (about 9) against a mean of 100: relative to the variance
            assertClose(Array(got[s.channels...]), variance, tolerance: 1e-4, "variance \(s)")
        }
    }

    func testSumAndDotMatchesGeneric() {
        var rng = Random(seed: testSeed())
        for s in shapes + [(64, 3, 200)] {
            let n = s.outer * s.channels * s.inner
            let a = data(n, offset: 0.5, using: &rng), b = data(n, offset: 10, using: &rng)
            let center = data(s.channels, offset: 10, using: &rng)
            for centered in [true, false] {
                let got = onOneAndTwoThreads {
                    var sum = [Float](repeating: 0, count: s.channels), dot = sum
                    Float.channelSumAndDot(
                        a, b, center: centered ? center : nil, outer: s.outer, channels: s.channels,
                        inner: s.inner, sum: &sum, dot: &dot)
                    return sum + dot
                }
                var sum = [Double](repeating: 0, count: s.channels), dot = sum
                Double.channelSumAndDot(
                    a.map(Double.init), b.map(Double.init), center: centered ? center.map(Double.init) : nil,
                    outer: s.outer, channels: s.channels, inner: s.inner, sum: &sum, dot: &dot)
                // sums of m terms of size ~1 (~30 with b uncentered): relative to √m · term size
                let m = Double(s.outer * s.inner), scale = m.squareRoot() * (centered ? 3 : 30)
                assertClose(
                    got.map { $0 / Float(scale) }, (sum + dot).map { $0 / scale }, tolerance: 1e-5,
                    "sum and dot \(s), centered \(centered)")
            }
        }
    }

    func testScaleShiftAndCombineMatchGeneric() {
        var rng = Random(seed: testSeed())
        for s in shapes + [(64, 3, 200)] {
            let n = s.outer * s.channels * s.inner
            let a = data(n, offset: 1, using: &rng), b = data(n, offset: -2, using: &rng)
            let sa = data(s.channels, offset: 0, using: &rng), sb = data(s.channels, offset: 0, using: &rng)
            let shift = data(s.channels, offset: 0, using: &rng)
            let (d, da, db) = (shift.map(Double.init), a.map(Double.init), b.map(Double.init))
            for withShift in [true, false] {
                let got = onOneAndTwoThreads {
                    var out = [Float](repeating: .nan, count: n)
                    Float.channelScaleShift(
                        a, scale: sa, shift: withShift ? shift : nil, &out,
                        outer: s.outer, channels: s.channels, inner: s.inner)
                    return out
                }
                var want = [Double](repeating: .nan, count: n)
                Double.channelScaleShift(
                    da, scale: sa.map(Double.init), shift: withShift ? d : nil, &want,
                    outer: s.outer, channels: s.channels, inner: s.inner)
                assertClose(got, want, tolerance: 1e-6, "scale-shift \(s), shift \(withShift)")
            }
            let got = onOneAndTwoThreads {
                var out = [Float](repeating: .nan, count: n)
                Float.channelCombine(
                    a, scaleA: sa, b, scaleB: sb, shift: shift, &out,
                    outer: s.outer, channels: s.channels, inner: s.inner)
                return out
            }
            var want = [Double](repeating: .nan, count: n)
            Double.channelCombine(
                da, scaleA: sa.map(Double.init), db, scaleB: sb.map(Double.init), shift: d, &want,
                outer: s.outer, channels: s.channels, inner: s.inner)
            assertClose(got, want, tolerance: 1e-5, "combine \(s)")
        }
    }

    /// In place: out may be x.
    func testScaleShiftInPlace() {
        var x: [Float] = (0..<(3 * 2 * 5)).map { Float($0) }
        let expected = x.enumerated().map { i, v in v * [2, -1][(i / 5) % 2] + [0.5, 3][(i / 5) % 2] }
        x.withUnsafeMutableBufferPointer { p in
            Float.channelScaleShift(p.baseAddress!, scale: [2, -1], shift: [0.5, 3], p.baseAddress!, outer: 3, channels: 2, inner: 5)
        }
        XCTAssertEqual(x, expected)
    }
}
