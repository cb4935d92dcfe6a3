import Backprop
import XCTest

/// `Sequential.grad` runs bprop only where a gradient is needed.
final class SequentialBackPassTests: XCTestCase {
    /// The identity, counting its bprops.
    final class Spy: ShapePreserving {
        typealias Scalar = Double
        var bprops = 0
        func fprop(_ input: Tensor<Double>) -> Tensor<Double> { input }
        func bprop(_ input: Tensor<Double>, _ gradOutput: Tensor<Double>) -> Tensor<Double> { bprops += 1; return gradOutput }
    }

    func testGradSkipsBpropBeforeTheFirstModuleWithParameters() {
        var rng = Random(seed: testSeed())
        let (head, middle, tail) = (Spy(), Spy(), Spy())
        let linear = Linear<Double>(3, 2, using: &rng)
        let model = Sequential<Double>([head, middle, linear, tail])
        let x = Tensor<Double>.normal([4, 3], using: &rng), g = Tensor<Double>.normal([4, 2], using: &rng)
        _ = model.fprop(x)
        model.zeroGrad()
        model.grad(x, g)
        XCTAssertEqual([head.bprops, middle.bprops, tail.bprops], [0, 0, 1], "only the module after the Linear needs bprop")
        // the parameters' gradients are still complete
        assertClose(linear.weight.grad, Tensor.matmul(g, x, transposeA: true), tolerance: 1e-12)
        // backward and bprop still compute the input gradient through every module
        assertClose(model.backward(x, g), Tensor.matmul(g, linear.weight.value), tolerance: 1e-12)
        XCTAssertEqual([head.bprops, middle.bprops, tail.bprops], [1, 1, 2])
        assertGradientsMatch(model, input: x)
    }
}
