import Backprop
import XCTest

/// Gradient checks (central differences in Double) for Linear, the activations and the
/// softmax family, alone and composed.
final class DenseGradientTests: XCTestCase {
    var rng = Random(seed: 11)

    func input(_ shape: [Int]) -> Tensor<Double> { .normal(shape, using: &rng) }

    func testLinearWithAndWithoutBiasSingleAndBatch() {
        for bias in [true, false] {
            for batch in [1, 4] {
                assertGradientsMatch(
                    Linear<Double>(5, 3, bias: bias, using: &rng), input: input([batch, 5]), "bias \(bias), batch \(batch)")
            }
        }
    }

    func testLinearOnSequenceInput() {
        // [T, N, in]: applied to the last axis
        let layer = Linear<Double>(4, 3, using: &rng)
        XCTAssertEqual(layer.fprop(input([2, 3, 4])).shape, [2, 3, 3])
        assertGradientsMatch(layer, input: input([2, 3, 4]))
    }

    func testLinearRandomSizes() {
        let seed = testSeed()
        var r = Random(seed: seed)
        for _ in 0..<3 {
            let (n, i, o) = (1 + Int(r.next() % 5), 1 + Int(r.next() % 7), 1 + Int(r.next() % 6))
            assertGradientsMatch(
                Linear<Double>(i, o, using: &r), input: .normal([n, i], using: &r), "sizes n \(n), in \(i), out \(o), seed \(seed)")
        }
    }

    func testActivations() {
        let layers: [any Layer<Double>] = [Sigmoid(), Tanh(), ReLU(), LeakyReLU(slope: 0.1), Softplus(), Softmax(), LogSoftmax()]
        for layer in layers {
            for batch in [1, 3] {
                assertGradientsMatch(layer, input: input([batch, 6]), "batch \(batch)")
            }
        }
    }

    func testActivationValues() {
        let x = Tensor<Double>([-2, 0, 3])
        XCTAssertEqual(ReLU<Double>().fprop(x).scalars, [0, 0, 3])
        XCTAssertEqual(LeakyReLU<Double>(slope: 0.5).fprop(x).scalars, [-1, 0, 3])
        XCTAssertEqual(Sigmoid<Double>().fprop(x).scalars[1], 0.5)
        XCTAssertEqual(Tanh<Double>().fprop(x).scalars[2], Foundation.tanh(3), accuracy: 1e-15)
        XCTAssertEqual(Softplus<Double>().fprop(x).scalars[0], Foundation.log(1 + Foundation.exp(-2)), accuracy: 1e-15)
        // extreme inputs stay finite
        let big = Tensor<Double>([-1000, 1000])
        XCTAssertEqual(Sigmoid<Double>().fprop(big).scalars, [0, 1])
        XCTAssertEqual(Softplus<Double>().fprop(big).scalars, [0, 1000])
        let p = Softmax<Double>().fprop(Tensor(shape: [1, 3], scalars: [1000, 1000, -1000]))
        XCTAssertEqual(p.scalars, [0.5, 0.5, 0])
        let lp = LogSoftmax<Double>().fprop(Tensor(shape: [1, 2], scalars: [1000, 0]))
        XCTAssertEqual(lp.scalars[0], 0, accuracy: 1e-12)
        XCTAssertEqual(lp.scalars[1], -1000, accuracy: 1e-9)
    }

    /// ReLU at exactly 0 has a kink: the checker must skip it, not fail, and still check the rest.
    func testReLUKinkIsSkipped() {
        let x = Tensor<Double>(shape: [1, 4], scalars: [0, 0.5, -0.5, 0])
        let report = GradientCheck.check(ReLU<Double>(), input: x)
        XCTAssertTrue(report.passed, "\(report)")
        XCTAssertEqual(report.entries[0].skippedAtKinks, 2)
        XCTAssertEqual(report.entries[0].compared, 2)
    }

