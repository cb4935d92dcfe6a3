// ModelSignature: the text and hash ranks compare, and the differences they report.
import Backprop
import BackpropMPI
import XCTest

final class ModelSignatureTests: XCTestCase {
    func network(hidden: Int, batchNorm: Bool = false) -> Sequential<Float> {
        let model = Sequential<Float> {
            Linear<Float>(4, hidden); ReLU<Float>()
        }
        if batchNorm { model.add(BatchNorm1d<Float>(hidden)) }
        model.add(Linear<Float>(hidden, 3))
        return model
    }

    func testTextRoundTripsAndEqualModelsHashEqual() {
        let signature = ModelSignature(network(hidden: 5, batchNorm: true))
        XCTAssertEqual(ModelSignature(text: signature.text), signature)
        XCTAssertTrue(signature.text.contains("parameter 0.weight [5,4]"))
        XCTAssertTrue(signature.text.contains("buffer 2.running_mean [5]"))
        XCTAssertEqual(signature.hash, ModelSignature(network(hidden: 5, batchNorm: true)).hash)
        XCTAssertNotEqual(signature.hash, ModelSignature(network(hidden: 6, batchNorm: true)).hash)
        XCTAssertNotEqual(
            ModelSignature(network(hidden: 5)).hash,
            ModelSignature(
                Sequential<Double> {
                    Linear<Double>(4, 5); ReLU<Double>(); Linear<Double>(5, 3)
                }
            ).hash)
    }

    func testDifferencesNameTheTensorsAndShapes() {
        let a = ModelSignature(network(hidden: 5))
        let b = ModelSignature(network(hidden: 6, batchNorm: true))
        let lines = a.differences(from: b, mine: "rank 0", theirs: "rank 1")
        XCTAssertTrue(lines.contains("parameter 0.weight: shape [5, 4] on rank 0, [6, 4] on rank 1"), "\(lines)")
        // a batch norm's weight there:
        XCTAssertTrue(lines.contains("parameter 2.weight: shape [3, 5] on rank 0, [6] on rank 1"), "\(lines)")
        XCTAssertTrue(lines.contains("parameter 3.weight [3, 6]: only on rank 1"), "\(lines)")
        XCTAssertTrue(lines.contains("buffer 2.running_var [6]: only on rank 1"), "\(lines)")
        XCTAssertEqual(a.differences(from: a), [])
        let double = ModelSignature(
            Sequential<Double> {
                Linear<Double>(4, 5); ReLU<Double>(); Linear<Double>(5, 3)
            })
        XCTAssertEqual(a.differences(from: double, mine: "rank 0", theirs: "rank 1"), ["scalar type: rank 0 Float, rank 1 Double"])
    }
}
