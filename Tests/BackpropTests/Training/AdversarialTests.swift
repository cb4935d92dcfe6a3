// Tests of the adversarial-example helpers: the input gradient against finite differences,
// the FGSM step's formula, and that an attack leaves parameter gradients, buffers and the
// mode exactly as they were, for every module family (bprop touches no parameter gradient).
import Backprop
import XCTest

final class AdversarialTests: XCTestCase {
    /// Central differences of `loss(x)` for every element of `x`.
    func numericGradient(_ x: Tensor<Double>, epsilon: Double = 1e-6, _ loss: (Tensor<Double>) -> Double) -> Tensor<Double> {
        var moved = x
        var result = Tensor<Double>.zeros(x.shape)
        for i in 0..<x.count {
            let saved = moved.scalars[i]
            moved.scalars[i] = saved + epsilon
            let plus = loss(moved)
            moved.scalars[i] = saved - epsilon
            let minus = loss(moved)
            moved.scalars[i] = saved
            result.scalars[i] = (plus - minus) / (2 * epsilon)
        }
        return result
    }

    /// inputGradient equals the finite differences of J(x) = criterion(model(x), target).
    func assertInputGradientMatches<L: Layer>(
        _ model: L, input: Tensor<Double>, labels: [Int],
        file: StaticString = #filePath, line: UInt = #line
    ) where L.Scalar == Double {
        let loss = CrossEntropyLoss<Double>()
        let analytic = inputGradient(model: model, criterion: loss, input: input, target: labels)
        let numeric = numericGradient(input) { loss.forward(model.fprop($0), labels) }
        XCTAssertEqual(analytic.shape, input.shape, file: file, line: line)
        XCTAssertGreaterThan(numeric.maxAbs(), 1e-4, "a vanishing gradient would test nothing", file: file, line: line)
        for i in 0..<input.count {
            XCTAssertEqual(
                analytic.scalars[i], numeric.scalars[i], accuracy: 1e-7 + 1e-5 * abs(numeric.scalars[i]),
                "∂J/∂x[\(i)]", file: file, line: line)
        }
    }

    func testInputGradientOfAPerceptronMatchesFiniteDifferences() {
        var rng = Random(seed: testSeed())
        let model = Sequential<Double> {
            Linear(6, 5, using: &rng); ReLU(); Linear(5, 4, using: &rng)
        }
        assertInputGradientMatches(model, input: .normal([3, 6], using: &rng), labels: [0, 3, 2])
    }

    func testInputGradientOfATinyConvnetMatchesFiniteDifferences() {
        var rng = Random(seed: testSeed())
        let model = Sequential<Double> {
            // Tanh rather than ReLU: two filters with all-dead ReLUs would leave nothing to check.
            Conv2D(1, 2, kernelSize: (3, 3), using: &rng); Tanh(); MaxPool2D(2)
            Flatten(); Linear(2 * 2 * 2, 3, using: &rng)
        }
        assertInputGradientMatches(model, input: .uniform([2, 1, 6, 6], in: 0...1, using: &rng), labels: [1, 2])
    }

    /// In training mode the gradient goes through the batch statistics; in evaluation mode
    /// through the running ones: each matches its own finite differences, and they differ.
    func testBatchNormRunsInTheModeTheCallerChose() {
        var rng = Random(seed: testSeed())
        let model = Sequential<Double> {
            Linear(4, 3, using: &rng); BatchNorm1d(3); Tanh(); Linear(3, 3, using: &rng)
        }
        let x = Tensor<Double>.normal([5, 4], using: &rng), labels = [0, 1, 2, 1, 0]
        for _ in 0..<3 { _ = model.fprop(.normal([5, 4], using: &rng)) } // running statistics away from 0 and 1
        model.isTraining = true
        assertInputGradientMatches(model, input: x, labels: labels)
        let training = inputGradient(model: model, criterion: CrossEntropyLoss(), input: x, target: labels)
        XCTAssertTrue(model.isTraining, "the mode changed")
        model.isTraining = false
        assertInputGradientMatches(model, input: x, labels: labels)
        let evaluation = inputGradient(model: model, criterion: CrossEntropyLoss(), input: x, target: labels)
        XCTAssertFalse(model.isTraining, "the mode changed")
        XCTAssertGreaterThan((training - evaluation).maxAbs(), 1e-3, "both modes gave the same gradient")
    }

