import Backprop
import Foundation
import XCTest

/// Every optimizer's first 5 steps against torch.optim's (fixtures optim_*, made by
/// Scripts/make-reference-fixtures.py, group optim): three parameters (a Linear weight
/// [4, 5] and a conv weight [3, 2, 2, 2] that decay, a bias [4] that does not), fixed
/// gradients per step. Float to 1e-6 (normwise, per tensor), Double to 1e-12.
final class OptimizerReferenceTests: XCTestCase {
    static let decays = [true, false, true]

    func run<O: Optimizer>(
        _ name: String, _ make: ([Parameter<O.Scalar>]) -> O, tolerance: Double,
        file: StaticString, line: UInt
    ) throws {
        let reference = try Reference<O.Scalar>(name)
        let parameters = try Self.decays.indices.map { Parameter(try reference.tensor("param.\($0)"), decays: Self.decays[$0]) }
        let optimizer = make(parameters)
        for t in 1...5 {
            for (i, p) in parameters.enumerated() { p.grad = try reference.tensor("grad.\(t).\(i)") }
            optimizer.step()
            for (i, p) in parameters.enumerated() {
                assertMatchesReference(
                    p.value, try reference.tensor("after.\(t).\(i)"), tolerance: tolerance,
                    "\(name) (\(O.Scalar.self)) parameter \(i) after step \(t)", file: file, line: line)
            }
        }
        XCTAssertEqual(optimizer.stepCount, 5, file: file, line: line)
    }

    /// The same optimizer in Float (1e-6) and in Double (1e-12).
    func check<F: Optimizer, D: Optimizer>(
        _ name: String, _ float: ([Parameter<Float>]) -> F, _ double: ([Parameter<Double>]) -> D,
        file: StaticString = #filePath, line: UInt = #line
    ) throws
    where F.Scalar == Float, D.Scalar == Double {
        try run(name, float, tolerance: 1e-6, file: file, line: line)
        try run(name, double, tolerance: 1e-12, file: file, line: line)
    }

    func testSGD() throws {
        try check("optim_sgd", { SGD($0, learningRate: 0.1) }, { SGD($0, learningRate: 0.1) })
        try check("optim_sgd_momentum", { SGD($0, learningRate: 0.1, momentum: 0.9) }, { SGD($0, learningRate: 0.1, momentum: 0.9) })
        try check(
            "optim_sgd_dampening", { SGD($0, learningRate: 0.1, momentum: 0.9, dampening: 0.3) },
            { SGD($0, learningRate: 0.1, momentum: 0.9, dampening: 0.3) })
        try check(
            "optim_sgd_nesterov", { SGD($0, learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01) },
            { SGD($0, learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01) })
        try check(
            "optim_sgd_weight_decay", { SGD($0, learningRate: 0.1, momentum: 0.5, weightDecay: 0.1) },
            { SGD($0, learningRate: 0.1, momentum: 0.5, weightDecay: 0.1) })
        try check(
            "optim_sgd_max_norm", { SGD($0, learningRate: 0.5, momentum: 0.9, maxNorm: 1) },
            { SGD($0, learningRate: 0.5, momentum: 0.9, maxNorm: 1) })
    }

    func testAdam() throws {
        try check("optim_adam", { Adam($0, learningRate: 0.01) }, { Adam($0, learningRate: 0.01) })
        try check("optim_adam_amsgrad", { Adam($0, learningRate: 0.01, amsgrad: true) }, { Adam($0, learningRate: 0.01, amsgrad: true) })
        try check(
            "optim_adam_weight_decay", { Adam($0, learningRate: 0.01, weightDecay: 0.1) },
            { Adam($0, learningRate: 0.01, weightDecay: 0.1) })
    }

    func testAdamW() throws {
        try check("optim_adamw", { AdamW($0, learningRate: 0.01, weightDecay: 0.1) }, { AdamW($0, learningRate: 0.01, weightDecay: 0.1) })
        try check("optim_adamw_amsgrad", { AdamW($0, learningRate: 0.01, amsgrad: true) }, { AdamW($0, learningRate: 0.01, amsgrad: true) })
        try check("optim_adamw_max_norm", { AdamW($0, learningRate: 0.1, maxNorm: 0.8) }, { AdamW($0, learningRate: 0.1, maxNorm: 0.8) })
    }

    func testRMSprop() throws {
        try check("optim_rmsprop", { RMSprop($0, learningRate: 0.01) }, { RMSprop($0, learningRate: 0.01) })
        try check(
            "optim_rmsprop_centered", { RMSprop($0, learningRate: 0.01, centered: true) },
            { RMSprop($0, learningRate: 0.01, centered: true) })
        try check(
            "optim_rmsprop_momentum", { RMSprop($0, learningRate: 0.01, weightDecay: 0.1, momentum: 0.9) },
            { RMSprop($0, learningRate: 0.01, weightDecay: 0.1, momentum: 0.9) })
        try check(
            "optim_rmsprop_centered_momentum", { RMSprop($0, learningRate: 0.01, alpha: 0.9, momentum: 0.5, centered: true) },
            { RMSprop($0, learningRate: 0.01, alpha: 0.9, momentum: 0.5, centered: true) })
    }

    func testAdagrad() throws {
        try check("optim_adagrad", { Adagrad($0, learningRate: 0.1) }, { Adagrad($0, learningRate: 0.1) })
        try check(
            "optim_adagrad_lr_decay", { Adagrad($0, learningRate: 0.1, lrDecay: 0.1, weightDecay: 0.1) },
            { Adagrad($0, learningRate: 0.1, lrDecay: 0.1, weightDecay: 0.1) })
        try check(
            "optim_adagrad_initial_accumulator", { Adagrad($0, learningRate: 0.1, initialAccumulatorValue: 0.5) },
            { Adagrad($0, learningRate: 0.1, initialAccumulatorValue: 0.5) })
    }

    /// The max-norm rule alone against torch.renorm(w, 2, 0, 1.25): a Linear weight [6, 5]
    /// and a conv weight [4, 3, 2, 2], rows above and below the bound; a bias is left alone.
    func renorm<S: TensorScalar>(_: S.Type, tolerance: Double) throws {
        let reference = try Reference<S>("optim_renorm")
        XCTAssertEqual(reference.metadata["max_norm"], "1.25")
        let linear = Parameter(try reference.tensor("linear") as Tensor<S>)
        let conv = Parameter(try reference.tensor("conv") as Tensor<S>)
        let bias = Parameter(try reference.tensor("linear") as Tensor<S>, decays: false)
        let optimizer = SGD([linear, conv, bias], learningRate: 0)
        optimizer.applyMaxNorm(1.25)
        assertMatchesReference(linear.value, try reference.tensor("linear.renormed"), tolerance: tolerance, "renorm linear (\(S.self))")
        assertMatchesReference(conv.value, try reference.tensor("conv.renormed"), tolerance: tolerance, "renorm conv (\(S.self))")
        XCTAssertEqual(bias.value, try reference.tensor("linear"), "a parameter that does not decay is not renormed")
        XCTAssertNotEqual(linear.value, try reference.tensor("linear"), "some rows were above the bound")
    }

    func testMaxNormIsTorchRenorm() throws {
        try renorm(Float.self, tolerance: 1e-6)
        try renorm(Double.self, tolerance: 1e-12)
    }
}
