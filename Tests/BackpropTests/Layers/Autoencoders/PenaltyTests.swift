@testable import Backprop
import Foundation
import XCTest

/// L1Penalty and ContractivePenalty: reported values and gradients (GradientCheck adds the
/// reported penalty to the objective it differentiates).
final class PenaltyTests: XCTestCase {
    func testL1PenaltyIsIdentityAndReportsItsPenalty() {
        let x = Tensor<Double>(shape: [2, 3], scalars: [1, -2, 0, 0.5, -0.5, 3])
        let l1Sum = 7.0
        for (reduction, scale) in [(Reduction.sum, 1.0), (.mean, 1.0 / 6), (.batchMean, 1.0 / 2)] {
            let module = L1Penalty<Double>(0.1, reduction: reduction)
            XCTAssertEqual(module.fprop(x), x)
            XCTAssertEqual(module.penalty, 0.1 * scale * l1Sum, accuracy: 1e-12, "\(reduction)")
            // Torch7: gradInput = gradOutput + λ s sign(x), sign(0) = 0
            let g = module.bprop(x, .ones([2, 3]))
            XCTAssertEqual(g.scalars, x.scalars.map { 1 + 0.1 * scale * ($0 > 0 ? 1 : ($0 < 0 ? -1 : 0)) })
        }
        XCTAssertEqual(L1Penalty<Double>(2, sizeAverage: true).reduction, .mean)
        XCTAssertEqual(L1Penalty<Double>(2, sizeAverage: false).reduction, .sum)
    }

    func testL1PenaltyGradient() {
        var rng = Random(seed: testSeed())
        for reduction in [Reduction.sum, .mean, .batchMean] {
            let model = Sequential<Double> {
                Linear<Double>(5, 4, using: &rng); L1Penalty<Double>(0.3, reduction: reduction)
            }
            assertGradientsMatch(model, input: .normal([3, 5], using: &rng), "\(reduction)")
            XCTAssertGreaterThan(model.penalty, 0)
        }
    }

    /// The reported penalty is λ‖∂h/∂x‖²_F, with the Jacobian of each example's code taken
    /// by finite differences.
    func testContractivePenaltyIsTheJacobianNorm() {
        var rng = Random(seed: testSeed())
        let encoder = Linear<Double>(5, 4, using: &rng)
        let x = Tensor<Double>.normal([3, 5], using: &rng)
        let code = { (x: Tensor<Double>) in Sigmoid<Double>().fprop(encoder.fprop(x)) }
        var frobenius = 0.0
        let eps = 1e-6
        for i in 0..<x.count { // column i of every example's Jacobian
            var plus = x, minus = x
            plus.scalars[i] += eps
            minus.scalars[i] -= eps
            frobenius += ((code(plus) - code(minus)) * (1 / (2 * eps))).sumOfSquares()
        }
        for (reduction, scale) in [(Reduction.sum, 1.0), (.batchMean, 1.0 / 3)] {
            let penalty = ContractivePenalty(0.7, encoder: encoder, reduction: reduction)
            let h = code(x)
            XCTAssertEqual(penalty.fprop(h), h)
            XCTAssertEqual(penalty.penalty, 0.7 * scale * frobenius, accuracy: 1e-8, "\(reduction)")
        }
    }

    /// The exact gradient with respect to W, b and x: the direct term in W plus the path
    /// through the sigmoid and the encoder.
    func testContractivePenaltyGradientThroughTheSigmoid() {
        var rng = Random(seed: testSeed())
        for reduction in [Reduction.batchMean, .sum] {
            let encoder = Linear<Double>(5, 4, using: &rng)
            encoder.weight.value = encoder.weight.value * 3 // codes away from ½, where (1 − 2h) vanishes
            let model = Sequential<Double> {
                encoder; Sigmoid<Double>()
                ContractivePenalty(0.7, encoder: encoder, reduction: reduction)
            }
            // gradOutput zero: the penalty alone
            assertGradientsMatch(model, input: .normal([3, 5], using: &rng), gradOutput: .zeros([3, 4]), "penalty alone, \(reduction)")
            assertGradientsMatch(model, input: .normal([3, 5], using: &rng), "penalty + output, \(reduction)")
        }
    }

    /// A whole contractive autoencoder with tied weights: three contributions to W.
    func testContractiveTiedAutoencoderGradient() {
        var rng = Random(seed: testSeed())
        let encoder = Linear<Double>(6, 3, using: &rng)
        let model = Sequential<Double> {
            encoder; Sigmoid<Double>()
            ContractivePenalty(0.5, encoder: encoder)
            Linear<Double>(tiedTo: encoder); Sigmoid<Double>()
        }
        let x = Tensor<Double>.uniform([4, 6], in: 0...1, using: &rng)
        let report = GradientCheck.check(model, input: x, criterion: MSELoss<Double>(reduction: .batchMean), target: x)
        XCTAssertTrue(report.passed, "\(report)")
        XCTAssertGreaterThan(model.penalty, 0)
    }

    func testContractivePenaltyRejectsAWrongCodeSize() {
        let encoder = Linear<Double>(5, 4)
        XCTAssertThrowsError(try ContractivePenalty(0.1, encoder: encoder).outputShape(for: [2, 5]))
        XCTAssertEqual(try ContractivePenalty(0.1, encoder: encoder).outputShape(for: [2, 4]), [2, 4])
    }
}