    /// x + ε·sign(g), clipped: worked out by hand for each kind of element.
    func testFGSMStepFormula() {
        func check<S: TensorScalar>(_: S.Type) {
            let x = Tensor<S>([0.5, 0.5, 0.5, 0.9, 0.1, 0])
            let g = Tensor<S>([2, -3, 0, 1, -1, -0.5])
            let clipped = fgsm(input: x, gradient: g, epsilon: 0.25)
            XCTAssertEqual(clipped.scalars, [0.75, 0.25, 0.5, 1, 0, 0], "\(S.self)")
            let free = fgsm(input: x, gradient: g, epsilon: 0.25, clip: nil)
            XCTAssertEqual(free.scalars, [0.75, 0.25, 0.5, 1.15, -0.15, -0.25].map { S($0) }, "\(S.self)")
            let narrow = fgsm(input: x, gradient: g, epsilon: 0.25, clip: 0.3...0.6)
            XCTAssertEqual(narrow.scalars, [0.6, 0.3, 0.5, 0.6, 0.3, 0.3].map { S($0) }, "\(S.self)")
            XCTAssertEqual(fgsm(input: x, gradient: g, epsilon: 0).scalars, x.scalars)
        }
        check(Float.self)
        check(Double.self)
    }

    /// fgsm(model:…) is the step along the model's own input gradient, and raises the loss.
    func testFGSMMovesAlongTheSignOfTheInputGradientAndRaisesTheLoss() {
        var rng = Random(seed: testSeed())
        let model = Sequential<Float> {
            Linear(8, 6, using: &rng); ReLU(); Linear(6, 3, using: &rng)
        }
        model.isTraining = false
        let x = Tensor<Float>.uniform([4, 8], in: 0.2...0.8, using: &rng), labels = [0, 1, 2, 0]
        let loss = CrossEntropyLoss<Float>()
        let g = inputGradient(model: model, criterion: loss, input: x, target: labels)
        let adversarial = fgsm(model: model, criterion: loss, input: x, target: labels, epsilon: 0.1)
        XCTAssertEqual(adversarial.shape, x.shape)
        for i in 0..<x.count {
            let expected: Float = g.scalars[i] > 0 ? x.scalars[i] + 0.1 : (g.scalars[i] < 0 ? x.scalars[i] - 0.1 : x.scalars[i])
            XCTAssertEqual(adversarial.scalars[i], expected, accuracy: 1e-7)
        }
        XCTAssertGreaterThan(loss.forward(model.fprop(adversarial), labels), loss.forward(model.fprop(x), labels))
    }

    /// Every module family, with parameters (and buffers where it has them), in a shape it takes.
    func modules(using rng: inout Random) -> [(name: String, layer: any Layer<Double>, input: Tensor<Double>)] {
        let encoder = Linear<Double>(5, 4, using: &rng)
        return [
            ("Linear", Linear<Double>(5, 3, using: &rng), .normal([2, 5], using: &rng)),
            ("Conv2D", Conv2D<Double>(2, 3, kernelSize: (3, 3), padding: (1, 1), using: &rng), .normal([2, 2, 4, 4], using: &rng)),
            (
                "ConvTranspose2D", ConvTranspose2D<Double>(2, 3, kernelSize: (3, 3), stride: (2, 2), using: &rng),
                .normal([2, 2, 3, 3], using: &rng)
            ),
            ("BatchNorm1d", BatchNorm1d<Double>(5), .normal([4, 5], using: &rng)),
            ("BatchNorm2d", BatchNorm2d<Double>(2), .normal([3, 2, 3, 3], using: &rng)),
            ("LayerNorm", LayerNorm<Double>(normalizedShape: [5]), .normal([3, 5], using: &rng)),
            ("RNN", RNN<Double>(3, 4, using: &rng), .normal([4, 2, 3], using: &rng)),
            ("LSTM", LSTM<Double>(3, 4, using: &rng), .normal([4, 2, 3], using: &rng)),
            ("GRU", GRU<Double>(3, 4, using: &rng), .normal([4, 2, 3], using: &rng)),
            ("TiedAutoencoder", TiedAutoencoder<Double>(5, 3, using: &rng), .normal([2, 5], using: &rng)),
            (
                "ContractivePenalty",
                Sequential<Double> {
                    encoder; Sigmoid(); ContractivePenalty(0.1, encoder: encoder)
                },
                .normal([2, 5], using: &rng)
            ),
            (
                "Sequential",
                Sequential<Double> {
                    Linear(5, 4, using: &rng); ReLU(); Linear(4, 2, using: &rng)
                }, .normal([3, 5], using: &rng)
            ),
            (
                "Residual",
                Residual<Double>(shortcut: Linear(5, 3, using: &rng)) {
                    Linear(5, 3, using: &rng); Tanh()
                }, .normal([2, 5], using: &rng)
            ),
            (
                "Concat",
                Concat<Double>(axis: 1) {
                    Linear(5, 2, using: &rng);
                    Sequential {
                        BatchNorm1d(5); Linear(5, 3, using: &rng)
                    }
                },
                .normal([3, 5], using: &rng)
            ),
            (
                "Parallel",
                Parallel<Double>(axis: 1, sizes: [2, 3]) {
                    Linear(2, 2, using: &rng); Linear(3, 1, using: &rng)
                }, .normal([2, 5], using: &rng)
            ),
            (
                "Sum",
                Sum<Double> {
                    Linear(5, 3, using: &rng);
                    Sequential {
                        Linear(5, 3, using: &rng); ReLU()
                    }
                }, .normal([2, 5], using: &rng)
            )
        ]
    }

