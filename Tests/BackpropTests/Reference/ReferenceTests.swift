import Backprop
import XCTest

/// Outputs and gradients equal PyTorch's, for the same weights and inputs: 1e-5 relative
/// in Float, 1e-10 in Double. The fixtures are made by Scripts/make-reference-fixtures.py
/// (see ReferenceSupport.swift); the weights are loaded by their PyTorch names, so these
/// tests also check that our names and layouts are PyTorch's.
final class ReferenceTests: XCTestCase {
    // MARK: dense

    func testLinear() throws {
        try assertLayerMatchesPyTorch("linear", Linear<Float>(5, 4), Linear<Double>(5, 4))
    }

    func testLinearWithoutBias() throws {
        try assertLayerMatchesPyTorch("linear_nobias", Linear<Float>(5, 4, bias: false), Linear<Double>(5, 4, bias: false))
    }

    func testLinearOnSequence() throws {
        try assertLayerMatchesPyTorch("linear_sequence", Linear<Float>(4, 3), Linear<Double>(4, 3))
    }

    // MARK: activations and the softmax family

    func testSigmoid() throws { try assertLayerMatchesPyTorch("sigmoid", Sigmoid<Float>(), Sigmoid<Double>()) }
    func testTanh() throws { try assertLayerMatchesPyTorch("tanh", Tanh<Float>(), Tanh<Double>()) }
    func testReLU() throws { try assertLayerMatchesPyTorch("relu", ReLU<Float>(), ReLU<Double>()) }
    func testSoftplus() throws { try assertLayerMatchesPyTorch("softplus", Softplus<Float>(), Softplus<Double>()) }
    func testSoftmax() throws { try assertLayerMatchesPyTorch("softmax", Softmax<Float>(), Softmax<Double>()) }
    func testLogSoftmax() throws { try assertLayerMatchesPyTorch("log_softmax", LogSoftmax<Float>(), LogSoftmax<Double>()) }

    func testLeakyReLU() throws {
        let slope = try XCTUnwrap(Double(Reference<Double>("leaky_relu").metadata["negative_slope"] ?? ""))
        try assertLayerMatchesPyTorch("leaky_relu", LeakyReLU<Float>(slope: Float(slope)), LeakyReLU<Double>(slope: slope))
    }

    // MARK: a whole network

    /// nn.Sequential(Linear(6, 8), Tanh, Linear(8, 8), ReLU, Linear(8, 3), LogSoftmax):
    /// names 0.weight … 4.bias, gradients through the whole chain.
    func testMLP() throws {
        func mlp<S: TensorScalar>(_: S.Type) -> Sequential<S> {
            Sequential<S> {
                Linear<S>(6, 8); Tanh<S>()
                Linear<S>(8, 8); ReLU<S>()
                Linear<S>(8, 3); LogSoftmax<S>()
            }
        }
        try assertLayerMatchesPyTorch("mlp", mlp(Float.self), mlp(Double.self))
    }

    // MARK: criteria, with reduction mean (PyTorch's default) and sum

    func testMSELoss() throws {
        try assertCriterionMatchesPyTorch("mse_mean", MSELoss<Float>(), MSELoss<Double>())
        try assertCriterionMatchesPyTorch("mse_sum", MSELoss<Float>(reduction: .sum), MSELoss<Double>(reduction: .sum))
    }

    func testCrossEntropyLoss() throws {
        try assertCriterionMatchesPyTorch("cross_entropy_mean", CrossEntropyLoss<Float>(), CrossEntropyLoss<Double>())
        try assertCriterionMatchesPyTorch(
            "cross_entropy_sum", CrossEntropyLoss<Float>(reduction: .sum),
            CrossEntropyLoss<Double>(reduction: .sum))
    }

    func testNLLLoss() throws {
        try assertCriterionMatchesPyTorch("nll_mean", NLLLoss<Float>(), NLLLoss<Double>())
        try assertCriterionMatchesPyTorch("nll_sum", NLLLoss<Float>(reduction: .sum), NLLLoss<Double>(reduction: .sum))
    }

    func testBCELoss() throws {
        try assertCriterionMatchesPyTorch("bce_mean", BCELoss<Float>(), BCELoss<Double>())
        try assertCriterionMatchesPyTorch("bce_sum", BCELoss<Float>(reduction: .sum), BCELoss<Double>(reduction: .sum))
    }

    func testBCEWithLogitsLoss() throws {
        try assertCriterionMatchesPyTorch("bce_with_logits_mean", BCEWithLogitsLoss<Float>(), BCEWithLogitsLoss<Double>())
        try assertCriterionMatchesPyTorch(
            "bce_with_logits_sum", BCEWithLogitsLoss<Float>(reduction: .sum),
            BCEWithLogitsLoss<Double>(reduction: .sum))
    }

    // MARK: the checker itself

    /// The comparison fails on a wrong module: a LeakyReLU with another slope, or weights
    /// loaded under the wrong names, do not pass for the reference.
    func testReferenceCheckCanFail() throws {
        let reference = try Reference<Double>("leaky_relu")
        let wrong = LeakyReLU<Double>(slope: 0.3)
        let input = try reference.tensor("input")
        let output = wrong.fprop(input), expected = try reference.tensor("output")
        let worst = zip(output.scalars, expected.scalars).map { abs($0 - $1) / max(abs($1), 1e-12) }.max() ?? 0
        XCTAssertGreaterThan(worst, Reference<Double>.tolerance)

        XCTAssertThrowsError(try Linear<Double>(5, 4).load(from: Reference<Double>("mlp").file, prefix: "param.")) { error in
            XCTAssertTrue(error is StateDictError, "\(error)")
        }
    }
}
