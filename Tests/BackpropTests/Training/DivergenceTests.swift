import Backprop
import XCTest

final class DivergenceTests: XCTestCase {
    func testFiniteLossPasses() throws {
        try Divergence.check(loss: 2.3, step: 1, epoch: 1)
        try Divergence.check(gradientNorm: 1e30)
    }

    func testNonFiniteLossThrowsNamingStepAndValue() {
        for value in [Double.nan, .infinity, -.infinity] {
            XCTAssertThrowsError(try Divergence.check(loss: value, step: 12, epoch: 3)) { error in
                let divergence = error as? DivergenceError
                XCTAssertEqual(divergence?.quantity, "the loss")
                XCTAssertEqual(divergence?.step, 12)
                XCTAssertEqual(divergence?.epoch, 3)
                XCTAssertEqual(divergence?.description, "training diverged: the loss is \(value) (epoch 3, step 12)")
            }
        }
        XCTAssertThrowsError(try Divergence.check(gradientNorm: .nan, step: 5)) { error in
            XCTAssertEqual("\(error)", "training diverged: the gradient norm is nan (step 5)")
        }
    }

    func testParametersCheckNamesTheFirstBadParameter() throws {
        let model = Sequential<Float> {
            Linear<Float>(3, 4); ReLU<Float>(); Linear<Float>(4, 2)
        }
        XCTAssertTrue(model.parametersAreFinite)
        try Divergence.check(model)
        XCTAssertNil(Divergence.firstNonFinite(in: model))

        let bias = model.namedParameters.first { $0.name == "2.bias" }!.parameter
        bias.value = Tensor(shape: [2], scalars: [0, .infinity])
        XCTAssertFalse(model.parametersAreFinite)
        XCTAssertEqual(Divergence.firstNonFinite(in: model)?.name, "2.bias")
        XCTAssertThrowsError(try Divergence.check(model, epoch: 2)) { error in
            XCTAssertEqual("\(error)", "training diverged: parameter 2.bias is inf (epoch 2)")
        }
        XCTAssertEqual(Tensor<Float>(shape: [3], scalars: [1, .nan, 2]).firstNonFinite?.isNaN, true)
        XCTAssertNil(Tensor<Double>(shape: [2], scalars: [1, 2]).firstNonFinite)
    }

    func testStepReturnsTheNormThatClippingComputed() throws {
        let layer = Linear<Double>(2, 1)
        layer.weight.grad = Tensor(shape: [1, 2], scalars: [3, 4])
        layer.bias!.grad = Tensor(shape: [1], scalars: [0])
        XCTAssertNil(SGD(layer.parameters, learningRate: 0.1).step(), "no clipping, no norm")
        layer.weight.grad = Tensor(shape: [1, 2], scalars: [3, 4])
        let norm = SGD(layer.parameters, learningRate: 0.1, maxGradientNorm: 1).step()
        XCTAssertEqual(norm ?? 0, 5, accuracy: 1e-12)
        layer.weight.grad = Tensor(shape: [1, 2], scalars: [.nan, 4])
        let bad = Adam(layer.parameters, maxGradientNorm: 1).step()
        XCTAssertThrowsError(try Divergence.check(gradientNorm: bad!, step: 7)) { error in
            XCTAssertEqual("\(error)", "training diverged: the gradient norm is nan (step 7)")
        }
    }
}