    /// bprop (what the attack uses) leaves every parameter gradient exactly as it was, for
    /// every family, in training mode (batch norm through its batch statistics) and in
    /// evaluation mode; `inputGradient` also restores the buffers it moved.
    func testBpropAndInputGradientLeaveParameterGradientsAndBuffersExactly() {
        var rng = Random(seed: testSeed())
        for (name, layer, input) in modules(using: &rng) {
            for training in [true, false] {
                layer.isTraining = training
                let grads = layer.parameters.map { p -> Tensor<Double> in
                    p.grad = .normal(p.value.shape, using: &rng)
                    return p.grad
                }
                let buffers = layer.namedBuffers.map(\.buffer.value)
                let output = layer.fprop(input)
                let gradInput = layer.bprop(input, .normal(output.shape, using: &rng))
                XCTAssertEqual(gradInput.shape, input.shape, name)
                XCTAssertEqual(layer.parameters.map(\.grad), grads, "\(name) (training: \(training)): bprop changed a parameter gradient")
                let afterFprop = layer.namedBuffers.map(\.buffer.value)
                // a classifier's loss needs [N, C] scores: attack the flattened output through a Linear
                let head = Linear<Double>(output.count / output.shape[0], 3, using: &rng)
                let model = Sequential<Double>([layer, Flatten(), head])
                model.isTraining = training
                let headGrads = head.parameters.map { p -> Tensor<Double> in
                    p.grad = .normal(p.value.shape, using: &rng); return p.grad
                }
                let labels = (0..<input.shape[0]).map { $0 % 3 }
                let adversarial = fgsm(model: model, criterion: CrossEntropyLoss(), input: input, target: labels, epsilon: 0.1, clip: nil)
                XCTAssertEqual(adversarial.shape, input.shape, name)
                XCTAssertEqual(layer.parameters.map(\.grad), grads, "\(name) (training: \(training)): fgsm changed a parameter gradient")
                XCTAssertEqual(head.parameters.map(\.grad), headGrads, "\(name): fgsm changed the head's gradients")
                XCTAssertEqual(layer.namedBuffers.map(\.buffer.value), afterFprop, "\(name): fgsm left its buffers changed")
                XCTAssertEqual(model.isTraining, training, "\(name): fgsm changed the mode")
                if training && name.hasPrefix("BatchNorm") {
                    XCTAssertNotEqual(
                        afterFprop, buffers, "\(name): a training fprop should move the running statistics (else the test proves nothing)")
                }
            }
        }
    }

    /// A gradient that was zeroed lazily (`zeroGrad()`) reads as zero after an attack.
    func testAnAttackAfterZeroGradLeavesZeroGradients() {
        var rng = Random(seed: testSeed())
        let model = Sequential<Float> {
            Linear(4, 3, using: &rng); ReLU(); Linear(3, 2, using: &rng)
        }
        let x = Tensor<Float>.normal([2, 4], using: &rng)
        let loss = CrossEntropyLoss<Float>()
        let scores = model.fprop(x)
        model.grad(x, loss.backward(scores, [0, 1])) // stale numbers in every gradient
        model.zeroGrad()
        _ = fgsm(model: model, criterion: loss, input: x, target: [0, 1], epsilon: 0.2)
        for p in model.parameters { XCTAssertEqual(p.grad.maxAbs(), 0, "a zeroed gradient is no longer zero after fgsm") }
    }
}
