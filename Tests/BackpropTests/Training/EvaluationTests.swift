// Dataset-level evaluation: the mean loss over examples (whatever the batch size), in
// evaluation mode, restoring the mode.
import Backprop
import XCTest

final class EvaluationTests: XCTestCase {
    func testLossIsTheMeanOverExamplesInEvaluationMode() {
        var rng = Random(seed: 3)
        let model = Sequential<Double> {
            Linear(5, 4, using: &rng); Dropout(0.5, using: &rng)
        }
        let data = LabeledImages<Double>(images: .uniform([23, 5], in: -1...1, using: &rng), labels: (0..<23).map { $0 % 4 }, classCount: 4)
        let criterion = CrossEntropyLoss<Double>()
        // the reference: every example's loss on its own, without dropout (evaluation mode)
        model.isTraining = false
        let perExample = (0..<23).map { i in criterion.forward(model.fprop(data.images[rows: i..<(i + 1)]), [data.labels[i]]) }
        let expected = perExample.reduce(0, +) / 23
        model.isTraining = true
        for batchSize in [1, 5, 23, 1000] {
            XCTAssertEqual(
                loss(of: model, on: data, criterion: criterion, batchSize: batchSize), expected, accuracy: 1e-12, "batch \(batchSize)")
        }
        XCTAssertTrue(model.isTraining, "the mode is restored")
        model.isTraining = false
        _ = loss(of: model, on: data, criterion: criterion)
        XCTAssertFalse(model.isTraining)
    }
}
