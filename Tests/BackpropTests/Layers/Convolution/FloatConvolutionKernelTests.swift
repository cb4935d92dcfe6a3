@testable import Backprop
import CKernels
import XCTest

/// The C kernels behind `Float`'s convolution, pooling and ReLU (FloatConvolutionKernels.swift)
/// against the generic Swift kernels, which `Double` still uses: same inputs (Float values
/// widened to Double), same results — exactly where the kernels only copy, compare and
/// select, to rounding where they sum. Geometries cover the fast paths (stride 1 without
/// padding and with it, rows narrower and wider than one 16-float vector, kernel widths 3 and 5 and
/// others; 2×2 stride-2 pooling) and the general ones (stride 2, padding, non-square
/// kernels, odd sizes).
final class FloatConvolutionKernelTests: XCTestCase {
    /// (input [N, C, H, W], kernel, stride, padding)
    private let geometries: [(input: [Int], kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int))] = [
        ([3, 2, 14, 14], (5, 5), (1, 1), (0, 0)), // fast path, rows of 10 (one masked vector)
        ([2, 1, 32, 32], (5, 5), (1, 1), (0, 0)), // fast path, rows of 28 (a vector and a remainder)
        ([3, 3, 9, 21], (3, 3), (1, 1), (0, 0)), // fast path, kernel width 3, rows 19 wide
        ([2, 2, 7, 40], (2, 4), (1, 1), (0, 0)), // fast path, other kernel width, three vectors per row
        ([2, 3, 28, 28], (3, 3), (1, 1), (1, 1)), // stride 1 with padding (ResNet), rows of 28
        ([3, 2, 7, 7], (3, 3), (1, 1), (1, 1)), // stride 1 with padding, rows of 7
        ([2, 2, 6, 37], (3, 5), (1, 1), (2, 3)), // stride 1, more padding than the kernel needs, rows of 41
        ([2, 2, 5, 16], (1, 2), (1, 1), (0, 1)), // stride 1, padding on one axis only, rows of 17
        ([3, 2, 7, 5], (3, 2), (2, 2), (1, 1)), // stride 2 and padding
        ([2, 3, 28, 28], (4, 4), (2, 2), (1, 1)), // a DCGAN's 4×4 stride-2 convolution, rows of 14
        ([2, 2, 14, 14], (4, 4), (2, 2), (1, 1)), // the same at 14×14, rows of 7
        ([1, 2, 70, 67], (3, 3), (2, 2), (1, 1)), // stride 2, rows of 34 (three vectors)
        ([2, 3, 9, 8], (5, 3), (2, 1), (2, 1)), // non-square everything
        ([2, 2, 5, 6], (2, 4), (1, 2), (2, 2)),
        ([2, 2, 3, 3], (5, 5), (1, 1), (2, 2)), // kernel larger than the image
        ([3, 2, 5, 7], (3, 3), (3, 3), (1, 1)), // stride larger than the kernel leaves pixels unread
        ([2, 1, 6, 6], (1, 1), (2, 2), (0, 0))
    ]

    private func geometry(_ c: (input: [Int], kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int))) -> WindowGeometry {
        WindowGeometry(input: c.input, kernel: c.kernel, stride: c.stride, padding: c.padding)
    }

    private func randomFloats(_ count: Int, using rng: inout Random) -> [Float] {
        Tensor<Float>.normal([count], using: &rng).scalars
    }

    /// The image ranges a kernel is called with: the whole batch at once, and split in two
    /// (as `Threads.parallelFor` splits it on two cores).
    private func splits(_ n: Int) -> [[Range<Int>]] {
        n > 1 ? [[0..<n], [0..<(n / 2), (n / 2)..<n]] : [[0..<n]]
    }

    private func assertEqual(
        _ a: [Float], _ b: [Double], tolerance: Double = 0, _ message: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(a.count, b.count, message, file: file, line: line)
        var worst = 0.0, at = -1
        for i in 0..<Swift.min(a.count, b.count) where !(a[i].isNaN && b[i].isNaN) {
            let scale = Swift.max(1, Swift.abs(b[i]))
            let d = Swift.abs(Double(a[i]) - b[i]) / scale
            if !(d <= tolerance) && !(d <= worst) { worst = d.isNaN ? .infinity : d; at = i }
        }
        XCTAssertEqual(
            at, -1, "\(message): element \(at) is \(at >= 0 ? a[at] : 0), expected \(at >= 0 ? b[at] : 0)",
            file: file, line: line)
    }

    /// Runs `body` twice: with the AVX-512 paths (where the CPU has them) and with the
    /// portable loops that CPUs without AVX-512 take.
    private func onBothPaths(_ body: (String) -> Void) {
        body("")
        bp_convolution_set_avx512(0)
        defer { bp_convolution_set_avx512(1) }
        body(" (portable loops)")
    }

    func testIm2colMatchesGenericKernel() { onBothPaths(checkIm2col) }
    func testCol2imMatchesGenericKernel() { onBothPaths(checkCol2im) }

    private func checkIm2col(_ path: String) {
        var rng = Random(seed: testSeed())
        for c in geometries {
            let g = geometry(c)
            let x = randomFloats(c.input.reduce(1, *), using: &rng)
            var expected = [Double](repeating: .nan, count: g.columnRows * g.columnCount)
            x.map(Double.init).withUnsafeBufferPointer { xd in
                expected.withUnsafeMutableBufferPointer { Double.im2col(xd.baseAddress!, g, images: 0..<g.batch, $0.baseAddress!) }
            }
            for ranges in splits(g.batch) {
                var columns = [Float](repeating: .nan, count: expected.count) // every element must be written
                x.withUnsafeBufferPointer { xf in
                    columns.withUnsafeMutableBufferPointer { out in
                        for r in ranges { Float.im2col(xf.baseAddress!, g, images: r, out.baseAddress!) }
                    }
                }
                assertEqual(columns, expected, "im2col \(c) in \(ranges.count) parts\(path)")
            }
        }
    }

    private func checkCol2im(_ path: String) {
        var rng = Random(seed: testSeed())
        for c in geometries {
            let g = geometry(c)
            let columns = randomFloats(g.columnRows * g.columnCount, using: &rng)
            var expected = [Double](repeating: .nan, count: c.input.reduce(1, *))
            columns.map(Double.init).withUnsafeBufferPointer { cd in
                expected.withUnsafeMutableBufferPointer { Double.col2im(cd.baseAddress!, g, images: 0..<g.batch, $0.baseAddress!) }
            }
            for ranges in splits(g.batch) {
                var image = [Float](repeating: .nan, count: expected.count) // overwritten, not added to
                columns.withUnsafeBufferPointer { cf in
                    image.withUnsafeMutableBufferPointer { out in
                        for r in ranges { Float.col2im(cf.baseAddress!, g, images: r, out.baseAddress!) }
                    }
                }
                assertEqual(image, expected, tolerance: 1e-5, "col2im \(c) in \(ranges.count) parts\(path)")
            }
        }
    }

    func testRearrangementsMatchGenericKernels() {
        var rng = Random(seed: testSeed())
        for (features, batch, plane) in [(3, 5, 7), (16, 4, 100), (2, 3, 1), (5, 2, 33)] {
            let product = randomFloats(features * batch * plane, using: &rng)
            let bias = randomFloats(features, using: &rng)
            for withBias in [true, false] {
                var expected = [Double](repeating: .nan, count: product.count)
                product.map(Double.init).withUnsafeBufferPointer { p in
                    bias.map(Double.init).withUnsafeBufferPointer { b in
                        expected.withUnsafeMutableBufferPointer {
                            Double.featureMajorToBatchMajor(
                                p.baseAddress!, bias: withBias ? b.baseAddress! : nil, features: features,
                                batch: batch, plane: plane, images: 0..<batch, $0.baseAddress!)
                        }
                    }
                }
                for ranges in splits(batch) {
                    var output = [Float](repeating: .nan, count: product.count)
                    product.withUnsafeBufferPointer { p in
                        bias.withUnsafeBufferPointer { b in
                            output.withUnsafeMutableBufferPointer { out in
                                for r in ranges {
                                    Float.featureMajorToBatchMajor(
                                        p.baseAddress!, bias: withBias ? b.baseAddress! : nil,
                                        features: features, batch: batch, plane: plane,
                                        images: r, out.baseAddress!)
                                }
                            }
                        }
                    }
                    // a Float sum rounded once equals the Double sum rounded to Float
                    assertEqual(
                        output, expected.map { Double(Float($0)) }, "featureMajorToBatchMajor bias \(withBias) \((features, batch, plane))")
                }
            }
            var expected = [Double](repeating: .nan, count: product.count)
            product.map(Double.init).withUnsafeBufferPointer { x in
                expected.withUnsafeMutableBufferPointer {
                    Double.batchMajorToFeatureMajor(
                        x.baseAddress!, features: features, batch: batch, plane: plane,
                        images: 0..<batch, $0.baseAddress!)
                }
            }
            for ranges in splits(batch) {
                var columns = [Float](repeating: .nan, count: product.count)
                product.withUnsafeBufferPointer { x in
                    columns.withUnsafeMutableBufferPointer { out in
                        for r in ranges {
                            Float.batchMajorToFeatureMajor(
                                x.baseAddress!, features: features, batch: batch, plane: plane,
                                images: r, out.baseAddress!)
                        }
                    }
                }
                assertEqual(columns, expected, "batchMajorToFeatureMajor \((features, batch, plane))")
            }
        }
    }

    func testMaxPoolMatchesGenericKernel() {
        var rng = Random(seed: testSeed())
        let pools: [(input: [Int], kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int))] = [
            ([2, 3, 28, 28], (2, 2), (2, 2), (0, 0)), // the fast path
            ([2, 3, 11, 9], (2, 2), (2, 2), (0, 0)), // odd sizes: a last row and column no window reads
            ([2, 2, 7, 8], (2, 2), (1, 1), (0, 0)), // overlapping 2×2 windows
            ([2, 2, 9, 7], (3, 3), (2, 2), (1, 1)), // padding
            ([1, 3, 8, 10], (2, 3), (2, 1), (1, 1)) // non-square
        ]
        for c in pools {
            let g = geometry(c)
            let planes = g.batch * g.channels
            // a few distinct values only: many ties, which must go to the first maximum in scan order
            let x = (0..<c.input.reduce(1, *)).map { _ in Float(Int.random(in: -2...2, using: &rng)) }
            var expected = [Double](repeating: .nan, count: planes * g.outputPlane)
            var expectedIndex = [Int32](repeating: -1, count: expected.count)
            x.map(Double.init).withUnsafeBufferPointer { xd in
                expected.withUnsafeMutableBufferPointer { y in
                    expectedIndex.withUnsafeMutableBufferPointer {
                        Double.maxPool2D(xd.baseAddress!, g, planes: 0..<planes, y.baseAddress!, $0.baseAddress!)
                    }
                }
            }
            let gy = randomFloats(expected.count, using: &rng)
            var expectedGrad = [Double](repeating: .nan, count: x.count)
            gy.map(Double.init).withUnsafeBufferPointer { gyd in
                expectedIndex.withUnsafeBufferPointer { index in
                    expectedGrad.withUnsafeMutableBufferPointer {
                        Double.maxPool2DBackward(gyd.baseAddress!, index.baseAddress!, g, planes: 0..<planes, $0.baseAddress!)
                    }
                }
            }
            for ranges in splits(planes) {
                var y = [Float](repeating: .nan, count: expected.count)
                var index = [Int32](repeating: -1, count: expected.count)
                var gx = [Float](repeating: .nan, count: x.count)
                x.withUnsafeBufferPointer { xf in
                    y.withUnsafeMutableBufferPointer { yf in
                        index.withUnsafeMutableBufferPointer { i in
                            for r in ranges { Float.maxPool2D(xf.baseAddress!, g, planes: r, yf.baseAddress!, i.baseAddress!) }
                        }
                    }
                }
                gy.withUnsafeBufferPointer { gyf in
                    index.withUnsafeBufferPointer { i in
                        gx.withUnsafeMutableBufferPointer { out in
                            for r in ranges { Float.maxPool2DBackward(gyf.baseAddress!, i.baseAddress!, g, planes: r, out.baseAddress!) }
                        }
                    }
                }
                assertEqual(y, expected, "maxPool2D \(c)")
                XCTAssertEqual(index, expectedIndex, "maxPool2D argmax \(c)")
                assertEqual(gx, expectedGrad, tolerance: 1e-6, "maxPool2DBackward \(c)")
            }
        }
    }

    func testReluAndRowSumsMatchGenericKernels() {
        var rng = Random(seed: testSeed())
        for n in [1, 17, 1000, 70_001] { // 70 001: split over threads, with a remainder
            var x = randomFloats(n, using: &rng)
            if n > 3 { x[0] = 0; x[1] = -0.0; x[2] = .nan }
            let gy = randomFloats(n, using: &rng)
            for slope: Float in [0, 0.01] {
                for threads in [1, 2] {
                    let saved = Threads.count
                    Threads.count = threads
                    defer { Threads.count = saved }
                    var y = [Float](repeating: .nan, count: n), gx = y
                    var yd = [Double](repeating: .nan, count: n), gxd = yd
                    x.withUnsafeBufferPointer { xf in
                        y.withUnsafeMutableBufferPointer { Float.relu(xf.baseAddress!, $0.baseAddress!, n, slope: slope) }
                    }
                    x.map(Double.init).withUnsafeBufferPointer { xd in
                        yd.withUnsafeMutableBufferPointer { Double.relu(xd.baseAddress!, $0.baseAddress!, n, slope: Double(slope)) }
                    }
                    x.withUnsafeBufferPointer { xf in
                        gy.withUnsafeBufferPointer { g in
                            gx.withUnsafeMutableBufferPointer {
                                Float.reluBackward(xf.baseAddress!, g.baseAddress!, $0.baseAddress!, n, slope: slope)
                            }
                        }
                    }
                    x.map(Double.init).withUnsafeBufferPointer { xd in
                        gy.map(Double.init).withUnsafeBufferPointer { g in
                            gxd.withUnsafeMutableBufferPointer {
                                Double.reluBackward(xd.baseAddress!, g.baseAddress!, $0.baseAddress!, n, slope: Double(slope))
                            }
                        }
                    }
                    // a product of two Floats rounded once: Double's product rounded to Float
                    assertEqual(y, yd.map { Double(Float($0)) }, "relu n \(n) slope \(slope) threads \(threads)")
                    assertEqual(gx, gxd.map { Double(Float($0)) }, "reluBackward n \(n) slope \(slope) threads \(threads)")
                    if n > 3 && slope == 0 {
                        XCTAssertEqual(y[1].bitPattern, Float(0).bitPattern, "relu(−0) is +0, as in the generic kernel")
                        XCTAssertEqual(y[2], 0, "relu(NaN) is 0, as in the generic kernel")
                    }
                }
            }
        }
        for (rows, cols) in [(3, 1), (5, 31), (4, 100), (2, 6400)] {
            let x = randomFloats(rows * cols, using: &rng)
            var sums = [Float](repeating: .nan, count: rows), expected = [Double](repeating: .nan, count: rows)
            x.withUnsafeBufferPointer { xf in
                sums.withUnsafeMutableBufferPointer { Float.rowSums(xf.baseAddress!, rows: rows, cols: cols, $0.baseAddress!) }
            }
            x.map(Double.init).withUnsafeBufferPointer { xd in
                expected.withUnsafeMutableBufferPointer { Double.rowSums(xd.baseAddress!, rows: rows, cols: cols, $0.baseAddress!) }
            }
            for r in 0..<rows {
                XCTAssertEqual(Double(sums[r]), expected[r], accuracy: 1e-5 * Double(cols), "rowSums \((rows, cols)) row \(r)")
            }
        }
    }

    /// The layers end to end, Float against Double with the same weights, on one and two
    /// threads, with batches large enough for Conv2D to go through several blocks.
    func testLayersMatchDoubleOnOneAndTwoThreads() {
        var rng = Random(seed: testSeed())
        let saved = Threads.count
        defer { Threads.count = saved }
        func float(_ t: Tensor<Double>) -> Tensor<Float> { Tensor(shape: t.shape, scalars: t.scalars.map(Float.init)) }
        func double(_ t: Tensor<Float>) -> Tensor<Double> { Tensor(shape: t.shape, scalars: t.scalars.map(Double.init)) }
        let convolutions: [(input: [Int], filters: Int, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int))] = [
            ([20, 16, 14, 14], 24, (5, 5), (1, 1), (0, 0)), // the LeNet shape: several blocks of images
            ([9, 1, 32, 32], 16, (5, 5), (1, 1), (0, 0)),
            ([7, 3, 11, 10], 5, (3, 4), (2, 1), (1, 2)),
            // the direct 3×3 path (stride 1, padding 1): filters and channels not multiples of
            // 16, planes of 7×7 (stacked; a 16-pixel piece spans rows), 14×9, 5×3 (smaller than a piece)
            ([10, 20, 7, 7], 18, (3, 3), (1, 1), (1, 1)),
            ([5, 3, 14, 9], 33, (3, 3), (1, 1), (1, 1)),
            ([4, 17, 5, 3], 2, (3, 3), (1, 1), (1, 1)),
            ([3, 1, 28, 28], 16, (3, 3), (1, 1), (1, 1)),
            ([7, 5, 4, 5], 7, (3, 3), (1, 1), (1, 1)), // 20-pixel planes: stacked (see stacksImages)
            // at most 3 filters (a generator's last layer): the pieces, not the filters, in the accumulators
            ([3, 6, 28, 28], 1, (3, 3), (1, 1), (1, 1)), // 49 pieces: 12 groups of 4 and one alone
            ([4, 5, 9, 9], 3, (3, 3), (1, 1), (1, 1)), // 81-pixel planes: stacked
            ([2, 7, 6, 11], 2, (3, 3), (1, 1), (1, 1))
        ]
        for (index, c) in convolutions.enumerated() {
            for bias in [true, false] {
                let layer = Conv2D<Double>(
                    c.input[1], c.filters, kernelSize: c.kernel, stride: c.stride, padding: c.padding,
                    bias: bias, using: &rng)
                let fast = Conv2D<Float>(c.input[1], c.filters, kernelSize: c.kernel, stride: c.stride, padding: c.padding, bias: bias)
                fast.weight.value = float(layer.weight.value)
                if bias { fast.bias!.value = float(layer.bias!.value) }
                // inputs and gradients exactly representable in Float: both layers see the same numbers
                let x = double(float(.normal(c.input, using: &rng)))
                let gy = double(float(.normal(try! layer.outputShape(for: c.input), using: &rng)))
                let y = layer.fprop(x)
                layer.zeroGrad()
                layer.grad(x, gy)
                let gx = layer.bprop(x, gy)
                for threads in [1, 2] {
                    Threads.count = threads
                    let message = "\(fast) on \(c.input), \(threads) threads"
                    if index < 2 {
                        // several blocks, and on two threads two parts of the batch
                        XCTAssertGreaterThan(c.input[0], fast.blockImages(fast.geometry(c.input)), "one block only, " + message)
                        XCTAssertEqual(fast.parts(fast.geometry(c.input)), threads, "parts, " + message)
                    }
                    if index >= 3 {
                        // the direct path, its planes stacked or not (where the CPU has it)
                        let g = fast.geometry(c.input)
                        XCTAssertEqual(fast.stacksImages(g), [3, 7, 9, 10].contains(index), "stacking, " + message)
                    }
                    assertClose(double(fast.fprop(float(x))), y, tolerance: 1e-4, "fprop, " + message)
                    fast.zeroGrad()
                    fast.grad(float(x), float(gy))
                    assertClose(double(fast.weight.grad), layer.weight.grad, tolerance: 1e-3, "weight grad, " + message)
                    if bias { assertClose(double(fast.bias!.grad), layer.bias!.grad, tolerance: 1e-3, "bias grad, " + message) }
                    fast.grad(float(x), float(gy)) // grad accumulates
                    assertClose(double(fast.weight.grad), 2 * layer.weight.grad, tolerance: 2e-3, "accumulated weight grad, " + message)
                    if bias {
                        assertClose(double(fast.bias!.grad), 2 * layer.bias!.grad, tolerance: 2e-3, "accumulated bias grad, " + message)
                    }
                    assertClose(double(fast.bprop(float(x), float(gy))), gx, tolerance: 1e-4, "bprop, " + message)
                }
            }
        }
        let x = double(float(.normal([6, 5, 13, 12], using: &rng)))
        let gy2 = double(float(.normal([6, 5, 6, 6], using: &rng)))
        for threads in [1, 2] {
            Threads.count = threads
            let pool = MaxPool2D<Double>(2), fastPool = MaxPool2D<Float>(2)
            assertClose(double(fastPool.fprop(float(x))), pool.fprop(x), tolerance: 0, "MaxPool2D fprop")
            assertClose(double(fastPool.bprop(float(x), float(gy2))), pool.bprop(x, gy2), tolerance: 0, "MaxPool2D bprop")
            let relu = ReLU<Double>(), fastRelu = ReLU<Float>()
            assertClose(double(fastRelu.fprop(float(x))), relu.fprop(x), tolerance: 0, "ReLU fprop")
            assertClose(double(fastRelu.bprop(float(x), float(x))), relu.bprop(x, x), tolerance: 0, "ReLU bprop")
        }
    }
}
