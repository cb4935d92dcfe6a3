import Backprop
import XCTest

// The module of docs/adding-a-module.md, exactly as the page shows it, so that the page
// stays true: it must compile, pass its gradient check in Double and train in Float.

/// y = x ⊙ w: every feature multiplied by its own learnable weight (Torch7's `nn.CMul`).
/// Input `[N, F]` → output `[N, F]`; parameter `weight` `[F]`, initialised to ones.
public final class Scale<Scalar: TensorScalar>: ShapePreserving {
    public let weight: Parameter<Scalar>

    public init(_ features: Int) {
        weight = Parameter(.ones([features]))
    }

    public var namedParameters: [(name: String, parameter: Parameter<Scalar>)] { [("weight", weight)] }
    public var description: String { "Scale(\(weight.value.count))" }

    // x [N, F] → y [N, F], y[n, f] = x[n, f] · w[f]
    public func fprop(_ input: Tensor<Scalar>) -> Tensor<Scalar> {
        input * rows(of: weight.value, count: input.matrixShape.rows)
    }

    // ∂L/∂x [N, F] = ∂L/∂y ⊙ w
    public func bprop(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) -> Tensor<Scalar> {
        gradOutput * rows(of: weight.value, count: input.matrixShape.rows)
    }

    // ∂L/∂w [F] += Σ_n ∂L/∂y[n, :] ⊙ x[n, :]
    public func grad(_ input: Tensor<Scalar>, _ gradOutput: Tensor<Scalar>) {
        weight.grad += (gradOutput * input).sum(alongAxis: 0)
    }

    /// w repeated as `count` rows, [count, F].
    private func rows(of w: Tensor<Scalar>, count: Int) -> Tensor<Scalar> {
        Tensor(shape: [count, w.count], scalars: Array((0..<count).map { _ in w.scalars }.joined()))
    }
}

final class ScaleExampleTests: XCTestCase {
    func testGradientsInDouble() {
        var rng = Random(seed: testSeed())
        let scale = Scale<Double>(5)
        scale.weight.value = .normal([5], using: &rng)
        assertGradientsMatch(scale, input: .normal([3, 5], using: &rng))
    }

    func testTrainsInFloat() {
        var rng = Random(seed: testSeed())
        let model = Sequential<Float> { Linear(4, 3, using: &rng); Scale(3) }
        let x = Tensor<Float>.normal([16, 4], using: &rng)
        let target = Tensor.matmul(x, Tensor<Float>.normal([4, 3], using: &rng))   // a linear map the model can learn
        let loss = MSELoss<Float>(), optimizer = SGD(model.parameters, learningRate: 0.1)
        let start = loss.forward(model.fprop(x), target)
        for _ in 0..<200 {
            let y = model.fprop(x)
            model.zeroGrad()
            model.grad(x, loss.backward(y, target))
            optimizer.step()
        }
        XCTAssertLessThan(loss.forward(model.fprop(x), target), start / 100)
        XCTAssertEqual(model.namedParameters.map(\.name), ["0.weight", "0.bias", "1.weight"])
    }
}
