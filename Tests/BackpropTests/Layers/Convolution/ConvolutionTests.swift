@testable import Backprop
import XCTest

/// The plain definition of a convolution, as nested loops (the reference the fast im2col
/// path is compared with). x [N, C, H, W], w [F, C, kH, kW], b [F] → y [N, F, outH, outW].
private func referenceConvolution(
    _ x: Tensor<Double>, _ w: Tensor<Double>, _ b: Tensor<Double>?,
    stride: (Int, Int), padding: (Int, Int)
) -> Tensor<Double> {
    let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (f, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
    let oh = (h + 2 * padding.0 - kh) / stride.0 + 1, ow = (wd + 2 * padding.1 - kw) / stride.1 + 1
    var y = Tensor<Double>.zeros([n, f, oh, ow])
    for ni in 0..<n {
        for fi in 0..<f {
            for i in 0..<oh {
                for j in 0..<ow {
                    var total = b?[fi] ?? 0
                    for ci in 0..<c {
                        for di in 0..<kh {
                            for dj in 0..<kw {
                                let r = i * stride.0 - padding.0 + di, s = j * stride.1 - padding.1 + dj
                                if r >= 0 && r < h && s >= 0 && s < wd { total += w[fi, ci, di, dj] * x[ni, ci, r, s] }
                            }
                        }
                    }
                    y[ni, fi, i, j] = total
                }
            }
        }
    }
    return y
}

/// The gradients of the nested-loop convolution: (∂/∂x, ∂/∂w, ∂/∂b) for output gradient gy.
private func referenceConvolutionGradients(
    _ x: Tensor<Double>, _ w: Tensor<Double>, _ gy: Tensor<Double>,
    stride: (Int, Int), padding: (Int, Int)
)
    -> (input: Tensor<Double>, weight: Tensor<Double>, bias: Tensor<Double>)
{
    let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (f, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
    let (oh, ow) = (gy.shape[2], gy.shape[3])
    var gx = Tensor<Double>.zeros(x.shape), gw = Tensor<Double>.zeros(w.shape), gb = Tensor<Double>.zeros([f])
    for ni in 0..<n {
        for fi in 0..<f {
            for i in 0..<oh {
                for j in 0..<ow {
                    let g = gy[ni, fi, i, j]
                    gb[fi] += g
                    for ci in 0..<c {
                        for di in 0..<kh {
                            for dj in 0..<kw {
                                let r = i * stride.0 - padding.0 + di, s = j * stride.1 - padding.1 + dj
                                if r >= 0 && r < h && s >= 0 && s < wd {
                                    gx[ni, ci, r, s] += w[fi, ci, di, dj] * g
                                    gw[fi, ci, di, dj] += x[ni, ci, r, s] * g
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    return (gx, gw, gb)
}

/// Convolution shapes that exercise batch > 1, channels > 1, odd and non-square images,
/// non-square kernels, stride 2, and padding 1 and 2.
private let configurations: [(input: [Int], filters: Int, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int))] = [
    ([2, 3, 7, 7], 4, (3, 3), (1, 1), (0, 0)),
    ([3, 2, 7, 5], 3, (3, 2), (2, 2), (1, 1)),
    ([2, 3, 9, 8], 2, (5, 3), (2, 1), (2, 1)),
    ([2, 2, 5, 6], 3, (2, 4), (1, 2), (2, 2)),
    ([2, 1, 6, 6], 2, (1, 1), (2, 2), (0, 0)),
    ([2, 2, 3, 3], 2, (5, 5), (1, 1), (2, 2)), // kernel larger than the image
    ([3, 2, 5, 7], 2, (3, 3), (3, 3), (1, 1)) // stride larger than the kernel leaves pixels unread
]

final class ConvolutionTests: XCTestCase {
    private func makeConvolution(
        _ config: (input: [Int], filters: Int, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)),
        bias: Bool, seed: UInt64
    ) -> Conv2D<Double> {
        var rng = Random(seed: seed)
        return Conv2D<Double>(
            config.input[1], config.filters, kernelSize: config.kernel, stride: config.stride,
            padding: config.padding, bias: bias, using: &rng)
    }

    func testConv2DMatchesNestedLoops() {
        let seed = testSeed()
        var rng = Random(seed: seed)
        for (index, config) in configurations.enumerated() {
            for bias in [true, false] {
                let conv = makeConvolution(config, bias: bias, seed: seed &+ UInt64(index))
                let x = Tensor<Double>.normal(config.input, using: &rng)
                let y = conv.fprop(x)
                let expected = referenceConvolution(x, conv.weight.value, conv.bias?.value, stride: config.stride, padding: config.padding)
                assertClose(y, expected, tolerance: 1e-12, "fprop, \(conv) on \(config.input)")

                let gy = Tensor<Double>.normal(y.shape, using: &rng)
                let reference = referenceConvolutionGradients(x, conv.weight.value, gy, stride: config.stride, padding: config.padding)
                conv.zeroGrad()
                conv.grad(x, gy)
                assertClose(conv.weight.grad, reference.weight, tolerance: 1e-12, "weight grad, \(conv) on \(config.input)")
                if let b = conv.bias { assertClose(b.grad, reference.bias, tolerance: 1e-12, "bias grad, \(conv)") }
                assertClose(conv.bprop(x, gy), reference.input, tolerance: 1e-12, "bprop, \(conv) on \(config.input)")
            }
        }
    }

    func testConvolutionGradientsMatchFiniteDifferences() {
        let seed = testSeed()
        var rng = Random(seed: seed)
        for (index, config) in configurations.enumerated() {
            let conv = makeConvolution(config, bias: index % 3 != 2, seed: seed &+ UInt64(index))
            assertGradientsMatch(conv, input: .normal(config.input, using: &rng), "on input \(config.input)")
        }
    }

    /// grad and bprop give the same answers whatever was called before them: after an
    /// evaluation-mode fprop (no columns kept), after bprop (columns buffer reused), and
    /// when the batch size changes between calls.
    func testCachedColumnsNeverGoStale() {
        var rng = Random(seed: testSeed())
        let conv = Conv2D<Double>(2, 3, kernelSize: (3, 2), stride: (2, 1), padding: (1, 1), using: &rng)
        let x = Tensor<Double>.normal([3, 2, 6, 5], using: &rng)
        let other = Tensor<Double>.normal([2, 2, 6, 5], using: &rng)
        let gy = Tensor<Double>.normal(try! conv.outputShape(for: x.shape), using: &rng)
        let reference = referenceConvolutionGradients(x, conv.weight.value, gy, stride: (2, 1), padding: (1, 1))

        func check(_ when: String) {
            conv.zeroGrad()
            conv.grad(x, gy)
            assertClose(conv.weight.grad, reference.weight, tolerance: 1e-12, "weight grad \(when)")
            assertClose(conv.bprop(x, gy), reference.input, tolerance: 1e-12, "bprop \(when)")
        }
        conv.isTraining = false
        _ = conv.fprop(x)
        check("after an evaluation-mode fprop")
        conv.isTraining = true
        _ = conv.fprop(x)
        _ = conv.bprop(x, gy)
        check("after bprop overwrote the columns")
        _ = conv.fprop(other)
        _ = conv.fprop(x)
        check("after an fprop on another batch size")
    }

    func testFloatAgreesWithDouble() {
        var rng = Random(seed: testSeed())
        let double = Conv2D<Double>(3, 4, kernelSize: (3, 3), stride: (2, 2), padding: (1, 1), using: &rng)
        let float = Conv2D<Float>(3, 4, kernelSize: (3, 3), stride: (2, 2), padding: (1, 1))
        float.weight.value = Tensor(shape: double.weight.value.shape, scalars: double.weight.value.scalars.map(Float.init))
        float.bias!.value = Tensor(shape: [4], scalars: double.bias!.value.scalars.map(Float.init))
        let x = Tensor<Double>.normal([2, 3, 9, 7], using: &rng)
        let y = float.fprop(Tensor(shape: x.shape, scalars: x.scalars.map(Float.init)))
        assertClose(Tensor(shape: y.shape, scalars: y.scalars.map(Double.init)), double.fprop(x), tolerance: 1e-4)
    }

    /// PyTorch's default: weight and bias uniform in ±1/√(C·kH·kW).
    func testInitialisationFollowsPyTorch() {
        var rng = Random(seed: testSeed())
        let conv = Conv2D<Double>(16, 32, kernelSize: (5, 3), using: &rng)
        let bound = 1 / Double(16 * 5 * 3).squareRoot()
        XCTAssertEqual(conv.weight.value.shape, [32, 16, 5, 3])
        XCTAssertEqual(conv.bias?.value.shape, [32])
        XCTAssertLessThanOrEqual(conv.weight.value.maxAbs(), bound)
        XCTAssertGreaterThan(conv.weight.value.maxAbs(), 0.95 * bound)
        XCTAssertLessThanOrEqual(conv.bias!.value.maxAbs(), bound)
        XCTAssertEqual(conv.namedParameters.map(\.name), ["weight", "bias"])
        XCTAssertTrue(conv.weight.decays)
        XCTAssertFalse(conv.bias!.decays)
        XCTAssertNil(Conv2D<Double>(1, 2, kernelSize: 3, bias: false).bias)
    }

    func testShapesAndShapeErrors() throws {
        let conv = Conv2D<Float>(3, 8, kernelSize: (5, 3), stride: (2, 1), padding: (1, 2))
        XCTAssertEqual(try conv.outputShape(for: [4, 3, 11, 10]), [4, 8, 5, 12])
        XCTAssertEqual(try Conv2D<Float>(1, 16, kernelSize: 5).outputShape(for: [64, 1, 32, 32]), [64, 16, 28, 28])
        XCTAssertThrowsError(try conv.outputShape(for: [4, 2, 11, 10])) { error in
            XCTAssertTrue("\(error)".contains("[N, 3, H, W]") && "\(error)".contains("[4, 2, 11, 10]"), "\(error)")
        }
        XCTAssertThrowsError(try conv.outputShape(for: [4, 3, 11]))
        XCTAssertThrowsError(try conv.outputShape(for: [4, 3, 2, 10]), "input smaller than the kernel")
        XCTAssertEqual("\(conv)", "Conv2D(3 -> 8, 5x3, stride (2, 1), padding (1, 2))")
    }

    /// The kernels split big batches over cores: the split must not change any result.
    /// (The shapes are large enough for `Threads.parallelFor` to use two threads.)
    func testSplittingOverCoresChangesNothing() {
        var rng = Random(seed: testSeed())
        let saved = Threads.count
        defer { Threads.count = saved }
        let x = Tensor<Double>.normal([16, 3, 20, 19], using: &rng)
        let conv = Conv2D<Double>(3, 8, kernelSize: (3, 4), stride: (1, 1), padding: (1, 2), using: &rng)
        let layers: [any Layer<Double>] = [
            conv, MaxPool2D<Double>(2), MaxPool2D<Double>(kernelSize: (3, 3), stride: (2, 2), padding: (1, 1)),
            AvgPool2D<Double>(3, stride: 2, padding: 1), Pad2D<Double>(left: 2, right: 1, top: 0, bottom: 3)
        ]
        for layer in layers {
            let input = layer === conv ? x : Tensor<Double>.normal([16, 8, 20, 19], using: &rng)
            var results: [[Tensor<Double>]] = []
            for threads in [1, 2] {
                Threads.count = threads
                let y = layer.fprop(input)
                var same = Random(seed: 99) // the same gradOutput for both runs
                let gy = Tensor<Double>.normal(y.shape, using: &same)
                layer.zeroGrad()
                layer.grad(input, gy)
                results.append([y, layer.bprop(input, gy)] + layer.parameters.map(\.grad))
            }
            for (a, b) in zip(results[0], results[1]) { assertClose(a, b, tolerance: 1e-12, "\(layer)") }
        }
    }

    /// A small convnet end to end: the gradients of the whole stack (conv, ReLU, pooling,
    /// flatten, linear) with respect to the input and every parameter.
    func testSmallConvnetGradients() {
        var rng = Random(seed: testSeed())
        let model = Sequential<Double>([
            Conv2D<Double>(2, 3, kernelSize: (3, 2), padding: (1, 1), using: &rng), Tanh<Double>(),
            MaxPool2D<Double>(2),
            Conv2D<Double>(3, 4, kernelSize: 3, stride: 2, padding: 1),
            Flatten<Double>(),
            Linear<Double>(4 * 2 * 2, 3, using: &rng)
        ])
        assertGradientsMatch(model, input: .normal([2, 2, 7, 6], using: &rng))
    }
}
