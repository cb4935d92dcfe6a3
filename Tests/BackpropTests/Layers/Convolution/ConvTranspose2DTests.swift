// Tests of ConvTranspose2D and Upsample2D: against plain nested loops (the scatter form of a
// transposed convolution, and the definition of nearest upsampling), central differences in
// Double, PyTorch's fixtures in Float and Double, the shape errors and the initialisation.
@testable import Backprop
import XCTest

/// The scatter form of a transposed convolution, as nested loops: every input pixel adds
/// x[n, c, h, w] · w[c, f, i, j] onto output (h·sH − pH + i, w·sW − pW + j) when inside.
/// x [N, C, H, W], w [C, F, kH, kW], b [F] → y [N, F, outH, outW].
private func referenceTransposedConvolution(
    _ x: Tensor<Double>, _ w: Tensor<Double>, _ b: Tensor<Double>?,
    stride: (Int, Int), padding: (Int, Int), outputPadding: (Int, Int)
) -> Tensor<Double> {
    let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (f, kh, kw) = (w.shape[1], w.shape[2], w.shape[3])
    let oh = (h - 1) * stride.0 - 2 * padding.0 + kh + outputPadding.0
    let ow = (wd - 1) * stride.1 - 2 * padding.1 + kw + outputPadding.1
    var y = Tensor<Double>.zeros([n, f, oh, ow])
    for ni in 0..<n { for fi in 0..<f { for r in 0..<oh { for s in 0..<ow { y[ni, fi, r, s] = b?[fi] ?? 0 } } } }
    for ni in 0..<n {
        for ci in 0..<c {
            for hi in 0..<h {
                for wi in 0..<wd {
                    let v = x[ni, ci, hi, wi]
                    for fi in 0..<f {
                        for di in 0..<kh {
                            for dj in 0..<kw {
                                let r = hi * stride.0 - padding.0 + di, s = wi * stride.1 - padding.1 + dj
                                if r >= 0 && r < oh && s >= 0 && s < ow { y[ni, fi, r, s] += v * w[ci, fi, di, dj] }
                            }
                        }
                    }
                }
            }
        }
    }
    return y
}

