import Backprop
import XCTest

/// The README's code samples, kept compiling and true.
final class ReadmeTests: XCTestCase {
    func testFirstNetworkSample() {
        Random.global = Random(seed: 42)
        let model = Sequential<Float> {
            Linear(784, 128); ReLU()
            Linear(128, 10)
        }
        let loss = CrossEntropyLoss<Float>()
        let x = Tensor<Float>.uniform([32, 784], in: 0...1)
        let labels = (0..<32).map { $0 % 10 }
        let first = model.layers[0]
        let h = first.fprop(x)
        let gh = Tensor<Float>.ones(h.shape)
        let gx = first.bprop(x, gh)
        first.grad(x, gh)
        XCTAssertEqual(h.shape, [32, 128])
        XCTAssertEqual(gx.shape, [32, 784])
        let optimizer = SGD(model.parameters, learningRate: 0.05, momentum: 0.9)
        let start = loss.forward(model.fprop(x), labels)
        for _ in 0..<100 {
            let scores = model.fprop(x)
            model.zeroGrad()
            model.grad(x, loss.backward(scores, labels))
            optimizer.step()
        }
        XCTAssertLessThan(loss.forward(model.fprop(x), labels), start / 10, "the loop memorises the batch")
        XCTAssertTrue(model.description.contains("Linear(784 -> 128)"))
    }

    func testCustomLayerSample() {
        final class Square: ShapePreserving {
            typealias Scalar = Double
            func fprop(_ x: Tensor<Double>) -> Tensor<Double> { x * x }
            func bprop(_ x: Tensor<Double>, _ g: Tensor<Double>) -> Tensor<Double> { 2 * x * g }
        }
        let report = GradientCheck.check(Square(), input: .normal([4, 5]))
        XCTAssertTrue(report.passed, "\(report)")
    }
}