    /// A layer with a wrong derivative must fail the check: the checker can fail.
    func testCheckerCatchesWrongDerivative() {
        final class WrongSquare: ShapePreserving {
            typealias Scalar = Double
            func fprop(_ input: Tensor<Double>) -> Tensor<Double> { input * input }
            func bprop(_ input: Tensor<Double>, _ gradOutput: Tensor<Double>) -> Tensor<Double> { input * gradOutput } // should be 2x
        }
        let report = GradientCheck.check(WrongSquare(), input: input([2, 3]))
        XCTAssertFalse(report.passed)
        XCTAssertGreaterThan(report.maxAbsError, 1e-3)
        XCTAssertTrue(report.description.contains("FAILED"))

        // a wrong parameter gradient too: Linear whose weight gradient is doubled by a second grad call
        final class DoubleGrad: ShapePreserving {
            typealias Scalar = Double
            let inner: Linear<Double>
            init(_ inner: Linear<Double>) { self.inner = inner }
            func fprop(_ input: Tensor<Double>) -> Tensor<Double> { inner.fprop(input) }
            func bprop(_ input: Tensor<Double>, _ gradOutput: Tensor<Double>) -> Tensor<Double> { inner.bprop(input, gradOutput) }
            func grad(_ input: Tensor<Double>, _ gradOutput: Tensor<Double>) {
                inner.grad(input, gradOutput); inner.grad(input, gradOutput)
            }
            var namedParameters: [(name: String, parameter: Parameter<Double>)] { inner.namedParameters }
        }
        let wrong = GradientCheck.check(DoubleGrad(Linear(3, 2, using: &rng)), input: input([2, 3]))
        XCTAssertFalse(wrong.passed, "\(wrong)")
        XCTAssertTrue(wrong.entries[0].failures == 0, "the input gradient is right")
    }

    /// Calling grad twice accumulates: the gradient doubles.
    func testGradAccumulates() {
        let layer = Linear<Double>(4, 3, using: &rng)
        let x = input([2, 4]), g = input([2, 3])
        layer.zeroGrad()
        _ = layer.fprop(x)
        layer.grad(x, g)
        let once = layer.weight.grad, onceBias = layer.bias!.grad
        layer.grad(x, g)
        assertClose(layer.weight.grad, once * 2, tolerance: 1e-12)
        assertClose(layer.bias!.grad, onceBias * 2, tolerance: 1e-12)
        layer.zeroGrad()
        XCTAssertEqual(layer.weight.grad.maxAbs(), 0)
    }

    /// One weight used by two layers: the check perturbs the shared weight once and sees
    /// both uses; the analytic gradient must be the sum of both contributions.
    func testSharedWeightBetweenTwoLayers() {
        let first = Linear<Double>(4, 4, using: &rng)
        let second = Linear<Double>(weight: first.weight)
        let model = Sequential<Double> {
            first; Tanh(); second
        }
        XCTAssertEqual(model.parameters.count, 3, "weight counted once, two biases")
        assertGradientsMatch(model, input: input([3, 4]))
    }

    /// Tied autoencoder: decoder = encoderᵀ, with its own bias.
    func testTiedEncoderDecoder() {
        let encoder = Linear<Double>(6, 3, using: &rng)
        let decoder = Linear<Double>(tiedTo: encoder)
        XCTAssertTrue(decoder.weight === encoder.weight)
        XCTAssertEqual(decoder.inputSize, 3)
        XCTAssertEqual(decoder.outputSize, 6)
        let model = Sequential<Double> {
            encoder; Sigmoid(); decoder
        }
        assertGradientsMatch(model, input: input([2, 6]))
        assertGradientsMatch(decoder, input: input([2, 3]))
        // the decoder alone: its weight gradient is the transpose of what an untied layer gets
        let untied = Linear<Double>(weight: Parameter(encoder.weight.value.transposed()))
        let x = input([2, 3]), g = input([2, 6])
        decoder.zeroGrad(); untied.zeroGrad()
        _ = decoder.fprop(x); _ = untied.fprop(x)
        assertClose(decoder.fprop(x), untied.fprop(x), tolerance: 1e-12)
        decoder.grad(x, g); untied.grad(x, g)
        assertClose(decoder.weight.grad, untied.weight.grad.transposed(), tolerance: 1e-12)
    }

    /// A Sequential mixing every dense module, through to log-probabilities.
    func testSequentialMixingEveryModule() {
        let model = Sequential<Double> {
            Linear(5, 7, using: &rng); Sigmoid()
            Linear(7, 6, bias: false, using: &rng); Tanh()
            Linear(6, 6, using: &rng); ReLU()
            Linear(6, 5, using: &rng); LeakyReLU(slope: 0.2)
            Linear(5, 5, using: &rng); Softplus()
            Linear(5, 4, using: &rng); Softmax()
            Linear(4, 3, using: &rng); LogSoftmax()
        }
        assertGradientsMatch(model, input: input([3, 5]))
    }
}

import Foundation
