import Backprop
import XCTest

final class SequentialTests: XCTestCase {
    /// Counts bprop calls, to see which ones Sequential makes.
    final class Spy: ShapePreserving {
        typealias Scalar = Double
        var bprops = 0
        var training = true
        var isTraining: Bool {
            get { training }
            set { training = newValue }
        }
        func fprop(_ input: Tensor<Double>) -> Tensor<Double> { input }
        func bprop(_ input: Tensor<Double>, _ gradOutput: Tensor<Double>) -> Tensor<Double> { bprops += 1; return gradOutput }
    }

    func testGradSkipsFirstBpropButBackwardDoesNot() {
        let first = Spy(), last = Spy()
        let model = Sequential<Double> {
            first; Linear(3, 3); last
        }
        let x = Tensor<Double>.ones([2, 3])
        let y = model.fprop(x)
        model.grad(x, y)
        XCTAssertEqual(first.bprops, 0, "nobody asked for the input gradient")
        XCTAssertEqual(last.bprops, 1)
        let gx = model.backward(x, y)
        XCTAssertEqual(first.bprops, 1)
        XCTAssertEqual(gx.shape, [2, 3])
        // backward = grad + bprop: the parameter gradient accumulated twice now
        let linear = model.layers[1] as! Linear<Double>
        let twice = linear.weight.grad
        model.zeroGrad()
        model.grad(x, y)
        assertClose(twice, linear.weight.grad * 2, tolerance: 1e-12)
    }

    func testTrainingModePropagates() {
        let spy = Spy()
        let inner = Sequential<Double> { spy }
        let model = Sequential<Double> {
            Linear(2, 2); inner
        }
        model.isTraining = false
        XCTAssertFalse(spy.isTraining)
        model.isTraining = true
        XCTAssertTrue(spy.isTraining)
    }

    func testShapeMismatchNamesModuleAndShapes() {
        let model = Sequential<Float> {
            Linear(4, 8); ReLU(); Linear(7, 2)
        }
        XCTAssertThrowsError(try model.outputShape(for: [5, 4])) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("module (3)"), text)
            XCTAssertTrue(text.contains("Linear(7 -> 2)"), text)
            XCTAssertTrue(text.contains("[5, 8]"), text)
        }
        XCTAssertEqual(
            try Sequential<Float> {
                Linear(4, 8); ReLU()
            }.outputShape(for: [5, 4]), [5, 8])
    }

    func testDescriptionListsModulesShapesAndParameters() {
        let model = Sequential<Float>()
        model.add(Linear(4, 8)).add(ReLU())
        model.add(Linear(8, 2))
        _ = model.fprop(.zeros([3, 4]))
        let text = model.description
        XCTAssertTrue(text.contains("(1): Linear(4 -> 8)  -> [3, 8]  [40 parameters]"), text)
        XCTAssertTrue(text.contains("(2): ReLU  -> [3, 8]"), text)
        XCTAssertTrue(text.contains("58 parameters in all"), text)
        XCTAssertEqual(model.namedParameters.map(\.name), ["0.weight", "0.bias", "2.weight", "2.bias"])
    }

    func testResultBuilderControlFlow() {
        let sizes = [3, 4, 5]
        let deep = true
        let model = Sequential<Float> {
            for (a, b) in zip(sizes, sizes.dropFirst()) { Linear<Float>(a, b) }
            if deep { Tanh<Float>() } else { ReLU<Float>() }
        }
        XCTAssertEqual(model.layers.count, 3)
        XCTAssertTrue(model.layers[2] is Tanh<Float>)
    }
}
