@testable import Backprop
import XCTest

/// Pooling by its definition, as nested loops: each window's maximum (and the flat index
/// h·W + w of the first one in scan order) or mean over kH·kW (padding counted as zeros).
private func referencePooling(
    _ x: Tensor<Double>, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int),
    max: Bool
) -> (output: Tensor<Double>, argmax: [Int]) {
    let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let oh = (h + 2 * padding.0 - kernel.0) / stride.0 + 1, ow = (w + 2 * padding.1 - kernel.1) / stride.1 + 1
    var y = Tensor<Double>.zeros([n, c, oh, ow])
    var argmax: [Int] = []
    for ni in 0..<n {
        for ci in 0..<c {
            for i in 0..<oh {
                for j in 0..<ow {
                    var best = -Double.infinity, at = -1, total = 0.0
                    for di in 0..<kernel.0 {
                        for dj in 0..<kernel.1 {
                            let r = i * stride.0 - padding.0 + di, s = j * stride.1 - padding.1 + dj
                            guard r >= 0 && r < h && s >= 0 && s < w else { continue }
                            total += x[ni, ci, r, s]
                            if x[ni, ci, r, s] > best { best = x[ni, ci, r, s]; at = r * w + s }
                        }
                    }
                    y[ni, ci, i, j] = max ? best : total / Double(kernel.0 * kernel.1)
                    argmax.append(at)
                }
            }
        }
    }
    return (y, argmax)
}

/// A tensor of distinct values (a shuffled ramp, steps of 0.01), so no max-pool window has a tie.
private func distinctValues(_ shape: [Int], using rng: inout Random) -> Tensor<Double> {
    let n = shape.reduce(1, *)
    return Tensor(shape: shape, scalars: rng.permutation(n).map { Double($0 - n / 2) * 0.01 })
}

private let configurations: [(input: [Int], kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int))] = [
    ([2, 3, 6, 6], (2, 2), (2, 2), (0, 0)),
    ([2, 3, 7, 5], (2, 2), (2, 2), (0, 0)), // odd sizes: the last row and column are dropped
    ([3, 2, 7, 7], (3, 3), (2, 2), (1, 1)), // overlapping windows, stride 2, padding 1
    ([2, 2, 9, 6], (3, 2), (2, 1), (1, 1)), // non-square kernel
    ([2, 2, 8, 9], (4, 5), (3, 2), (2, 2)), // padding 2
    ([2, 2, 5, 5], (2, 2), (3, 3), (0, 0)) // stride larger than the kernel
]

final class PoolingTests: XCTestCase {
    func testMaxPoolMatchesDefinitionAndRoutesGradientToTheMaximum() {
        var rng = Random(seed: testSeed())
        for c in configurations {
            let pool = MaxPool2D<Double>(kernelSize: c.kernel, stride: c.stride, padding: c.padding)
            let x = distinctValues(c.input, using: &rng)
            let (expected, argmax) = referencePooling(x, kernel: c.kernel, stride: c.stride, padding: c.padding, max: true)
            let y = pool.fprop(x)
            assertClose(y, expected, tolerance: 0, "\(pool) on \(c.input)")
            // the gradient of each output lands on its argmax, nowhere else
            let gy = Tensor<Double>.normal(y.shape, using: &rng)
            var routed = Tensor<Double>.zeros(x.shape)
            let plane = c.input[2] * c.input[3], outPlane = y.shape[2] * y.shape[3]
            for k in 0..<y.count { routed.scalars[(k / outPlane) * plane + argmax[k]] += gy.scalars[k] }
            assertClose(pool.bprop(x, gy), routed, tolerance: 1e-15, "\(pool) on \(c.input)")
        }
    }

    func testMaxPoolGradientsOnDistinctValues() {
        var rng = Random(seed: testSeed())
        for c in configurations {
            let pool = MaxPool2D<Double>(kernelSize: c.kernel, stride: c.stride, padding: c.padding)
            assertGradientsMatch(pool, input: distinctValues(c.input, using: &rng), "on \(c.input)")
        }
    }

