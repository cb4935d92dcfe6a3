import Backprop
import Foundation
import XCTest

final class CriterionTests: XCTestCase {
    var rng = Random(seed: 5)

    func testGradientsOfEveryCriterionAndReduction() {
        let x = Tensor<Double>.normal([4, 3], using: &rng)
        let target = Tensor<Double>.uniform([4, 3], in: 0...1, using: &rng)
        let probabilities = Tensor<Double>.uniform([4, 3], in: 0.05...0.95, using: &rng)
        let classes = [2, 0, 1, 2]
        let logProbabilities = LogSoftmax<Double>().fprop(x)
        for reduction in [Reduction.mean, .sum, .batchMean] {
            assertGradientsMatch(MSELoss(reduction: reduction), input: x, target: target, "\(reduction)")
            assertGradientsMatch(BCELoss(reduction: reduction), input: probabilities, target: target, "\(reduction)")
            assertGradientsMatch(BCEWithLogitsLoss(reduction: reduction), input: x, target: target, "\(reduction)")
            assertGradientsMatch(CrossEntropyLoss(reduction: reduction), input: x, target: classes, "\(reduction)")
            assertGradientsMatch(NLLLoss(reduction: reduction), input: logProbabilities, target: classes, "\(reduction)")
        }
        // single example
        assertGradientsMatch(CrossEntropyLoss(), input: .normal([1, 5], using: &rng), target: [3])
    }

    /// Values against the formulas written out by hand.
    func testValuesMatchTheirDefinitions() {
        let x = Tensor<Double>(shape: [2, 2], scalars: [1, 2, 3, -1])
        let t = Tensor<Double>(shape: [2, 2], scalars: [0, 1, 1, 0])
        XCTAssertEqual(MSELoss().forward(x, t), (1 + 1 + 4 + 1) / 4.0, accuracy: 1e-15)
        XCTAssertEqual(MSELoss(reduction: .sum).forward(x, t), 7, accuracy: 1e-15)
        XCTAssertEqual(MSELoss(reduction: .batchMean).forward(x, t), 3.5, accuracy: 1e-15)

        // cross-entropy of row [1, 2] with class 1, and row [3, -1] with class 0
        func ce(_ row: [Double], _ c: Int) -> Double { -row[c] + Foundation.log(row.map { Foundation.exp($0) }.reduce(0, +)) }
        let expected = (ce([1, 2], 1) + ce([3, -1], 0)) / 2
        XCTAssertEqual(CrossEntropyLoss().forward(x, [1, 0]), expected, accuracy: 1e-14)
        XCTAssertEqual(NLLLoss().forward(LogSoftmax<Double>().fprop(x), [1, 0]), expected, accuracy: 1e-14)

        func bce(_ p: Double, _ t: Double) -> Double { -(t * Foundation.log(p) + (1 - t) * Foundation.log(1 - p)) }
        let p = Tensor<Double>(shape: [2], scalars: [0.2, 0.9]), pt = Tensor<Double>(shape: [2], scalars: [0, 1])
        XCTAssertEqual(BCELoss().forward(p, pt), (bce(0.2, 0) + bce(0.9, 1)) / 2, accuracy: 1e-14)
        let logits = Tensor<Double>(shape: [2], scalars: [-1.3862943611198906, 2.1972245773362196]) // σ⁻¹(0.2), σ⁻¹(0.9)
        XCTAssertEqual(BCEWithLogitsLoss().forward(logits, pt), BCELoss().forward(p, pt), accuracy: 1e-12)
    }

    /// Huge logits: no overflow, no NaN.
    func testStabilityOnExtremeLogits() {
        let x = Tensor<Float>(shape: [2, 3], scalars: [1000, -1000, 0, -5000, 4000, 3000])
        let loss = CrossEntropyLoss<Float>().forward(x, [0, 2])
        XCTAssertTrue(loss.isFinite)
        XCTAssertEqual(loss, 500, accuracy: 1e-3) // (0 + 1000) / 2
        XCTAssertTrue(CrossEntropyLoss<Float>().backward(x, [0, 2]).scalars.allSatisfy(\.isFinite))
        let z = Tensor<Float>([1000, -1000]), t = Tensor<Float>([0, 1])
        XCTAssertEqual(BCEWithLogitsLoss<Float>().forward(z, t), 1000, accuracy: 1e-3)
        XCTAssertTrue(BCEWithLogitsLoss<Float>().backward(z, t).scalars.allSatisfy(\.isFinite))
        let p = Tensor<Float>([0, 1]), pt = Tensor<Float>([1, 0])
        XCTAssertEqual(BCELoss<Float>().forward(p, pt), 100, accuracy: 1e-3, "log clamped at -100 like PyTorch")
        XCTAssertTrue(BCELoss<Float>().backward(p, pt).scalars.allSatisfy(\.isFinite))
    }

    /// Cross-entropy over a sequence `[T, N, C]` (all leading axes are examples).
    func testCrossEntropyOnSequences() {
        let x = Tensor<Double>.normal([3, 2, 4], using: &rng)
        assertGradientsMatch(CrossEntropyLoss(), input: x, target: [0, 1, 2, 3, 0, 1])
        XCTAssertEqual(
            CrossEntropyLoss().forward(x, [0, 1, 2, 3, 0, 1]),
            CrossEntropyLoss().forward(x.reshaped([6, 4]), [0, 1, 2, 3, 0, 1]), accuracy: 1e-15)
    }
}
