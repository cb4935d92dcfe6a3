import Backprop
import XCTest

/// BatchNorm1d, BatchNorm2d and LayerNorm against PyTorch: outputs and gradients, and for
/// the batch norms the running statistics after one training step (from non-trivial
/// running statistics) and the evaluation mode with them, and PyTorch's state_dict names.
final class ReferenceNormalizationTests: XCTestCase {
    func testBatchNorm1dTraining() throws {
        try assertLayerWithBuffersMatchesPyTorch("batchnorm1d", BatchNorm1d<Float>(4), BatchNorm1d<Double>(4))
    }

    func testBatchNorm1dOnSequence() throws {
        try assertLayerWithBuffersMatchesPyTorch("batchnorm1d_sequence", BatchNorm1d<Float>(3), BatchNorm1d<Double>(3))
    }

    func testBatchNorm1dEvaluation() throws {
        try assertLayerWithBuffersMatchesPyTorch("batchnorm1d_eval", BatchNorm1d<Float>(4), BatchNorm1d<Double>(4))
    }

    func testBatchNorm2dTraining() throws {
        try assertLayerWithBuffersMatchesPyTorch("batchnorm2d", BatchNorm2d<Float>(3), BatchNorm2d<Double>(3))
    }

    func testBatchNorm2dCumulativeAverage() throws {
        try assertLayerWithBuffersMatchesPyTorch(
            "batchnorm2d_cumulative", BatchNorm2d<Float>(3, eps: 1e-3, momentum: nil),
            BatchNorm2d<Double>(3, eps: 1e-3, momentum: nil))
    }

    func testBatchNorm2dEvaluation() throws {
        try assertLayerWithBuffersMatchesPyTorch("batchnorm2d_eval", BatchNorm2d<Float>(3), BatchNorm2d<Double>(3))
    }

    func testLayerNorm() throws {
        try assertLayerMatchesPyTorch("layernorm", LayerNorm<Float>(normalizedShape: [6]), LayerNorm<Double>(normalizedShape: [6]))
    }

    func testLayerNormOverTwoAxes() throws {
        try assertLayerMatchesPyTorch("layernorm_2d", LayerNorm<Float>(normalizedShape: [3, 4]), LayerNorm<Double>(normalizedShape: [3, 4]))
    }

    /// The comparison of the running statistics fails on a wrong module: momentum 0.2
    /// instead of PyTorch's 0.1 moves running_mean elsewhere; 0.1 matches.
    func testBufferCheckCanFail() throws {
        let reference = try Reference<Double>("batchnorm1d")
        func runningMeanError(momentum: Double) throws -> Double {
            let bn = BatchNorm1d<Double>(4, momentum: momentum)
            bn.runningMean.value = try reference.tensor("buffer.running_mean")
            bn.runningVar.value = try reference.tensor("buffer.running_var")
            _ = bn.fprop(try reference.tensor("input"))
            let expected = try reference.tensor("buffer_after.running_mean")
            return zip(bn.runningMean.value.scalars, expected.scalars).map { abs($0 - $1) / max(abs($1), 1e-12) }.max() ?? 0
        }
        XCTAssertGreaterThan(try runningMeanError(momentum: 0.2), Reference<Double>.tolerance)
        XCTAssertLessThanOrEqual(try runningMeanError(momentum: 0.1), Reference<Double>.tolerance)
    }
}
