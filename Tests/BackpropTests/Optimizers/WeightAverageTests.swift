import XCTest

@testable import Backprop

final class WeightAverageTests: XCTestCase {
    /// After k updates with the weights set to v₁…v_k, the average is the closed form
    /// decay^k · w₀ + Σ (1 − decay) decay^(k−j) v_j, for parameters and running statistics alike;
    /// the count buffer is the latest one.
    func testUpdatesFollowTheClosedForm() {
        var rng = Random(seed: 5)
        let model = Sequential<Double> {
            Linear(3, 2, using: &rng); BatchNorm1d(2)
        }
        let average = WeightAverage(model, decay: 0.9)
        let weight = model.namedParameters[0].parameter, mean = model.namedBuffers[0].buffer
        var expectedWeight = weight.value, expectedMean = mean.value
        for _ in 0..<4 {
            weight.value = .normal(weight.value.shape, using: &rng)
            _ = model.fprop(.normal([5, 3], using: &rng)) // training mode: moves the running mean and the count
            average.update()
            expectedWeight = expectedWeight * 0.9 + weight.value * 0.1
            expectedMean = expectedMean * 0.9 + mean.value * 0.1
        }
        XCTAssertEqual(average.updates, 4)
        let count = model.namedBuffers.first { $0.name.hasSuffix("num_batches_tracked") }!.buffer
        average.withAveragedWeights {
            XCTAssertLessThan((weight.value - expectedWeight).maxAbs(), 1e-12)
            XCTAssertLessThan((mean.value - expectedMean).maxAbs(), 1e-12)
            XCTAssertEqual(count.value.scalars, [4])
        }
        XCTAssertGreaterThan((weight.value - expectedWeight).maxAbs(), 1e-3, "the trained weights were not put back")
        average.copyIntoModel()
        XCTAssertLessThan((weight.value - expectedWeight).maxAbs(), 1e-12)
    }

    /// A parameter shared by two layers is averaged once (swapping it twice would undo the swap).
    func testASharedParameterIsAveragedOnce() {
        var rng = Random(seed: 6)
        let first = Linear<Double>(2, 2, using: &rng)
        let model = Sequential<Double> {
            first; first
        } // the same layer twice: 0.weight and 1.weight are one parameter
        let average = WeightAverage(model, decay: 0.5)
        let start = first.weight.value
        first.weight.value = start + 1
        average.update()
        average.withAveragedWeights { XCTAssertLessThan((first.weight.value - (start + 0.5)).maxAbs(), 1e-12) }
        XCTAssertLessThan((first.weight.value - (start + 1)).maxAbs(), 1e-12)
    }
}
