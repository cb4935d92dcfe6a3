@testable import Backprop
import Foundation
import XCTest

/// MaskingNoise and GaussianNoise: statistics, evaluation mode, seeding, gradients with fixed noise.
final class NoiseTests: XCTestCase {
    func testMaskingNoiseZeroesAFractionPOnlyWhileTraining() {
        let seed = testSeed()
        let noise = MaskingNoise<Float>(0.3, seed: seed)
        let x = Tensor<Float>.ones([200, 100])
        let y = noise.fprop(x)
        let dropped = 1 - Double(y.sum()) / Double(x.count)
        XCTAssertEqual(dropped, 0.3, accuracy: 0.015)
        XCTAssertEqual(noise.mask, y, "the mask of ones is the output")
        // the same seed gives the same masks; the next draw differs
        XCTAssertEqual(MaskingNoise<Float>(0.3, seed: seed).fprop(x), y)
        XCTAssertNotEqual(noise.fprop(x), y)
        noise.isTraining = false
        XCTAssertEqual(noise.fprop(x), x)
        XCTAssertEqual(noise.bprop(x, x * 2), x * 2)
    }

    func testMaskingNoiseGradientWithAFixedMask() {
        var rng = Random(seed: testSeed())
        let noise = MaskingNoise<Double>(0.5, seed: 3)
        noise.fixedMask = Tensor(shape: [4, 6]) { Double.bernoulliMask($0, 24, keep: 0.5, scale: 1, using: &rng) }
        let model = Sequential<Double> {
            noise; Linear<Double>(6, 3, using: &rng); Sigmoid<Double>()
        }
        assertGradientsMatch(model, input: .normal([4, 6], using: &rng))
        // the gradient of a dropped input is zero
        let gx = noise.bprop(.ones([4, 6]), .ones([4, 6]))
        XCTAssertEqual(gx, noise.fixedMask!)

        // freezeMask keeps the mask of the last fprop
        let frozen = MaskingNoise<Double>(0.3, using: &rng)
        let x = Tensor<Double>.normal([5, 4], using: &rng)
        let first = frozen.fprop(x)
        frozen.freezeMask()
        XCTAssertEqual(frozen.fprop(x), first)
        assertGradientsMatch(
            Sequential<Double> {
                Linear<Double>(3, 4, using: &rng); frozen
            }, input: .normal([5, 3], using: &rng))
    }

    func testGaussianNoiseStatisticsAndEvaluationMode() {
        let noise = GaussianNoise<Double>(0.5, seed: testSeed())
        let x = Tensor<Double>(repeating: 2, shape: [100, 100])
        let d = noise.fprop(x) - x
        XCTAssertEqual(d.mean(), 0, accuracy: 0.02)
        XCTAssertEqual((d.sumOfSquares() / Double(d.count)).squareRoot(), 0.5, accuracy: 0.02)
        noise.isTraining = false
        XCTAssertEqual(noise.fprop(x), x)
    }

    func testGaussianNoiseGradientWithFixedNoise() {
        var rng = Random(seed: testSeed())
        let noise = GaussianNoise<Double>(0.3, seed: 5)
        noise.fixedNoise = .normal([3, 5], using: &rng)
        let model = Sequential<Double> {
            Linear<Double>(4, 5, using: &rng); noise; Tanh<Double>()
        }
        let x = Tensor<Double>.normal([3, 4], using: &rng)
        assertGradientsMatch(model, input: x)
        // the fixed noise is what is added
        let linearOut = (model.layers[0] as! Linear<Double>).fprop(x)
        assertClose(noise.fprop(linearOut), linearOut + noise.fixedNoise! * 0.3, tolerance: 1e-12)

        // freezeNoise keeps the ε of the last fprop
        let frozen = GaussianNoise<Double>(0.5, using: &rng)
        let first = frozen.fprop(x)
        frozen.freezeNoise()
        XCTAssertEqual(frozen.fprop(x), first)
        assertClose(first - x, frozen.noise! * 0.5, tolerance: 1e-12)
    }
}
