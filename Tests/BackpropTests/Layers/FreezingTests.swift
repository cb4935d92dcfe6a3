// Tests of frozen parameters (Parameter.isFrozen, Layer.freeze()/unfreeze()): grad and
// backward leave their gradients untouched, the input gradient is unchanged, containers
// still train their unfrozen children exactly, and optimizers leave frozen values exactly.
import Backprop
import XCTest

final class FreezingTests: XCTestCase {
    /// Every family with parameters, in a shape it takes (as in AdversarialTests, plus Embedding).
    func modules(using rng: inout Random) -> [(name: String, layer: any Layer<Double>, input: Tensor<Double>)] {
        let encoder = Linear<Double>(5, 4, using: &rng)
        return [
            ("Linear", Linear<Double>(5, 3, using: &rng), .normal([2, 5], using: &rng)),
            ("Conv2D", Conv2D<Double>(2, 3, kernelSize: (3, 3), padding: (1, 1), using: &rng), .normal([2, 2, 4, 4], using: &rng)),
            (
                "ConvTranspose2D", ConvTranspose2D<Double>(2, 3, kernelSize: (3, 3), stride: (2, 2), using: &rng),
                .normal([2, 2, 3, 3], using: &rng)
            ),
            ("BatchNorm2d", BatchNorm2d<Double>(2), .normal([3, 2, 3, 3], using: &rng)),
            ("LayerNorm", LayerNorm<Double>(normalizedShape: [5]), .normal([3, 5], using: &rng)),
            ("RNN", RNN<Double>(3, 4, using: &rng), .normal([4, 2, 3], using: &rng)),
            ("LSTM", LSTM<Double>(3, 4, using: &rng), .normal([4, 2, 3], using: &rng)),
            ("GRU", GRU<Double>(3, 4, using: &rng), .normal([4, 2, 3], using: &rng)),
            (
                "Embedding", Embedding<Double>(6, 3, using: &rng),
                Tensor([[0, 5, 2], [1, 1, 4]].map { $0.map(Double.init) }.flatMap { $0 }).reshaped([2, 3])
            ),
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

    /// A frozen layer of every family: grad and backward leave the gradients exactly as they
    /// were, and backward returns the input gradient bprop gives (which freezing does not change).
    func testFrozenLayersKeepTheirGradientsAndGiveTheSameInputGradient() {
        var rng = Random(seed: testSeed())
        for (name, layer, input) in modules(using: &rng) {
            let output = layer.fprop(input)
            let gradOutput = Tensor<Double>.normal(output.shape, using: &rng)
            let unfrozen = layer.bprop(input, gradOutput)
            layer.freeze()
            XCTAssertFalse(layer.hasTrainableParameters, name)
            XCTAssertTrue(layer.parameters.allSatisfy { $0.isFrozen }, name)
            let grads = layer.parameters.map { p -> Tensor<Double> in
                p.grad = .normal(p.value.shape, using: &rng); return p.grad
            }
            _ = layer.fprop(input)
            layer.grad(input, gradOutput)
            XCTAssertEqual(layer.parameters.map(\.grad), grads, "\(name): grad changed a frozen gradient")
            _ = layer.fprop(input)
            let frozen = layer.backward(input, gradOutput)
            XCTAssertEqual(layer.parameters.map(\.grad), grads, "\(name): backward changed a frozen gradient")
            XCTAssertEqual(frozen, unfrozen, "\(name): freezing changed the input gradient")
            layer.zeroGrad() // still allowed on a frozen layer
            XCTAssertTrue(layer.parameters.allSatisfy { $0.grad.maxAbs() == 0 }, name)

            // unfrozen again, grad accumulates as before
            layer.unfreeze()
            XCTAssertTrue(layer.hasTrainableParameters, name)
            _ = layer.fprop(input)
            layer.grad(input, gradOutput)
            XCTAssertTrue(layer.parameters.contains { $0.grad.maxAbs() > 0 }, "\(name): no gradient after unfreeze()")
        }
    }

    /// In a chain whose first trainable layer is frozen, the other layers' gradients are
    /// exactly those of the unfrozen chain, with grad and with backward; the frozen layer's
    /// stay zero, and the input gradient is unchanged.
    func testAFrozenLayerInsideAContainerLeavesTheOthersExact() {
        var rng = Random(seed: testSeed())
        let first = Linear<Double>(4, 5, using: &rng), norm = BatchNorm1d<Double>(5), last = Linear<Double>(5, 3, using: &rng)
        let model = Sequential<Double> {
            first; ReLU(); norm;
            Sum<Double> {
                last; Linear(5, 3, using: &rng)
            }
        }
        let x = Tensor<Double>.normal([6, 4], using: &rng)
        let g = Tensor<Double>.normal([6, 3], using: &rng)
        model.zeroGrad()
        _ = model.fprop(x)
        let reference = model.backward(x, g)
        let expected = model.parameters.map(\.grad)

        for frozen in [first.parameters, norm.parameters, last.parameters] {
            for useBackward in [true, false] {
                for p in frozen { p.isFrozen = true }
                model.zeroGrad()
                _ = model.fprop(x)
                if useBackward {
                    XCTAssertEqual(model.backward(x, g), reference, "freezing changed the input gradient")
                } else {
                    model.grad(x, g)
                }
                for (p, e) in zip(model.parameters, expected) {
                    if p.isFrozen {
                        XCTAssertEqual(p.grad.maxAbs(), 0, "a frozen gradient was accumulated")
                    } else {
                        XCTAssertEqual(p.grad, e, "an unfrozen layer's gradient changed when another was frozen")
                    }
                }
                for p in frozen { p.isFrozen = false }
            }
        }
    }

    /// A whole frozen network (the GAN discriminator during the generator's step): backward
    /// gives bprop's input gradient and adds nothing; Sequential.grad does nothing at all.
    func testAWhollyFrozenNetwork() {
        var rng = Random(seed: testSeed())
        let model = Sequential<Float> {
            Conv2D(1, 2, kernelSize: (3, 3), using: &rng); ReLU(); Flatten(); Linear(2 * 3 * 3, 1, using: &rng)
        }
        let x = Tensor<Float>.normal([2, 1, 5, 5], using: &rng), g = Tensor<Float>.normal([2, 1], using: &rng)
        _ = model.fprop(x)
        let expected = model.bprop(x, g)
        model.freeze()
        let grads = model.parameters.map { p -> Tensor<Float> in
            p.grad = .normal(p.value.shape, using: &rng); return p.grad
        }
        _ = model.fprop(x)
        XCTAssertEqual(model.backward(x, g), expected)
        model.grad(x, g)
        XCTAssertEqual(model.parameters.map(\.grad), grads)
    }

    /// Optimizers leave a frozen parameter's value exactly (no update, no decay), update the
    /// others, and leave frozen gradients out of the clipping norm.
    func testOptimizersSkipFrozenParameters() {
        func make() -> (frozen: Parameter<Double>, free: Parameter<Double>) {
            let frozen = Parameter(Tensor<Double>([1, -2, 3])), free = Parameter(Tensor<Double>([1, -2, 3]))
            frozen.grad = Tensor([0.5, 0.5, -4])
            free.grad = Tensor([0.5, 0.5, -4])
            frozen.isFrozen = true
            return (frozen, free)
        }
        let optimizers: [(String, ([Parameter<Double>]) -> any Optimizer<Double>)] = [
            ("SGD", { SGD<Double>($0, learningRate: 0.1, momentum: 0.9, weightDecay: 0.1) }),
            ("Adam", { Adam<Double>($0, learningRate: 0.1, weightDecay: 0.1) })
        ]
        for (name, makeOptimizer) in optimizers {
            let (frozen, free) = make()
            let optimizer = makeOptimizer([frozen, free])
            for _ in 0..<3 { optimizer.step() }
            XCTAssertEqual(frozen.value.scalars, [1, -2, 3], "\(name) moved a frozen parameter")
            XCTAssertNotEqual(free.value.scalars, [1, -2, 3], "\(name) did not move the free one")
        }
        // clipping: the norm is the free gradient's alone, √(0.25 + 0.25 + 16)
        let (frozen, free) = make()
        let sgd = SGD([frozen, free], learningRate: 0.1)
        sgd.maxGradientNorm = 1
        let norm = sgd.step()
        XCTAssertEqual(norm!, (16.5 as Double).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(frozen.grad.scalars, [0.5, 0.5, -4], "clipping rescaled a frozen gradient")
    }

    /// In-place changes to a frozen gradient are discarded; assignment and zeroGrad() work.
    func testFrozenGradientIsChangedOnlyByAssignmentAndZeroGrad() {
        let p = Parameter(Tensor<Double>([1, 2]))
        p.grad = Tensor([3, 4])
        p.isFrozen = true
        p.grad += Tensor([10, 10])
        p.grad.withUnsafeMutablePointer { $0[0] = 99 }
        XCTAssertEqual(p.grad.scalars, [3, 4])
        p.grad = Tensor([5, 6])
        XCTAssertEqual(p.grad.scalars, [5, 6])
        p.zeroGrad()
        XCTAssertEqual(p.grad.scalars, [0, 0])
        p.isFrozen = false
        p.grad += Tensor([1, 1])
        XCTAssertEqual(p.grad.scalars, [1, 1])
    }
}
