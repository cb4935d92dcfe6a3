import Backprop
import XCTest

/// What the `Container` protocol gives a container from its children alone.
final class ContainerTests: XCTestCase {
    /// A container of the user's own: two branches whose outputs add, y = a(x) + b(x).
    /// It declares only its children, its shape and its verbs.
    final class SumOfTwo: Container {
        typealias Scalar = Double
        let a: any Layer<Double>, b: any Layer<Double>
        let mode = TrainingMode()
        init(_ a: any Layer<Double>, _ b: any Layer<Double>) { self.a = a; self.b = b }
        var children: [(name: String, layer: any Layer<Double>)] { [("a", a), ("b", b)] }
        func outputShape(for inputShape: [Int]) throws -> [Int] { try a.outputShape(for: inputShape) }
        func fprop(_ x: Tensor<Double>) -> Tensor<Double> { a.fprop(x) + b.fprop(x) }
        func bprop(_ x: Tensor<Double>, _ g: Tensor<Double>) -> Tensor<Double> { a.bprop(x, g) + b.bprop(x, g) }
        func grad(_ x: Tensor<Double>, _ g: Tensor<Double>) { a.grad(x, g); b.grad(x, g) }
        func backward(_ x: Tensor<Double>, _ g: Tensor<Double>) -> Tensor<Double> { a.backward(x, g) + b.backward(x, g) }
    }

    /// The identity, counting the calls of each verb.
    final class Counter: ShapePreserving {
        typealias Scalar = Double
        var grads = 0, bprops = 0
        let weight = Parameter(Tensor<Double>.zeros([1]))
        var namedParameters: [(name: String, parameter: Parameter<Double>)] { [("weight", weight)] }
        func fprop(_ x: Tensor<Double>) -> Tensor<Double> { x }
        func bprop(_ x: Tensor<Double>, _ g: Tensor<Double>) -> Tensor<Double> { bprops += 1; return g }
        func grad(_ x: Tensor<Double>, _ g: Tensor<Double>) { grads += 1 }
    }

    func testModeReachesEveryChildOfANestedCustomContainer() {
        let dropout = Dropout<Double>(0.5)
        let model = Sequential<Double> {
            Linear(4, 4); SumOfTwo(dropout, Sequential { Tanh() })
        }
        model.isTraining = false
        XCTAssertFalse(dropout.isTraining, "evaluation mode must reach the Dropout inside the custom container")
        let x = Tensor<Double>.ones([3, 4])
        XCTAssertEqual(model.fprop(x), model.fprop(x), "no dropout noise in evaluation")
        model.isTraining = true
        XCTAssertTrue(dropout.isTraining)
    }

    func testAddedModuleTakesTheContainersMode() {
        let model = Sequential<Double> { Linear(2, 2) }
        model.isTraining = false
        let dropout = Dropout<Double>(0.5)
        model.add(dropout)
        XCTAssertFalse(dropout.isTraining)
    }

    func testNamesAndDescriptionComeFromTheChildren() {
        var rng = Random(seed: testSeed())
        let model = SumOfTwo(Linear(3, 2, using: &rng), Sequential { Linear<Double>(3, 2, using: &rng) })
        XCTAssertEqual(model.namedParameters.map(\.name), ["a.weight", "a.bias", "b.0.weight", "b.0.bias"])
        XCTAssertTrue(model.description.hasPrefix("SumOfTwo {\n  (a): Linear(3 -> 2)"), model.description)
        assertGradientsMatch(model, input: .normal([2, 3], using: &rng))
    }

    func testNestedContainersRunEachModulesBackwardOnce() {
        let first = Counter(), innerFirst = Counter(), innerLast = Counter()
        let model = Sequential<Double> {
            first;
            Sequential {
                Sequential {
                    innerFirst; innerLast
                }
            }
        }
        let x = Tensor<Double>.ones([2, 3])
        _ = model.fprop(x)
        model.grad(x, x)
        // every module after `first` (trainable) must send its input gradient back, once
        XCTAssertEqual([innerLast.grads, innerLast.bprops], [1, 1], "the inner chain's backward work ran twice")
        XCTAssertEqual([innerFirst.grads, innerFirst.bprops], [1, 1])
        XCTAssertEqual([first.grads, first.bprops], [1, 0], "nobody needs the network input's gradient")
        _ = model.backward(x, x)
        XCTAssertEqual([innerLast.grads, innerLast.bprops, first.grads, first.bprops], [2, 2, 2, 1])
    }
}