    /// The documented tie rule: the first maximum in scan order (row by row) takes the gradient.
    func testMaxPoolTiesGoToTheFirstMaximumInScanOrder() {
        let pool = MaxPool2D<Double>(2)
        // one 2×4 plane, two windows: [[1, 3], [3, 0]] and [[5, 5], [5, 5]]
        let x = Tensor<Double>(
            shape: [1, 1, 2, 4],
            scalars: [
                1, 3, 5, 5,
                3, 0, 5, 5
            ])
        XCTAssertEqual(pool.fprop(x).scalars, [3, 5])
        XCTAssertEqual(
            pool.bprop(x, Tensor(shape: [1, 1, 1, 2], scalars: [10, 20])).scalars,
            [
                0, 10, 20, 0,
                0, 0, 0, 0
            ])
    }

    func testMaxPoolPaddingNeverWins() {
        // all inputs negative: a zero-padded max would return 0 at the borders
        let pool = MaxPool2D<Double>(kernelSize: (3, 3), stride: (1, 1), padding: (1, 1))
        let x = Tensor<Double>(shape: [1, 1, 2, 2], scalars: [-4, -3, -2, -1])
        XCTAssertEqual(pool.fprop(x).scalars, [-1, -1, -1, -1])
    }

    func testAvgPoolMatchesDefinitionCountingPadding() {
        var rng = Random(seed: testSeed())
        for c in configurations {
            let pool = AvgPool2D<Double>(kernelSize: c.kernel, stride: c.stride, padding: c.padding)
            let x = Tensor<Double>.normal(c.input, using: &rng)
            assertClose(
                pool.fprop(x), referencePooling(x, kernel: c.kernel, stride: c.stride, padding: c.padding, max: false).output,
                tolerance: 1e-14, "\(pool) on \(c.input)")
        }
        // count_include_pad: a 2×2 window over one real pixel of value 4 and three padding zeros
        // gives 1, over two real pixels 2, over four 4
        let corner = AvgPool2D<Double>(kernelSize: (2, 2), stride: (2, 2), padding: (1, 1))
        XCTAssertEqual(corner.fprop(Tensor(repeating: 4, shape: [1, 1, 3, 3])).scalars, [1, 2, 2, 4])
    }

    func testAvgPoolGradients() {
        var rng = Random(seed: testSeed())
        for c in configurations {
            let pool = AvgPool2D<Double>(kernelSize: c.kernel, stride: c.stride, padding: c.padding)
            assertGradientsMatch(pool, input: .normal(c.input, using: &rng), "on \(c.input)")
        }
    }

    func testShapesAndErrors() {
        XCTAssertEqual(try MaxPool2D<Float>(2).outputShape(for: [64, 16, 28, 28]), [64, 16, 14, 14])
        XCTAssertEqual(try MaxPool2D<Float>(2).outputShape(for: [64, 128, 10, 10]), [64, 128, 5, 5])
        XCTAssertEqual(try AvgPool2D<Float>(3, stride: 2, padding: 1).outputShape(for: [1, 2, 7, 8]), [1, 2, 4, 4])
        XCTAssertThrowsError(try MaxPool2D<Float>(2).outputShape(for: [4, 28, 28])) { error in
            XCTAssertTrue("\(error)".contains("MaxPool2D(2x2)") && "\(error)".contains("[4, 28, 28]"), "\(error)")
        }
        XCTAssertThrowsError(try AvgPool2D<Float>(5).outputShape(for: [1, 1, 4, 9]))
        XCTAssertEqual(
            "\(MaxPool2D<Float>(kernelSize: (3, 2), stride: (2, 2), padding: (1, 0)))", "MaxPool2D(3x2, stride 2, padding (1, 0))")
    }
}
