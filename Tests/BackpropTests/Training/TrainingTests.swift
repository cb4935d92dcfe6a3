import Backprop
import XCTest

/// End to end on real data: a small network must learn MNIST quickly.
final class TrainingTests: XCTestCase {
    func testSmallMLPLearnsMNIST() throws {
        let mnist = try MNIST<Float>(directory: try requireMNIST())
        let train = mnist.train.prefix(3000), test = mnist.test.prefix(1000)
        var rng = Random(seed: 1)
        let model = Sequential<Float> {
            Linear(784, 64, using: &rng); ReLU(); Linear(64, 10, using: &rng)
        }
        let loss = CrossEntropyLoss<Float>()
        let sgd = SGD(model.parameters, learningRate: 0.1, momentum: 0.9)
        let before = accuracy(of: model, on: test)
        for _ in 0..<2 {
            for (x, y) in train.batches(size: 50, using: &rng) {
                model.zeroGrad()
                model.grad(x, loss.backward(model.fprop(x), y))
                sgd.step()
            }
        }
        let after = accuracy(of: model, on: test)
        XCTAssertLessThan(before, 0.3)
        XCTAssertGreaterThan(after, 0.85, "2 epochs on 3,000 digits should pass 85%")
    }
}
