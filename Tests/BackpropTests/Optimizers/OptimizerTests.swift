import Backprop
import Foundation
import XCTest

final class OptimizerTests: XCTestCase {
    /// A parameter with a fixed gradient, for checking update rules by hand.
    func parameter(_ w: [Double], grad g: [Double], decays: Bool = true) -> Parameter<Double> {
        let p = Parameter(Tensor(w), decays: decays)
        p.grad = Tensor(g)
        return p
    }

    func testPlainSGD() {
        let p = parameter([1, -2], grad: [0.5, 1])
        SGD([p], learningRate: 0.1).step()
        XCTAssertEqual(p.value.scalars, [1 - 0.05, -2 - 0.1])
    }

    /// PyTorch's momentum: v = μv + g, w −= lr·v; Nesterov: w −= lr·(g + μv).
    func testMomentumAndNesterov() {
        let p = parameter([1], grad: [1]), q = parameter([1], grad: [1])
        let heavy = SGD([p], learningRate: 0.1, momentum: 0.9)
        let nesterov = SGD([q], learningRate: 0.1, momentum: 0.9, nesterov: true)
        heavy.step(); nesterov.step() // v = 1
        XCTAssertEqual(p.value.scalars[0], 1 - 0.1, accuracy: 1e-15)
        XCTAssertEqual(q.value.scalars[0], 1 - 0.1 * (1 + 0.9), accuracy: 1e-15)
        heavy.step(); nesterov.step() // v = 1.9
        XCTAssertEqual(p.value.scalars[0], 0.9 - 0.19, accuracy: 1e-15)
        XCTAssertEqual(q.value.scalars[0], 0.81 - 0.1 * (1 + 0.9 * 1.9), accuracy: 1e-15)
    }

    /// Weight decay and L1 act on weights, never on biases.
    func testDecayOnlyOnWeights() {
        let w = parameter([2, -2], grad: [0, 0]), b = parameter([2, -2], grad: [0, 0], decays: false)
        SGD([w, b], learningRate: 0.1, weightDecay: 0.5).step()
        XCTAssertEqual(w.value.scalars, [2 - 0.1, -2 + 0.1])
        XCTAssertEqual(b.value.scalars, [2, -2])
        let w1 = parameter([2, -2, 0], grad: [0, 0, 0]), b1 = parameter([2], grad: [0], decays: false)
        SGD([w1, b1], learningRate: 0.1, l1: 0.5).step()
        XCTAssertEqual(w1.value.scalars, [2 - 0.05, -2 + 0.05, 0])
        XCTAssertEqual(b1.value.scalars, [2])
    }

    /// A parameter shared by two layers is updated once per step.
    func testSharedParameterUpdatedOnce() {
        let first = Linear<Double>(2, 2)
        let second = Linear<Double>(weight: first.weight)
        let model = Sequential<Double> {
            first; second
        }
        let optimizer = SGD(model.parameters + [first.weight], learningRate: 1)
        XCTAssertEqual(optimizer.parameters.count, 3)
        first.weight.grad = .ones([2, 2])
        let before = first.weight.value
        optimizer.step()
        assertClose(first.weight.value, before - 1, tolerance: 1e-15)
        let adam = Adam(model.parameters + model.parameters, learningRate: 0.1)
        XCTAssertEqual(adam.parameters.count, 3)
    }

    /// Adam's first step moves each weight by lr · sign(g) (bias-corrected moments).
    func testAdamFirstSteps() {
        let p = parameter([1, 1, 1], grad: [0.5, -3, 1e-3])
        let adam = Adam([p], learningRate: 0.01)
        adam.step()
        for (w, expected) in zip(p.value.scalars, [0.99, 1.01, 0.99]) { XCTAssertEqual(w, expected, accuracy: 1e-5) }
        // the second step with the same gradient: m̂ = g, v̂ = g² → again lr · sign(g)
        adam.step()
        for (w, expected) in zip(p.value.scalars, [0.98, 1.02, 0.98]) { XCTAssertEqual(w, expected, accuracy: 1e-5) }
        XCTAssertEqual(adam.stepCount, 2)
    }

    func testScheduleAndClipping() {
        XCTAssertEqual(LearningRateSchedule.step(every: 2, gamma: 0.5).rate(base: 1, epoch: 3), 0.5)
        XCTAssertEqual(LearningRateSchedule.step(every: 2, gamma: 0.5).rate(base: 1, epoch: 4), 0.25)
        XCTAssertEqual(LearningRateSchedule.exponential(gamma: 0.1).rate(base: 1, epoch: 2), 0.01, accuracy: 1e-15)
        XCTAssertEqual(LearningRateSchedule.cosine(epochs: 10, minimum: 0).rate(base: 1, epoch: 5), 0.5, accuracy: 1e-15)
        let p = parameter([0, 0], grad: [3, 4])
        let sgd = SGD([p], learningRate: 1, schedule: .step(every: 1, gamma: 0.1), maxGradientNorm: 1)
        XCTAssertEqual(sgd.gradientNorm(), 5, accuracy: 1e-12)
        sgd.stepsPerEpoch = 3
        sgd.stepCount = 3 // one epoch done: the next step is in epoch 1
        XCTAssertEqual(sgd.nextLearningRate, 0.1, accuracy: 1e-15)
        sgd.step() // clipped to norm 1: g = [0.6, 0.8]; lr 0.1
        XCTAssertEqual(p.value.scalars[0], -0.06, accuracy: 1e-6)
        XCTAssertEqual(p.value.scalars[1], -0.08, accuracy: 1e-6)
        XCTAssertEqual(sgd.epoch, 1)
        XCTAssertEqual(sgd.currentLearningRate, 0.1, accuracy: 1e-15)
    }

    /// End to end: SGD drives a linear regression to its exact solution.
    func testSGDSolvesLinearRegression() {
        var rng = Random(seed: 9)
        let x = Tensor<Double>.normal([64, 3], using: &rng)
        let trueW = Tensor<Double>(shape: [1, 3], scalars: [2, -1, 0.5])
        let y = Tensor.matmul(x, trueW, transposeB: true) + 0.3
        let model = Linear<Double>(3, 1, using: &rng)
        let loss = MSELoss<Double>()
        let sgd = SGD(model.parameters, learningRate: 0.1, momentum: 0.5)
        for _ in 0..<300 {
            model.zeroGrad()
            model.grad(x, loss.backward(model.fprop(x), y))
            sgd.step()
        }
        assertClose(model.weight.value, trueW, tolerance: 1e-6)
        XCTAssertEqual(model.bias!.value.scalars[0], 0.3, accuracy: 1e-6)
    }
}