/// The gradients of the scatter loops above for output gradient gy: (∂/∂x, ∂/∂w, ∂/∂b).
private func referenceTransposedConvolutionGradients(
    _ x: Tensor<Double>, _ w: Tensor<Double>, _ gy: Tensor<Double>,
    stride: (Int, Int), padding: (Int, Int)
)
    -> (input: Tensor<Double>, weight: Tensor<Double>, bias: Tensor<Double>)
{
    let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (f, kh, kw) = (w.shape[1], w.shape[2], w.shape[3])
    let (oh, ow) = (gy.shape[2], gy.shape[3])
    var gx = Tensor<Double>.zeros(x.shape), gw = Tensor<Double>.zeros(w.shape), gb = Tensor<Double>.zeros([f])
    for ni in 0..<n { for fi in 0..<f { for r in 0..<oh { for s in 0..<ow { gb[fi] += gy[ni, fi, r, s] } } } }
    for ni in 0..<n {
        for ci in 0..<c {
            for hi in 0..<h {
                for wi in 0..<wd {
                    for fi in 0..<f {
                        for di in 0..<kh {
                            for dj in 0..<kw {
                                let r = hi * stride.0 - padding.0 + di, s = wi * stride.1 - padding.1 + dj
                                if r >= 0 && r < oh && s >= 0 && s < ow {
                                    gx[ni, ci, hi, wi] += w[ci, fi, di, dj] * gy[ni, fi, r, s]
                                    gw[ci, fi, di, dj] += x[ni, ci, hi, wi] * gy[ni, fi, r, s]
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

private typealias Configuration = (
    input: [Int], outChannels: Int, kernel: (Int, Int), stride: (Int, Int),
    padding: (Int, Int), outputPadding: (Int, Int)
)

/// Batch > 1, several channels, odd and non-square images; stride 2 with outputPadding 1 and
/// padding 1; a DCGAN 4×4 stride-2 layer; non-square kernels and strides; padding larger than
/// the kernel − 1; a 1×1 kernel whose stride leaves output pixels no input reaches.
private let configurations: [Configuration] = [
    ([2, 3, 5, 4], 2, (3, 3), (1, 1), (0, 0), (0, 0)),
    ([3, 2, 4, 5], 3, (3, 3), (2, 2), (1, 1), (1, 1)),
    ([2, 3, 3, 4], 2, (4, 4), (2, 2), (1, 1), (0, 0)),
    ([2, 2, 5, 3], 3, (2, 3), (3, 2), (1, 0), (2, 1)),
    ([2, 2, 4, 5], 2, (3, 3), (2, 2), (3, 3), (1, 1)),
    ([2, 3, 3, 3], 2, (1, 1), (3, 3), (0, 0), (2, 2))
]

private func makeLayer(_ config: Configuration, bias: Bool, seed: UInt64) -> ConvTranspose2D<Double> {
    var rng = Random(seed: seed)
    let layer = ConvTranspose2D<Double>(
        config.input[1], config.outChannels, kernelSize: config.kernel, stride: config.stride,
        padding: config.padding, outputPadding: config.outputPadding, bias: bias, using: &rng)
    if let b = layer.bias { b.value = .normal(b.value.shape, using: &rng) } // a bias of the weights' size would hide little
    return layer
}

private func float(_ x: Tensor<Double>) -> Tensor<Float> { Tensor(shape: x.shape, scalars: x.scalars.map(Float.init)) }
private func double(_ x: Tensor<Float>) -> Tensor<Double> { Tensor(shape: x.shape, scalars: x.scalars.map(Double.init)) }

final class ConvTranspose2DTests: XCTestCase {
    func testMatchesNestedLoops() {
        let seed = testSeed()
        var rng = Random(seed: seed)
        for (index, config) in configurations.enumerated() {
            for bias in [true, false] {
                let layer = makeLayer(config, bias: bias, seed: seed &+ UInt64(index))
                let x = Tensor<Double>.normal(config.input, using: &rng)
                let y = layer.fprop(x)
                let expected = referenceTransposedConvolution(
                    x, layer.weight.value, layer.bias?.value, stride: config.stride,
                    padding: config.padding, outputPadding: config.outputPadding)
                assertClose(y, expected, tolerance: 1e-12, "fprop, \(layer) on \(config.input)")

                let gy = Tensor<Double>.normal(y.shape, using: &rng)
                let reference = referenceTransposedConvolutionGradients(
                    x, layer.weight.value, gy, stride: config.stride,
                    padding: config.padding)
                layer.zeroGrad()
                layer.grad(x, gy)
                assertClose(layer.weight.grad, reference.weight, tolerance: 1e-12, "weight grad, \(layer) on \(config.input)")
                if let b = layer.bias { assertClose(b.grad, reference.bias, tolerance: 1e-12, "bias grad, \(layer)") }
                assertClose(layer.bprop(x, gy), reference.input, tolerance: 1e-12, "bprop, \(layer) on \(config.input)")
            }
        }
    }

    func testGradientsMatchFiniteDifferences() {
        let seed = testSeed()
        var rng = Random(seed: seed)
        for (index, config) in configurations.enumerated() {
            let layer = makeLayer(config, bias: index % 2 == 0, seed: seed &+ UInt64(index))
            assertGradientsMatch(layer, input: .normal(config.input, using: &rng), "on input \(config.input)")
        }
    }

    /// It is the input-adjoint of Conv2D with the same weight, stride and padding:
    /// ⟨T(x), z⟩ = ⟨x, conv(z)⟩ for every x and z; equivalently its fprop is Conv2D's bprop.
    func testIsTheAdjointOfConv2D() {
        var rng = Random(seed: testSeed())
        let transposed = ConvTranspose2D<Double>(3, 2, kernelSize: (3, 4), stride: (2, 3), padding: (1, 2), bias: false, using: &rng)
        let conv = Conv2D<Double>(2, 3, kernelSize: (3, 4), stride: (2, 3), padding: (1, 2), bias: false, using: &rng)
        conv.weight.value = transposed.weight.value // [3, 2, 3, 4]: Conv2D reads it as [F, C, kH, kW]
        let x = Tensor<Double>.normal([2, 3, 4, 3], using: &rng)
        let y = transposed.fprop(x)
        XCTAssertEqual(try conv.outputShape(for: y.shape), x.shape)
        assertClose(y, conv.bprop(.zeros(y.shape), x), tolerance: 1e-12, "fprop = Conv2D's bprop")
        let z = Tensor<Double>.normal(y.shape, using: &rng)
        assertClose(transposed.bprop(x, z), conv.fprop(z), tolerance: 1e-12, "bprop = Conv2D's fprop")
    }

    /// grad adds to what the gradients hold, and the first call after zeroGrad overwrites them.
    func testGradAccumulates() {
        var rng = Random(seed: testSeed())
        let layer = makeLayer(configurations[1], bias: true, seed: 7)
        let x = Tensor<Double>.normal(configurations[1].input, using: &rng)
        let gy = Tensor<Double>.normal(layer.fprop(x).shape, using: &rng)
        for p in layer.parameters { p.grad = .normal(p.value.shape, using: &rng) } // stale numbers that zeroGrad must hide
        layer.zeroGrad()
        layer.grad(x, gy)
        let once = layer.parameters.map(\.grad)
        let reference = referenceTransposedConvolutionGradients(x, layer.weight.value, gy, stride: (2, 2), padding: (1, 1))
        assertClose(once[0], reference.weight, tolerance: 1e-12, "weight grad after zeroGrad")
        assertClose(once[1], reference.bias, tolerance: 1e-12, "bias grad after zeroGrad")
        layer.grad(x, gy)
        for (twice, single) in zip(layer.parameters.map(\.grad), once) {
            assertClose(twice, single + single, tolerance: 1e-12, "two grads add up")
        }
        // an empty batch after zeroGrad leaves zero gradients
        var empty = x.shape
        empty[0] = 0
        layer.zeroGrad()
        layer.grad(.zeros(empty), layer.fprop(.zeros(empty)))
        for p in layer.parameters { assertClose(p.grad, .zeros(p.value.shape), tolerance: 0, "empty batch") }
    }

    /// Large images cut the batch into several blocks; the results must be those of each image alone.
    func testBlocksOfImages() {
        var rng = Random(seed: testSeed())
        let layer = ConvTranspose2D<Double>(2, 8, kernelSize: (5, 5), stride: (2, 2), padding: (2, 2), outputPadding: (1, 1), using: &rng)
        let x = Tensor<Double>.normal([3, 2, 16, 16], using: &rng)
        XCTAssertEqual(layer.blockImages(layer.geometry(x.shape)), 2) // blocks of 2 and 1 images
        let y = layer.fprop(x)
        let gy = Tensor<Double>.normal(y.shape, using: &rng)
        layer.zeroGrad()
        layer.grad(x, gy)
        let (weightGrad, biasGrad, gx) = (layer.weight.grad, layer.bias!.grad, layer.bprop(x, gy))

        let image = 2 * 16 * 16, outImage = y.count / 3
        var sumWeight = Tensor<Double>.zeros(weightGrad.shape), sumBias = Tensor<Double>.zeros([8])
        for n in 0..<3 {
            let xi = Tensor(shape: [1, 2, 16, 16], scalars: Array(x.scalars[n * image..<(n + 1) * image]))
            let gyi = Tensor(shape: [1] + y.shape.dropFirst(), scalars: Array(gy.scalars[n * outImage..<(n + 1) * outImage]))
            XCTAssertEqual(Array(y.scalars[n * outImage..<(n + 1) * outImage]), layer.fprop(xi).scalars, "image \(n)")
            XCTAssertEqual(Array(gx.scalars[n * image..<(n + 1) * image]), layer.bprop(xi, gyi).scalars, "image \(n)")
            layer.zeroGrad()
            layer.grad(xi, gyi)
            sumWeight = sumWeight + layer.weight.grad
            sumBias = sumBias + layer.bias!.grad
        }
        assertClose(weightGrad, sumWeight, tolerance: 1e-10)
        assertClose(biasGrad, sumBias, tolerance: 1e-10)
    }

    /// Float's C im2col/col2im against the Double path, including padding beyond the kernel.
    func testFloatAgreesWithDouble() {
        let seed = testSeed()
        var rng = Random(seed: seed)
        for (index, config) in configurations.enumerated() {
            let d = makeLayer(config, bias: true, seed: seed &+ UInt64(index))
            let f = ConvTranspose2D<Float>(
                config.input[1], config.outChannels, kernelSize: config.kernel, stride: config.stride,
                padding: config.padding, outputPadding: config.outputPadding)
            f.weight.value = float(d.weight.value)
            f.bias!.value = float(d.bias!.value)
            let x = Tensor<Double>.normal(config.input, using: &rng)
            let y = d.fprop(x)
            let gy = Tensor<Double>.normal(y.shape, using: &rng)
            assertClose(double(f.fprop(float(x))), y, tolerance: 1e-4, "fprop \(d)")
            assertClose(double(f.bprop(float(x), float(gy))), d.bprop(x, gy), tolerance: 1e-4, "bprop \(d)")
            d.zeroGrad(); f.zeroGrad()
            d.grad(x, gy); f.grad(float(x), float(gy))
            assertClose(double(f.weight.grad), d.weight.grad, tolerance: 1e-4, "weight grad \(d)")
            assertClose(double(f.bias!.grad), d.bias!.grad, tolerance: 1e-4, "bias grad \(d)")
        }
    }

    /// PyTorch's default for ConvTranspose2d: kaiming-uniform with a = √5 over fan-in =
    /// weight.size(1)·kH·kW = F·kH·kW, i.e. uniform ±1/√(F·kH·kW), and the bias alike.
    func testInitialisationFollowsPyTorch() {
        var rng = Random(seed: testSeed())
        let layer = ConvTranspose2D<Double>(16, 6, kernelSize: (5, 3), using: &rng)
        let bound = 1 / Double(6 * 5 * 3).squareRoot()
        XCTAssertEqual(layer.weight.value.shape, [16, 6, 5, 3])
        XCTAssertEqual(layer.bias?.value.shape, [6])
        XCTAssertLessThanOrEqual(layer.weight.value.maxAbs(), bound)
        XCTAssertGreaterThan(layer.weight.value.maxAbs(), 0.95 * bound)
        XCTAssertLessThanOrEqual(layer.bias!.value.maxAbs(), bound)
        XCTAssertEqual(layer.namedParameters.map(\.name), ["weight", "bias"])
        XCTAssertTrue(layer.weight.decays)
        XCTAssertFalse(layer.bias!.decays)
        XCTAssertNil(ConvTranspose2D<Double>(1, 2, kernelSize: 3, bias: false).bias)
    }

    func testShapesAndShapeErrors() throws {
        // DCGAN: 4×4, stride 2, padding 1 doubles the image
        XCTAssertEqual(
            try ConvTranspose2D<Float>(64, 32, kernelSize: 4, stride: 2, padding: 1).outputShape(for: [5, 64, 8, 8]),
            [5, 32, 16, 16])
        let layer = ConvTranspose2D<Float>(3, 8, kernelSize: (5, 3), stride: (2, 3), padding: (1, 2), outputPadding: (1, 0))
        XCTAssertEqual(try layer.outputShape(for: [4, 3, 6, 7]), [4, 8, 5 * 2 - 2 + 5 + 1, 6 * 3 - 4 + 3])
        XCTAssertEqual("\(layer)", "ConvTranspose2D(3 -> 8, 5x3, stride (2, 3), padding (1, 2), outputPadding (1, 0))")
        XCTAssertThrowsError(try layer.outputShape(for: [4, 2, 6, 7])) { error in
            XCTAssertTrue(
                "\(error)".contains("ConvTranspose2D(3 -> 8") && "\(error)".contains("[N, 3, H, W]")
                    && "\(error)".contains("[4, 2, 6, 7]"), "\(error)")
        }
        XCTAssertThrowsError(try layer.outputShape(for: [4, 3, 6])) { error in
            XCTAssertTrue("\(error)".contains("ConvTranspose2D") && "\(error)".contains("[4, 3, 6]"), "\(error)")
        }
        XCTAssertThrowsError(try layer.outputShape(for: [4, 3, 0, 7])) { error in
            XCTAssertTrue("\(error)".contains("[4, 3, 0, 7]") && "\(error)".contains("empty"), "\(error)")
        }
        // padding eats the whole output: (1 − 1)·1 − 2·2 + 3 = −1
        let padded = ConvTranspose2D<Float>(1, 1, kernelSize: 3, padding: 2)
        XCTAssertThrowsError(try padded.outputShape(for: [1, 1, 1, 4])) { error in
            XCTAssertTrue(
                "\(error)".contains("ConvTranspose2D(1 -> 1, 3x3, padding 2)") && "\(error)".contains("[1, 1, 1, 4]")
                    && "\(error)".contains("-1x2"), "\(error)")
        }
        XCTAssertEqual(try padded.outputShape(for: [1, 1, 3, 4]), [1, 1, 1, 2])
        XCTAssertEqual(padded.fprop(.zeros([0, 1, 3, 4])).shape, [0, 1, 1, 2])
    }

    // MARK: PyTorch

    /// nn.ConvTranspose2d(3, 4, kernel_size=3, stride=2, padding=1, output_padding=1) on [2, 3, 3, 4].
    func testMatchesPyTorch() throws {
        try assertLayerMatchesPyTorch(
            "conv_transpose2d",
            ConvTranspose2D<Float>(3, 4, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1),
            ConvTranspose2D<Double>(3, 4, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1))
    }

    /// nn.ConvTranspose2d(2, 3, kernel_size=(2, 4), stride=(1, 2), padding=(0, 1), bias=False) on [2, 2, 3, 4].
    func testMatchesPyTorchWithoutBias() throws {
        try assertLayerMatchesPyTorch(
            "conv_transpose2d_nobias",
            ConvTranspose2D<Float>(2, 3, kernelSize: (2, 4), stride: (1, 2), padding: (0, 1), bias: false),
            ConvTranspose2D<Double>(2, 3, kernelSize: (2, 4), stride: (1, 2), padding: (0, 1), bias: false))
    }
}

final class Upsample2DTests: XCTestCase {
    /// y[n, c, i, j] = x[n, c, i / sH, j / sW], and gradInput the block sums, as nested loops.
    func testMatchesNestedLoops() {
        var rng = Random(seed: testSeed())
        for (shape, scale) in [([2, 3, 3, 4], (2, 2)), ([3, 2, 5, 3], (3, 1)), ([2, 2, 2, 3], (1, 4)), ([2, 1, 3, 3], (1, 1))] {
            let layer = Upsample2D<Double>(scale: scale)
            let x = Tensor<Double>.normal(shape, using: &rng)
            let y = layer.fprop(x)
            XCTAssertEqual(y.shape, [shape[0], shape[1], shape[2] * scale.0, shape[3] * scale.1])
            let gy = Tensor<Double>.normal(y.shape, using: &rng)
            var expected = Tensor<Double>.zeros(y.shape), gx = Tensor<Double>.zeros(shape)
            for n in 0..<shape[0] {
                for c in 0..<shape[1] {
                    for i in 0..<y.shape[2] {
                        for j in 0..<y.shape[3] {
                            expected[n, c, i, j] = x[n, c, i / scale.0, j / scale.1]
                            gx[n, c, i / scale.0, j / scale.1] += gy[n, c, i, j]
                        }
                    }
                }
            }
            assertClose(y, expected, tolerance: 0, "fprop \(layer) on \(shape)")
            assertClose(layer.bprop(x, gy), gx, tolerance: 1e-12, "bprop \(layer) on \(shape)")
        }
    }

    func testGradientsMatchFiniteDifferences() {
        var rng = Random(seed: testSeed())
        assertGradientsMatch(Upsample2D<Double>(scale: 2), input: .normal([2, 3, 3, 5], using: &rng))
        assertGradientsMatch(Upsample2D<Double>(scale: (3, 2)), input: .normal([3, 2, 2, 3], using: &rng))
    }

    func testShapesAndShapeErrors() throws {
        XCTAssertEqual(try Upsample2D<Float>(scale: 2).outputShape(for: [4, 3, 7, 5]), [4, 3, 14, 10])
        XCTAssertEqual(try Upsample2D<Float>(scale: (1, 3)).outputShape(for: [4, 3, 7, 5]), [4, 3, 7, 15])
        XCTAssertEqual("\(Upsample2D<Float>(scale: 2))", "Upsample2D(scale 2, nearest)")
        XCTAssertEqual("\(Upsample2D<Float>(scale: (2, 3)))", "Upsample2D(scale (2, 3), nearest)")
        XCTAssertThrowsError(try Upsample2D<Float>(scale: 2).outputShape(for: [4, 7, 5])) { error in
            XCTAssertTrue("\(error)".contains("Upsample2D(scale 2, nearest)") && "\(error)".contains("[4, 7, 5]"), "\(error)")
        }
        XCTAssertTrue(Upsample2D<Float>(scale: 2).namedParameters.isEmpty)
    }

    /// nn.Upsample(scale_factor=2, mode="nearest") on [2, 3, 3, 4], and scale_factor=(2, 3) on [2, 2, 3, 2].
    func testMatchesPyTorch() throws {
        try assertLayerMatchesPyTorch("upsample_nearest", Upsample2D<Float>(scale: 2), Upsample2D<Double>(scale: 2))
        try assertLayerMatchesPyTorch("upsample_nearest_rect", Upsample2D<Float>(scale: (2, 3)), Upsample2D<Double>(scale: (2, 3)))
    }
}

final class TransposedConvolutionStackTests: XCTestCase {
    /// im2col / col2im (ConvTranspose2D) and the planes (Upsample2D) split over cores: the
    /// split must not change any result. (Large enough for `Threads.parallelFor` to use two threads.)
    func testSplittingOverCoresChangesNothing() {
        var rng = Random(seed: testSeed())
        let saved = Threads.count
        defer { Threads.count = saved }
        let layers: [(any Layer<Double>, [Int])] = [
            (ConvTranspose2D<Double>(3, 4, kernelSize: (4, 4), stride: (2, 2), padding: (1, 1), using: &rng), [6, 3, 12, 11]),
            (Upsample2D<Double>(scale: (2, 3)), [6, 8, 20, 19])
        ]
        for (layer, shape) in layers {
            let input = Tensor<Double>.normal(shape, using: &rng)
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

    /// Evaluation mode releases the work buffers after fprop: later calls (and a smaller
    /// batch after a larger one) still give the same answers.
    func testWorkBuffersNeverGoStale() {
        var rng = Random(seed: testSeed())
        let layer = ConvTranspose2D<Double>(2, 3, kernelSize: (3, 2), stride: (2, 1), padding: (1, 1), outputPadding: (1, 0), using: &rng)
        let x = Tensor<Double>.normal([3, 2, 4, 5], using: &rng)
        let gy = Tensor<Double>.normal(try! layer.outputShape(for: x.shape), using: &rng)
        let reference = referenceTransposedConvolutionGradients(x, layer.weight.value, gy, stride: (2, 1), padding: (1, 1))
        func check(_ when: String) {
            layer.zeroGrad()
            layer.grad(x, gy)
            assertClose(layer.weight.grad, reference.weight, tolerance: 1e-12, "weight grad \(when)")
            assertClose(layer.bprop(x, gy), reference.input, tolerance: 1e-12, "bprop \(when)")
        }
        layer.isTraining = false
        _ = layer.fprop(x)
        check("after an evaluation-mode fprop")
        layer.isTraining = true
        _ = layer.fprop(.normal([5, 2, 4, 5], using: &rng))
        check("after an fprop on a larger batch")
    }

    /// A small DCGAN-style generator end to end: transposed convolutions, upsampling, a
    /// convolution, activations; the gradients of the input and of every parameter.
    func testSmallGeneratorGradients() {
        var rng = Random(seed: testSeed())
        let model = Sequential<Double>([
            ConvTranspose2D<Double>(4, 3, kernelSize: (3, 3), stride: (1, 1), using: &rng), Tanh<Double>(), // [2, 3, 4, 4]
            ConvTranspose2D<Double>(3, 2, kernelSize: (4, 4), stride: (2, 2), padding: (1, 1), using: &rng), // [2, 2, 8, 8]
            Tanh<Double>(), Upsample2D<Double>(scale: 2), // [2, 2, 16, 16]
            Conv2D<Double>(2, 1, kernelSize: (3, 3), stride: (2, 2), padding: (1, 1), using: &rng) // [2, 1, 8, 8]
        ])
        XCTAssertEqual(try model.outputShape(for: [2, 4, 2, 2]), [2, 1, 8, 8])
        XCTAssertEqual(model.namedParameters.map(\.name), ["0.weight", "0.bias", "2.weight", "2.bias", "5.weight", "5.bias"])
        assertGradientsMatch(model, input: .normal([2, 4, 2, 2], using: &rng))
    }
}
