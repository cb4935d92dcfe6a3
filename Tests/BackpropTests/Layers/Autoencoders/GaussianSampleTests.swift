@testable import Backprop
import Foundation
import XCTest

/// GaussianSample (the reparameterised sample of a VAE with its KL term) and a whole VAE.
final class GaussianSampleTests: XCTestCase {
    func testSampleIsMuPlusSigmaEpsAndKLIsClosedForm() {
        var rng = Random(seed: testSeed())
        let k = 3, n = 4
        let input = Tensor<Double>.normal([n, 2 * k], using: &rng)
        for (reduction, scale) in [(Reduction.batchMean, 1.0 / Double(n)), (.sum, 1.0)] {
            let sample = GaussianSample<Double>(k, reduction: reduction, seed: 9)
            let z = sample.fprop(input)
            let eps = sample.noise!
            var kl = 0.0
            for r in 0..<n {
                for j in 0..<k {
                    let mu = input[r, j], logVar = input[r, k + j]
                    XCTAssertEqual(z[r, j], mu + Foundation.exp(logVar / 2) * eps[r, j], accuracy: 1e-12)
                    kl += 0.5 * (mu * mu + Foundation.exp(logVar) - 1 - logVar)
                }
            }
            XCTAssertEqual(sample.kl, kl * scale, accuracy: 1e-12, "\(reduction)")
            XCTAssertEqual(sample.penalty, sample.kl)
        }
        // KL(N(0, 1) ‖ N(0, 1)) = 0
        let standard = GaussianSample<Double>(2, seed: 1)
        _ = standard.fprop(.zeros([5, 4]))
        XCTAssertEqual(standard.kl, 0, accuracy: 1e-15)
    }

    func testSampleStatistics() {
        let sample = GaussianSample<Double>(1, seed: testSeed())
        // μ = 1, σ² = 4
        let input = Tensor<Double>(shape: [20_000, 2], scalars: Array(repeating: [1, Foundation.log(4)], count: 20_000).flatMap { $0 })
        let z = sample.fprop(input)
        XCTAssertEqual(z.mean(), 1, accuracy: 0.05)
        XCTAssertEqual(((z - 1).sumOfSquares() / Double(z.count)).squareRoot(), 2, accuracy: 0.05)
    }

    /// Reparameterised gradient plus the KL gradient, with ε fixed.
    func testGaussianSampleGradientWithFixedNoise() {
        var rng = Random(seed: testSeed())
        for reduction in [Reduction.batchMean, .sum] {
            let sample = GaussianSample<Double>(3, reduction: reduction, seed: 2)
            sample.fixedNoise = .normal([4, 3], using: &rng)
            assertGradientsMatch(sample, input: .normal([4, 6], using: &rng) * 0.5, "\(reduction)")
            // the KL gradient alone (gradOutput zero): ∂KL/∂μ = s μ, ∂KL/∂log σ² = s (σ² − 1) / 2
            assertGradientsMatch(sample, input: .normal([4, 6], using: &rng), gradOutput: .zeros([4, 3]), "KL alone, \(reduction)")
        }
        XCTAssertThrowsError(try GaussianSample<Double>(3, seed: 1).outputShape(for: [4, 5]))

        // freezeNoise keeps the ε of the last fprop
        let frozen = GaussianSample<Double>(2, using: &rng)
        let x = Tensor<Double>.normal([3, 4], using: &rng)
        let z = frozen.fprop(x)
        frozen.freezeNoise()
        XCTAssertEqual(frozen.fprop(x), z)
        assertGradientsMatch(frozen, input: x)
    }

    /// A small VAE end to end: encoder, GaussianSample (ε fixed), decoder, BCE on logits.
    /// The objective differentiated is reconstruction loss + KL, the negative ELBO per example.
    func testVariationalAutoencoderEndToEnd() {
        var rng = Random(seed: testSeed())
        let sample = GaussianSample<Double>(2, seed: 4)
        sample.fixedNoise = .normal([3, 2], using: &rng)
        let vae = Sequential<Double> {
            Linear<Double>(6, 5, using: &rng); Tanh<Double>(); Linear<Double>(5, 4, using: &rng)
            sample
            Linear<Double>(2, 5, using: &rng); Tanh<Double>(); Linear<Double>(5, 6, using: &rng)
        }
        let x = Tensor<Double>.uniform([3, 6], in: 0...1, using: &rng)
        let report = GradientCheck.check(vae, input: x, criterion: BCEWithLogitsLoss<Double>(reduction: .batchMean), target: x)
        XCTAssertTrue(report.passed, "\(report)")
        XCTAssertGreaterThan(sample.kl, 0)
        XCTAssertEqual(vae.penalty, sample.kl)
    }
}
