// Tests of ContrastiveLoss: its gradient against finite differences, its value against
// the formula, and its checks.
import Backprop
import Foundation
import XCTest

final class ContrastiveLossTests: XCTestCase {
    func testGradientsMatchFiniteDifferences() {
        var rng = Random(seed: 11)
        // 6 pairs of 3-D codes; half similar, half dissimilar, some inside the margin and some beyond it
        let codes = Tensor<Double>.normal([12, 3], using: &rng)
        let similar = Tensor<Double>([1, 0, 1, 0, 0, 1])
        for reduction in [Reduction.mean, .sum, .batchMean] {
            for margin in [0.5, 2.0, 4.0] {
                assertGradientsMatch(
                    ContrastiveLoss(margin: margin, reduction: reduction), input: codes, target: similar, "margin \(margin) \(reduction)")
            }
        }
    }

    func testValueIsTheFormula() {
        // a = (0, 0), (3, 4), (1, 0); b = (0, 1), (0, 0), (1, 0.5): distances 1, 5, 0.5
        let codes = Tensor<Double>(rows: [[0, 0], [3, 4], [1, 0], [0, 1], [0, 0], [1, 0.5]])
        let y = Tensor<Double>([1, 0, 0])
        let loss = ContrastiveLoss<Double>(margin: 2, reduction: .sum)
        // similar: d² = 1; dissimilar beyond the margin: 0; dissimilar inside: (2 − 0.5)² = 2.25
        XCTAssertEqual(loss.forward(codes, y), 1 + 0 + 2.25, accuracy: 1e-12)
        XCTAssertEqual(ContrastiveLoss<Double>(margin: 2).forward(codes, y), 3.25 / 3, accuracy: 1e-12)
        // the gradient of the two members are opposite; the pair beyond the margin has none
        let g = loss.backward(codes, y)
        for k in 0..<6 { XCTAssertEqual(g.scalars[k], -g.scalars[6 + k], accuracy: 1e-15) }
        XCTAssertEqual(g.scalars[2], 0); XCTAssertEqual(g.scalars[3], 0)
        XCTAssertEqual(g.scalars[1], -2, accuracy: 1e-12, "similar: 2 (a − b) = 2 · (0 − 1)")
    }

    func testDissimilarPairAtTheSamePointHasAFiniteZeroGradient() {
        let codes = Tensor<Float>(rows: [[1, 1], [1, 1]])
        let loss = ContrastiveLoss<Float>(margin: 1)
        XCTAssertEqual(loss.forward(codes, Tensor([0])), 1)
        XCTAssertEqual(loss.backward(codes, Tensor([0])).scalars, [0, 0, 0, 0])
    }

    /// The Siamese recipe: one tower applied to both members, back through b's pass, then a's
    /// pass again and back through it. The gradients that add up in the shared parameters
    /// are those of the loss of both passes (central differences of the whole objective).
    func testTwoPassesThroughOneTowerAddTheirGradients() {
        var rng = Random(seed: 3)
        let tower = Sequential<Double> {
            Linear<Double>(4, 3, using: &rng); Tanh<Double>(); Linear<Double>(3, 2, using: &rng)
        }
        let a = Tensor<Double>.normal([5, 4], using: &rng), b = Tensor<Double>.normal([5, 4], using: &rng)
        let y = Tensor<Double>([1, 0, 0, 1, 0])
        let loss = ContrastiveLoss<Double>(margin: 1.5)
        func objective() -> Double { loss.forward(tower.fprop(a).concatenatingRows(tower.fprop(b)), y) }
        let codes = tower.fprop(a).concatenatingRows(tower.fprop(b))
        let g = loss.backward(codes, y)
        tower.zeroGrad()
        tower.grad(b, g[rows: 5..<10])
        _ = tower.fprop(a)
        tower.grad(a, g[rows: 0..<5])
        for p in tower.parameters {
            for i in 0..<p.value.count {
                let saved = p.value.scalars[i]
                p.value.scalars[i] = saved + 1e-6
                let up = objective()
                p.value.scalars[i] = saved - 1e-6
                let down = objective()
                p.value.scalars[i] = saved
                XCTAssertEqual(p.grad.scalars[i], (up - down) / 2e-6, accuracy: 1e-6)
            }
        }
    }
}

private extension Tensor {
    /// The rows of `self`, then those of `other`.
    func concatenatingRows(_ other: Tensor) -> Tensor {
        Tensor(shape: [shape[0] + other.shape[0]] + Array(shape.dropFirst()), scalars: scalars + other.scalars)
    }
}
