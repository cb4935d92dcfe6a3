@testable import Backprop
import Foundation
import XCTest

/// Tied weights and the energy of a tied autoencoder.
final class AutoencoderTests: XCTestCase {
    func testTiedDecoderSharesTheEncoderWeight() {
        var rng = Random(seed: testSeed())
        let ae = TiedAutoencoder<Double>(5, 3, using: &rng)
        XCTAssertTrue(ae.encoder.weight === ae.decoder.weight, "the decoder must hold the encoder's Parameter")
        XCTAssertEqual(ae.parameters.count, 3, "encoder.weight, encoder.bias, decoder.bias")
        XCTAssertEqual(ae.parameterCount, 5 * 3 + 3 + 5)
        XCTAssertEqual(ae.decoder.inputSize, 3)
        XCTAssertEqual(ae.decoder.outputSize, 5)
        XCTAssertEqual(try ae.outputShape(for: [4, 5]), [4, 5])
        XCTAssertThrowsError(try ae.outputShape(for: [4, 6]))
    }

    /// The shared weight's gradient is the sum of the encoder's and the decoder's
    /// contributions: checked against finite differences that move both uses at once.
    func testTiedAutoencoderGradients() {
        var rng = Random(seed: testSeed())
        for hidden in AutoencoderActivation.allCases {
            for output in [AutoencoderActivation.linear, .sigmoid] {
                let ae = TiedAutoencoder<Double>(5, 3, hidden: hidden, output: output, using: &rng)
                assertGradientsMatch(ae, input: .normal([4, 5], using: &rng), "hidden \(hidden), output \(output)")
            }
        }
    }

    /// The same through a Sequential that names the shared weight twice ("0.weight" and
    /// "2.weight"): one Parameter, checked once, holding both contributions.
    func testTiedLinearInSequentialAccumulatesBothContributions() {
        var rng = Random(seed: testSeed())
        let encoder = Linear<Double>(6, 4, using: &rng)
        let decoder = Linear<Double>(tiedTo: encoder)
        decoder.bias!.value = .normal([6], using: &rng)
        let model = Sequential<Double> {
            encoder; Tanh<Double>(); decoder
        }
        XCTAssertEqual(model.namedParameters.count, 4)
        XCTAssertEqual(model.parameters.count, 3)
        let x = Tensor<Double>.normal([3, 6], using: &rng)
        assertGradientsMatch(model, input: x)

        // the two contributions, one at a time, add up to the shared gradient
        let gy = Tensor<Double>.normal([3, 6], using: &rng)
        model.zeroGrad()
        _ = model.fprop(x)
        model.grad(x, gy)
        let total = encoder.weight.grad
        let h = Tanh<Double>().fprop(encoder.fprop(x))
        model.zeroGrad()
        decoder.grad(h, gy)
        let fromDecoder = encoder.weight.grad
        model.zeroGrad()
        let gh = Tanh<Double>().bprop(encoder.fprop(x), decoder.bprop(h, gy))
        encoder.grad(x, gh)
        let fromEncoder = encoder.weight.grad
        XCTAssertGreaterThan(fromDecoder.maxAbs(), 1e-3)
        XCTAssertGreaterThan(fromEncoder.maxAbs(), 1e-3)
        assertClose(total, fromDecoder + fromEncoder, tolerance: 1e-12)
    }

    /// ∇ₓ E(x) = r(x) − x for every hidden activation, by central differences of the energy.
    func testEnergyGradientIsReconstructionMinusInput() {
        var rng = Random(seed: testSeed())
        for activation in AutoencoderActivation.allCases {
            let ae = TiedAutoencoder<Double>(6, 4, hidden: activation, output: .linear, using: &rng)
            ae.encoder.bias!.value = .normal([4], using: &rng)
            ae.decoder.bias!.value = .normal([6], using: &rng)
            let x = Tensor<Double>.normal([3, 6], using: &rng)
            let expected = ae.fprop(x) - x
            var numeric = Tensor<Double>.zeros(x.shape)
            let eps = 1e-5
            for i in 0..<x.count {
                var plus = x, minus = x
                plus.scalars[i] += eps
                minus.scalars[i] -= eps
                // the energy of each example depends only on its own row
                numeric.scalars[i] = (ae.energy(plus).sum() - ae.energy(minus).sum()) / (2 * eps)
            }
            assertClose(numeric, expected, tolerance: 1e-7, "activation \(activation)")
        }
    }

    /// The antiderivatives against their closed forms, including where a naive formula overflows.
    func testActivationAntiderivatives() {
        let z = Tensor<Double>([-800, -3, -0.5, 0, 0.5, 3, 800])
        let logCosh = AutoencoderActivation.tanh.antiderivative(z)
        for (i, v) in z.scalars.enumerated() where abs(v) < 50 {
            XCTAssertEqual(logCosh.scalars[i], Foundation.log(Foundation.cosh(v)), accuracy: 1e-12)
        }
        XCTAssertEqual(logCosh.scalars[0], 800 - Foundation.log(2), accuracy: 1e-9)
        XCTAssertEqual(AutoencoderActivation.relu.antiderivative(z).scalars, z.scalars.map { max($0, 0) * max($0, 0) / 2 })
        XCTAssertEqual(AutoencoderActivation.linear.antiderivative(z).scalars, z.scalars.map { $0 * $0 / 2 })
        let softplus = AutoencoderActivation.sigmoid.antiderivative(z)
        XCTAssertEqual(softplus.scalars[3], Foundation.log(2), accuracy: 1e-12)
        XCTAssertEqual(softplus.scalars[6], 800, accuracy: 1e-9)
    }
}
